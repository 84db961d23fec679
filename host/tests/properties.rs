//! Property tests: whatever a plugin hands over, the host's validation, SQL
//! lexing and schema comparison answer without panicking, and what they
//! accept keeps their promises.

use plugin_api::{MigrationRecord, PluginDescription};
use proptest::prelude::*;
use rusqlite::Connection;
use shopdb_host::plugins::manifest::{is_valid_plugin_name, is_valid_table_name, Manifest};

use shopdb_host::schema::sqltext::{normalize, tokenize};

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9_]{0,8}",
        ".{0,20}",
        Just(String::new()),
        Just("shopdb_history_x".to_owned()),
        Just("Bad-Name".to_owned()),
        "[a-z_]{60,70}",
    ]
}

proptest! {
    // No failure files in the source tree: a failing case is printed.
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_description_is_validated_without_panicking_and_what_passes_is_sound(
        name in any_text(),
        tables in prop::collection::vec(any_text(), 0..5),
        depends_on in prop::collection::vec(any_text(), 0..3),
        migrations in prop::collection::vec((-3i64..6, any_text(), ".{0,30}"), 0..6),
        requires_format in 0u32..4,
        extensions in prop_oneof![Just(String::new()), Just("{}".to_owned()), ".{0,10}"],
    ) {
        let table_refs: Vec<&str> = tables.iter().map(String::as_str).collect();
        let dep_refs: Vec<&str> = depends_on.iter().map(String::as_str).collect();
        let records = migrations.iter().map(|(v, n, sql)| MigrationRecord::new(*v, n, sql));
        let mut description = PluginDescription::new(&name, "1.0.0", "s", &table_refs, &dep_refs, "", records);
        description.requires_format = requires_format;
        description.extensions = extensions.as_str().into();
        if let Ok(manifest) = Manifest::try_from(&description) {
            prop_assert!(is_valid_plugin_name(&manifest.name));
            prop_assert!(!manifest.tables.is_empty());
            prop_assert!(manifest.tables.iter().all(|t| is_valid_table_name(t) && !t.starts_with("shopdb_")));
            prop_assert!(!manifest.depends_on.contains(&manifest.name));
            prop_assert!(!manifest.chain.is_empty());
            prop_assert!(manifest.chain.windows(2).all(|w| w[0].version < w[1].version));
            prop_assert!(manifest.chain[0].version >= 1);
            for migration in &manifest.chain {
                let refinery = migration.to_refinery();
                prop_assert_eq!((refinery.version(), refinery.name()), (migration.version, migration.name.as_str()));
            }
        }
    }

    #[test]
    fn every_well_formed_description_is_accepted_as_given(
        name in "[a-oq-z][a-z0-9_]{0,20}",
        tables in prop::collection::btree_set("[a-oq-z][a-z0-9_]{0,20}", 1..6),
        steps in prop::collection::vec((1i64..50, "[A-Za-z0-9_]{1,20}", ".{0,30}"), 1..6),
    ) {
        // `p…` names are left out so that none starts with `pg_`; names
        // starting with `shopdb` or `sqlite_`, and `core`, cannot come out.
        prop_assume!(name != "core" && !name.starts_with("shopdb") && !name.starts_with("sqlite_"));
        prop_assume!(tables.iter().all(|t| !t.starts_with("shopdb_") && !t.starts_with("sqlite_")));
        let mut version = 0;
        let chain: Vec<(i64, String, String)> =
            steps.into_iter().map(|(step, name, sql)| { version += step; (version, name, sql) }).collect();
        let table_refs: Vec<&str> = tables.iter().map(String::as_str).collect();
        let records = chain.iter().map(|(v, n, sql)| MigrationRecord::new(*v, n, sql));
        let description = PluginDescription::new(&name, "1.0.0", "s", &table_refs, &[], "", records);
        let manifest = Manifest::try_from(&description);
        prop_assert!(manifest.is_ok(), "refused: {:?}", manifest.err());
        let manifest = manifest.unwrap();
        prop_assert_eq!(&manifest.name, &name);
        prop_assert_eq!(manifest.tables.iter().cloned().collect::<std::collections::BTreeSet<_>>(), tables);
        let got: Vec<(i64, String, String)> =
            manifest.chain.iter().map(|m| (i64::from(m.version), m.name.clone(), m.sql.clone())).collect();
        prop_assert_eq!(got, chain);
    }

    #[test]
    fn a_description_with_one_defect_is_refused_for_it(
        defect in 0usize..6,
        noise in "[a-z]{1,8}",
    ) {
        let mut name = "gizmos".to_owned();
        let mut tables = vec!["gizmos".to_owned()];
        let mut chain = [(1i64, "baseline".to_owned()), (2, "more".to_owned())];
        let expected = match defect {
            0 => { name = format!("Bad-{noise}"); "invalid plugin name" }
            1 => { tables.push(tables[0].clone()); "twice" }
            2 => { chain[1].0 = 1; "versions must be unique and increasing" }
            3 => { chain[1].1 = format!("{noise}-{noise}"); "names are letters, digits and _" }
            4 => { tables[0] = format!("shopdb_{noise}"); "belong to the host" }
            _ => { name = format!("pg_{noise}"); "is reserved" }
        };
        let table_refs: Vec<&str> = tables.iter().map(String::as_str).collect();
        let records = chain.iter().map(|(v, n)| MigrationRecord::new(*v, n, "SELECT 1"));
        let description = PluginDescription::new(&name, "1.0.0", "s", &table_refs, &[], "", records);
        match Manifest::try_from(&description) {
            Ok(_) => prop_assert!(false, "defect {} was accepted", defect),
            Err(e) => prop_assert!(e.to_string().contains(expected), "defect {}: {}", defect, e),
        }
    }

    #[test]
    fn every_migration_the_host_accepts_is_the_one_refinery_would_make_of_its_label(
        version in prop_oneof![1i64..20, Just(i64::from(i32::MAX)), 1i64..=i64::from(i32::MAX)],
        name in prop_oneof!["[A-Za-z0-9_]{1,30}", "[0-9_]{1,5}", Just("_".to_owned())],
        sql in prop_oneof![Just("SELECT 1".to_owned()), Just(String::new()), ".{0,80}"],
    ) {
        let records = [MigrationRecord::new(version, &name, &sql)];
        let description = PluginDescription::new("p", "1.0.0", "s", &["p_items"], &[], "", records);
        let manifest = Manifest::try_from(&description).expect("a valid version and name");
        let host = manifest.chain[0].to_refinery();
        let label = format!("V{version}__{name}");
        let refinery = refinery::Migration::unapplied(&label, &sql).expect("refinery takes the label");
        prop_assert_eq!(host.version(), refinery.version());
        prop_assert_eq!(host.name(), refinery.name());
        prop_assert_eq!(host.checksum(), refinery.checksum());
        prop_assert_eq!(manifest.chain[0].checksum(), refinery.checksum());
        prop_assert_eq!(host.sql(), refinery.sql());
        prop_assert!(host.prefix() == refinery.prefix());
        prop_assert_eq!(host.applied_on(), refinery.applied_on());
        prop_assert_eq!(host.to_string(), refinery.to_string());
    }

    #[test]
    fn any_text_lexes_and_normalizes_without_panicking(sql in ".{0,200}") {
        let tokens = tokenize(&sql);
        let _ = normalize(&sql);
        prop_assert!(tokens.len() <= sql.chars().count());
    }

    #[test]
    fn schemas_compare_equal_exactly_when_their_structure_is_equal(
        columns in prop::collection::vec(
            (
                "[a-z]{1,6}",
                prop_oneof![Just("INTEGER"), Just("TEXT"), Just("REAL"), Just("BLOB"), Just("")],
                any::<bool>(),
                prop_oneof![Just(None), Just(Some("0")), Just(Some("'x'"))],
                any::<bool>(),
            ),
            1..6,
        ),
        other_type in prop_oneof![Just("INTEGER"), Just("TEXT")],
    ) {
        let mut seen = std::collections::BTreeSet::new();
        let columns: Vec<_> = columns.into_iter().filter(|c| seen.insert(c.0.clone())).collect();
        let render = |first_type: &str| {
            let defs: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(i, (name, ty, not_null, default, check))| {
                    let ty = if i == 0 { first_type } else { ty };
                    let mut def = format!("\"{name}\" {ty}");
                    if *not_null { def.push_str(" NOT NULL"); }
                    if let Some(d) = default { def.push_str(&format!(" DEFAULT {d}")); }
                    if *check { def.push_str(&format!(" CHECK (length(\"{name}\") > 0)")); }
                    def
                })
                .collect();
            format!("CREATE TABLE t ({})", defs.join(", "))
        };
        let read = |sql: &str| {
            let conn = Connection::open_in_memory().unwrap();
            conn.execute_batch(sql).unwrap();
            shopdb_host::engine::sqlite::schema::read(&conn, |_| true).unwrap()
        };
        let first_type = columns[0].1;
        let a = read(&render(first_type));
        let same = read(&render(first_type).to_lowercase().replace("create table t", "CREATE TABLE \"T\""));
        prop_assert_eq!(a.diff("a", &same, "b"), Vec::<String>::new());
        let b = read(&render(other_type));
        prop_assert_eq!(a.diff("a", &b, "b").is_empty(), a == b);
        prop_assert_eq!(a == b, first_type.eq_ignore_ascii_case(other_type));
    }
}
