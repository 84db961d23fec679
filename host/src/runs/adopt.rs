//! Adopting objects created without history.
//!
//! An older deploy, or a restored dump, may hold a plugin's objects while the
//! plugin's history table is missing. Running the chain from V1 would fail on
//! `CREATE TABLE`; recording it all as applied would skip what the database
//! lacks. Instead the host replays the chain in a scratch database and
//! compares, after each version, everything the chain has created by then
//! (tables it later drops, indexes, triggers, views) with what the database
//! holds under the names the chain ever uses. History is recorded up to the
//! version that matches, and the rest is applied.
//!
//! The host does not guess: when several versions match (a migration that
//! changes data but not the schema lies between them), it refuses and names
//! the `stamp` command to run, unless every migration between them provably
//! did nothing (the guard saw it neither write nor change the schema, as a
//! comment-only migration): then those versions are the same database and
//! the latest of them is taken.

use crate::checks::{policy_for, CheckError, Checker};
use crate::engine::{DbError, Engine, ScratchError};
use crate::plugins::inventory::Inventory;
use crate::plugins::load::Plugin;
use crate::schema::names::ChainNames;
use std::collections::BTreeSet;
use std::sync::Arc;

/// What the host makes of a plugin's objects found without history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adoption {
    /// None of the names the plugin's chain creates exist: a plain first install.
    NotNeeded,
    /// The objects equal the chain's schema at this version.
    AtVersion(i32),
    /// The objects equal the chain's schema at several versions, and a
    /// migration between them changes data: which ran is not known.
    Ambiguous {
        /// The matching versions, in order.
        versions: Vec<i32>,
    },
    /// The objects match no version; the differences to the closest one.
    NoMatch { closest: i32, diff: Vec<String> },
}

