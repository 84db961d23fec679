//! The six bundled plugins, loaded through the real ABI: their manifests,
//! their DDL and their migration chains agree.

use rusqlite::Connection;
use shopdb_host::core_schema as core;
use shopdb_host::plugins::inventory::dependency_closure;
use shopdb_host::plugins::load::Plugin;
use shopdb_tests::{bundled, repo_root, BUNDLED};
use std::collections::BTreeSet;

fn load_all() -> Vec<Plugin> {
    BUNDLED.iter().map(|name| shopdb_tests::load_plugin(&bundled(name))).collect()
}

fn table_names(conn: &Connection) -> BTreeSet<String> {
    let mut stmt = conn
        .prepare("SELECT lower(name) FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'")
        .unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// An in-memory database holding the core schema and the DDL of every plugin
/// `plugin` depends on: what its own SQL is allowed to build on.
fn base_for(plugin: &Plugin, all: &[Plugin]) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    for migration in core::chain() {
        conn.execute_batch(&migration.sql).unwrap();
    }
    for dependency in dependency_closure(&plugin.manifest, all) {
        conn.execute_batch(&dependency.manifest.ddl).unwrap();
    }
    conn
}

#[test]
fn every_bundled_plugin_loads_through_the_abi_and_describes_itself() {
    for (plugin, name) in load_all().iter().zip(BUNDLED) {
        let m = &plugin.manifest;
        assert_eq!(m.name, name, "{} says it is '{}'", plugin.file.display(), m.name);
        assert!(!m.tables.is_empty(), "{name} owns no tables");
        assert!(!m.summary.is_empty(), "{name} has no summary");
        assert!(m.ddl.to_uppercase().contains("CREATE TABLE"), "{name} ships no DDL");
        assert_eq!(m.chain.first().map(|c| c.label()), Some("V1__baseline".to_owned()), "{name} chain");
        assert_eq!(m.api_version, plugin_api::API_VERSION);
        assert_eq!(m.format, plugin_api::DESCRIPTION_FORMAT);
    }
}

/// refinery's `embed_migrations!` over each bundled plugin's directory: the
/// reference for what `plugin_api::embed_chain!` must embed.
mod refinery_reference {
    macro_rules! reference {
        ($($name:ident: $dir:literal),*) => {
            $(pub mod $name {
                refinery::embed_migrations!($dir);
            })*
            pub fn chain(plugin: &str) -> Vec<(i64, String, String)> {
                let runner = match plugin {
                    $(stringify!($name) => $name::migrations::runner(),)*
                    other => panic!("no reference chain for '{other}'"),
                };
                let mut chain: Vec<_> = runner
                    .get_migrations()
                    .iter()
                    .map(|m| (i64::from(m.version()), m.name().to_owned(), m.sql().unwrap_or_default().to_owned()))
                    .collect();
                chain.sort();
                chain
            }
        };
    }
    reference!(
        computers: "../plugins/computers/migrations",
        equipment: "../plugins/equipment/migrations",
        network: "../plugins/network/migrations",
        notifications: "../plugins/notifications/migrations",
        printers: "../plugins/printers/migrations",
        usb: "../plugins/usb/migrations"
    );
}

#[test]
fn each_chain_is_the_one_refinery_would_embed() {
    for (plugin, name) in load_all().iter().zip(BUNDLED) {
        let handed_over: Vec<(i64, String, String)> =
            plugin.manifest.chain.iter().map(|m| (i64::from(m.version), m.name.clone(), m.sql.clone())).collect();
        assert_eq!(handed_over, refinery_reference::chain(name), "plugin {name}: the chain it hands over");
    }
}

#[test]
fn loading_several_files_gives_each_its_own_plugin() {
    // abi_stable's RootModule::load_from_file caches the first library per
    // root-module type (abi_stable issue 92); the loader must not use it.
    let names: BTreeSet<String> = load_all().into_iter().map(|p| p.manifest.name).collect();
    assert_eq!(names.len(), BUNDLED.len(), "{names:?}");
}

#[test]
fn every_bundled_plugin_has_its_scaffolding_on_disk() {
    for name in BUNDLED {
        let dir = repo_root().join("plugins").join(name);
        for file in ["Cargo.toml", "src/lib.rs", "schema.sql", "migrations/V1__baseline.sql"] {
            assert!(dir.join(file).is_file(), "plugins/{name}/{file} is missing");
        }
    }
}

