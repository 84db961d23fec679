//! The core schema: the tables the host itself owns (sites, locations,
//! manufacturers, statuses, people), embedded from the top-level
//! `migrations/sqlite/` directory and applied before any plugin.

use crate::plugins::manifest::ChainMigration;
pub use crate::schema::names::is_bookkeeping;
use crate::schema::names::ObjectKind;
use crate::schema::sqltext::objects_after;
use crate::schema::Dialect;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// `(version, name, SQL)` of each `V<n>__<name>.sql` in `migrations/sqlite/`,
/// embedded at compile time, in file-name order.
const EMBEDDED: &[(i64, &str, &str)] = plugin_api::embed_chain!("../migrations/sqlite");

/// The same chain written for PostgreSQL (`migrations/postgres/`): the same
/// versions and names.
const EMBEDDED_POSTGRES: &[(i64, &str, &str)] = plugin_api::embed_chain!("../migrations/postgres");

/// The history table of the core chain (a name earlier hosts used already,
/// in the bookkeeping namespace).
pub const HISTORY_TABLE: &str = "shopdb_core_history";

/// The name the core chain goes by in reports and ownership records.
pub const OWNER: &str = "core";

/// The record of which plugin owns which name (table, view, index, trigger).
pub const OWNERS_TABLE: &str = "shopdb_core_owners";

/// The table recording the plugins installed in the database.
pub const PLUGINS_TABLE: &str = "shopdb_core_plugins";

/// The audit record of every schema change.
pub const AUDIT_TABLE: &str = "shopdb_core_audit";

/// The table recording history written without running migrations.
pub const MARKS_TABLE: &str = "shopdb_core_marks";

/// The names the bookkeeping had before core V5 moved it into the
/// bookkeeping namespace, newest name first. A database no host has
/// upgraded yet is read under these names.
pub const LEGACY_NAMES: [(&str, &str); 4] = [
    (OWNERS_TABLE, "shopdb_table_owners"),
    (PLUGINS_TABLE, "shopdb_plugins"),
    (AUDIT_TABLE, "shopdb_audit"),
    (MARKS_TABLE, "shopdb_history_marks"),
];

/// The core chain (SQLite's), in version order.
pub fn chain() -> &'static [ChainMigration] {
    chain_for(Dialect::Sqlite)
}

/// The core chain written for `dialect`, in version order.
pub fn chain_for(dialect: Dialect) -> &'static [ChainMigration] {
    static SQLITE: OnceLock<Vec<ChainMigration>> = OnceLock::new();
    static POSTGRES: OnceLock<Vec<ChainMigration>> = OnceLock::new();
    let (cell, embedded) = match dialect {
        Dialect::Sqlite => (&SQLITE, EMBEDDED),
        Dialect::Postgres => (&POSTGRES, EMBEDDED_POSTGRES),
    };
    cell.get_or_init(|| {
        let mut chain: Vec<ChainMigration> = embedded
            .iter()
            .map(|&(version, name, sql)| {
                let version = i32::try_from(version).expect("core migration versions fit refinery's i32");
                ChainMigration::new(version, name, sql)
            })
            .collect();
        chain.sort_by_key(|m| m.version);
        chain
    })
}

/// Every object the core chain leaves in a database, by lowercase name:
/// the shared tables plugins reference and their indexes, and the host's
/// bookkeeping. Read off the chain's SQL once per process (every command
/// needs it, and it needs no database); a test checks it against a
/// database the chain really built.
pub fn objects() -> &'static BTreeMap<String, ObjectKind> {
    static OBJECTS: OnceLock<BTreeMap<String, ObjectKind>> = OnceLock::new();
    OBJECTS.get_or_init(|| {
        let sql = chain().iter().map(|m| m.sql.as_str());
        objects_after(sql).into_iter().map(|(name, (kind, _))| (name, kind)).collect()
    })
}

/// The tables (and views) the core chain creates for plugins to share
/// (lowercase; not the bookkeeping).
pub fn tables() -> &'static BTreeSet<String> {
    static TABLES: OnceLock<BTreeSet<String>> = OnceLock::new();
    TABLES.get_or_init(|| {
        objects()
            .iter()
            .filter(|(name, kind)| matches!(kind, ObjectKind::Table | ObjectKind::View) && !is_bookkeeping(name))
            .map(|(name, _)| name.clone())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    mod refinery_embedded {
        refinery::embed_migrations!("../migrations/sqlite");
    }

    #[test]
    fn the_chain_is_the_one_refinery_embeds_with_the_same_checksums() {
        let mut theirs: Vec<refinery::Migration> = refinery_embedded::migrations::runner().get_migrations().clone();
        theirs.sort_by_key(refinery::Migration::version);
        let ours: Vec<refinery::Migration> = chain().iter().map(ChainMigration::to_refinery).collect();
        assert_eq!(ours.len(), theirs.len());
        assert!(!ours.is_empty());
        for (ours, theirs) in ours.iter().zip(&theirs) {
            assert_eq!(
                (ours.version(), ours.name(), ours.sql(), ours.checksum()),
                (theirs.version(), theirs.name(), theirs.sql(), theirs.checksum())
            );
        }
    }

    #[test]
    fn everything_the_host_keeps_for_itself_is_in_its_namespace() {
        // The shared tables of core V1 (and their indexes) are the only names
        // the host uses outside `shopdb_…`; a later core version adds its
        // objects inside it, where no plugin may create anything.
        let shared_v1 = ["sites", "locations", "manufacturers", "asset_statuses", "people"];
        for (name, kind) in objects() {
            let shared = shared_v1.iter().any(|t| name == t || name.starts_with(&format!("{t}_")));
            assert!(
                shared || crate::schema::names::is_host_name(name),
                "{kind} `{name}` is outside the host's namespace"
            );
            if !shared {
                assert!(is_bookkeeping(name), "{kind} `{name}` should be bookkeeping (shopdb_core_…)");
            }
        }
        for (current, legacy) in LEGACY_NAMES {
            assert!(objects().contains_key(current) && !objects().contains_key(legacy));
        }
    }

    #[test]
    fn the_core_chain_is_embedded_and_creates_the_shared_tables() {
        assert!(!chain().is_empty());
        for table in ["sites", "locations", "manufacturers", "asset_statuses", "people"] {
            assert!(tables().contains(table), "core should create `{table}`: {:?}", tables());
        }
    }
}
