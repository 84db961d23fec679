//! The terminal's view of a run's progress: a spinner with the migration
//! running now and a ticking elapsed time, and a line for each migration
//! and chain once done (indicatif draws only on a terminal).

use crate::progress::Progress;
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Mutex;
use std::time::Duration;

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
