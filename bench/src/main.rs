//! `shopdb-bench`: what the host costs beyond the SQL itself, measured side by
//! side in one run on this machine. Every figure is a median of several runs
//! and, where the issue asks for a ratio, against a baseline measured in the
//! same run. `make bench` builds in release mode and runs it; the report goes
//! to stdout and to `target/bench/report.md`.
//!
//! Subcommands used as child processes (so that process start and library
//! loading are paid as in real use): `floor SQL_DIR DB` applies SQL files,
//! one transaction each, with nothing else (`floor-sql PLUGINS_DIR SQL_DIR`
//! writes them, to time the floor by hand); `phases PLUGINS_DIR DB` times the
//! steps of a no-op `upgrade-all` inside a fresh process. The PostgreSQL
//! sections ([`pg`]) have their own: `pg-floor SQL_DIR URL` (and
//! `pg-floor-sql PLUGINS_DIR SQL_DIR`), `pg-steps noop|fresh PLUGINS_DIR URL`,
//! `pg-connect URL`, and `pg-scale-point N M` on a server of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pg;
mod pg_server;
mod pg_wire;
mod scale;
mod stats;

use rusqlite::Connection;
use shopdb_host::engine;
use shopdb_host::plugins::inventory::Inventory;
use shopdb_host::{core_schema as core, runs as migrate};
use stats::{median, ms, Samples};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BUNDLED: [&str; 6] = ["computers", "equipment", "network", "notifications", "printers", "usb"];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("floor") => floor(Path::new(&args[1]), Path::new(&args[2])),
        Some("floor-sql") => dump_sql(Path::new(&args[1]), Path::new(&args[2])),
        Some("phases") => phases(Path::new(&args[1]), Path::new(&args[2])),
        Some("fresh-phases") => fresh_phases(Path::new(&args[1]), Path::new(&args[2])),
        Some("scale-point") => scale::point(args[1].parse().unwrap(), args[2].parse().unwrap()),
        Some("spin") => spin(),
        Some("pg-floor") => pg::floor(Path::new(&args[1]), &args[2]),
        Some("pg-floor-sql") => pg::dump_sql(Path::new(&args[1]), Path::new(&args[2])),
        Some("pg-connect") => pg::connect_only(&args[1]),
        Some("pg-steps") => pg::timed_steps(&args[1], Path::new(&args[2]), &args[3]),
        Some("pg-scale-point") => pg::scale_point_alone(
            args[1].parse().unwrap(),
            args[2].parse().unwrap(),
            std::env::var_os("NO_CHECK_COUNT").is_none(),
        ),
        Some("--quick") | None => run_all(!args.is_empty(), None),
        Some("--only") if args.len() == 2 => run_all(true, Some(args[1].as_str())),
        // One section with the full settings (runs, rows, sizes).
        Some("--only") if args.len() == 3 && args[2] == "--full" => run_all(false, Some(args[1].as_str())),
        Some(other) => {
            eprintln!(
                "error: unknown argument `{other}`; usage: shopdb-bench [--quick | --only fresh|loaded|noop|big|scale|postgres|pg-fresh|pg-noop|pg-scale|pg-big [--full]]"
            );
            std::process::exit(2);
        }
    }
}

/// The directory holding this binary, the host binary and the plugin files.
fn build_dir() -> PathBuf {
    std::env::current_exe().unwrap().parent().unwrap().to_owned()
}

/// The copies of the host and of this binary that timed runs start (see
/// [`copy_binaries`]), or the built ones before they are made.
static BINARIES: std::sync::OnceLock<(PathBuf, PathBuf)> = std::sync::OnceLock::new();

fn host_binary() -> PathBuf {
    BINARIES.get().map_or_else(|| build_dir().join("shopdb-host"), |(host, _)| host.clone())
}

/// This binary, to start the floor and the timed steps as child processes.
fn bench_binary() -> PathBuf {
    BINARIES.get().map_or_else(|| std::env::current_exe().unwrap(), |(_, bench)| bench.clone())
}

/// Copies the host and this binary into `dir`, for the timed runs to start:
/// a binary the linker has just written starts slower than a copy of the
/// same bytes (docs/PERFORMANCE.md), and an installed binary is a copy.
/// Host and floor are started from copies alike.
fn copy_binaries(dir: &Path) {
    std::fs::create_dir(dir).unwrap();
    let copy = |from: PathBuf| {
        let to = dir.join(from.file_name().unwrap());
        std::fs::copy(&from, &to).unwrap();
        to
    };
    let host = copy(build_dir().join("shopdb-host"));
    let bench = copy(std::env::current_exe().unwrap());
    BINARIES.set((host, bench)).unwrap();
}

