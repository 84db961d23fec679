//! The harness for shopdb's end-to-end tests: the real `shopdb-host` binary,
//! real plugin libraries and real SQLite files, in a fresh directory per test.
//!
//! `cargo test` does not build `cdylib`s (cargo issue 8311), so the plugin
//! and fixture libraries come from `cargo build --workspace`, which `make
//! test` runs first; a missing artifact fails with that instruction. When a
//! command does not end as a test expects, the failure shows the command, the
//! directory listing, stdout and stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_debug_implementations)]

pub mod postgres;

use rusqlite::Connection;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

/// The bundled plugins, by name.
pub const BUNDLED: [&str; 6] = ["computers", "equipment", "network", "notifications", "printers", "usb"];

/// The directory cargo put this test's binaries in (`target/debug`).
pub fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    // target/debug/deps/<test>-<hash>
    exe.parent().and_then(Path::parent).expect("tests run from target/<profile>/deps").to_owned()
}

fn artifact(name: &str) -> PathBuf {
    let path = build_dir().join(name);
    assert!(
        path.exists(),
        "`{}` is missing: build everything first with `make test` (or `cargo build --workspace`); \
         `cargo test` alone does not build plugin libraries",
        path.display()
    );
    path
}

/// The `shopdb-host` binary.
pub fn host_binary() -> PathBuf {
    artifact(&format!("shopdb-host{}", std::env::consts::EXE_SUFFIX))
}

/// The library file a crate compiles to (`my-crate` → `libmy_crate.so`).
pub fn library(crate_name: &str) -> PathBuf {
    let (prefix, suffix) = (std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    artifact(&format!("{prefix}{}{suffix}", crate_name.replace('-', "_")))
}

/// The library of a bundled plugin.
pub fn bundled(plugin: &str) -> PathBuf {
    library(&format!("shopdb-plugin-{plugin}"))
}

/// The library of a fixture plugin under `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    library(&format!("fixture-{name}"))
}

/// Loads a plugin file the way the host does, from a private copy with
/// explicit modes: build outputs inherit the umask (which may leave them
/// group-writable), and the host refuses files others can write. The copy
/// is removed once loaded (the library stays mapped, and the host keeps its
/// descriptor open): a test binary loads a hundred of them, megabytes each.
pub fn load_plugin(file: &Path) -> shopdb_host::plugins::load::Plugin {
    let dir = tempfile::Builder::new().prefix("shopdb-load-").tempdir().expect("a temporary directory");
    set_mode(dir.path(), 0o755);
    let copy = dir.path().join(file.file_name().expect("a file name"));
    std::fs::copy(file, &copy).expect("copy the plugin file");
    set_mode(&copy, 0o755);
    shopdb_host::plugins::load::load(&copy).unwrap_or_else(|e| panic!("{} does not load: {e}", file.display()))
}

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the repository").to_owned()
}

/// A fresh directory with a plugins directory and a database path.
pub struct Sandbox {
    dir: TempDir,
    /// The host's verdict cache, apart from the sandbox directory (whose
    /// files some tests count) and from the user's own.
    verdicts: TempDir,
    /// A PostgreSQL URL the host is pointed at instead of the sandbox file.
    database_url: Option<String>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// An empty sandbox: `plugins/` exists, the database does not.
    pub fn new() -> Sandbox {
        let dir = tempfile::Builder::new().prefix("shopdb-test-").tempdir().expect("a temporary directory");
        let plugins = dir.path().join("plugins");
        std::fs::create_dir(&plugins).expect("plugins directory");
        // The host refuses a plugins directory or file others can write:
        // set the modes rather than inherit them from the umask.
        set_mode(&plugins, 0o755);
        let verdicts = tempfile::Builder::new().prefix("shopdb-verdicts-").tempdir().expect("a temporary directory");
        Sandbox { dir, verdicts, database_url: None }
    }

    /// A sandbox whose commands use a PostgreSQL database instead of a file.
    pub fn on_postgres(database: &postgres::TestDatabase) -> Sandbox {
        Sandbox { database_url: Some(database.url()), ..Sandbox::new() }
    }

    /// The sandbox directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The verdict cache every command of this sandbox uses.
    pub fn verdict_cache(&self) -> &Path {
        self.verdicts.path()
    }

    /// Where plugin files go.
    pub fn plugins_dir(&self) -> PathBuf {
        self.path().join("plugins")
    }

    /// The database file.
    pub fn database(&self) -> PathBuf {
        self.path().join("shop.sqlite")
    }

    /// Copies bundled plugins into the plugins directory.
    pub fn install(&self, plugins: &[&str]) -> &Sandbox {
        for plugin in plugins {
            self.install_file(&bundled(plugin));
        }
        self
    }

