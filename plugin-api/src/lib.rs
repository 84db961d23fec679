//! The stable ABI between `shopdb-host` and its plugins.
//!
//! A plugin is a `cdylib` that exports one [`PluginModule`] through
//! `abi_stable`. The host loads it at run time, and abi_stable checks the
//! layout of everything reachable from the root module before the host
//! touches it.
//!
//! # Why the layout is frozen
//!
//! abi_stable accepts a library only when its root-module layout has *at
//! least* the fields the host expects: a host whose root module gained a field
//! refuses every plugin built before it (`too many fields`). Operators upgrade
//! the host and keep plugins built months ago, so the checked layout here must
//! never grow:
//!
//! * [`PluginModule`] has one function, [`PluginModule::describe`].
//! * [`PluginDescription`] carries the parts every plugin has in fixed
//!   `abi_stable` fields, and a JSON object ([`PluginDescription::extensions`])
//!   for optional parts added later. A new host reads an old description with
//!   defaults for what is missing.
//! * [`PluginDescription::requires_format`] is how a newer plugin tells an
//!   older host that it needs something the host does not understand; the host
//!   then refuses it with a message instead of half-understanding it.
//!
//! # Writing a plugin
//!
//! A plugin crate holds `schema.sql` (its current `CREATE TABLE` /
//! `CREATE INDEX` statements), `migrations/V1__baseline.sql`, … (its refinery
//! chain) and a `lib.rs` of one macro call, [`export_plugin!`]:
//!
//! ```text
//! plugin_api::export_plugin! {
//!     name: "printers",
//!     summary: "Printers, their supplies and page counters",
//!     tables: ["printers", "printer_supplies"],
//!     depends_on: ["network"],
//! }
//! ```
//!
//! [`export_plugin!`] shows a complete example, compiled and run as a test.

use abi_stable::{
    library::RootModule,
    package_version_strings,
    prefix_type::PrefixTypeTrait,
    sabi_types::VersionStrings,
    std_types::{RResult, RString, RVec},
    StableAbi,
};
use std::panic::{catch_unwind, AssertUnwindSafe};

#[doc(hidden)]
pub use abi_stable;
/// Embeds a refinery chain at compile time; [`export_plugin!`] calls it.
pub use plugin_api_macros::embed_chain;
/// Embeds a plugin's SQL for another engine, when present; [`export_plugin!`] calls it.
pub use plugin_api_macros::embed_engine;

/// The newest description format this crate writes and understands.
///
/// - Format 1 (plugin-api 1.0): the fixed fields of [`PluginDescription`]
///   with an empty or `{}` extensions object.
/// - Format 2 (plugin-api 1.1): the extensions object may hold
///   `"maintainer": "<who to ask about this plugin>"`. Optional: a host that
///   reads only format 1 ignores it, so plugins still require format 1.
/// - Format 3 (plugin-api 1.2): the extensions object may hold
///   `"engines": {"postgres": {"ddl": "…", "migrations": [[1, "baseline",
///   "…"], …]}}`, the plugin's SQL for engines other than SQLite (whose DDL
///   and chain are the fixed fields). Optional too: an older host runs the
///   plugin on SQLite as before.
///
/// Raise it when [`PluginDescription::extensions`] gains a part; set
/// [`PluginDescription::requires_format`] only for parts an older host must
/// not ignore.
pub const DESCRIPTION_FORMAT: u32 = 3;

/// The `plugin-api` version a plugin was built with, sent along so that
/// refusals can say which host a plugin needs.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The root module every plugin exports. Frozen: see the crate docs.
#[repr(C)]
#[derive(StableAbi, Debug)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
#[sabi(missing_field(panic))]
pub struct PluginModule {
    /// Describes the plugin. Never unwinds: a panic inside the plugin comes
    /// back as `RErr` with the panic message.
    #[sabi(last_prefix_field)]
    pub describe: extern "C" fn() -> RResult<PluginDescription, RString>,
}

impl RootModule for PluginModuleRef {
    abi_stable::declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "shopdb_plugin";
    const NAME: &'static str = "shopdb_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

impl PluginModuleRef {
    /// Builds the root module a plugin exports; [`export_plugin!`] calls it.
    pub fn from_describe(describe: extern "C" fn() -> RResult<PluginDescription, RString>) -> Self {
        PluginModule { describe }.leak_into_prefix()
    }
}

/// Everything a plugin hands to the host. Frozen: new optional parts go into
/// [`PluginDescription::extensions`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct PluginDescription {
    /// The description format the plugin was built with ([`DESCRIPTION_FORMAT`]).
    pub format: u32,
    /// The oldest description format a host must understand to apply this
    /// plugin correctly. A host that knows less refuses the plugin.
    pub requires_format: u32,
    /// The `plugin-api` version the plugin was built with ([`API_VERSION`]).
    pub api_version: RString,
    /// The plugin's name: `^[a-z][a-z0-9_]{0,62}$`, unique among plugins.
    pub name: RString,
    /// The plugin's own version (its crate version), for humans.
    pub version: RString,
    /// One line saying what the plugin holds.
    pub summary: RString,
    /// The owned-table manifest: every table the plugin creates and may write.
    pub tables: RVec<RString>,
    /// Plugins whose tables this plugin references or reads.
    pub depends_on: RVec<RString>,
    /// The plugin's current schema: its `CREATE TABLE` / `CREATE INDEX` statements.
    pub ddl: RString,
    /// The migration chain, ordered by version.
    pub migrations: RVec<MigrationRecord>,
    /// A JSON object with optional parts added after format 1; empty or `{}`
    /// when there are none.
    pub extensions: RString,
}

