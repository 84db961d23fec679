//! Only code the operator put there, and pinned, gets loaded; every change
//! is on record. The `init-marker` fixture writes a file from its
//! initialiser (which runs inside dlopen, before any check): no marker file
//! means none of its code ran.

use serde_json::json;
use shopdb_tests::{bundled, chain, fixture, Sandbox};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn lib(stem: &str) -> String {
    format!("{}{stem}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX)
}

fn marker_file(sandbox: &Sandbox) -> PathBuf {
    sandbox.path().join("marker-ran")
}

fn with_marker(sandbox: &Sandbox, args: &[&str]) -> Command {
    let mut command = sandbox.command(args);
    command.env("SHOPDB_TEST_MARKER", marker_file(sandbox));
    command
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn installed_marker(sandbox: &Sandbox) -> PathBuf {
    sandbox.install_fixture("init-marker");
    sandbox.plugins_dir().join(lib("fixture_init_marker"))
}

/// The refusal of `file` in a `list --json` run.
fn refusal_of(sandbox: &Sandbox, file: &str) -> String {
    let run = sandbox.run(with_marker(sandbox, &["list", "--json"])).succeeds();
    let listed = run.json();
    let refused = listed["refused"].as_array().unwrap();
    let entry = refused.iter().find(|r| r["file"].as_str().unwrap().ends_with(file));
    entry.unwrap_or_else(|| panic!("{file} was not refused\n{}", run.report()))["reason"].as_str().unwrap().to_owned()
}

#[test]
fn the_marker_fixture_leaves_its_mark_when_it_is_loaded() {
    // Without this, the other tests' "no marker" would prove nothing.
    let sandbox = Sandbox::new();
    installed_marker(&sandbox);
    sandbox.run(with_marker(&sandbox, &["list"])).succeeds().stdout_has("marker");
    assert!(marker_file(&sandbox).exists());
}

#[test]
fn a_plugin_file_others_can_write_is_refused_before_loading() {
    for (mode, who) in [(0o664, "writable by its group"), (0o646, "writable by others")] {
        let sandbox = Sandbox::new();
        let file = installed_marker(&sandbox);
        chmod(&file, mode);
        let reason = refusal_of(&sandbox, &lib("fixture_init_marker"));
        assert!(reason.contains(who) && reason.contains(&format!("chmod go-w {}", file.display())), "{reason}");
        assert!(!marker_file(&sandbox).exists(), "the refused plugin's code ran");
    }
}

#[test]
fn a_plugins_directory_others_can_write_is_refused_with_the_fix() {
    let sandbox = Sandbox::new();
    installed_marker(&sandbox);
    chmod(&sandbox.plugins_dir(), 0o777);
    let run = sandbox.run(with_marker(&sandbox, &["upgrade-all"])).exits(2);
    assert!(
        run.stderr.contains("plugins directory not trusted") && run.stderr.contains("chmod go-w"),
        "{}",
        run.report()
    );
    assert!(!marker_file(&sandbox).exists());
    assert!(!sandbox.database().exists());
}

#[test]
fn a_plugin_file_owned_by_another_user_is_refused() {
    if !shopdb_tests::running_as_root("giving a file to another user needs root") {
        return;
    }
    let sandbox = Sandbox::new();
    let file = installed_marker(&sandbox);
    std::os::unix::fs::chown(&file, Some(4242), Some(4242)).unwrap();
    let reason = refusal_of(&sandbox, &lib("fixture_init_marker"));
    assert!(reason.contains("owned by uid 4242") && reason.contains("chown root"), "{reason}");
    assert!(!marker_file(&sandbox).exists());
}

#[test]
fn a_symlink_is_followed_only_to_a_file_that_passes_the_checks() {
    let sandbox = Sandbox::new();
    let elsewhere = sandbox.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    chmod(&elsewhere, 0o755);
    let target = elsewhere.join(lib("fixture_init_marker"));
    std::fs::copy(fixture("init-marker"), &target).unwrap();
    let link = sandbox.plugins_dir().join(lib("linked"));
    std::os::unix::fs::symlink(&target, &link).unwrap();

    chmod(&target, 0o666);
    let reason = refusal_of(&sandbox, &lib("linked"));
    assert!(reason.contains(&target.display().to_string()) && reason.contains("writable"), "{reason}");
    assert!(!marker_file(&sandbox).exists());

    chmod(&target, 0o644);
    chmod(&elsewhere, 0o777);
    let reason = refusal_of(&sandbox, &lib("linked"));
    assert!(reason.contains(&elsewhere.display().to_string()), "the target's directory is checked too: {reason}");
    assert!(!marker_file(&sandbox).exists());

    chmod(&elsewhere, 0o755);
    sandbox.run(with_marker(&sandbox, &["upgrade-all"])).succeeds().stdout_has("marker");
}

#[test]
fn with_a_lock_file_an_unpinned_file_is_refused_before_loading() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]);
    let lock = sandbox.host(&["lock", "--json"]).succeeds().json();
    assert_eq!(lock["plugins"][0]["plugin"], "computers");
    assert!(sandbox.path().join("plugins.lock").exists(), "plugins.lock is written next to the plugins directory");

    installed_marker(&sandbox);
    let reason = refusal_of(&sandbox, &lib("fixture_init_marker"));
    assert!(reason.contains("not pinned in plugins.lock") && reason.contains("shopdb-host lock"), "{reason}");
    assert!(!marker_file(&sandbox).exists(), "an unpinned plugin's code ran");
    let report = sandbox.run(with_marker(&sandbox, &["upgrade-all", "--json"])).exits(1).json();
    assert_eq!(chain(&report, "computers")["status"], "applied", "pinned plugins still apply");
}

