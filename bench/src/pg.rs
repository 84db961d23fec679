//! The PostgreSQL sections: the same questions as the SQLite ones, asked of
//! a server the bench starts itself (PostgreSQL's default durability, a Unix
//! socket), host and floor side by side in one run.
//!
//! * `pg-fresh`: a fresh `upgrade-all` (core + 6 plugins, whole process, a
//!   new database on a server that has never seen the plugins' roles)
//!   against its floor, `shopdb-bench pg-floor`: the same PostgreSQL SQL,
//!   one transaction per chain, by a minimal client.
//! * `pg-noop`: a no-op `upgrade-all`, whole process, and its steps.
//! * `pg-scale`: N synthetic plugins × 20 migrations, `check` and a no-op
//!   `upgrade-all`, with round trips per plugin.
//! * `pg-big`: a migration rewriting a 1,000,000-row table and one adding an
//!   indexed column, against the same SQL run by a minimal client.
//!
//! Round trips are counted by [`pg_wire::Proxy`] in runs of their own;
//! timed runs connect to the server directly.

use crate::pg_server::{self, Server};
use crate::pg_wire::{self, Proxy, Trip};
use crate::scale;
use crate::stats::{growth_exponent, median, ms, ms2, Samples};
use crate::time_command;
use shopdb_host::checks::report as check;
use shopdb_host::checks::Checker;
use shopdb_host::engine::{self, DatabaseTarget, Engine, OpenMode, DEFAULT_BUSY_TIMEOUT};
use shopdb_host::plugins::inventory::Inventory;
use shopdb_host::plugins::load::Plugin;
use shopdb_host::runs::{self as migrate, Status};
use shopdb_host::schema::Dialect;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::Instant;

/// The bench's server and a counting proxy in front of it.
#[derive(Debug)]
pub struct Pg {
    pub server: Server,
    pub proxy: Proxy,
}

impl Pg {
    pub fn start(work: &Path) -> Pg {
        let server = Server::start(&[]);
        let proxy = Proxy::start(&work.join("pg-proxy"), server.socket());
        Pg { server, proxy }
    }

    /// `database`, connected to directly.
    pub fn url(&self, database: &str) -> String {
        pg_server::url(self.server.socket(), database)
    }

    /// `database` through the counting proxy.
    pub fn counted_url(&self, database: &str) -> String {
        pg_server::url(self.proxy.socket(), database)
    }

    /// Before a timed section: the system's dirty pages written back, and
    /// the server's (a checkpoint), so that neither is written during it.
    pub fn settle(&self) {
        self.server.checkpoint();
        crate::settle();
    }

    /// What the report says of the server, once.
    pub fn describe(&self, report: &mut String) {
        let mut admin = self.server.admin("postgres");
        let setting = |admin: &mut postgres::Client, name: &str| -> String {
            admin.query_one(&format!("SHOW {name}"), &[]).unwrap().get(0)
        };
        let settings: Vec<String> = ["fsync", "synchronous_commit", "full_page_writes", "wal_level", "shared_buffers"]
            .iter()
            .map(|name| format!("{name}={}", setting(&mut admin, name)))
            .collect();
        let _ = writeln!(
            report,
            "## PostgreSQL\n\nServer: {}, started by the bench (`initdb`, nothing passed that weakens durability: {}), \
             listening on a Unix socket only; data directory under {}. The host connects as role `{}` (LOGIN CREATEROLE), \
             owner of each database.\n",
            self.server.version,
            settings.join(", "),
            std::env::temp_dir().display(),
            pg_server::HOST_ROLE
        );
    }
}

fn open(url: &str, mode: OpenMode) -> Box<dyn Engine> {
    engine::open(&DatabaseTarget::parse(url).unwrap(), mode, DEFAULT_BUSY_TIMEOUT).unwrap().unwrap()
}

fn connect(url: &str) -> postgres::Client {
    postgres::Config::from_str(url).unwrap().connect(postgres::NoTls).unwrap()
}

fn upgrade_all(plugins: &Path, url: &str) -> Command {
    let mut command = Command::new(crate::host_binary());
    command.env("SHOPDB_VERDICT_CACHE", "none");
    command.args(["upgrade-all", "--plugins-dir"]).arg(plugins).args(["--database", url]);
    command.stdout(std::process::Stdio::null());
    command
}

// ---------------------------------------------------------------------
// The floor of a fresh run.

