//! The commands users type, end to end through the real binary.

use shopdb_tests::{bundled, chain, Sandbox, BUNDLED};

fn head_of(plugin: &str) -> i64 {
    i64::from(shopdb_tests::load_plugin(&bundled(plugin)).manifest.head())
}

fn tables_of(plugin: &str) -> Vec<String> {
    shopdb_tests::load_plugin(&bundled(plugin)).manifest.tables
}

fn table_exists(sandbox: &Sandbox, table: &str) -> bool {
    let n: i64 = sandbox
        .open_db()
        .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [table], |r| r.get(0))
        .unwrap();
    n == 1
}

fn history_versions(sandbox: &Sandbox, plugin: &str) -> Vec<i64> {
    sandbox.column(&format!("SELECT version FROM shopdb_history_{plugin} ORDER BY version"))
}

#[test]
fn upgrade_all_applies_core_and_every_bundled_plugin_to_a_fresh_file() {
    let sandbox = Sandbox::new();
    sandbox.install(&BUNDLED);
    let run = sandbox.host(&["upgrade-all", "--json"]).succeeds();
    let report = run.json();
    assert_eq!(chain(&report, "core")["status"], "applied");
    for plugin in BUNDLED {
        let outcome = chain(&report, plugin);
        assert_eq!(outcome["status"], "applied", "{plugin}: {outcome}");
        assert_eq!(outcome["version"], head_of(plugin), "{plugin}: {outcome}");
        assert_eq!(outcome["migrations"].as_array().unwrap().len() as i64, head_of(plugin));
        for table in tables_of(plugin) {
            assert!(table_exists(&sandbox, &table), "{plugin} table {table} missing\n{}", run.report());
        }
        assert_eq!(history_versions(&sandbox, plugin), (1..=head_of(plugin)).collect::<Vec<_>>());
    }
    let violations: i64 =
        sandbox.open_db().query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
    assert_eq!(violations, 0, "no foreign key violations after a fresh run");
}

#[test]
fn upgrade_all_twice_applies_nothing_the_second_time() {
    let sandbox = Sandbox::new();
    sandbox.install(&BUNDLED);
    sandbox.host(&["upgrade-all"]).succeeds();
    let before = sandbox.snapshot();
    let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    for name in std::iter::once("core").chain(BUNDLED) {
        assert_eq!(chain(&report, name)["status"], "up_to_date", "{name}: {report:#}");
    }
    assert_eq!(sandbox.snapshot(), before, "a second upgrade-all changed the database");
}

#[test]
fn upgrade_all_prints_one_status_line_per_chain() {
    let sandbox = Sandbox::new();
    sandbox.install(&BUNDLED);
    let run = sandbox.host(&["upgrade-all"]).succeeds();
    for name in std::iter::once("core").chain(BUNDLED) {
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no line for {name}\n{}", run.report()));
        assert!(line.contains("applied") && line.contains("→ now at V"), "{line}");
    }
    let again = sandbox.host(&["upgrade-all"]).succeeds();
    assert_eq!(
        again.stdout.lines().filter(|l| l.contains("up to date")).count(),
        1 + BUNDLED.len(),
        "{}",
        again.report()
    );
}

#[test]
fn migrate_one_plugin_applies_it_and_its_dependencies_and_nothing_else() {
    let sandbox = Sandbox::new();
    sandbox.install(&BUNDLED);
    let report = sandbox.host(&["migrate", "--plugin", "printers", "--json"]).succeeds().json();
    let names: Vec<&str> = report["chains"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["core", "computers", "equipment", "network", "printers"], "{report:#}");
    assert_eq!(chain(&report, "printers")["version"], head_of("printers"));
    for untouched in ["usb", "notifications"] {
        for table in tables_of(untouched) {
            assert!(!table_exists(&sandbox, &table), "{untouched} table {table} was created");
        }
        assert!(!table_exists(&sandbox, &format!("shopdb_history_{untouched}")));
    }
}

