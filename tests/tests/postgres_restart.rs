//! The PostgreSQL server restarted in the middle of a run. In a test binary
//! of its own: the restart would cut every other test's connections.

use shopdb_tests::postgres::server;
use shopdb_tests::Sandbox;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn a_server_restarted_mid_run_gives_a_clear_error_and_the_next_run_completes() {
    let db = server().database();
    let sandbox = Sandbox::on_postgres(&db);
    // V2 runs for seconds, so the restart lands inside it.
    let v1 = "CREATE TABLE slow_rows (n bigint NOT NULL)";
    let v2 =
        "INSERT INTO slow_rows SELECT i FROM generate_series(1, 3000000) i; ALTER TABLE slow_rows ADD COLUMN note text";
    let ddl = "CREATE TABLE slow_rows (n bigint NOT NULL, note text)";
    let chain = serde_json::json!([[1, "baseline", v1], [2, "fill", v2]]);
    let extensions = serde_json::json!({"engines": {"postgres": {"ddl": ddl, "migrations": chain}}});
    sandbox.install_scripted(
        "slowpoke",
        serde_json::json!({"name": "slowpoke", "tables": ["slow_rows"], "ddl": ddl, "migrations": chain,
                           "extensions": extensions.to_string()}),
    );
    sandbox.install(&["computers"]);
    let child =
        sandbox.command(&["upgrade-all", "--json"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // Wait until V2 runs on the real database.
    let started = Instant::now();
    loop {
        let running: i64 = db
            .admin()
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%\"slowpoke\".shopdb_run%' AND state = 'active' AND pid <> pg_backend_pid()", &[])
            .unwrap()
            .get(0);
        if running > 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "V2 never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    server().restart();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    let text = format!("{report}{stderr}");
    assert!(text.contains("connection") && text.contains("lost"), "a clear error: {text}");
    // The plugin is where it was: nothing of it committed.
    let tables: i64 =
        db.admin().query_one("SELECT count(*) FROM pg_namespace WHERE nspname = 'slowpoke'", &[]).unwrap().get(0);
    assert_eq!(tables, 0, "{text}");
    // status tells the truth: the server rolled the run back, nothing to repair.
    let status = sandbox.host(&["status", "--json"]).succeeds().json();
    let planned = status["chains"].as_array().unwrap().iter().find(|c| c["name"] == "slowpoke").unwrap().clone();
    assert_eq!(
        (&planned["applied"], planned["pending"].as_array().map(Vec::len)),
        (&serde_json::Value::Null, Some(2)),
        "{status:#}"
    );
    assert!(planned["problem"].is_null(), "{status:#}");
    let rerun = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    let slowpoke = rerun["chains"].as_array().unwrap().iter().find(|c| c["name"] == "slowpoke").unwrap().clone();
    assert_eq!(slowpoke["status"], "applied", "{rerun:#}");
}
