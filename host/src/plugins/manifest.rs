//! A plugin's description, validated and in plain Rust types.
//!
//! Everything in a description comes from native code the operator dropped
//! into a directory, so it is untrusted input: names end up in SQL (the
//! history table is named after the plugin), versions order the chain. A
//! [`Manifest`] exists only once all of that has been checked; later stages
//! rely on it and do not check again.

use crate::schema::Dialect;
use plugin_api::{PluginDescription, DESCRIPTION_FORMAT};
use refinery::Migration;
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// The largest description the host accepts, in bytes of text (DDL, SQL,
/// names). Real plugins are a few dozen kilobytes; this bounds memory and time.
pub const MAX_DESCRIPTION_BYTES: usize = 16 * 1024 * 1024;

/// How much of each part of a description the host accepts: far more than
/// any real plugin needs, and small enough that a hostile one cannot make the
/// host spend unbounded memory or time.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Owned tables.
    pub tables: usize,
    /// Declared dependencies.
    pub dependencies: usize,
    /// Migrations in the chain.
    pub migrations: usize,
    /// Characters of the one-line summary.
    pub summary_chars: usize,
    /// Characters of a version string.
    pub version_chars: usize,
}

/// The limits in force.
pub const LIMITS: Limits =
    Limits { tables: 1024, dependencies: 256, migrations: 100_000, summary_chars: 512, version_chars: 64 };

/// A plugin's validated description.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// Unique plugin name; safe to paste into SQL identifiers.
    pub name: String,
    /// The plugin's own version, for people.
    pub version: String,
    /// One line on what the plugin holds.
    pub summary: String,
    /// The `plugin-api` version it was built with.
    pub api_version: String,
    /// The description format it was built with.
    pub format: u32,
    /// The tables it owns, lowercase, in declaration order.
    pub tables: Vec<String>,
    /// The plugins it depends on.
    pub depends_on: Vec<String>,
    /// Who to ask about it (description format 2; `None` from older plugins).
    pub maintainer: Option<String>,
    /// Its current schema as `CREATE` statements.
    #[serde(skip)]
    pub ddl: String,
    /// Its migration chain, strictly increasing versions.
    #[serde(skip)]
    pub chain: Vec<ChainMigration>,
    /// Its SQL for PostgreSQL, when it ships some (description format 3).
    #[serde(skip)]
    pub postgres: Option<EngineSql>,
}

/// A plugin's SQL for one engine: its current schema and its chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSql {
    /// Its current schema as `CREATE` statements.
    pub ddl: String,
    /// Its migration chain, strictly increasing versions.
    pub chain: Vec<ChainMigration>,
}

/// One migration of a plugin's chain.
#[derive(Debug, Clone, Serialize)]
pub struct ChainMigration {
    /// Positive, unique in the chain.
    pub version: i32,
    /// The `<name>` of `V<version>__<name>`: letters, digits and `_`.
    pub name: String,
    /// The SQL it runs.
    #[serde(skip)]
    pub sql: String,
    /// The same migration as refinery's runner takes it, made on first use.
    #[serde(skip)]
    refinery: OnceLock<Migration>,
}

impl ChainMigration {
    /// A chain step whose version (1 or more) and name (letters, digits and
    /// `_`) are valid: the host's own embedded core chain.
    pub(crate) fn new(version: i32, name: &str, sql: &str) -> ChainMigration {
        ChainMigration { version, name: name.to_owned(), sql: sql.to_owned(), refinery: OnceLock::new() }
    }

    /// The migration as refinery's runner wants it.
    pub fn to_refinery(&self) -> Migration {
        self.refinery().clone()
    }

    /// refinery's checksum of this migration (name, version and SQL).
    pub fn checksum(&self) -> u64 {
        self.refinery().checksum()
    }

    fn refinery(&self) -> &Migration {
        self.refinery.get_or_init(|| unapplied(self.version, &self.name, &self.sql))
    }

