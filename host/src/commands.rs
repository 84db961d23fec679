//! One function per subcommand: from parsed arguments to a report. Printing
//! and exit codes stay in `main.rs`.

use crate::check::{self, CheckReport};
use crate::cli::{DatabaseArgs, PluginsArgs};
use crate::db::Database;
use crate::error::Error;
use crate::inventory::Inventory;
use crate::migrate::{self, RunError, RunReport};
use crate::status::{self, ListReport, StatusReport};
use crate::uninstall::{self, UninstallReport};

/// Scans the plugins directory and refuses plugins whose tables conflict
/// with each other, with the core, or with the owners `db` records.
fn survey(plugins: &PluginsArgs, db: Option<&Database>) -> Result<Inventory, Error> {
    let mut inventory = Inventory::scan(&plugins.plugins_dir)?;
    let recorded = db.map(Database::recorded_owners).transpose()?.unwrap_or_default();
    inventory.installed = db.map(Database::installed_plugins).transpose()?.unwrap_or_default();
    inventory.refuse_ownership_conflicts(recorded);
    Ok(inventory)
}

/// Opens the database for a command that may change it.
fn open_for_changes(database: &DatabaseArgs, dry_run: bool) -> Result<Database, Error> {
    let open = if dry_run { Database::open_for_dry_run } else { Database::open };
    Ok(open(&database.database, database.busy_timeout())?)
}

/// `shopdb-host list`.
pub fn list(plugins: &PluginsArgs) -> Result<ListReport, Error> {
    Ok(status::list(&survey(plugins, None)?))
}

/// `shopdb-host check [--plugin NAME]`.
pub fn check(plugins: &PluginsArgs, database: &DatabaseArgs, only: Option<&str>) -> Result<CheckReport, Error> {
    let db = Database::open_read_only(&database.database, database.busy_timeout())?;
    let inventory = survey(plugins, db.as_ref())?;
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
    let db = Database::open_read_only(&database.database, database.busy_timeout())?;
    let inventory = survey(plugins, db.as_ref())?;
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
    let mut db = open_for_changes(database, dry_run)?;
    let inventory = survey(plugins, Some(&db))?;
    Ok(migrate::migrate_plugin(&mut db, &inventory, plugin, target, dry_run)?)
}

/// `shopdb-host upgrade-all [--dry-run]`.
pub fn upgrade_all(plugins: &PluginsArgs, database: &DatabaseArgs, dry_run: bool) -> Result<RunReport, Error> {
    let mut db = open_for_changes(database, dry_run)?;
    let inventory = survey(plugins, Some(&db))?;
    Ok(migrate::upgrade_all(&mut db, &inventory, dry_run)?)
}

/// `shopdb-host bootstrap [--dry-run]`.
pub fn bootstrap(plugins: &PluginsArgs, database: &DatabaseArgs, dry_run: bool) -> Result<RunReport, Error> {
    let mut db = open_for_changes(database, dry_run)?;
    let inventory = survey(plugins, Some(&db))?;
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
    let mut db = open_for_changes(database, dry_run)?;
    let inventory = survey(plugins, Some(&db))?;
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
        return Err(crate::db::DbError::Missing(database.database.clone()).into());
    }
    let mut db = Database::open(&database.database, database.busy_timeout())?;
    // The plugins directory only helps (dependents, old installs); a missing
    // one is no reason to refuse removing a plugin whose file is gone.
    let inventory = Inventory::scan(&plugins.plugins_dir).unwrap_or_default();
    Ok(uninstall::uninstall(&mut db, &inventory, plugin, yes)?)
}
