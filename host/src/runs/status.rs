//! Where each chain stands: what `status` and `list` report. Reads only.

use super::adopt::{self, Adoption};
use crate::checks::LazyChecker;
use crate::core_schema;
use crate::engine::history;
use crate::engine::{DatabaseTarget, DbError, Engine, RecordedMark};
use crate::error_chain::one_line;
use crate::plugins::inventory::{Inventory, Refusal};
use crate::plugins::load::Plugin;
use crate::plugins::manifest::{ChainMigration, Manifest};
use crate::schema::names::ObjectKind;
use serde::Serialize;
use std::path::PathBuf;

/// The plugins in a directory, as `list` shows them.
#[derive(Debug, Clone, Serialize)]
pub struct ListReport {
    /// The directory scanned.
    pub plugins_dir: PathBuf,
    /// Usable plugins, in dependency order.
    pub plugins: Vec<ListedPlugin>,
    /// Files refused and why.
    pub refused: Vec<Refusal>,
}

/// One usable plugin.
#[derive(Debug, Clone, Serialize)]
pub struct ListedPlugin {
    /// The file it was loaded from.
    pub file: PathBuf,
    /// Its description.
    #[serde(flatten)]
    pub manifest: Manifest,
    /// The latest version of its chain.
    pub head: i32,
}

/// Lists what a scan found.
pub fn list(inventory: &Inventory) -> ListReport {
    ListReport {
        plugins_dir: inventory.dir.clone(),
        plugins: inventory
            .plugins
            .iter()
            .map(|p| ListedPlugin { file: p.file.clone(), manifest: p.manifest.clone(), head: p.manifest.head() })
            .collect(),
        refused: inventory.refused.clone(),
    }
}

/// Where every chain stands in a database.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// The database.
    pub database: DatabaseTarget,
    /// Whether the file exists yet.
    pub exists: bool,
    /// The core chain, then each usable plugin.
    pub chains: Vec<ChainStatus>,
    /// Plugin files refused and why.
    pub refused: Vec<Refusal>,
    /// Plugins the database records as installed whose files are not in the
    /// plugins directory.
    pub missing: Vec<MissingPlugin>,
}

/// A plugin installed in the database but absent from the directory.
#[derive(Debug, Clone, Serialize)]
pub struct MissingPlugin {
    /// Its name.
    pub name: String,
    /// The tables the database records as its own.
    pub tables: Vec<String>,
}

/// Where one chain stands.
#[derive(Debug, Clone, Serialize)]
pub struct ChainStatus {
    /// `core` or the plugin's name.
    pub name: String,
    /// The plugin file, for plugins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The latest version the chain on disk has.
    pub on_disk: i32,
    /// The latest version the database records (`None`: never applied).
    pub applied: Option<i32>,
    /// Migrations not applied yet, as `V2__name`.
    pub pending: Vec<String>,
    /// Why the recorded history does not fit the chain, if it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// History recorded without running migrations: bootstrapped, adopted
    /// or stamped, up to which version, when.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<RecordedMark>,
    /// For a plugin whose objects exist without history: the version
    /// `upgrade-all` will adopt them at (the pending migrations are those
    /// after it). When they cannot be adopted, `problem` says why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub will_adopt: Option<i32>,
}

/// Reads where every chain stands; `db` is `None` when there is no database
/// file yet (everything is pending).
pub fn status(
    db: Option<&dyn Engine>,
    database: DatabaseTarget,
    inventory: &Inventory,
) -> Result<StatusReport, DbError> {
    let mut chains = vec![chain_status(
        db,
        core_schema::OWNER,
        None,
        core_schema::HISTORY_TABLE,
        core_schema::chain_for(database.dialect()),
    )?];
    let checker = LazyChecker::new(inventory, &database);
    for plugin in &inventory.plugins {
        let m = &plugin.manifest;
        let mut chain =
            chain_status(db, &m.name, Some(plugin.file.clone()), &m.history_table(), m.chain_for(database.dialect()))?;
        if let (Some(db), None, None) = (db, chain.applied, &chain.problem) {
            foresee_adoption(db, plugin, inventory, &checker, &mut chain)?;
        }
        chains.push(chain);
    }
    let present = inventory.names();
    let mut missing: Vec<MissingPlugin> = Vec::new();
    let recorded = match db {
        Some(db) => db.recorded_objects()?,
        None => Vec::new(),
    };
    let names: Vec<String> = recorded.iter().map(|o| o.name.clone()).collect();
    let existing = match db {
        Some(db) => db.existing(None, &names)?,
        None => Default::default(),
    };
    for object in recorded.iter().filter(|o| matches!(o.kind, ObjectKind::Table | ObjectKind::View)) {
        let (table, owner) = (&object.name, &object.plugin);
        if present.contains(owner) || !existing.contains_key(table) {
            continue;
        }
        match missing.iter_mut().find(|m| &m.name == owner) {
            Some(plugin) => plugin.tables.push(table.clone()),
            None => missing.push(MissingPlugin { name: owner.clone(), tables: vec![table.clone()] }),
        }
    }
    Ok(StatusReport { database, exists: db.is_some(), chains, refused: inventory.refused.clone(), missing })
}

/// What `upgrade-all` will make of `plugin`'s objects when some exist
/// without history: adopt them at a version (then only the migrations after
/// it are pending), or refuse them and why.
fn foresee_adoption(
    db: &dyn Engine,
    plugin: &Plugin,
    inventory: &Inventory,
    checker: &LazyChecker<'_>,
    chain: &mut ChainStatus,
) -> Result<(), DbError> {
    let mut names: Vec<String> =
        crate::schema::sqltext::objects_after([plugin.manifest.sql_for(db.target().dialect()).map_or("", |(d, _)| d)])
            .into_keys()
            .collect();
    names.extend(plugin.manifest.tables.iter().cloned());
    if db.existing(Some(&plugin.manifest.name), &names)?.is_empty() {
        return Ok(());
    }
    let decided = checker.get().map_err(|e| e.to_string()).and_then(|checker| {
        let checked = checker.check_plugin(plugin).map_err(|e| e.to_string())?;
        Ok(adopt::decide(db, plugin, inventory, checker, &checked.names))
    });
    match decided {
        Err(refused) => chain.problem = Some(refused),
        Ok(Err(e)) => chain.problem = Some(one_line(&e)),
        Ok(Ok(Adoption::NotNeeded)) => {}
        Ok(Ok(Adoption::AtVersion(version))) => {
            chain.will_adopt = Some(version);
            let after = plugin.manifest.chain_for(db.target().dialect()).iter().filter(|m| m.version > version);
            chain.pending = after.map(ChainMigration::label).collect();
        }
        Ok(Ok(other)) => chain.problem = other.refusal(&plugin.manifest.name),
    }
    Ok(())
}

fn chain_status(
    db: Option<&dyn Engine>,
    name: &str,
    file: Option<PathBuf>,
    history_table: &str,
    chain: &[ChainMigration],
) -> Result<ChainStatus, DbError> {
    let (recorded, marks) = match db {
        Some(db) => (db.applied(history_table)?, db.marks(name)?),
        None => (Vec::new(), Vec::new()),
    };
    let on_disk = chain.last().map_or(0, |m| m.version);
    let (applied, pending, problem) = match history::compare(&recorded, chain) {
        Ok(state) => (state.applied, state.pending.iter().map(ChainMigration::label).collect(), None),
        Err(e) => (recorded.iter().map(|a| a.version).max(), Vec::new(), Some(e.to_string())),
    };
    Ok(ChainStatus { name: name.to_owned(), file, on_disk, applied, pending, problem, marks, will_adopt: None })
}
