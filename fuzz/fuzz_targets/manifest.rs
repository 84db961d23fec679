//! Plugin-description validation: `Manifest::try_from(&PluginDescription)`.
//!
//! A description is untrusted input (it comes from native code someone
//! dropped into the plugins directory), so whatever it holds the host must
//! refuse it with a reason, never panic, and a description it accepts must
//! obey every rule later stages rely on without checking again.
//!
//! Input: two bytes (`format`, `requires_format`), then UTF-8 text (lossy)
//! whose fields are separated by NUL: api_version, name, version, summary,
//! tables (comma-separated), depends_on (comma-separated), ddl, extensions
//! (JSON), then migrations as repeated (version, name, sql) triples.
#![no_main]

use abi_stable::std_types::{RString, RVec};
use libfuzzer_sys::fuzz_target;
use plugin_api::{MigrationRecord, PluginDescription, DESCRIPTION_FORMAT};
use shopdb_host::plugins::manifest::{
    is_valid_plugin_name, is_valid_table_name, ChainMigration, Manifest, ManifestError, LIMITS, MAX_DESCRIPTION_BYTES,
};
use shopdb_host::schema::names::{history_table, reserved_object_name, reserved_plugin_name};
use shopdb_host::schema::Dialect;

fn list(field: &str) -> RVec<RString> {
    if field.is_empty() {
        RVec::new()
    } else {
        field.split(',').map(RString::from).collect()
    }
}

fn description(data: &[u8]) -> Option<PluginDescription> {
    let (&[format, requires], rest) = data.split_first_chunk::<2>()?;
    let text = String::from_utf8_lossy(rest);
    let mut fields = text.split('\0');
    let mut next = || fields.next().unwrap_or_default().to_owned();
    let (api_version, name, version, summary) = (next(), next(), next(), next());
    let (tables, depends_on, ddl, extensions) = (list(&next()), list(&next()), next(), next());
    let rest: Vec<&str> = fields.collect();
    let migrations: RVec<MigrationRecord> = rest
        .chunks(3)
        .map(|m| {
            let v = m[0];
            let version = v.trim().parse::<i64>().unwrap_or(v.len() as i64);
            MigrationRecord::new(version, m.get(1).copied().unwrap_or_default(), m.get(2).copied().unwrap_or_default())
        })
        .collect();
    Some(PluginDescription {
        // Mostly around the formats that exist, sometimes anything.
        format: if format & 0x80 == 0 { u32::from(format % 6) } else { u32::from(format) << 24 },
        requires_format: if requires & 0x80 == 0 { u32::from(requires % 6) } else { u32::from(requires) << 24 },
        api_version: api_version.into(),
        name: name.into(),
        version: version.into(),
        summary: summary.into(),
        tables,
        depends_on,
        ddl: ddl.into(),
        migrations,
        extensions: extensions.into(),
    })
}