    /// Copies a fixture plugin into the plugins directory.
    pub fn install_fixture(&self, name: &str) -> &Sandbox {
        self.install_file(&fixture(name))
    }

    /// Installs the `scripted` fixture as `lib<stem>.so`, describing itself
    /// with `spec` (see `tests/fixtures/scripted`). Returns the file's path.
    pub fn install_scripted(&self, stem: &str, spec: serde_json::Value) -> PathBuf {
        let (prefix, suffix) = (std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
        let file = self.plugins_dir().join(format!("{prefix}{stem}{suffix}"));
        std::fs::copy(fixture("scripted"), &file).expect("copy the scripted fixture");
        set_mode(&file, 0o755);
        let mut spec_path = file.clone().into_os_string();
        spec_path.push(".json");
        std::fs::write(spec_path, serde_json::to_vec_pretty(&spec).unwrap()).expect("write the fixture's spec");
        file
    }

    /// Copies any file into the plugins directory under its own name.
    pub fn install_file(&self, file: &Path) -> &Sandbox {
        let name = file.file_name().expect("a file name");
        let target = self.plugins_dir().join(name);
        std::fs::copy(file, &target).expect("copy the plugin file");
        set_mode(&target, 0o755);
        self
    }

    /// Writes `bytes` as a file in the plugins directory.
    pub fn write_plugin_file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.plugins_dir().join(name);
        std::fs::write(&path, bytes).expect("write a plugin file");
        set_mode(&path, 0o644);
        path
    }

    /// Removes a file from the plugins directory.
    pub fn uninstall_file(&self, name: &str) {
        std::fs::remove_file(self.plugins_dir().join(name)).expect("remove a plugin file");
    }

    /// `shopdb-host ARGS` in the sandbox, pointed at its plugins directory
    /// and database through the environment, ready to run or adjust.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(host_binary());
        command
            .args(args)
            .current_dir(self.path())
            .env("SHOPDB_PLUGINS_DIR", self.plugins_dir())
            .env(
                "SHOPDB_DATABASE",
                self.database_url.clone().map_or_else(|| self.database().into_os_string(), Into::into),
            )
            .env("SHOPDB_VERDICT_CACHE", self.verdict_cache())
            .env("NO_COLOR", "1");
        command
    }

    /// Runs `shopdb-host ARGS` in the sandbox (see [`Sandbox::command`]).
    pub fn host(&self, args: &[&str]) -> Run {
        self.run(self.command(args))
    }

    /// Runs a prepared command and captures everything a failure report needs.
    pub fn run(&self, mut command: Command) -> Run {
        let description = format!("{command:?}");
        let output = command.output().expect("the command starts");
        Run {
            command: description,
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            listing: listing(self.path()),
        }
    }

    /// Opens the sandbox database.
    pub fn open_db(&self) -> Connection {
        Connection::open(self.database()).expect("open the test database")
    }

    /// The first column of every row `sql` selects from the sandbox
    /// database.
    pub fn column<T: rusqlite::types::FromSql>(&self, sql: &str) -> Vec<T> {
        let conn = self.open_db();
        let mut statement = conn.prepare(sql).expect("a valid query");
        statement.query_map([], |r| r.get(0)).expect("the query runs").map(|row| row.expect("a row")).collect()
    }

    /// Everything in the database, as text: every schema object and every
    /// row of every table except the audit record's (a refused run writes
    /// its audit entry and nothing else). Two equal snapshots mean an
    /// unchanged database.
    pub fn snapshot(&self) -> String {
        if !self.database().exists() {
            return "(no database)".into();
        }
        snapshot(&self.open_db())
    }
}

/// The name of the user running the tests, from the password database.
pub fn os_user() -> String {
    // SAFETY: getpwuid returns a pointer to static storage or null; it is
    // read at once, on this thread.
    unsafe {
        let entry = libc::getpwuid(libc::geteuid());
        assert!(!entry.is_null(), "the test user has a password entry");
        std::ffi::CStr::from_ptr((*entry).pw_name).to_string_lossy().into_owned()
    }
}

/// Whether the tests run as root, which `why` needs. When they do not,
/// says so on the test's output; under CI (`SHOPDB_TESTS_AS_ROOT=1`, set by
/// `.ci/run`, which runs as root) not being root is a failure.
pub fn running_as_root(why: &str) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var_os("SHOPDB_TESTS_AS_ROOT").is_none(),
        "CI runs the tests as root, but this is not root: {why}"
    );
    eprintln!("NOT RUN (not root): {why}");
    false
}

/// Sets a file's or directory's permission bits.
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("set permissions");
}

/// Every schema object and every row of every table of `conn` (but the
/// audit record's), as text.
pub fn snapshot(conn: &Connection) -> String {
    snapshot_except(conn, "\u{0}")
}

