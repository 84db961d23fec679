//! Removing a plugin from a database: its tables (with their indexes and
//! triggers), its views, its history and the host's records of it.
//!
//! It is the one command that destroys data, so it shows before it acts
//! (without `--yes` it only lists what would go, with row counts), refuses
//! while another installed plugin depends on the plugin, writes a backup of
//! the whole database first (SQLite's online backup), and drops everything
//! in one transaction that a foreign-key check guards.

use crate::core;
use crate::db::{ApplyError, Database, DbError};
use crate::error::one_line;
use crate::inventory::Inventory;
use crate::manifest::history_table;
use crate::names::ObjectKind;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What uninstall did, or would do.
#[derive(Debug, Clone, Serialize)]
pub struct UninstallReport {
    /// The database file.
    pub database: PathBuf,
    /// The plugin.
    pub plugin: String,
    /// Its tables and views with their row counts.
    pub objects: Vec<DroppedObject>,
    /// Its history table, if it has one.
    pub history_table: Option<String>,
    /// Where the backup was written (only when dropped).
    pub backup: Option<PathBuf>,
    /// Whether anything was dropped (`false`: shown only, run with --yes).
    pub dropped: bool,
}

/// A table or view of the plugin.
#[derive(Debug, Clone, Serialize)]
pub struct DroppedObject {
    /// Its name.
    pub name: String,
    /// `table` or `view`.
    pub kind: String,
    /// How many rows it holds (tables only).
    pub rows: Option<i64>,
}

/// Why uninstall refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum UninstallError {
    /// Nothing of the plugin is in the database.
    #[error("plugin '{plugin}' is not installed in `{}`; installed: {}", database.display(), if installed.is_empty() { "none".to_owned() } else { installed.join(", ") })]
    NotInstalled { plugin: String, database: PathBuf, installed: Vec<String> },
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
    db: &mut Database,
    inventory: &Inventory,
    plugin: &str,
    yes: bool,
) -> Result<UninstallReport, UninstallError> {
    let installed = db.installed_plugins()?;
    let history = history_table(plugin);
    let has_history = crate::manifest::is_valid_plugin_name(plugin) && db.has_table(&history)?;
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
            database: db.path().to_owned(),
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
        let is_installed = db.has_table(&history_table(name))?;
        if is_installed && other.manifest.depends_on.iter().any(|d| d == plugin) && !dependents.contains(name) {
            dependents.push(name.clone());
        }
    }
    if !dependents.is_empty() {
        dependents.sort();
        return Err(UninstallError::HasDependents { plugin: plugin.to_owned(), dependents });
    }

    let mut objects = Vec::new();
    for table in &tables {
        let kind: Option<String> = db
            .connection()
            .query_row(
                "SELECT type FROM sqlite_master WHERE lower(name) = ?1 AND type IN ('table', 'view')",
                [table],
                |r| r.get(0),
            )
            .ok();
        let Some(kind) = kind else { continue };
        let rows = if kind == "table" {
            let count = db.connection().query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| r.get(0));
            Some(count.map_err(|e| DbError::Sqlite { path: db.path().to_owned(), what: "counting rows", source: e })?)
        } else {
            None
        };
        objects.push(DroppedObject { name: table.clone(), kind, rows });
    }
    let mut report = UninstallReport {
        database: db.path().to_owned(),
        plugin: plugin.to_owned(),
        objects,
        history_table: has_history.then_some(history),
        backup: None,
        dropped: false,
    };
    if !yes {
        return Ok(report);
    }

    let backup = backup_path(db.path());
    db.backup_to(&backup)?;
    report.backup = Some(backup);
    drop_everything(db, &report)
        .map_err(|e| UninstallError::Failed { plugin: plugin.to_owned(), reason: one_line(&e) })?;
    report.dropped = true;
    Ok(report)
}

fn drop_everything(db: &mut Database, report: &UninstallReport) -> Result<(), ApplyError> {
    let mut session = db.session(false)?;
    let mut tx = session.chain()?;
    tx.check_all_foreign_keys();
    let dropped: Vec<&str> = report.objects.iter().map(|o| o.name.as_str()).collect();
    tx.audit(&crate::audit::Entry {
        plugin: &report.plugin,
        from: None,
        to: None,
        sha256: None,
        outcome: crate::audit::Outcome::Uninstalled,
        reason: Some(format!(
            "dropped {}; backup {}",
            dropped.join(", "),
            report.backup.as_ref().map_or_else(String::new, |b| b.display().to_string())
        )),
    })?;
    for object in report.objects.iter().filter(|o| o.kind == "view") {
        tx.execute_host("dropping a view", &format!("DROP VIEW \"{}\"", object.name), [])?;
    }
    for object in report.objects.iter().filter(|o| o.kind == "table") {
        tx.execute_host("dropping a table", &format!("DROP TABLE \"{}\"", object.name), [])?;
    }
    if let Some(history) = &report.history_table {
        tx.execute_host("dropping the history", &format!("DROP TABLE \"{history}\""), [])?;
    }
    let plugin = report.plugin.as_str();
    // Every name it owned is free again.
    for (table, column) in
        [(core::OWNERS_TABLE, "plugin"), (core::PLUGINS_TABLE, "name"), (core::MARKS_TABLE, "plugin")]
    {
        if let Some(table) = tx.database().bookkeeping_table(table)? {
            tx.execute_host("forgetting the plugin", &format!("DELETE FROM {table} WHERE {column} = ?1"), [plugin])?;
        }
    }
    tx.commit().map(drop)
}

/// `<file>.<UTC timestamp>.bak` next to the database, never an existing file.
fn backup_path(database: &Path) -> PathBuf {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let stamp = time::OffsetDateTime::now_utc().format(&format).unwrap_or_else(|_| "backup".into());
    let name = database.file_name().map_or_else(|| "shopdb.sqlite".into(), |n| n.to_string_lossy().into_owned());
    let mut candidate = database.with_file_name(format!("{name}.{stamp}.bak"));
    let mut n = 1;
    while candidate.exists() {
        candidate = database.with_file_name(format!("{name}.{stamp}-{n}.bak"));
        n += 1;
    }
    candidate
}