/// One embedded migration, as refinery names it: `V<version>__<name>.sql`.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct MigrationRecord {
    /// The `<version>` of `V<version>__<name>`.
    pub version: i64,
    /// The `<name>` of `V<version>__<name>`.
    pub name: RString,
    /// The migration's SQL, verbatim.
    pub sql: RString,
}

impl PluginDescription {
    /// A description in the current format with no extensions; the one
    /// constructor [`export_plugin!`] uses. Migrations are sorted by version
    /// (refinery embeds them in file-name order, where `V10` sorts before `V2`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        version: &str,
        summary: &str,
        tables: &[&str],
        depends_on: &[&str],
        ddl: &str,
        migrations: impl IntoIterator<Item = MigrationRecord>,
    ) -> Self {
        let mut migrations: Vec<MigrationRecord> = migrations.into_iter().collect();
        migrations.sort_by_key(|m| m.version);
        PluginDescription {
            format: DESCRIPTION_FORMAT,
            requires_format: 1,
            api_version: API_VERSION.into(),
            name: name.into(),
            version: version.into(),
            summary: summary.into(),
            tables: tables.iter().map(|t| RString::from(*t)).collect(),
            depends_on: depends_on.iter().map(|d| RString::from(*d)).collect(),
            ddl: ddl.into(),
            migrations: migrations.into(),
            extensions: RString::new(),
        }
    }
}

impl PluginDescription {
    /// Adds who maintains the plugin (format 2, optional).
    pub fn with_maintainer(self, maintainer: &str) -> Self {
        self.with_extension(|extensions| {
            extensions.insert("maintainer".into(), maintainer.into());
        })
    }

    /// Adds the plugin's SQL for the engine `engine` (`"postgres"`): its
    /// DDL and its chain as (version, name, SQL) (format 3, optional).
    pub fn with_engine(self, engine: &str, ddl: &str, migrations: &[(i64, &str, &str)]) -> Self {
        let chain: Vec<serde_json::Value> =
            migrations.iter().map(|(version, name, sql)| serde_json::json!([version, name, sql])).collect();
        self.with_extension(|extensions| {
            let engines = extensions.entry("engines").or_insert_with(|| serde_json::json!({}));
            if let Some(engines) = engines.as_object_mut() {
                engines.insert(engine.into(), serde_json::json!({"ddl": ddl, "migrations": chain}));
            }
        })
    }

