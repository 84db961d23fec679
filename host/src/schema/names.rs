//! The names things go by in a shop database, and who may use which.
//!
//! SQLite keeps one namespace per database for tables, views, indexes and
//! triggers, so ownership is about names, whatever their kind. Three sets of
//! names never meet, by construction rather than by a list of forbidden
//! words:
//!
//! * the host's own: everything named `shopdb_…` ([`HOST_PREFIX`]): its
//!   bookkeeping `shopdb_core_…` and each plugin's history table
//!   `shopdb_history_<plugin>` — the two prefixes differ, so no plugin name
//!   yields a history table the host uses for itself;
//! * the database engines' own: `sqlite_…` and `pg_…`;
//! * everything else, owned by the core chain (its shared tables) or by
//!   exactly one plugin.
//!
//! A plugin may create nothing in the first two sets, and its name may not
//! start like them either (a plugin's name becomes part of identifiers).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every object the host creates for itself, now or in a later core
/// version, is named with this prefix.
pub const HOST_PREFIX: &str = "shopdb_";

/// The host's bookkeeping tables (and their indexes) start with this.
pub const BOOKKEEPING_PREFIX: &str = "shopdb_core_";

/// Each plugin's history table is this prefix and the plugin's name.
pub const HISTORY_PREFIX: &str = "shopdb_history_";

/// Prefixes the database engines keep for their own objects and schemas.
pub const ENGINE_PREFIXES: [&str; 2] = ["sqlite_", "pg_"];

/// Plugin names the host uses for itself or that a database engine gives a
/// meaning: `core` is the core chain's name in reports, history and
/// ownership records; `public` and `information_schema` are PostgreSQL
/// schemas (a plugin's objects live in a schema named after it there).
pub const RESERVED_PLUGIN_NAMES: [&str; 3] = ["core", "public", "information_schema"];

/// The kinds of schema object that share SQLite's one namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// A table.
    Table,
    /// A view.
    View,
    /// An index.
    Index,
    /// A trigger.
    Trigger,
}

impl ObjectKind {
    /// How SQLite's `sqlite_master.type` and the ownership record spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Table => "table",
            ObjectKind::View => "view",
            ObjectKind::Index => "index",
            ObjectKind::Trigger => "trigger",
        }
    }

    /// The kind `sqlite_master.type` (or the ownership record) names.
    pub fn parse(text: &str) -> Option<ObjectKind> {
        match text {
            "table" => Some(ObjectKind::Table),
            "view" => Some(ObjectKind::View),
            "index" => Some(ObjectKind::Index),
            "trigger" => Some(ObjectKind::Trigger),
            _ => None,
        }
    }
}

impl std::fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `name` (lowercase) is in the host's namespace.
pub fn is_host_name(name: &str) -> bool {
    name.starts_with(HOST_PREFIX)
}

/// Whether `name` (lowercase) is the host's bookkeeping or a history table:
/// what no plugin may read or write.
pub fn is_bookkeeping(name: &str) -> bool {
    name.starts_with(BOOKKEEPING_PREFIX) || name.starts_with(HISTORY_PREFIX)
}

/// `identifier` as a quoted SQL identifier, the same in both engines.
pub fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Whether `name` (lowercase) starts like a database engine's own objects.
pub fn is_engine_name(name: &str) -> bool {
    ENGINE_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Why a plugin may not create an object called `name` (lowercase), if it
/// may not: the host's or an engine's namespace.
pub fn reserved_object_name(name: &str) -> Option<&'static str> {
    if is_host_name(name) {
        Some("names starting with `shopdb_` belong to the host")
    } else if is_engine_name(name) {
        Some("names starting with `sqlite_` or `pg_` belong to the database engines")
    } else {
        None
    }
}

/// Why `name` (already a valid identifier) cannot be a plugin's name, if it
/// cannot.
pub fn reserved_plugin_name(name: &str) -> Option<&'static str> {
    if RESERVED_PLUGIN_NAMES.contains(&name) {
        Some("`core`, `public` and `information_schema` are the names of the host's core chain and of PostgreSQL's own schemas")
    } else if name.starts_with("shopdb") {
        Some("names starting with `shopdb` belong to the host")
    } else if is_engine_name(name) {
        Some("names starting with `sqlite_` or `pg_` belong to the database engines")
    } else {
        None
    }
}

/// The history table of the plugin called `plugin` (a validated name).
pub fn history_table(plugin: &str) -> String {
    format!("{HISTORY_PREFIX}{plugin}")
}

/// The names a plugin's chain creates, migration by migration, learnt by
/// replaying the chain in a scratch database (see `check`). What a plugin
/// owns is everything its chain has ever created: a table it dropped ten
/// releases ago stays its own, so that it may create, drop, rename and
/// recreate it again, and nobody else takes the name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainNames {
    /// One entry per migration, in chain order.
    pub steps: Vec<StepNames>,
}

/// What one migration of a chain did to names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepNames {
    /// The migration's version.
    pub version: i32,
    /// The names it created, including those gone by its end (the working
    /// table of a rebuild).
    pub created: BTreeMap<String, ObjectKind>,
    /// The plugin's objects once it ran.
    pub present: BTreeMap<String, ObjectKind>,
    /// Whether it did anything but read (a write, any change to the schema).
    pub changed: bool,
}

impl ChainNames {
    /// Every name the chain created up to and including `version`.
    pub fn created_through(&self, version: i32) -> BTreeMap<String, ObjectKind> {
        let mut names = BTreeMap::new();
        for step in self.steps.iter().take_while(|s| s.version <= version) {
            for (name, kind) in step.created.iter().chain(&step.present) {
                names.entry(name.clone()).or_insert(*kind);
            }
        }
        names
    }

    /// Every name the whole chain creates.
    pub fn ever_created(&self) -> BTreeMap<String, ObjectKind> {
        self.created_through(i32::MAX)
    }

    /// The plugin's objects once the chain ran up to `version`.
    pub fn present_at(&self, version: i32) -> Option<&BTreeMap<String, ObjectKind>> {
        self.steps.iter().take_while(|s| s.version <= version).last().map(|s| &s.present)
    }

    /// The first migration that creates `name`.
    pub fn created_by(&self, name: &str) -> Option<i32> {
        self.steps.iter().find(|s| s.created.contains_key(name) || s.present.contains_key(name)).map(|s| s.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_plugin_name_yields_a_history_table_in_the_bookkeeping_namespace() {
        for plugin in ["marks", "core", "audit", "owners", "x"] {
            assert!(!history_table(plugin).starts_with(BOOKKEEPING_PREFIX));
            assert!(is_bookkeeping(&history_table(plugin)) && is_host_name(&history_table(plugin)));
        }
        assert!(!BOOKKEEPING_PREFIX.starts_with(HISTORY_PREFIX) && !HISTORY_PREFIX.starts_with(BOOKKEEPING_PREFIX));
    }

    #[test]
    fn reserved_names_say_why() {
        for name in ["core", "public", "information_schema", "shopdb", "shopdb_x", "sqlite_x", "pg_x"] {
            assert!(reserved_plugin_name(name).is_some(), "{name}");
        }
        for name in ["printers", "cores", "pgx", "sqlitex", "shop"] {
            assert_eq!(reserved_plugin_name(name), None, "{name}");
        }
        assert!(reserved_object_name("shopdb_anything").is_some() && reserved_object_name("pg_stats").is_some());
        assert_eq!(reserved_object_name("printers_model"), None);
    }
}
