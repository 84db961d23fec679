//! First-install checks done ahead, on a second thread.
//!
//! A plugin installed for the first time needs its DDL checked in a scratch
//! database and its file hashed for the audit record. Neither depends on the
//! operator's database, so a worker does them plugin by plugin, in the order
//! the main thread applies chains, while the main thread is busy with the
//! chains before: the checks overlap the SQL and its `fsync`s instead of
//! adding to them. The main thread takes a plugin's verdict once that
//! plugin's chain has run in its transaction (a refusal rolls it back), so
//! a late verdict overlaps that chain's SQL too. The worker checks each
//! plugin on top of the ones before it in one shared scratch database
//! (`Checker::ddl_checks_in`, which falls back to [`Checker::ddl_checks`]
//! when a plugin names a table that is not there); the verdicts are the
//! ones `ddl_checks` gives. A plugin the worker did not get to (or could
//! not do) is checked by the main thread.
//!
//! The worker runs beside the main thread ([`spawn_beside`]): off the CPU
//! the main thread was last seen on, which the main thread reports at each
//! chain ([`Ahead::main_is_here`]) and the worker looks at between plugins.
//! It runs at the lowest priority ([`crate::cpus::lower_priority`]), so that
//! the kernel's work completing the main thread's `fsync`s never waits for
//! it; on a machine too busy to give it a CPU, the main thread stops
//! waiting for a verdict after [`PATIENCE`] and checks the plugin itself.

use crate::check::Checker;
use crate::cpus::{spawn_beside, Lead};
use crate::inventory::Inventory;
use crate::load::Plugin;
use crate::schema::Schema;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

/// How long the main thread waits for a verdict before checking the plugin
/// itself. A verdict takes about a millisecond on an idle CPU, and the main
/// thread asks only once the plugin's chain has run.
pub const PATIENCE: Duration = Duration::from_millis(50);

/// A plugin's DDL checks: its schema, or the reason it is refused.
pub type DdlVerdict = Result<Schema, String>;

/// The results the worker sends back, taken by plugin name.
pub struct Ahead<'scope> {
    received: Receiver<(String, DdlVerdict)>,
    waiting: HashMap<String, DdlVerdict>,
    scheduled: HashSet<String>,
    worker: Option<ScopedJoinHandle<'scope, ()>>,
    /// Where the main thread was last seen, for the worker to keep off.
    main: Arc<Lead>,
    /// Set when nobody will take more verdicts: the worker stops between steps.
    stop: Arc<AtomicBool>,
}

impl<'scope> Ahead<'scope> {
    /// Starts checking `plugins` (in this order) on a thread of `scope`.
    pub fn start<'env>(
        scope: &'scope Scope<'scope, 'env>,
        inventory: &'env Inventory,
        plugins: Vec<&'env Plugin>,
    ) -> Self {
        let (send, received) = mpsc::channel();
        let scheduled = plugins.iter().map(|p| p.manifest.name.clone()).collect();
        let main = Lead::here();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let worker = (!plugins.is_empty()).then(|| {
            spawn_beside(scope, Arc::clone(&main), move |beside| {
                crate::cpus::lower_priority();
                let Ok(checker) = Checker::new(inventory) else { return };
                // Plugins come in dependency order: each is checked on top of
                // the ones before it (Checker::ddl_checks_in).
                let mut shared = checker.core_scratch().ok();
                for plugin in plugins {
                    if stopped.load(Ordering::Relaxed) {
                        return;
                    }
                    beside.step_aside();
                    let in_sequence = shared.as_mut().map(|scratch| checker.ddl_checks_in(scratch, plugin));
                    let verdict = match in_sequence {
                        Some(Ok(Some(verdict))) => verdict,
                        Some(Err(_)) => {
                            shared = None;
                            checker.ddl_checks(plugin)
                        }
                        Some(Ok(None)) | None => checker.ddl_checks(plugin),
                    };
                    let verdict = verdict.map_err(|e| e.to_string());
                    if send.send((plugin.manifest.name.clone(), verdict)).is_err() {
                        return;
                    }
                    if stopped.load(Ordering::Relaxed) {
                        return;
                    }
                    beside.step_aside();
                    // Hashed after the verdict is sent, cached in the plugin:
                    // the main thread needs the verdict before the read-back,
                    // the hash only for the audit row after it.
                    let _ = plugin.sha256();
                }
            })
        });
        Ahead { received, waiting: HashMap::new(), scheduled, worker, main, stop }
    }

    /// Tells the worker which CPU the main thread is on now (it moves when
    /// woken from an `fsync`), for the worker to keep off it.
    pub fn main_is_here(&self) {
        self.main.moved();
    }

    /// The worker's verdict on `plugin`, waiting up to [`PATIENCE`] for it;
    /// `None` when it was not scheduled, the worker stopped before it, or
    /// it did not come in time (the caller then checks the plugin itself).
    pub fn take(&mut self, plugin: &str) -> Option<DdlVerdict> {
        self.take_within(plugin, PATIENCE)
    }

    fn take_within(&mut self, plugin: &str, patience: Duration) -> Option<DdlVerdict> {
        if !self.scheduled.contains(plugin) {
            return None;
        }
        self.main_is_here();
        let deadline = Instant::now() + patience;
        while !self.waiting.contains_key(plugin) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.received.recv_timeout(left) {
                Ok((name, verdict)) => {
                    self.waiting.insert(name, verdict);
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    tracing::debug!("{plugin}: no verdict from the checking thread within {patience:?}");
                    self.scheduled.remove(plugin);
                    return None;
                }
            }
        }
        self.waiting.remove(plugin)
    }
}

