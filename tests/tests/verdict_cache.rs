//! The verdict cache: a plugin file checked once on an engine is judged
//! from what its checks found on the next database, with the same result,
//! and a cache that is changed, damaged or untrusted never changes a
//! verdict.

use serde_json::{json, Value};
use shopdb_tests::{set_mode, Sandbox};
use std::path::Path;

const SIX: [&str; 6] = ["computers", "equipment", "network", "notifications", "printers", "usb"];
const RECALLED: &str = "checks recalled from the verdict cache";

/// The cache's verdict entries.
fn entries(cache: &Path) -> Vec<std::path::PathBuf> {
    cache_files(cache).into_iter().filter(|f| !is_file_digest(f)).collect()
}

/// The cache's remembered plugin file digests.
fn file_digests(cache: &Path) -> Vec<std::path::PathBuf> {
    cache_files(cache).into_iter().filter(|f| is_file_digest(f)).collect()
}

fn is_file_digest(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("file-"))
}

fn cache_files(cache: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(cache)
        .expect("the verdict cache exists")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    files.sort();
    files
}

/// What a run leaves that does not depend on the clock: the schema and
/// each chain's history.
fn outcome(sandbox: &Sandbox) -> (Vec<String>, Vec<String>) {
    let schema = sandbox.column::<String>(
        "SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master ORDER BY type, name",
    );
    let tables = sandbox.column::<String>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'shopdb_*history*' ORDER BY name",
    );
    let mut history = Vec::new();
    for table in tables {
        let rows = sandbox.column::<String>(&format!(
            "SELECT '{table} ' || version || ' ' || name || ' ' || checksum FROM \"{table}\" ORDER BY version"
        ));
        history.extend(rows);
    }
    (schema, history)
}

/// A new sandbox with the bundled `plugins`.
fn with(plugins: &[&str]) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.install(plugins);
    sandbox
}

fn upgrade_all(sandbox: &Sandbox, cache: &Path, extra: &[&str]) -> shopdb_tests::Run {
    let mut args = vec!["upgrade-all", "-v"];
    args.extend_from_slice(extra);
    let mut command = sandbox.command(&args);
    command.env("SHOPDB_VERDICT_CACHE", cache);
    sandbox.run(command)
}

#[test]
fn a_second_database_recalls_every_plugin_and_ends_as_the_first() {
    let first = Sandbox::new();
    first.install(&SIX);
    let cache = first.verdict_cache().to_owned();
    let checked = upgrade_all(&first, &cache, &[]).succeeds();
    assert!(!checked.stderr.contains(RECALLED), "an empty cache recalls nothing\n{}", checked.report());
    assert_eq!(entries(&cache).len(), SIX.len(), "one entry per plugin that passed its checks");
    for file in entries(&cache) {
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
        assert_eq!(mode & 0o077, 0, "{} is private to its owner", file.display());
    }

    let second = with(&SIX);
    let recalled = upgrade_all(&second, &cache, &[]).succeeds();
    for plugin in SIX {
        assert!(
            recalled.stderr.contains(&format!("{plugin}: {RECALLED}")),
            "{plugin} is judged from the cache\n{}",
            recalled.report()
        );
    }
    for ran in ["scratch checks in", "chain checked in", "DDL checked in"] {
        assert!(!recalled.stderr.contains(ran), "no SQL runs in a scratch database\n{}", recalled.report());
    }
    assert_eq!(outcome(&second), outcome(&first), "the same schema and history as a run that checked everything");
    assert_eq!(entries(&cache).len(), SIX.len(), "nothing new to remember");
}

#[test]
fn recheck_runs_every_check_again() {
    let first = Sandbox::new();
    first.install(&["computers", "usb"]);
    let cache = first.verdict_cache().to_owned();
    upgrade_all(&first, &cache, &[]).succeeds();

    let second = with(&["computers", "usb"]);
    let rechecked = upgrade_all(&second, &cache, &["--recheck"]).succeeds();
    assert!(!rechecked.stderr.contains(RECALLED), "--recheck recalls nothing\n{}", rechecked.report());
    assert!(rechecked.stderr.contains("usb: scratch checks in"), "{}", rechecked.report());
    assert_eq!(outcome(&second), outcome(&first));
}

