//! Running a real deploy safely: the bootstrap path and adoption, dry runs,
//! stamping, uninstalling with a backup, concurrent runs, crashes, failed
//! migrations and a bad environment.

use rusqlite::Connection;
use serde_json::{json, Value};
use shopdb_host::core_schema as core;
use shopdb_host::schema::Schema;
use shopdb_tests::{bundled, chain, Sandbox, BUNDLED};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn head_of(plugin: &str) -> i64 {
    i64::from(shopdb_tests::load_plugin(&bundled(plugin)).manifest.head())
}

fn versions(conn: &Connection, plugin: &str) -> Vec<i64> {
    let Ok(mut stmt) = conn.prepare(&format!("SELECT version FROM shopdb_history_{plugin} ORDER BY version")) else {
        return Vec::new();
    };
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// Every plugin table's structure (bookkeeping left out).
fn plugin_schema(conn: &Connection) -> Schema {
    shopdb_host::engine::sqlite::schema::read(conn, |t| !core::is_bookkeeping(t)).unwrap()
}

fn columns(conn: &Connection, table: &str) -> Vec<String> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)").unwrap();
    stmt.query_map([table], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

// The bootstrap path.

#[test]
fn bootstrap_builds_the_same_schema_as_the_chains_and_records_every_history() {
    let from_ddl = Sandbox::new();
    from_ddl.install(&BUNDLED);
    let report = from_ddl.host(&["bootstrap", "--json"]).succeeds().json();
    for plugin in BUNDLED {
        let outcome = chain(&report, plugin);
        assert_eq!(outcome["status"], "recorded", "{outcome}");
        assert_eq!(outcome["how"], "bootstrapped");
        assert_eq!(outcome["version"], head_of(plugin));
    }
    let from_chains = Sandbox::new();
    from_chains.install(&BUNDLED);
    from_chains.host(&["upgrade-all"]).succeeds();

    let (a, b) = (from_ddl.open_db(), from_chains.open_db());
    let diff = plugin_schema(&a).diff("bootstrap", &plugin_schema(&b), "the chains");
    assert!(diff.is_empty(), "{}", diff.join("\n"));
    for plugin in BUNDLED {
        assert_eq!(versions(&a, plugin), versions(&b, plugin), "{plugin} history");
    }
    let status = from_ddl.host(&["status", "--json"]).succeeds().json();
    assert_eq!(chain(&status, "printers")["marks"][0]["how"], "bootstrapped");
    let again = from_ddl.host(&["upgrade-all", "--json"]).succeeds().json();
    assert!(again["chains"].as_array().unwrap().iter().all(|c| c["status"] == "up_to_date"), "{again:#}");
}

fn gizmos(migrations: Value, ddl: &str) -> Value {
    json!({"name": "gizmos", "tables": ["gizmos"], "ddl": ddl, "migrations": migrations})
}

#[test]
fn after_a_bootstrap_upgrade_all_applies_only_newer_migrations() {
    let sandbox = Sandbox::new();
    let v1 = "CREATE TABLE gizmos (id INTEGER PRIMARY KEY, label TEXT NOT NULL);";
    let v2 = "ALTER TABLE gizmos ADD COLUMN weight REAL;";
    let v3 = "ALTER TABLE gizmos ADD COLUMN colour TEXT;";
    let ddl2 = "CREATE TABLE gizmos (id INTEGER PRIMARY KEY, label TEXT NOT NULL, weight REAL);";
    sandbox.install_scripted("gizmos", gizmos(json!([[1, "baseline", v1], [2, "weight", v2]]), ddl2));
    sandbox.host(&["bootstrap"]).succeeds().stdout_has("created from schema.sql");
    sandbox.open_db().execute("INSERT INTO gizmos (label, weight) VALUES ('a', 1.5)", []).unwrap();

    let ddl3 = "CREATE TABLE gizmos (id INTEGER PRIMARY KEY, label TEXT NOT NULL, weight REAL, colour TEXT);";
    sandbox
        .install_scripted("gizmos", gizmos(json!([[1, "baseline", v1], [2, "weight", v2], [3, "colour", v3]]), ddl3));
    let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    assert_eq!(chain(&report, "gizmos")["migrations"], json!(["V3__colour"]));
    assert_eq!(columns(&sandbox.open_db(), "gizmos"), ["id", "label", "weight", "colour"]);
}

#[test]
fn bootstrap_refuses_a_plugin_that_is_already_installed() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    sandbox.host(&["upgrade-all"]).succeeds();
    let before = sandbox.snapshot();
    let report = sandbox.host(&["bootstrap", "--json"]).exits(1).json();
    let reason = chain(&report, "computers")["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("already installed") && reason.contains("run upgrade-all"), "{reason}");
    assert_eq!(sandbox.snapshot(), before);
}

// Adoption and stamp.

/// A database with the core schema and `computers`' V1 tables created by
/// hand, without history: an older deploy.
fn hand_made_computers_v1() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.host(&["upgrade-all"]).succeeds();
    let v1 = shopdb_tests::load_plugin(&bundled("computers")).manifest.chain[0].sql.clone();
    let conn = sandbox.open_db();
    conn.execute_batch(&v1).unwrap();
    conn.execute_batch("INSERT INTO computers (hostname, status_id) VALUES ('press-hmi-01', 1)").unwrap();
    sandbox.install(&["computers"]);
    sandbox
}