/// Every figure, or (`--only`) one section of them, with the quick settings
/// unless `--full` follows (`--only postgres`: every PostgreSQL section).
fn run_all(quick: bool, only: Option<&str>) {
    let wanted = |section: &str| only.is_none_or(|o| o == section || (o == "postgres" && section.starts_with("pg-")));
    let runs = if quick { 5 } else { 11 };
    let mut report = String::new();
    let _ = writeln!(report, "# shopdb-host benchmarks\n");
    let _ = writeln!(report, "Release build, {} runs per figure unless said, medians. Machine: {}.\n", runs, machine());
    let work = tempfile::tempdir().unwrap();
    let plugins = work.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    // The host refuses plugin files and directories others can write: set
    // the modes rather than inherit the umask.
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path, mode: u32| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    mode(work.path(), 0o755);
    mode(&plugins, 0o755);
    for name in BUNDLED {
        let file = format!("libshopdb_plugin_{name}.so");
        std::fs::copy(build_dir().join(&file), plugins.join(&file)).unwrap();
        mode(&plugins.join(&file), 0o755);
    }

    copy_binaries(&work.path().join("bin"));
    // The host remembers a plugin file's digest only once the file has not
    // changed for two seconds (`checks::recall`), as installed files have
    // not: the figures "with the verdicts remembered" start from there.
    std::thread::sleep(Duration::from_secs(2));

    let mut printed = 0;
    let mut flush = |report: &String| {
        print!("{}", &report[printed..]);
        let _ = std::io::Write::flush(&mut std::io::stdout());
        printed = report.len();
    };
    flush(&report);
    if wanted("fresh") {
        settle();
        // A whole process of about 20 ms moves by milliseconds from run to
        // run on two cores: ten times the runs (a few seconds) keep the
        // medians steady.
        fresh_upgrade(&mut report, work.path(), &plugins, runs * 10 + 1);
        flush(&report);
    }
    if wanted("loaded") {
        settle();
        loaded_fresh_upgrade(&mut report, work.path(), &plugins, runs * 4 + 1, 2);
        flush(&report);
    }
    if wanted("noop") {
        settle();
        noop_upgrade(&mut report, work.path(), &plugins, runs * 2 - 1);
        flush(&report);
    }
    if wanted("big") {
        settle();
        big_data(&mut report, work.path(), if quick { 3 } else { 5 }, if quick { 200_000 } else { 1_000_000 });
        flush(&report);
    }
    if wanted("scale") {
        settle();
        scale::run(&mut report, quick);
        flush(&report);
    }
    let pg_sections = ["pg-fresh", "pg-noop", "pg-scale", "pg-big"];
    if pg_sections.iter().any(|s| wanted(s)) {
        let pg = pg::Pg::start(work.path());
        pg.describe(&mut report);
        flush(&report);
        if wanted("pg-fresh") {
            pg.settle();
            pg::fresh(&mut report, &pg, work.path(), &plugins, runs);
            flush(&report);
        }
        if wanted("pg-noop") {
            pg.settle();
            pg::noop(&mut report, &pg, &plugins, runs * 4 + 1);
            flush(&report);
        }
        if wanted("pg-scale") {
            pg::scale_run(&mut report, &pg, quick);
            flush(&report);
        }
        if wanted("pg-big") {
            pg::big_data(&mut report, &pg, if quick { 3 } else { 5 }, if quick { 200_000 } else { 1_000_000 });
            flush(&report);
        }
    }
    if only.is_some() {
        return;
    }

    let out = build_dir().join("../bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("report.md"), &report).unwrap();
}

/// Writes back the system's dirty pages before a section is timed: those a
/// build or an earlier section left behind, written back during the runs,
/// would slow every fsync of host and floor alike.
fn settle() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} cores, {model}")
}

/// `shopdb-host upgrade-all` on `plugins` and `database`, its report
/// discarded, without a verdict cache (the fresh sections give it one).
fn upgrade_all(plugins: &Path, database: &Path) -> Command {
    let mut command = Command::new(host_binary());
    command
        .env("SHOPDB_VERDICT_CACHE", "none")
        .args(["upgrade-all", "--plugins-dir"])
        .arg(plugins)
        .arg("--database")
        .arg(database)
        .stdout(std::process::Stdio::null());
    command
}

