//! What `check` reports: a verdict per plugin file, reached through the
//! same path as the runs' verdicts, with the recorded history compared when
//! a database exists. Writes nothing.

use super::{CheckError, Checker};
use crate::engine::history;
use crate::engine::{DatabaseTarget, Engine};
use crate::plugins::inventory::Inventory;
use crate::plugins::load::Plugin;
use serde::Serialize;
use std::path::PathBuf;

/// What `check` found, plugin by plugin.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The directory checked.
    pub plugins_dir: PathBuf,
    /// The database whose history was compared, when one exists.
    pub database: Option<DatabaseTarget>,
    /// One verdict per plugin file.
    pub plugins: Vec<Verdict>,
}

/// The verdict on one plugin file.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The plugin's name (the file name when it never said one).
    pub name: String,
    /// The plugin file.
    pub file: PathBuf,
    /// Passed, refused or blocked.
    #[serde(flatten)]
    pub outcome: CheckOutcome,
}

/// Whether a plugin may be applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CheckOutcome {
    /// Every check passed.
    Passed,
    /// A check failed.
    Refused {
        /// Why, naming the file, table or migration.
        reason: String,
    },
    /// A dependency was refused.
    Blocked {
        /// The dependency.
        by: String,
    },
}

impl CheckReport {
    /// Whether every plugin passed.
    pub fn passed(&self) -> bool {
        self.plugins.iter().all(|v| v.outcome == CheckOutcome::Passed)
    }
}

/// Runs every check on every plugin of `inventory` (or only on `only`),
/// comparing history with `db` when there is one. Writes nothing.
pub fn check_all(
    inventory: &Inventory,
    target: &DatabaseTarget,
    db: Option<&dyn Engine>,
    only: Option<&str>,
) -> Result<CheckReport, CheckError> {
    let wanted = |name: &str| only.is_none_or(|o| o == name);
    let mut plugins = Vec::new();
    for refusal in &inventory.refused {
        let name = refusal.name();
        if wanted(&name) {
            plugins.push(Verdict {
                name,
                file: refusal.file.clone(),
                outcome: CheckOutcome::Refused { reason: refusal.reason.clone() },
            });
        }
    }
    let mut unusable = inventory.refused_names();
    let checker = Checker::new(inventory, target)
        .map_err(|source| CheckError::Scratch { plugin: only.unwrap_or("every plugin").to_owned(), source })?;
    let everyone: Vec<&Plugin> = inventory.plugins.iter().collect();
    let checked = checker.check_plugins(&everyone);
    for (plugin, checked) in inventory.plugins.iter().zip(checked) {
        let name = &plugin.manifest.name;
        let outcome = match inventory.blocked_by(plugin, &unusable) {
            Some(by) => CheckOutcome::Blocked { by },
            None => match checked {
                Err(e) => CheckOutcome::Refused { reason: e.to_string() },
                Ok(_) => match db.map(|db| db.applied(&plugin.manifest.history_table())).transpose() {
                    Err(e) => CheckOutcome::Refused { reason: crate::error_chain::one_line(&e) },
                    Ok(recorded) => match history::compare(
                        &recorded.unwrap_or_default(),
                        plugin.manifest.chain_for(target.dialect()),
                    ) {
                        Ok(_) => CheckOutcome::Passed,
                        Err(e) => CheckOutcome::Refused { reason: format!("plugin '{name}': {e}") },
                    },
                },
            },
        };
        if outcome != CheckOutcome::Passed {
            unusable.insert(name.clone());
        }
        if wanted(name) {
            plugins.push(Verdict { name: name.clone(), file: plugin.file.clone(), outcome });
        }
    }
    Ok(CheckReport { plugins_dir: inventory.dir.clone(), database: db.map(|d| d.target().clone()), plugins })
}
