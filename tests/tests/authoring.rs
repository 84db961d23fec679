//! Writing plugins and operating the host: the scaffold, completions, the
//! manual page.

use shopdb_tests::{chain, repo_root, Sandbox};
use std::process::Command;

#[test]
fn a_scaffolded_plugin_builds_out_of_tree_passes_check_and_applies() {
    let sandbox = Sandbox::new();
    let crate_dir = sandbox.path().join("gauges");
    let run = sandbox.host(&["new-plugin", "gauges", "--dir", crate_dir.to_str().unwrap()]).succeeds();
    for file in ["Cargo.toml", "build.rs", "src/lib.rs", "schema.sql", "migrations/V1__baseline.sql", "README.md"] {
        assert!(crate_dir.join(file).is_file(), "{file} missing\n{}", run.report());
    }
    sandbox.host(&["new-plugin", "gauges", "--dir", crate_dir.to_str().unwrap()]).exits(2).stderr_has("already exists");
    sandbox.host(&["new-plugin", "Gauges"]).exits(2).stderr_has("invalid plugin name");

    // Built as a plugin author would, outside this workspace. The lock file
    // pins the dependency versions this repository already fetched, so the
    // build needs no network; its own target directory is kept between runs.
    std::fs::copy(repo_root().join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    let target = repo_root().join("target/scaffolded");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let build = Command::new(cargo)
        .args(["build", "--offline", "--quiet"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(build.status.success(), "the scaffolded crate does not build:\n{}", String::from_utf8_lossy(&build.stderr));
    let library = format!("{}shopdb_plugin_gauges{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    sandbox.install_file(&target.join("debug").join(&library));

    sandbox.host(&["check"]).succeeds().stdout_has("gauges");
    let report = sandbox.host(&["upgrade-all", "--json"]).succeeds().json();
    assert_eq!(chain(&report, "gauges")["status"], "applied");
    assert_eq!(chain(&report, "gauges")["migrations"], serde_json::json!(["V1__baseline"]));

    // A migration refinery would silently skip stops the build, by name.
    std::fs::write(crate_dir.join("migrations/V2__add-serial.sql"), "ALTER TABLE gauges_items ADD COLUMN serial TEXT;")
        .unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let build = Command::new(cargo)
        .args(["build", "--offline", "--quiet"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&build.stderr);
    assert!(!build.status.success(), "a chain with a hole built");
    assert!(stderr.contains("V2__add-serial.sql` in") && stderr.contains("is not a migration"), "{stderr}");
}

#[test]
fn completions_and_the_manual_are_generated_from_the_command_line_definition() {
    let sandbox = Sandbox::new();
    for shell in ["bash", "zsh", "fish"] {
        let run = sandbox.host(&["completions", shell]).succeeds();
        assert!(run.stdout.contains("upgrade-all") && run.stdout.contains("new-plugin"), "{shell}\n{}", run.report());
    }
    let man = sandbox.host(&["man"]).succeeds();
    assert!(man.stdout.starts_with(".ie") || man.stdout.contains(".TH"), "{}", man.report());
    assert!(man.stdout.contains("upgrade\\-all"), "{}", man.report());
}

#[test]
fn piped_output_has_no_colour_and_no_progress() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    // Without NO_COLOR: only the pipe keeps colour and progress away.
    let mut command = sandbox.command(&["upgrade-all"]);
    command.env_remove("NO_COLOR");
    let run = sandbox.run(command).succeeds();
    assert!(run.stdout.contains("applied 3 migrations"), "{}", run.report());
    assert!(!run.stdout.contains('\u{1b}'), "{}", run.report());
    assert!(run.stderr.is_empty(), "nothing extra when piped\n{}", run.report());
}

/// Runs the host with its standard output and error on a pseudo-terminal
/// (what an operator's shell gives it) and returns what it wrote there.
fn on_a_terminal(sandbox: &Sandbox, args: &[&str], no_colour: bool) -> String {
    on_a_terminal_exiting(sandbox, args, no_colour, 0)
}

/// [`on_a_terminal`], for a command expected to exit with `code`.
fn on_a_terminal_exiting(sandbox: &Sandbox, args: &[&str], no_colour: bool, code: i32) -> String {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut controller, mut terminal) = (-1, -1);
    // A terminal of 100 columns, as an operator's might be.
    let size = libc::winsize { ws_row: 40, ws_col: 100, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: openpty writes two descriptors it opened into the integers
    // given; name and terminal settings may be null, the size is read.
    let opened =
        unsafe { libc::openpty(&mut controller, &mut terminal, std::ptr::null_mut(), std::ptr::null(), &size) };
    assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nobody else.
    let (mut controller, terminal) =
        unsafe { (std::fs::File::from_raw_fd(controller), OwnedFd::from_raw_fd(terminal)) };
    let mut command = Command::new(shopdb_tests::host_binary());
    command
        .args(args)
        .current_dir(sandbox.path())
        .env("SHOPDB_PLUGINS_DIR", sandbox.plugins_dir())
        .env("SHOPDB_DATABASE", sandbox.database())
        .env("SHOPDB_VERDICT_CACHE", sandbox.verdict_cache())
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null())
        .stdout(terminal.try_clone().unwrap())
        .stderr(terminal);
    if no_colour {
        command.env("NO_COLOR", "1");
    }
    let mut child = command.spawn().unwrap();
    // The terminal's last descriptor outside the child goes with the command:
    // reading then ends (EIO on Linux) when the child exits.
    drop(command);
    let mut written = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match controller.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => written.extend_from_slice(&chunk[..n]),
            Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("reading the terminal: {e}"),
        }
    }
    let status = child.wait().unwrap();
    let written = String::from_utf8_lossy(&written).into_owned();
    assert_eq!(status.code(), Some(code), "shopdb-host {args:?} on a terminal:\n{written}");
    written
}

#[test]
fn on_a_terminal_results_are_coloured_and_progress_shown_unless_no_color() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    let coloured = on_a_terminal(&sandbox, &["upgrade-all"], false);
    assert!(coloured.contains("\u{1b}[32mapplied"), "{coloured}");
    assert!(
        coloured.contains("computers: applying V1__baseline") && coloured.contains("computers: done in"),
        "{coloured}"
    );
    // On a terminal with NO_COLOR, a run that applies (green without it)
    // and one that is refused (red without it) print no colour.
    let fresh = Sandbox::new();
    fresh.install(&["computers"]);
    fresh.install_scripted(
        "gizmos",
        serde_json::json!({"name": "gizmos", "tables": ["gizmos"], "ddl": "CREATE TABLE gizmos (id INTEGER);",
                           "migrations": [[1, "baseline", "CREATE TABLE gizmos (id INTEGER); DROP TABLE sites;"]]}),
    );
    let plain = on_a_terminal_exiting(&fresh, &["upgrade-all"], true, 1);
    assert!(plain.contains("applied 3 migrations") && plain.contains("refused:"), "{plain}");
    for colour in ["\u{1b}[31m", "\u{1b}[32m", "\u{1b}[33m"] {
        assert!(!plain.contains(colour), "NO_COLOR is respected: {plain:?}");
    }
    let coloured = on_a_terminal_exiting(&Sandbox::new(), &["upgrade-all"], false, 0);
    assert!(coloured.contains("\u{1b}[32m"), "without NO_COLOR the same terminal gets colour: {coloured:?}");
}