#[test]
fn a_damaged_entry_is_checked_again_and_written_anew() {
    let first = Sandbox::new();
    first.install(&["computers"]);
    let cache = first.verdict_cache().to_owned();
    upgrade_all(&first, &cache, &[]).succeeds();
    let [entry] = entries(&cache).try_into().expect("one entry");
    let good = std::fs::read(&entry).unwrap();
    std::fs::write(&entry, &good[..good.len() / 2]).unwrap();

    let second = with(&["computers"]);
    let run = upgrade_all(&second, &cache, &[]).succeeds();
    assert!(run.stderr.contains("unusable; checking again"), "{}", run.report());
    assert!(!run.stderr.contains(RECALLED), "{}", run.report());
    assert_eq!(outcome(&second), outcome(&first));
    let rewritten: Value = serde_json::from_slice(&std::fs::read(&entry).unwrap()).expect("a whole entry again");
    assert_eq!(rewritten["plugin"], "computers");

    // An entry claiming another plugin's name is not taken either.
    let mut forged = rewritten.clone();
    forged["plugin"] = json!("printers");
    std::fs::write(&entry, serde_json::to_vec(&forged).unwrap()).unwrap();
    let third = with(&["computers"]);
    let run = upgrade_all(&third, &cache, &[]).succeeds();
    assert!(!run.stderr.contains(RECALLED), "{}", run.report());
}

#[test]
fn a_cache_others_can_write_is_not_used_and_the_run_succeeds() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    let cache = sandbox.path().join("shared-verdicts");
    std::fs::create_dir(&cache).unwrap();
    set_mode(&cache, 0o777);
    let run = upgrade_all(&sandbox, &cache, &[]).succeeds().stderr_has("not using the verdict cache");
    assert!(run.stderr.contains("shared-verdicts"), "the warning names the directory\n{}", run.report());
    assert!(entries(&cache).is_empty(), "nothing written to an untrusted cache");
    assert_eq!(sandbox.column::<i64>("SELECT count(*) FROM shopdb_history_computers"), vec![3]);
}

#[test]
fn none_turns_the_cache_off() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    let mut command = sandbox.command(&["upgrade-all", "--verdict-cache", "none"]);
    command.env_remove("SHOPDB_VERDICT_CACHE").env("HOME", sandbox.path()).env("XDG_CACHE_HOME", sandbox.path());
    sandbox.run(command).succeeds();
    assert!(!sandbox.path().join("shopdb-host").exists(), "no default cache made");
    assert!(entries(sandbox.verdict_cache()).is_empty());

    // Without the flag, the default is $XDG_CACHE_HOME/shopdb-host/verdicts.
    let other = Sandbox::new();
    other.install(&["computers"]);
    let mut command = other.command(&["upgrade-all"]);
    command.env_remove("SHOPDB_VERDICT_CACHE").env("XDG_CACHE_HOME", other.path());
    other.run(command).succeeds();
    assert_eq!(entries(&other.path().join("shopdb-host/verdicts")).len(), 1);
}

fn gizmos(second_migration: &str) -> Value {
    json!({
        "name": "gizmos",
        "tables": ["gizmos"],
        "depends_on": [],
        "ddl": "CREATE TABLE gizmos (id INTEGER PRIMARY KEY, label TEXT);",
        "migrations": [
            [1, "baseline", "CREATE TABLE gizmos (id INTEGER PRIMARY KEY);"],
            [2, "label", second_migration],
        ],
    })
}

