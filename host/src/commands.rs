//! One function per subcommand: from parsed arguments to a report. Printing
//! and exit codes stay in `main.rs`.

use crate::check::{self, CheckReport};
use crate::cli::{DatabaseArgs, PluginsArgs};
use crate::db::Database;
use crate::error::Error;
use crate::inventory::Inventory;
use crate::migrate::{self, RunError, RunReport};
use crate::status::{self, ListReport, StatusReport};

/// Scans the plugins directory and refuses plugins whose tables conflict
/// with each other, with the core, or with the owners `db` records.
fn survey(plugins: &PluginsArgs, db: Option<&Database>) -> Result<Inventory, Error> {
    let mut inventory = Inventory::scan(&plugins.plugins_dir)?;
    let recorded = db
        .map(Database::recorded_owners)
        .transpose()?
        .unwrap_or_default();
    inventory.refuse_ownership_conflicts(recorded);
    Ok(inventory)
}

/// `shopdb-host list`.
pub fn list(plugins: &PluginsArgs) -> Result<ListReport, Error> {
    Ok(status::list(&survey(plugins, None)?))
}

/// `shopdb-host check [--plugin NAME]`.
pub fn check(
    plugins: &PluginsArgs,
    database: &DatabaseArgs,
    only: Option<&str>,
) -> Result<CheckReport, Error> {
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
    Ok(status::status(
        db.as_ref(),
        database.database.clone(),
        &inventory,
    )?)
}

/// `shopdb-host migrate --plugin NAME [--target N]`.
pub fn migrate(
    plugins: &PluginsArgs,
    database: &DatabaseArgs,
    plugin: &str,
    target: Option<i32>,
) -> Result<RunReport, Error> {
    let mut db = Database::open(&database.database, database.busy_timeout())?;
    let inventory = survey(plugins, Some(&db))?;
    Ok(migrate::migrate_plugin(
        &mut db, &inventory, plugin, target,
    )?)
}

/// `shopdb-host upgrade-all`.
pub fn upgrade_all(plugins: &PluginsArgs, database: &DatabaseArgs) -> Result<RunReport, Error> {
    let mut db = Database::open(&database.database, database.busy_timeout())?;
    let inventory = survey(plugins, Some(&db))?;
    Ok(migrate::upgrade_all(&mut db, &inventory))
}