impl std::fmt::Debug for Ahead<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ahead").field("scheduled", &self.scheduled).finish_non_exhaustive()
    }
}

impl Drop for Ahead<'_> {
    fn drop(&mut self) {
        // Nobody will take what is left: the worker stops at its next step
        // (or its next send fails). Joined here so that a panic on the
        // worker stays there.
        self.stop.store(true, Ordering::Relaxed);
        let (_, closed) = mpsc::channel();
        drop(std::mem::replace(&mut self.received, closed));
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests::plugin;
    use std::path::PathBuf;

    /// Patience for tests whose worker shares two cores with every other
    /// test: an idle-priority thread may get no CPU for a while.
    const UNHURRIED: Duration = Duration::from_secs(60);

    #[test]
    fn a_verdict_not_there_in_time_is_not_waited_for_and_then_left_to_the_caller() {
        let plugins: Vec<Plugin> = (0..20)
            .map(|i| plugin(&format!("p{i:02}"), &format!("CREATE TABLE p{i:02}_items (id INTEGER PRIMARY KEY);")))
            .collect();
        let inventory = Inventory::from_plugins(PathBuf::from("memory"), plugins);
        std::thread::scope(|scope| {
            let mut ahead = Ahead::start(scope, &inventory, inventory.plugins.iter().collect());
            let last = "p19";
            let started = std::time::Instant::now();
            let verdict = ahead.take_within(last, Duration::ZERO);
            assert!(started.elapsed() < Duration::from_secs(1), "waited {:?}", started.elapsed());
            match verdict {
                // Twenty checks done before the first look: possible, but
                // then it is the checker's verdict.
                Some(verdict) => assert!(verdict.is_ok()),
                None => assert_eq!(ahead.take(last), None, "given up once, it is the caller's"),
            }
            assert!(ahead.take_within("p00", UNHURRIED).is_some_and(|v| v.is_ok()), "the others still come");
        });
    }

    #[test]
    fn gives_the_verdicts_the_checker_gives_and_nothing_for_unscheduled_plugins() {
        let good = plugin("good", "CREATE TABLE good_items (id INTEGER PRIMARY KEY);");
        let trespass = plugin("trespass", "CREATE TABLE trespass_items (id INTEGER PRIMARY KEY); DROP TABLE sites;");
        let later = plugin("later", "CREATE TABLE later_items (id INTEGER PRIMARY KEY);");
        let inventory = Inventory::from_plugins(PathBuf::from("memory"), vec![good, trespass, later]);
        let checker = Checker::new(&inventory).expect("a checker");
        let verdict = |name: &str| {
            let plugin = inventory.find(name).expect("in the inventory");
            checker.ddl_checks(plugin).map_err(|e| e.to_string())
        };
        assert!(verdict("trespass").is_err_and(|e| e.contains("sites")));

        std::thread::scope(|scope| {
            let scheduled = ["good", "trespass"].iter().filter_map(|name| inventory.find(name)).collect();
            let mut ahead = Ahead::start(scope, &inventory, scheduled);
            // Taken out of order: the first result waits while the second is read.
            assert_eq!(ahead.take_within("trespass", UNHURRIED), Some(verdict("trespass")));
            assert_eq!(ahead.take_within("good", UNHURRIED), Some(verdict("good")));
            assert_eq!(ahead.take("good"), None, "a verdict is handed out once");
            assert_eq!(ahead.take("later"), None);
        });
    }
}