    /// `V3__add_toner_levels`: how people and refinery name it.
    pub fn label(&self) -> String {
        format!("V{}__{}", self.version, self.name)
    }
}

/// What `Migration::unapplied(&format!("V{version}__{name}"), sql)` gives,
/// without parsing the label again: refinery parses it with a Unicode
/// regular expression compiled on first use, a cost every command would pay
/// (docs/PERFORMANCE.md has the figure) for labels the host has parsed and
/// validated already (version 1 to `i32::MAX`, name `[A-Za-z0-9_]+`, both
/// of which refinery's pattern accepts). Built through refinery's own serde
/// form, with refinery's checksum (SipHash-1-3 of name, version and SQL,
/// which refinery keeps stable on purpose, so that history written by either
/// validates in the other); a property test compares the two in every field.
fn unapplied(version: i32, name: &str, sql: &str) -> Migration {
    use std::hash::{Hash, Hasher};
    let mut hasher = siphasher::sip::SipHasher13::new();
    name.hash(&mut hasher);
    version.hash(&mut hasher);
    sql.hash(&mut hasher);
    let form = serde_json::json!({
        "state": "Unapplied",
        "name": name,
        "checksum": hasher.finish(),
        "version": version,
        "prefix": "Versioned",
        "sql": sql,
        "applied_on": null,
    });
    serde_json::from_value(form).expect("refinery's serde form of an unapplied migration")
}

impl PartialEq for ChainMigration {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version && self.name == other.name && self.sql == other.sql
    }
}

impl Eq for ChainMigration {}

impl Manifest {
    /// The DDL and chain written for `dialect`, when the plugin has them.
    pub fn sql_for(&self, dialect: Dialect) -> Option<(&str, &[ChainMigration])> {
        match dialect {
            Dialect::Sqlite => Some((&self.ddl, &self.chain)),
            Dialect::Postgres => self.postgres.as_ref().map(|p| (p.ddl.as_str(), p.chain.as_slice())),
        }
    }

    /// The chain written for `dialect` (empty when the plugin has none).
    pub fn chain_for(&self, dialect: Dialect) -> &[ChainMigration] {
        self.sql_for(dialect).map_or(&[], |(_, chain)| chain)
    }

    /// The latest version of the chain: what "up to date" means.
    pub fn head(&self) -> i32 {
        self.chain.last().map_or(0, |m| m.version)
    }

    /// The table refinery keeps this plugin's history in. Safe to paste into
    /// SQL: the name was validated to `[a-z][a-z0-9_]*`.
    pub fn history_table(&self) -> String {
        history_table(&self.name)
    }

    /// Whether the plugin owns `table` (lowercase).
    pub fn owns(&self, table: &str) -> bool {
        self.tables.iter().any(|t| t == table)
    }
}

/// The optional parts of a description, from its JSON extensions object.
/// Every part has a default, so that descriptions from older plugins read as
/// they were meant; parts this host does not know are ignored (a plugin that
/// needs one understood says so with `requires_format`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct Extensions {
    /// Format 2: who to ask about the plugin.
    maintainer: Option<String>,
    /// Format 3: the plugin's SQL for engines other than SQLite, by engine.
    engines: std::collections::BTreeMap<String, EngineExtension>,
}

/// One engine's SQL as the extensions object carries it.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct EngineExtension {
    ddl: String,
    migrations: Vec<(i64, String, String)>,
}

