//! Names: the host's own namespace, every object name owned by one plugin,
//! and ownership of everything a chain has ever created (issue 13, parts 1
//! to 3). Each test is a case that broke a database or refused a good
//! upgrade before.

use serde_json::{json, Value};
use shopdb_tests::{chain, refused_and_untouched, Sandbox};

/// A scripted plugin `name` owning `tables`, whose DDL is `ddl` and whose
/// chain is `migrations` (`[[version, name, sql], …]`).
fn plugin(name: &str, tables: &[&str], ddl: &str, migrations: Value) -> Value {
    json!({"name": name, "tables": tables, "ddl": ddl, "migrations": migrations})
}

/// A one-table plugin `name` (table `<name>_items`).
fn one_table(name: &str) -> Value {
    let ddl = format!("CREATE TABLE {name}_items (id INTEGER PRIMARY KEY, label TEXT);");
    plugin(name, &[&format!("{name}_items")], &ddl, json!([[1, "baseline", ddl]]))
}

fn count(sandbox: &Sandbox, sql: &str) -> i64 {
    sandbox.open_db().query_row(sql, [], |r| r.get(0)).unwrap()
}

// 1. The host's own namespace.

#[test]
fn a_plugin_named_like_the_hosts_own_records_breaks_nothing() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    // Its history table is `shopdb_history_marks`, which was the host's
    // record of stamps before core V5.
    sandbox.install_scripted("marks", one_table("marks"));
    let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    assert_eq!(chain(&report, "marks")["status"], "applied");
    sandbox.host(&["stamp", "--plugin", "computers", "--version", "3"]).succeeds();

    let status = sandbox.host(&["status", "--json"]).succeeds().json();
    assert_eq!(chain(&status, "marks")["applied"], 1, "{status:#}");
    assert_eq!(chain(&status, "computers")["applied"], 3);
    sandbox.host(&["check"]).succeeds();
    let bootstrap = sandbox.host(&["bootstrap", "--json"]).exits(1).json();
    for name in ["marks", "computers"] {
        let reason = chain(&bootstrap, name)["reason"].as_str().unwrap().to_owned();
        assert!(reason.contains("is already installed"), "{name}: {reason}");
    }
    assert_eq!(count(&sandbox, "SELECT count(*) FROM shopdb_history_marks WHERE name = 'baseline'"), 1);
    assert_eq!(count(&sandbox, "SELECT count(*) FROM shopdb_core_marks WHERE plugin = 'computers'"), 1);
}

#[test]
fn names_the_host_keeps_for_itself_are_refused_at_load_and_by_new_plugin_in_the_same_words() {
    let sandbox = Sandbox::new();
    for name in ["core", "shopdb_x", "sqlite_x", "pg_x"] {
        sandbox.install_scripted(name, one_table(name));
    }
    sandbox.install(&["computers"]);
    let check = sandbox.host(&["check", "--json"]).exits(1).json();
    let report = sandbox.host(&["upgrade-all", "--json"]).exits(1).json();
    let cores = report["chains"].as_array().unwrap().iter().filter(|c| c["name"] == "core").count();
    assert_eq!(cores, 1, "one chain is called core: {report:#}");
    let status = sandbox.host(&["status", "--json"]).succeeds().json();
    assert_eq!(status["chains"].as_array().unwrap().iter().filter(|c| c["name"] == "core").count(), 1);

    for name in ["core", "shopdb_x", "sqlite_x", "pg_x"] {
        let file = format!("lib{name}.so");
        let verdict =
            check["plugins"].as_array().unwrap().iter().find(|v| v["file"].as_str().unwrap().ends_with(&file)).unwrap();
        let reason = verdict["reason"].as_str().unwrap();
        assert!(reason.contains(&format!("plugin name `{name}` is reserved")), "{reason}");
        // The scaffold refuses it before writing anything, with check's words.
        let dir = sandbox.path().join(format!("new-{name}"));
        let scaffold = sandbox.host(&["new-plugin", name, "--dir", dir.to_str().unwrap()]).exits(2);
        assert!(scaffold.stderr.contains(reason), "{}\ncheck said: {reason}", scaffold.report());
        assert!(!dir.exists());
    }
}

