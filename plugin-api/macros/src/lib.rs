//! Compile-time embedding of a plugin's migration chain.
//!
//! refinery's `embed_migrations!` embeds the files but leaves their names to
//! be parsed at run time, with a regular expression compiled on first use in
//! every library that calls it. In a plugin that meant the `regex` crates in
//! every `.so` (most of its code) and a compile on every load.
//! [`embed_chain!`] finds and names the files with the same refinery
//! functions `embed_migrations!` uses ([`refinery_core::find_migration_files`],
//! [`refinery_core::parse_migration_name`]), but while the plugin is being
//! compiled, so the plugin carries only `(version, name, SQL)` constants.

use proc_macro::TokenStream;
use quote::quote;
use refinery_core::{find_migration_files, parse_migration_name, MigrationType};
use std::path::{Path, PathBuf};
use syn::{parse_macro_input, LitStr};

/// `embed_chain!("migrations")`: the chain in that directory (relative to
/// the crate's root), as a `&'static [(i64, &'static str, &'static str)]` of
/// version, name and SQL in file-name order. Every file refinery would pick
/// up is embedded with `include_str!`, so editing one rebuilds the plugin.
/// Files refinery would take but a plugin cannot hand over (Rust
/// migrations, unversioned `U` migrations) stop the build with a message.
#[proc_macro]
pub fn embed_chain(input: TokenStream) -> TokenStream {
    let location = parse_macro_input!(input as LitStr);
    let root = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default();
    match chain(&root.join(location.value())) {
        Ok(records) => {
            let records = records.iter().map(|(version, name, path)| {
                let path = path.display().to_string();
                quote! { (#version, #name, include_str!(#path)) }
            });
            quote! { &[#(#records),*] }.into()
        }
        Err(message) => syn::Error::new(location.span(), message).to_compile_error().into(),
    }
}

/// `embed_engine!("postgres")`: the plugin's SQL for another database
/// engine, when it ships some: `Some((ddl, chain))` from `postgres/schema.sql`
/// and `postgres/migrations/` (relative to the crate's root), or `None` when
/// the plugin has neither. Having one without the other stops the build, and
/// so does a file in that `migrations/` that is not a migration.
#[proc_macro]
pub fn embed_engine(input: TokenStream) -> TokenStream {
    let engine = parse_macro_input!(input as LitStr);
    let root = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default();
    let dir = root.join(engine.value());
    let (schema, migrations) = (dir.join("schema.sql"), dir.join("migrations"));
    match (schema.is_file(), migrations.is_dir()) {
        (false, false) => quote! { ::core::option::Option::None }.into(),
        (true, true) => match chain(&migrations) {
            Ok(records) => {
                let schema = schema.display().to_string();
                let records = records.iter().map(|(version, name, path)| {
                    let path = path.display().to_string();
                    quote! { (#version, #name, include_str!(#path)) }
                });
                quote! { ::core::option::Option::Some((include_str!(#schema), &[#(#records),*] as &[(i64, &str, &str)])) }
                    .into()
            }
            Err(message) => syn::Error::new(engine.span(), message).to_compile_error().into(),
        },
        (has_schema, _) => {
            let (have, lack) = if has_schema { (&schema, &migrations) } else { (&migrations, &schema) };
            let message = format!(
                "`{}` exists but `{}` does not: a plugin's SQL for {} is its schema.sql and its migrations/ together",
                have.display(),
                lack.display(),
                engine.value()
            );
            syn::Error::new(engine.span(), message).to_compile_error().into()
        }
    }
}

/// The naming rule, as the refusal states it (docs/PLUGINS.md says the same).
const RULE: &str = "a migration is a file named V<version>__<name>.sql, where <version> is a whole number from 1 \
                    and <name> is letters, digits and _ (no hyphens, no dots, no spaces)";

/// `(version, name, file)` of each migration under `dir`, or why the
/// directory cannot be a plugin's chain. Every file under it must be a
/// migration (files whose name starts with `.` aside): refinery silently
/// skips a file whose name it does not accept, and a chain with a hole
/// would build and fail later with an unrelated error.
fn chain(dir: &Path) -> Result<Vec<(i64, String, PathBuf)>, String> {
    let files = find_migration_files(dir, MigrationType::All)
        .map_err(|e| format!("cannot read the migrations directory `{}`: {e}", dir.display()))?;
    let files: Vec<PathBuf> = files.collect();
    let mut strays: Vec<String> = Vec::new();
    every_file(dir, &mut |path| {
        let hidden = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
        let taken = files.iter().any(|f| f.canonicalize().ok() == path.canonicalize().ok());
        if !hidden && !taken {
            strays.push(format!("`{}`", path.display()));
        }
    })
    .map_err(|e| format!("cannot read the migrations directory `{}`: {e}", dir.display()))?;
    if !strays.is_empty() {
        strays.sort();
        return Err(format!(
            "{} in `{}` {} not a migration, so the chain would silently lack {}: {RULE}; rename {}, or move {} out of \
             the directory",
            strays.join(", "),
            dir.display(),
            if strays.len() == 1 { "is" } else { "are" },
            if strays.len() == 1 { "it" } else { "them" },
            if strays.len() == 1 { "it" } else { "them" },
            if strays.len() == 1 { "it" } else { "them" },
        ));
    }
    let mut records = Vec::new();
    for file in files {
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        if file.extension().is_some_and(|e| e == "rs") {
            return Err(format!(
                "`{}`: a plugin's migrations are SQL files (V<n>__<name>.sql); the host runs SQL, not Rust",
                file.display()
            ));
        }
        let (kind, version, name) = parse_migration_name(stem)
            .map_err(|e| format!("`{}`: not a refinery migration name ({e}): {RULE}", file.display()))?;
        // refinery's migration type is not nameable outside it; it displays as its prefix.
        if kind.to_string() != "V" {
            return Err(format!(
                "`{}`: unversioned (U) migrations are not supported: a plugin's chain is versioned; rename it V<n>__{name}.sql",
                file.display()
            ));
        }
        records.push((i64::from(version), name, file));
    }
    Ok(records)
}

/// Calls `visit` with every file under `dir`, at any depth (refinery looks
/// that deep too).
fn every_file(dir: &Path, visit: &mut dyn FnMut(&Path)) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            every_file(&path, visit)?;
        } else {
            visit(&path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::chain;
    use std::path::Path;

    fn dir_with(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temporary directory");
        for file in files {
            std::fs::write(dir.path().join(file), "SELECT 1;").expect("a migration file");
        }
        dir
    }

    fn versions_and_names(dir: &Path) -> Vec<(i64, String)> {
        chain(dir).expect("a chain").into_iter().map(|(v, n, _)| (v, n)).collect()
    }

    #[test]
    fn versioned_sql_files_become_the_chain_and_hidden_files_are_ignored() {
        let dir = dir_with(&["V1__baseline.sql", "V2__add_toner.sql", "V10__later.sql", ".gitkeep"]);
        // File-name order ("V10__" sorts before "V1__"), as refinery embeds them;
        // the description sorts by version.
        let expected = vec![(10, "later".into()), (1, "baseline".into()), (2, "add_toner".into())];
        assert_eq!(versions_and_names(dir.path()), expected);
    }

    #[test]
    fn rust_and_unversioned_migrations_are_refused_by_name() {
        let rust = dir_with(&["V1__baseline.sql", "V2__compute.rs"]);
        let error = chain(rust.path()).expect_err("a Rust migration");
        assert!(error.contains("V2__compute.rs") && error.contains("SQL"), "{error}");

        let unversioned = dir_with(&["V1__baseline.sql", "U2__anytime.sql"]);
        let error = chain(unversioned.path()).expect_err("an unversioned migration");
        assert!(error.contains("U2__anytime.sql") && error.contains("V<n>__anytime.sql"), "{error}");
    }

    #[test]
    fn every_file_that_is_not_a_migration_stops_the_build_by_name_with_the_rule() {
        let dir = dir_with(&["V1__baseline.sql", "V2__create-events.sql", "V3__init.up.sql", "README.md"]);
        std::fs::create_dir(dir.path().join("old")).expect("a subdirectory");
        std::fs::write(dir.path().join("old/V4 spaced.sql"), "").expect("a file");
        let error = chain(dir.path()).expect_err("a chain with holes");
        for stray in ["V2__create-events.sql`", "V3__init.up.sql`", "README.md`", "old/V4 spaced.sql`"] {
            assert!(error.contains(stray), "{stray} not named: {error}");
        }
        assert!(!error.contains("V1__baseline"), "{error}");
        assert!(error.contains("V<version>__<name>.sql") && error.contains("no hyphens, no dots"), "{error}");
    }

    #[test]
    fn a_missing_directory_is_named() {
        let dir = dir_with(&[]);
        let missing = dir.path().join("migrations");
        let error = chain(&missing).expect_err("no directory");
        assert!(error.contains(&missing.display().to_string()), "{error}");
    }
}