/// Why adoption could not be decided.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    /// Reading the operator's database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The chain did not run in the scratch database.
    #[error("replaying the chain in a scratch database failed: {migration}: {reason}")]
    Replay { migration: String, reason: String },
    /// The scratch database could not be set up.
    #[error(transparent)]
    Scratch(#[from] ScratchError),
    /// The scratch database could not be set up for this plugin.
    #[error(transparent)]
    Check(#[from] CheckError),
}

impl Adoption {
    /// Why `plugin` cannot be adopted and what to do, when it cannot.
    pub fn refusal(&self, plugin: &str) -> Option<String> {
        let stamp = |v: i32| format!("`shopdb-host stamp --plugin {plugin} --version {v}`");
        match self {
            Adoption::NotNeeded | Adoption::AtVersion(_) => None,
            Adoption::Ambiguous { versions } => {
                let listed = versions.iter().map(|v| format!("V{v}")).collect::<Vec<_>>().join(", ");
                let (first, last) = (versions[0], versions[versions.len() - 1]);
                Some(format!(
                    "plugin '{plugin}': its objects exist without history and match {listed} of its chain alike: \
                     the migrations between them change data, not the schema, so the host cannot tell which ran; \
                     record the version you know with {} (or {} …), then run upgrade-all",
                    stamp(last),
                    stamp(first)
                ))
            }
            Adoption::NoMatch { closest, diff } => Some(format!(
                "plugin '{plugin}': its objects exist without history but match no version of its chain \
                 (closest is V{closest}: {}); fix them, or record a version by hand with {}",
                diff.join("; "),
                stamp(*closest)
            )),
        }
    }
}

/// Decides whether `plugin`'s objects in `db` (which has no history for
/// it) can be adopted, and at which version. `names` is what the plugin's
/// checks learnt its chain creates.
pub fn decide(
    db: &dyn Engine,
    plugin: &Plugin,
    inventory: &Inventory,
    checker: &Checker<'_>,
    names: &ChainNames,
) -> Result<Adoption, AdoptError> {
    let manifest = &plugin.manifest;
    let mut wanted: BTreeSet<String> = names.ever_created().into_keys().collect();
    wanted.extend(manifest.tables.iter().cloned());
    let wanted: Vec<String> = wanted.into_iter().collect();
    if db.existing(Some(&manifest.name), &wanted)?.is_empty() {
        return Ok(Adoption::NotNeeded);
    }
    let is_wanted = |table: &str| wanted.binary_search_by(|w| w.as_str().cmp(table)).is_ok();
    let found = db.read_schema(&manifest.name, &is_wanted)?;
    let policy = Arc::new(policy_for(manifest, inventory));
    let mut scratch = checker.scratch_for(plugin)?;
    let mut matching = Vec::new();
    let mut closest: Option<(i32, Vec<String>)> = None;
    let (_, chain) = checker.sql_of(plugin)?;
    for migration in chain {
        scratch
            .run_as(&policy, &migration.sql)
            .map_err(|e| AdoptError::Replay { migration: migration.label(), reason: e.to_string() })?;
        let at_version = scratch.schema(&is_wanted)?;
        let diff = found.diff("the database", &at_version, &format!("V{}", migration.version));
        if diff.is_empty() {
            matching.push(migration.version);
        } else if closest.as_ref().is_none_or(|(_, d)| diff.len() <= d.len()) {
            closest = Some((migration.version, diff));
        }
    }
    Ok(match matching.as_slice() {
        [] => {
            let (closest, diff) = closest.unwrap_or((0, Vec::new()));
            Adoption::NoMatch { closest, diff }
        }
        [only] => Adoption::AtVersion(*only),
        [first, .., last] => {
            let between_did_nothing =
                names.steps.iter().filter(|s| s.version > *first && s.version <= *last).all(|s| !s.changed);
            if between_did_nothing {
                Adoption::AtVersion(*last)
            } else {
                Adoption::Ambiguous { versions: matching }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::{MigrationRecord, PluginDescription};
    use std::path::PathBuf;

    /// The decision for a plugin `mine` with `chain`, on a database made by `setup`.
    fn decision(chain: &[(i64, &str)], ddl: &str, setup: &str) -> Adoption {
        let records = chain.iter().enumerate().map(|(i, (v, sql))| MigrationRecord::new(*v, &format!("m{i}"), sql));
        let description = PluginDescription::new("mine", "1.0.0", "test", &["mine_items"], &[], ddl, records);
        let plugin = Plugin::in_memory("mine.so", &description).expect("a valid manifest");
        let inventory = Inventory::from_plugins(PathBuf::from("memory"), vec![plugin]);
        let plugin = inventory.find("mine").expect("in the inventory");
        let checker = Checker::sqlite(&inventory).expect("a checker");
        let checked = checker.check_plugin(plugin).expect("the plugin passes its checks");
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("shop.sqlite");
        crate::engine::sqlite::file_made_with(&path, setup);
        let db = crate::engine::sqlite::SqliteEngine::open(
            &path,
            crate::engine::OpenMode::Read,
            crate::engine::DEFAULT_BUSY_TIMEOUT,
        )
        .expect("it opens")
        .expect("it exists");
        decide(&db, plugin, &inventory, &checker, &checked.names).expect("a decision")
    }

    const ITEMS: &str = "CREATE TABLE mine_items (id INTEGER PRIMARY KEY);";

    #[test]
    fn a_view_found_without_history_is_not_a_first_install() {
        let view = "CREATE VIEW mine_items AS SELECT 1 AS one;";
        assert_eq!(
            decision(&[(1, view)], view, "CREATE TABLE unrelated (id INTEGER PRIMARY KEY);"),
            Adoption::NotNeeded
        );
        assert_eq!(decision(&[(1, view)], view, view), Adoption::AtVersion(1));
        assert!(matches!(
            decision(&[(1, view)], view, "CREATE VIEW MINE_ITEMS AS SELECT 2 AS two;"),
            Adoption::NoMatch { .. }
        ));
    }

    #[test]
    fn a_table_the_chain_drops_later_tells_the_versions_apart() {
        let chain = [
            (1, ITEMS),
            (2, "CREATE TABLE mine_staging (id INTEGER); CREATE INDEX mine_staging_id ON mine_staging (id);"),
            (3, "CREATE INDEX mine_items_id ON mine_items (id);"),
            (4, "DROP TABLE mine_staging;"),
        ];
        let ddl = "CREATE TABLE mine_items (id INTEGER PRIMARY KEY); CREATE INDEX mine_items_id ON mine_items (id);";
        let at = |upto: usize| chain[..upto].iter().map(|(_, sql)| *sql).collect::<Vec<_>>().join("\n");
        for version in 1..=4 {
            assert_eq!(decision(&chain, ddl, &at(version)), Adoption::AtVersion(version as i32), "V{version}");
        }
    }

    #[test]
    fn versions_told_apart_only_by_data_are_not_guessed() {
        let chain = [(1, ITEMS), (2, "INSERT INTO mine_items (id) VALUES (1);"), (3, "-- nothing to do here")];
        assert_eq!(decision(&chain, ITEMS, ITEMS), Adoption::Ambiguous { versions: vec![1, 2, 3] });
        let refusal = Adoption::Ambiguous { versions: vec![1, 2, 3] }.refusal("mine").expect("a refusal");
        assert!(refusal.contains("V1, V2, V3") && refusal.contains("stamp --plugin mine --version 3"), "{refusal}");

        // Between versions that did nothing (comments only), any is the same database.
        let quiet = [(1, ITEMS), (2, "-- nothing"), (3, "-- nor here")];
        assert_eq!(decision(&quiet, ITEMS, ITEMS), Adoption::AtVersion(3));
    }
}
