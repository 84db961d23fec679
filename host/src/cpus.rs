//! Where the host's helper threads run.
//!
//! A command overlaps its work on a second thread (opening the database
//! while the plugins load, checking plugins while chains apply). On the
//! two-core development machine Linux placed a new thread of a fresh
//! process on its parent's CPU in 35 of 40 tries, and it waited there for
//! the parent to sleep (about 2 ms in a test) while the other CPU idled.
//! [`spawn_beside`] starts the thread on another CPU instead (in about
//! 0.15 ms).
//!
//! Sharing a CPU later costs as much: Linux wakes a thread from `fsync` on
//! the CPU it slept on, or on the CPU that took the disk's interrupt, and a
//! main thread woken where the helper runs waits for the end of the
//! helper's time slice while the other CPU idles (traced: 2.5–10 ms at one
//! commit in about half the runs). So the helper keeps off the CPU the main
//! thread (its [`Lead`]) was last seen on, and moves again between its
//! steps when the main thread has moved ([`Beside::step_aside`]). The main
//! thread itself stays free to move.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{Scope, ScopedJoinHandle};

/// The CPU a leading thread (the main thread) was last seen on, for the
/// threads beside it to keep off.
#[derive(Debug, Default)]
pub struct Lead {
    /// The CPU plus one; 0 when not known.
    cpu: AtomicUsize,
}

impl Lead {
    /// A lead at the calling thread's CPU.
    pub fn here() -> Arc<Lead> {
        let lead = Arc::new(Lead::default());
        lead.moved();
        lead
    }

    /// Notes the CPU the calling thread (the lead) is on now.
    pub fn moved(&self) {
        if let Some(cpu) = current_cpu() {
            self.cpu.store(cpu + 1, Ordering::Relaxed);
        }
    }

    fn cpu(&self) -> Option<usize> {
        self.cpu.load(Ordering::Relaxed).checked_sub(1)
    }
}

/// What a thread spawned beside a [`Lead`] holds to keep off its CPU.
#[derive(Debug)]
pub struct Beside {
    lead: Arc<Lead>,
    /// The CPUs the thread was allowed when it started.
    allowed: Option<affinity::Allowed>,
    /// The CPU it keeps off now.
    off: Option<usize>,
}

impl Beside {
    /// Moves the calling thread off the lead's CPU if the lead has moved
    /// since the last step: every CPU it was first allowed but that one
    /// (unless that is the only one). Cheap when the lead has not moved.
    pub fn step_aside(&mut self) {
        let lead = self.lead.cpu();
        if lead == self.off {
            return;
        }
        if let (Some(allowed), Some(cpu)) = (&self.allowed, lead) {
            allowed.apply_without(cpu);
        }
        self.off = lead;
    }
}

/// Spawns `work` on a thread of `scope` that keeps off `lead`'s CPU from
/// its first step, and after that wherever `work` calls
/// [`Beside::step_aside`]. The caller yields once, so that the new thread
/// (queued on the caller's CPU) moves away now rather than at the end of
/// the caller's time slice.
pub fn spawn_beside<'scope, 'env, T: Send + 'scope>(
    scope: &'scope Scope<'scope, 'env>,
    lead: Arc<Lead>,
    work: impl FnOnce(&mut Beside) -> T + Send + 'scope,
) -> ScopedJoinHandle<'scope, T> {
    let known = lead.cpu().is_some();
    let handle = scope.spawn(move || {
        let mut beside = Beside { lead, allowed: affinity::Allowed::current(), off: None };
        beside.step_aside();
        work(&mut beside)
    });
    if known {
        std::thread::yield_now();
    }
    handle
}

/// Gives the calling thread the lowest priority (`SCHED_IDLE`): it runs
/// only when nothing else wants its CPU. Linux completes an `fsync` in
/// kernel workers on the CPU that took the disk's interrupt, and a worker
/// woken behind a busy normal-priority thread waited for the end of its
/// time slice (traced: 3.7 ms), with the main thread waiting on the
/// `fsync`. Best effort; an unprivileged thread cannot raise it back, so
/// whoever waits for such a thread must not wait forever.
pub fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: a plain parameter struct; 0 names the calling thread.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
    }
}

