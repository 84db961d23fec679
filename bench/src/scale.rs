//! Synthetic plugins, generated as manifests and fed through the same check
//! and apply code as real ones (the host library, not `.so` files: the per
//! file load cost is measured on the real plugins in section 2).
//!
//! Plugin `synth_NNNN` owns one table; every plugin but each tenth depends
//! on the one before it (chains of ten) and references its table. V1 creates
//! the table; later versions alternately add a column and insert a row, so
//! that a chain mixes schema changes and data migrations.

use crate::stats::{growth_exponent, median, ms};
use shopdb_host::checks::report as check;
use shopdb_host::engine;
use shopdb_host::plugins::inventory::Inventory;
use shopdb_host::plugins::load::Plugin;
use shopdb_host::plugins::manifest::Manifest;
use shopdb_host::runs as migrate;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

/// `n` synthetic plugins with `m` migrations each.
pub fn synthetic_plugins(n: usize, m: usize) -> Vec<Plugin> {
    (0..n).map(|i| synthetic_plugin(i, m)).collect()
}

fn synthetic_plugin(i: usize, m: usize) -> Plugin {
    let name = format!("synth_{i:04}");
    let table = format!("{name}_items");
    let parent = (i % 10 != 0).then(|| format!("synth_{:04}", i - 1));
    let reference =
        parent.as_ref().map_or_else(String::new, |p| format!(", parent_id INTEGER REFERENCES {p}_items (id)"));
    let mut columns = String::new();
    let mut records = vec![plugin_api::MigrationRecord::new(
        1,
        "baseline",
        &format!("CREATE TABLE {table} (id INTEGER PRIMARY KEY, label TEXT NOT NULL{reference});\nCREATE INDEX {table}_label ON {table} (label);"),
    )];
    for version in 2..=m as i64 {
        let sql = if version % 2 == 0 {
            columns.push_str(&format!(", c{version} TEXT"));
            format!("ALTER TABLE {table} ADD COLUMN c{version} TEXT;")
        } else {
            format!("INSERT INTO {table} (label) VALUES ('row {version}');")
        };
        records.push(plugin_api::MigrationRecord::new(version, &format!("step_{version}"), &sql));
    }
    let ddl = format!(
        "CREATE TABLE {table} (id INTEGER PRIMARY KEY, label TEXT NOT NULL{reference}{columns});\nCREATE INDEX {table}_label ON {table} (label);"
    );
    let tables = [table.as_str()];
    let deps: Vec<&str> = parent.iter().map(String::as_str).collect();
    let description = plugin_api::PluginDescription::new(&name, "1.0.0", "synthetic", &tables, &deps, &ddl, records);
    Plugin::in_memory(format!("synthetic/{name}.so"), &description).unwrap()
}

/// An inventory of already-loaded plugins, checked and ordered as a scan
/// would.
pub fn inventory_of(plugins: Vec<Plugin>) -> Inventory {
    let mut inventory = Inventory::from_plugins(PathBuf::from("synthetic"), plugins);
    inventory.refuse_ownership_conflicts(Default::default());
    assert!(inventory.refused.is_empty(), "{:?}", inventory.refused.first());
    inventory
}

/// A plugin owning one big table: V1 creates it, V2 rebuilds it (12 steps)
/// to add a constraint, V3 adds an indexed column.
pub fn big_table_plugin() -> Plugin {
    let v1 = "CREATE TABLE big_items (id INTEGER PRIMARY KEY, site_id INTEGER NOT NULL REFERENCES sites (id), code TEXT NOT NULL, value REAL);
              CREATE INDEX big_items_site ON big_items (site_id);";
    let v2 = "CREATE TABLE big_items_rebuilt (id INTEGER PRIMARY KEY, site_id INTEGER NOT NULL REFERENCES sites (id), code TEXT NOT NULL CHECK (length(code) = 13), value REAL);
              INSERT INTO big_items_rebuilt (id, site_id, code, value) SELECT id, site_id, code, value FROM big_items;
              DROP TABLE big_items;
              ALTER TABLE big_items_rebuilt RENAME TO big_items;
              CREATE INDEX big_items_site ON big_items (site_id);";
    let v3 = "ALTER TABLE big_items ADD COLUMN batch TEXT;
              CREATE INDEX big_items_batch ON big_items (batch);";
    let ddl = "CREATE TABLE big_items (id INTEGER PRIMARY KEY, site_id INTEGER NOT NULL REFERENCES sites (id), code TEXT NOT NULL CHECK (length(code) = 13), value REAL, batch TEXT);
               CREATE INDEX big_items_site ON big_items (site_id);
               CREATE INDEX big_items_batch ON big_items (batch);";
    let records = [
        plugin_api::MigrationRecord::new(1, "baseline", v1),
        plugin_api::MigrationRecord::new(2, "code_check", v2),
        plugin_api::MigrationRecord::new(3, "batch", v3),
    ];
    let description =
        plugin_api::PluginDescription::new("bigdata", "1.0.0", "one big table", &["big_items"], &[], ddl, records);
    Plugin {
        file: PathBuf::from("synthetic/bigdata.so"),
        manifest: Manifest::try_from(&description).unwrap(),
        opened: None,
    }
}