#[test]
fn a_database_written_by_the_first_release_upgrades_and_keeps_its_history_and_audit() {
    let sandbox = Sandbox::new();
    let dump = std::fs::read_to_string(shopdb_tests::repo_root().join("tests/data/written-by-0.1.0.sql")).unwrap();
    sandbox.open_db().execute_batch(&dump).unwrap();
    sandbox.install(&shopdb_tests::BUNDLED);
    let audit_before = count(&sandbox, "SELECT count(*) FROM shopdb_audit");
    assert_eq!(audit_before, 10);

    // Read-only commands read the old layout as it is.
    let status = sandbox.host(&["status", "--json"]).succeeds().json();
    assert_eq!(chain(&status, "core")["applied"], 4);
    assert_eq!(chain(&status, "core")["pending"], json!(["V5__host_namespace", "V6__checked_digest"]));
    assert_eq!(chain(&status, "computers")["marks"][0]["how"], "stamped");
    let history = sandbox.host(&["history", "--json"]).succeeds().json();
    assert_eq!(history["entries"].as_array().unwrap().len(), 10);
    sandbox.host(&["check"]).succeeds();

    let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    assert_eq!(chain(&report, "core")["migrations"], json!(["V5__host_namespace", "V6__checked_digest"]));
    for plugin in shopdb_tests::BUNDLED {
        assert_eq!(chain(&report, plugin)["status"], "up_to_date", "{plugin}: {report:#}");
    }
    let history = sandbox.host(&["history", "--json"]).succeeds().json();
    let entries = history["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 11, "the old record and the core's upgrade");
    assert_eq!(entries[10]["plugin"], "core");
    let uninstalled = entries.iter().find(|e| e["outcome"] == "uninstalled").expect("the uninstall is on record");
    assert!(uninstalled["reason"].as_str().unwrap().starts_with("dropped usb_allowlist"), "{uninstalled:#}");
    let status = sandbox.host(&["status", "--json"]).succeeds().json();
    assert_eq!(chain(&status, "computers")["marks"][0]["version"], 3);
    // Tables were recorded before; their indexes are now too.
    assert_eq!(
        count(
            &sandbox,
            "SELECT count(*) FROM shopdb_core_owners WHERE name = 'printers_model' AND plugin = 'printers'"
        ),
        1
    );
    assert_eq!(count(&sandbox, "SELECT count(*) FROM sqlite_master WHERE name IN ('shopdb_audit', 'shopdb_table_owners', 'shopdb_plugins', 'shopdb_history_marks')"), 0);
    assert_eq!(count(&sandbox, "SELECT count(*) FROM sites WHERE code = 'hq'"), 1, "rows are kept");
    let again = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    assert_eq!(chain(&again, "core")["status"], "up_to_date");
    // Its plugins were applied by a host that recorded no verdict: `check`
    // checks them all again.
    let check = sandbox.host(&["check", "--json"]).succeeds().json();
    let plugins = check["plugins"].as_array().unwrap();
    assert_eq!(plugins.len(), shopdb_tests::BUNDLED.len());
    assert!(plugins.iter().all(|v| v["status"] == "passed" && v["recorded"] == false), "{check:#}");
}

// 2. Every object name is owned.

#[test]
fn an_index_named_like_another_plugins_index_is_refused_before_anything_is_written() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers", "equipment", "network", "printers"]);
    sandbox.host(&["upgrade-all"]).succeeds();
    let ddl = "CREATE TABLE gizmos (id INTEGER PRIMARY KEY, model_id INTEGER); CREATE INDEX printers_model ON gizmos (model_id);";
    sandbox.install_scripted("gizmos", plugin("gizmos", &["gizmos"], ddl, json!([[1, "baseline", ddl]])));
    refused_and_untouched(
        &sandbox,
        "gizmos",
        &[
            "CREATE INDEX `printers_model` ON `gizmos`",
            "`printers_model` is plugin 'printers''s",
            "choose another name",
        ],
    );

    // The name is free again once its owner is uninstalled.
    sandbox.uninstall_file("libshopdb_plugin_printers.so");
    sandbox.host(&["uninstall", "--plugin", "printers", "--yes"]).succeeds();
    assert_eq!(count(&sandbox, "SELECT count(*) FROM shopdb_core_owners WHERE plugin = 'printers'"), 0);
    assert_eq!(chain(&sandbox.host(&["upgrade-all", "--json"]).succeeds().json(), "gizmos")["status"], "applied");
    assert_eq!(count(&sandbox, "SELECT count(*) FROM shopdb_core_owners WHERE name = 'printers_model' AND plugin = 'gizmos' AND kind = 'index'"), 1);
}

#[test]
fn an_index_two_new_plugins_both_create_or_the_cores_is_refused_on_a_fresh_database() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    for (stem, index) in [("thief", "computers_status"), ("squatter", "people_site")] {
        let table = format!("{stem}_items");
        let ddl = format!("CREATE TABLE {table} (id INTEGER PRIMARY KEY); CREATE INDEX {index} ON {table} (id);");
        sandbox.install_scripted(stem, plugin(stem, &[&table], &ddl, json!([[1, "baseline", ddl]])));
    }
    let report = sandbox.host(&["upgrade-all", "--json"]).exits(1).json();
    // Two files claim one name, and neither is installed: both are refused,
    // as for a table two files claim.
    for (name, other) in [("computers", "thief"), ("thief", "computers")] {
        let reason = chain(&report, name)["reason"].as_str().unwrap().to_owned();
        assert!(
            reason.contains("index `computers_status`") && reason.contains(&format!("plugin '{other}'")),
            "{reason}"
        );
    }
    let squatter = chain(&report, "squatter")["reason"].as_str().unwrap().to_owned();
    assert!(squatter.contains("`people_site` is the core schema's"), "{squatter}");
    assert_eq!(
        count(
            &sandbox,
            "SELECT count(*) FROM sqlite_master WHERE name IN ('thief_items', 'squatter_items', 'computers')"
        ),
        0
    );
}

