//! Every row survives a table rebuild: the SQLite 12-step rebuild (new
//! table, copy, drop, rename) that a change `ALTER TABLE` cannot make needs
//! foreign keys off while it runs and checked before commit, which the host
//! does for every chain. `tests/data/fill.sql` puts a few thousand realistic
//! rows in every table first.

use rusqlite::Connection;
use shopdb_host::engine;
use shopdb_host::plugins::inventory::Inventory;
use shopdb_host::plugins::load::Plugin;
use shopdb_host::plugins::manifest::Manifest;
use shopdb_host::{core_schema as core, runs as migrate};
use shopdb_tests::{chain, repo_root, Sandbox, BUNDLED};
use std::collections::BTreeMap;

/// Every row of every plugin and core table, sorted per table (a rebuild may
/// renumber the rowids of tables without an INTEGER PRIMARY KEY).
fn all_rows(conn: &Connection) -> BTreeMap<String, Vec<String>> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .filter(|t: &String| !core::is_bookkeeping(t))
        .collect();
    let mut rows = BTreeMap::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let width = stmt.column_count();
        let mut values: Vec<String> = stmt
            .query_map([], |row| {
                (0..width)
                    .map(|i| row.get::<_, rusqlite::types::Value>(i).map(|v| format!("{v:?}")))
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap()
            .map(|r| r.unwrap().join(" | "))
            .collect();
        values.sort();
        rows.insert(table, values);
    }
    rows
}

/// The 12-step rebuild of `table`, as a plugin would write it: a new table
/// with the same definition, a copy, a drop, a rename, and the table's
/// indexes and triggers created again.
fn rebuild_sql(conn: &Connection, table: &str) -> String {
    let create: String = conn
        .query_row("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1", [table], |r| r.get(0))
        .unwrap();
    let body = &create[create.find('(').unwrap()..];
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info(?1)")
        .unwrap()
        .query_map([table], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let columns = columns.join(", ");
    let dependents: Vec<String> = conn
        .prepare(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ?1 AND type IN ('index', 'trigger') AND sql IS NOT NULL",
        )
        .unwrap()
        .query_map([table], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    format!(
        "CREATE TABLE {table}_rebuilt {body};\n\
         INSERT INTO {table}_rebuilt ({columns}) SELECT {columns} FROM {table};\n\
         DROP TABLE {table};\n\
         ALTER TABLE {table}_rebuilt RENAME TO {table};\n\
         {};",
        dependents.join(";\n")
    )
}

/// `plugin` with one more migration at the end of its chain.
fn with_extra_migration(plugin: &Plugin, name: &str, sql: &str) -> Plugin {
    let m = &plugin.manifest;
    let tables: Vec<&str> = m.tables.iter().map(String::as_str).collect();
    let deps: Vec<&str> = m.depends_on.iter().map(String::as_str).collect();
    let mut records: Vec<plugin_api::MigrationRecord> =
        m.chain.iter().map(|c| plugin_api::MigrationRecord::new(c.version.into(), &c.name, &c.sql)).collect();
    records.push(plugin_api::MigrationRecord::new(i64::from(m.head()) + 1, name, sql));
    let description =
        plugin_api::PluginDescription::new(&m.name, &m.version, &m.summary, &tables, &deps, &m.ddl, records);
    Plugin {
        file: plugin.file.clone(),
        manifest: Manifest::try_from(&description).unwrap(),
        opened: plugin.opened.clone(),
    }
}

/// The table of `plugin` that the most foreign keys point at: the hardest
/// one to rebuild.
fn most_referenced(conn: &Connection, plugin: &Plugin) -> String {
    let mut best = (0, plugin.manifest.tables[0].clone());
    for table in &plugin.manifest.tables {
        let references: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS f \
                 WHERE m.type = 'table' AND f.\"table\" = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap();
        if references > best.0 {
            best = (references, table.clone());
        }
    }
    best.1
}

#[test]
fn every_row_survives_a_table_rebuild_in_every_chain() {
    let sandbox = Sandbox::new();
    sandbox.install(&BUNDLED);
    // The bundled computers plugin ships a rebuild (V3): hold it back at V2
    // while every other plugin is installed, so its rebuild runs under data.
    {
        let mut db = engine::open_sqlite(&sandbox.database()).unwrap();
        let mut inventory = Inventory::scan(&sandbox.plugins_dir()).unwrap();
        inventory.refuse_ownership_conflicts(Default::default());
        assert!(inventory.refused.is_empty(), "{:?}", inventory.refused);
        engine::apply(db.as_mut(), &migrate::core_run(shopdb_host::schema::Dialect::Sqlite)).unwrap();
        for plugin in &inventory.plugins {
            let target = (plugin.manifest.name == "computers").then_some(2);
            engine::apply(
                db.as_mut(),
                &migrate::plugin_run(plugin, &inventory, target, None, shopdb_host::schema::Dialect::Sqlite),
            )
            .unwrap();
        }
    }
    let fill = std::fs::read_to_string(repo_root().join("tests/data/fill.sql")).unwrap();
    let conn = sandbox.open_db();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    conn.execute_batch(&format!("BEGIN; {fill}; COMMIT;")).unwrap();
    let before = all_rows(&conn);
    for (table, rows) in &before {
        assert!(!rows.is_empty(), "fill.sql leaves `{table}` empty");
    }
    let total: usize = before.values().map(Vec::len).sum();
    assert!(total > 20_000, "only {total} rows");

    // The shipped rebuild, through the binary.
    let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    assert_eq!(chain(&report, "computers")["migrations"], serde_json::json!(["V3__rebuild_computers"]));
    assert_eq!(all_rows(&conn), before, "rows changed in the computers rebuild");

    // A rebuild of the most referenced table in every other chain, applied
    // as the chain's next migration with the plugin's own policy.
    let mut db = engine::open_sqlite(&sandbox.database()).unwrap();
    let mut inventory = Inventory::scan(&sandbox.plugins_dir()).unwrap();
    inventory.refuse_ownership_conflicts(db.recorded_owners().unwrap());
    for plugin in inventory.plugins.iter().filter(|p| p.manifest.name != "computers") {
        let table = most_referenced(&conn, plugin);
        let extended = with_extra_migration(plugin, &format!("rebuild_{table}"), &rebuild_sql(&conn, &table));
        let applied = engine::apply(
            db.as_mut(),
            &migrate::plugin_run(&extended, &inventory, None, None, shopdb_host::schema::Dialect::Sqlite),
        )
        .unwrap_or_else(|e| panic!("rebuilding {table} of {}: {e}", plugin.manifest.name));
        assert_eq!(applied.len(), 1);
        assert_eq!(all_rows(&conn), before, "rows changed when {} rebuilt `{table}`", plugin.manifest.name);
    }
    let violations: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
    assert_eq!(violations, 0);
}