/// The floor for a fresh apply: the same SQL (core chain, then every
/// plugin's chain in dependency order), one transaction per chain, nothing
/// else.
fn floor_apply(inventory: &Inventory) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("floor.sqlite")).unwrap();
    let start = Instant::now();
    let core: Vec<&str> = shopdb_host::core_schema::chain().iter().map(|m| m.sql.as_str()).collect();
    conn.execute_batch(&format!("BEGIN IMMEDIATE; {}; COMMIT;", core.join(";\n"))).unwrap();
    for plugin in &inventory.plugins {
        let sql: Vec<&str> = plugin.manifest.chain.iter().map(|m| m.sql.as_str()).collect();
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {}; COMMIT;", sql.join(";\n"))).unwrap();
    }
    start.elapsed().as_secs_f64()
}

pub fn run(report: &mut String, quick: bool) {
    let sizes: &[usize] = if quick { &[10, 100] } else { &[10, 100, 1000] };
    let _ = writeln!(report, "## 3. Scale: N synthetic plugins × M migrations (in-process, new database file)\n");
    let _ = writeln!(
        report,
        "`check` is every check `shopdb-host check` runs (scratch databases included); fresh and no-op are \
         `upgrade-all`; the floor applies the same SQL with nothing around it. Runs per point: 3, 1 where N×M ≥ 20,000. \
         Fresh applies are measured up to N×M = 20,000 (beyond, SQLite's own `ALTER TABLE` cost dominates: it re-reads \
         the whole schema on every `ADD COLUMN`, for the floor as much as for the host).\n"
    );
    let _ = writeln!(
        report,
        "| N | M | N×M | check | no-op apply | check + no-op | µs per migration (check + no-op) | fresh apply | floor | fresh host/floor | fresh − floor per migration |\n|---|---|---|---|---|---|---|---|---|---|---|"
    );
    let mut points = (Vec::new(), Vec::new(), Vec::new());
    for &n in sizes {
        for &m in &[1usize, 20, 100] {
            let units = n * m;
            let runs = if units >= 20_000 { 1 } else { 3 };
            let with_fresh = units <= 20_000;
            let (mut checks, mut fresh, mut noop, mut floors) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for _ in 0..runs {
                let inventory = inventory_of(synthetic_plugins(n, m));
                let start = Instant::now();
                let verdicts = check::check_all(
                    &inventory,
                    &shopdb_host::engine::DatabaseTarget::Sqlite(":memory:".into()),
                    None,
                    None,
                )
                .unwrap();
                checks.push(start.elapsed().as_secs_f64());
                assert!(verdicts.passed());
                let dir = tempfile::tempdir().unwrap();
                let mut db = engine::open_sqlite(&dir.path().join("scale.sqlite")).unwrap();
                if with_fresh {
                    let start = Instant::now();
                    assert!(migrate::upgrade_all(db.as_mut(), &inventory, false).unwrap().succeeded());
                    fresh.push(start.elapsed().as_secs_f64());
                    floors.push(floor_apply(&inventory));
                } else {
                    // Installed the quick way (from the DDL) to measure the no-op run.
                    assert!(migrate::bootstrap(db.as_mut(), &inventory, false).unwrap().succeeded());
                }
                let start = Instant::now();
                assert!(migrate::upgrade_all(db.as_mut(), &inventory, false).unwrap().succeeded());
                noop.push(start.elapsed().as_secs_f64());
            }
            let (c, o) = (median(&checks), median(&noop));
            let per = (c + o) / units as f64 * 1e6;
            let (fresh_text, floor_text, ratio, overhead) = if with_fresh {
                let (f, fl) = (median(&fresh), median(&floors));
                points.1.push((units as f64, f - fl));
                (ms(f), ms(fl), format!("{:.2}", f / fl), format!("{:.0} µs", (f - fl) / units as f64 * 1e6))
            } else {
                ("–".into(), "–".into(), "–".into(), "–".into())
            };
            let _ = writeln!(
                report,
                "| {n} | {m} | {units} | {} | {} | {} | {per:.1} | {fresh_text} | {floor_text} | {ratio} | {overhead} |",
                ms(c),
                ms(o),
                ms(c + o)
            );
            points.0.push((units as f64, c));
            points.2.push((units as f64, o));
        }
    }
    let _ = writeln!(
        report,
        "\nFitted growth (time ∝ (N×M)^b, least squares over the grid): check b = {:.2}, no-op apply b = {:.2}, \
         host's own share of a fresh apply (fresh − floor) b = {:.2}. Linear is b = 1.\n",
        growth_exponent(&points.0),
        growth_exponent(&points.2),
        growth_exponent(&points.1)
    );
    let _ = writeln!(report, "Target: N=1000 × M=20 check + no-op apply ≤ 1.5 s, growth linear.\n");
}

/// One point of the grid, for profiling: prints check, fresh and no-op times.
pub fn point(n: usize, m: usize) {
    let inventory = inventory_of(synthetic_plugins(n, m));
    let dir = tempfile::tempdir().unwrap();
    let mut db = engine::open_sqlite(&dir.path().join("scale.sqlite")).unwrap();
    let start = Instant::now();
    assert!(check::check_all(&inventory, &shopdb_host::engine::DatabaseTarget::Sqlite(":memory:".into()), None, None)
        .unwrap()
        .passed());
    println!("check {:?}", start.elapsed());
    if std::env::var_os("CHECK_ONLY").is_some() {
        return;
    }
    let start = Instant::now();
    assert!(migrate::upgrade_all(db.as_mut(), &inventory, false).unwrap().succeeded());
    let fresh = start.elapsed();
    let start = Instant::now();
    assert!(migrate::upgrade_all(db.as_mut(), &inventory, false).unwrap().succeeded());
    println!("fresh {fresh:?} no-op {:?}", start.elapsed());
}