/// The floor's input: for the core chain and each plugin chain, in the
/// order the host applies them, one file holding the whole transaction the
/// floor sends as one simple query: `BEGIN`, the chain's schema (`shopdb`,
/// or the plugin's name) made and put first on the `search_path` (then the
/// plugin's dependencies' schemas and `shopdb`), every migration's
/// PostgreSQL SQL in version order, `COMMIT`.
pub fn dump_sql(plugins: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let inventory = Inventory::scan(plugins).unwrap();
    let transaction = |schema: &str, path: &str, sql: Vec<&str>| {
        format!("BEGIN;\nCREATE SCHEMA {schema};\nSET LOCAL search_path = {path};\n{};\nCOMMIT;\n", sql.join(";\n"))
    };
    let core: Vec<&str> =
        shopdb_host::core_schema::chain_for(Dialect::Postgres).iter().map(|m| m.sql.as_str()).collect();
    let mut chains = vec![("core".to_owned(), transaction("shopdb", "shopdb", core))];
    for plugin in &inventory.plugins {
        let manifest = &plugin.manifest;
        let sql: Vec<&str> = manifest.chain_for(Dialect::Postgres).iter().map(|m| m.sql.as_str()).collect();
        let mut path = vec![manifest.name.clone()];
        path.extend(manifest.depends_on.iter().cloned());
        path.push("shopdb".into());
        chains.push((manifest.name.clone(), transaction(&manifest.name, &path.join(", "), sql)));
    }
    for (i, (name, sql)) in chains.iter().enumerate() {
        std::fs::write(dir.join(format!("{i:03}_{name}.sql")), sql).unwrap();
    }
}