#[test]
fn migrate_with_a_target_stops_there_and_a_later_run_continues() {
    let sandbox = Sandbox::new();
    sandbox.install(&BUNDLED);
    assert!(head_of("printers") >= 2, "printers needs a chain longer than its baseline");
    let report = sandbox.host(&["migrate", "--plugin", "printers", "--target", "1", "--json"]).succeeds().json();
    assert_eq!(chain(&report, "printers")["version"], 1);
    assert_eq!(history_versions(&sandbox, "printers"), [1]);
    sandbox.host(&["status"]).succeeds().stdout_has("V2__");
    let report = sandbox.host(&["migrate", "--plugin", "printers", "--json"]).succeeds().json();
    assert_eq!(chain(&report, "printers")["from"], 1);
    assert_eq!(chain(&report, "printers")["version"], head_of("printers"));
    assert_eq!(history_versions(&sandbox, "printers"), (1..=head_of("printers")).collect::<Vec<_>>());
}

#[test]
fn an_unknown_plugin_exits_2_and_lists_the_plugins_found() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers", "usb"]);
    let run = sandbox.host(&["migrate", "--plugin", "printer"]).exits(2).stderr_has("no plugin named 'printer'");
    assert!(run.stderr.contains("computers, usb"), "{}", run.report());
    assert!(run.stdout.is_empty(), "errors go to stderr\n{}", run.report());
    assert!(!sandbox.database().exists() || sandbox.snapshot().lines().all(|l| !l.contains("computers")));
}

#[test]
fn a_target_the_chain_does_not_have_exits_2() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    sandbox.host(&["migrate", "--plugin", "computers", "--target", "99"]).exits(2).stderr_has("has no migration V99");
}

#[test]
fn a_migration_failing_mid_chain_leaves_that_plugin_exactly_as_it_was() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]).install_fixture("midchain-failure");
    sandbox.host(&["migrate", "--plugin", "flaky", "--target", "1"]).succeeds();
    // Real data the later V3 (a unique index) cannot accept.
    sandbox.open_db().execute_batch("INSERT INTO flaky_parts (code) VALUES ('A'), ('A')").unwrap();
    let before = sandbox.snapshot();

    let run = sandbox.host(&["upgrade-all", "--json"]).exits(1);
    let report = run.json();
    let flaky = chain(&report, "flaky");
    assert_eq!(flaky["status"], "failed", "{flaky}");
    let reason = flaky["reason"].as_str().unwrap();
    assert!(reason.contains("V3__unique_code") && reason.contains("UNIQUE constraint failed"), "{reason}");
    // computers is independent: it still applied.
    assert_eq!(chain(&report, "computers")["status"], "applied");

    // V2 ran in the same transaction as the failed V3: both are gone.
    let columns: Vec<String> = sandbox.column("SELECT name FROM pragma_table_info('flaky_parts')");
    assert_eq!(columns, ["id", "code"]);
    assert_eq!(history_versions(&sandbox, "flaky"), [1]);
    let flaky_part =
        |snapshot: &str| snapshot.lines().filter(|l| l.contains("flaky")).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(flaky_part(&sandbox.snapshot()), flaky_part(&before));
}

#[test]
fn status_shows_versions_on_disk_applied_and_pending() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    let fresh = sandbox.host(&["status", "--json"]).succeeds().json();
    assert_eq!(fresh["exists"], false);
    assert!(!sandbox.database().exists(), "status must not create the database");
    let computers = chain(&fresh, "computers");
    assert_eq!(computers["applied"], serde_json::Value::Null);
    assert_eq!(computers["on_disk"], head_of("computers"));
    assert_eq!(computers["pending"].as_array().unwrap().len() as i64, head_of("computers"));

    sandbox.host(&["migrate", "--plugin", "computers", "--target", "1"]).succeeds();
    let status = sandbox.host(&["status", "--json"]).succeeds().json();
    let computers = chain(&status, "computers");
    assert_eq!(computers["applied"], 1);
    assert_eq!(computers["pending"][0], "V2__interfaces_and_boot");
    sandbox.host(&["status"]).succeeds().stdout_has("V2__interfaces_and_boot");
}

