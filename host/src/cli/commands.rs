//! One function per subcommand: from parsed arguments to a report. Printing
//! and exit codes stay in `main.rs`.

use crate::checks::recall::{self, VerdictCache};
use crate::checks::report::{check_all, CheckReport};
use crate::cli::args::{DatabaseArgs, PluginsArgs, VerdictArgs};
use crate::cli::error::Error;
use crate::engine::{self, Actor, AuditRecord, DatabaseTarget, DbError, Engine, OpenMode};
use crate::plugins::inventory::{InstalledPlugin, Inventory};
use crate::plugins::lockfile::{self, LockReport};
use crate::plugins::scaffold;
use crate::progress;
use crate::runs::status::{self, ListReport, StatusReport};
use crate::runs::uninstall::{self, UninstallReport};
use crate::runs::{self, RunError, RunReport};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Scans the plugins directory (checking ownership, modes and pins before
/// loading anything). Done before the database is opened, so that a bad
/// directory leaves no database file behind.
fn scan(plugins: &PluginsArgs) -> Result<Inventory, Error> {
    let lock = lockfile::read(&plugins.lock_path(), plugins.locked)?;
    Ok(Inventory::scan_pinned(&plugins.plugins_dir, lock.as_ref())?)
}

/// What a database records about plugins, for [`with_records`].
#[derive(Default)]
struct Records {
    owners: BTreeMap<String, String>,
    installed: Vec<InstalledPlugin>,
}

impl Records {
    fn read(db: Option<&dyn Engine>) -> Result<Records, DbError> {
        let Some(db) = db else { return Ok(Records::default()) };
        let records = db.plugin_records()?;
        let owners = records.objects.into_iter().map(|o| (o.name, o.plugin)).collect();
        Ok(Records { owners, installed: records.installed })
    }
}

/// Refuses plugins whose tables conflict with each other, with the core, or
/// with the owners the database records.
fn with_records(mut inventory: Inventory, records: Records) -> Inventory {
    inventory.installed = records.installed;
    inventory.refuse_ownership_conflicts(records.owners);
    inventory
}

/// The database opened as `mode` asks.
fn open(database: &DatabaseArgs, mode: OpenMode) -> Result<Option<Box<dyn Engine>>, Error> {
    Ok(engine::open(&database.database, mode, database.busy_timeout())?)
}

/// What a command that may change the database starts from: the plugins
/// found, the database, and the inventory with its records. The plugins
/// directory is scanned first, so that a bad one leaves the database
/// unopened. What the command changes goes into the audit record under
/// this process's user and command line, and its progress to whoever
/// watches ([`progress::installed`]).
fn open_for_changes(
    plugins: &PluginsArgs,
    database: &DatabaseArgs,
    dry_run: bool,
) -> Result<(Box<dyn Engine>, Inventory), Error> {
    let scanned = scan(plugins)?;
    let mode = if dry_run { OpenMode::DryRun } else { OpenMode::Change };
    let mut db = open(database, mode)?.ok_or_else(|| DbError::Missing(database.database.clone()))?;
    db.set_actor(actor());
    if let Some(progress) = progress::installed() {
        db.set_progress(progress);
    }
    let records = Records::read(Some(db.as_ref()))?;
    Ok((db, with_records(scanned, records)))
}

/// The plugins and, when there is one, the database with its records: what
/// the commands that only read start from.
fn open_for_reading(
    plugins: &PluginsArgs,
    database: &DatabaseArgs,
) -> Result<(Option<Box<dyn Engine>>, Inventory), Error> {
    let scanned = scan(plugins)?;
    let db = open(database, OpenMode::Read)?;
    let records = Records::read(db.as_deref())?;
    Ok((db, with_records(scanned, records)))
}

/// Installs the verdict cache `verdicts` asks for, for `db`'s engine
/// ([`recall`]): the runs of this process take remembered checks from it
/// and remember new ones.
fn use_verdict_cache(verdicts: &VerdictArgs, db: &dyn Engine) {
    let dir = match &verdicts.verdict_cache {
        Some(dir) if dir.as_os_str() == "none" => return,
        Some(dir) => dir.clone(),
        None => match VerdictCache::default_dir() {
            Some(dir) => dir,
            None => return,
        },
    };
    if let Some(cache) = VerdictCache::open(&dir, &db.engine_version(), !verdicts.recheck) {
        recall::install(cache);
    }
}

/// This process's user and command line, a password in a database URL
/// left out.
fn actor() -> Actor {
    let mut words = vec!["shopdb-host".to_owned()];
    words.extend(std::env::args().skip(1).map(|word| match DatabaseTarget::parse(&word) {
        Ok(target @ DatabaseTarget::Postgres(_)) => target.to_string(),
        _ => word,
    }));
    Actor::current(words.join(" "))
}

/// `shopdb-host list`.
pub fn list(plugins: &PluginsArgs) -> Result<ListReport, Error> {
    Ok(status::list(&with_records(scan(plugins)?, Records::default())))
}

/// `shopdb-host check [--plugin NAME]`.
pub fn check(
    plugins: &PluginsArgs,
    database: &DatabaseArgs,
    only: Option<&str>,
    recheck: bool,
) -> Result<CheckReport, Error> {
    let (db, inventory) = open_for_reading(plugins, database)?;
    let report = check_all(&inventory, &database.database, db.as_deref(), only, recheck)?;
    if let Some(name) = only.filter(|_| report.plugins.is_empty()) {
        return Err(unknown_plugin(&inventory, name).into());
    }
    Ok(report)
}

fn unknown_plugin(inventory: &Inventory, name: &str) -> RunError {
    RunError::UnknownPlugin {
        name: name.to_owned(),
        dir: inventory.dir.clone(),
        found: inventory.names().into_iter().collect(),
    }
}

/// `shopdb-host status`.
pub fn status(plugins: &PluginsArgs, database: &DatabaseArgs) -> Result<StatusReport, Error> {
    let (db, inventory) = open_for_reading(plugins, database)?;
    Ok(status::status(db.as_deref(), database.database.clone(), &inventory)?)
}

/// `shopdb-host migrate --plugin NAME [--target N] [--dry-run]`.
pub fn migrate(
    plugins: &PluginsArgs,
    database: &DatabaseArgs,
    verdicts: &VerdictArgs,
    plugin: &str,
    target: Option<i32>,
    dry_run: bool,
) -> Result<RunReport, Error> {
    let (mut db, inventory) = open_for_changes(plugins, database, dry_run)?;
    use_verdict_cache(verdicts, db.as_ref());
    Ok(runs::migrate_plugin(db.as_mut(), &inventory, plugin, target, dry_run)?)
}

/// `shopdb-host upgrade-all [--dry-run]`.
pub fn upgrade_all(
    plugins: &PluginsArgs,
    database: &DatabaseArgs,
    verdicts: &VerdictArgs,
    dry_run: bool,
) -> Result<RunReport, Error> {
    let (mut db, inventory) = open_for_changes(plugins, database, dry_run)?;
    use_verdict_cache(verdicts, db.as_ref());
    Ok(runs::upgrade_all(db.as_mut(), &inventory, dry_run)?)
}

/// `shopdb-host bootstrap [--dry-run]`.
pub fn bootstrap(
    plugins: &PluginsArgs,
    database: &DatabaseArgs,
    verdicts: &VerdictArgs,
    dry_run: bool,
) -> Result<RunReport, Error> {
    let (mut db, inventory) = open_for_changes(plugins, database, dry_run)?;
    use_verdict_cache(verdicts, db.as_ref());
    Ok(runs::bootstrap(db.as_mut(), &inventory, dry_run)?)
}

/// `shopdb-host stamp --plugin NAME --version V [--dry-run]`.
pub fn stamp(
    plugins: &PluginsArgs,
    database: &DatabaseArgs,
    plugin: &str,
    version: i32,
    dry_run: bool,
) -> Result<RunReport, Error> {
    let (mut db, inventory) = open_for_changes(plugins, database, dry_run)?;
    Ok(runs::stamp(db.as_mut(), &inventory, plugin, version, dry_run)?)
}

/// `shopdb-host uninstall --plugin NAME [--yes]`.
pub fn uninstall(
    plugins: &PluginsArgs,
    database: &DatabaseArgs,
    plugin: &str,
    yes: bool,
) -> Result<UninstallReport, Error> {
    // Only an existing database: uninstalling never creates one.
    if database.database.path().is_some_and(|file| !file.exists()) {
        return Err(DbError::Missing(database.database.clone()).into());
    }
    let mut db = open(database, OpenMode::Change)?.ok_or_else(|| DbError::Missing(database.database.clone()))?;
    db.set_actor(actor());
    // The plugins directory only helps (dependents, old installs); a missing
    // one is no reason to refuse removing a plugin whose file is gone.
    let inventory = Inventory::scan(&plugins.plugins_dir).unwrap_or_default();
    Ok(uninstall::uninstall(db.as_mut(), &inventory, plugin, yes)?)
}

/// `shopdb-host lock [--check]`.
pub fn lock(plugins: &PluginsArgs, check: bool) -> Result<LockReport, Error> {
    Ok(lockfile::lock(&plugins.plugins_dir, &plugins.lock_path(), check)?)
}

/// What `history` shows: the audit record (not a chain's migration history).
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditReport {
    /// The database.
    pub database: DatabaseTarget,
    /// The entries, oldest first.
    pub entries: Vec<AuditRecord>,
}

/// Why `history --plugin NAME` has nothing to show.
#[derive(Debug, thiserror::Error)]
#[error("the audit record of `{database}` has no entry for plugin '{plugin}'; plugins on record: {}", if on_record.is_empty() { "none".to_owned() } else { on_record.join(", ") })]
pub struct NotOnRecord {
    /// The plugin asked for.
    pub plugin: String,
    /// The database.
    pub database: DatabaseTarget,
    /// The plugins the record names.
    pub on_record: Vec<String>,
}

/// `shopdb-host history [--plugin NAME]`.
pub fn history(database: &DatabaseArgs, plugin: Option<&str>) -> Result<AuditReport, Error> {
    let db = open(database, OpenMode::Read)?.ok_or_else(|| DbError::Missing(database.database.clone()))?;
    let entries = db.audit_records(plugin)?;
    if let (Some(plugin), true) = (plugin, entries.is_empty()) {
        let mut on_record: Vec<String> = db.audit_records(None)?.into_iter().map(|e| e.plugin).collect();
        on_record.sort();
        on_record.dedup();
        return Err(NotOnRecord { plugin: plugin.to_owned(), database: database.database.clone(), on_record }.into());
    }
    Ok(AuditReport { database: database.database.clone(), entries })
}

/// `shopdb-host new-plugin NAME [--dir DIR] [--plugin-api-path DIR]`.
pub fn new_plugin(
    name: &str,
    dir: Option<&Path>,
    plugin_api_path: Option<&Path>,
) -> Result<scaffold::Scaffolded, Error> {
    let dir = dir.map_or_else(|| PathBuf::from(format!("shopdb-plugin-{}", name.replace('_', "-"))), ToOwned::to_owned);
    let api = match plugin_api_path {
        Some(path) => scaffold::ApiSource::Path(std::path::absolute(path).unwrap_or_else(|_| path.to_owned())),
        None => scaffold::ApiSource::default_for_this_host(),
    };
    Ok(scaffold::new_plugin(name, &dir, &api)?)
}
