//! Where the host's helper threads run.
//!
//! A command overlaps its work on a second thread (opening the database
//! while the plugins load, checking plugins while chains apply). On the
//! two-core development machine Linux placed a new thread of a fresh
//! process on its parent's CPU in 35 of 40 tries, and it waited there for
//! the parent to sleep (about 2 ms in a test) while the other CPU idled.
//! [`spawn_beside`] starts the thread on another CPU instead (in about
//! 0.15 ms). The same holds after every `fsync`: Linux wakes the sleeper on
//! the CPU it slept on, so the helper keeps off the spawner's CPU for good
//! (traced: the main thread waited 2.5–10 ms at the first commit in about
//! half the runs while a helper ran on its CPU). The spawner itself stays
//! free to move.

use std::thread::{Scope, ScopedJoinHandle};

/// Spawns `work` on a thread of `scope` that runs on any allowed CPU but
/// the caller's, from its first step. The caller yields once, so that the
/// new thread (queued on the caller's CPU) moves away now rather than at
/// the end of the caller's time slice.
pub fn spawn_beside<'scope, 'env, T: Send + 'scope>(
    scope: &'scope Scope<'scope, 'env>,
    work: impl FnOnce() -> T + Send + 'scope,
) -> ScopedJoinHandle<'scope, T> {
    let spawner = current_cpu();
    let handle = scope.spawn(move || {
        if let Some(cpu) = spawner {
            keep_off(cpu);
        }
        work()
    });
    if spawner.is_some() {
        std::thread::yield_now();
    }
    handle
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

/// Takes `cpu` out of the calling thread's allowed CPUs, unless it is the
/// only one. Best effort: a thread that cannot be moved runs where it is.
#[cfg(target_os = "linux")]
fn keep_off(cpu: usize) {
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: the set is plain data, zeroed, then filled and read by the
    // libc calls and macros for exactly its size; 0 names this thread.
    unsafe {
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size, &mut allowed) != 0 || cpu >= libc::CPU_SETSIZE as usize {
            return;
        }
        libc::CPU_CLR(cpu, &mut allowed);
        if libc::CPU_COUNT(&allowed) > 0 {
            libc::sched_setaffinity(0, size, &allowed);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn keep_off(_cpu: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    fn allowed() -> Vec<usize> {
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: as in keep_off.
        assert_eq!(unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) }, 0);
        (0..libc::CPU_SETSIZE as usize).filter(|&c| unsafe { libc::CPU_ISSET(c, &set) }).collect::<Vec<_>>()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_thread_kept_off_a_cpu_may_run_on_every_other_allowed_one() {
        let before = allowed();
        let cpu = before[0];
        let after = std::thread::spawn(move || {
            keep_off(cpu);
            allowed()
        })
        .join()
        .expect("the thread ends");
        if before.len() > 1 {
            assert_eq!(after, before[1..], "every allowed CPU but the one kept off");
        } else {
            assert_eq!(after, before, "the only allowed CPU stays allowed");
        }
        assert_eq!(allowed(), before, "the calling thread is not moved");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_thread_spawned_beside_never_runs_on_the_spawners_cpu_and_returns_its_result() {
        let before = allowed();
        let (ran_on, allowed_there) =
            std::thread::scope(|scope| spawn_beside(scope, || (current_cpu(), allowed())).join().expect("it ends"));
        let ran_on = ran_on.expect("Linux says");
        if before.len() > 1 {
            assert_eq!(allowed_there.len(), before.len() - 1, "one CPU (the spawner's) taken out of {before:?}");
        } else {
            assert_eq!(allowed_there, before, "the only allowed CPU stays allowed");
        }
        assert!(allowed_there.contains(&ran_on), "ran on CPU {ran_on}, outside {allowed_there:?}");
        assert_eq!(allowed(), before, "the spawner is not moved");
    }
}