#[test]
fn each_ddl_creates_exactly_the_tables_its_manifest_owns() {
    let all = load_all();
    for plugin in &all {
        let conn = base_for(plugin, &all);
        let before = table_names(&conn);
        conn.execute_batch(&plugin.manifest.ddl).unwrap_or_else(|e| panic!("{} DDL: {e}", plugin.manifest.name));
        let created: BTreeSet<String> = table_names(&conn).difference(&before).cloned().collect();
        let owned: BTreeSet<String> = plugin.manifest.tables.iter().cloned().collect();
        assert_eq!(created, owned, "plugin {}: tables created by schema.sql vs the manifest", plugin.manifest.name);
    }
}

#[test]
fn each_chain_produces_the_same_schema_as_its_ddl() {
    let all = load_all();
    for plugin in &all {
        let m = &plugin.manifest;
        let from_ddl = base_for(plugin, &all);
        from_ddl.execute_batch(&m.ddl).unwrap();
        let from_chain = base_for(plugin, &all);
        for migration in &m.chain {
            from_chain
                .execute_batch(&migration.sql)
                .unwrap_or_else(|e| panic!("{} {}: {e}", m.name, migration.label()));
        }
        let read = |conn: &Connection| shopdb_host::engine::sqlite::schema::read(conn, |t| m.owns(t)).unwrap();
        let (ddl, chain) = (read(&from_ddl), read(&from_chain));
        assert_eq!(ddl.tables.len(), m.tables.len(), "plugin {}", m.name);
        let diff = chain.diff("the chain", &ddl, "schema.sql");
        assert!(diff.is_empty(), "plugin {}: chain and DDL differ:\n{}", m.name, diff.join("\n"));
    }
}

#[test]
fn at_least_two_bundled_plugins_evolve_past_their_baseline() {
    let evolved: Vec<String> =
        load_all().into_iter().filter(|p| p.manifest.chain.len() > 1).map(|p| p.manifest.name).collect();
    assert!(evolved.len() >= 2, "only {evolved:?} have more than a baseline");
}

#[test]
fn bundled_plugins_use_real_foreign_keys_to_core_and_dependencies() {
    let all = load_all();
    for plugin in &all {
        let conn = base_for(plugin, &all);
        conn.execute_batch(&plugin.manifest.ddl).unwrap();
        let schema = shopdb_host::engine::sqlite::schema::read(&conn, |t| plugin.manifest.owns(t)).unwrap();
        let targets: BTreeSet<&str> =
            schema.tables.values().flat_map(|t| t.foreign_keys.iter().map(|k| k.table.as_str())).collect();
        assert!(
            targets.iter().any(|t| core::tables().contains(*t)),
            "plugin {} references no core table: {targets:?}",
            plugin.manifest.name
        );
        for dependency in &plugin.manifest.depends_on {
            let theirs = &all.iter().find(|p| &p.manifest.name == dependency).unwrap().manifest.tables;
            assert!(
                targets.iter().any(|t| theirs.iter().any(|x| x == t)),
                "plugin {} depends on {dependency} but references none of its tables",
                plugin.manifest.name
            );
        }
    }
}

#[test]
fn loading_files_one_after_another_never_returns_an_earlier_library() {
    // Regression: the host loads the descriptor it checked, as
    // /proc/self/fd/N. The dynamic loader remembers libraries by that name;
    // when a descriptor was closed and its number reused, dlopen returned the
    // earlier library. Each plugin is dropped before the next is loaded.
    for name in BUNDLED.iter().chain(BUNDLED.iter().rev()) {
        let plugin = shopdb_tests::load_plugin(&bundled(name));
        assert_eq!(plugin.manifest.name, *name);
        drop(plugin);
    }
}

#[test]
fn optional_parts_of_the_description_reach_the_host() {
    let computers = shopdb_tests::load_plugin(&bundled("computers"));
    assert_eq!(computers.manifest.maintainer.as_deref(), Some("Plant IT <plant-it@example.com>"));
    let usb = shopdb_tests::load_plugin(&bundled("usb"));
    assert_eq!(usb.manifest.maintainer, None);
}