/// The floor: connects, sends each file as one simple query, disconnects.
pub fn floor(sql_dir: &Path, url: &str) {
    let mut client = connect(url);
    let mut files: Vec<PathBuf> = std::fs::read_dir(sql_dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in files {
        client.batch_execute(&std::fs::read_to_string(&file).unwrap()).unwrap();
    }
}

/// Child process: connects, asks one thing, disconnects (what a connection
/// to this server costs a process).
pub fn connect_only(url: &str) {
    let mut client = connect(url);
    let _: i32 = client.query_one("SELECT 1", &[]).unwrap().get(0);
}

// ---------------------------------------------------------------------
// The steps of a run, as the commands take them.

/// The steps of a no-op `upgrade-all` as the command takes them (scan the
/// plugins, open the database, read its records, the run), `mark(step)`
/// called after each.
pub fn noop_steps(plugins: &Path, url: &str, mark: &mut dyn FnMut(&'static str)) {
    let mut inventory = Inventory::scan(plugins).unwrap();
    mark("load");
    let mut db = open(url, OpenMode::Change);
    mark("connect");
    let owners = db.recorded_objects().unwrap().into_iter().map(|o| (o.name, o.plugin)).collect();
    inventory.installed = db.installed_plugins().unwrap();
    inventory.refuse_ownership_conflicts(owners);
    mark("records");
    let report = migrate::upgrade_all(db.as_mut(), &inventory, false).unwrap();
    assert!(report.chains.iter().all(|c| matches!(c.status, Status::UpToDate { .. })), "{report:?}");
    mark("history");
    drop(db);
    mark("close");
}

/// The steps of a fresh `upgrade-all`, taken one by one: scan, open and
/// read the (empty) records, every plugin's checks (as `upgrade-all` takes
/// them before its first transaction), the core chain, the plugin chains.
pub fn fresh_steps(plugins: &Path, url: &str, mark: &mut dyn FnMut(&'static str)) {
    let mut inventory = Inventory::scan(plugins).unwrap();
    mark("load");
    let mut db = open(url, OpenMode::Change);
    let owners = db.recorded_objects().unwrap().into_iter().map(|o| (o.name, o.plugin)).collect();
    inventory.installed = db.installed_plugins().unwrap();
    inventory.refuse_ownership_conflicts(owners);
    mark("connect");
    let checker = Checker::new(&inventory, db.target()).unwrap();
    let everyone: Vec<&Plugin> = inventory.plugins.iter().collect();
    let verdicts: Vec<_> = checker.check_plugins(&everyone).into_iter().map(Result::unwrap).collect();
    mark("checks");
    engine::apply(db.as_mut(), &migrate::core_run(Dialect::Postgres)).unwrap();
    mark("core");
    for (plugin, checked) in inventory.plugins.iter().zip(&verdicts) {
        let run = migrate::plugin_run(plugin, &inventory, None, Some(checked), Dialect::Postgres);
        engine::apply(db.as_mut(), &run).unwrap();
    }
    mark("chains");
    drop(db);
    mark("close");
}

/// Child process: `noop` or `fresh` steps timed; prints them as JSON (ms).
pub fn timed_steps(which: &str, plugins: &Path, url: &str) {
    let mut times = serde_json::Map::new();
    let mut last = Instant::now();
    let mut mark = |step: &'static str| {
        let now = Instant::now();
        times.insert(step.into(), ((now - last).as_secs_f64() * 1000.0).into());
        last = now;
    };
    match which {
        "noop" => noop_steps(plugins, url, &mut mark),
        _ => fresh_steps(plugins, url, &mut mark),
    }
    println!("{}", serde_json::Value::Object(times));
}

/// The same steps through the counting proxy, in this process: the round
/// trips of each.
fn counted_steps(
    pg: &Pg,
    steps: fn(&Path, &str, &mut dyn FnMut(&'static str)),
    plugins: &Path,
    database: &str,
) -> Vec<(&'static str, Vec<Trip>)> {
    let _ = pg.proxy.take();
    let mut counted = Vec::new();
    let proxy = pg.proxy.clone();
    steps(plugins, &pg.counted_url(database), &mut |step| {
        counted.push((step, proxy.take()));
    });
    counted
}

fn step_medians(runs: &[serde_json::Value], step: &str) -> f64 {
    let values: Vec<f64> = runs.iter().map(|r| r[step].as_f64().unwrap_or(f64::NAN)).collect();
    median(&values)
}

// ---------------------------------------------------------------------
// pg-fresh

pub fn fresh(report: &mut String, pg: &Pg, work: &Path, plugins: &Path, runs: usize) {
    let sql = work.join("pg-floor-sql");
    dump_sql(plugins, &sql);
    let me = crate::bench_binary();
    let (mut warm, mut cold, mut floor) = (Samples::default(), Samples::default(), Samples::default());
    let _ = std::fs::remove_dir_all(work.join("verdicts-warm"));
    // Run 0 is a warm-up, not counted (and fills the warm verdict cache).
    for run in 0..=runs {
        let names = [format!("fresh_warm_{run}"), format!("fresh_cold_{run}"), format!("fresh_floor_{run}")];
        for name in &names {
            pg.server.create_database(name, None);
        }
        pg.settle();
        let (warm_cache, cold_cache) = crate::fresh_caches(work, run);
        let mut warm_command = upgrade_all(plugins, &pg.url(&names[0]));
        warm_command.env("SHOPDB_VERDICT_CACHE", &warm_cache);
        let mut cold_command = upgrade_all(plugins, &pg.url(&names[1]));
        cold_command.env("SHOPDB_VERDICT_CACHE", &cold_cache);
        let mut floor_command = Command::new(&me);
        floor_command.arg("pg-floor").arg(&sql).arg(pg.url(&names[2]));
        let times = crate::time_turns(run, &mut [&mut warm_command, &mut cold_command, &mut floor_command]);
        if run > 0 {
            warm.push(times[0]);
            cold.push(times[1]);
            floor.push(times[2]);
        }
        pg.server.drop_databases(&[&names[0], &names[1], &names[2]]);
        let _ = std::fs::remove_dir_all(cold_cache);
    }

    // Where the host's time goes, step by step (separate processes, each
    // on a new database), and the round trips of each step.
    let steps_runs = runs.div_ceil(2).max(3);
    let mut steps: Vec<serde_json::Value> = Vec::new();
    for run in 0..steps_runs {
        let db = format!("fresh_steps_{run}");
        pg.server.create_database(&db, None);
        pg.settle();
        let out = Command::new(&me).arg("pg-steps").arg("fresh").arg(plugins).arg(pg.url(&db)).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        steps.push(serde_json::from_slice(&out.stdout).unwrap());
        pg.server.drop_databases(&[&db]);
    }
    pg.server.create_database("fresh_counted", None);
    let counted = counted_steps(pg, fresh_steps, plugins, "fresh_counted");
    pg.server.drop_databases(&["fresh_counted"]);
    pg.server.create_database("fresh_counted", None);
    pg.server.create_database("fresh_counted_cold", None);
    pg.server.create_database("fresh_counted_floor", None);
    let _ = pg.proxy.take();
    let (warm_cache, cold_cache) = crate::fresh_caches(work, runs + 1);
    time_command(upgrade_all(plugins, &pg.counted_url("fresh_counted")).env("SHOPDB_VERDICT_CACHE", &warm_cache));
    let warm_trips = pg.proxy.take();
    time_command(upgrade_all(plugins, &pg.counted_url("fresh_counted_cold")).env("SHOPDB_VERDICT_CACHE", &cold_cache));
    let cold_trips = pg.proxy.take();
    let _ = std::fs::remove_dir_all(cold_cache);
    time_command(Command::new(&me).arg("pg-floor").arg(&sql).arg(pg.counted_url("fresh_counted_floor")));
    let floor_trips = pg.proxy.take();
    pg.server.drop_databases(&["fresh_counted", "fresh_counted_cold", "fresh_counted_floor"]);

    let _ = writeln!(
        report,
        "## 5. PostgreSQL: fresh `upgrade-all` (core + 6 plugins, whole process, new database, no plugin roles yet), {runs} runs\n"
    );
    let _ = writeln!(report, "| | median | min | max | round trips |\n|---|---|---|---|---|");
    for (what, samples, trips) in [
        (
            "host `shopdb-host upgrade-all --database postgresql://…`, verdicts remembered (a warm verdict cache)",
            &warm,
            &warm_trips,
        ),
        ("host, first sight of the plugins (an empty verdict cache)", &cold, &cold_trips),
        ("floor (same SQL, `postgres` crate, one transaction per chain)", &floor, &floor_trips),
    ] {
        let _ = writeln!(
            report,
            "| {what} | {} | {} | {} | {} |",
            ms(samples.median()),
            ms(samples.min()),
            ms(samples.max()),
            trips.len()
        );
    }
    let _ = writeln!(report, "\n{}", crate::fresh_ratios(&warm, &cold, &floor, 1.3));
    let _ = writeln!(
        report,
        "Where the host's time goes ({steps_runs} runs of `shopdb-bench pg-steps fresh`, the same work taken step by step in one process, medians), and the round trips of each step (one run through the counting proxy):\n"
    );
    let _ = writeln!(report, "| step | median | round trips | waited on them (proxy run) |\n|---|---|---|---|");
    let labels = [
        ("load", "load and describe the six `.so`"),
        ("connect", "connect, session set-up, privileges, records"),
        ("checks", "checks of the six plugins (scratch schemas on the server)"),
        ("core", "core chain (one transaction)"),
        ("chains", "six plugin chains (one transaction each)"),
        ("close", "disconnect"),
    ];
    for (key, label) in labels {
        let trips = counted.iter().find(|(k, _)| *k == key).map(|(_, t)| t.as_slice()).unwrap_or_default();
        let _ = writeln!(
            report,
            "| {label} | {:.1} ms | {} | {} |",
            step_medians(&steps, key),
            trips.len(),
            ms(pg_wire::waited(trips))
        );
    }
    let checks = counted.iter().find(|(k, _)| *k == "checks").map(|(_, t)| t.as_slice()).unwrap_or_default();
    let _ = writeln!(report, "\nThe checks' round trips, by statement (names that differ per plugin made alike):\n");
    let _ = writeln!(report, "{}", pg_wire::breakdown(checks, 12));
    let chains = counted.iter().find(|(k, _)| *k == "chains").map(|(_, t)| t.as_slice()).unwrap_or_default();
    let _ = writeln!(report, "The plugin chains' round trips, by statement:\n");
    let _ = writeln!(report, "{}", pg_wire::breakdown(chains, 12));
}

// ---------------------------------------------------------------------
// pg-noop

pub fn noop(report: &mut String, pg: &Pg, plugins: &Path, runs: usize) {
    let db = "noop";
    pg.server.create_database(db, None);
    let url = pg.url(db);
    time_command(&mut upgrade_all(plugins, &url));
    let me = crate::bench_binary();
    let (mut wall, mut start, mut bare) = (Samples::default(), Samples::default(), Samples::default());
    let mut steps: Vec<serde_json::Value> = Vec::new();
    pg.settle();
    for _ in 0..runs {
        wall.push(time_command(&mut upgrade_all(plugins, &url)));
        let mut version = Command::new(crate::host_binary());
        version.arg("--version").stdout(std::process::Stdio::null());
        start.push(time_command(&mut version));
        bare.push(time_command(Command::new(&me).arg("pg-connect").arg(&url)));
        let out = Command::new(&me).arg("pg-steps").arg("noop").arg(plugins).arg(&url).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        steps.push(serde_json::from_slice(&out.stdout).unwrap());
    }
    let counted = counted_steps(pg, noop_steps, plugins, db);
    let _ = pg.proxy.take();
    time_command(&mut upgrade_all(plugins, &pg.counted_url(db)));
    let whole = pg.proxy.take();
    pg.server.drop_databases(&[db]);

    let trips = |key: &str| counted.iter().find(|(k, _)| *k == key).map(|(_, t)| t.as_slice()).unwrap_or_default();
    let _ = writeln!(report, "## 6. PostgreSQL: no-op `upgrade-all` (everything applied), {runs} runs\n");
    let _ = writeln!(report, "| step | median | round trips | waited on them (proxy run) |\n|---|---|---|---|");
    let _ = writeln!(
        report,
        "| **whole process, wall** | **{}** | **{}** | {} |",
        ms(wall.median()),
        whole.len(),
        ms(pg_wire::waited(&whole))
    );
    let _ = writeln!(report, "| process start + exit (`shopdb-host --version`) | {} | 0 | |", ms(start.median()));
    let _ = writeln!(
        report,
        "| for scale: a process that connects, runs `SELECT 1` and exits (`shopdb-bench pg-connect`) | {} | 3 | |",
        ms(bare.median())
    );
    let rows = [
        ("load", "load and describe the six `.so`"),
        ("connect", "connect (startup, server version), session set-up, privileges check"),
        ("records", "read the recorded owners and installed plugins"),
        ("history", "read the history of 7 chains, compare checksums (`upgrade_all`)"),
        ("close", "disconnect"),
    ];
    for (key, label) in rows {
        let _ = writeln!(
            report,
            "| {label} | {:.2} ms | {} | {} |",
            step_medians(&steps, key),
            trips(key).len(),
            ms2(pg_wire::waited(trips(key)))
        );
    }
    let _ = writeln!(
        report,
        "\nSteps: medians of {runs} runs of `shopdb-bench pg-steps noop` (the command's steps, timed in one process). \
         Round trips: one run through the counting proxy. Target: whole process ≤ 10 ms.\n"
    );
    let _ = writeln!(report, "The whole process's round trips, by statement:\n");
    let _ = writeln!(report, "{}", pg_wire::breakdown(&whole, 14));
}

// ---------------------------------------------------------------------
// pg-scale

/// One point of the grid: check and no-op times, round trips of each.
struct Point {
    /// `check --database` on the installed database: every plugin on its
    /// recorded verdict.
    check: Vec<f64>,
    /// `check --recheck`: every plugin checked again in scratch schemas
    /// (where measured).
    recheck: Vec<f64>,
    noop: Vec<f64>,
    install: f64,
    check_trips: Vec<Trip>,
    recheck_trips: Option<Vec<Trip>>,
    noop_trips: Vec<Trip>,
    /// The checks' catalog reads at this size ([`catalog_probe`]).
    probe: String,
}

fn scale_point(pg: &Pg, n: usize, m: usize, runs: usize, recheck: bool) -> Point {
    let db = format!("scale_{n}_{m}");
    pg.server.create_database(&db, None);
    let url = pg.url(&db);
    let target = DatabaseTarget::parse(&url).unwrap();
    let inventory = scale::inventory_of(scale::synthetic_plugins_pg(n, m));
    // Installed as an operator installs: `upgrade-all`, every plugin checked
    // (in scratch schemas) and applied, its verdict's digest recorded.
    let mut db_handle = open(&url, OpenMode::Change);
    let start = Instant::now();
    assert!(migrate::upgrade_all(db_handle.as_mut(), &inventory, false).unwrap().succeeded());
    let install = start.elapsed().as_secs_f64();
    drop(db_handle);
    pg.settle();
    let check_all = |url: &str, target: &DatabaseTarget, again: bool| {
        let db = open(url, OpenMode::Read);
        let verdicts = check::check_all(&inventory, target, Some(db.as_ref()), None, again).unwrap();
        assert!(verdicts.passed());
        assert!(verdicts.plugins.iter().all(|v| v.recorded != again), "recorded verdicts are taken unless rechecking");
    };
    let (mut checks, mut rechecks, mut noops) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        // `shopdb-host check --database URL`: history compared, every plugin
        // on the verdict its run recorded.
        let start = Instant::now();
        check_all(&url, &target, false);
        checks.push(start.elapsed().as_secs_f64());
        if recheck {
            let start = Instant::now();
            check_all(&url, &target, true);
            rechecks.push(start.elapsed().as_secs_f64());
        }
        let mut db = open(&url, OpenMode::Change);
        let start = Instant::now();
        let report = migrate::upgrade_all(db.as_mut(), &inventory, false).unwrap();
        noops.push(start.elapsed().as_secs_f64());
        assert!(report.chains.iter().all(|c| matches!(c.status, Status::UpToDate { .. })));
    }
    let counted = pg.counted_url(&db);
    let counted_target = DatabaseTarget::parse(&counted).unwrap();
    let _ = pg.proxy.take();
    check_all(&counted, &counted_target, false);
    let check_trips = pg.proxy.take();
    let recheck_trips = recheck.then(|| {
        check_all(&counted, &counted_target, true);
        pg.proxy.take()
    });
    let mut db_handle = open(&counted, OpenMode::Change);
    let _ = pg.proxy.take();
    migrate::upgrade_all(db_handle.as_mut(), &inventory, false).unwrap();
    let noop_trips = pg.proxy.take();
    drop(db_handle);
    let probe = catalog_probe(pg, &db, &format!("synth_{:04}", n / 2));
    pg.server.drop_databases(&[&db]);
    Point { check: checks, recheck: rechecks, noop: noops, install, check_trips, recheck_trips, noop_trips, probe }
}

pub fn scale_run(report: &mut String, pg: &Pg, quick: bool) {
    let m = 20;
    let sizes: &[usize] = if quick { &[10, 100] } else { &[10, 100, 1000] };
    let _ =
        writeln!(report, "## 7. PostgreSQL: scale, N synthetic plugins × {m} migrations (in-process, new database)\n");
    let _ = writeln!(
        report,
        "Install is `upgrade_all` on a new database: every plugin checked in scratch schemas, then applied, one \
         transaction each (setup, not a target; it holds the cost of checking N new plugins). `check` is `check_all` \
         with the database given, as `shopdb-host check --database URL` runs it: history compared, and every plugin \
         (applied up to its head, unchanged) passed on the verdict its run recorded. `--recheck` checks every plugin \
         again in scratch schemas (measured up to N = 100). No-op is `upgrade_all` on the installed database. Runs per \
         point: 3, 1 where N = 1000. Round trips through the counting proxy, in runs of their own.\n"
    );
    let _ = writeln!(
        report,
        "| N | M | install (`upgrade-all`, every plugin checked) | check | no-op apply | **check + no-op** | `check --recheck` | check round trips | recheck round trips | no-op round trips |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    let (mut check_times, mut noop_times, mut recheck_times) = (Vec::new(), Vec::new(), Vec::new());
    let (mut check_counts, mut noop_counts, mut recheck_counts) = (Vec::new(), Vec::new(), Vec::new());
    let (mut check_detail, mut noop_detail, mut recheck_detail) = (Vec::new(), Vec::new(), Vec::new());
    let mut probes = Vec::new();
    for &n in sizes {
        pg.settle();
        let runs = if n >= 1000 { 1 } else { 3 };
        // Checking every plugin again takes as long as the install's checks;
        // it is the same for every plugin, so the small points say it.
        let recheck = n <= 100;
        if let Some(&(units, seconds)) = recheck_times.last() {
            let guess = seconds * (n * m) as f64 / units;
            eprintln!("pg-scale: N = {n}: installing (every plugin checked) should take more than {guess:.0} s");
        }
        let point = scale_point(pg, n, m, runs, recheck);
        let (c, o) = (median(&point.check), median(&point.noop));
        let recheck_text = if point.recheck.is_empty() {
            "–".to_owned()
        } else {
            let r = median(&point.recheck);
            recheck_times.push(((n * m) as f64, r));
            format!("{} ({:.0} ms per plugin)", ms(r), r * 1000.0 / n as f64)
        };
        let _ = writeln!(
            report,
            "| {n} | {m} | {} | {} | {} | **{}** | {recheck_text} | {} | {} | {} |",
            ms(point.install),
            ms(c),
            ms(o),
            ms(c + o),
            point.check_trips.len(),
            point.recheck_trips.as_ref().map_or("–".into(), |t| t.len().to_string()),
            point.noop_trips.len()
        );
        check_times.push(((n * m) as f64, c));
        noop_times.push(((n * m) as f64, o));
        check_counts.push((n as f64, point.check_trips.len() as f64));
        check_detail = point.check_trips;
        if let Some(trips) = point.recheck_trips {
            recheck_counts.push((n as f64, trips.len() as f64));
            recheck_detail = trips;
        }
        noop_counts.push((n as f64, point.noop_trips.len() as f64));
        noop_detail = point.noop_trips;
        probes.push((n, point.probe));
    }
    // Per plugin: the slope between the smallest and the largest N counted.
    let per = |points: &[(f64, f64)]| {
        let (first, last) = (points[0], points[points.len() - 1]);
        ((last.1 - first.1) / (last.0 - first.0), first.1 - (last.1 - first.1) / (last.0 - first.0) * first.0)
    };
    let _ = writeln!(
        report,
        "\nFitted growth (time ∝ (N×M)^b, least squares over the grid): check b = {:.2}, no-op apply b = {:.2}, \
         recheck b = {:.2}. Linear is b = 1.\n",
        growth_exponent(&check_times),
        growth_exponent(&noop_times),
        growth_exponent(&recheck_times)
    );
    let (check_per, check_fixed) = per(&check_counts);
    let (noop_per, noop_fixed) = per(&noop_counts);
    let (recheck_per, recheck_fixed) = per(&recheck_counts);
    let _ = writeln!(
        report,
        "Round trips per plugin (slope between the smallest and largest N counted): **check {check_per:.1}** \
         (fixed part {check_fixed:.0}), **no-op {noop_per:.1}** (fixed part {noop_fixed:.0}), recheck {recheck_per:.1} \
         ({:.1} per migration; fixed part {recheck_fixed:.0}).\n",
        recheck_per / (m + 1) as f64,
    );
    let largest = |counts: &[(f64, f64)]| counts.last().map_or(0.0, |p| p.0);
    let _ = writeln!(report, "The check's round trips at N = {}, by statement:\n", largest(&check_counts));
    let _ = writeln!(report, "{}", pg_wire::breakdown(&check_detail, 8));
    let _ = writeln!(report, "The no-op's round trips at N = {}, by statement:\n", largest(&noop_counts));
    let _ = writeln!(report, "{}", pg_wire::breakdown(&noop_detail, 8));
    let _ = writeln!(
        report,
        "The recheck's round trips at N = {}, by statement, with the time the host waited on them (proxy run):\n",
        largest(&recheck_counts)
    );
    let _ = writeln!(report, "{}", pg_wire::breakdown(&recheck_detail, 16));
    let _ = writeln!(
        report,
        "The checks' catalog reads on the installed database of each N (as the host runs them, and alternatives):\n"
    );
    for (n, probe) in &probes {
        let _ = writeln!(report, "N = {n}:\n\n{probe}");
    }
    let _ = writeln!(
        report,
        "Target: N = 1000 × M = 20 check + no-op ≤ 5 s, growth linear or better; a no-op should not cost a round trip per plugin.\n"
    );
}

/// One scale point on a server of its own, for a profiler: prints the times
/// and round trips.
pub fn scale_point_alone(n: usize, m: usize, count: bool) {
    let work = tempfile::tempdir().unwrap();
    let pg = Pg::start(work.path());
    let point = scale_point(&pg, n, m, 1, count);
    println!(
        "install {} check {} recheck {} no-op {} check round trips {} recheck round trips {} no-op round trips {}",
        ms(point.install),
        ms(point.check[0]),
        point.recheck.first().map_or("–".into(), |r| ms(*r)),
        ms(point.noop[0]),
        point.check_trips.len(),
        point.recheck_trips.as_ref().map_or(0, Vec::len),
        point.noop_trips.len()
    );
    println!("{}", point.probe);
    println!("{}", pg_wire::breakdown(&point.check_trips, 30));
    if let Some(trips) = &point.recheck_trips {
        println!("{}", pg_wire::breakdown(trips, 30));
        // PG_TRACE=words: the wait of each recheck round trip whose
        // statement holds them, in order (to see a cost grow along the run).
        if let Ok(words) = std::env::var("PG_TRACE") {
            let waits: Vec<String> = trips
                .iter()
                .filter(|t| t.text.contains(&words))
                .map(|t| format!("{:.2}", t.wait.as_secs_f64() * 1000.0))
                .collect();
            println!("{words}: {}", waits.join(" "));
        }
    }
    println!("{}", pg_wire::breakdown(&point.noop_trips, 30));
}

// ---------------------------------------------------------------------
// pg-big

pub fn big_data(report: &mut String, pg: &Pg, runs: usize, rows: i64) {
    let setup = scale::big_table_plugin_pg();
    let inventory = scale::inventory_of(vec![setup.clone()]);
    // Two templates: at V1 with the rows, and at V2 (for the V3 runs).
    pg.server.create_database("big_v1", None);
    {
        let mut db = open(&pg.url("big_v1"), OpenMode::Change);
        engine::apply(db.as_mut(), &migrate::core_run(Dialect::Postgres)).unwrap();
        engine::apply(db.as_mut(), &migrate::plugin_run(&setup, &inventory, Some(1), None, Dialect::Postgres)).unwrap();
    }
    pg.server
        .admin("big_v1")
        .batch_execute(&format!(
            "INSERT INTO shopdb.sites (code, name) VALUES ('S1', 'Plant 1'), ('S2', 'Plant 2');
             INSERT INTO bigdata.big_items (id, site_id, code, value)
               SELECT i, 1 + i % 2, 'ITEM-' || lpad(i::text, 8, '0'), i * 0.5 FROM generate_series(1, {rows}) i;"
        ))
        .unwrap();
    pg.server.admin("big_v1").batch_execute("VACUUM ANALYZE bigdata.big_items").unwrap();
    pg.server.create_database("big_v2", Some("big_v1"));
    {
        let mut db = open(&pg.url("big_v2"), OpenMode::Change);
        engine::apply(db.as_mut(), &migrate::plugin_run(&setup, &inventory, Some(2), None, Dialect::Postgres)).unwrap();
    }
    pg.server.admin("big_v2").batch_execute("VACUUM ANALYZE bigdata.big_items").unwrap();

    let _ = writeln!(
        report,
        "## 8. PostgreSQL: big data, {rows} rows, {runs} runs (in-process, each run on a copy of the same database)\n"
    );
    let _ = writeln!(report, "| migration | host | floor | host/floor |\n|---|---|---|---|");
    let chain = setup.manifest.chain_for(Dialect::Postgres);
    for (version, template, label) in [
        (
            2,
            "big_v1",
            "rewrite of the table (new table with a constraint, rows copied, old dropped, renamed, index made again)",
        ),
        (3, "big_v2", "add an indexed column"),
    ] {
        let sql = chain.iter().find(|m| m.version == version).unwrap().sql.clone();
        let (mut host, mut floor) = (Samples::default(), Samples::default());
        for run in 0..runs {
            for side in [run % 2, 1 - run % 2] {
                let db = format!("big_run_{side}");
                pg.server.create_database(&db, Some(template));
                pg.settle();
                if side == 0 {
                    let mut engine = open(&pg.url(&db), OpenMode::Change);
                    let run = migrate::plugin_run(&setup, &inventory, Some(version), None, Dialect::Postgres);
                    let start = Instant::now();
                    let applied = engine::apply(engine.as_mut(), &run).unwrap();
                    host.push(start.elapsed());
                    assert_eq!(applied.len(), 1);
                } else {
                    let mut client = connect(&pg.url(&db));
                    let start = Instant::now();
                    client
                        .batch_execute(&format!("BEGIN; SET LOCAL search_path = bigdata, shopdb; {sql}; COMMIT;"))
                        .unwrap();
                    floor.push(start.elapsed());
                }
                pg.server.drop_databases(&[&db]);
            }
        }
        let _ = writeln!(
            report,
            "| {label} | {} | {} | **{:.3}** |",
            ms(host.median()),
            ms(floor.median()),
            host.median() / floor.median()
        );
    }
    pg.server.drop_databases(&["big_v2", "big_v1"]);
    let _ = writeln!(
        report,
        "\nHost: `engine::apply` of the plugin's run to that version (history read, the plugin's role and runner made \
         up to date, the migration through the runner, history written, catalog audit, owners recorded, commit). Floor: \
         `BEGIN; SET LOCAL search_path = bigdata, shopdb; <the migration>; COMMIT` as one simple query. Target: host/floor ≤ 1.1.\n"
    );
}

// ---------------------------------------------------------------------
// The catalog reads of the checks, against index-backed equivalents.

/// What `catalog::objects` asks for a schema (host/src/engine/postgres/catalog.rs).
const OBJECTS_NOW: &str =
    "SELECT c.relname::text, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'i', 'I')
     UNION ALL
     SELECT t.tgname::text, 'trigger' FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT t.tgisinternal";

/// The same answer through indexes: a schema's relations from `pg_depend`
/// (each records its namespace), their indexes and triggers by table.
const OBJECTS_INDEXED: &str = "WITH rels AS (
       SELECT c.oid, c.relname, c.relkind FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
       WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = (SELECT oid FROM pg_namespace WHERE nspname = $1)
         AND d.classid = 'pg_class'::regclass AND d.deptype = 'n')
     SELECT relname::text, relkind::text FROM rels WHERE relkind IN ('r', 'p', 'v', 'm')
     UNION ALL
     SELECT ci.relname::text, ci.relkind::text FROM rels JOIN pg_index i ON i.indrelid = rels.oid JOIN pg_class ci ON ci.oid = i.indexrelid
     UNION ALL
     SELECT t.tgname::text, 'trigger' FROM rels JOIN pg_trigger t ON t.tgrelid = rels.oid WHERE NOT t.tgisinternal";

/// What `catalog::owned_by` asks (two queries: relations, functions).
const OWNED_NOW: [&str; 2] = [
    "SELECT n.nspname::text, c.relname::text, c.relkind::text, c.relpersistence::text
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles r ON r.oid = c.relowner
     WHERE r.rolname = $1 AND n.nspname <> 'pg_toast'",
    "SELECT n.nspname::text, p.proname::text, p.prosecdef,
            coalesce(array_to_string(p.proconfig, ','), '') LIKE '%search_path=%'
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_roles r ON r.oid = p.proowner
     WHERE r.rolname = $1",
];

/// Both in one query through `pg_shdepend`, which records the owner of
/// every object (index `pg_shdepend_reference_index`).
const OWNED_INDEXED: &str = "WITH mine AS (
       SELECT classid, objid FROM pg_shdepend
       WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND refclassid = 'pg_authid'::regclass AND refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1) AND deptype = 'o')
     SELECT n.nspname::text, c.relname::text, c.relkind::text, c.relpersistence::text
     FROM mine JOIN pg_class c ON mine.classid = 'pg_class'::regclass AND c.oid = mine.objid
     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname <> 'pg_toast'
     UNION ALL
     SELECT n.nspname::text, p.proname::text, p.prosecdef::text,
            (coalesce(array_to_string(p.proconfig, ','), '') LIKE '%search_path=%')::text
     FROM mine JOIN pg_proc p ON mine.classid = 'pg_proc'::regclass AND p.oid = mine.objid
     JOIN pg_namespace n ON n.oid = p.pronamespace";

/// Median time of `sql` with `arg` (`prepared`: prepared once, else
/// prepared at each call, as the host's `client.query(sql, …)` does), and
/// its rows as text.
fn probe(client: &mut postgres::Client, sql: &str, arg: &str, runs: usize, prepared: bool) -> (f64, Vec<String>) {
    let statement = client.prepare(sql).unwrap();
    let mut times = Vec::new();
    let mut rows = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let got = if prepared { client.query(&statement, &[&arg]) } else { client.query(sql, &[&arg]) }.unwrap();
        times.push(start.elapsed().as_secs_f64());
        rows = got
            .iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| {
                        r.try_get::<_, String>(i)
                            .or_else(|_| r.try_get::<_, bool>(i).map(|b| b.to_string()))
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
    }
    rows.sort();
    (median(&times), rows)
}

/// The checks' per-migration catalog reads on `database` (N plugins
/// installed), as the host asks them and through indexes: times per read,
/// answers compared.
pub fn catalog_probe(pg: &Pg, database: &str, plugin: &str) -> String {
    let mut client = connect(&pg.url(database));
    let role = format!("shopdb_plugin_{plugin}");
    let runs = 101;
    let (objects_host, _) = probe(&mut client, OBJECTS_NOW, plugin, runs, false);
    let (objects_now, a) = probe(&mut client, OBJECTS_NOW, plugin, runs, true);
    let (objects_indexed, b) = probe(&mut client, OBJECTS_INDEXED, plugin, runs, true);
    assert_eq!(a, b, "the index-backed objects query answers as catalog::objects does");
    let (owned_rel_host, _) = probe(&mut client, OWNED_NOW[0], &role, runs, false);
    let (owned_fn_host, _) = probe(&mut client, OWNED_NOW[1], &role, runs, false);
    let (owned_rel, mut c) = probe(&mut client, OWNED_NOW[0], &role, runs, true);
    let (owned_fn, d) = probe(&mut client, OWNED_NOW[1], &role, runs, true);
    let (owned_indexed, e) = probe(&mut client, OWNED_INDEXED, &role, runs, true);
    c.extend(d);
    c.sort();
    // pg_shdepend records no owner for indexes (their owner is their
    // table's); the audit looks only at tables, views and functions.
    let keep = |rows: Vec<String>| -> Vec<String> {
        rows.into_iter().filter(|r| !matches!(r.split(' ').nth(2), Some("i" | "I"))).collect()
    };
    assert_eq!(keep(c), keep(e), "the pg_shdepend query answers as catalog::owned_by does");
    let classes: i64 = client.query_one("SELECT count(*) FROM pg_class", &[]).unwrap().get(0);
    let functions: i64 = client.query_one("SELECT count(*) FROM pg_proc", &[]).unwrap().get(0);
    format!(
        "| read (median of {runs}) | as the host runs it (prepared at each call: 2 round trips) | the same query prepared once | through indexes, prepared once |\n|---|---|---|---|\n\
         | a schema's objects (`catalog::objects`, 3 per migration checked) | {} | {} | {} |\n\
         | what the plugin's role owns (`catalog::owned_by`, 2 queries, once per migration checked) | {} | {} | {} (one query) |\n\n\
         (`pg_class` holds {classes} rows, `pg_proc` {functions}; answers compared, equal.)\n",
        ms2(objects_host),
        ms2(objects_now),
        ms2(objects_indexed),
        ms2(owned_rel_host + owned_fn_host),
        ms2(owned_rel + owned_fn),
        ms2(owned_indexed)
    )
}
