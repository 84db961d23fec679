//! What `check` reports: a verdict per plugin file, reached through the
//! same path as the runs' verdicts, with the recorded history compared when
//! a database exists. Writes nothing.

use super::{CheckError, Checked, Checker};
use crate::engine::history;
use crate::engine::{AppliedMigration, DatabaseTarget, DbError, Dialect, Engine};
use crate::plugins::inventory::Inventory;
use crate::plugins::load::Plugin;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
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
    /// Passed on the verdict of the run that applied it, its SQL and what
    /// that verdict depends on unchanged since ([`super::digest`]), rather
    /// than checked again.
    pub recorded: bool,
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
/// comparing history with `db` when there is one (`recheck`: every plugin
/// in scratch databases, none on its recorded verdict). Writes nothing.
///
/// With a database, a plugin applied up to its head whose recorded
/// [`super::digest`] equals its digest now passes on that verdict: its
/// SQL, its dependencies' and the host's checks are those of the run that
/// applied it, so checking them again in scratch databases would give the
/// same answer (on PostgreSQL, at a thousand plugins, about a minute of
/// the server's work). Every other plugin is checked in scratch
/// databases.
pub fn check_all(
    inventory: &Inventory,
    target: &DatabaseTarget,
    db: Option<&dyn Engine>,
    only: Option<&str>,
    recheck: bool,
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
                recorded: false,
            });
        }
    }
    let mut unusable = inventory.refused_names();
    let checker = Checker::new(inventory, target)
        .map_err(|source| CheckError::Scratch { plugin: only.unwrap_or("every plugin").to_owned(), source })?;
    let records = db.map(|db| Records::read(db, inventory));
    let (unchanged, to_check): (Vec<&Plugin>, Vec<&Plugin>) = inventory.plugins.iter().partition(|plugin| {
        !recheck && records.as_ref().is_some_and(|r| r.unchanged(plugin, &checker.digest_of(plugin), target.dialect()))
    });
    let unchanged: BTreeSet<&str> = unchanged.iter().map(|p| p.manifest.name.as_str()).collect();
    let mut checked: BTreeMap<&str, Result<Checked, CheckError>> =
        to_check.iter().map(|p| p.manifest.name.as_str()).zip(checker.check_plugins(&to_check)).collect();
    for plugin in &inventory.plugins {
        let name = &plugin.manifest.name;
        let recorded = unchanged.contains(name.as_str());
        let outcome = match inventory.blocked_by(plugin, &unusable) {
            Some(by) => CheckOutcome::Blocked { by },
            None if recorded => CheckOutcome::Passed,
            None => match checked.remove(name.as_str()).unwrap_or_else(|| unreachable!("every plugin is checked")) {
                Err(e) => CheckOutcome::Refused { reason: e.to_string() },
                Ok(_) => match records.as_ref().map(|r| r.history_of(plugin, target.dialect())) {
                    None | Some(Ok(())) => CheckOutcome::Passed,
                    Some(Err(reason)) => CheckOutcome::Refused { reason },
                },
            },
        };
        if outcome != CheckOutcome::Passed {
            unusable.insert(name.clone());
        }
        if wanted(name) {
            let recorded = recorded && outcome == CheckOutcome::Passed;
            plugins.push(Verdict { name: name.clone(), file: plugin.file.clone(), outcome, recorded });
        }
    }
    Ok(CheckReport { plugins_dir: inventory.dir.clone(), database: db.map(|d| d.target().clone()), plugins })
}

/// What the database records that `check` compares: each plugin's history
/// (all of them in one read) and the digests of the runs' verdicts.
struct Records<'d> {
    db: &'d dyn Engine,
    histories: Result<BTreeMap<String, Vec<AppliedMigration>>, DbError>,
    digests: BTreeMap<String, String>,
}

impl<'d> Records<'d> {
    fn read(db: &'d dyn Engine, inventory: &Inventory) -> Records<'d> {
        let tables: Vec<String> = inventory.plugins.iter().map(|p| p.manifest.history_table()).collect();
        // Unreadable records leave every plugin to the scratch checks; the
        // history's reading error is reported plugin by plugin.
        let digests = db
            .installed_plugins()
            .map(|installed| installed.into_iter().filter_map(|i| Some((i.name, i.checked_digest?))).collect())
            .unwrap_or_default();
        Records { db, histories: db.applied_all(&tables), digests }
    }

    /// The plugin's recorded history, read on its own where the reading of
    /// all of them failed (for that plugin's error).
    fn applied(&self, plugin: &Plugin) -> Result<Cow<'_, [AppliedMigration]>, DbError> {
        let table = plugin.manifest.history_table();
        match &self.histories {
            Ok(all) => Ok(Cow::Borrowed(all.get(&table).map_or(&[][..], Vec::as_slice))),
            Err(_) => self.db.applied(&table).map(Cow::Owned),
        }
    }

    /// Whether the plugin is applied up to its head, as the chain has it,
    /// by a run whose verdict had the digest it has now (never where the
    /// histories could not be read: the plugin is checked, and its error
    /// reported).
    fn unchanged(&self, plugin: &Plugin, digest: &str, dialect: Dialect) -> bool {
        let chain = plugin.manifest.chain_for(dialect);
        let (Ok(_), Some(recorded)) = (&self.histories, self.digests.get(&plugin.manifest.name)) else {
            return false;
        };
        recorded == digest
            && !chain.is_empty()
            && self.applied(plugin).is_ok_and(|h| history::compare(&h, chain).is_ok_and(|s| s.pending.is_empty()))
    }

    /// The refusal, if any, when the plugin's recorded history differs
    /// from its chain.
    fn history_of(&self, plugin: &Plugin, dialect: Dialect) -> Result<(), String> {
        let name = &plugin.manifest.name;
        let recorded = self.applied(plugin).map_err(|e| crate::error_chain::one_line(&e))?;
        history::compare(&recorded, plugin.manifest.chain_for(dialect))
            .map(drop)
            .map_err(|e| format!("plugin '{name}': {e}"))
    }
}
