//! Removing a plugin from a database: its tables (with their indexes and
//! triggers), its views, its history and the host's records of it.
//!
//! It is the one command that destroys data, so it shows before it acts
//! (without `--yes` it only lists what would go, with row counts), refuses
//! while another installed plugin depends on the plugin, writes a backup of
//! the whole database first (SQLite's online backup), and drops everything
//! in one transaction that a foreign-key check guards.

use crate::engine::{
    ApplyError, AuditEntry, AuditOutcome, Backup, DatabaseTarget, DbError, DroppedObject, Engine, Session,
};
use crate::error_chain::one_line;
use crate::plugins::inventory::Inventory;
use crate::plugins::manifest::history_table;
use crate::schema::names::ObjectKind;
use serde::Serialize;

/// What uninstall did, or would do.
#[derive(Debug, Clone, Serialize)]
pub struct UninstallReport {
    /// The database.
    pub database: DatabaseTarget,
    /// The plugin.
    pub plugin: String,
    /// Its tables and views with their row counts.
    pub objects: Vec<DroppedObject>,
    /// Its history table, if it has one.
    pub history_table: Option<String>,
    /// The backup written before dropping, and how to restore it.
    pub backup: Option<Backup>,
    /// Whether anything was dropped (`false`: shown only, run with --yes).
    pub dropped: bool,
}

/// Why uninstall refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum UninstallError {
    /// Nothing of the plugin is in the database.
    #[error("plugin '{plugin}' is not installed in `{database}`; installed: {}", if installed.is_empty() { "none".to_owned() } else { installed.join(", ") })]
    NotInstalled { plugin: String, database: DatabaseTarget, installed: Vec<String> },
    /// Other installed plugins reference its tables.
    #[error("plugin '{plugin}' cannot be uninstalled: {} depend{} on it; uninstall {} first", quoted(dependents), if dependents.len() == 1 { "s" } else { "" }, if dependents.len() == 1 { "it" } else { "them" })]
    HasDependents { plugin: String, dependents: Vec<String> },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Dropping failed and was rolled back.
    #[error("failed to uninstall plugin '{plugin}', nothing was dropped: {reason}")]
    Failed { plugin: String, reason: String },
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
}

/// Shows (or, with `yes`, does) the removal of `plugin` from `db`.
pub fn uninstall(
    db: &mut dyn Engine,
    inventory: &Inventory,
    plugin: &str,
    yes: bool,
) -> Result<UninstallReport, UninstallError> {
    let installed = db.installed_plugins()?;
    let history = history_table(plugin);
    let has_history = crate::plugins::manifest::is_valid_plugin_name(plugin) && !db.applied(&history)?.is_empty();
    // Its indexes and triggers go with its tables; names its chain dropped
    // long ago are simply not there.
    let mut tables: Vec<String> = db
        .recorded_objects()?
        .into_iter()
        .filter(|o| o.plugin == plugin && matches!(o.kind, ObjectKind::Table | ObjectKind::View))
        .map(|o| o.name)
        .collect();
    if tables.is_empty() && has_history {
        // Installed before owners were recorded: trust its manifest.
        if let Some(found) = inventory.find(plugin) {
            tables = found.manifest.tables.clone();
        }
    }
    if !has_history && tables.is_empty() && !installed.iter().any(|p| p.name == plugin) {
        return Err(UninstallError::NotInstalled {
            plugin: plugin.to_owned(),
            database: db.target().clone(),
            installed: installed.into_iter().map(|p| p.name).collect(),
        });
    }
    let mut dependents: Vec<String> = installed
        .iter()
        .filter(|p| p.name != plugin && p.depends_on.iter().any(|d| d == plugin))
        .map(|p| p.name.clone())
        .collect();
    for other in &inventory.plugins {
        let name = &other.manifest.name;
        let is_installed = !db.applied(&history_table(name))?.is_empty();
        if is_installed && other.manifest.depends_on.iter().any(|d| d == plugin) && !dependents.contains(name) {
            dependents.push(name.clone());
        }
    }
    if !dependents.is_empty() {
        dependents.sort();
        return Err(UninstallError::HasDependents { plugin: plugin.to_owned(), dependents });
    }

    let mut objects = Vec::new();
    for (name, kind) in db.existing(Some(plugin), &tables)? {
        let rows = match kind {
            ObjectKind::Table => Some(db.row_count(plugin, &name)?),
            _ => None,
        };
        if matches!(kind, ObjectKind::Table | ObjectKind::View) {
            objects.push(DroppedObject { name, kind, rows });
        }
    }
    let mut report = UninstallReport {
        database: db.target().clone(),
        plugin: plugin.to_owned(),
        objects,
        history_table: has_history.then_some(history),
        backup: None,
        dropped: false,
    };
    if !yes {
        return Ok(report);
    }

    report.backup = Some(db.backup(plugin, report.history_table.as_deref())?);
    drop_everything(db, &report)
        .map_err(|e| UninstallError::Failed { plugin: plugin.to_owned(), reason: one_line(&e) })?;
    report.dropped = true;
    Ok(report)
}

fn drop_everything(db: &mut dyn Engine, report: &UninstallReport) -> Result<(), ApplyError> {
    let mut session = Session::begin(db, false)?;
    let mut tx = session.chain()?;
    let dropped: Vec<&str> = report.objects.iter().map(|o| o.name.as_str()).collect();
    tx.audit(&AuditEntry {
        plugin: &report.plugin,
        from: None,
        to: None,
        sha256: None,
        outcome: AuditOutcome::Uninstalled,
        reason: Some(format!(
            "dropped {}; backup {}",
            dropped.join(", "),
            report.backup.as_ref().map_or_else(String::new, |b| b.path.display().to_string())
        )),
    })?;
    tx.drop_plugin(&report.plugin, &report.objects, report.history_table.as_deref())?;
    tx.commit().map(drop)
}
