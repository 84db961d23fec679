//! One digest of everything a plugin's verdict depends on, so that a
//! verdict reached once need not be reached again.
//!
//! A run records the digest of the plugin it checked beside the plugin
//! (`shopdb_core_plugins.checked_digest`, in the run's transaction), and
//! `check --database` passes a plugin applied up to its head whose digest
//! is unchanged without checking its SQL again: the same SQL in the same
//! scratch layout gives the same verdict. What goes in is what the scratch
//! checks read: the host's version (its checks), the engine, the core chain
//! the scratch databases are laid out with, the plugin's manifest and SQL
//! for that engine (and its SQLite chain's versions and names, which the
//! other engines' chains must pair with), and its dependencies' digests
//! (their DDL is laid out beside it). Other plugins reach a verdict only by
//! the names they claim, and a name a plugin's chain created is recorded as
//! its own, so a later claim on it is refused before any check.

use crate::core_schema;
use crate::engine::Dialect;
use crate::plugins::inventory::Inventory;
use crate::plugins::load::Plugin;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The digest of each of `inventory`'s plugins on `dialect` (lowercase hex
/// SHA-256), by plugin name.
pub fn digests(inventory: &Inventory, dialect: Dialect) -> BTreeMap<String, String> {
    let mut core = Fields(Sha256::new());
    core.field(concat!("shopdb-host ", env!("CARGO_PKG_VERSION")));
    core.field(dialect.display_name());
    for migration in core_schema::chain_for(dialect) {
        core.field(&migration.version.to_string());
        core.field(&migration.name);
        core.field(&migration.sql);
    }
    let walk = Walk { inventory, dialect, core: hex(core.0) };
    let mut digests = BTreeMap::new();
    for plugin in &inventory.plugins {
        walk.digest_into(plugin, &mut digests, 0);
    }
    digests
}

fn hex(hash: Sha256) -> String {
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What every plugin's digest starts from.
struct Walk<'i> {
    inventory: &'i Inventory,
    dialect: Dialect,
    /// The digest of the host's version, the engine and its core chain.
    core: String,
}

impl Walk<'_> {
    /// Computes `plugin`'s digest (and its dependencies' first) into
    /// `digests`.
    fn digest_into<'d>(
        &self,
        plugin: &Plugin,
        digests: &'d mut BTreeMap<String, String>,
        depth: usize,
    ) -> Option<&'d str> {
        let manifest = &plugin.manifest;
        if !digests.contains_key(&manifest.name) {
            // A dependency cycle is refused before any check; this only
            // keeps the walk finite.
            if depth > self.inventory.plugins.len() {
                return None;
            }
            let mut dependencies = Vec::new();
            for dependency in &manifest.depends_on {
                let found = self.inventory.find(dependency);
                let digest = found.and_then(|d| self.digest_into(d, digests, depth + 1));
                dependencies.push(digest.unwrap_or("missing").to_owned());
            }
            let mut hash = Fields(Sha256::new());
            hash.field(&self.core);
            hash.field(&manifest.name);
            hash.list(&manifest.tables);
            hash.list(&manifest.depends_on);
            hash.list(&dependencies);
            for migration in &manifest.chain {
                hash.field(&migration.version.to_string());
                hash.field(&migration.name);
            }
            match manifest.sql_for(self.dialect) {
                None => hash.field("no sql"),
                Some((ddl, chain)) => {
                    hash.field(ddl);
                    for migration in chain {
                        hash.field(&migration.version.to_string());
                        hash.field(&migration.name);
                        hash.field(&migration.sql);
                    }
                }
            }
            digests.insert(manifest.name.clone(), hex(hash.0));
        }
        digests.get(&manifest.name).map(String::as_str)
    }
}

/// A hash fed with length-prefixed fields, so that no two different
/// sequences of fields hash alike (also the verdict cache's keys).
pub(super) struct Fields(Sha256);

impl Fields {
    /// A hash of `fields`, as lowercase hex.
    pub(super) fn hex_of(fields: &[&str]) -> String {
        let mut hash = Fields(Sha256::new());
        for field in fields {
            hash.field(field);
        }
        hex(hash.0)
    }

    fn field(&mut self, text: &str) {
        self.0.update((text.len() as u64).to_le_bytes());
        self.0.update(text.as_bytes());
    }

    fn list(&mut self, items: &[String]) {
        self.0.update((items.len() as u64).to_le_bytes());
        for item in items {
            self.field(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::{MigrationRecord, PluginDescription};
    use std::path::PathBuf;

    fn plugin(name: &str, ddl: &str, depends_on: &[&str]) -> Plugin {
        let table = format!("{name}_items");
        let records = vec![MigrationRecord::new(1, "baseline", ddl)];
        let description = PluginDescription::new(name, "1.0.0", "test", &[table.as_str()], depends_on, ddl, records);
        Plugin::in_memory(format!("{name}.so"), &description).expect("a valid manifest")
    }

    #[test]
    fn a_digest_changes_with_the_plugins_sql_and_its_dependencies_and_with_nothing_else() {
        let base = |base_ddl: &str, leaf_ddl: &str, other_ddl: &str| {
            let inventory = Inventory::from_plugins(
                PathBuf::from("memory"),
                vec![
                    plugin("base", base_ddl, &[]),
                    plugin("leaf", leaf_ddl, &["base"]),
                    plugin("other", other_ddl, &[]),
                ],
            );
            digests(&inventory, Dialect::Sqlite)
        };
        let table = |name: &str, extra: &str| format!("CREATE TABLE {name}_items (id INTEGER PRIMARY KEY{extra});");
        let first = base(&table("base", ""), &table("leaf", ""), &table("other", ""));
        assert_eq!(first.len(), 3);
        assert!(first.values().all(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit())));
        assert_eq!(first, base(&table("base", ""), &table("leaf", ""), &table("other", "")), "deterministic");

        let leaf_changed = base(&table("base", ""), &table("leaf", ", note TEXT"), &table("other", ""));
        assert_ne!(leaf_changed["leaf"], first["leaf"]);
        assert_eq!((&leaf_changed["base"], &leaf_changed["other"]), (&first["base"], &first["other"]));

        let base_changed = base(&table("base", ", note TEXT"), &table("leaf", ""), &table("other", ""));
        assert_ne!(base_changed["base"], first["base"]);
        assert_ne!(base_changed["leaf"], first["leaf"], "a dependency's change reaches its dependents");
        assert_eq!(base_changed["other"], first["other"]);

        let postgres = Inventory::from_plugins(PathBuf::from("memory"), vec![plugin("base", &table("base", ""), &[])]);
        assert_ne!(digests(&postgres, Dialect::Postgres)["base"], first["base"], "the engine is part of it");
    }
}