#[test]
fn a_working_table_both_new_plugins_create_is_refused_in_both() {
    let sandbox = Sandbox::new();
    for name in ["alpha", "beta"] {
        let ddl = format!("CREATE TABLE {name}_items (id INTEGER PRIMARY KEY);");
        let work = "CREATE TABLE staging (id INTEGER); DROP TABLE staging;";
        sandbox.install_scripted(
            name,
            plugin(name, &[&format!("{name}_items")], &ddl, json!([[1, "baseline", ddl], [2, "work", work]])),
        );
    }
    let report = sandbox.host(&["upgrade-all", "--json"]).exits(1).json();
    for (name, other) in [("alpha", "beta"), ("beta", "alpha")] {
        let reason = chain(&report, name)["reason"].as_str().unwrap().to_owned();
        assert!(reason.contains("table `staging` (created by its V2)"), "{reason}");
        assert!(reason.contains(&format!("plugin '{other}'")), "{reason}");
    }
}

// 3. What a plugin owns is everything its chain ever created.

/// The `accounts` plugin: release 1 creates `accounts_nonce` in V2 and lists
/// it; release 2 drops it in V3 and no longer lists it.
fn accounts(release: u32) -> Value {
    let v1 = "CREATE TABLE accounts (id INTEGER PRIMARY KEY, login TEXT NOT NULL UNIQUE);";
    let v2 = "CREATE TABLE accounts_nonce (account_id INTEGER NOT NULL REFERENCES accounts (id), nonce TEXT NOT NULL);
              CREATE INDEX accounts_nonce_account ON accounts_nonce (account_id);";
    let v3 = "DROP TABLE accounts_nonce; ALTER TABLE accounts ADD COLUMN nonce TEXT;";
    match release {
        1 => plugin(
            "accounts",
            &["accounts", "accounts_nonce"],
            &format!("{v1}\n{v2}"),
            json!([[1, "baseline", v1], [2, "nonce", v2]]),
        ),
        _ => plugin(
            "accounts",
            &["accounts"],
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, login TEXT NOT NULL UNIQUE, nonce TEXT);",
            json!([[1, "baseline", v1], [2, "nonce", v2], [3, "nonce_in_accounts", v3]]),
        ),
    }
}

#[test]
fn upgrading_from_an_older_release_that_listed_a_table_now_dropped_works() {
    let sandbox = Sandbox::new();
    sandbox.install_scripted("accounts", accounts(1));
    sandbox.host(&["upgrade-all"]).succeeds();
    sandbox.open_db().execute_batch("INSERT INTO accounts (login) VALUES ('ada')").unwrap();

    sandbox.install_scripted("accounts", accounts(2));
    sandbox.host(&["check"]).succeeds();
    let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    assert_eq!(chain(&report, "accounts")["migrations"], json!(["V3__nonce_in_accounts"]));
    assert_eq!(count(&sandbox, "SELECT count(*) FROM accounts WHERE login = 'ada'"), 1);
    // The dropped table stays the plugin's name: nobody else may take it.
    assert_eq!(
        count(
            &sandbox,
            "SELECT count(*) FROM shopdb_core_owners WHERE name = 'accounts_nonce' AND plugin = 'accounts'"
        ),
        1
    );
    let ddl = "CREATE TABLE accounts_nonce (id INTEGER PRIMARY KEY);";
    sandbox.install_scripted("squatter", plugin("squatter", &["accounts_nonce"], ddl, json!([[1, "baseline", ddl]])));
    refused_and_untouched(&sandbox, "squatter", &["claims table `accounts_nonce`, which belongs to plugin 'accounts'"]);
}

#[test]
fn a_fresh_install_of_the_newer_release_records_what_its_chain_dropped_and_may_stop_midway() {
    let sandbox = Sandbox::new();
    sandbox.install_scripted("accounts", accounts(2));
    // At V2 the chain still has `accounts_nonce`: not a table left behind.
    sandbox.host(&["migrate", "--plugin", "accounts", "--target", "2"]).succeeds();
    assert_eq!(count(&sandbox, "SELECT count(*) FROM sqlite_master WHERE name = 'accounts_nonce'"), 1);
    sandbox.host(&["upgrade-all"]).succeeds();
    assert_eq!(count(&sandbox, "SELECT count(*) FROM sqlite_master WHERE name = 'accounts_nonce'"), 0);
    let owned: Vec<String> =
        sandbox.column("SELECT name || ':' || kind FROM shopdb_core_owners WHERE plugin = 'accounts' ORDER BY name");
    assert_eq!(owned, ["accounts:table", "accounts_nonce:table", "accounts_nonce_account:index"]);
}