#[test]
fn a_long_migration_shows_on_a_terminal_which_migration_runs_and_that_it_is_alive() {
    let sandbox = Sandbox::new();
    let v1 = "CREATE TABLE slow_rows (n INTEGER NOT NULL);";
    let v2 = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000)
              INSERT INTO slow_rows (n) SELECT i FROM n;";
    sandbox.install_scripted(
        "slowpoke",
        serde_json::json!({"name": "slowpoke", "tables": ["slow_rows"], "ddl": v1, "migrations": [[1, "baseline", v1], [2, "fill", v2]]}),
    );
    let shown = on_a_terminal(&sandbox, &["upgrade-all"], true);
    assert!(shown.contains("slowpoke: applying V1__baseline, V2__fill"), "{shown}");
    // The spinner line is redrawn while V2 runs: the migration running now,
    // its place in the chain, and the time.
    let redraws = shown.matches("slowpoke: running V2__fill (2/2)").count();
    assert!(redraws >= 3, "{redraws} redraws in:\n{shown}");
    for done in ["slowpoke: V1__baseline done in", "slowpoke: V2__fill done in", "slowpoke: done in"] {
        assert!(shown.contains(done), "{done} missing:\n{shown}");
    }
    let quiet = on_a_terminal(&Sandbox::new(), &["upgrade-all", "-q"], true);
    assert!(quiet.trim().is_empty(), "-q prints nothing but errors: {quiet}");
}

#[test]
fn list_on_a_terminal_fits_a_long_table_list_to_its_width() {
    let sandbox = Sandbox::new();
    let tables: Vec<String> = (1..=28).map(|i| format!("wide_plugin_table_{i:02}")).collect();
    let ddl: String = tables.iter().map(|t| format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY);\n")).collect();
    sandbox.install_scripted(
        "wide",
        serde_json::json!({"name": "wide", "tables": tables, "ddl": ddl, "migrations": [[1, "baseline", ddl]]}),
    );
    let shown = on_a_terminal(&sandbox, &["list"], true);
    for line in shown.lines() {
        assert!(line.trim_end().chars().count() <= 100, "{} characters: {line}", line.chars().count());
    }
    assert!(shown.contains("wide_plugin_table_01") && shown.contains("more)"), "{shown}");
    let piped = sandbox.host(&["list"]).succeeds();
    assert!(piped.stdout.contains("wide_plugin_table_28"), "piped output keeps everything\n{}", piped.report());
    let json = sandbox.host(&["list", "--json"]).succeeds().json();
    assert_eq!(json["plugins"][0]["tables"].as_array().unwrap().len(), 28);
}