/// What is wrong with a plugin's description.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    /// The plugin was built for a newer host.
    #[error(
        "needs a newer host: built with plugin-api {api_version}, it needs description format {needs}, \
         but this host understands formats up to {DESCRIPTION_FORMAT} (plugin-api {host_api}); \
         upgrade shopdb-host to one built with plugin-api {api_version} or later"
    )]
    NeedsNewerHost { api_version: String, needs: u32, host_api: &'static str },
    /// The description is larger than the host accepts.
    #[error("its description is {bytes} bytes, more than the {MAX_DESCRIPTION_BYTES} bytes the host accepts")]
    TooLarge { bytes: usize },
    /// A part of the description larger than any plugin needs.
    #[error("its description has {count} {what}, more than the {limit} the host accepts")]
    TooMany { what: &'static str, count: usize, limit: usize },
    /// The name would not be a safe SQL identifier.
    #[error("invalid plugin name `{0}`: a name is 1 to 63 characters of a-z, 0-9 and _, starting with a letter")]
    InvalidName(String),
    /// The name is one the host or a database engine uses for itself.
    #[error("plugin name `{name}` is reserved: {why}; choose another name")]
    ReservedName { name: String, why: &'static str },
    /// The manifest owns nothing.
    #[error("plugin '{0}' owns no tables: list the tables it creates in export_plugin!")]
    NoTables(String),
    /// A table name that is not a plain identifier.
    #[error("plugin '{plugin}' lists invalid table name `{table}`: use 1 to 63 characters of a-z, 0-9 and _, not starting with a digit")]
    InvalidTable { plugin: String, table: String },
    /// A table name in a namespace the host or a database engine keeps.
    #[error("plugin '{plugin}' lists table `{table}`, but {why}: rename the table")]
    ReservedTable { plugin: String, table: String, why: &'static str },
    /// A table listed twice.
    #[error("plugin '{plugin}' lists table `{table}` twice")]
    RepeatedTable { plugin: String, table: String },
    /// A dependency name that cannot be a plugin.
    #[error("plugin '{plugin}' depends on `{dependency}`, which is not a valid plugin name")]
    InvalidDependency { plugin: String, dependency: String },
    /// A plugin depending on itself.
    #[error("plugin '{0}' lists itself as a dependency")]
    SelfDependency(String),
    /// No migrations at all.
    #[error("plugin '{0}' has no migrations: add migrations/V1__baseline.sql")]
    NoMigrations(String),
    /// A version refinery and the history table cannot hold, or zero/negative.
    #[error("plugin '{plugin}' has migration version {version}: versions must be from 1 to {}", i32::MAX)]
    InvalidVersion { plugin: String, version: i64 },
    /// Versions not strictly increasing.
    #[error("plugin '{plugin}' has migration V{version} after V{previous}: versions must be unique and increasing")]
    VersionOrder { plugin: String, previous: i32, version: i32 },
    /// A migration name refinery would not accept.
    #[error("plugin '{plugin}' has migration V{version} named `{name}`: names are letters, digits and _")]
    InvalidMigrationName { plugin: String, version: i32, name: String },
    /// Extensions that are not a JSON object.
    #[error("plugin '{plugin}' has extensions that are not a JSON object: {reason}")]
    InvalidExtensions { plugin: String, reason: String },
}

/// The history table of plugin `name` (a validated plugin name).
pub fn history_table(name: &str) -> String {
    crate::schema::names::history_table(name)
}

/// Why `name` cannot be a plugin's name, in the words `check` uses: the
/// one rule `new-plugin` and the loader share.
pub fn check_plugin_name(name: &str) -> Result<(), ManifestError> {
    if !is_valid_plugin_name(name) {
        return Err(ManifestError::InvalidName(name.to_owned()));
    }
    match crate::schema::names::reserved_plugin_name(name) {
        Some(why) => Err(ManifestError::ReservedName { name: name.to_owned(), why }),
        None => Ok(()),
    }
}

/// Whether `name` can be a plugin name (and so part of an SQL identifier).
pub fn is_valid_plugin_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Whether `name` can be a table name in a manifest.
pub fn is_valid_table_name(name: &str) -> bool {
    let mut chars = name.chars();
    (1..=63).contains(&name.len())
        && chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn description_bytes(d: &PluginDescription) -> usize {
    let strings = [&d.api_version, &d.name, &d.version, &d.summary, &d.ddl, &d.extensions];
    strings.iter().map(|s| s.len()).sum::<usize>()
        + d.tables.iter().chain(d.depends_on.iter()).map(|s| s.len()).sum::<usize>()
        + d.migrations.iter().map(|m| m.name.len() + m.sql.len()).sum::<usize>()
}

/// A chain whose versions are from 1 to `i32::MAX` and strictly increasing
/// and whose names refinery accepts, as [`ChainMigration`]s.
fn validated_chain<'r>(
    plugin: &str,
    records: impl Iterator<Item = (i64, &'r str, &'r str)>,
) -> Result<Vec<ChainMigration>, ManifestError> {
    let plugin = plugin.to_owned();
    let mut chain: Vec<ChainMigration> = Vec::new();
    for (version, name, sql) in records {
        let version = match i32::try_from(version) {
            Ok(v) if v >= 1 => v,
            _ => return Err(ManifestError::InvalidVersion { plugin, version }),
        };
        if let Some(previous) = chain.last().map(|m| m.version) {
            if version <= previous {
                return Err(ManifestError::VersionOrder { plugin, previous, version });
            }
        }
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ManifestError::InvalidMigrationName { plugin, version, name: name.to_owned() });
        }
        chain.push(ChainMigration { version, name: name.to_owned(), sql: sql.to_owned(), refinery: OnceLock::new() });
    }
    Ok(chain)
}

impl TryFrom<&PluginDescription> for Manifest {
    type Error = ManifestError;

    fn try_from(d: &PluginDescription) -> Result<Self, Self::Error> {
        if d.requires_format > DESCRIPTION_FORMAT {
            return Err(ManifestError::NeedsNewerHost {
                api_version: d.api_version.to_string(),
                needs: d.requires_format,
                host_api: plugin_api::API_VERSION,
            });
        }
        let bytes = description_bytes(d);
        if bytes > MAX_DESCRIPTION_BYTES {
            return Err(ManifestError::TooLarge { bytes });
        }
        for (what, count, limit) in [
            ("tables", d.tables.len(), LIMITS.tables),
            ("dependencies", d.depends_on.len(), LIMITS.dependencies),
            ("migrations", d.migrations.len(), LIMITS.migrations),
            ("characters of summary", d.summary.chars().count(), LIMITS.summary_chars),
            ("characters of version", d.version.chars().count(), LIMITS.version_chars),
            ("characters of plugin-api version", d.api_version.chars().count(), LIMITS.version_chars),
        ] {
            if count > limit {
                return Err(ManifestError::TooMany { what, count, limit });
            }
        }
        let plugin = d.name.to_string();
        check_plugin_name(&plugin)?;
        if d.tables.is_empty() {
            return Err(ManifestError::NoTables(plugin));
        }
        let mut tables = Vec::with_capacity(d.tables.len());
        let mut seen = BTreeSet::new();
        for table in d.tables.iter().map(|t| t.to_string()) {
            if !is_valid_table_name(&table) {
                return Err(ManifestError::InvalidTable { plugin, table });
            }
            if let Some(why) = crate::schema::names::reserved_object_name(&table) {
                return Err(ManifestError::ReservedTable { plugin, table, why });
            }
            if !seen.insert(table.clone()) {
                return Err(ManifestError::RepeatedTable { plugin, table });
            }
            tables.push(table);
        }
        let mut depends_on = Vec::with_capacity(d.depends_on.len());
        for dependency in d.depends_on.iter().map(|t| t.to_string()) {
            if !is_valid_plugin_name(&dependency) {
                return Err(ManifestError::InvalidDependency { plugin, dependency });
            }
            if dependency == plugin {
                return Err(ManifestError::SelfDependency(plugin));
            }
            if !depends_on.contains(&dependency) {
                depends_on.push(dependency);
            }
        }
        if d.migrations.is_empty() {
            return Err(ManifestError::NoMigrations(plugin));
        }
        let records = d.migrations.iter().map(|r| (r.version, r.name.as_str(), r.sql.as_str()));
        let chain = validated_chain(&plugin, records)?;
        let extensions = match d.extensions.trim() {
            "" => Extensions::default(),
            text => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(value @ serde_json::Value::Object(_)) => serde_json::from_value(value)
                    .map_err(|e| ManifestError::InvalidExtensions { plugin: plugin.clone(), reason: e.to_string() })?,
                Ok(_) => return Err(ManifestError::InvalidExtensions { plugin, reason: "not an object".into() }),
                Err(e) => return Err(ManifestError::InvalidExtensions { plugin, reason: e.to_string() }),
            },
        };
        let postgres = match extensions.engines.get("postgres") {
            Some(sql) => {
                let records = sql.migrations.iter().map(|(v, n, s)| (*v, n.as_str(), s.as_str()));
                Some(EngineSql { ddl: sql.ddl.clone(), chain: validated_chain(&plugin, records)? })
            }
            None => None,
        };
        Ok(Manifest {
            name: plugin,
            version: d.version.to_string(),
            summary: d.summary.to_string(),
            api_version: d.api_version.to_string(),
            format: d.format,
            tables,
            depends_on,
            maintainer: extensions.maintainer,
            ddl: d.ddl.to_string(),
            chain,
            postgres,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::RString;
    use plugin_api::MigrationRecord;

    fn description() -> PluginDescription {
        PluginDescription::new(
            "printers",
            "1.0.0",
            "Printers",
            &["printers"],
            &["network"],
            "CREATE TABLE printers (id INTEGER PRIMARY KEY);",
            [MigrationRecord::new(1, "baseline", "CREATE TABLE printers (id INTEGER PRIMARY KEY);")],
        )
    }

    fn refused(change: impl FnOnce(&mut PluginDescription)) -> ManifestError {
        let mut d = description();
        change(&mut d);
        Manifest::try_from(&d).expect_err("the description should be refused")
    }

    #[test]
    fn a_good_description_becomes_a_manifest() {
        let m = Manifest::try_from(&description()).unwrap();
        assert_eq!(m.name, "printers");
        assert_eq!(m.head(), 1);
        assert_eq!(m.chain[0].to_refinery().version(), 1);
    }

    #[test]
    fn names_that_would_not_be_safe_identifiers_are_refused() {
        for bad in ["", "Printers", "1printers", "print-ers", "printers; drop table x", &"p".repeat(64)] {
            let e = refused(|d| d.name = bad.into());
            assert_eq!(e, ManifestError::InvalidName(bad.into()));
        }
        assert!(is_valid_plugin_name(&"p".repeat(63)));
    }

    #[test]
    fn names_the_host_and_the_engines_use_are_refused_with_why() {
        for reserved in ["core", "public", "shopdb_x", "shopdb", "sqlite_x", "pg_x"] {
            let e = refused(|d| d.name = reserved.into());
            assert!(matches!(&e, ManifestError::ReservedName { name, .. } if name == reserved), "{e}");
            assert!(e.to_string().contains("is reserved") && e.to_string().contains("choose another name"), "{e}");
        }
        let e = refused(|d| d.tables = vec!["pg_things".into()].into());
        assert!(e.to_string().contains("`pg_things`") && e.to_string().contains("database engines"), "{e}");
    }

    #[test]
    fn table_lists_are_checked() {
        assert!(matches!(refused(|d| d.tables = Default::default()), ManifestError::NoTables(_)));
        assert!(matches!(refused(|d| d.tables = vec!["a b".into()].into()), ManifestError::InvalidTable { .. }));
        assert!(matches!(refused(|d| d.tables = vec!["shopdb_x".into()].into()), ManifestError::ReservedTable { .. }));
        assert!(matches!(
            refused(|d| d.tables = vec!["t".into(), "t".into()].into()),
            ManifestError::RepeatedTable { .. }
        ));
    }

    #[test]
    fn chains_must_be_positive_unique_and_increasing() {
        let with = |versions: &[i64]| {
            refused(|d| d.migrations = versions.iter().map(|v| MigrationRecord::new(*v, "m", "")).collect())
        };
        assert!(matches!(with(&[0]), ManifestError::InvalidVersion { version: 0, .. }));
        assert!(matches!(with(&[-3]), ManifestError::InvalidVersion { version: -3, .. }));
        assert!(matches!(with(&[1 << 40]), ManifestError::InvalidVersion { .. }));
        assert!(matches!(with(&[1, 1]), ManifestError::VersionOrder { previous: 1, version: 1, .. }));
        assert!(matches!(with(&[2, 1]), ManifestError::VersionOrder { previous: 2, version: 1, .. }));
        assert!(matches!(refused(|d| d.migrations = Default::default()), ManifestError::NoMigrations(_)));
    }

    #[test]
    fn a_plugin_needing_a_newer_host_says_which() {
        let e = refused(|d| {
            d.requires_format = DESCRIPTION_FORMAT + 1;
            d.api_version = "1.7.0".into();
        });
        let message = e.to_string();
        assert!(message.contains("plugin-api 1.7.0"), "{message}");
        assert!(message.contains("upgrade shopdb-host"), "{message}");
    }

    #[test]
    fn oversized_descriptions_are_refused_before_anything_else() {
        let e = refused(|d| d.tables = (0..LIMITS.tables + 1).map(|i| RString::from(format!("t{i}"))).collect());
        assert!(matches!(e, ManifestError::TooMany { what: "tables", .. }), "{e}");
        let e = refused(|d| d.ddl = "x".repeat(MAX_DESCRIPTION_BYTES + 1).into());
        assert!(matches!(e, ManifestError::TooLarge { .. }), "{e}");
        let e = refused(|d| d.summary = "s".repeat(LIMITS.summary_chars + 1).into());
        assert!(e.to_string().contains("characters of summary"), "{e}");
    }

    #[test]
    fn sql_for_another_engine_travels_in_the_extensions_and_is_validated_alike() {
        let d = description();
        assert_eq!(Manifest::try_from(&d).unwrap().sql_for(Dialect::Postgres), None, "an older plugin has none");
        let with =
            d.with_engine("postgres", "CREATE TABLE printers (id bigint PRIMARY KEY);", &[(1, "baseline", "-- pg")]);
        let manifest = Manifest::try_from(&with).unwrap();
        let (ddl, chain) = manifest.sql_for(Dialect::Postgres).expect("PostgreSQL SQL");
        assert!(ddl.contains("bigint"));
        assert_eq!((chain[0].label(), chain[0].sql.as_str()), ("V1__baseline".to_owned(), "-- pg"));
        assert_eq!(manifest.sql_for(Dialect::Sqlite).map(|(_, c)| c.len()), Some(1));
        let bad = description().with_engine("postgres", "", &[(2, "later", ""), (1, "earlier", "")]);
        assert!(matches!(Manifest::try_from(&bad), Err(ManifestError::VersionOrder { previous: 2, version: 1, .. })));
        let unknown = description().with_engine("oracle", "", &[(1, "x", "")]);
        assert!(Manifest::try_from(&unknown).is_ok(), "engines this host does not know are ignored");
    }

    #[test]
    fn extensions_must_be_an_object_when_present() {
        assert!(matches!(refused(|d| d.extensions = "[1]".into()), ManifestError::InvalidExtensions { .. }));
        let mut d = description();
        d.extensions = r#"{"added_later": true}"#.into();
        assert!(Manifest::try_from(&d).is_ok(), "parts this host does not know are ignored");
        let d = description().with_maintainer("Plant IT");
        assert_eq!(Manifest::try_from(&d).unwrap().maintainer.as_deref(), Some("Plant IT"));
        assert!(matches!(
            refused(|d| d.extensions = r#"{"maintainer": 5}"#.into()),
            ManifestError::InvalidExtensions { .. }
        ));
    }
}
