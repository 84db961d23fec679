//! Faults and load on both engines: the host killed with SIGKILL at random
//! points of `upgrade-all` and run again, and rounds of four hosts started
//! at once on one fresh database. Whatever happened, the database must end
//! exactly as one clean run leaves it (times aside).
//!
//! The counts are bounded for `make test`; `make torture` raises them
//! (`SHOPDB_TORTURE_KILLS`, `SHOPDB_TORTURE_ROUNDS`) and the tests print
//! what they survived.

use shopdb_tests::postgres::{server, TestDatabase};
use shopdb_tests::{Sandbox, BUNDLED};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn count(variable: &str, default: usize) -> usize {
    std::env::var(variable).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Timestamps differ between any two runs: masked for comparing states.
fn without_times(snapshot: &str) -> String {
    let pattern = regex::Regex::new(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:\d{2})?)?")
        .expect("a valid pattern");
    pattern.replace_all(snapshot, "<time>").into_owned()
}

/// Deterministic delays (a fixed linear congruential sequence), so that a
/// failing kill point can be found again: the test prints its delay.
struct Delays(u64);

impl Delays {
    fn next(&mut self, max: Duration) -> Duration {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let fraction = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
        max.mul_f64(fraction)
    }
}

/// How long one clean fresh run takes here (the kill points are spread
/// over it), and the state it leaves.
fn clean_run(sandbox: &Sandbox, state: &dyn Fn() -> String) -> (Duration, String) {
    let started = Instant::now();
    sandbox.host(&["upgrade-all", "-q"]).succeeds();
    (started.elapsed(), without_times(&state()))
}

fn spawn_quiet(sandbox: &Sandbox) -> Child {
    sandbox
        .command(&["upgrade-all", "-q"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the host starts")
}

/// Kills a fresh `upgrade-all` after each of `kills` delays, reruns it, and
/// compares the state with a clean run's. `fresh` makes a new target (a
/// sandbox with the bundled plugins, and how to read its state).
fn kill_points(kills: usize, fresh: &(dyn Fn() -> (Sandbox, Box<dyn Fn() -> String>) + Sync)) -> usize {
    // The shortest of three clean runs (the first may be a cold start, or
    // the machine busy), so that most kill points land while the host runs.
    let mut took = Duration::MAX;
    let mut clean = String::new();
    for _ in 0..3 {
        let (reference, state) = fresh();
        let (this_run, this_state) = clean_run(&reference, &*state);
        assert!(clean.is_empty() || clean == this_state, "two clean runs left different states");
        (took, clean) = (took.min(this_run), this_state);
    }
    let window = took.mul_f64(1.2);
    let killed_mid_run = AtomicUsize::new(0);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let point = next.fetch_add(1, Ordering::Relaxed);
                if point >= kills {
                    break;
                }
                let delay = Delays(point as u64 + 1).next(window);
                let (sandbox, state) = fresh();
                let mut child = spawn_quiet(&sandbox);
                std::thread::sleep(delay);
                if child.try_wait().expect("the host's status").is_none() {
                    killed_mid_run.fetch_add(1, Ordering::Relaxed);
                }
                let _ = child.kill(); // SIGKILL
                let _ = child.wait();
                sandbox.host(&["upgrade-all", "-q"]).succeeds();
                assert_eq!(
                    clean,
                    without_times(&state()),
                    "killed after {delay:?} (point {point}) and run again: not what a clean run leaves"
                );
            });
        }
    });
    killed_mid_run.into_inner()
}

fn postgres_target() -> (Sandbox, Box<dyn Fn() -> String>) {
    let db: TestDatabase = server().database();
    let sandbox = Sandbox::on_postgres(&db);
    sandbox.install(&BUNDLED);
    (sandbox, Box::new(move || db.snapshot()))
}

fn sqlite_target() -> (Sandbox, Box<dyn Fn() -> String>) {
    let sandbox = Sandbox::new();
    sandbox.install(&BUNDLED);
    let path = sandbox.database();
    (sandbox, Box::new(move || shopdb_tests::snapshot(&rusqlite::Connection::open(&path).expect("the database"))))
}

#[test]
fn killed_at_random_points_on_postgres_a_rerun_ends_as_a_clean_run() {
    let kills = count("SHOPDB_TORTURE_KILLS", 50);
    let mid_run = kill_points(kills, &postgres_target);
    println!("postgres: {kills} kill points survived ({mid_run} killed while running)");
    assert!(mid_run >= kills / 2, "most kill points must land while the host runs: {mid_run} of {kills}");
}

#[test]
fn killed_at_random_points_on_sqlite_a_rerun_ends_as_a_clean_run() {
    let kills = count("SHOPDB_TORTURE_KILLS", 50);
    let mid_run = kill_points(kills, &sqlite_target);
    println!("sqlite: {kills} kill points survived ({mid_run} killed while running)");
    assert!(mid_run >= kills / 2, "most kill points must land while the host runs: {mid_run} of {kills}");
}

/// Rounds of four `upgrade-all` started at once on one fresh database: all
/// succeed, and each chain is applied by exactly one of them. Two rounds
/// run at a time, each on its own database.
fn concurrent_rounds(rounds: usize, fresh: &(dyn Fn() -> (Sandbox, Box<dyn Fn() -> String>) + Sync)) {
    let (reference, state) = fresh();
    let (_, clean) = clean_run(&reference, &*state);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let round = next.fetch_add(1, Ordering::Relaxed);
                if round >= rounds {
                    break;
                }
                let (sandbox, state) = fresh();
                let children: Vec<Child> = (0..4)
                    .map(|_| {
                        sandbox.command(&["upgrade-all", "--json"]).stdout(Stdio::piped()).spawn().expect("a host")
                    })
                    .collect();
                let mut applied = 0;
                for child in children {
                    let output = child.wait_with_output().expect("the host ends");
                    assert!(output.status.success(), "round {round}: {}", String::from_utf8_lossy(&output.stdout));
                    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
                    let chains = report["chains"].as_array();
                    applied += chains.map_or(0, |c| c.iter().filter(|c| c["status"] == "applied").count());
                }
                assert_eq!(applied, BUNDLED.len() + 1, "round {round}: each chain applied exactly once");
                assert_eq!(clean, without_times(&state()), "round {round}: not what one clean run leaves");
            });
        }
    });
}

#[test]
fn rounds_of_four_hosts_at_once_on_postgres_apply_each_migration_once() {
    let rounds = count("SHOPDB_TORTURE_ROUNDS", 20);
    concurrent_rounds(rounds, &postgres_target);
    println!("postgres: {rounds} rounds of 4 concurrent hosts");
}

#[test]
fn rounds_of_four_hosts_at_once_on_sqlite_apply_each_migration_once() {
    let rounds = count("SHOPDB_TORTURE_ROUNDS", 20);
    concurrent_rounds(rounds, &sqlite_target);
    println!("sqlite: {rounds} rounds of 4 concurrent hosts");
}
