//! The core schema: the tables the host itself owns (sites, locations,
//! manufacturers, statuses, people), embedded from the top-level
//! `migrations/` directory and applied before any plugin.

use crate::manifest::ChainMigration;
use std::collections::BTreeSet;
use std::sync::OnceLock;

mod embedded {
    refinery::embed_migrations!("../migrations");
}

/// The history table of the core chain.
pub const HISTORY_TABLE: &str = "shopdb_core_history";

/// The name the core chain goes by in reports and ownership records.
pub const OWNER: &str = "core";

/// Whether `table` is the host's own bookkeeping (history tables, the table
/// owner record): no plugin may read or write it.
pub fn is_bookkeeping(table: &str) -> bool {
    table.starts_with("shopdb_")
}

/// The table recording which plugin owns which table.
pub const OWNERS_TABLE: &str = "shopdb_table_owners";

/// The table recording the plugins installed in the database.
pub const PLUGINS_TABLE: &str = "shopdb_plugins";

/// The table recording history written without running migrations.
pub const MARKS_TABLE: &str = "shopdb_history_marks";

/// The core chain, in version order.
pub fn chain() -> &'static [ChainMigration] {
    static CHAIN: OnceLock<Vec<ChainMigration>> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let mut chain: Vec<ChainMigration> = embedded::migrations::runner()
            .get_migrations()
            .iter()
            .cloned()
            .filter_map(ChainMigration::from_refinery)
            .collect();
        chain.sort_by_key(|m| m.version);
        chain
    })
}

/// The tables the core chain creates for plugins to share (lowercase; not
/// the bookkeeping), read off a scratch database once per process.
pub fn tables() -> &'static BTreeSet<String> {
    static TABLES: OnceLock<BTreeSet<String>> = OnceLock::new();
    TABLES.get_or_init(|| {
        let Ok(conn) = rusqlite::Connection::open_in_memory() else {
            return BTreeSet::new();
        };
        for migration in chain() {
            if conn.execute_batch(&migration.sql).is_err() {
                break;
            }
        }
        crate::schema::Schema::read(&conn, |t| !is_bookkeeping(t)).map(|s| s.table_names()).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_core_chain_is_embedded_and_creates_the_shared_tables() {
        assert!(!chain().is_empty());
        for table in ["sites", "locations", "manufacturers", "asset_statuses", "people"] {
            assert!(tables().contains(table), "core should create `{table}`: {:?}", tables());
        }
    }
}
