//! The PostgreSQL engine end to end: the real binary and plugin libraries
//! against a real PostgreSQL server the test binary starts itself (see
//! `shopdb_tests::postgres`), one database per test.

use serde_json::{json, Value};
use shopdb_tests::postgres::{server, TestDatabase, HOST_ROLE, PASSWORD, PASSWORD_ROLE};
use shopdb_tests::{bundled, chain, Run, Sandbox, BUNDLED};
use std::collections::BTreeSet;

fn on_postgres() -> (TestDatabase, Sandbox) {
    let db = server().database();
    let sandbox = Sandbox::on_postgres(&db);
    (db, sandbox)
}

fn head_of(plugin: &str) -> i64 {
    i64::from(shopdb_tests::load_plugin(&bundled(plugin)).manifest.head())
}

/// A scripted plugin whose SQL is `ddl` and `migrations` on both engines
/// (the tests here run only its PostgreSQL chain; the SQLite one pairs up).
fn plugin_spec(name: &str, tables: &[&str], depends_on: &[&str], ddl: &str, migrations: &[(i64, &str, &str)]) -> Value {
    let chain: Vec<Value> = migrations.iter().map(|(v, n, sql)| json!([v, n, sql])).collect();
    let extensions = json!({"engines": {"postgres": {"ddl": ddl, "migrations": chain}}});
    json!({"name": name, "tables": tables, "depends_on": depends_on, "ddl": ddl, "migrations": chain,
           "extensions": extensions.to_string()})
}

fn history_versions(db: &TestDatabase, plugin: &str) -> Vec<i32> {
    db.column(&format!("SELECT version FROM shopdb.shopdb_history_{plugin} ORDER BY version"))
}

fn schema_exists(db: &TestDatabase, schema: &str) -> bool {
    db.admin().query_one("SELECT count(*) FROM pg_namespace WHERE nspname = $1", &[&schema]).unwrap().get::<_, i64>(0)
        == 1
}

