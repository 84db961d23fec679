//! Applying chains: the core's first, then each plugin's in dependency order.
//!
//! Every chain is independent: it has its own history table and its own
//! transaction, so one plugin failing rolls back that plugin alone. A plugin
//! whose dependency failed or was refused is reported as blocked and not
//! touched. Nothing is applied for a plugin that fails its checks.

use crate::check::{self, dependency_closure, policy_for};
use crate::db::{ChainRun, Database};
use crate::history;
use crate::inventory::Inventory;
use crate::load::Plugin;
use crate::{core, manifest::ChainMigration};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

/// What happened to every chain in one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The database file.
    pub database: PathBuf,
    /// The core chain first, then plugins in the order they were handled.
    pub chains: Vec<ChainOutcome>,
}

/// What happened to one chain.
#[derive(Debug, Clone, Serialize)]
pub struct ChainOutcome {
    /// `core` or the plugin's name (the file name when it never said one).
    pub name: String,
    /// The plugin file, for plugins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The version applied before the run (`None`: nothing applied).
    pub from: Option<i32>,
    /// The result.
    #[serde(flatten)]
    pub status: Status,
}

/// The result for one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Migrations were applied.
    Applied {
        /// `V2__add_toner_levels`, … in order.
        migrations: Vec<String>,
        /// The version now applied.
        version: i32,
    },
    /// Nothing was pending.
    UpToDate {
        /// The version applied (`None` when the chain is empty).
        version: Option<i32>,
    },
    /// Applying failed and was rolled back.
    Failed {
        /// What failed, naming the migration.
        reason: String,
    },
    /// The plugin did not pass the checks; nothing was tried.
    Refused {
        /// Why.
        reason: String,
    },
    /// A dependency failed or was refused; nothing was tried.
    Blocked {
        /// The dependency (or `core`).
        by: String,
    },
}

impl Status {
    /// Whether this chain ended where it was asked to.
    pub fn is_ok(&self) -> bool {
        matches!(self, Status::Applied { .. } | Status::UpToDate { .. })
    }
}

impl RunReport {
    /// Whether every chain ended where it was asked to.
    pub fn succeeded(&self) -> bool {
        self.chains.iter().all(|c| c.status.is_ok())
    }
}

/// Why a run could not start at all (bad input, as opposed to a chain that
/// failed while applying).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No plugin of that name in the directory.
    #[error("no plugin named '{name}' in `{}`; plugins found: {}", dir.display(), list_or_none(found))]
    UnknownPlugin {
        name: String,
        dir: PathBuf,
        found: Vec<String>,
    },
    /// The target version is not in the chain.
    #[error("plugin '{plugin}' has no migration V{target}; its chain has {}", versions.iter().map(|v| format!("V{v}")).collect::<Vec<_>>().join(", "))]
    UnknownTarget {
        plugin: String,
        target: i32,
        versions: Vec<i32>,
    },
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// Applies the core chain and every usable plugin (`upgrade-all`).
pub fn upgrade_all(db: &mut Database, inventory: &Inventory) -> RunReport {
    let selection = inventory.plugins.iter().map(|p| (p, None)).collect();
    run(db, inventory, selection, true)
}

/// Applies the core chain, the plugins `name` depends on (to their heads) and
/// `name` itself (to `target`, or its head).
pub fn migrate_plugin(
    db: &mut Database,
    inventory: &Inventory,
    name: &str,
    target: Option<i32>,
) -> Result<RunReport, RunError> {
    let Some(plugin) = inventory.find(name) else {
        if let Some(refusal) = inventory
            .refused
            .iter()
            .find(|r| r.plugin.as_deref() == Some(name))
        {
            let mut report = RunReport {
                database: db.path().to_owned(),
                chains: Vec::new(),
            };
            report.chains.push(refused(
                refusal.plugin.clone(),
                &refusal.file,
                refusal.reason.clone(),
            ));
            return Ok(report);
        }
        return Err(RunError::UnknownPlugin {
            name: name.to_owned(),
            dir: inventory.dir.clone(),
            found: inventory.names().into_iter().collect(),
        });
    };
    if let Some(target) = target {
        if !plugin.manifest.chain.iter().any(|m| m.version == target) {
            return Err(RunError::UnknownTarget {
                plugin: name.to_owned(),
                target,
                versions: plugin.manifest.chain.iter().map(|m| m.version).collect(),
            });
        }
    }
    let mut selection: Vec<(&Plugin, Option<i32>)> =
        dependency_closure(&plugin.manifest, &inventory.plugins)
            .into_iter()
            .map(|p| (p, None))
            .collect();
    selection.push((plugin, target));
    Ok(run(db, inventory, selection, false))
}

