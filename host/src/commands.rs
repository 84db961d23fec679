//! One function per subcommand: from parsed arguments to a report. Printing
//! and exit codes stay in `main.rs`.

use crate::cli::{DatabaseArgs, PluginsArgs};
use crate::db::Database;
use crate::error::Error;
use crate::inventory::Inventory;
use crate::migrate::{self, RunReport};
use crate::status::{self, ListReport, StatusReport};

/// `shopdb-host list`.
pub fn list(plugins: &PluginsArgs) -> Result<ListReport, Error> {
    Ok(status::list(&Inventory::scan(&plugins.plugins_dir)?))
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
    let inventory = Inventory::scan(&plugins.plugins_dir)?;
    let mut db = Database::open(&database.database, database.busy_timeout())?;
    Ok(migrate::upgrade_all(&mut db, &inventory))
}
