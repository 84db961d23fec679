//! The host's refusals: every plugin that would corrupt a shop database is
//! refused with a reason naming the culprit, nothing is applied for it, and
//! good plugins beside it keep working.
//!
//! Most bad plugins here are the `scripted` fixture (a real plugin library
//! that describes itself from the JSON file beside it), so that each test
//! shows the exact SQL or manifest it feeds the host.

use serde_json::{json, Value};
use shopdb_tests::{bundled, chain, fixture, refused_and_untouched, Sandbox};
use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};

/// A sandbox where `computers` is already applied: the baseline a refused
/// plugin must leave untouched.
fn with_computers_applied() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    sandbox.host(&["upgrade-all"]).succeeds();
    sandbox
}

/// A one-table plugin `gizmos` whose V2 is `attack`.
fn gizmos_with(attack: &str, depends_on: &[&str]) -> Value {
    json!({
        "name": "gizmos",
        "tables": ["gizmos"],
        "depends_on": depends_on,
        "ddl": "CREATE TABLE gizmos (id INTEGER PRIMARY KEY, label TEXT);",
        "migrations": [
            [1, "baseline", "CREATE TABLE gizmos (id INTEGER PRIMARY KEY, label TEXT);"],
            [2, "attack", attack],
        ],
    })
}

fn lib(stem: &str) -> String {
    format!("{DLL_PREFIX}{stem}{DLL_SUFFIX}")
}

// 1. Not a plugin, or a broken file.

#[test]
fn files_that_are_not_plugins_are_refused_by_name_and_the_host_survives() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    let real = std::fs::read(bundled("computers")).unwrap();
    sandbox.write_plugin_file(&lib("empty"), b"");
    sandbox.write_plugin_file(&lib("text"), b"#!/bin/sh\necho I am not a library\n");
    // A truncated copy of a real plugin: handed to dlopen it would SIGBUS.
    sandbox.write_plugin_file(&lib("truncated"), &real[..real.len() / 2]);
    // A real plugin rewritten to claim another machine (EM_ARM).
    let mut arm = real.clone();
    arm[18..20].copy_from_slice(&40u16.to_le_bytes());
    sandbox.write_plugin_file(&lib("foreign"), &arm);
    sandbox.install_file(&fixture("not-a-plugin"));

    let run = sandbox.host(&["upgrade-all", "--json"]).exits(1);
    let report = run.json();
    assert_eq!(chain(&report, "computers")["status"], "applied", "good plugins still apply");
    let expect = [
        ("empty", "not a shopdb plugin (the file is empty)"),
        ("text", "not a shopdb plugin (not an ELF shared library)"),
        ("truncated", "not a shopdb plugin (the file is truncated or corrupt"),
        ("foreign", "not a shopdb plugin (a shared library for another machine (EM_ARM)"),
        ("fixture_not_a_plugin", "does not export a shopdb_plugin root module"),
    ];
    for (stem, text) in expect {
        let outcome = chain(&report, &lib(stem));
        assert_eq!(outcome["status"], "refused");
        assert!(outcome["reason"].as_str().unwrap().contains(text), "{stem}: {outcome}");
        assert!(outcome["file"].as_str().unwrap().ends_with(&lib(stem)), "{outcome}");
    }
    let check = sandbox.host(&["check"]).exits(1);
    assert!(
        check
            .stdout
            .contains(&format!("{}: not a shopdb plugin", sandbox.plugins_dir().join(lib("truncated")).display())),
        "{}",
        check.report()
    );
}

#[test]
fn a_panic_inside_a_plugin_does_not_cross_the_boundary() {
    let sandbox = with_computers_applied();
    let mut spec = gizmos_with("SELECT 1", &[]);
    spec["panic"] = json!("the schema generator exploded");
    sandbox.install_scripted("gizmos", spec);
    let run = sandbox.host(&["upgrade-all", "--json"]).exits(1);
    let refused = run.json()["chains"].as_array().unwrap().iter().find(|c| c["status"] == "refused").cloned().unwrap();
    let reason = refused["reason"].as_str().unwrap();
    assert!(reason.contains("panicked while describing itself: the schema generator exploded"), "{reason}");
}