#[test]
fn tables_created_without_history_are_adopted_at_the_version_they_match() {
    let sandbox = hand_made_computers_v1();
    let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    let computers = chain(&report, "computers");
    assert_eq!(computers["status"], "applied", "{computers}");
    assert_eq!(computers["adopted"], 1);
    assert_eq!(computers["migrations"], json!(["V2__interfaces_and_boot", "V3__rebuild_computers"]));
    let conn = sandbox.open_db();
    assert_eq!(versions(&conn, "computers"), (1..=head_of("computers")).collect::<Vec<_>>());
    let host: String = conn.query_row("SELECT hostname FROM computers", [], |r| r.get(0)).unwrap();
    assert_eq!(host, "press-hmi-01");
    let status = sandbox.host(&["status", "--json"]).succeeds().json();
    assert_eq!(
        chain(&status, "computers")["marks"],
        json!([{"version": 1, "how": "adopted", "recorded_at": chain(&status, "computers")["marks"][0]["recorded_at"]}])
    );
    sandbox.host(&["status"]).succeeds().stdout_has("(adopted V1)");
}

#[test]
fn tables_that_match_no_version_are_refused_with_a_diff_and_left_alone() {
    let sandbox = Sandbox::new();
    sandbox.host(&["upgrade-all"]).succeeds();
    sandbox
        .open_db()
        .execute_batch("CREATE TABLE computers (id INTEGER PRIMARY KEY, hostname TEXT, rack TEXT)")
        .unwrap();
    sandbox.install(&["computers"]);
    let before = sandbox.snapshot();
    let report = sandbox.host(&["upgrade-all", "--json"]).exits(1).json();
    let reason = chain(&report, "computers")["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("exist without history but match no version"), "{reason}");
    assert!(reason.contains("column `rack` only in the database"), "{reason}");
    assert!(reason.contains("shopdb-host stamp"), "{reason}");
    assert_eq!(sandbox.snapshot(), before);
}

/// A chain that creates a table in V2 and drops it in V4, with indexes in
/// between: the versions differ by more than the manifest's tables.
const LEDGER: [(i64, &str, &str); 4] = [
    (1, "baseline", "CREATE TABLE ledger_entries (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL);"),
    (2, "staging", "CREATE TABLE ledger_staging (id INTEGER, amount INTEGER); CREATE INDEX ledger_staging_id ON ledger_staging (id);"),
    (3, "entries_amount", "CREATE INDEX ledger_entries_amount ON ledger_entries (amount);"),
    (4, "staging_done", "INSERT INTO ledger_entries (id, amount) SELECT id, amount FROM ledger_staging; DROP TABLE ledger_staging;"),
];

fn ledger(chain: &[(i64, &str, &str)]) -> Value {
    let migrations: Vec<Value> = chain.iter().map(|(v, n, sql)| json!([v, n, sql])).collect();
    json!({
        "name": "ledger",
        "tables": ["ledger_entries"],
        "ddl": "CREATE TABLE ledger_entries (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL);
                CREATE INDEX ledger_entries_amount ON ledger_entries (amount);",
        "migrations": migrations,
    })
}

/// A database with the core schema and `chain` run by hand up to `upto`,
/// without history, and the plugin installed.
fn hand_made(chain: &[(i64, &str, &str)], upto: usize) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.host(&["upgrade-all"]).succeeds();
    for (_, _, sql) in &chain[..upto] {
        sandbox.open_db().execute_batch(sql).unwrap();
    }
    sandbox.install_scripted("ledger", ledger(chain));
    sandbox
}

#[test]
fn objects_found_without_history_are_adopted_at_exactly_the_version_they_are_at() {
    for upto in 1..=LEDGER.len() {
        let sandbox = hand_made(&LEDGER, upto);
        let version = upto as i64;
        let status = sandbox.host(&["status", "--json"]).succeeds().json();
        let planned = chain(&status, "ledger");
        assert_eq!(planned["will_adopt"], version, "V{version}: {planned:#}");
        let pending: Vec<String> = LEDGER[upto..].iter().map(|(v, n, _)| format!("V{v}__{n}")).collect();
        assert_eq!(planned["pending"], json!(pending));
        sandbox.host(&["status"]).succeeds().stdout_has(&format!("will adopt V{version}"));

        let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
        let ledger = chain(&report, "ledger");
        if upto == LEDGER.len() {
            assert_eq!(
                (&ledger["status"], &ledger["how"], &ledger["version"]),
                (&json!("recorded"), &json!("adopted"), &json!(4))
            );
        } else {
            assert_eq!((&ledger["status"], &ledger["adopted"]), (&json!("applied"), &json!(version)), "{ledger:#}");
            assert_eq!(ledger["migrations"], json!(pending));
        }
        sandbox.host(&["check"]).succeeds();
        assert_eq!(versions(&sandbox.open_db(), "ledger"), vec![1, 2, 3, 4]);
    }
}

