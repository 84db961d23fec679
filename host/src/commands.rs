//! One function per subcommand: from parsed arguments to a report. Printing
//! and exit codes stay in `main.rs`.

use crate::audit::{self, Actor};
use crate::check::{self, CheckReport};
use crate::cli::{DatabaseArgs, PluginsArgs};
use crate::db::{Database, DbError, InstalledPlugin};
use crate::error::Error;
use crate::inventory::Inventory;
use crate::migrate::{self, RunError, RunReport};
use crate::pin;
use crate::progress;
use crate::scaffold;
use crate::status::{self, ListReport, StatusReport};
use crate::uninstall::{self, UninstallReport};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Scans the plugins directory (checking ownership, modes and pins before
/// loading anything). Done before the database is opened, so that a bad
/// directory leaves no database file behind.
fn scan(plugins: &PluginsArgs) -> Result<Inventory, Error> {
    let lock = pin::read(&plugins.lock_path(), plugins.locked)?;
    Ok(Inventory::scan_pinned(&plugins.plugins_dir, lock.as_ref())?)
}

/// What a database records about plugins, for [`with_records`].
#[derive(Default)]
struct Records {
    owners: BTreeMap<String, String>,
    installed: Vec<InstalledPlugin>,
}

impl Records {
    fn read(db: Option<&Database>) -> Result<Records, DbError> {
        match db {
            Some(db) => Ok(Records { owners: db.recorded_owners()?, installed: db.installed_plugins()? }),
            None => Ok(Records::default()),
        }
    }
}

/// Refuses plugins whose tables conflict with each other, with the core, or
/// with the owners the database records.
fn with_records(mut inventory: Inventory, records: Records) -> Inventory {
    inventory.installed = records.installed;
    inventory.refuse_ownership_conflicts(records.owners);
    inventory
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
) -> Result<(Database, Inventory), Error> {
    let scanned = scan(plugins)?;
    let open = if dry_run { Database::open_for_dry_run } else { Database::open };
    let mut db = open(&database.database, database.busy_timeout())?;
    db.set_actor(actor());
    if let Some(progress) = progress::installed() {
        db.set_progress(progress);
    }
    let records = Records::read(Some(&db))?;
    Ok((db, with_records(scanned, records)))
}

/// This process's user and command line.
fn actor() -> Actor {
    let mut words = vec!["shopdb-host".to_owned()];
    words.extend(std::env::args().skip(1));
    Actor::current(words.join(" "))
}

/// `shopdb-host list`.
pub fn list(plugins: &PluginsArgs) -> Result<ListReport, Error> {
    Ok(status::list(&with_records(scan(plugins)?, Records::default())))
}

/// `shopdb-host check [--plugin NAME]`.
pub fn check(plugins: &PluginsArgs, database: &DatabaseArgs, only: Option<&str>) -> Result<CheckReport, Error> {
    let scanned = scan(plugins)?;
    let db = Database::open_read_only(&database.database, database.busy_timeout())?;
    let inventory = with_records(scanned, Records::read(db.as_ref())?);
    let report = check::check_all(&inventory, db.as_ref(), only)?;
    if let Some(name) = only.filter(|_| report.plugins.is_empty()) {
        return Err(RunError::UnknownPlugin {
            name: name.to_owned(),
            dir: inventory.dir.clone(),
            found: inventory.names().into_iter().collect(),
        }
        .into());
    }
    Ok(report)
}

/// `shopdb-host status`.
pub fn status(plugins: &PluginsArgs, database: &DatabaseArgs) -> Result<StatusReport, Error> {
    let scanned = scan(plugins)?;
    let db = Database::open_read_only(&database.database, database.busy_timeout())?;
    let inventory = with_records(scanned, Records::read(db.as_ref())?);
    Ok(status::status(db.as_ref(), database.database.clone(), &inventory)?)
}

/// `shopdb-host migrate --plugin NAME [--target N] [--dry-run]`.
pub fn migrate(
    plugins: &PluginsArgs,
    database: &DatabaseArgs,
    plugin: &str,
    target: Option<i32>,
    dry_run: bool,
) -> Result<RunReport, Error> {
    let (mut db, inventory) = open_for_changes(plugins, database, dry_run)?;
    Ok(migrate::migrate_plugin(&mut db, &inventory, plugin, target, dry_run)?)
}

/// `shopdb-host upgrade-all [--dry-run]`.
pub fn upgrade_all(plugins: &PluginsArgs, database: &DatabaseArgs, dry_run: bool) -> Result<RunReport, Error> {
    let (mut db, inventory) = open_for_changes(plugins, database, dry_run)?;
    Ok(migrate::upgrade_all(&mut db, &inventory, dry_run)?)
}

/// `shopdb-host bootstrap [--dry-run]`.
pub fn bootstrap(plugins: &PluginsArgs, database: &DatabaseArgs, dry_run: bool) -> Result<RunReport, Error> {
    let (mut db, inventory) = open_for_changes(plugins, database, dry_run)?;
    Ok(migrate::bootstrap(&mut db, &inventory, dry_run)?)
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
    Ok(migrate::stamp(&mut db, &inventory, plugin, version, dry_run)?)
}

/// `shopdb-host uninstall --plugin NAME [--yes]`.
pub fn uninstall(
    plugins: &PluginsArgs,
    database: &DatabaseArgs,
    plugin: &str,
    yes: bool,
) -> Result<UninstallReport, Error> {
    if !database.database.exists() {
        return Err(DbError::Missing(database.database.clone()).into());
    }
    let mut db = Database::open(&database.database, database.busy_timeout())?;
    db.set_actor(actor());
    // The plugins directory only helps (dependents, old installs); a missing
    // one is no reason to refuse removing a plugin whose file is gone.
    let inventory = Inventory::scan(&plugins.plugins_dir).unwrap_or_default();
    Ok(uninstall::uninstall(&mut db, &inventory, plugin, yes)?)
}

/// What `lock` found or wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LockReport {
    /// The lock file.
    pub lock_file: PathBuf,
    /// The pins of the plugins now in the directory.
    pub plugins: Vec<pin::Pin>,
    /// Files that could not be pinned (not trusted, not plugins).
    pub refused: Vec<crate::inventory::Refusal>,
    /// For `--check`: how the directory differs from the lock file.
    pub differences: Vec<String>,
    /// Whether the lock file was written.
    pub written: bool,
}