// 3. Invalid manifests.

#[test]
fn invalid_manifests_are_refused_with_what_is_wrong() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("bad_name", json!({"name": "Bad-Name"}), "invalid plugin name `Bad-Name`"),
        ("no_tables", json!({"tables": []}), "owns no tables"),
        ("bad_table", json!({"tables": ["gizmos; DROP TABLE sites"]}), "invalid table name `gizmos; DROP TABLE sites`"),
        (
            "repeated",
            json!({"migrations": [[1, "baseline", "SELECT 1"], [1, "again", "SELECT 1"]]}),
            "V1 after V1: versions must be unique and increasing",
        ),
        ("zero", json!({"migrations": [[0, "baseline", "SELECT 1"]]}), "migration version 0: versions must be from 1"),
        ("disorder", json!({"migrations": [[2, "later", "SELECT 1"], [1, "baseline", "SELECT 1"]]}), "V1 after V2"),
        (
            "future",
            json!({"requires_format": 99, "api_version": "1.9.0"}),
            "needs a newer host: built with plugin-api 1.9.0",
        ),
    ];
    let sandbox = with_computers_applied();
    for (stem, change, _) in &cases {
        let mut spec = gizmos_with("SELECT 1", &[]);
        for (key, value) in change.as_object().unwrap() {
            spec[key] = value.clone();
        }
        sandbox.install_scripted(stem, spec);
    }
    let before = sandbox.snapshot();
    let report = sandbox.host(&["upgrade-all", "--json"]).exits(1).json();
    for (stem, _, text) in &cases {
        // Named by the plugin when it got as far as saying its name, else by its file.
        let outcome = report["chains"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["file"].as_str().is_some_and(|f| f.ends_with(&lib(stem))))
            .unwrap_or_else(|| panic!("no chain for {stem} in {report:#}"));
        assert_eq!(outcome["status"], "refused", "{stem}: {outcome}");
        assert!(outcome["reason"].as_str().unwrap().contains(text), "{stem}: {outcome}");
    }
    assert_eq!(sandbox.snapshot(), before);
}

// 4. Duplicates.

#[test]
fn two_files_declaring_one_plugin_are_both_refused_and_both_named() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    let copy = sandbox.plugins_dir().join(lib("computers_copy"));
    std::fs::copy(bundled("computers"), &copy).unwrap();
    shopdb_tests::set_mode(&copy, 0o755);
    let run = sandbox.host(&["upgrade-all", "--json"]).exits(1);
    let chains = run.json()["chains"].as_array().unwrap().clone();
    let refused: Vec<&Value> = chains.iter().filter(|c| c["name"] == "computers").collect();
    assert_eq!(refused.len(), 2, "{}", run.report());
    for outcome in refused {
        assert_eq!(outcome["status"], "refused");
        let reason = outcome["reason"].as_str().unwrap();
        assert!(reason.contains(&lib("computers_copy")) && reason.contains("libshopdb_plugin_computers"), "{reason}");
    }
    assert!(sandbox.open_db().prepare("SELECT 1 FROM computers").is_err(), "nothing of computers was applied");
}

// 5. Ownership.

#[test]
fn a_plugin_claiming_another_plugins_table_or_a_core_table_is_refused() {
    let sandbox = with_computers_applied();
    let mut thief = gizmos_with("SELECT 1", &[]);
    thief["name"] = json!("thief");
    thief["tables"] = json!(["gizmos", "computers"]);
    sandbox.install_scripted("thief", thief);
    refused_and_untouched(&sandbox, "thief", &["claims table `computers`", "belongs to plugin 'computers'"]);

    let sandbox = with_computers_applied();
    let mut squatter = gizmos_with("SELECT 1", &[]);
    squatter["name"] = json!("squatter");
    squatter["tables"] = json!(["gizmos", "sites"]);
    sandbox.install_scripted("squatter", squatter);
    refused_and_untouched(&sandbox, "squatter", &["claims table `sites`", "core table"]);
}

