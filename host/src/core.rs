//! The core schema: the tables the host itself owns (sites, locations,
//! manufacturers, statuses, people), embedded from the top-level
//! `migrations/` directory and applied before any plugin.

use crate::manifest::ChainMigration;
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// `(version, name, SQL)` of each `V<n>__<name>.sql` in `migrations/`,
/// embedded at compile time, in file-name order.
const EMBEDDED: &[(i64, &str, &str)] = plugin_api::embed_chain!("../migrations");

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

/// The audit record of every schema change.
pub const AUDIT_TABLE: &str = "shopdb_audit";

/// The table recording history written without running migrations.
pub const MARKS_TABLE: &str = "shopdb_history_marks";

/// The core chain, in version order.
pub fn chain() -> &'static [ChainMigration] {
    static CHAIN: OnceLock<Vec<ChainMigration>> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let mut chain: Vec<ChainMigration> = EMBEDDED
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

/// The tables the core chain creates for plugins to share (lowercase; not
/// the bookkeeping). Read off the chain's SQL (`CREATE TABLE`/`VIEW`,
/// `DROP`, `RENAME TO`) once per process: every command needs it, and
/// running the chain in a scratch database would cost a millisecond each
/// time. A test checks it against a database the chain really built.
pub fn tables() -> &'static BTreeSet<String> {
    static TABLES: OnceLock<BTreeSet<String>> = OnceLock::new();
    TABLES.get_or_init(|| {
        use crate::sqltext::{tokenize, Token};
        let mut tables = BTreeSet::new();
        for migration in chain() {
            let tokens = tokenize(&migration.sql);
            let word = |i: usize| match tokens.get(i) {
                Some(Token::Word(w)) => Some(w.as_str()),
                _ => None,
            };
            for i in 0..tokens.len() {
                let (kind, mut name_at) = match (word(i), word(i + 1)) {
                    (Some("create" | "drop"), Some("table" | "view")) => (word(i), i + 2),
                    (Some("rename"), Some("to")) => (Some("rename"), i + 2),
                    _ => continue,
                };
                if word(name_at) == Some("if") {
                    name_at += if kind == Some("drop") { 2 } else { 3 };
                }
                let Some(name) = word(name_at) else { continue };
                match kind {
                    Some("drop") => tables.remove(name),
                    _ => tables.insert(name.to_owned()),
                };
                if kind == Some("rename") {
                    // ALTER TABLE old RENAME TO new: the old name is gone.
                    if let (Some("table"), Some(old)) = (word(i.saturating_sub(2)), word(i.saturating_sub(1))) {
                        tables.remove(old);
                    }
                }
            }
        }
        tables.retain(|t| !is_bookkeeping(t));
        tables
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    mod refinery_embedded {
        refinery::embed_migrations!("../migrations");
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
    fn the_tables_read_off_the_sql_are_those_the_chain_builds() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for migration in chain() {
            conn.execute_batch(&migration.sql).unwrap();
        }
        let built = crate::schema::Schema::read(&conn, |t| !is_bookkeeping(t)).unwrap().table_names();
        assert_eq!(tables(), &built);
    }

    #[test]
    fn the_core_chain_is_embedded_and_creates_the_shared_tables() {
        assert!(!chain().is_empty());
        for table in ["sites", "locations", "manufacturers", "asset_statuses", "people"] {
            assert!(tables().contains(table), "core should create `{table}`: {:?}", tables());
        }
    }
}