#[test]
fn six_plugins_apply_and_a_second_run_changes_nothing() {
    let (db, sandbox) = on_postgres();
    sandbox.install(&BUNDLED);
    let first = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    for plugin in BUNDLED {
        let outcome = chain(&first, plugin);
        assert_eq!(outcome["status"], "applied", "{first:#}");
        assert_eq!(outcome["version"], head_of(plugin), "{first:#}");
        assert_eq!(history_versions(&db, plugin).len() as i64, head_of(plugin));
        assert!(schema_exists(&db, plugin), "each plugin has a schema of its own");
    }
    // Each plugin's role may not log in, make roles or databases, and is a
    // member of no role.
    for plugin in BUNDLED {
        let row = db
            .admin()
            .query_one(
                "SELECT rolcanlogin, rolcreaterole, rolcreatedb, rolsuper,
                        (SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid)
                 FROM pg_roles r WHERE rolname = $1",
                &[&format!("shopdb_plugin_{plugin}")],
            )
            .unwrap();
        let powers: (bool, bool, bool, bool, i64) = (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        assert_eq!(powers, (false, false, false, false, 0), "{plugin}'s role");
    }
    let before = db.snapshot();
    let again = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    for plugin in BUNDLED {
        assert_eq!(chain(&again, plugin)["status"], "up_to_date", "{again:#}");
    }
    assert_eq!(before, db.snapshot(), "a second run changes nothing");
    sandbox.host(&["upgrade-all"]).succeeds().stdout_has("up to date");
}

#[test]
fn status_list_history_and_check_report_on_postgres_as_on_sqlite() {
    let (db, sandbox) = on_postgres();
    sandbox.install(&BUNDLED);
    let status = sandbox.host(&["status", "--json"]).succeeds().json();
    assert_eq!(
        chain(&status, "printers")["pending"].as_array().map(Vec::len),
        Some(head_of("printers") as usize),
        "{status:#}"
    );
    sandbox.host(&["check"]).succeeds();
    assert_eq!(db.snapshot(), "", "status and check on a fresh database write nothing");
    sandbox.host(&["upgrade-all", "-q"]).succeeds();
    let status = sandbox.host(&["status", "--json"]).succeeds().json();
    for plugin in status["chains"].as_array().unwrap() {
        assert_eq!(plugin["pending"].as_array().map(Vec::len), Some(0), "{status:#}");
    }
    let shown = sandbox.host(&["status"]).succeeds();
    assert!(!shown.stdout.contains(PASSWORD) && shown.stdout.contains("postgresql://"), "{}", shown.report());
    sandbox.host(&["list"]).succeeds().stdout_has("printers").stdout_has("printer_models");
    let history = sandbox.host(&["history", "--plugin", "printers", "--json"]).succeeds().json();
    let text = history.to_string();
    assert!(text.contains("printers") && text.contains("upgrade-all") && !text.contains("computers"), "{history:#}");
    let before = db.snapshot();
    let check = sandbox.host(&["check", "--json"]).succeeds().json();
    assert_eq!(before, db.snapshot(), "check writes nothing");
    // Applied by this host and unchanged: passed on the runs' verdicts,
    // unless rechecked in scratch schemas.
    let recorded = |report: &serde_json::Value| -> Vec<bool> {
        report["plugins"].as_array().unwrap().iter().map(|v| v["recorded"] == true && v["status"] == "passed").collect()
    };
    assert_eq!(recorded(&check), vec![true; BUNDLED.len()], "{check:#}");
    let again = sandbox.host(&["check", "--recheck", "--json"]).succeeds().json();
    assert_eq!(recorded(&again), vec![false; BUNDLED.len()], "{again:#}");
    assert!(again["plugins"].as_array().unwrap().iter().all(|v| v["status"] == "passed"), "{again:#}");
}

#[test]
fn migrate_one_plugin_applies_it_and_its_dependencies_and_nothing_else() {
    let (db, sandbox) = on_postgres();
    sandbox.install(&BUNDLED);
    let report = sandbox.host(&["migrate", "--plugin", "printers", "--json"]).succeeds().json();
    let names: Vec<&str> = report["chains"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["core", "computers", "equipment", "network", "printers"], "{report:#}");
    assert_eq!(chain(&report, "printers")["version"], head_of("printers"));
    for untouched in ["usb", "notifications"] {
        assert!(!schema_exists(&db, untouched), "{untouched} was touched");
    }
}

#[test]
fn a_target_stops_the_chain_there_and_a_dry_run_changes_nothing_but_shows_the_sql() {
    let (db, sandbox) = on_postgres();
    sandbox.install(&BUNDLED);
    let dry = sandbox.host(&["upgrade-all", "--dry-run"]).succeeds();
    assert!(dry.stdout.contains("CREATE TABLE"), "a dry run prints the SQL it ran\n{}", dry.report());
    assert_eq!(db.snapshot(), "", "a dry run leaves nothing, not even the host's schema");
    let report = sandbox.host(&["migrate", "--plugin", "printers", "--target", "1", "--json"]).succeeds().json();
    assert_eq!(chain(&report, "printers")["version"], 1);
    assert_eq!(history_versions(&db, "printers"), [1]);
    let report = sandbox.host(&["migrate", "--plugin", "printers", "--json"]).succeeds().json();
    assert_eq!(chain(&report, "printers")["from"], 1);
    assert_eq!(history_versions(&db, "printers"), (1..=head_of("printers") as i32).collect::<Vec<_>>());
}

#[test]
fn history_tables_get_no_toast_table_and_one_in_refinerys_own_layout_is_continued() {
    let (db, sandbox) = on_postgres();
    sandbox.install(&BUNDLED);
    sandbox.host(&["migrate", "--plugin", "printers", "--target", "1"]).succeeds();
    // refinery's own table, as refinery or an earlier host made it: the
    // same columns, every text 255 wide.
    db.admin()
        .batch_execute(&format!(
            "SET ROLE {HOST_ROLE};
             ALTER TABLE shopdb.shopdb_history_printers RENAME TO kept;
             CREATE TABLE shopdb.shopdb_history_printers(version INT4 PRIMARY KEY, name VARCHAR(255),
                 applied_on VARCHAR(255), checksum VARCHAR(255));
             INSERT INTO shopdb.shopdb_history_printers SELECT * FROM shopdb.kept;
             DROP TABLE shopdb.kept;"
        ))
        .unwrap();
    sandbox.host(&["upgrade-all"]).succeeds();
    assert_eq!(history_versions(&db, "printers"), (1..=head_of("printers") as i32).collect::<Vec<_>>());
    let toasted: Vec<String> = db.column(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'shopdb' AND c.relname LIKE 'shopdb\\_%history%' AND c.reltoastrelid <> 0
         ORDER BY 1",
    );
    assert_eq!(toasted, ["shopdb_history_printers"], "only the table made in refinery's layout has a TOAST table");
}

/// A plugin `gadgets` (V1: a table the application then fills) and its
/// later versions.
fn gadgets(sandbox: &Sandbox, later: &[(i64, &str, &str)]) {
    let v1 =
        "CREATE TABLE gadgets (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, site_id bigint, label text)";
    let mut chain = vec![(1, "baseline", v1)];
    chain.extend_from_slice(later);
    let ddl = later.iter().fold(v1.to_owned(), |ddl, (_, _, sql)| format!("{ddl};\n{sql}"));
    sandbox.install_scripted("gadgets", plugin_spec("gadgets", &["gadgets"], &[], &ddl, &chain));
}

fn run_failed(run: &Run, plugin: &str, expected: &str) -> String {
    let report = run.json();
    let outcome = chain(&report, plugin);
    assert_eq!(outcome["status"], "failed", "{}", run.report());
    let reason = outcome["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains(expected), "{reason:?} should contain {expected:?}");
    reason
}

#[test]
fn a_migration_failing_mid_chain_rolls_back_that_plugin_alone() {
    let (db, sandbox) = on_postgres();
    gadgets(&sandbox, &[]);
    sandbox.host(&["upgrade-all", "-q"]).succeeds();
    db.admin().batch_execute("INSERT INTO gadgets.gadgets (site_id, label) VALUES (1, NULL)").unwrap();
    let before = db.snapshot_where(|schema, name| schema == "gadgets" || name == "shopdb_history_gadgets");
    // V2 passes the checks and applies; V3 fails on the operator's rows
    // (the checks' scratch has none), so V2 must go too.
    gadgets(
        &sandbox,
        &[
            (2, "label_index", "CREATE INDEX gadgets_label ON gadgets (label)"),
            (3, "label_required", "ALTER TABLE gadgets ALTER COLUMN label SET NOT NULL"),
        ],
    );
    sandbox.install(&["computers"]);
    let run = sandbox.host(&["upgrade-all", "--json"]).exits(1);
    run_failed(&run, "gadgets", "null value");
    assert_eq!(chain(&run.json(), "computers")["status"], "applied", "{}", run.report());
    assert_eq!(history_versions(&db, "gadgets"), [1]);
    let count: i64 =
        db.admin().query_one("SELECT count(*) FROM pg_indexes WHERE indexname = 'gadgets_label'", &[]).unwrap().get(0);
    assert_eq!(count, 0, "V2's index was rolled back with V3");
    let gadgets_only = |schema: &str, name: &str| schema == "gadgets" || name == "shopdb_history_gadgets";
    assert_eq!(before, db.snapshot_where(gadgets_only), "gadgets is as it was");
}

#[test]
fn a_foreign_key_the_operators_rows_violate_fails_the_run_naming_the_constraint() {
    let (db, sandbox) = on_postgres();
    gadgets(&sandbox, &[]);
    sandbox.host(&["upgrade-all", "-q"]).succeeds();
    db.admin().batch_execute("INSERT INTO gadgets.gadgets (site_id, label) VALUES (999, 'orphan')").unwrap();
    let before = db.snapshot();
    gadgets(
        &sandbox,
        &[(
            2,
            "site_reference",
            "ALTER TABLE gadgets ADD CONSTRAINT gadgets_site_fkey FOREIGN KEY (site_id) REFERENCES sites (id)",
        )],
    );
    let run = sandbox.host(&["upgrade-all", "--json"]).exits(1);
    let reason = run_failed(&run, "gadgets", "gadgets_site_fkey");
    assert!(reason.contains("foreign key"), "{reason}");
    assert_eq!(before, db.snapshot());
}

#[test]
fn two_hosts_at_once_apply_each_migration_once() {
    let (db, sandbox) = on_postgres();
    sandbox.install(&BUNDLED);
    let spawn = || sandbox.command(&["upgrade-all", "--json"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let (first, second) = (spawn(), spawn());
    let mut applied = 0;
    for child in [first, second] {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        applied += report["chains"].as_array().unwrap().iter().filter(|c| c["status"] == "applied").count();
    }
    assert_eq!(applied, BUNDLED.len() + 1, "each chain (and core) applied by exactly one of the two");
    for plugin in BUNDLED {
        assert_eq!(history_versions(&db, plugin), (1..=head_of(plugin) as i32).collect::<Vec<_>>());
    }
}

/// Installs `computers` and applies it, then a plugin `intruder` whose V1
/// also runs `sql`: refused, with the database unchanged; the reason.
fn refused(sql: &str, expected: &[&str]) -> String {
    refused_with(sql, &[], expected)
}

fn refused_with(sql: &str, depends_on: &[&str], expected: &[&str]) -> String {
    let (db, sandbox) = on_postgres();
    sandbox.install(&["computers"]);
    sandbox.host(&["upgrade-all", "-q"]).succeeds();
    db.admin().batch_execute("INSERT INTO shopdb.sites (code, name) VALUES ('HQ', 'Head office')").unwrap();
    let before = db.snapshot();
    let ddl = "CREATE TABLE intruder_things (id bigint PRIMARY KEY)";
    let v1 = format!("{ddl};\n{sql}");
    sandbox.install_scripted(
        "intruder",
        plugin_spec("intruder", &["intruder_things"], depends_on, &v1, &[(1, "baseline", &v1)]),
    );
    let run = sandbox.host(&["upgrade-all", "--json"]).exits(1);
    let report = run.json();
    let outcome = chain(&report, "intruder");
    assert!(matches!(outcome["status"].as_str(), Some("refused" | "failed")), "{}", run.report());
    let reason = outcome["reason"].as_str().unwrap().to_owned();
    for text in expected {
        assert!(reason.contains(text), "for {sql:?}: reason {reason:?} should contain {text:?}");
    }
    assert_eq!(before, db.snapshot(), "{sql:?} changed the database");
    reason
}

#[test]
fn changing_role_or_session_from_plugin_sql_is_refused() {
    let change_role = "may not change role or session";
    refused("RESET ROLE; DROP TABLE shopdb.sites CASCADE", &[change_role]);
    refused("DO $$ BEGIN SET ROLE NONE; DROP TABLE shopdb.sites CASCADE; END $$", &[change_role]);
    refused(&format!("SET SESSION AUTHORIZATION {HOST_ROLE}"), &[change_role]);
    refused(&format!("SET ROLE {HOST_ROLE}; DROP TABLE shopdb.sites CASCADE"), &[change_role]);
    refused("COMMIT; DROP TABLE shopdb.sites CASCADE", &["one transaction"]);
}

#[test]
fn writing_core_tables_or_another_plugins_is_refused() {
    refused("ALTER TABLE sites ADD COLUMN owner text", &["core table"]);
    refused("DROP TABLE sites CASCADE", &["core table"]);
    refused("INSERT INTO sites (code, name) VALUES ('X', 'x')", &["core table"]);
    refused("UPDATE sites SET name = 'mine'", &["core table"]);
    refused("DELETE FROM shopdb.shopdb_core_owners", &["host's"]);
    refused("ALTER TABLE computers.computers ADD COLUMN x int", &["computers"]);
    // Depending on a plugin lets one read and reference its tables, not write them.
    refused_with("INSERT INTO computer_models (name) VALUES ('x')", &["computers"], &["computers"]);
    refused_with("DROP TABLE computers CASCADE", &["computers"], &["computers"]);
}

#[test]
fn a_foreign_key_to_an_undeclared_plugin_is_refused_and_a_declared_one_applies() {
    refused(
        "CREATE TABLE intruder_links (id bigint PRIMARY KEY, computer_id bigint REFERENCES computers.computers (id))",
        &["computers"],
    );
    let (db, sandbox) = on_postgres();
    sandbox.install(&["computers"]);
    let ddl = "CREATE TABLE borrowers (id bigint PRIMARY KEY, computer_id bigint REFERENCES computers (id),
               site_id bigint REFERENCES sites (id))";
    sandbox.install_scripted(
        "borrowers",
        plugin_spec("borrowers", &["borrowers"], &["computers"], ddl, &[(1, "baseline", ddl)]),
    );
    let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    assert_eq!(chain(&report, "borrowers")["status"], "applied", "{report:#}");
    assert!(schema_exists(&db, "borrowers"));
}

#[test]
fn an_invoker_function_and_objects_outside_the_manifest_are_refused() {
    refused(
        "CREATE FUNCTION intruder_stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
           DELETE FROM shopdb.sites; RETURN NEW; END $$;
         CREATE TRIGGER intruder_stamp BEFORE INSERT ON intruder_things FOR EACH ROW EXECUTE FUNCTION intruder_stamp()",
        &["SECURITY DEFINER"],
    );
    refused("CREATE TABLE unlisted_things (id bigint)", &["unlisted_things"]);
    refused("CREATE VIEW unlisted_view AS SELECT 1 AS one", &["unlisted_view"]);
    // A definer function with a pinned search_path runs as the plugin: fine.
    let (_db, sandbox) = on_postgres();
    let ddl = "CREATE TABLE stamped (id bigint PRIMARY KEY, at timestamptz);
               CREATE FUNCTION stamped_at() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
                 AS $$ BEGIN NEW.at := now(); RETURN NEW; END $$;
               CREATE TRIGGER stamped_at BEFORE INSERT ON stamped FOR EACH ROW EXECUTE FUNCTION stamped_at()";
    sandbox.install_scripted("stamped", plugin_spec("stamped", &["stamped"], &[], ddl, &[(1, "baseline", ddl)]));
    let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    assert_eq!(chain(&report, "stamped")["status"], "applied", "{report:#}");
}

#[test]
fn server_wide_powers_are_refused() {
    refused("CREATE SCHEMA elsewhere", &["may not create schemas"]);
    refused("CREATE EXTENSION hstore", &["extension"]);
    refused("CREATE ROLE sneaky LOGIN", &["roles"]);
    refused("COPY intruder_things TO PROGRAM 'touch /tmp/shopdb-owned'", &["privileges"]);
    refused("ALTER SYSTEM SET work_mem = '1GB'", &["one transaction"]);
    refused("SELECT pg_read_file('/etc/passwd')", &["privileges"]);
    refused("NOTIFY shopdb_apps, 'hello'", &["signal other sessions"]);
    refused("SELECT pg_notify('shopdb_apps', 'hello')", &["signal other sessions"]);
}

/// The facts the design stands on, checked on this server: `SET LOCAL ROLE`
/// is no sandbox, a `SECURITY DEFINER` function is.
#[test]
fn set_local_role_is_no_sandbox_and_a_security_definer_function_is() {
    let db = server().database();
    let mut client = db.admin();
    client
        .batch_execute(&format!(
            "CREATE TABLE victim (id int); ALTER TABLE victim OWNER TO {HOST_ROLE};
             DO $$ BEGIN CREATE ROLE shopdb_fact_check NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
             GRANT shopdb_fact_check TO {HOST_ROLE}; GRANT CREATE ON SCHEMA public TO shopdb_fact_check"
        ))
        .unwrap();
    let mut host = server().connect_as(HOST_ROLE, &db.name);
    // After SET LOCAL ROLE, the "plugin's" SQL resets the role and drops the host's table.
    host.batch_execute("BEGIN; SET LOCAL ROLE shopdb_fact_check; RESET ROLE; DROP TABLE victim; ROLLBACK").unwrap();
    host.batch_execute(
        "BEGIN; SET LOCAL ROLE shopdb_fact_check; DO $$ BEGIN SET ROLE NONE; END $$; DROP TABLE victim; ROLLBACK",
    )
    .unwrap();
    host.batch_execute(
        "CREATE FUNCTION public.run_as_plugin(sql text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
           SET search_path = public, pg_temp AS $$ BEGIN EXECUTE sql; END $$;
         ALTER FUNCTION public.run_as_plugin(text) OWNER TO shopdb_fact_check",
    )
    .unwrap();
    for escape in
        ["RESET ROLE", "SET ROLE NONE", "DO $$ BEGIN SET ROLE NONE; END $$", "SET SESSION AUTHORIZATION DEFAULT"]
    {
        let error = host.execute("SELECT public.run_as_plugin($1)", &[&escape]).unwrap_err();
        let message = error.as_db_error().map(|e| e.message().to_owned()).unwrap_or_default();
        assert!(message.contains("within security-definer function"), "{escape}: {message}");
    }
    for trespass in ["DROP TABLE victim", "ALTER TABLE victim ADD COLUMN x int", "INSERT INTO victim VALUES (1)"] {
        let error = host.execute("SELECT public.run_as_plugin($1)", &[&trespass]).unwrap_err();
        let message = error.as_db_error().map(|e| e.message().to_owned()).unwrap_or_default();
        assert!(
            message.contains("must be owner of table") || message.contains("permission denied"),
            "{trespass}: {message}"
        );
    }
    // A multi-statement text runs, inside the caller's transaction.
    host.batch_execute("BEGIN").unwrap();
    host.execute("SELECT public.run_as_plugin($1)", &[&"CREATE TABLE mine (id int); INSERT INTO mine VALUES (1)"])
        .unwrap();
    host.batch_execute("ROLLBACK").unwrap();
    let left: i64 = client.query_one("SELECT count(*) FROM pg_class WHERE relname = 'mine'", &[]).unwrap().get(0);
    assert_eq!(left, 0, "the function's work was rolled back with the caller's transaction");
}

#[test]
fn temporary_objects_are_refused_and_cannot_shadow_a_core_table() {
    // Plugin roles have TEMP through PUBLIC (revoking it would take it from
    // the applications too), so the catalog audit refuses what they make
    // there; and with pg_temp last on every search_path, a temporary `sites`
    // would not shadow the core table anyway: the INSERT below reaches the
    // core table and is denied.
    refused("CREATE TEMP TABLE scratchpad (id int)", &["temporary"]);
    refused(
        "CREATE TEMP TABLE sites (id bigint, code text, name text); INSERT INTO sites (code, name) VALUES ('X', 'x')",
        &["core table"],
    );
}

#[test]
fn the_applications_search_path_sees_every_table() {
    let (db, sandbox) = on_postgres();
    sandbox.install(&BUNDLED);
    sandbox.host(&["upgrade-all", "-q"]).succeeds();
    let mut client = db.admin();
    client.batch_execute(&format!("SET search_path = {}, shopdb", BUNDLED.join(", "))).unwrap();
    for plugin in BUNDLED {
        for table in shopdb_tests::load_plugin(&bundled(plugin)).manifest.tables {
            client.query(&format!("SELECT count(*) FROM {table}"), &[]).unwrap_or_else(|e| panic!("{table}: {e}"));
        }
    }
    client.query("SELECT count(*) FROM sites", &[]).unwrap();
}

#[test]
fn both_engines_build_the_same_model_for_every_plugin() {
    use shopdb_host::engine::{open, DatabaseTarget, OpenMode};
    let (db, sandbox) = on_postgres();
    sandbox.install(&BUNDLED);
    sandbox.host(&["upgrade-all", "-q"]).succeeds();
    let lite = Sandbox::new();
    lite.install(&BUNDLED);
    lite.host(&["upgrade-all", "-q"]).succeeds();
    let timeout = std::time::Duration::from_secs(5);
    let pg = open(&DatabaseTarget::parse(&db.url()).unwrap(), OpenMode::Read, timeout).unwrap().unwrap();
    let sqlite = open(&DatabaseTarget::Sqlite(lite.database()), OpenMode::Read, timeout).unwrap().unwrap();
    // The types each SQLite declared type may become (the mapping every
    // chain follows; see migrations/postgres/V1).
    let allowed = |sqlite: &str, postgres: &str| -> bool {
        let (sqlite, postgres) = (sqlite.to_ascii_uppercase(), postgres.to_ascii_lowercase());
        let postgres = postgres.as_str();
        let base = sqlite.split('(').next().unwrap_or_default().trim();
        match base {
            "INTEGER" | "INT" => ["bigint", "integer", "boolean", "smallint"].contains(&postgres),
            "TEXT" => {
                ["text", "date", "timestamp with time zone", "jsonb", "inet", "macaddr", "cidr"].contains(&postgres)
                    || postgres.starts_with("character varying")
            }
            "REAL" => ["double precision", "real"].contains(&postgres) || postgres.starts_with("numeric"),
            "NUMERIC" => postgres.starts_with("numeric"),
            "BLOB" => postgres == "bytea",
            _ => false,
        }
    };
    for plugin in BUNDLED {
        let tables: BTreeSet<String> =
            shopdb_tests::load_plugin(&bundled(plugin)).manifest.tables.into_iter().collect();
        let a = sqlite.read_schema(plugin, &|t| tables.contains(t)).unwrap();
        let b = pg.read_schema(plugin, &|t| tables.contains(t)).unwrap();
        assert_eq!(a.tables.keys().collect::<Vec<_>>(), b.tables.keys().collect::<Vec<_>>(), "{plugin}: tables");
        for (name, lt) in &a.tables {
            let pt = &b.tables[name];
            let columns = |t: &shopdb_host::schema::Table| t.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
            assert_eq!(columns(lt), columns(pt), "{plugin}.{name}: columns in order");
            for (lc, pc) in lt.columns.iter().zip(&pt.columns) {
                assert!(
                    allowed(&lc.decl_type, &pc.decl_type),
                    "{plugin}.{name}.{}: {} -> {}",
                    lc.name,
                    lc.decl_type,
                    pc.decl_type
                );
                assert_eq!(lc.primary_key, pc.primary_key, "{plugin}.{name}.{}: primary key", lc.name);
                assert_eq!(
                    lc.not_null || lc.primary_key > 0,
                    pc.not_null || pc.primary_key > 0,
                    "{plugin}.{name}.{}: NOT NULL",
                    lc.name
                );
            }
            let keys = |t: &shopdb_host::schema::Table| {
                t.foreign_keys
                    .iter()
                    .map(|k| (k.columns.clone(), k.table.clone(), k.references.clone(), k.on_delete.clone()))
                    .collect::<BTreeSet<_>>()
            };
            assert_eq!(keys(lt), keys(pt), "{plugin}.{name}: foreign keys");
            let named = |t: &shopdb_host::schema::Table| {
                t.indexes
                    .iter()
                    .filter(|(_, i)| i.origin == "c")
                    .map(|(n, i)| (n.clone(), i.unique))
                    .collect::<BTreeSet<_>>()
            };
            assert_eq!(named(lt), named(pt), "{plugin}.{name}: named indexes");
            let uniques = |t: &shopdb_host::schema::Table| t.indexes.values().filter(|i| i.origin == "u").count();
            assert_eq!(uniques(lt), uniques(pt), "{plugin}.{name}: UNIQUE constraints");
        }
        assert_eq!(a.views.keys().collect::<Vec<_>>(), b.views.keys().collect::<Vec<_>>(), "{plugin}: views");
    }
}

#[test]
fn a_plugin_without_a_postgres_chain_is_refused_naming_what_to_add() {
    let (db, sandbox) = on_postgres();
    let ddl = "CREATE TABLE lite_only (id INTEGER PRIMARY KEY)";
    sandbox.install_scripted(
        "liteonly",
        json!({"name": "liteonly", "tables": ["lite_only"], "ddl": ddl, "migrations": [[1, "baseline", ddl]]}),
    );
    let run = sandbox.host(&["upgrade-all", "--json"]).exits(1);
    let reason = chain(&run.json(), "liteonly")["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("plugin 'liteonly' has no PostgreSQL chain: add postgres/"), "{reason}");
    assert!(reason.contains("postgres/migrations/"), "{reason}");
    assert!(!schema_exists(&db, "liteonly"));
}

#[test]
fn chains_of_the_two_engines_that_disagree_are_refused_naming_the_first_difference() {
    let (_db, sandbox) = on_postgres();
    let ddl = "CREATE TABLE odd (id bigint PRIMARY KEY)";
    let pg_chain = json!([[1, "baseline", ddl], [2, "renamed", "SELECT 1"]]);
    let extensions = json!({"engines": {"postgres": {"ddl": ddl, "migrations": pg_chain}}});
    sandbox.install_scripted(
        "odd",
        json!({"name": "odd", "tables": ["odd"], "ddl": ddl, "migrations": [[1, "baseline", ddl], [2, "widen", "SELECT 1"]],
               "extensions": extensions.to_string()}),
    );
    let run = sandbox.host(&["upgrade-all", "--json"]).exits(1);
    let reason = chain(&run.json(), "odd")["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("V2") && reason.contains("widen") && reason.contains("renamed"), "{reason}");
}

#[test]
fn bad_connection_strings_fail_with_one_line_and_exit_2() {
    let socket = server().socket().to_string_lossy().replace('/', "%2F");
    let sandbox = Sandbox::new();
    let cases: Vec<(String, &str)> = vec![
        ("postgres://nobody@%2Fnonexistent-dir/shop".into(), "cannot reach"),
        (format!("postgresql://{HOST_ROLE}@{socket}/no_such_db"), "no database `no_such_db`"),
        (format!("postgresql://{PASSWORD_ROLE}:wrong-{PASSWORD}@{socket}/postgres"), "authentication"),
        (format!("postgresql://{PASSWORD_ROLE}@{socket}/postgres"), "authentication"),
        ("postgres://x@localhost:notaport/db".into(), "postgres"),
        (format!("postgresql://{HOST_ROLE}@{socket}/postgres?sslmode=require"), "sslmode=require"),
    ];
    for (url, expected) in cases {
        let run = sandbox.run({
            let mut c = sandbox.command(&["upgrade-all", "--database", &url]);
            c.env_remove("PGPASSWORD");
            c
        });
        let run = run.exits(2);
        let err = run.stderr.trim();
        assert_eq!(err.lines().count(), 1, "one line for {url}: {}", run.report());
        assert!(err.to_lowercase().contains(expected), "{url}: {err:?} should say {expected:?}");
        assert!(!err.contains(PASSWORD), "the password is never shown: {err}");
    }
}

#[test]
fn passwords_come_from_pgpassword_or_pgpass_and_are_never_shown() {
    let db = server().database_owned_by(PASSWORD_ROLE);
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    let url = db.url_as(PASSWORD_ROLE);
    let mut with_env = sandbox.command(&["upgrade-all", "--database", &url]);
    with_env.env("PGPASSWORD", PASSWORD);
    sandbox.run(with_env).succeeds();
    let pgpass = sandbox.path().join("pgpass");
    std::fs::write(&pgpass, format!("*:*:*:{PASSWORD_ROLE}:{PASSWORD}\n")).unwrap();
    shopdb_tests::set_mode(&pgpass, 0o600);
    let mut with_file = sandbox.command(&["status", "--database", &url]);
    with_file.env("PGPASSFILE", &pgpass).env_remove("PGPASSWORD");
    let shown = sandbox.run(with_file).succeeds();
    assert!(!shown.stdout.contains(PASSWORD) && !shown.stderr.contains(PASSWORD));
    let mut logged = sandbox.command(&["upgrade-all", "-vv", "--database", &url]);
    logged.env("PGPASSWORD", PASSWORD);
    let logged = sandbox.run(logged).succeeds();
    assert!(!logged.stderr.is_empty() && !logged.stderr.contains(PASSWORD), "{}", logged.report());
    let with_password = format!(
        "postgresql://{PASSWORD_ROLE}:{PASSWORD}@{}/{}",
        server().socket().to_string_lossy().replace('/', "%2F"),
        db.name
    );
    let shown = sandbox.host(&["status", "--json", "--database", &with_password]).succeeds();
    assert!(!shown.stdout.contains(PASSWORD), "{}", shown.report());
    let audit: Vec<String> = db.column("SELECT row_to_json(a)::text FROM shopdb.shopdb_core_audit a");
    assert!(!audit.is_empty() && audit.iter().all(|row| !row.contains(PASSWORD)), "{audit:?}");
}

#[test]
fn a_host_role_without_the_privileges_it_needs_is_told_the_grant_that_fixes_it() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    // shopdb_app may log in but owns nothing and may not create roles.
    let db = server().database();
    let run = sandbox.host(&["upgrade-all", "--database", &db.url_as("shopdb_app")]).exits(2);
    let err = run.stderr.trim();
    assert_eq!(err.lines().count(), 1, "{}", run.report());
    assert!(err.contains("CREATE") && (err.contains("GRANT") || err.contains("ALTER ROLE")), "{err}");
    assert_eq!(db.snapshot(), "", "nothing written");
    db.admin().batch_execute(&format!("GRANT CREATE ON DATABASE {} TO shopdb_app", db.name)).unwrap();
    let run = sandbox.host(&["upgrade-all", "--database", &db.url_as("shopdb_app")]).exits(2);
    assert!(run.stderr.contains("ALTER ROLE") && run.stderr.contains("CREATEROLE"), "{}", run.report());
    assert_eq!(db.snapshot(), "", "nothing written");
}

#[test]
fn a_role_that_may_only_read_finds_an_applied_database_up_to_date_and_is_refused_once_there_is_something_to_write() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    let db = server().database();
    sandbox.host(&["upgrade-all", "--database", &db.url()]).succeeds();
    // shopdb_app may read the host's tables, and create nothing.
    db.admin()
        .batch_execute(
            "GRANT USAGE ON SCHEMA shopdb TO shopdb_app; GRANT SELECT ON ALL TABLES IN SCHEMA shopdb TO shopdb_app",
        )
        .unwrap();
    let audited =
        || -> i64 { db.admin().query_one("SELECT count(*) FROM shopdb.shopdb_core_audit", &[]).unwrap().get(0) };
    let (before, audit_before) = (db.snapshot(), audited());
    // Nothing to write: nothing a write needs is asked of the role.
    let run = sandbox.host(&["upgrade-all", "--database", &db.url_as("shopdb_app")]).succeeds();
    assert!(run.stdout.contains("computers") && run.stdout.contains("up to date"), "{}", run.report());
    // Something to write: refused before anything is, with the fix.
    sandbox.install(&["notifications"]);
    let run = sandbox.host(&["upgrade-all", "--database", &db.url_as("shopdb_app")]).exits(2);
    let err = run.stderr.trim();
    assert_eq!(err.lines().count(), 1, "{}", run.report());
    assert!(err.contains("ownership of the schema `shopdb`") && err.contains("ALTER SCHEMA shopdb OWNER TO"), "{err}");
    assert_eq!(db.snapshot(), before, "nothing written");
    assert_eq!(audited(), audit_before, "nothing audited");
}

#[test]
fn the_libpq_environment_and_url_parameters_fill_in_what_the_url_leaves_out() {
    let db = server().database();
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    let socket = server().socket().to_string_lossy().into_owned();
    let mut from_env = sandbox.command(&["upgrade-all", "--database", "postgresql://"]);
    from_env.env("PGHOST", &socket).env("PGUSER", HOST_ROLE).env("PGDATABASE", &db.name);
    sandbox.run(from_env).succeeds().stdout_has("computers");
    let with_parameters = format!("postgres:///{}?host={socket}&user={HOST_ROLE}", db.name);
    sandbox.host(&["status", "--json", "--database", &with_parameters]).succeeds();
    let report = sandbox.host(&["upgrade-all", "--json", "--database", &with_parameters]).succeeds().json();
    assert_eq!(chain(&report, "computers")["status"], "up_to_date", "the same database both ways: {report:#}");
}

#[test]
fn a_postgres_chain_may_begin_later_with_a_baseline() {
    // The plugin gained PostgreSQL in a later release: its PostgreSQL chain
    // begins at V2 with a baseline equal to the SQLite schema at V2.
    let (db, sandbox) = on_postgres();
    let v1 = "CREATE TABLE late_things (id INTEGER PRIMARY KEY)";
    let v2 = "ALTER TABLE late_things ADD COLUMN label TEXT";
    let v3 = "CREATE INDEX late_things_label ON late_things (label)";
    let pg_v2 = "CREATE TABLE late_things (id bigint PRIMARY KEY, label text)";
    let pg_ddl = format!("{pg_v2};\n{v3}");
    let pg_chain = json!([[2, "label", pg_v2], [3, "label_index", v3]]);
    let extensions = json!({"engines": {"postgres": {"ddl": pg_ddl, "migrations": pg_chain}}});
    sandbox.install_scripted(
        "late",
        json!({"name": "late", "tables": ["late_things"], "ddl": "CREATE TABLE late_things (id INTEGER PRIMARY KEY, label TEXT);
               CREATE INDEX late_things_label ON late_things (label)",
               "migrations": [[1, "baseline", v1], [2, "label", v2], [3, "label_index", v3]],
               "extensions": extensions.to_string()}),
    );
    let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    assert_eq!(chain(&report, "late")["version"], 3, "{report:#}");
    assert_eq!(history_versions(&db, "late"), [2, 3]);
    let again = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    assert_eq!(chain(&again, "late")["status"], "up_to_date", "{again:#}");
}

#[test]
fn a_host_waits_for_another_up_to_the_busy_timeout_then_says_busy() {
    let (db, sandbox) = on_postgres();
    sandbox.install(&["computers"]);
    // Another host's run holds the run lock (the host's advisory lock).
    let mut other = db.admin();
    other.batch_execute("BEGIN; SELECT pg_advisory_xact_lock(91570033411138)").unwrap();
    let started = std::time::Instant::now();
    let run = sandbox.host(&["upgrade-all", "--busy-timeout", "1"]).exits(1);
    assert!(run.stdout.contains("is busy") && run.stdout.contains("--busy-timeout"), "{}", run.report());
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "it waited first");
    other.batch_execute("ROLLBACK").unwrap();
    assert_eq!(db.snapshot(), "", "nothing written while it waited");
    sandbox.host(&["upgrade-all", "-q"]).succeeds();
}

#[test]
fn an_applied_migration_edited_afterwards_is_refused_as_on_sqlite() {
    let (db, sandbox) = on_postgres();
    gadgets(&sandbox, &[]);
    sandbox.host(&["upgrade-all", "-q"]).succeeds();
    let before = db.snapshot();
    let v1 = "CREATE TABLE gadgets (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, site_id bigint, label text, extra text)";
    sandbox.install_scripted("gadgets", plugin_spec("gadgets", &["gadgets"], &[], v1, &[(1, "baseline", v1)]));
    let run = sandbox.host(&["upgrade-all", "--json"]).exits(1);
    let reason = chain(&run.json(), "gadgets")["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("was changed after it was applied"), "{reason}");
    assert_eq!(before, db.snapshot());
}

#[test]
fn uninstall_shows_then_backs_up_with_pg_dump_and_drops_and_the_backup_restores() {
    let (db, sandbox) = on_postgres();
    sandbox.install(&["computers", "usb"]);
    sandbox.host(&["upgrade-all", "-q"]).succeeds();
    db.admin()
        .batch_execute("INSERT INTO usb.usb_vendors (vendor_id, product_id, name) VALUES ('046d', 'c52b', 'Logitech'), ('0781', '5567', 'SanDisk')")
        .unwrap();
    sandbox.host(&["uninstall", "--plugin", "computers"]).exits(2).stderr_has("'usb' depends on it");
    let before = db.snapshot();
    let shown = sandbox.host(&["uninstall", "--plugin", "usb"]).succeeds();
    assert!(shown.stdout.contains("usb_vendors") && shown.stdout.contains("2 rows"), "{}", shown.report());
    assert_eq!(before, db.snapshot(), "without --yes nothing changes");

    let done = sandbox.host(&["uninstall", "--plugin", "usb", "--yes", "--json"]).succeeds().json();
    let dump = std::path::PathBuf::from(done["backup"]["path"].as_str().unwrap());
    assert!(dump.starts_with(sandbox.path()) && dump.exists(), "{done:#}");
    assert!(!schema_exists(&db, "usb"), "the plugin's schema is dropped");
    let left = db.snapshot();
    assert!(!left.contains("usb") || left.lines().all(|l| !l.contains("usb_")), "{left}");
    let restore = done["backup"]["restore"].as_str().unwrap();
    assert!(restore.starts_with("pg_restore ") && !restore.contains(PASSWORD), "{restore}");
    // The printed command, as an operator runs it, brings everything back
    // (the audit record keeps the uninstall).
    let output = std::process::Command::new("sh").arg("-c").arg(restore).current_dir(sandbox.path()).output().unwrap();
    assert!(output.status.success(), "{restore}: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(before, db.snapshot(), "the backup restores the plugin, its history and its records");
    sandbox.host(&["upgrade-all", "--json"]).succeeds();
    assert_eq!(before, db.snapshot(), "and the host sees it as it was");
}

#[test]
fn uninstall_drops_nothing_when_pg_dump_is_too_old_or_fails() {
    let (db, sandbox) = on_postgres();
    sandbox.install(&["computers", "usb"]);
    sandbox.host(&["upgrade-all", "-q"]).succeeds();
    let before = db.snapshot();
    let bin = sandbox.path().join("fake-bin");
    std::fs::create_dir(&bin).unwrap();
    let fake = bin.join("pg_dump");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    for (script, expected) in [
        ("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n", "older than the server"),
        ("#!/bin/sh\n[ \"$1\" = --version ] && echo 'pg_dump (PostgreSQL) 99.0' && exit 0\necho 'pg_dump: error: connection refused' >&2; exit 1\n", "pg_dump failed: pg_dump: error: connection refused"),
    ] {
        std::fs::write(&fake, script).unwrap();
        shopdb_tests::set_mode(&fake, 0o755);
        let mut command = sandbox.command(&["uninstall", "--plugin", "usb", "--yes"]);
        command.env("PATH", &path);
        let run = sandbox.run(command).exits(2);
        assert!(run.stderr.contains(expected) && run.stderr.contains("nothing was dropped"), "{}", run.report());
        assert_eq!(before, db.snapshot(), "nothing dropped, nothing left behind");
    }
}

#[test]
fn bootstrap_builds_the_same_schema_as_the_chains_on_postgres() {
    use shopdb_host::engine::{open, DatabaseTarget, OpenMode};
    let (chains_db, chains) = on_postgres();
    chains.install(&BUNDLED);
    chains.host(&["upgrade-all", "-q"]).succeeds();
    let (ddl_db, from_ddl) = on_postgres();
    from_ddl.install(&BUNDLED);
    let report = from_ddl.host(&["bootstrap", "--json"]).succeeds().json();
    for plugin in BUNDLED {
        assert_eq!(chain(&report, plugin)["how"], "bootstrapped", "{report:#}");
        assert_eq!(history_versions(&ddl_db, plugin), (1..=head_of(plugin) as i32).collect::<Vec<_>>());
    }
    let timeout = std::time::Duration::from_secs(5);
    let a = open(&DatabaseTarget::parse(&chains_db.url()).unwrap(), OpenMode::Read, timeout).unwrap().unwrap();
    let b = open(&DatabaseTarget::parse(&ddl_db.url()).unwrap(), OpenMode::Read, timeout).unwrap().unwrap();
    for plugin in BUNDLED {
        let (sa, sb) = (a.read_schema(plugin, &|_| true).unwrap(), b.read_schema(plugin, &|_| true).unwrap());
        let diff = sa.diff("the chains", &sb, "bootstrap");
        assert!(diff.is_empty(), "{plugin}: {diff:#?}");
    }
    let status = from_ddl.host(&["status", "--json"]).succeeds().json();
    assert_eq!(chain(&status, "printers")["marks"][0]["how"], "bootstrapped", "{status:#}");
    from_ddl.host(&["status"]).succeeds().stdout_has("(bootstrapped V");
    from_ddl.host(&["upgrade-all", "--json"]).succeeds();
    assert_eq!(from_ddl.host(&["bootstrap", "--json"]).exits(1).json()["chains"].as_array().map(Vec::len), Some(7));
}

/// The PostgreSQL `ledger` chain (see deploy.rs for the SQLite one): a table
/// created in V2 and dropped in V4, with indexes in between.
const LEDGER: [(i64, &str, &str); 4] = [
    (1, "baseline", "CREATE TABLE ledger_entries (id bigint PRIMARY KEY, amount integer NOT NULL);"),
    (2, "staging", "CREATE TABLE ledger_staging (id bigint, amount integer); CREATE INDEX ledger_staging_id ON ledger_staging (id);"),
    (3, "entries_amount", "CREATE INDEX ledger_entries_amount ON ledger_entries (amount);"),
    (4, "staging_done", "INSERT INTO ledger_entries (id, amount) SELECT id, amount FROM ledger_staging; DROP TABLE ledger_staging;"),
];
const LEDGER_DDL: &str = "CREATE TABLE ledger_entries (id bigint PRIMARY KEY, amount integer NOT NULL);
                          CREATE INDEX ledger_entries_amount ON ledger_entries (amount);";

/// A database with the core schema and `chain` run by hand (as the host's
/// role, in schema `ledger`) up to `upto`, without history: an older
/// deploy, or a restored dump.
fn hand_made(chain: &[(i64, &str, &str)], upto: usize) -> (TestDatabase, Sandbox) {
    let (db, sandbox) = on_postgres();
    sandbox.host(&["upgrade-all", "-q"]).succeeds();
    let mut host = server().connect_as(HOST_ROLE, &db.name);
    host.batch_execute("CREATE SCHEMA ledger; SET search_path = ledger, shopdb").unwrap();
    for (_, _, sql) in &chain[..upto] {
        host.batch_execute(sql).unwrap();
    }
    sandbox.install_scripted("ledger", plugin_spec("ledger", &["ledger_entries"], &[], LEDGER_DDL, chain));
    (db, sandbox)
}

#[test]
fn objects_found_without_history_are_adopted_at_exactly_their_version_on_postgres() {
    for upto in 1..=LEDGER.len() {
        let (db, sandbox) = hand_made(&LEDGER, upto);
        let version = upto as i64;
        let status = sandbox.host(&["status", "--json"]).succeeds().json();
        assert_eq!(chain(&status, "ledger")["will_adopt"], version, "V{version}: {status:#}");
        let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
        let ledger = chain(&report, "ledger");
        if upto == LEDGER.len() {
            assert_eq!((&ledger["status"], &ledger["how"]), (&json!("recorded"), &json!("adopted")), "{ledger:#}");
        } else {
            assert_eq!((&ledger["status"], &ledger["adopted"]), (&json!("applied"), &json!(version)), "{ledger:#}");
        }
        assert_eq!(history_versions(&db, "ledger"), [1, 2, 3, 4]);
        let status = sandbox.host(&["status", "--json"]).succeeds().json();
        assert_eq!(chain(&status, "ledger")["marks"][0]["how"], "adopted", "{status:#}");
        sandbox.host(&["check"]).succeeds();
        // Adopted objects belong to the plugin's role, as if its chain had made them.
        let owner: String = db
            .admin()
            .query_one("SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE relname = 'ledger_entries'", &[])
            .unwrap()
            .get(0);
        assert_eq!(owner, "shopdb_plugin_ledger");
    }
}

#[test]
fn versions_only_data_tells_apart_are_refused_with_the_stamp_to_run_on_postgres() {
    let chain_ = [
        (1, "baseline", "CREATE TABLE ledger_entries (id bigint PRIMARY KEY, amount integer NOT NULL);"),
        (2, "opening_balance", "INSERT INTO ledger_entries (id, amount) VALUES (1, 100);"),
        (3, "entries_amount", "CREATE INDEX ledger_entries_amount ON ledger_entries (amount);"),
    ];
    let (db, sandbox) = hand_made(&chain_, 1);
    let before = db.snapshot();
    let report = sandbox.host(&["upgrade-all", "--json"]).exits(1).json();
    let reason = chain(&report, "ledger")["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("shopdb-host stamp --plugin ledger --version 2"), "{reason}");
    assert_eq!(before, db.snapshot(), "nothing is written while the version is not known");
    sandbox.host(&["stamp", "--plugin", "ledger", "--version", "1"]).succeeds();
    sandbox.host(&["status"]).succeeds().stdout_has("(stamped V1)");
    let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    assert_eq!(chain(&report, "ledger")["migrations"], json!(["V2__opening_balance", "V3__entries_amount"]));
    sandbox
        .host(&["stamp", "--plugin", "ledger", "--version", "2"])
        .exits(2)
        .stderr_has("only records history forward");
}

#[test]
fn a_schema_of_the_plugins_name_holding_someone_elses_table_is_not_taken_over() {
    let (db, sandbox) = hand_made(&LEDGER, 1);
    server().connect_as(HOST_ROLE, &db.name).batch_execute("CREATE TABLE ledger.dba_notes (note text)").unwrap();
    let before = db.snapshot();
    let run = sandbox.host(&["upgrade-all", "--json"]).exits(1);
    let reason = chain(&run.json(), "ledger")["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("`ledger.dba_notes`") && reason.contains("move it"), "{reason}");
    assert_eq!(before, db.snapshot());
}

#[test]
fn an_application_holding_a_lock_on_a_core_table_makes_the_host_wait_then_say_busy() {
    waits_for_a_lock_on_a_core_table_then_says_busy("upgrade-all");
}

#[test]
fn bootstrap_waits_for_a_lock_on_a_core_table_then_says_busy() {
    waits_for_a_lock_on_a_core_table_then_says_busy("bootstrap");
}

/// `shopdb-host COMMAND` (one that applies plugins) on a database whose
/// core is applied, while an application holds a lock on a core table that
/// computers' SQL needs: the host waits `--busy-timeout`, says the database
/// is busy, leaves everything as it was, and a later run completes.
fn waits_for_a_lock_on_a_core_table_then_says_busy(command: &str) {
    let (db, sandbox) = on_postgres();
    sandbox.host(&["upgrade-all", "-q"]).succeeds();
    sandbox.install(&["computers"]);
    let before = db.snapshot();
    // computers' tables reference core tables: creating those foreign keys
    // needs a lock the application's holds.
    let mut application = db.admin();
    application.batch_execute("BEGIN; LOCK TABLE shopdb.locations IN ACCESS EXCLUSIVE MODE").unwrap();
    let started = std::time::Instant::now();
    let run = sandbox.host(&[command, "--busy-timeout", "1", "--json"]).exits(1);
    let waited = started.elapsed();
    let reason = chain(&run.json(), "computers")["reason"].as_str().unwrap_or_default().to_owned();
    assert!(reason.contains("is busy") && reason.contains("--busy-timeout"), "{}", run.report());
    assert!(waited >= std::time::Duration::from_secs(1), "it waited first: {waited:?}");
    application.batch_execute("ROLLBACK").unwrap();
    assert_eq!(before, db.snapshot(), "nothing half-applied");
    sandbox.host(&[command, "-q"]).succeeds();
}

#[test]
fn a_second_database_on_the_server_recalls_every_plugins_checks_and_ends_the_same() {
    let (first_db, first) = on_postgres();
    first.install(&BUNDLED);
    first.host(&["upgrade-all", "-v"]).succeeds();
    let (second_db, second) = on_postgres();
    second.install(&BUNDLED);
    let mut command = second.command(&["upgrade-all", "-v"]);
    command.env("SHOPDB_VERDICT_CACHE", first.verdict_cache());
    let run = second.run(command).succeeds();
    for plugin in BUNDLED {
        assert!(
            run.stderr.contains(&format!("{plugin}: checks recalled from the verdict cache")),
            "{plugin}'s checks come from the first database's run\n{}",
            run.report()
        );
        assert_eq!(history_versions(&second_db, plugin), history_versions(&first_db, plugin));
    }
    for ran in ["scratch checks in", "chain checked in", "DDL checked in"] {
        assert!(!run.stderr.contains(ran), "no scratch database used\n{}", run.report());
    }
    let plugin_objects = |schema: &str, _: &str| schema != "shopdb";
    assert_eq!(second_db.snapshot_where(plugin_objects), first_db.snapshot_where(plugin_objects));
}

/// The advisory lock the host's chains take on PostgreSQL: its run lock.
const RUN_LOCK: i64 = 0x5348_4f50_4442;

/// `shopdb-host ARGS` started in `sandbox`, its output captured, and
/// whether it came to wait on `db` (a backend there whose `pg_stat_activity`
/// row meets `waiting_on`) within 30 s: for races staged by a test holding
/// a lock.
fn started_and_waiting(
    sandbox: &Sandbox,
    db: &TestDatabase,
    args: &[&str],
    waiting_on: &str,
) -> (std::process::Child, bool) {
    let mut command = sandbox.command(args);
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let host = command.spawn().expect("the host starts");
    let mut watch = server().admin();
    let query = format!("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND {waiting_on}");
    let waiting = (0..1500).any(|_| {
        let waiting = watch.query_one(&query, &[&db.name]).unwrap().get::<_, i64>(0) > 0;
        if !waiting {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        waiting
    });
    (host, waiting)
}

#[test]
fn a_plugin_role_a_sister_sites_host_is_making_at_the_same_moment_is_found_made() {
    // Roles belong to the server, not to one database: the host of another
    // site on the same server may be making a plugin's role while this one
    // is. Here that other host is a transaction that has made the role and
    // commits once this host waits on it. A dry run is where it bit: its
    // one long transaction did not see the role its wait had let through.
    let (db, sandbox) = on_postgres();
    let v1 = "CREATE TABLE racers (id bigint PRIMARY KEY)";
    sandbox.install_scripted("racers", plugin_spec("racers", &["racers"], &[], v1, &[(1, "baseline", v1)]));
    let mut sister = server().admin();
    sister.batch_execute("BEGIN; CREATE ROLE shopdb_plugin_racers NOLOGIN").unwrap();
    let (host, waiting) =
        started_and_waiting(&sandbox, &db, &["upgrade-all", "--dry-run", "--json"], "wait_event_type = 'Lock'");
    sister.batch_execute("COMMIT").unwrap();
    let output = host.wait_with_output().expect("the host ends");
    assert!(waiting, "the host never waited on the other transaction's role");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(chain(&report, "racers")["status"], "applied", "{stdout}");
    assert_eq!(db.snapshot(), "", "a dry run leaves nothing");
    let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    assert_eq!(chain(&report, "racers")["status"], "applied");
    assert_eq!(history_versions(&db, "racers"), [1]);
}

#[test]
fn a_name_another_host_recorded_for_another_plugin_after_the_checks_refuses_the_run_and_writes_nothing() {
    // The checks read the owners of names before the run; another host may
    // record one for its plugin before this host has the run lock. Here that
    // host holds the lock, records the name this plugin's chain creates as
    // plugin 'rival''s, and lets go.
    let (db, sandbox) = on_postgres();
    sandbox.host(&["upgrade-all"]).succeeds();
    let v1 = "CREATE TABLE claimed (id bigint PRIMARY KEY)";
    sandbox.install_scripted("claimer", plugin_spec("claimer", &["claimed"], &[], v1, &[(1, "baseline", v1)]));
    let mut other = server().connect_as(HOST_ROLE, &db.name);
    other.batch_execute(&format!("SELECT pg_advisory_lock({RUN_LOCK})")).unwrap();
    let (host, waiting) = started_and_waiting(&sandbox, &db, &["upgrade-all", "--json"], "wait_event = 'advisory'");
    other
        .batch_execute(&format!(
            "INSERT INTO shopdb.shopdb_core_owners (name, kind, plugin) VALUES ('claimed', 'table', 'rival');
             SELECT pg_advisory_unlock({RUN_LOCK})"
        ))
        .unwrap();
    let output = host.wait_with_output().expect("the host ends");
    assert!(waiting, "the host never waited for the run lock");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let outcome = chain(&report, "claimer");
    assert_eq!(outcome["status"], "refused", "{stdout}");
    assert!(outcome["reason"].as_str().unwrap().contains("belongs to plugin 'rival'"), "{stdout}");
    for relation in ["claimer.claimed", "shopdb.shopdb_history_claimer"] {
        let gone: bool = db.admin().query_one("SELECT to_regclass($1) IS NULL", &[&relation]).unwrap().get(0);
        assert!(gone, "{relation} was left behind");
    }
    let recorded: i64 = db
        .admin()
        .query_one("SELECT count(*) FROM shopdb.shopdb_core_plugins WHERE name = 'claimer'", &[])
        .unwrap()
        .get(0);
    assert_eq!(recorded, 0, "the refused plugin was recorded");
    let owners: Vec<String> = db.column("SELECT plugin FROM shopdb.shopdb_core_owners WHERE name = 'claimed'");
    assert_eq!(owners, ["rival"]);
    // The refusal is in the audit record, its words as they were (quotes
    // and all: the entry's values are written into the statement).
    let row = db
        .admin()
        .query_one(
            "SELECT outcome, reason, command FROM shopdb.shopdb_core_audit WHERE plugin = 'claimer' ORDER BY id DESC LIMIT 1",
            &[],
        )
        .unwrap();
    let (outcome, reason, command): (String, String, String) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(outcome, "refused");
    assert_eq!(reason, outcome_reason(&report, "claimer"));
    assert!(command.starts_with("shopdb-host upgrade-all --json"), "{command}");
}

fn outcome_reason(report: &Value, plugin: &str) -> String {
    chain(report, plugin)["reason"].as_str().unwrap_or_default().to_owned()
}