fn time_command(command: &mut Command) -> Duration {
    let start = Instant::now();
    let status = command.status().unwrap();
    let elapsed = start.elapsed();
    assert!(status.success(), "{command:?} failed");
    elapsed
}

/// Times each of `commands` once, in an order that turns with `run`, so
/// that none always meets a warm page cache or goes after the same one.
fn time_turns(run: usize, commands: &mut [&mut Command]) -> Vec<Duration> {
    let n = commands.len();
    let mut times = vec![Duration::ZERO; n];
    for k in 0..n {
        let i = (run + k) % n;
        times[i] = time_command(commands[i]);
    }
    times
}

/// The verdict caches of a fresh section's two host figures: `warm`, one
/// cache the warm-up run fills (every counted run recalls the six plugins'
/// checks); and for run `run`, an empty one (`cold`: the plugin files seen
/// for the first time, their checks run and remembered).
fn fresh_caches(work: &Path, run: usize) -> (PathBuf, PathBuf) {
    let cold = work.join(format!("verdicts-cold-{run}"));
    let _ = std::fs::remove_dir_all(&cold);
    (work.join("verdicts-warm"), cold)
}

/// The host/floor lines of a fresh section: with the verdicts remembered
/// (the target's figure) and on first sight of the plugin files.
fn fresh_ratios(warm: &Samples, cold: &Samples, floor: &Samples, target: f64) -> String {
    format!(
        "**host/floor = {:.2}** with the verdicts remembered (target ≤ {target}); {:.2} on first sight of the plugin files (every check run)\n",
        warm.median() / floor.median(),
        cold.median() / floor.median()
    )
}

/// The SQL of the core chain and every plugin chain, in the order the host
/// applies them, one file per chain: the floor's input.
fn dump_sql(plugins: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let inventory = Inventory::scan(plugins).unwrap();
    let mut chains: Vec<(String, String)> =
        vec![("core".into(), core::chain().iter().map(|m| m.sql.as_str()).collect::<Vec<_>>().join(";\n"))];
    for plugin in &inventory.plugins {
        let sql = plugin.manifest.chain.iter().map(|m| m.sql.as_str()).collect::<Vec<_>>().join(";\n");
        chains.push((plugin.manifest.name.clone(), sql));
    }
    for (i, (name, sql)) in chains.iter().enumerate() {
        std::fs::write(dir.join(format!("{i:03}_{name}.sql")), sql).unwrap();
    }
}