#[test]
fn versions_that_only_data_tells_apart_are_not_guessed_and_stamp_is_named() {
    let chain_ = [
        (1, "baseline", "CREATE TABLE ledger_entries (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL);"),
        (2, "opening_balance", "INSERT INTO ledger_entries (id, amount) VALUES (1, 100);"),
        (3, "entries_amount", "CREATE INDEX ledger_entries_amount ON ledger_entries (amount);"),
    ];
    let sandbox = hand_made(&chain_, 1);
    let before = sandbox.snapshot();
    let status = sandbox.host(&["status", "--json"]).succeeds().json();
    let problem = chain(&status, "ledger")["problem"].as_str().unwrap().to_owned();
    assert!(problem.contains("match V1, V2 of its chain alike"), "{problem}");
    let report = sandbox.host(&["upgrade-all", "--json"]).exits(1).json();
    let reason = chain(&report, "ledger")["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("cannot tell which ran"), "{reason}");
    assert!(reason.contains("shopdb-host stamp --plugin ledger --version 2"), "{reason}");
    assert_eq!(sandbox.snapshot(), before, "nothing is written while the version is not known");

    // The operator knows the opening balance was never entered.
    sandbox.host(&["stamp", "--plugin", "ledger", "--version", "1"]).succeeds();
    let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    assert_eq!(chain(&report, "ledger")["migrations"], json!(["V2__opening_balance", "V3__entries_amount"]));
}

#[test]
fn stamp_records_history_without_running_and_never_backwards() {
    let sandbox = Sandbox::new();
    sandbox.host(&["upgrade-all"]).succeeds();
    let ddl = shopdb_tests::load_plugin(&bundled("computers")).manifest.ddl;
    sandbox.open_db().execute_batch(&ddl).unwrap();
    sandbox.install(&["computers"]);
    let head = head_of("computers").to_string();
    let report = sandbox.host(&["stamp", "--plugin", "computers", "--version", &head, "--json"]).succeeds().json();
    assert_eq!(chain(&report, "computers")["how"], "stamped");
    assert_eq!(versions(&sandbox.open_db(), "computers"), (1..=head_of("computers")).collect::<Vec<_>>());
    sandbox.host(&["status"]).succeeds().stdout_has(&format!("(stamped V{head})"));
    sandbox.host(&["upgrade-all"]).succeeds().stdout_has("computers  up to date");

    sandbox
        .host(&["stamp", "--plugin", "computers", "--version", "1"])
        .exits(2)
        .stderr_has("only records history forward");
    sandbox.host(&["stamp", "--plugin", "computers", "--version", "42"]).exits(2).stderr_has("has no migration V42");
    sandbox.host(&["stamp", "--help"]).succeeds().stdout_has("The expert's escape");
}

// Dry runs.

#[test]
fn a_dry_run_changes_nothing_and_prints_the_sql_in_order() {
    let sandbox = Sandbox::new();
    sandbox.install(&BUNDLED);
    sandbox.host(&["migrate", "--plugin", "computers", "--target", "1"]).succeeds();
    let before = bytes(&sandbox.database());

    let run = sandbox.host(&["upgrade-all", "--dry-run"]).succeeds();
    assert_eq!(bytes(&sandbox.database()), before, "a dry run changed the database file");
    assert!(run.stdout.contains("dry run: nothing was changed"), "{}", run.report());
    let v2 = run.stdout.find("CREATE TABLE computer_interfaces").expect("V2's SQL is printed");
    let v3 = run.stdout.find("CREATE TABLE computers_rebuilt").expect("V3's SQL is printed");
    let printers = run.stdout.find("CREATE TABLE printer_models").expect("printers' SQL is printed");
    assert!(v2 < v3 && v3 < printers, "the SQL is printed in the order it runs");

    let report = sandbox.host(&["upgrade-all", "--dry-run", "--json"]).succeeds().json();
    assert_eq!(report["dry_run"], true);
    assert_eq!(chain(&report, "computers")["migrations"], json!(["V2__interfaces_and_boot", "V3__rebuild_computers"]));
    assert!(!chain(&report, "usb")["sql"].as_array().unwrap().is_empty());
    sandbox.host(&["migrate", "--plugin", "printers", "--dry-run"]).succeeds();
    assert_eq!(bytes(&sandbox.database()), before);
    assert_eq!(versions(&sandbox.open_db(), "computers"), [1]);
}

#[test]
fn a_dry_run_on_a_missing_database_does_not_create_it() {
    let sandbox = Sandbox::new();
    sandbox.install(&BUNDLED);
    for command in ["upgrade-all", "bootstrap"] {
        let run = sandbox.host(&[command, "--dry-run", "--json"]).succeeds();
        assert!(!sandbox.database().exists(), "{command} --dry-run created the database");
        assert_eq!(chain(&run.json(), "usb")["status"], if command == "bootstrap" { "recorded" } else { "applied" });
    }
}

// Uninstall.

#[test]
fn uninstall_shows_first_then_backs_up_and_drops_in_one_go() {
    let sandbox = Sandbox::new();
    sandbox.install(&BUNDLED);
    sandbox.host(&["upgrade-all"]).succeeds();
    sandbox
        .open_db()
        .execute_batch(
            "INSERT INTO usb_vendors (vendor_id, product_id, name) VALUES ('0781', '5581', 'SanDisk Ultra');
             INSERT INTO usb_devices (asset_tag, usb_vendor_id, kind, status_id) VALUES ('USB-0001', 1, 'flash_drive', 1), ('USB-0002', 1, 'flash_drive', 1);",
        )
        .unwrap();
    let before = bytes(&sandbox.database());
    let snapshot_before = sandbox.snapshot();
    let shown = sandbox.host(&["uninstall", "--plugin", "usb"]).succeeds();
    assert!(
        shown.stdout.contains("would drop") && shown.stdout.contains("usb_devices") && shown.stdout.contains("2 rows"),
        "{}",
        shown.report()
    );
    assert!(shown.stdout.contains("--yes"));
    assert_eq!(bytes(&sandbox.database()), before, "uninstall without --yes changed the database");

    let done = sandbox.host(&["uninstall", "--plugin", "usb", "--yes", "--json"]).succeeds().json();
    let backup = Path::new(done["backup"]["path"].as_str().unwrap()).to_owned();
    assert_eq!(backup.parent(), sandbox.database().parent(), "the backup sits next to the database");
    let restore = done["backup"]["restore"].as_str().unwrap();
    assert!(restore.starts_with("cp ") && restore.contains(backup.to_str().unwrap()), "{restore}");
    // Restored, the backup is the database as it was.
    let restored = sandbox.path().join("restored.sqlite");
    std::fs::copy(&backup, &restored).unwrap();
    assert_eq!(shopdb_tests::snapshot(&Connection::open(&restored).unwrap()), snapshot_before);

    let conn = sandbox.open_db();
    let left: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name LIKE 'usb%' OR name = 'shopdb_history_usb'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0, "tables, indexes and history are gone");
    let usb_tables = ["usb_vendors", "usb_devices", "usb_checkouts", "usb_allowlist"];
    let on_its_tables: i64 = conn
        .query_row(
            &format!("SELECT count(*) FROM sqlite_master WHERE tbl_name IN ('{}')", usb_tables.join("', '")),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(on_its_tables, 0, "no index, trigger or view of its tables is left");
    for (table, column) in
        [("shopdb_core_owners", "plugin"), ("shopdb_core_plugins", "name"), ("shopdb_core_marks", "plugin")]
    {
        let rows: i64 =
            conn.query_row(&format!("SELECT count(*) FROM {table} WHERE {column} = 'usb'"), [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 0, "{table} still names usb");
    }
    let (outcome, reason): (String, String) = conn
        .query_row(
            "SELECT outcome, reason FROM shopdb_core_audit WHERE plugin = 'usb' ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(outcome, "uninstalled");
    assert!(reason.contains("usb_devices") && reason.contains(backup.to_str().unwrap()), "{reason}");
    // Everything else is as it was.
    let restored = Connection::open(&restored).unwrap();
    assert_eq!(shopdb_tests::snapshot_except(&conn, "usb"), shopdb_tests::snapshot_except(&restored, "usb"));
    let status = sandbox.host(&["status", "--json"]).succeeds().json();
    assert_eq!(chain(&status, "usb")["applied"], Value::Null, "usb's file is still there but nothing is installed");
    assert_eq!(status["missing"], json!([]));
}

#[test]
fn uninstall_refuses_while_an_installed_plugin_depends_on_it() {
    let sandbox = Sandbox::new();
    sandbox.install(&BUNDLED);
    sandbox.host(&["upgrade-all"]).succeeds();
    let before = bytes(&sandbox.database());
    let run = sandbox.host(&["uninstall", "--plugin", "computers", "--yes"]).exits(2);
    for dependent in ["'equipment'", "'network'", "'printers'", "'usb'"] {
        assert!(run.stderr.contains(dependent), "{}", run.report());
    }
    assert_eq!(bytes(&sandbox.database()), before);
    assert_eq!(std::fs::read_dir(sandbox.path()).unwrap().count(), 2, "no backup was written");
    sandbox.host(&["uninstall", "--plugin", "nothing"]).exits(2).stderr_has("is not installed");
}

#[test]
fn uninstall_works_when_the_plugin_file_is_already_gone() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers", "notifications"]);
    sandbox.host(&["upgrade-all"]).succeeds();
    sandbox.uninstall_file(&bundled("notifications").file_name().unwrap().to_string_lossy());
    sandbox.host(&["uninstall", "--plugin", "notifications", "--yes"]).succeeds().stdout_has("dropped");
    let status = sandbox.host(&["status", "--json"]).succeeds().json();
    assert_eq!(status["missing"], json!([]));
    let conn = sandbox.open_db();
    let left: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name LIKE 'notification%' OR tbl_name LIKE 'notification%' \
             OR name = 'shopdb_history_notifications' OR name = 'sent_alerts' OR tbl_name = 'sent_alerts'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0, "its tables, triggers, views and history are gone");
    let recorded: i64 = conn
        .query_row("SELECT count(*) FROM shopdb_core_plugins WHERE name = 'notifications'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(recorded, 0);
}

#[test]
fn an_uninstall_that_fails_before_commit_drops_nothing() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers", "usb"]);
    sandbox.host(&["upgrade-all"]).succeeds();
    // A table of nobody's (made by hand) whose rows reference the plugin's:
    // dropping the plugin's tables would orphan them, and the check before
    // commit rolls the whole uninstall back.
    sandbox
        .open_db()
        .execute_batch(
            "INSERT INTO usb_vendors (vendor_id, product_id, name) VALUES ('0781', '5581', 'SanDisk Ultra');
             CREATE TABLE audit_copies (vendor_id INTEGER REFERENCES usb_vendors (id));
             INSERT INTO audit_copies VALUES (1);",
        )
        .unwrap();
    let before = sandbox.snapshot();
    let run = sandbox.host(&["uninstall", "--plugin", "usb", "--yes"]).exits(1);
    assert!(
        run.stderr.contains("nothing was dropped") && run.stderr.contains("foreign key violation"),
        "{}",
        run.report()
    );
    assert_eq!(sandbox.snapshot(), before, "one transaction: all of it, or none");
}

// Concurrency.

#[test]
fn concurrent_runs_queue_and_apply_each_migration_exactly_once() {
    for round in 0..8 {
        let sandbox = Sandbox::new();
        sandbox.install(&BUNDLED);
        let spawn = || {
            let mut command = sandbox.command(&["upgrade-all", "--json"]);
            command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let outputs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
        let reports: Vec<Value> = outputs
            .iter()
            .map(|o| {
                assert!(o.status.success(), "round {round}: {}", String::from_utf8_lossy(&o.stderr));
                serde_json::from_slice(&o.stdout).unwrap()
            })
            .collect();
        for name in std::iter::once("core").chain(BUNDLED) {
            let applied: usize =
                reports.iter().map(|r| chain(r, name)["migrations"].as_array().map_or(0, Vec::len)).sum();
            let expected = if name == "core" { core::chain().len() } else { head_of(name) as usize };
            assert_eq!(applied, expected, "round {round}: {name} migrations applied across both runs");
        }
        let conn = sandbox.open_db();
        for plugin in BUNDLED {
            assert_eq!(versions(&conn, plugin), (1..=head_of(plugin)).collect::<Vec<_>>());
        }
    }
}

#[test]
fn a_run_started_while_another_holds_the_lock_waits_and_applies_nothing_twice() {
    let sandbox = Sandbox::new();
    let v1 = "CREATE TABLE slow_rows (n INTEGER NOT NULL);
              WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000)
              INSERT INTO slow_rows (n) SELECT i FROM n;";
    let ddl = "CREATE TABLE slow_rows (n INTEGER NOT NULL);";
    // The core first: then the only write transaction of a run is slowpoke's.
    sandbox.host(&["upgrade-all"]).succeeds();
    sandbox.install_scripted(
        "slowpoke",
        json!({"name": "slowpoke", "tables": ["slow_rows"], "ddl": ddl, "migrations": [[1, "fill", v1]]}),
    );
    let spawn =
        || sandbox.command(&["upgrade-all", "--json"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut first = spawn();
    let journal = sandbox.path().join("shop.sqlite-journal");
    let started = Instant::now();
    // The first run is inside its write transaction once its journal exists.
    while !journal.exists() {
        assert!(started.elapsed() < Duration::from_secs(60), "the first run never started writing");
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first run finished before the second started: make V1 slower"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let second = spawn();
    assert!(
        first.try_wait().unwrap().is_none(),
        "the runs overlapped: the second started while the first held the lock"
    );
    let outputs = [first.wait_with_output().unwrap(), second.wait_with_output().unwrap()];
    let applied: usize = outputs
        .iter()
        .map(|o| {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let report: Value = serde_json::from_slice(&o.stdout).unwrap();
            chain(&report, "slowpoke")["migrations"].as_array().map_or(0, Vec::len)
        })
        .sum();
    assert_eq!(applied, 1, "V1 ran once, in one of the two runs");
    let rows: i64 = sandbox.open_db().query_row("SELECT count(*) FROM slow_rows", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 3_000_000);
}

#[test]
fn a_run_that_cannot_get_the_lock_in_time_says_the_database_is_busy() {
    let sandbox = Sandbox::new();
    sandbox.host(&["upgrade-all"]).succeeds();
    sandbox.install(&["computers"]);
    let holder = sandbox.open_db();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let run = sandbox.host(&["upgrade-all", "--busy-timeout", "0.2", "--json"]).exits(1);
    let reason = chain(&run.json(), "computers")["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("is busy") && reason.contains("--busy-timeout"), "{reason}");
    holder.execute_batch("ROLLBACK").unwrap();
    sandbox.host(&["upgrade-all"]).succeeds().stdout_has("computers  applied");
}

// Crashes and failures.

/// A sandbox where plugin `slowpoke` is at V1 with three rows, and a run
/// applying its V2 (seconds of work) was killed with SIGKILL mid-migration,
/// leaving SQLite's hot journal behind. Returns the snapshot from before.
fn killed_mid_migration() -> (Sandbox, String) {
    let sandbox = Sandbox::new();
    let v1 = "CREATE TABLE slow_rows (n INTEGER NOT NULL);";
    let spec = |migrations: Value, ddl: &str| json!({"name": "slowpoke", "tables": ["slow_rows"], "ddl": ddl, "migrations": migrations});
    sandbox.install_scripted("slowpoke", spec(json!([[1, "baseline", v1]]), v1));
    sandbox.host(&["upgrade-all"]).succeeds();
    sandbox.open_db().execute_batch("INSERT INTO slow_rows VALUES (1), (2), (3)").unwrap();
    let before = sandbox.snapshot();

    // V2 takes seconds: a note column, then millions of rows.
    let v2 = "ALTER TABLE slow_rows ADD COLUMN note TEXT;
              WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000000)
              INSERT INTO slow_rows (n, note) SELECT i, 'generated' FROM n;";
    let ddl2 = "CREATE TABLE slow_rows (n INTEGER NOT NULL, note TEXT);";
    sandbox.install_scripted("slowpoke", spec(json!([[1, "baseline", v1], [2, "fill", v2]]), ddl2));
    let mut child = sandbox.command(&["upgrade-all"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // The journal appears when the real run (not the scratch check) writes.
    let journal = sandbox.path().join("shop.sqlite-journal");
    let started = Instant::now();
    while !journal.exists() {
        assert!(started.elapsed() < Duration::from_secs(60), "the run never started writing");
        assert!(child.try_wait().unwrap().is_none(), "the run finished before it could be killed: make V2 slower");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "the run finished before it could be killed: make V2 slower");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(journal.exists(), "a killed run leaves its journal");
    (sandbox, before)
}

#[test]
fn a_run_killed_mid_migration_leaves_the_plugin_at_its_previous_version() {
    let (sandbox, before) = killed_mid_migration();
    // The next connection rolls the hot journal back.
    assert_eq!(sandbox.snapshot(), before, "a killed run left changes behind");
    let ok: String = sandbox.open_db().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
    let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    assert_eq!(chain(&report, "slowpoke")["migrations"], json!(["V2__fill"]));
    let rows: i64 = sandbox.open_db().query_row("SELECT count(*) FROM slow_rows", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 4_000_003);
}

#[test]
fn status_right_after_a_killed_run_rolls_it_back_and_tells_the_truth() {
    let (sandbox, before) = killed_mid_migration();
    let run = sandbox.host(&["status", "--json"]).succeeds();
    assert!(run.stderr.contains("rolled back the transaction of a run that was killed"), "{}", run.report());
    let slowpoke = chain(&run.json(), "slowpoke").clone();
    assert_eq!((&slowpoke["applied"], &slowpoke["pending"]), (&json!(1), &json!(["V2__fill"])), "{slowpoke:#}");
    assert!(!sandbox.path().join("shop.sqlite-journal").exists());
    assert_eq!(sandbox.snapshot(), before);
    sandbox.host(&["check"]).succeeds();
    sandbox.host(&["history"]).succeeds();
}

#[test]
fn after_a_killed_run_a_user_who_may_not_write_is_told_what_happened_and_what_to_run() {
    if !shopdb_tests::running_as_root("running the host as another user needs root") {
        return;
    }
    let (sandbox, before) = killed_mid_migration();
    for entry in std::fs::read_dir(sandbox.plugins_dir()).unwrap() {
        std::fs::set_permissions(entry.unwrap().path(), std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    }
    for args in [&["status"][..], &["history"], &["check"]] {
        let mut command = sandbox.command(args);
        as_unprivileged(&sandbox, &mut command);
        let run = sandbox.run(command).exits(2);
        assert!(
            run.stderr.contains("run that was killed")
                && run.stderr.contains("run `shopdb-host status` once as the file's owner"),
            "{}",
            run.report()
        );
        assert!(!run.stderr.contains("check the file's permissions"), "{}", run.report());
    }
    // As the owner, it is rolled back and the database is as it was.
    sandbox.host(&["status"]).succeeds();
    assert_eq!(sandbox.snapshot(), before);
}

#[test]
fn a_migration_that_existing_rows_violate_fails_naming_plugin_version_and_sqlite_message() {
    let sandbox = Sandbox::new();
    let v1 = "CREATE TABLE gizmos (id INTEGER PRIMARY KEY, label TEXT);";
    sandbox.install_scripted("gizmos", gizmos(json!([[1, "baseline", v1]]), v1));
    sandbox.host(&["upgrade-all"]).succeeds();
    sandbox.open_db().execute_batch("INSERT INTO gizmos (label) VALUES ('ok'), (NULL)").unwrap();
    let before = sandbox.snapshot();
    let v2 = "CREATE TABLE gizmos_new (id INTEGER PRIMARY KEY, label TEXT NOT NULL);
              INSERT INTO gizmos_new SELECT id, label FROM gizmos;
              DROP TABLE gizmos; ALTER TABLE gizmos_new RENAME TO gizmos;";
    let ddl2 = "CREATE TABLE gizmos (id INTEGER PRIMARY KEY, label TEXT NOT NULL);";
    sandbox.install_scripted("gizmos", gizmos(json!([[1, "baseline", v1], [2, "label_required", v2]]), ddl2));
    let report = sandbox.host(&["upgrade-all", "--json"]).exits(1).json();
    let reason = chain(&report, "gizmos")["reason"].as_str().unwrap().to_owned();
    assert!(
        reason.contains("migration V2__label_required failed: NOT NULL constraint failed: gizmos_new.label"),
        "{reason}"
    );
    assert_eq!(sandbox.snapshot(), before);
}

#[test]
fn a_run_that_would_leave_a_foreign_key_violation_rolls_back_naming_the_row() {
    let sandbox = Sandbox::new();
    let v1 = "CREATE TABLE racks (id INTEGER PRIMARY KEY);
              CREATE TABLE rack_slots (id INTEGER PRIMARY KEY, rack_id INTEGER NOT NULL REFERENCES racks (id) ON DELETE CASCADE);";
    let spec = |migrations: Value| json!({"name": "racks", "tables": ["racks", "rack_slots"], "ddl": v1, "migrations": migrations});
    sandbox.install_scripted("racks", spec(json!([[1, "baseline", v1]])));
    sandbox.host(&["upgrade-all"]).succeeds();
    sandbox
        .open_db()
        .execute_batch("INSERT INTO racks VALUES (1), (2); INSERT INTO rack_slots VALUES (10, 1), (11, 2);")
        .unwrap();
    let before = sandbox.snapshot();
    // Foreign keys are off while a chain runs, so the cascade does not fire.
    sandbox.install_scripted(
        "racks",
        spec(json!([[1, "baseline", v1], [2, "retire_rack", "DELETE FROM racks WHERE id = 2;"]])),
    );
    let report = sandbox.host(&["upgrade-all", "--json"]).exits(1).json();
    let reason = chain(&report, "racks")["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("row 11 of `rack_slots` references a missing row of `racks`"), "{reason}");
    assert_eq!(sandbox.snapshot(), before);
}

// A bad environment.

#[test]
fn unusable_database_paths_fail_with_one_clear_line() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    let missing_dir = sandbox.path().join("nowhere/shop.sqlite");
    let not_sqlite = sandbox.path().join("notes.txt");
    let words = "these are not pages of a database, just words that go on for a while";
    std::fs::write(&not_sqlite, words).unwrap();
    let cases = [
        (missing_dir.to_str().unwrap().to_owned(), "directory", "does not exist"),
        (sandbox.path().to_str().unwrap().to_owned(), "is a directory", "--database must name a file"),
        (not_sqlite.to_str().unwrap().to_owned(), "not a SQLite database", ""),
    ];
    for (database, first, second) in cases {
        let run = sandbox.host(&["upgrade-all", "--database", &database]).exits(2);
        assert!(
            run.stderr.starts_with("error: ") && run.stderr.contains(first) && run.stderr.contains(second),
            "{}",
            run.report()
        );
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.report());
    }
    assert!(!missing_dir.exists());
    assert_eq!(std::fs::read_to_string(&not_sqlite).unwrap(), words, "the non-database file is untouched");
}

/// Runs the host as an unprivileged user when the tests run as root (root
/// ignores file permissions).
fn as_unprivileged(sandbox: &Sandbox, command: &mut Command) {
    if unsafe { libc::geteuid() } == 0 {
        let dir = sandbox.path();
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        command.uid(65534).gid(65534);
    }
}

#[test]
fn a_read_only_database_fails_cleanly() {
    let sandbox = Sandbox::new();
    sandbox.host(&["upgrade-all"]).succeeds();
    sandbox.install(&["computers"]);
    for entry in std::fs::read_dir(sandbox.plugins_dir()).unwrap() {
        std::fs::set_permissions(entry.unwrap().path(), std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(sandbox.plugins_dir(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::set_permissions(sandbox.database(), std::os::unix::fs::PermissionsExt::from_mode(0o444)).unwrap();
    let before = bytes(&sandbox.database());
    let mut command = sandbox.command(&["upgrade-all"]);
    as_unprivileged(&sandbox, &mut command);
    let run = sandbox.run(command).exits(2);
    assert!(run.stderr.contains("is read-only") && run.stderr.contains("permissions"), "{}", run.report());
    assert_eq!(bytes(&sandbox.database()), before);
}

#[test]
fn a_full_disk_fails_cleanly_and_leaves_every_plugin_whole() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    sandbox.host(&["upgrade-all"]).succeeds();
    sandbox.install(&BUNDLED);
    let size = std::fs::metadata(sandbox.database()).unwrap().len();
    // A file size limit just above the current size stands in for a full disk.
    let limit = size + 24 * 1024;
    let mut command = sandbox.command(&["upgrade-all", "--json"]);
    unsafe {
        command.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let rlimit = libc::rlimit { rlim_cur: limit, rlim_max: limit };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let run = sandbox.run(command).exits(1);
    let report = run.json();
    let failed: Vec<&Value> = report["chains"].as_array().unwrap().iter().filter(|c| c["status"] == "failed").collect();
    assert!(!failed.is_empty(), "{}", run.report());
    assert!(failed[0]["reason"].as_str().unwrap().contains("is full"), "{}", run.report());
    // Each plugin is either fully at its head (tables and history agree) or untouched.
    let conn = sandbox.open_db();
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
    for plugin in BUNDLED {
        let manifest = shopdb_tests::load_plugin(&bundled(plugin)).manifest;
        let history = versions(&conn, plugin);
        let present = manifest.tables.iter().filter(|t| !columns(&conn, t).is_empty()).count();
        if history.is_empty() {
            assert_eq!(present, 0, "{plugin} has tables but no history");
        } else {
            assert_eq!(history, (1..=i64::from(manifest.head())).collect::<Vec<_>>(), "{plugin}");
            assert_eq!(present, manifest.tables.len(), "{plugin}");
        }
    }
    sandbox.host(&["upgrade-all"]).succeeds();
}

#[test]
fn a_run_that_orphans_rows_of_a_dependent_plugin_rolls_back_too() {
    let sandbox = Sandbox::new();
    let racks_v1 = "CREATE TABLE racks (id INTEGER PRIMARY KEY);";
    let racks =
        |migrations: Value| json!({"name": "racks", "tables": ["racks"], "ddl": racks_v1, "migrations": migrations});
    let slots_v1 = "CREATE TABLE slots (id INTEGER PRIMARY KEY, rack_id INTEGER NOT NULL REFERENCES racks (id));";
    sandbox.install_scripted("racks", racks(json!([[1, "baseline", racks_v1]])));
    sandbox.install_scripted(
        "slots",
        json!({"name": "slots", "tables": ["slots"], "depends_on": ["racks"], "ddl": slots_v1, "migrations": [[1, "baseline", slots_v1]]}),
    );
    sandbox.host(&["upgrade-all"]).succeeds();
    sandbox.open_db().execute_batch("INSERT INTO racks VALUES (1), (2); INSERT INTO slots VALUES (20, 2);").unwrap();
    let before = sandbox.snapshot();
    // racks' own run deletes a rack that another plugin's rows point at.
    sandbox.install_scripted(
        "racks",
        racks(json!([[1, "baseline", racks_v1], [2, "retire", "DELETE FROM racks WHERE id = 2;"]])),
    );
    let report = sandbox.host(&["upgrade-all", "--json"]).exits(1).json();
    let reason = chain(&report, "racks")["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("row 20 of `slots` references a missing row of `racks`"), "{reason}");
    assert_eq!(sandbox.snapshot(), before);
}