fn refused(name: Option<String>, file: &std::path::Path, reason: String) -> ChainOutcome {
    let name = name.unwrap_or_else(|| {
        file.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    });
    ChainOutcome {
        name,
        file: Some(file.to_owned()),
        from: None,
        status: Status::Refused { reason },
    }
}

fn run(
    db: &mut Database,
    inventory: &Inventory,
    selection: Vec<(&Plugin, Option<i32>)>,
    report_refused: bool,
) -> RunReport {
    let mut report = RunReport {
        database: db.path().to_owned(),
        chains: Vec::new(),
    };
    let core = apply_core(db);
    let core_ok = core.status.is_ok();
    report.chains.push(core);
    if report_refused {
        for refusal in &inventory.refused {
            report.chains.push(refused(
                refusal.plugin.clone(),
                &refusal.file,
                refusal.reason.clone(),
            ));
        }
    }
    let mut unusable: BTreeSet<String> = inventory.refused_names();
    for (plugin, target) in selection {
        let name = plugin.manifest.name.clone();
        let blocker = if core_ok {
            inventory.blocked_by(plugin, &unusable)
        } else {
            Some(core::OWNER.to_owned())
        };
        let outcome = match blocker {
            Some(by) => ChainOutcome {
                name: name.clone(),
                file: Some(plugin.file.clone()),
                from: None,
                status: Status::Blocked { by },
            },
            None => apply_plugin(db, plugin, inventory, target),
        };
        if !outcome.status.is_ok() {
            unusable.insert(name);
        }
        report.chains.push(outcome);
    }
    report
}

fn apply_core(db: &mut Database) -> ChainOutcome {
    let run = ChainRun {
        owner: core::OWNER,
        history: core::HISTORY_TABLE.into(),
        migrations: core::chain(),
        target: None,
        policy: None,
    };
    apply_chain(db, core::OWNER, None, &run, || Ok(()))
}

fn apply_plugin(
    db: &mut Database,
    plugin: &Plugin,
    inventory: &Inventory,
    target: Option<i32>,
) -> ChainOutcome {
    let manifest = &plugin.manifest;
    let run = ChainRun {
        owner: &manifest.name,
        history: manifest.history_table(),
        migrations: &manifest.chain,
        target,
        policy: Some(Arc::new(policy_for(manifest, inventory))),
    };
    apply_chain(db, &manifest.name, Some(plugin.file.clone()), &run, || {
        check::schema_checks(plugin, inventory).map_err(|e| e.to_string())
    })
}

/// Compares history, runs `checks` only when something is pending, then
/// applies the chain.
fn apply_chain(
    db: &mut Database,
    name: &str,
    file: Option<PathBuf>,
    run: &ChainRun<'_>,
    checks: impl FnOnce() -> Result<(), String>,
) -> ChainOutcome {
    let outcome = |from, status| ChainOutcome {
        name: name.to_owned(),
        file: file.clone(),
        from,
        status,
    };
    let recorded = match db.applied(&run.history) {
        Ok(recorded) => recorded,
        Err(e) => {
            return outcome(
                None,
                Status::Failed {
                    reason: e.to_string(),
                },
            )
        }
    };
    let state = match history::compare(&recorded, run.migrations) {
        Ok(state) => state,
        Err(e) => {
            let from = recorded.iter().map(|a| a.version).max();
            return outcome(
                from,
                Status::Refused {
                    reason: e.to_string(),
                },
            );
        }
    };
    let pending: Vec<&ChainMigration> = state
        .pending
        .iter()
        .filter(|m| run.target.is_none_or(|t| m.version <= t))
        .collect();
    if pending.is_empty() {
        return outcome(
            state.applied,
            Status::UpToDate {
                version: state.applied,
            },
        );
    }
    if let Err(reason) = checks() {
        return outcome(state.applied, Status::Refused { reason });
    }
    match db.apply(run) {
        Ok(applied) => {
            let version = applied
                .last()
                .map(|m| m.version)
                .or(state.applied)
                .unwrap_or(0);
            if applied.is_empty() {
                outcome(
                    state.applied,
                    Status::UpToDate {
                        version: state.applied,
                    },
                )
            } else {
                outcome(
                    state.applied,
                    Status::Applied {
                        migrations: applied.iter().map(ChainMigration::label).collect(),
                        version,
                    },
                )
            }
        }
        Err(e) => outcome(
            state.applied,
            Status::Failed {
                reason: e.to_string(),
            },
        ),
    }
}