/// The CPU the calling thread is running on, where the platform says.
#[cfg(target_os = "linux")]
fn current_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu takes no arguments and only reports.
    usize::try_from(unsafe { libc::sched_getcpu() }).ok()
}

#[cfg(not(target_os = "linux"))]
fn current_cpu() -> Option<usize> {
    None
}

#[cfg(target_os = "linux")]
mod affinity {
    /// A thread's set of allowed CPUs.
    pub(super) struct Allowed(pub(super) libc::cpu_set_t);

    impl std::fmt::Debug for Allowed {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Allowed")
        }
    }

    const SIZE: usize = std::mem::size_of::<libc::cpu_set_t>();

    impl Allowed {
        /// The calling thread's allowed CPUs.
        pub(super) fn current() -> Option<Allowed> {
            // SAFETY: the set is plain data, zeroed, then filled by the call
            // for exactly its size; 0 names the calling thread.
            unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                (libc::sched_getaffinity(0, SIZE, &mut set) == 0).then_some(Allowed(set))
            }
        }

        /// Allows the calling thread every CPU of this set but `cpu`, unless
        /// that leaves none. Best effort: a thread that cannot be moved runs
        /// where it is.
        pub(super) fn apply_without(&self, cpu: usize) {
            if cpu >= libc::CPU_SETSIZE as usize {
                return;
            }
            let mut set = self.0;
            // SAFETY: the set is plain data of exactly SIZE bytes, read and
            // written by the libc macros and call; 0 names the calling thread.
            unsafe {
                libc::CPU_CLR(cpu, &mut set);
                if libc::CPU_COUNT(&set) > 0 {
                    libc::sched_setaffinity(0, SIZE, &set);
                }
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod affinity {
    /// Nothing to keep off where the platform does not say where threads run.
    #[derive(Debug)]
    pub(super) struct Allowed;

    impl Allowed {
        pub(super) fn current() -> Option<Allowed> {
            None
        }

        pub(super) fn apply_without(&self, _cpu: usize) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    fn allowed() -> Vec<usize> {
        let set = affinity::Allowed::current().expect("Linux says");
        // SAFETY: reading a plain set with the libc macro.
        (0..libc::CPU_SETSIZE as usize).filter(|&c| unsafe { libc::CPU_ISSET(c, &set.0) }).collect()
    }

    #[cfg(target_os = "linux")]
    fn lead_at(cpu: usize) -> Arc<Lead> {
        let lead = Arc::new(Lead::default());
        lead.cpu.store(cpu + 1, Ordering::Relaxed);
        lead
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_thread_beside_keeps_off_the_leads_cpu_and_follows_it_when_it_moves() {
        let before = allowed();
        let lead = lead_at(before[0]);
        let last = before[before.len() - 1];
        let (first, second) = std::thread::scope(|scope| {
            let lead = Arc::clone(&lead);
            spawn_beside(scope, Arc::clone(&lead), move |beside| {
                let first = allowed();
                // The lead moves to the last CPU: the thread steps aside
                // from that one, and may use the first again.
                lead.cpu.store(last + 1, Ordering::Relaxed);
                beside.step_aside();
                (first, allowed())
            })
            .join()
            .expect("the thread ends")
        });
        if before.len() > 1 {
            assert_eq!(first, before[1..], "every allowed CPU but the lead's");
            assert_eq!(second, before[..before.len() - 1], "every allowed CPU but the lead's new one");
        } else {
            assert_eq!((first, second), (before.clone(), before.clone()), "the only allowed CPU stays allowed");
        }
        assert_eq!(allowed(), before, "the spawner is not moved");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_thread_beside_the_caller_starts_off_its_cpu_and_returns_its_result() {
        let before = allowed();
        let (ran_on, allowed_there) = std::thread::scope(|scope| {
            spawn_beside(scope, Lead::here(), |_| (current_cpu(), allowed())).join().expect("it ends")
        });
        let ran_on = ran_on.expect("Linux says");
        if before.len() > 1 {
            assert_eq!(allowed_there.len(), before.len() - 1, "one CPU (the spawner's) taken out of {before:?}");
        } else {
            assert_eq!(allowed_there, before, "the only allowed CPU stays allowed");
        }
        assert!(allowed_there.contains(&ran_on), "ran on CPU {ran_on}, outside {allowed_there:?}");
    }
}