#[test]
fn list_names_each_plugin_with_its_file_tables_and_dependencies() {
    let sandbox = Sandbox::new();
    sandbox.install(&BUNDLED);
    let listed = sandbox.host(&["list", "--json"]).succeeds().json();
    let plugins = listed["plugins"].as_array().unwrap();
    assert_eq!(plugins.len(), BUNDLED.len());
    let printers = plugins.iter().find(|p| p["name"] == "printers").unwrap();
    assert_eq!(printers["depends_on"], serde_json::json!(["computers", "network"]));
    assert!(printers["file"]
        .as_str()
        .unwrap()
        .ends_with(&format!("shopdb_plugin_printers{}", std::env::consts::DLL_SUFFIX)));
    assert_eq!(printers["tables"].as_array().unwrap().len(), tables_of("printers").len());
    sandbox.host(&["list"]).succeeds().stdout_has("printers").stdout_has("computers, network");
}

#[test]
fn a_file_that_is_not_a_plugin_is_refused_and_the_others_still_apply() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    sandbox
        .write_plugin_file(&format!("libnotes{}", std::env::consts::DLL_SUFFIX), b"these are not machine instructions");
    let run = sandbox.host(&["upgrade-all", "--json"]).exits(1);
    let report = run.json();
    assert_eq!(chain(&report, "computers")["status"], "applied");
    let refused = report["chains"].as_array().unwrap().iter().find(|c| c["status"] == "refused").unwrap();
    assert!(refused["reason"].as_str().unwrap().contains("not a shopdb plugin"), "{refused}");
}

#[test]
fn help_explains_every_command() {
    let sandbox = Sandbox::new();
    let run = sandbox.host(&["--help"]).succeeds();
    for command in ["list", "status", "migrate", "upgrade-all"] {
        assert!(run.stdout.contains(command), "{}", run.report());
    }
    sandbox
        .host(&["migrate", "--help"])
        .succeeds()
        .stdout_has("--target")
        .stdout_has("--plugin")
        .stdout_has("SHOPDB_DATABASE");
}

/// The commands README.md lists after `intro`: the `` `a`, `b` `` list that
/// follows its next colon, up to the first period after a closing backtick.
fn readme_commands(readme: &str, intro: &str) -> Vec<String> {
    let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let start = flat.find(intro).unwrap_or_else(|| panic!("README.md no longer says {intro:?}")) + intro.len();
    let list = &flat[start..];
    let list = &list[list.find(": `").expect("a list after the colon") + 2..];
    let list = &list[..list.find("`.").expect("the list's end") + 1];
    list.split(',').map(|c| c.trim().trim_matches('`').to_owned()).collect()
}

#[test]
fn the_readme_and_the_commands_agree_on_who_takes_which_option() {
    let readme = std::fs::read_to_string(shopdb_tests::repo_root().join("README.md")).unwrap();
    let every = [
        "list",
        "check",
        "status",
        "migrate",
        "upgrade-all",
        "bootstrap",
        "stamp",
        "uninstall",
        "lock",
        "config",
        "history",
        "new-plugin",
        "completions",
        "man",
    ];
    let sandbox = Sandbox::new();
    for (intro, option) in [
        ("The commands that read plugin files take `--plugins-dir DIR`", "--plugins-dir"),
        ("The commands that use the database take `--database FILE|URL`", "--database"),
    ] {
        let listed = readme_commands(&readme, intro);
        assert!(listed.len() > 3, "{listed:?}");
        for command in every {
            let help = sandbox.host(&[command, "--help"]).succeeds().stdout;
            assert_eq!(
                help.contains(option),
                listed.iter().any(|c| c == command),
                "README.md and `{command} --help` disagree on {option}: README lists {listed:?}"
            );
        }
    }
    sandbox.host(&["history", "--plugins-dir", "x"]).exits(2).stderr_has("unexpected argument '--plugins-dir'");
}