#[test]
fn a_pinned_file_changed_by_one_byte_is_refused() {
    let sandbox = Sandbox::new();
    let file = installed_marker(&sandbox);
    sandbox.run(with_marker(&sandbox, &["lock"])).succeeds();
    std::fs::remove_file(marker_file(&sandbox)).unwrap(); // pinning loaded it
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();
    let reason = refusal_of(&sandbox, &lib("fixture_init_marker"));
    assert!(reason.contains("changed since it was pinned") && reason.matches("sha256").count() >= 1, "{reason}");
    assert!(!marker_file(&sandbox).exists());
    sandbox.host(&["lock", "--check"]).exits(1).stdout_has("changed since it was pinned");
}

#[test]
fn a_pinned_plugin_that_is_missing_is_reported() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers", "usb"]);
    sandbox.host(&["lock"]).succeeds();
    sandbox.host(&["lock", "--check"]).succeeds().stdout_has("matches");
    let usb = bundled("usb").file_name().unwrap().to_string_lossy().into_owned();
    sandbox.uninstall_file(&usb);
    let reason = refusal_of(&sandbox, &usb);
    assert!(reason.contains("pinned in plugins.lock") && reason.contains("missing"), "{reason}");
    sandbox.host(&["upgrade-all"]).exits(1);
    let before = std::fs::read(sandbox.path().join("plugins.lock")).unwrap();
    sandbox.host(&["lock", "--check"]).exits(1).stdout_has("missing from the plugins directory");
    assert_eq!(std::fs::read(sandbox.path().join("plugins.lock")).unwrap(), before, "--check wrote the lock file");
}

#[test]
fn locked_without_a_lock_file_refuses_to_load_anything() {
    let sandbox = Sandbox::new();
    installed_marker(&sandbox);
    sandbox.run(with_marker(&sandbox, &["upgrade-all", "--locked"])).exits(2).stderr_has("--locked was given but");
    assert!(!marker_file(&sandbox).exists());
}