#[test]
fn two_new_plugins_claiming_one_table_are_both_refused_naming_both() {
    let sandbox = with_computers_applied();
    let mut one = gizmos_with("SELECT 1", &[]);
    one["name"] = json!("one");
    let mut two = gizmos_with("SELECT 1", &[]);
    two["name"] = json!("two");
    sandbox.install_scripted("one", one);
    sandbox.install_scripted("two", two);
    for plugin in ["one", "two"] {
        let reason = refused_and_untouched(&sandbox, plugin, &["table `gizmos` is claimed by more than one plugin"]);
        assert!(reason.contains("'one'") && reason.contains("'two'"), "{reason}");
    }
}

#[test]
fn ownership_outlives_the_plugin_file() {
    let sandbox = with_computers_applied();
    let mut legacy = gizmos_with("SELECT 1", &[]);
    legacy["name"] = json!("legacy");
    sandbox.install_scripted("legacy", legacy);
    sandbox.host(&["upgrade-all"]).succeeds();
    let owners: Vec<(String, String)> = sandbox
        .open_db()
        .prepare("SELECT name, plugin FROM shopdb_core_owners WHERE plugin = 'legacy' AND kind = 'table'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(owners, [("gizmos".to_owned(), "legacy".to_owned())]);

    sandbox.uninstall_file(&lib("legacy"));
    let status = sandbox.host(&["status", "--json"]).succeeds().json();
    assert_eq!(status["missing"], json!([{"name": "legacy", "tables": ["gizmos"]}]));
    sandbox
        .host(&["status"])
        .succeeds()
        .stdout_has("missing from the plugins directory")
        .stdout_has("legacy (tables: gizmos)");

    let mut usurper = gizmos_with("SELECT 1", &[]);
    usurper["name"] = json!("usurper");
    sandbox.install_scripted("usurper", usurper);
    refused_and_untouched(
        &sandbox,
        "usurper",
        &["claims table `gizmos`, which belongs to plugin 'legacy'", "no longer in the plugins directory"],
    );
}

#[test]
fn a_file_refused_at_load_is_checked_by_its_name_and_its_dependents_say_why_they_wait() {
    let sandbox = Sandbox::new();
    let mut broken = gizmos_with("SELECT 1", &[]);
    broken["migrations"] = json!([[1, "baseline", "SELECT 1"], [1, "again", "SELECT 1"]]);
    sandbox.install_scripted("gizmos", broken);
    let mut child = gizmos_with("SELECT 1", &["gizmos"]);
    child["name"] = json!("gadgets");
    child["tables"] = json!(["gadgets"]);
    child["ddl"] = json!("CREATE TABLE gadgets (id INTEGER PRIMARY KEY);");
    child["migrations"] = json!([[1, "baseline", "CREATE TABLE gadgets (id INTEGER PRIMARY KEY);"]]);
    sandbox.install_scripted("gadgets", child);

    let check = sandbox.host(&["check", "--plugin", "gizmos"]).exits(1);
    assert!(check.stdout.contains("versions must be unique and increasing"), "{}", check.report());
    let check = sandbox.host(&["check", "--plugin", "gadgets"]).exits(1);
    assert!(check.stdout.contains("blocked: depends on 'gizmos', which was refused"), "{}", check.report());
    let report = sandbox.host(&["upgrade-all", "--json"]).exits(1).json();
    assert_eq!(chain(&report, "gadgets")["status"], "blocked", "{report:#}");
    assert_eq!(chain(&report, "gadgets")["by"], "gizmos");
    assert!(!report.to_string().contains("not installed"), "{report:#}");
}

#[test]
fn a_table_the_chain_leaves_but_the_manifest_does_not_list_is_refused_with_the_fix() {
    let sandbox = Sandbox::new();
    let mut spec = gizmos_with("CREATE TABLE gizmos_extra (id INTEGER PRIMARY KEY)", &[]);
    spec["name"] = json!("b4a");
    sandbox.install_scripted("b4a", spec);
    let report = sandbox.host(&["upgrade-all", "--json"]).exits(1).json();
    let reason = chain(&report, "b4a")["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("its chain leaves table `gizmos_extra` (created by V2)"), "{reason}");
    assert!(
        reason.contains("add it to `tables` in export_plugin!") && reason.contains("or drop it in a later migration"),
        "{reason}"
    );
    assert!(!reason.contains("the run of"), "{reason}");
}

// 6 and 7. Drift.

#[test]
fn a_ddl_that_creates_other_tables_than_the_manifest_lists_is_refused() {
    let sandbox = with_computers_applied();
    let mut spec = gizmos_with("SELECT 1", &[]);
    spec["tables"] = json!(["gizmos", "gadgets"]);
    spec["ddl"] = json!(
        "CREATE TABLE gizmos (id INTEGER PRIMARY KEY, label TEXT); CREATE TABLE widgets (id INTEGER PRIMARY KEY);"
    );
    sandbox.install_scripted("gizmos", spec);
    refused_and_untouched(
        &sandbox,
        "gizmos",
        &["creates `widgets` that the manifest does not list", "the manifest lists `gadgets` that it does not create"],
    );
}

#[test]
fn a_chain_that_does_not_produce_the_ddl_is_refused_with_a_readable_diff() {
    let sandbox = with_computers_applied();
    let spec = json!({
        "name": "gizmos",
        "tables": ["gizmos"],
        "ddl": "CREATE TABLE gizmos (id INTEGER PRIMARY KEY, label TEXT NOT NULL, weight REAL CHECK (weight > 0));
                CREATE INDEX gizmos_label ON gizmos (label);",
        "migrations": [
            [1, "baseline", "CREATE TABLE gizmos (id INTEGER PRIMARY KEY, label INTEGER NOT NULL);"],
            [2, "weight", "ALTER TABLE gizmos ADD COLUMN weight REAL;"],
        ],
    });
    sandbox.install_scripted("gizmos", spec);
    refused_and_untouched(
        &sandbox,
        "gizmos",
        &[
            "the migration chain (up to V2) and schema.sql produce different schemas",
            "table `gizmos`: column `label` differs: type INTEGER in the chain but TEXT in schema.sql",
            "check `weight > 0` only in schema.sql",
            "index `gizmos_label` only in schema.sql",
        ],
    );
}

// 8. Trespass.

#[test]
fn migrations_that_trespass_are_refused_naming_what_they_tried() {
    let attacks = [
        ("DROP TABLE computer_disks", "DROP TABLE `computer_disks`: it belongs to plugin 'computers'"),
        ("INSERT INTO sites (code, name) VALUES ('X', 'X')", "INSERT INTO `sites`: it is a core table"),
        (
            "ALTER TABLE computers ADD COLUMN owned_by_gizmos INT",
            "ALTER TABLE `computers`: it belongs to plugin 'computers'",
        ),
        ("ATTACH DATABASE 'elsewhere.sqlite' AS elsewhere", "ATTACH `elsewhere.sqlite`"),
        ("PRAGMA foreign_keys = OFF", "PRAGMA foreign_keys = OFF"),
        (
            "CREATE TRIGGER gizmos_spy AFTER INSERT ON computers BEGIN SELECT 1; END",
            "CREATE TRIGGER `gizmos_spy` ON `computers`",
        ),
        (
            "CREATE TRIGGER gizmos_peek AFTER INSERT ON gizmos BEGIN SELECT count(*) FROM computers; END",
            "reading `computers` (in `gizmos_peek`)",
        ),
        (
            "UPDATE shopdb_history_computers SET checksum = '0'",
            "UPDATE `shopdb_history_computers`: it is the host's bookkeeping",
        ),
        ("UPDATE shopdb_core_owners SET plugin = 'gizmos'", "it is the host's bookkeeping"),
        ("COMMIT; DROP TABLE computers", "BEGIN/COMMIT/ROLLBACK/SAVEPOINT"),
        // What chains written for other tools carry, each with its own words.
        ("VACUUM", "VACUUM cannot run inside a migration"),
        ("SELECT load_extension('/tmp/evil')", "plugins may not load extensions"),
        ("PRAGMA foreign_keys = OFF", "foreign keys are already off while a chain runs and checked before it commits"),
    ];
    for (attack, expected) in attacks {
        let sandbox = with_computers_applied();
        sandbox.install_scripted("gizmos", gizmos_with(attack, &[]));
        refused_and_untouched(&sandbox, "gizmos", &["migration V2__attack was refused", expected]);
        assert!(sandbox.open_db().query_row("SELECT count(*) FROM computers", [], |_| Ok(())).is_ok());
    }
}

#[test]
fn a_view_that_reads_a_table_of_a_plugin_it_does_not_depend_on_is_refused() {
    let view = "CREATE VIEW gizmo_hosts AS SELECT hostname FROM computers";
    let sandbox = with_computers_applied();
    let mut spec = gizmos_with(view, &[]);
    spec["tables"] = json!(["gizmos", "gizmo_hosts"]);
    spec["ddl"] = json!(format!("CREATE TABLE gizmos (id INTEGER PRIMARY KEY, label TEXT); {view};"));
    sandbox.install_scripted("gizmos", spec.clone());
    refused_and_untouched(&sandbox, "gizmos", &["reading `computers` (in `gizmo_hosts`)"]);

    // Declaring the dependency makes the same view legitimate.
    let sandbox = with_computers_applied();
    spec["depends_on"] = json!(["computers"]);
    sandbox.install_scripted("gizmos", spec);
    sandbox.host(&["upgrade-all"]).succeeds();
}

#[test]
fn a_data_migration_may_read_a_declared_dependency_but_not_a_stranger() {
    let copy_hosts = "INSERT INTO gizmos (label) SELECT hostname FROM computers";
    let sandbox = with_computers_applied();
    sandbox
        .open_db()
        .execute_batch("INSERT INTO computers (hostname, status_id) VALUES ('line-pc-01', 1), ('line-pc-02', 1);")
        .unwrap();
    sandbox.install_scripted("gizmos", gizmos_with(copy_hosts, &["computers"]));
    let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    assert_eq!(chain(&report, "gizmos")["version"], 2);
    let copied: i64 = sandbox.open_db().query_row("SELECT count(*) FROM gizmos", [], |r| r.get(0)).unwrap();
    assert_eq!(copied, 2);

    let sandbox = with_computers_applied();
    sandbox.install_scripted("gizmos", gizmos_with(copy_hosts, &[]));
    refused_and_untouched(
        &sandbox,
        "gizmos",
        &["reading `computers`: it belongs to plugin 'computers', and 'gizmos' does not depend on it"],
    );
}

/// `gizmos` whose chain ends with `attack` and whose DDL also indexes
/// `computers`, which it does not own: refused for the DDL, untouched.
fn refused_for_a_trespassing_ddl(attack: &str) {
    let sandbox = with_computers_applied();
    let mut spec = gizmos_with(attack, &[]);
    spec["ddl"] = json!(
        "CREATE TABLE gizmos (id INTEGER PRIMARY KEY, label TEXT); CREATE INDEX gizmos_sneaky ON computers (hostname);"
    );
    sandbox.install_scripted("gizmos", spec);
    refused_and_untouched(
        &sandbox,
        "gizmos",
        &["schema.sql was refused", "CREATE INDEX `gizmos_sneaky` ON `computers`"],
    );
}

#[test]
fn a_ddl_that_trespasses_is_refused_too() {
    refused_for_a_trespassing_ddl("SELECT 1");
}

#[test]
fn a_chain_that_fails_is_reported_by_the_ddl_refusal_when_the_ddl_is_refused_too() {
    // The chain runs before the DDL's verdict is taken; when both are bad,
    // the refusal of the DDL is what the operator needs to read.
    refused_for_a_trespassing_ddl("INSERT INTO gizmos (no_such_column) VALUES (1);");
}

// 9. Dependencies.

#[test]
fn a_missing_dependency_is_refused_by_name() {
    let sandbox = with_computers_applied();
    sandbox.install_scripted("gizmos", gizmos_with("SELECT 1", &["warehouse"]));
    refused_and_untouched(&sandbox, "gizmos", &["depends on 'warehouse', which is not installed"]);
}

#[test]
fn a_dependency_cycle_is_refused_naming_the_cycle() {
    let sandbox = with_computers_applied();
    for (name, other) in [("alpha", "beta"), ("beta", "alpha")] {
        let mut spec = gizmos_with("SELECT 1", &[other]);
        spec["name"] = json!(name);
        spec["tables"] = json!([format!("{name}_items")]);
        spec["ddl"] = json!(format!("CREATE TABLE {name}_items (id INTEGER PRIMARY KEY);"));
        spec["migrations"] = json!([[1, "baseline", format!("CREATE TABLE {name}_items (id INTEGER PRIMARY KEY);")]]);
        sandbox.install_scripted(name, spec);
    }
    refused_and_untouched(&sandbox, "alpha", &["dependency cycle: alpha → beta → alpha"]);
    refused_and_untouched(&sandbox, "beta", &["dependency cycle: beta → alpha → beta"]);
}

#[test]
fn a_plugin_whose_dependency_is_refused_is_blocked_not_applied() {
    let sandbox = with_computers_applied();
    sandbox.install_scripted("gizmos", gizmos_with("DROP TABLE computers", &[]));
    let mut dependent = gizmos_with("SELECT 1", &["gizmos"]);
    dependent["name"] = json!("gadgets");
    dependent["tables"] = json!(["gadgets"]);
    dependent["ddl"] = json!("CREATE TABLE gadgets (id INTEGER PRIMARY KEY, gizmo_id INT REFERENCES gizmos (id));");
    dependent["migrations"] =
        json!([[1, "baseline", "CREATE TABLE gadgets (id INTEGER PRIMARY KEY, gizmo_id INT REFERENCES gizmos (id));"]]);
    sandbox.install_scripted("gadgets", dependent);
    let before = sandbox.snapshot();
    let report = sandbox.host(&["upgrade-all", "--json"]).exits(1).json();
    assert_eq!(chain(&report, "gizmos")["status"], "refused");
    assert_eq!(chain(&report, "gadgets")["status"], "blocked");
    assert_eq!(chain(&report, "gadgets")["by"], "gizmos");
    assert_eq!(sandbox.snapshot(), before);
    let check = sandbox.host(&["check", "--plugin", "gadgets", "--json"]).exits(1).json();
    assert_eq!(check["plugins"][0]["status"], "blocked");
}

// 10. History divergence.

fn ledger(migrations: Value) -> Value {
    json!({"name": "ledger", "tables": ["ledger_entries"],
           "ddl": "CREATE TABLE ledger_entries (id INTEGER PRIMARY KEY, amount INT, memo TEXT);",
           "migrations": migrations})
}

#[test]
fn an_edited_or_older_plugin_is_refused_against_the_recorded_history() {
    let v1 = "CREATE TABLE ledger_entries (id INTEGER PRIMARY KEY, amount INT);";
    let v2 = "ALTER TABLE ledger_entries ADD COLUMN memo TEXT;";
    let sandbox = with_computers_applied();
    sandbox.install_scripted("ledger", ledger(json!([[1, "baseline", v1], [2, "memo", v2]])));
    sandbox.host(&["upgrade-all"]).succeeds();

    // V1 edited after it was applied (and a V3 added): nothing applies.
    let edited = "CREATE TABLE ledger_entries (id INTEGER PRIMARY KEY, amount INT, currency TEXT);";
    let mut spec = ledger(json!([[1, "baseline", edited], [2, "memo", v2], [3, "noop", "SELECT 1"]]));
    spec["ddl"] = json!("CREATE TABLE ledger_entries (id INTEGER PRIMARY KEY, amount INT, currency TEXT, memo TEXT);");
    sandbox.install_scripted("ledger", spec);
    refused_and_untouched(
        &sandbox,
        "ledger",
        &["records V1__baseline (checksum", "the plugin's V1 is V1__baseline", "changed after it was applied"],
    );

    // An older build that lacks V2.
    let mut older = ledger(json!([[1, "baseline", v1]]));
    older["ddl"] = json!(v1);
    sandbox.install_scripted("ledger", older);
    refused_and_untouched(&sandbox, "ledger", &["records V2__memo, which the plugin does not have", "older build"]);
    sandbox.host(&["status"]).succeeds().stdout_has("problem: the database records V2__memo");
}

// 2. ABI.

#[test]
fn a_plugin_built_against_an_incompatible_plugin_api_is_refused_with_both_versions() {
    let sandbox = with_computers_applied();
    sandbox.install_file(&fixture("abi-layout-changed"));
    let before = sandbox.snapshot();
    let run = sandbox.host(&["upgrade-all", "--json"]).exits(1);
    let report = run.json();
    let outcome = chain(&report, &lib("fixture_abi_layout_changed"));
    assert_eq!(outcome["status"], "refused");
    let reason = outcome["reason"].as_str().unwrap();
    for text in [
        "built against an incompatible plugin-api",
        &format!("the plugin was built with plugin-api 1.0.0, this host has {}", plugin_api::API_VERSION),
        "PluginDescription: too many fields (expected 11, found 12)",
        "rebuild the plugin against plugin-api",
    ] {
        assert!(reason.contains(text), "{reason:?} should contain {text:?}");
    }
    assert!(!reason.contains('\n'));
    assert_eq!(sandbox.snapshot(), before);
}

#[test]
fn a_plugin_built_against_the_first_plugin_api_still_loads_and_applies() {
    let sandbox = Sandbox::new();
    sandbox.install_file(&fixture("abi-v1"));
    let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    let vintage = chain(&report, "vintage");
    assert_eq!(vintage["status"], "applied", "{vintage}");
    assert_eq!(vintage["version"], 2);
    let listed = sandbox.host(&["list", "--json"]).succeeds().json();
    assert_eq!(listed["plugins"][0]["api_version"], "1.0.0");
    // It predates the optional parts format 2 added: read with defaults.
    assert_eq!(listed["plugins"][0]["format"], 1);
    assert_eq!(listed["plugins"][0]["maintainer"], serde_json::Value::Null);
}

#[test]
fn a_foreign_key_to_a_plugin_it_does_not_depend_on_is_refused() {
    let sandbox = with_computers_applied();
    let ddl = "CREATE TABLE gizmos (id INTEGER PRIMARY KEY, computer_id INTEGER REFERENCES computers (id));";
    let spec = json!({"name": "gizmos", "tables": ["gizmos"], "ddl": ddl, "migrations": [[1, "baseline", ddl]]});
    sandbox.install_scripted("gizmos", spec.clone());
    refused_and_untouched(
        &sandbox,
        "gizmos",
        &["table `gizmos` references `computers` of plugin 'computers'", "add the owner to depends_on"],
    );

    let sandbox = with_computers_applied();
    let mut declared = spec;
    declared["depends_on"] = json!(["computers"]);
    sandbox.install_scripted("gizmos", declared);
    sandbox.host(&["upgrade-all"]).succeeds();
}

// 11. Verdicts recorded by the runs.

/// The verdict on each plugin of a `check --json` report: its status and
/// whether it was the recorded one.
fn verdicts(report: &Value) -> Vec<(String, String, bool)> {
    let plugins = report["plugins"].as_array().expect("a list of verdicts");
    plugins
        .iter()
        .map(|v| {
            let name = v["name"].as_str().unwrap_or_default().to_owned();
            (name, v["status"].as_str().unwrap_or_default().to_owned(), v["recorded"] == json!(true))
        })
        .collect()
}

#[test]
fn check_passes_an_unchanged_applied_plugin_on_its_runs_verdict_and_checks_anything_changed_again() {
    let sandbox = Sandbox::new();
    let table = "CREATE TABLE gizmo_kinds (id INTEGER PRIMARY KEY, name TEXT NOT NULL);";
    let kinds = |ddl: &str| json!({"name": "kinds", "tables": ["gizmo_kinds"], "ddl": ddl, "migrations": [[1, "baseline", table]]});
    let gizmos = |ddl: &str| {
        json!({"name": "gizmos", "tables": ["gizmos"], "depends_on": ["kinds"], "ddl": ddl,
               "migrations": [[1, "baseline", "CREATE TABLE gizmos (id INTEGER PRIMARY KEY, kind_id INTEGER REFERENCES gizmo_kinds (id));"],
                              [2, "label", "ALTER TABLE gizmos ADD COLUMN label TEXT;"]]})
    };
    let gizmos_ddl =
        "CREATE TABLE gizmos (id INTEGER PRIMARY KEY, kind_id INTEGER REFERENCES gizmo_kinds (id), label TEXT);";
    sandbox.install_scripted("kinds", kinds(table));
    sandbox.install_scripted("gizmos", gizmos(gizmos_ddl));
    let passed = |name: &str, recorded: bool| (name.to_owned(), "passed".to_owned(), recorded);

    // No database yet: every plugin is checked.
    let before = sandbox.host(&["check", "--json"]).succeeds().json();
    assert_eq!(verdicts(&before), [passed("kinds", false), passed("gizmos", false)]);
    sandbox.host(&["upgrade-all"]).succeeds();
    let digests: Vec<Option<String>> = sandbox.column("SELECT checked_digest FROM shopdb_core_plugins ORDER BY name");
    assert!(digests.iter().all(|d| d.as_ref().is_some_and(|d| d.len() == 64)), "{digests:?}");
    assert_ne!(digests[0], digests[1]);

    // Applied and unchanged: both pass on the runs' verdicts, unless rechecked.
    let recorded = sandbox.host(&["check", "--json"]).succeeds().json();
    assert_eq!(verdicts(&recorded), [passed("kinds", true), passed("gizmos", true)]);
    sandbox.host(&["check"]).succeeds().stdout_has("ok (as checked before its last run: unchanged since)");
    let again = sandbox.host(&["check", "--recheck", "--json"]).succeeds().json();
    assert_eq!(verdicts(&again), [passed("kinds", false), passed("gizmos", false)]);

    // The DDL changed and no longer agrees with the (applied, unchanged)
    // chain: checked again, and refused.
    sandbox.install_scripted(
        "gizmos",
        gizmos(
            "CREATE TABLE gizmos (id INTEGER PRIMARY KEY, kind_id INTEGER REFERENCES gizmo_kinds (id), label INTEGER);",
        ),
    );
    let drifted = sandbox.host(&["check", "--json"]).exits(1).json();
    let found = verdicts(&drifted);
    assert_eq!(found[0], passed("kinds", true));
    assert_eq!((found[1].1.as_str(), found[1].2), ("refused", false), "{drifted:#}");
    let reason = drifted["plugins"][1]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("produce different schemas"), "{reason}");

    // A dependency's SQL changed (only in how it is written): it and its
    // dependent are checked again, and pass.
    sandbox.install_scripted("gizmos", gizmos(gizmos_ddl));
    sandbox.install_scripted("kinds", kinds(&format!("-- reformatted\n{table}")));
    let rechecked = sandbox.host(&["check", "--json"]).succeeds().json();
    assert_eq!(verdicts(&rechecked), [passed("kinds", false), passed("gizmos", false)]);
}
