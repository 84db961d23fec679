//! What a run tells the person watching it while it works.
//!
//! A migration can run for minutes; an operator at a terminal must see that
//! the host is alive, which migration of which chain is running, and how
//! long each took. The run reports its steps to a [`Progress`]; the command
//! line installs [`Spinner`] when stderr is a terminal, and nothing otherwise
//! (piped output and `-q` stay exactly the report).

use indicatif::{ProgressBar, ProgressStyle};
use std::sync::{Arc, Mutex, OnceLock};
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

/// A spinner on stderr: the migration running now with a ticking elapsed
/// time, and a line for each migration and chain once it is done.
#[derive(Debug)]
pub struct Spinner {
    bar: Mutex<Option<ProgressBar>>,
}

impl Default for Spinner {
    fn default() -> Self {
        Spinner::new()
    }
}

impl Spinner {
    /// A spinner drawn on stderr (indicatif draws only on a terminal).
    pub fn new() -> Spinner {
        Spinner { bar: Mutex::new(None) }
    }

    fn with_bar(&self, f: impl FnOnce(&ProgressBar)) {
        let guard = self.bar.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(bar) = guard.as_ref() {
            f(bar);
        }
    }
}

fn millis(took: Duration) -> String {
    if took >= Duration::from_secs(10) {
        format!("{:.1} s", took.as_secs_f64())
    } else {
        format!("{} ms", took.as_millis())
    }
}

impl Progress for Spinner {
    fn chain_started(&self, chain: &str, migrations: &[String]) {
        let bar = ProgressBar::new_spinner();
        let style = ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        let what = if migrations.is_empty() {
            "recording history".to_owned()
        } else {
            format!("applying {}", migrations.join(", "))
        };
        bar.println(format!("{chain}: {what}"));
        bar.set_message(format!("{chain}: starting"));
        bar.enable_steady_tick(Duration::from_millis(100));
        let mut guard = self.bar.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard = Some(bar);
    }

    fn migration_started(&self, chain: &str, label: &str, index: usize, total: usize) {
        self.with_bar(|bar| {
            bar.reset_elapsed();
            bar.set_message(format!("{chain}: running {label} ({index}/{total})"));
        });
    }

    fn migration_finished(&self, chain: &str, label: &str, took: Duration) {
        self.with_bar(|bar| bar.println(format!("{chain}: {label} done in {}", millis(took))));
    }

    fn chain_finished(&self, chain: &str, ok: bool, took: Duration) {
        let mut guard = self.bar.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(bar) = guard.take() {
            let end = if ok { "done" } else { "rolled back" };
            bar.println(format!("{chain}: {end} in {}", millis(took)));
            bar.finish_and_clear();
        }
    }
}