#[test]
fn the_code_loaded_is_the_file_that_was_checked_even_if_the_name_is_swapped() {
    let sandbox = Sandbox::new();
    let path = sandbox.plugins_dir().join(lib("swapped"));
    std::fs::copy(bundled("computers"), &path).unwrap();
    chmod(&path, 0o755);
    let opened = shopdb_host::plugins::trust::open(&path).unwrap();
    // Between the check and the load, the name is pointed at other code.
    let replacement = sandbox.plugins_dir().join("replacement.tmp");
    std::fs::copy(fixture("init-marker"), &replacement).unwrap();
    std::fs::rename(&replacement, &path).unwrap();
    std::env::set_var("SHOPDB_TEST_MARKER", marker_file(&sandbox));
    let plugin = shopdb_host::plugins::load::load_opened(opened).unwrap();
    assert_eq!(plugin.manifest.name, "computers", "the checked file is what was loaded");
    assert!(!marker_file(&sandbox).exists(), "the swapped-in code ran");
}

#[test]
fn every_schema_change_is_on_record_with_who_what_and_how_it_ended() {
    let sandbox = Sandbox::new();
    sandbox.install(&["computers"]).install_fixture("midchain-failure");
    sandbox.install_scripted(
        "gizmos",
        json!({"name": "gizmos", "tables": ["gizmos"], "ddl": "CREATE TABLE gizmos (id INTEGER);",
               "migrations": [[1, "baseline", "CREATE TABLE gizmos (id INTEGER); DROP TABLE computers;"]]}),
    );
    sandbox.host(&["migrate", "--plugin", "flaky", "--target", "1"]).succeeds();
    sandbox.open_db().execute_batch("INSERT INTO flaky_parts (code) VALUES ('A'), ('A')").unwrap();
    sandbox.host(&["upgrade-all"]).exits(1);

    let history = sandbox.host(&["history", "--json"]).succeeds().json();
    let entries = history["entries"].as_array().unwrap();
    let find = |plugin: &str, outcome: &str| {
        entries
            .iter()
            .find(|e| e["plugin"] == plugin && e["outcome"] == outcome)
            .unwrap_or_else(|| panic!("{history:#}"))
    };
    let computers = find("computers", "applied");
    assert_eq!(computers["to_version"], 3);
    let sha = computers["file_sha256"].as_str().unwrap();
    let expected =
        shopdb_host::plugins::trust::open(&sandbox.plugins_dir().join(bundled("computers").file_name().unwrap()))
            .unwrap()
            .sha256()
            .unwrap();
    assert_eq!(sha, expected);
    assert!(computers["command"].as_str().unwrap().ends_with("upgrade-all"), "{computers}");
    assert_eq!(computers["os_user"], shopdb_tests::os_user(), "the user running the host");
    let refused = find("gizmos", "refused");
    assert!(refused["reason"].as_str().unwrap().contains("DROP TABLE `computers`"), "{refused}");
    let failed = find("flaky", "failed");
    assert_eq!((failed["from_version"].as_i64(), failed["to_version"].as_i64()), (Some(1), Some(3)));
    assert!(failed["reason"].as_str().unwrap().contains("UNIQUE constraint failed"), "{failed}");
    assert_eq!(find("flaky", "applied")["command"], "shopdb-host migrate --plugin flaky --target 1");

    let only = sandbox.host(&["history", "--plugin", "computers", "--json"]).succeeds().json();
    let only = only["entries"].as_array().unwrap();
    let expected = entries.iter().filter(|e| e["plugin"] == "computers").count();
    assert!(expected >= 1 && only.len() == expected, "{only:#?}");
    assert!(only.iter().all(|e| e["plugin"] == "computers"));
    sandbox
        .host(&["history", "--plugin", "nope"])
        .exits(2)
        .stderr_has("no entry for plugin 'nope'")
        .stderr_has("plugins on record: computers, core, flaky, gizmos");
    sandbox.host(&["history"]).succeeds().stdout_has("refused: ").stdout_has("computers");

    // Nothing changes, nothing is recorded.
    sandbox.uninstall_file(&lib("gizmos"));
    sandbox.uninstall_file(&lib("fixture_midchain_failure"));
    let count = entries.len();
    sandbox.host(&["upgrade-all"]).succeeds();
    let again = sandbox.host(&["history", "--json"]).succeeds().json();
    assert_eq!(again["entries"].as_array().unwrap().len(), count);
}