/// [`snapshot`] without what mentions `plugin`: the objects on tables whose
/// name starts with it (and its history table), and every row naming it.
pub fn snapshot_except(conn: &Connection, plugin: &str) -> String {
    let mut text = String::new();
    let mut stmt = conn.prepare("SELECT type, name, ifnull(sql, '') FROM sqlite_master ORDER BY type, name").unwrap();
    let objects: Vec<(String, String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
    let theirs = |name: &str| {
        name.starts_with(plugin)
            || name == format!("shopdb_history_{plugin}")
            || name.starts_with(&format!("sqlite_autoindex_{plugin}"))
    };
    let objects: Vec<(String, String, String)> =
        objects.into_iter().filter(|(_, name, sql)| !theirs(name) && !sql.contains(&format!(" ON {plugin}"))).collect();
    for (kind, name, sql) in &objects {
        writeln!(text, "{kind} {name}: {sql}").unwrap();
    }
    let rows_of = |name: &str| !name.starts_with("sqlite_") && name != "shopdb_core_audit";
    for (_, table, _) in objects.iter().filter(|(kind, name, _)| kind == "table" && rows_of(name)) {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\" ORDER BY rowid")).unwrap();
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |row| {
                (0..columns)
                    .map(|i| row.get::<_, rusqlite::types::Value>(i).map(|v| format!("{v:?}")))
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap();
        for row in rows {
            let row = row.unwrap().join(" | ");
            if !row.contains(&format!("\"{plugin}")) {
                writeln!(text, "{table}: {row}").unwrap();
            }
        }
    }
    text
}

fn listing(dir: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            writeln!(out, "  {} ({size} bytes)", path.strip_prefix(dir).unwrap_or(&path).display()).unwrap();
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out
}

/// A finished `shopdb-host` run.
#[derive(Debug)]
pub struct Run {
    /// The command line.
    pub command: String,
    /// The exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Everything printed on stdout.
    pub stdout: String,
    /// Everything printed on stderr.
    pub stderr: String,
    listing: String,
}

impl Run {
    /// Asserts the exit code, printing everything useful when it differs.
    #[track_caller]
    pub fn exits(self, code: i32) -> Run {
        if self.code != Some(code) {
            panic!("expected exit code {code}, got {:?}\n{}", self.code, self.report());
        }
        self
    }

    /// Asserts success (exit 0).
    #[track_caller]
    pub fn succeeds(self) -> Run {
        self.exits(0)
    }

    /// Asserts that stdout contains `text`.
    #[track_caller]
    pub fn stdout_has(self, text: &str) -> Run {
        if !self.stdout.contains(text) {
            panic!("expected stdout to contain {text:?}\n{}", self.report());
        }
        self
    }

    /// Asserts that stderr contains `text`.
    #[track_caller]
    pub fn stderr_has(self, text: &str) -> Run {
        if !self.stderr.contains(text) {
            panic!("expected stderr to contain {text:?}\n{}", self.report());
        }
        self
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.report()))
    }

    /// The command, the sandbox listing, stdout and stderr, for failures.
    pub fn report(&self) -> String {
        format!(
            "command: {}\nexit: {:?}\nfiles:\n{}--- stdout ---\n{}--- stderr ---\n{}",
            self.command, self.code, self.listing, self.stdout, self.stderr
        )
    }
}

/// Runs `upgrade-all` with one bad plugin added to an applied database and
/// asserts: exit 1, the plugin is refused with a reason containing every
/// `expected` text, and the database is exactly as it was.
#[track_caller]
pub fn refused_and_untouched(sandbox: &Sandbox, plugin: &str, expected: &[&str]) -> String {
    let before = sandbox.snapshot();
    let run = sandbox.host(&["upgrade-all", "--json"]).exits(1);
    let report = run.json();
    let outcome = chain(&report, plugin);
    assert_eq!(outcome["status"], "refused", "{}", run.report());
    let reason = outcome["reason"].as_str().unwrap().to_owned();
    for text in expected {
        assert!(reason.contains(text), "reason {reason:?} should contain {text:?}");
    }
    assert_eq!(sandbox.snapshot(), before, "a refused plugin changed the database");
    // `check` says the same without a database write, and exits non-zero.
    let check = sandbox.host(&["check", "--json"]).exits(1).json();
    let verdict = check["plugins"].as_array().unwrap().iter().find(|v| v["name"] == plugin).unwrap().clone();
    assert_eq!(verdict["status"], "refused", "{check:#}");
    reason
}

/// The chain with `name` in a `--json` run report.
#[track_caller]
pub fn chain<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["chains"]
        .as_array()
        .and_then(|chains| chains.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no chain '{name}' in {report:#}"))
}
