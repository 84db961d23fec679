//! Adopting tables created without history.
//!
//! An older deploy may have created a plugin's tables directly, so the
//! tables exist and the plugin's history table does not. Running the chain
//! from V1 would fail on `CREATE TABLE`; recording it all as applied would
//! skip what the database lacks. Instead the host rebuilds the chain's
//! schema after each version in a scratch database and looks for the version
//! whose schema equals the tables found: history is recorded up to it and the
//! rest is applied. When no version matches, nothing is touched and the
//! difference to the closest version is reported.

use crate::check::{policy_for, LazyChecker};
use crate::inventory::Inventory;
use crate::load::Plugin;
use crate::schema::{ReadError, Schema};
use rusqlite::Connection;
use std::cell::OnceCell;
use std::collections::BTreeSet;
use std::sync::Arc;

/// What the host makes of a plugin's tables found without history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adoption {
    /// None of the plugin's tables exist: a plain first install.
    NotNeeded,
    /// The tables equal the chain's schema at this version.
    AtVersion(i32),
    /// The tables match no version; the differences to the closest one.
    NoMatch { closest: i32, diff: Vec<String> },
}

/// Why adoption could not be decided.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    /// Reading the real database's schema failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The chain did not run in the scratch database.
    #[error("replaying the chain in a scratch database failed: {0}")]
    Replay(String),
    /// The scratch database could not be set up.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

/// The names of the database's views (lowercase), read at the first
/// adoption decision of a run and kept for the rest of it. SQLite's table
/// lookup does not see views, so without this every first install would
/// read `sqlite_master` for them. Kept for the run because the only SQL
/// that may create a view named like one of a plugin's tables is that
/// plugin's own chain, which runs after its decision: the guard refuses any
/// other plugin's SQL creating an object another plugin owns, the host
/// creates no views, and no plugin may own a core table.
#[derive(Debug, Default)]
pub struct RunViews {
    names: OnceCell<BTreeSet<String>>,
}

impl RunViews {
    /// Whether any of `names` (lowercase) is a view of `conn`'s database.
    fn any(&self, conn: &Connection, names: &[String]) -> rusqlite::Result<bool> {
        let views = match self.names.get() {
            Some(views) => views,
            None => {
                let read = crate::schema::view_names(conn)?;
                self.names.get_or_init(|| read)
            }
        };
        Ok(names.iter().any(|name| views.contains(name)))
    }
}

/// Decides whether `plugin`'s tables in `conn` (which has no history for
/// it) can be adopted, and at which version. The lowest matching version
/// wins: a later migration that changed data but not the schema runs again
/// rather than being skipped. The checker is only set up when tables are
/// found (a first install does not need one).
pub fn decide(
    conn: &Connection,
    plugin: &Plugin,
    inventory: &Inventory,
    checker: &LazyChecker<'_>,
    views: &RunViews,
) -> Result<Adoption, AdoptError> {
    let manifest = &plugin.manifest;
    // The common case, a first install, answered from SQLite's in-memory
    // schema and the run's view names, without reading sqlite_master.
    let tables_exist = manifest.tables.iter().any(|t| conn.table_exists(None, t.as_str()).unwrap_or(true));
    if !tables_exist && !views.any(conn, &manifest.tables).unwrap_or(true) {
        return Ok(Adoption::NotNeeded);
    }
    let found = Schema::read_tables(conn, &manifest.tables)?;
    if found.tables.is_empty() && found.views.is_empty() {
        return Ok(Adoption::NotNeeded);
    }
    let policy = Arc::new(policy_for(manifest, inventory));
    let checker = checker.get().map_err(crate::db::DbError::Scratch)?;
    let scratch = checker.scratch(plugin).map_err(AdoptError::Replay)?;
    let mut closest: Option<(i32, Vec<String>)> = None;
    for migration in &manifest.chain {
        scratch.run_as(&policy, &migration.sql).map_err(|e| {
            AdoptError::Replay(format!("{}: {}", migration.label(), e.map_or_else(|m| m, |d| d.to_string())))
        })?;
        let at_version = Schema::read(scratch.connection(), |t| manifest.owns(t))?;
        let diff = found.diff("the database", &at_version, &format!("V{}", migration.version));
        if diff.is_empty() {
            return Ok(Adoption::AtVersion(migration.version));
        }
        if closest.as_ref().is_none_or(|(_, d)| diff.len() <= d.len()) {
            closest = Some((migration.version, diff));
        }
    }
    let (closest, diff) = closest.unwrap_or((0, Vec::new()));
    Ok(Adoption::NoMatch { closest, diff })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests::plugin;
    use std::path::PathBuf;

    fn decision(setup: &str) -> Adoption {
        let mine = plugin("mine", "CREATE VIEW mine_items AS SELECT 1 AS one;");
        let inventory = Inventory::from_plugins(PathBuf::from("memory"), vec![mine]);
        let conn = Connection::open_in_memory().expect("a database");
        conn.execute_batch(setup).expect("the setup runs");
        let plugin = inventory.find("mine").expect("in the inventory");
        decide(&conn, plugin, &inventory, &LazyChecker::new(&inventory), &RunViews::default()).expect("a decision")
    }

    #[test]
    fn a_plugin_whose_view_is_found_without_history_is_not_a_first_install() {
        assert_eq!(decision("CREATE TABLE unrelated (id INTEGER PRIMARY KEY);"), Adoption::NotNeeded);
        assert_eq!(decision("CREATE VIEW mine_items AS SELECT 1 AS one;"), Adoption::AtVersion(1));
        assert!(matches!(decision("CREATE VIEW MINE_ITEMS AS SELECT 2 AS two;"), Adoption::NoMatch { .. }));
    }
}