#[test]
fn promises_the_help_makes_hold_stamp_dry_run_a_low_target_unknown_names_and_usage_errors() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers", "usb"]);
    sandbox.host(&["migrate", "--plugin", "computers", "--target", "1"]).succeeds();
    let before = sandbox.snapshot();

    // `stamp --dry-run` shows the SQL and changes nothing.
    let dry = sandbox.host(&["stamp", "--plugin", "computers", "--version", "3", "--dry-run"]).succeeds();
    assert!(
        dry.stdout.contains("dry run: nothing was changed") && dry.stdout.contains("shopdb_history_computers"),
        "{}",
        dry.report()
    );
    assert_eq!(sandbox.snapshot(), before);

    // A target below the applied version applies nothing (migrations never go back).
    sandbox.host(&["upgrade-all"]).succeeds();
    let applied = sandbox.snapshot();
    let low = sandbox.host(&["migrate", "--plugin", "computers", "--target", "1", "--json"]).succeeds().json();
    assert_eq!(chain(&low, "computers")["status"], "up_to_date");
    assert_eq!(chain(&low, "computers")["version"], head_of("computers"));
    assert_eq!(sandbox.snapshot(), applied);

    // Unknown names, everywhere a command takes one.
    for args in [
        &["check", "--plugin", "nope"][..],
        &["stamp", "--plugin", "nope", "--version", "1"],
        &["migrate", "--plugin", "nope"],
    ] {
        sandbox.host(args).exits(2).stderr_has("no plugin named 'nope'").stderr_has("plugins found: computers, usb");
    }
    // A usage error is clap's, with exit 2 and the usage.
    sandbox.host(&["upgrade-all", "--bogus"]).exits(2).stderr_has("unexpected argument '--bogus'").stderr_has("Usage:");
    sandbox.host(&["migrate"]).exits(2).stderr_has("--plugin <NAME>");
    assert_eq!(sandbox.snapshot(), applied);
}

#[test]
fn a_missing_plugins_directory_stops_every_command_before_the_database_is_touched() {
    let sandbox = Sandbox::new();
    for args in [&["upgrade-all"][..], &["status"], &["check"], &["list"], &["bootstrap"]] {
        let mut command = sandbox.command(args);
        command.env("SHOPDB_PLUGINS_DIR", sandbox.path().join("nowhere"));
        let run = sandbox.run(command).exits(2);
        assert!(run.stderr.contains("plugins directory") && run.stderr.contains("does not exist"), "{}", run.report());
        assert!(run.stderr.contains("--plugins-dir"), "says how to fix it\n{}", run.report());
        assert!(!sandbox.database().exists(), "{args:?} created the database");
    }
}

#[test]
fn lock_check_names_a_file_that_is_not_pinned() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    sandbox.host(&["lock"]).succeeds();
    sandbox.host(&["lock", "--check"]).succeeds().stdout_has("matches the plugins directory (1 plugin)");
    sandbox.install(&["usb"]);
    let run = sandbox.host(&["lock", "--check"]).exits(1);
    assert!(run.stdout.contains("libshopdb_plugin_usb.so") && run.stdout.contains("not pinned"), "{}", run.report());
    assert!(!run.stdout.contains("libshopdb_plugin_computers.so:"), "the pinned file agrees\n{}", run.report());
}

#[test]
fn a_postgres_url_is_taken_as_one_and_its_password_is_never_shown() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    let url = "postgres://shop:s3cret-pass@db.example/shop";
    let config = sandbox.host(&["config", "--json", "--database", url]).succeeds();
    assert!(config.stdout.contains("postgres://shop@db.example/shop"), "{}", config.report());
    for args in [&["status", "--database", url][..], &["upgrade-all", "--database", url, "--json"]] {
        let run = sandbox.host(args);
        assert!(!run.stdout.contains("s3cret") && !run.stderr.contains("s3cret"), "{}", run.report());
    }
    assert!(!sandbox.database().exists());
}
