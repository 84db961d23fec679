//! One function per subcommand: from parsed arguments to a report. Printing
//! and exit codes stay in `main.rs`.

use crate::check::{self, CheckReport};
use crate::cli::{DatabaseArgs, PluginsArgs};
use crate::db::Database;
use crate::error::Error;
use crate::inventory::Inventory;
use crate::migrate::{self, RunError, RunReport};
use crate::status::{self, ListReport, StatusReport};

/// `shopdb-host list`.
pub fn list(plugins: &PluginsArgs) -> Result<ListReport, Error> {
    let mut inventory = Inventory::scan(&plugins.plugins_dir)?;
    inventory.refuse_ownership_conflicts(Default::default());
    Ok(status::list(&inventory))
}

/// `shopdb-host check [--plugin NAME]`.
pub fn check(
    plugins: &PluginsArgs,
    database: &DatabaseArgs,
    only: Option<&str>,
) -> Result<CheckReport, Error> {
    let mut inventory = Inventory::scan(&plugins.plugins_dir)?;
    let db = Database::open_read_only(&database.database, database.busy_timeout())?;
    let recorded = db
        .as_ref()
        .map(Database::recorded_owners)
        .transpose()?
        .unwrap_or_default();
    inventory.refuse_ownership_conflicts(recorded);
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
    let inventory = Inventory::scan(&plugins.plugins_dir)?;
    let db = Database::open_read_only(&database.database, database.busy_timeout())?;
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
    let inventory = Inventory::scan(&plugins.plugins_dir)?;
    let mut db = Database::open(&database.database, database.busy_timeout())?;
    Ok(migrate::migrate_plugin(
        &mut db, &inventory, plugin, target,
    )?)
}

/// `shopdb-host upgrade-all`.
pub fn upgrade_all(plugins: &PluginsArgs, database: &DatabaseArgs) -> Result<RunReport, Error> {
    let mut inventory = Inventory::scan(&plugins.plugins_dir)?;
    let mut db = Database::open(&database.database, database.busy_timeout())?;
    inventory.refuse_ownership_conflicts(db.recorded_owners()?);
    Ok(migrate::upgrade_all(&mut db, &inventory))
}