    fn with_extension(mut self, add: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> Self {
        // A description starts with none: an empty string is no extensions,
        // not a parse error to build and throw away (on every load).
        let mut extensions: serde_json::Map<String, serde_json::Value> = match self.extensions.as_str() {
            "" => serde_json::Map::new(),
            text => serde_json::from_str(text).unwrap_or_default(),
        };
        add(&mut extensions);
        self.extensions = serde_json::Value::Object(extensions).to_string().into();
        self
    }
}

/// A chain as [`embed_chain!`] embeds it: (version, name, SQL) in file order.
pub type EmbeddedChain = &'static [(i64, &'static str, &'static str)];

/// A plugin's SQL for one engine as [`embed_engine!`] embeds it: its DDL and
/// its chain, or `None` when the plugin ships none for that engine.
pub type EmbeddedEngine = Option<(&'static str, EmbeddedChain)>;

impl PluginDescription {
    /// Adds the SQL for each engine that has some ([`PluginDescription::with_engine`]).
    pub fn with_engines(self, engines: &[(&str, EmbeddedEngine)]) -> Self {
        engines.iter().fold(self, |description, (engine, content)| match content {
            Some((ddl, migrations)) => description.with_engine(engine, ddl, migrations),
            None => description,
        })
    }
}

impl MigrationRecord {
    /// Records one migration of the chain.
    pub fn new(version: i64, name: &str, sql: &str) -> Self {
        MigrationRecord { version, name: name.into(), sql: sql.into() }
    }
}

/// Runs a plugin's description builder so that a panic never crosses the
/// boundary (an unwinding `extern "C"` function aborts the host): the panic
/// message comes back as an error instead.
pub fn describe_guarded(build: impl FnOnce() -> PluginDescription) -> RResult<PluginDescription, RString> {
    match catch_unwind(AssertUnwindSafe(build)) {
        Ok(description) => RResult::ROk(description),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".to_owned());
            RResult::RErr(format!("the plugin panicked while describing itself: {message}").into())
        }
    }
}

/// Exports a plugin: the one call a plugin's `lib.rs` makes.
///
/// It embeds `schema.sql` and the refinery chain in `migrations/` (both
/// relative to the plugin crate's root) and names the tables the plugin owns
/// and the plugins it depends on. The plugin's version is its crate version.
/// When the crate has `postgres/schema.sql` and `postgres/migrations/`, they
/// are embedded too, as the plugin's SQL for PostgreSQL.
/// Optional, in this order: `maintainer: "…"` (who to ask about the plugin),
/// and `files: { schema: "…", migrations: "…" }` for other locations.
///
/// The plugin crate must depend on `plugin-api` and `abi_stable` (whose
/// macro expands to paths that name it).
///
/// The chain is found and named by refinery's own rules (the functions its
/// `embed_migrations!` uses), but at compile time: see [`embed_chain!`]. A
/// plugin therefore carries no regular-expression engine and parses nothing
/// when it is loaded.
///
/// ```
/// plugin_api::export_plugin! {
///     name: "gauges",
///     summary: "Calibrated gauges and their calibration records",
///     tables: ["gauges", "gauge_calibrations"],
///     depends_on: [],
///     maintainer: "Metrology <metrology@example.com>",
///     files: { schema: "tests/example/schema.sql", migrations: "tests/example/migrations" },
/// }
///
/// // What the host receives when it calls into the plugin:
/// let description = __shopdb_plugin::describe().unwrap();
/// assert_eq!(description.name.as_str(), "gauges");
/// assert_eq!(description.tables.len(), 2);
/// assert_eq!(description.migrations[0].name.as_str(), "baseline");
/// assert!(description.ddl.contains("CREATE TABLE gauge_calibrations"));
/// assert!(description.extensions.contains("Metrology"));
/// ```
#[macro_export]
macro_rules! export_plugin {
    (
        name: $name:literal,
        summary: $summary:literal,
        tables: [$($table:literal),* $(,)?],
        depends_on: [$($dependency:literal),* $(,)?]
        $(, maintainer: $maintainer:literal)?
        , files: { schema: $schema:literal, migrations: $migrations:literal $(,)? }
        $(,)?
    ) => {
        $crate::export_plugin!(@emit $name, $summary, [$($table),*], [$($dependency),*], [$($maintainer)?], $schema, $migrations);
    };
    (
        name: $name:literal,
        summary: $summary:literal,
        tables: [$($table:literal),* $(,)?],
        depends_on: [$($dependency:literal),* $(,)?]
        $(, maintainer: $maintainer:literal)?
        $(,)?
    ) => {
        $crate::export_plugin!(@emit $name, $summary, [$($table),*], [$($dependency),*], [$($maintainer)?], "schema.sql", "migrations");
    };
    (@emit $name:literal, $summary:literal, [$($table:literal),*], [$($dependency:literal),*], [$($maintainer:literal)?], $schema:literal, $migrations:literal) => {
        #[doc(hidden)]
        pub mod __shopdb_plugin {
            /// The chain, embedded at compile time: (version, name, SQL).
            const CHAIN: &[(i64, &str, &str)] = $crate::embed_chain!($migrations);

            #[::abi_stable::export_root_module]
            fn root_module() -> $crate::PluginModuleRef {
                $crate::PluginModuleRef::from_describe(describe)
            }

            /// Describes the plugin (what the host calls through the root module).
            pub extern "C" fn describe(
            ) -> $crate::abi_stable::std_types::RResult<
                $crate::PluginDescription,
                $crate::abi_stable::std_types::RString,
            > {
                $crate::describe_guarded(|| {
                    $crate::PluginDescription::new(
                        $name,
                        env!("CARGO_PKG_VERSION"),
                        $summary,
                        &[$($table),*],
                        &[$($dependency),*],
                        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $schema)),
                        CHAIN.iter().map(|&(version, name, sql)| $crate::MigrationRecord::new(version, name, sql)),
                    )
                    $(.with_maintainer($maintainer))?
                    .with_engines(&[("postgres", $crate::embed_engine!("postgres"))])
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_builder_becomes_an_error_not_an_unwind() {
        let result = describe_guarded(|| panic!("schema.sql is missing"));
        match result {
            RResult::RErr(message) => {
                assert!(message.contains("schema.sql is missing"), "{message}")
            }
            RResult::ROk(_) => panic!("a panic must come back as an error"),
        }
    }

    #[test]
    fn new_descriptions_use_the_current_format_and_need_only_format_one() {
        let d = PluginDescription::new("p", "0.1.0", "s", &["t"], &[], "", []);
        assert_eq!(d.format, DESCRIPTION_FORMAT);
        assert_eq!(d.requires_format, 1);
        assert_eq!(d.api_version.as_str(), API_VERSION);
    }
}
