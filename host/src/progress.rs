//! What a run tells the person watching it while it works.
//!
//! A migration can run for minutes; an operator at a terminal must see that
//! the host is alive, which migration of which chain is running, and how
//! long each took. The runs and the engines report their steps to the
//! [`Progress`] installed for the process; the command line installs a
//! spinner when stderr is a terminal, and nothing otherwise (piped output
//! and `-q` stay exactly the report).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Receives a run's steps as they happen. Every method has a default that
/// does nothing.
pub trait Progress: Send + Sync + std::fmt::Debug {
    /// A chain's transaction starts, to apply `migrations` (labels; empty
    /// when it only records history).
    fn chain_started(&self, _chain: &str, _migrations: &[String]) {}
    /// Migration `label`, the `index`-th (from 1) of `total`, starts.
    fn migration_started(&self, _chain: &str, _label: &str, _index: usize, _total: usize) {}
    /// Migration `label` ran in `took`.
    fn migration_finished(&self, _chain: &str, _label: &str, _took: Duration) {}
    /// The chain committed (`ok`) or rolled back, after `took`.
    fn chain_finished(&self, _chain: &str, _ok: bool, _took: Duration) {}
}

static INSTALLED: OnceLock<Arc<dyn Progress>> = OnceLock::new();

/// Sends the progress of every run of this process to `progress` (the
/// command line does this once, when stderr is a terminal).
pub fn install(progress: Arc<dyn Progress>) {
    let _ = INSTALLED.set(progress);
}

/// Where runs report their progress, if anywhere.
pub fn installed() -> Option<Arc<dyn Progress>> {
    INSTALLED.get().cloned()
}