#[test]
fn verbose_logs_what_the_host_does_and_quiet_prints_errors_only() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    let verbose = sandbox.host(&["upgrade-all", "-v"]).succeeds();
    assert!(verbose.stderr.contains("checked, loaded and described 'computers'"), "{}", verbose.report());
    assert!(verbose.stderr.contains("µs: CREATE TABLE computer_models"), "SQL timings\n{}", verbose.report());
    let quiet = sandbox.host(&["upgrade-all", "-q"]).succeeds();
    assert!(quiet.stdout.is_empty() && quiet.stderr.is_empty(), "{}", quiet.report());
    sandbox.host(&["migrate", "--plugin", "nope", "-q"]).exits(2).stderr_has("no plugin named 'nope'");
}

#[test]
fn configuration_comes_from_flags_then_environment_then_shopdb_toml_then_defaults() {
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.path().join("shopdb.toml"),
        "database = \"from-file.sqlite\"\nplugins_dir = \"file-plugins\"\nbusy_timeout = 3\n",
    )
    .unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = Command::new(shopdb_tests::host_binary());
        command
            .args(args)
            .current_dir(sandbox.path())
            .env_remove("SHOPDB_DATABASE")
            .env_remove("SHOPDB_PLUGINS_DIR")
            .env("SHOPDB_VERDICT_CACHE", sandbox.verdict_cache());
        for (k, v) in env {
            command.env(k, v);
        }
        sandbox.run(command).succeeds().json()
    };
    let setting = |report: &serde_json::Value, name: &str| {
        let s = report["settings"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap().clone();
        (s["value"].as_str().unwrap().to_owned(), s["source"].as_str().unwrap().to_owned())
    };
    let from_file = run(&["config", "--json"], &[]);
    assert_eq!(setting(&from_file, "database"), ("from-file.sqlite".into(), "shopdb.toml".into()));
    assert_eq!(setting(&from_file, "busy_timeout").1, "shopdb.toml");
    let from_env = run(&["config", "--json"], &[("SHOPDB_DATABASE", "from-env.sqlite")]);
    assert_eq!(setting(&from_env, "database"), ("from-env.sqlite".into(), "environment (SHOPDB_DATABASE)".into()));
    let from_flag =
        run(&["config", "--json", "--database", "from-flag.sqlite"], &[("SHOPDB_DATABASE", "from-env.sqlite")]);
    assert_eq!(setting(&from_flag, "database"), ("from-flag.sqlite".into(), "command line".into()));
    // The values reach the commands that use them, not only `config`'s report.
    std::fs::create_dir(sandbox.path().join("file-plugins")).unwrap();
    shopdb_tests::set_mode(&sandbox.path().join("file-plugins"), 0o755);
    let installed = sandbox.path().join("file-plugins").join(shopdb_tests::bundled("computers").file_name().unwrap());
    std::fs::copy(shopdb_tests::bundled("computers"), &installed).unwrap();
    shopdb_tests::set_mode(&installed, 0o755);
    let applied = run(&["upgrade-all", "--json"], &[]);
    assert!(applied["database"].as_str().unwrap().ends_with("from-file.sqlite"), "{applied:#}");
    assert_eq!(shopdb_tests::chain(&applied, "computers")["status"], "applied", "plugins_dir from the file");
    assert!(sandbox.path().join("from-file.sqlite").exists());
    let flagged = run(&["upgrade-all", "--json"], &[("SHOPDB_DATABASE", "from-env.sqlite")]);
    assert!(flagged["database"].as_str().unwrap().ends_with("from-env.sqlite"));
    assert!(sandbox.path().join("from-env.sqlite").exists(), "the environment wins over the file");
    let mut command = Command::new(shopdb_tests::host_binary());
    command.args(["list"]).current_dir(sandbox.path()).env("SHOPDB_PLUGINS_DIR", "nowhere");
    sandbox.run(command).exits(2).stderr_has("plugins directory `nowhere` does not exist");
    // The busy timeout from the file is the one a busy database waits for.
    let holder = rusqlite::Connection::open(sandbox.path().join("from-file.sqlite")).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    std::fs::write(
        sandbox.path().join("shopdb.toml"),
        "database = \"from-file.sqlite\"\nplugins_dir = \"file-plugins\"\nbusy_timeout = 0.3\n",
    )
    .unwrap();
    let mut command = Command::new(shopdb_tests::host_binary());
    command
        .args(["upgrade-all"])
        .current_dir(sandbox.path())
        .env_remove("SHOPDB_DATABASE")
        .env_remove("SHOPDB_PLUGINS_DIR")
        .env("SHOPDB_VERDICT_CACHE", sandbox.verdict_cache());
    let started = std::time::Instant::now();
    sandbox.run(command).exits(1).stderr_has("more than 300ms");
    assert!(started.elapsed() < std::time::Duration::from_secs(8), "waited {:?}", started.elapsed());
    holder.execute_batch("ROLLBACK").unwrap();

    std::fs::remove_file(sandbox.path().join("shopdb.toml")).unwrap();
    let defaults = run(&["config", "--json"], &[]);
    assert_eq!(setting(&defaults, "database"), ("shopdb.sqlite".into(), "default".into()));
    assert_eq!(setting(&defaults, "plugins_dir"), ("shopdb-plugins".into(), "default".into()));
}
