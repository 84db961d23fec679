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