/// The floor: the same SQL with nothing around it: one transaction per
/// chain, default journal mode and synchronous setting, like the host.
fn floor(sql_dir: &Path, database: &Path) {
    let conn = Connection::open(database).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(sql_dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in files {
        let sql = std::fs::read_to_string(&file).unwrap();
        conn.execute_batch(&format!("BEGIN IMMEDIATE;\n{sql};\nCOMMIT;")).unwrap();
    }
}

/// Child process: keeps one CPU busy until it is killed (the load beside
/// the timed runs of the `loaded` section).
fn spin() {
    let mut x: u64 = 1;
    loop {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

/// The fresh figure again with `busy` processes spinning beside it, host and
/// floor under the same load: a deploy host is rarely idle.
fn loaded_fresh_upgrade(report: &mut String, work: &Path, plugins: &Path, runs: usize, busy: usize) {
    let mut spinners: Vec<std::process::Child> =
        (0..busy).map(|_| Command::new(bench_binary()).arg("spin").spawn().unwrap()).collect();
    let title = format!("## 1b. Fresh `upgrade-all` with {busy} busy processes beside it, {runs} runs");
    fresh_upgrade_titled(report, work, plugins, runs, &title, 2.0);
    for spinner in &mut spinners {
        let _ = spinner.kill();
        let _ = spinner.wait();
    }
}

fn fresh_upgrade(report: &mut String, work: &Path, plugins: &Path, runs: usize) {
    let title = format!("## 1. Fresh `upgrade-all` (core + 6 plugins, whole process, new file), {runs} runs");
    fresh_upgrade_titled(report, work, plugins, runs, &title, 1.5);
}

fn fresh_upgrade_titled(report: &mut String, work: &Path, plugins: &Path, runs: usize, title: &str, target: f64) {
    let sql = work.join("floor-sql");
    dump_sql(plugins, &sql);
    let me = bench_binary();
    let (mut warm, mut cold, mut floor) = (Samples::default(), Samples::default(), Samples::default());
    let _ = std::fs::remove_dir_all(work.join("verdicts-warm"));
    // Run 0 of each is a warm-up, not counted: the first start of a binary
    // pays for reading it from disk (and the warm cache is filled).
    for run in 0..=runs {
        let (warm_db, cold_db) =
            (work.join(format!("fresh-warm-{run}.sqlite")), work.join(format!("fresh-cold-{run}.sqlite")));
        let floor_db = work.join(format!("fresh-floor-{run}.sqlite"));
        let (warm_cache, cold_cache) = fresh_caches(work, run);
        let mut warm_command = upgrade_all(plugins, &warm_db);
        warm_command.env("SHOPDB_VERDICT_CACHE", &warm_cache);
        let mut cold_command = upgrade_all(plugins, &cold_db);
        cold_command.env("SHOPDB_VERDICT_CACHE", &cold_cache);
        let mut floor_command = Command::new(&me);
        floor_command.arg("floor").arg(&sql).arg(&floor_db);
        let times = time_turns(run, &mut [&mut warm_command, &mut cold_command, &mut floor_command]);
        if run > 0 {
            warm.push(times[0]);
            cold.push(times[1]);
            floor.push(times[2]);
        }
        for file in [warm_db, cold_db, floor_db] {
            let _ = std::fs::remove_file(file);
        }
        let _ = std::fs::remove_dir_all(cold_cache);
    }
    let _ = writeln!(report, "{title}\n");
    let _ = writeln!(report, "| | median | min | max |\n|---|---|---|---|");
    for (what, samples) in [
        ("host `shopdb-host upgrade-all`, verdicts remembered (a warm verdict cache)", &warm),
        ("host `shopdb-host upgrade-all`, first sight of the plugins (an empty verdict cache)", &cold),
        ("floor (same SQL, rusqlite, one transaction per chain)", &floor),
    ] {
        let _ =
            writeln!(report, "| {what} | {} | {} | {} |", ms(samples.median()), ms(samples.min()), ms(samples.max()));
    }
    let _ = writeln!(report, "\n{}", fresh_ratios(&warm, &cold, &floor, target));
}

fn noop_upgrade(report: &mut String, work: &Path, plugins: &Path, runs: usize) {
    let db = work.join("noop.sqlite");
    time_command(&mut upgrade_all(plugins, &db));
    let (mut wall, mut start) = (Samples::default(), Samples::default());
    let mut phase_runs: Vec<serde_json::Value> = Vec::new();
    let me = bench_binary();
    for _ in 0..runs {
        wall.push(time_command(&mut upgrade_all(plugins, &db)));
        let mut version = Command::new(host_binary());
        version.arg("--version").stdout(std::process::Stdio::null());
        start.push(time_command(&mut version));
        let out = Command::new(&me).arg("phases").arg(plugins).arg(&db).output().unwrap();
        phase_runs.push(serde_json::from_slice(&out.stdout).unwrap());
    }
    let phase = |key: &str| {
        let values: Vec<f64> = phase_runs.iter().map(|p| p[key].as_f64().unwrap()).collect();
        median(&values)
    };
    let _ = writeln!(report, "## 2. No-op `upgrade-all` (everything applied), {runs} runs\n");
    let _ = writeln!(report, "| step | median |\n|---|---|");
    let _ = writeln!(report, "| **whole process, wall** | **{}** |", ms(wall.median()));
    let _ = writeln!(report, "| process start + exit (`shopdb-host --version`) | {} |", ms(start.median()));
    let _ = writeln!(
        report,
        "| load and describe the six `.so` (vet ELF, dlopen, abi_stable checks) | {:.2} ms |",
        phase("load_ms")
    );
    let _ = writeln!(report, "| open the database, ownership checks | {:.2} ms |", phase("open_ms"));
    let _ = writeln!(
        report,
        "| read history of 7 chains, compare checksums (the no-op run itself) | {:.2} ms |",
        phase("history_ms")
    );
    let _ = writeln!(
        report,
        "\nper `.so` file: {:.2} ms to load and describe. Target: whole process ≤ 5 ms.\n",
        phase("load_ms") / 6.0
    );
}

/// Child process: the steps of a no-op `upgrade-all`, timed.
fn phases(plugins: &Path, database: &Path) {
    let t0 = Instant::now();
    let mut inventory = Inventory::scan(plugins).unwrap();
    let t1 = Instant::now();
    let mut db = engine::open_sqlite(database).unwrap();
    inventory.refuse_ownership_conflicts(db.recorded_owners().unwrap());
    let t2 = Instant::now();
    let report = migrate::upgrade_all(db.as_mut(), &inventory, false).unwrap();
    let t3 = Instant::now();
    assert!(report.succeeded());
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("{}", serde_json::json!({"load_ms": ms(t1 - t0), "open_ms": ms(t2 - t1), "history_ms": ms(t3 - t2)}));
}

/// Child process: where a fresh `upgrade-all` spends its time.
fn fresh_phases(plugins: &Path, database: &Path) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let t0 = Instant::now();
    let mut inventory = Inventory::scan(plugins).unwrap();
    let t1 = Instant::now();
    let mut db = engine::open_sqlite(database).unwrap();
    inventory.refuse_ownership_conflicts(db.recorded_owners().unwrap());
    let t2 = Instant::now();
    let checker = shopdb_host::checks::Checker::sqlite(&inventory).unwrap();
    let t3 = Instant::now();
    for plugin in &inventory.plugins {
        checker.check_plugin(plugin).unwrap();
    }
    let t4 = Instant::now();
    let report = migrate::upgrade_all(db.as_mut(), &inventory, false).unwrap();
    let t5 = Instant::now();
    assert!(report.succeeded());
    println!(
        "load {:.2} open {:.2} checker {:.2} checks {:.2} upgrade_all(with checks) {:.2}",
        ms(t1 - t0),
        ms(t2 - t1),
        ms(t3 - t2),
        ms(t4 - t3),
        ms(t5 - t4)
    );
}

fn big_data(report: &mut String, work: &Path, runs: usize, rows: i64) {
    let template = work.join("big-template.sqlite");
    let setup = scale::big_table_plugin();
    {
        let mut db = engine::open_sqlite(&template).unwrap();
        let inventory = scale::inventory_of(vec![setup.clone()]);
        engine::apply(db.as_mut(), &migrate::core_run(shopdb_host::schema::Dialect::Sqlite)).unwrap();
        engine::apply(
            db.as_mut(),
            &migrate::plugin_run(&setup, &inventory, Some(1), None, shopdb_host::schema::Dialect::Sqlite),
        )
        .unwrap();
        drop(db);
        Connection::open(&template)
            .unwrap()
            .execute_batch(&format!(
                "INSERT INTO sites (code, name) VALUES ('S1', 'Plant 1'), ('S2', 'Plant 2');
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
                 INSERT INTO big_items (id, site_id, code, value) SELECT i, 1 + i % 2, printf('ITEM-%08d', i), i * 0.5 FROM n;"
            ))
            .unwrap();
    }
    let _ = writeln!(report, "## 4. Big data: {rows} rows, {runs} runs (in-process, same starting file)\n");
    let _ = writeln!(report, "| migration | host | floor | host/floor |\n|---|---|---|---|");
    for (version, label) in [(2, "12-step rebuild of the table (new constraint)"), (3, "add an indexed column")] {
        let sql = setup.manifest.chain.iter().find(|m| m.version == version).unwrap().sql.clone();
        let (mut host, mut floor) = (Samples::default(), Samples::default());
        for run in 0..runs {
            for side in [run % 2, 1 - run % 2] {
                let db_path = work.join(format!("big-{side}.sqlite"));
                std::fs::copy(&template, &db_path).unwrap();
                if version == 3 {
                    // Start from V2 on both sides.
                    let conn = Connection::open(&db_path).unwrap();
                    let v2 = &setup.manifest.chain[1];
                    conn.execute_batch(&format!("BEGIN; {}; COMMIT;", v2.sql)).unwrap();
                    conn.execute(
                        "INSERT INTO shopdb_history_bigdata (version, name, applied_on, checksum) VALUES (2, ?1, '2026-01-01T00:00:00Z', ?2)",
                        rusqlite::params![v2.name, v2.checksum().to_string()],
                    )
                    .unwrap();
                }
                if side == 0 {
                    let mut db = engine::open_sqlite(&db_path).unwrap();
                    let inventory = scale::inventory_of(vec![setup.clone()]);
                    let start = Instant::now();
                    let applied = engine::apply(
                        db.as_mut(),
                        &migrate::plugin_run(
                            &setup,
                            &inventory,
                            Some(version),
                            None,
                            shopdb_host::schema::Dialect::Sqlite,
                        ),
                    )
                    .unwrap();
                    host.push(start.elapsed());
                    assert_eq!(applied.len(), 1);
                } else {
                    let conn = Connection::open(&db_path).unwrap();
                    let start = Instant::now();
                    conn.execute_batch(&format!("BEGIN IMMEDIATE; {sql}; COMMIT;")).unwrap();
                    floor.push(start.elapsed());
                }
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
    let _ = writeln!(report, "\nTarget: host/floor ≤ 1.1.\n");
}