/// The rules every chain of a manifest keeps (docs of `ChainMigration`).
fn check_chain(chain: &[ChainMigration], given: &[(i64, String, String)]) {
    assert_eq!(chain.len(), given.len(), "every migration is kept");
    for (m, (version, name, sql)) in chain.iter().zip(given) {
        assert_eq!((i64::from(m.version), &m.name, &m.sql), (*version, name, sql));
        assert!(m.version >= 1);
        assert!(!m.name.is_empty() && m.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{}", m.name);
        let label = m.label();
        assert_eq!(label, format!("V{}__{}", m.version, m.name));
        // The host builds refinery's migration itself instead of parsing the
        // label; it must be what refinery makes of the label.
        let theirs = refinery::Migration::unapplied(&label, &m.sql).expect("refinery accepts a validated label");
        let ours = m.to_refinery();
        assert_eq!(ours.version(), theirs.version());
        assert_eq!(ours.name(), theirs.name());
        assert_eq!(ours.checksum(), theirs.checksum());
        assert_eq!(m.checksum(), theirs.checksum());
    }
    for pair in chain.windows(2) {
        assert!(pair[0].version < pair[1].version, "versions strictly increase");
    }
}

fn check_accepted(d: &PluginDescription, m: &Manifest) {
    assert!(d.requires_format <= DESCRIPTION_FORMAT);
    assert_eq!(m.name, d.name.as_str());
    assert!(is_valid_plugin_name(&m.name) && reserved_plugin_name(&m.name).is_none(), "{}", m.name);
    assert_eq!(m.history_table(), history_table(&m.name));
    assert_eq!((m.version.as_str(), m.summary.as_str()), (d.version.as_str(), d.summary.as_str()));
    assert_eq!((m.api_version.as_str(), m.format, m.ddl.as_str()), (d.api_version.as_str(), d.format, d.ddl.as_str()));
    assert!(m.summary.chars().count() <= LIMITS.summary_chars && m.version.chars().count() <= LIMITS.version_chars);

    // Tables: all of them, in order, valid, not reserved, none twice.
    let given: Vec<&str> = d.tables.iter().map(|t| t.as_str()).collect();
    assert_eq!(m.tables, given);
    assert!(!m.tables.is_empty() && m.tables.len() <= LIMITS.tables);
    for (i, t) in m.tables.iter().enumerate() {
        assert!(is_valid_table_name(t) && reserved_object_name(t).is_none(), "{t}");
        assert!(!m.tables[..i].contains(t), "{t} twice");
        assert!(m.owns(t));
    }

    // Dependencies: the given ones in order, repeats dropped, never itself.
    let mut expected: Vec<&str> = Vec::new();
    for dep in d.depends_on.iter().map(|d| d.as_str()) {
        if !expected.contains(&dep) {
            expected.push(dep);
        }
    }
    assert_eq!(m.depends_on, expected);
    for dep in &m.depends_on {
        assert!(is_valid_plugin_name(dep) && *dep != m.name, "{dep}");
    }

    let sqlite: Vec<(i64, String, String)> =
        d.migrations.iter().map(|r| (r.version, r.name.to_string(), r.sql.to_string())).collect();
    assert!(!sqlite.is_empty());
    check_chain(&m.chain, &sqlite);
    assert_eq!(m.head(), m.chain.last().map_or(0, |c| c.version));
    assert_eq!(m.chain_for(Dialect::Sqlite).len(), m.chain.len());

    // Extensions: blank, or a JSON object; its PostgreSQL SQL is kept whole.
    let extensions = d.extensions.trim();
    let value: serde_json::Value =
        if extensions.is_empty() { serde_json::json!({}) } else { serde_json::from_str(extensions).expect("valid JSON") };
    assert!(value.is_object());
    assert_eq!(m.maintainer.as_deref(), value.get("maintainer").and_then(|v| v.as_str()));
    match value.get("engines").and_then(|e| e.get("postgres")) {
        Some(pg) => {
            let postgres = m.postgres.as_ref().expect("the PostgreSQL SQL is kept");
            assert_eq!(postgres.ddl, pg.get("ddl").and_then(|v| v.as_str()).unwrap_or_default());
            let given: Vec<(i64, String, String)> = pg
                .get("migrations")
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .map(|r| {
                            let r = r.as_array().expect("a (version, name, sql) triple");
                            let text = |i: usize| r[i].as_str().expect("text").to_owned();
                            (r[0].as_i64().expect("a version"), text(1), text(2))
                        })
                        .collect()
                })
                .unwrap_or_default();
            check_chain(&postgres.chain, &given);
            assert_eq!(m.sql_for(Dialect::Postgres).map(|(ddl, _)| ddl), Some(postgres.ddl.as_str()));
        }
        None => {
            assert!(m.postgres.is_none() && m.sql_for(Dialect::Postgres).is_none());
            assert!(m.chain_for(Dialect::Postgres).is_empty());
        }
    }
    serde_json::to_string(m).expect("a manifest serializes");
}

/// Every refusal says something true about the description.
fn check_refused(d: &PluginDescription, e: &ManifestError) {
    let tables: Vec<&str> = d.tables.iter().map(|t| t.as_str()).collect();
    let deps: Vec<&str> = d.depends_on.iter().map(|t| t.as_str()).collect();
    let message = e.to_string();
    assert!(!message.is_empty());
    if d.requires_format > DESCRIPTION_FORMAT {
        assert!(matches!(e, ManifestError::NeedsNewerHost { needs, .. } if *needs == d.requires_format), "{e:?}");
        return;
    }
    match e {
        ManifestError::NeedsNewerHost { .. } => panic!("refused as too new: {e:?}"),
        ManifestError::TooLarge { bytes } => assert!(*bytes > MAX_DESCRIPTION_BYTES),
        ManifestError::TooMany { count, limit, .. } => assert!(count > limit),
        ManifestError::InvalidName(name) => assert!(name == d.name.as_str() && !is_valid_plugin_name(name)),
        ManifestError::ReservedName { name, .. } => {
            assert!(name == d.name.as_str() && is_valid_plugin_name(name) && reserved_plugin_name(name).is_some())
        }
        ManifestError::NoTables(_) => assert!(tables.is_empty()),
        ManifestError::InvalidTable { table, .. } => {
            assert!(tables.contains(&table.as_str()) && !is_valid_table_name(table))
        }
        ManifestError::ReservedTable { table, .. } => {
            assert!(tables.contains(&table.as_str()) && reserved_object_name(table).is_some())
        }
        ManifestError::RepeatedTable { table, .. } => assert!(tables.iter().filter(|t| **t == table).count() >= 2),
        ManifestError::InvalidDependency { dependency, .. } => {
            assert!(deps.contains(&dependency.as_str()) && !is_valid_plugin_name(dependency))
        }
        ManifestError::SelfDependency(name) => assert!(deps.contains(&name.as_str())),
        ManifestError::NoMigrations(_) => assert!(d.migrations.is_empty()),
        ManifestError::InvalidVersion { version, .. } => assert!(i32::try_from(*version).map_or(true, |v| v < 1)),
        ManifestError::VersionOrder { previous, version, .. } => assert!(version <= previous),
        ManifestError::InvalidMigrationName { name, .. } => {
            assert!(name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        }
        ManifestError::InvalidExtensions { .. } => assert!(!d.extensions.trim().is_empty()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(d) = description(data) else { return };
    match Manifest::try_from(&d) {
        Ok(m) => check_accepted(&d, &m),
        Err(e) => check_refused(&d, &e),
    }
});