impl LockReport {
    /// Whether the directory and the lock file agree (always, after writing).
    pub fn agrees(&self) -> bool {
        self.differences.is_empty()
    }
}

/// `shopdb-host lock [--check]`.
pub fn lock(plugins: &PluginsArgs, check: bool) -> Result<LockReport, Error> {
    let path = plugins.lock_path();
    // Pinning approves what is in the directory: the files are loaded (after
    // the ownership checks) to read the name and version they declare.
    let inventory = Inventory::scan(&plugins.plugins_dir)?;
    let mut pins = Vec::new();
    for plugin in &inventory.plugins {
        let Some(sha256) = plugin.sha256() else { continue };
        let file = crate::discover::file_name(&plugin.file);
        pins.push(pin::Pin {
            file,
            plugin: plugin.manifest.name.clone(),
            version: plugin.manifest.version.clone(),
            sha256,
        });
    }
    pins.sort_by(|a, b| a.file.cmp(&b.file));
    let mut report = LockReport {
        lock_file: path.clone(),
        plugins: pins,
        refused: inventory.refused,
        differences: Vec::new(),
        written: false,
    };
    if check {
        let locked = pin::read(&path, true)?.unwrap_or(pin::LockFile { format: pin::LOCK_FORMAT, plugins: Vec::new() });
        for pin in &report.plugins {
            if let Some(reason) = pin::verdict(&locked, &pin.file, &pin.sha256) {
                report.differences.push(format!("{}: {reason}", pin.file));
            }
        }
        for pinned in locked.plugins.iter().filter(|p| !report.plugins.iter().any(|q| q.file == p.file)) {
            report.differences.push(format!(
                "{}: pinned ('{}' {}) but missing from the plugins directory",
                pinned.file, pinned.plugin, pinned.version
            ));
        }
        for refusal in &report.refused {
            report.differences.push(format!("{}: {}", refusal.file.display(), refusal.reason));
        }
    } else {
        pin::write(&path, &pin::LockFile { format: pin::LOCK_FORMAT, plugins: report.plugins.clone() })?;
        report.written = true;
    }
    Ok(report)
}

/// What `history` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HistoryReport {
    /// The database file.
    pub database: PathBuf,
    /// The entries, oldest first.
    pub entries: Vec<audit::Recorded>,
}

/// `shopdb-host history [--plugin NAME]`.
pub fn history(database: &DatabaseArgs, plugin: Option<&str>) -> Result<HistoryReport, Error> {
    let Some(db) = Database::open_read_only(&database.database, database.busy_timeout())? else {
        return Err(DbError::Missing(database.database.clone()).into());
    };
    Ok(HistoryReport { database: database.database.clone(), entries: audit::read(&db, plugin)? })
}

/// `shopdb-host new-plugin NAME [--dir DIR] [--plugin-api-path DIR]`.
pub fn new_plugin(
    name: &str,
    dir: Option<&std::path::Path>,
    plugin_api_path: Option<&std::path::Path>,
) -> Result<scaffold::Scaffolded, Error> {
    let dir = dir.map_or_else(|| PathBuf::from(format!("shopdb-plugin-{}", name.replace('_', "-"))), ToOwned::to_owned);
    let api = match plugin_api_path {
        Some(path) => scaffold::ApiSource::Path(std::path::absolute(path).unwrap_or_else(|_| path.to_owned())),
        None => scaffold::ApiSource::default_for_this_host(),
    };
    Ok(scaffold::new_plugin(name, &dir, &api)?)
}
