//! `shopdb-host new-plugin`: a plugin crate that builds and passes
//! `shopdb-host check` as written, outside this workspace.

use std::path::{Path, PathBuf};

/// What the new crate depends on for `plugin-api`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiSource {
    /// A local checkout of `plugin-api`.
    Path(PathBuf),
    /// A version requirement, for a registry that has `plugin-api`.
    Version(String),
}

impl ApiSource {
    /// The source this host was built from when it is still there (a
    /// development checkout), else this host's `plugin-api` version.
    pub fn default_for_this_host() -> ApiSource {
        let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugin-api");
        match built_from.canonicalize() {
            Ok(path) if path.join("Cargo.toml").is_file() => ApiSource::Path(path),
            _ => ApiSource::Version(format!("^{}", plugin_api::API_VERSION)),
        }
    }

    fn dependency(&self) -> String {
        match self {
            ApiSource::Path(path) => format!("{{ path = {:?} }}", path.display().to_string()),
            ApiSource::Version(version) => format!("{version:?}"),
        }
    }
}

/// Why the crate could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// A name (or what the scaffold would make of it) `check` would refuse,
    /// in `check`'s words.
    #[error(transparent)]
    Refused(#[from] crate::plugins::manifest::ManifestError),
    /// The target exists.
    #[error("`{}` already exists; choose another --dir or remove it", .0.display())]
    Exists(PathBuf),
    /// Writing failed.
    #[error("failed to write `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What was written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Scaffolded {
    /// The crate's directory.
    pub dir: PathBuf,
    /// The files written, relative to it.
    pub files: Vec<String>,
}

/// Writes a plugin crate called `shopdb-plugin-<name>` into `dir` (which
/// must not exist yet).
pub fn new_plugin(name: &str, dir: &Path, api: &ApiSource) -> Result<Scaffolded, ScaffoldError> {
    crate::plugins::manifest::check_plugin_name(name)?;
    let table = format!("{name}_items");
    // What the crate will describe, validated as the host validates a
    // loaded plugin: a scaffold that `check` would refuse is not written.
    let description = plugin_api::PluginDescription::new(
        name,
        "0.1.0",
        "TODO",
        &[table.as_str()],
        &[],
        &schema_sql(name, &table),
        [plugin_api::MigrationRecord::new(1, "baseline", &baseline_sql(&table))],
    );
    crate::plugins::manifest::Manifest::try_from(&description)?;
    if dir.exists() {
        return Err(ScaffoldError::Exists(dir.to_owned()));
    }
    let files = [
        ("Cargo.toml", cargo_toml(name, api)),
        ("build.rs", BUILD_RS.to_owned()),
        ("src/lib.rs", lib_rs(name, &table)),
        ("schema.sql", schema_sql(name, &table)),
        ("migrations/V1__baseline.sql", baseline_sql(&table)),
        ("README.md", readme(name)),
        (".gitignore", "/target\n".to_owned()),
    ];
    for (relative, content) in &files {
        let path = dir.join(relative);
        let write = || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, content)
        };
        write().map_err(|source| ScaffoldError::Write { path: path.clone(), source })?;
    }
    Ok(Scaffolded { dir: dir.to_owned(), files: files.iter().map(|(f, _)| (*f).to_owned()).collect() })
}

fn cargo_toml(name: &str, api: &ApiSource) -> String {
    format!(
        r#"[package]
name = "shopdb-plugin-{crate_name}"
version = "0.1.0"
edition = "2021"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
plugin-api = {api}
abi_stable = "0.11.3"

# A plugin is its own workspace, even when created inside another one.
[workspace]

# Plugins are loaded by every run of the host: keep them quick to load.
[profile.dev]
debug = "line-tables-only"

[profile.dev.package."*"]
opt-level = 1

[profile.release]
lto = true
codegen-units = 1
"#,
        crate_name = name.replace('_', "-"),
        api = api.dependency(),
    )
}

const BUILD_RS: &str = r#"//! `export_plugin!` embeds `migrations/` at compile time, but cargo only
//! watches the files it embedded: a new migration must trigger a rebuild.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=schema.sql");
}
"#;

fn lib_rs(name: &str, table: &str) -> String {
    format!(
        r#"//! shopdb plugin `{name}`. Its tables are listed here and nowhere else;
//! `schema.sql` is its current schema and `migrations/` the chain that
//! builds it. See the host's docs/PLUGINS.md for the rules.

plugin_api::export_plugin! {{
    name: "{name}",
    summary: "TODO: one line saying what this plugin holds",
    tables: ["{table}"],
    depends_on: [],
}}
"#
    )
}

fn schema_sql(name: &str, table: &str) -> String {
    format!(
        "-- The current schema of the `{name}` plugin: what migrations/ builds, written\n\
         -- out at once. `shopdb-host check` verifies that both agree.\n\n{}",
        table_ddl(table)
    )
}

fn baseline_sql(table: &str) -> String {
    table_ddl(table)
}

fn table_ddl(table: &str) -> String {
    format!(
        "CREATE TABLE {table} (\n    \
             id           INTEGER PRIMARY KEY,\n    \
             name         TEXT    NOT NULL UNIQUE CHECK (length(name) > 0),\n    \
             location_id  INTEGER REFERENCES locations (id) ON DELETE SET NULL,\n    \
             created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))\n\
         );\n\
         CREATE INDEX {table}_location ON {table} (location_id);\n"
    )
}

fn readme(name: &str) -> String {
    format!(
        r#"# shopdb plugin `{name}`

Build it and try it against a scratch database:

```sh
cargo build --release
mkdir -p plugins && cp target/release/libshopdb_plugin_{name}.so plugins/
shopdb-host check --plugins-dir plugins
shopdb-host upgrade-all --plugins-dir plugins --database /tmp/{name}.sqlite
```

- List every table the plugin creates in `src/lib.rs`, and the plugins it
  depends on (to reference or read their tables).
- Never edit a migration once it is released: add `migrations/V2__….sql`
  and update `schema.sql` to match.
- The rules the host enforces, and why, are in the host's docs/PLUGINS.md.
"#
    )
}