#[test]
fn a_changed_plugin_file_is_checked_again_and_refused_when_wrong() {
    let first = Sandbox::new();
    first.install_scripted("gizmos", gizmos("ALTER TABLE gizmos ADD COLUMN label TEXT;"));
    let cache = first.verdict_cache().to_owned();
    upgrade_all(&first, &cache, &[]).succeeds();
    assert_eq!(entries(&cache).len(), 1);

    // The same name, a chain that no longer builds the DDL's schema.
    let second = Sandbox::new();
    second.install_scripted("gizmos", gizmos("ALTER TABLE gizmos ADD COLUMN name TEXT;"));
    let refused = upgrade_all(&second, &cache, &["--json"]).exits(1);
    assert!(
        !refused.stderr.contains(RECALLED),
        "another file is not judged from the first's checks\n{}",
        refused.report()
    );
    let reason = |run: &shopdb_tests::Run| {
        shopdb_tests::chain(&run.json(), "gizmos")["reason"].as_str().unwrap_or_default().to_owned()
    };
    let first_reason = reason(&refused);
    assert!(first_reason.contains("label"), "the chain and the DDL disagree on `label`\n{}", refused.report());
    let applied = second.column::<i64>("SELECT count(*) FROM sqlite_master WHERE name GLOB '*gizmos*'");
    assert_eq!(applied, vec![0], "the refused plugin wrote nothing");

    // Its halves passed on their own and are remembered; judged from the
    // cache, the disagreement is refused again, in the same words.
    assert_eq!(entries(&cache).len(), 2);
    let again = upgrade_all(&second, &cache, &["--json"]).exits(1);
    assert!(again.stderr.contains(&format!("gizmos: {RECALLED}")), "{}", again.report());
    assert_eq!(reason(&again), first_reason);

    // A cache does not stand in for the database's records: a file whose
    // remembered checks passed is refused where its table belongs to a
    // plugin that is no longer in the plugins directory.
    let mut legacy = gizmos("ALTER TABLE gizmos ADD COLUMN label TEXT;");
    legacy["name"] = json!("legacy");
    let third = Sandbox::new();
    third.install_scripted("legacy", legacy);
    upgrade_all(&third, &cache, &[]).succeeds();
    std::fs::remove_file(third.plugins_dir().join(format!(
        "{}legacy{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )))
    .unwrap();
    third.install_scripted("gizmos", gizmos("ALTER TABLE gizmos ADD COLUMN label TEXT;"));
    let before = third.snapshot();
    let run = upgrade_all(&third, &cache, &["--json"]).exits(1);
    assert!(reason(&run).contains("claims table `gizmos`, which belongs to plugin 'legacy'"), "{}", run.report());
    assert_eq!(third.snapshot(), before, "nothing written");
}

/// The `file_sha256` of each plugin's `applied` audit entry.
fn audited_digests(sandbox: &Sandbox) -> Vec<(String, String)> {
    let history = sandbox.host(&["history", "--json"]).succeeds().json();
    let mut digests: Vec<(String, String)> = history["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["outcome"] == "applied" && e["plugin"] != "core")
        .map(|e| (e["plugin"].as_str().unwrap().to_owned(), e["file_sha256"].as_str().unwrap().to_owned()))
        .collect();
    digests.sort();
    digests
}

/// A new database brought up to date from the plugins in `plugins_dir`.
fn fresh_database(plugins_dir: &Path, cache: &Path) -> Sandbox {
    let sandbox = Sandbox::new();
    let mut command = sandbox.command(&["upgrade-all"]);
    command.env("SHOPDB_PLUGINS_DIR", plugins_dir).env("SHOPDB_VERDICT_CACHE", cache);
    sandbox.run(command).succeeds();
    sandbox
}

#[test]
fn an_unchanged_plugin_file_is_not_read_again_for_its_digest_and_a_changed_one_is() {
    let first = with(&["computers", "usb"]);
    let (plugins, cache) = (first.plugins_dir(), first.verdict_cache().to_owned());
    let file = |plugin: &str| plugins.join(format!("libshopdb_plugin_{plugin}.so"));
    let real: Vec<(String, String)> = ["computers", "usb"]
        .iter()
        .map(|p| (p.to_string(), shopdb_host::plugins::trust::open(&file(p)).unwrap().sha256().unwrap()))
        .collect();
    upgrade_all(&first, &cache, &[]).succeeds();
    assert_eq!(audited_digests(&first), real);

    // Once the files have settled, a run remembers their digests.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(audited_digests(&fresh_database(&plugins, &cache)), real);
    let remembered = file_digests(&cache);
    assert_eq!(remembered.len(), 2, "{remembered:?}");

    // A run on another database takes the remembered digest instead of
    // reading the file: a planted one shows up in its audit record.
    let planted = "ab".repeat(32);
    for entry in &remembered {
        let mut value: serde_json::Value = serde_json::from_slice(&std::fs::read(entry).unwrap()).unwrap();
        value["sha256"] = planted.clone().into();
        std::fs::write(entry, value.to_string()).unwrap();
    }
    let audited = audited_digests(&fresh_database(&plugins, &cache));
    assert_eq!(audited, [("computers".to_owned(), planted.clone()), ("usb".to_owned(), planted.clone())]);

    // A file written since is read again, whatever is remembered.
    std::fs::write(file("usb"), std::fs::read(file("usb")).unwrap()).unwrap();
    let audited = audited_digests(&fresh_database(&plugins, &cache));
    assert_eq!(audited, [("computers".to_owned(), planted), real[1].clone()], "the rewritten file is read");
}
