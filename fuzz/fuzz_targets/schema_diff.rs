//! Schema comparison: `Schema::diff` (`shopdb_host::schema`).
//!
//! `check` and `adopt` decide on it whether a plugin's DDL and its chain
//! build the same thing, so it must be exact: "empty when the schemas
//! agree", and only then. Two schemas are built from the input (the second
//! most often a few edits away from the first, so that they share names);
//! whatever they hold, no panic, and:
//!
//! * `a.diff(a)` is empty;
//! * when no table has two columns of one name (no engine allows that; a
//!   column is matched by name), `a.diff(b)` is empty exactly when `a == b`,
//!   and `a.diff(b)` and `b.diff(a)` have as many lines;
//! * every line names the table, view or trigger it is about;
//! * `table_names()` is the tables and the views.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use shopdb_host::schema::{Column, ForeignKey, Index, Schema, Table};
use std::collections::{BTreeMap, BTreeSet};

/// Names from a small set, so that the two schemas share many, sometimes
/// anything.
fn name(u: &mut Unstructured) -> Result<String> {
    const NAMES: [&str; 8] = ["a", "b", "c", "id", "items", "A", "x y", "`q`"];
    if u.ratio(1, 8)? {
        return u.arbitrary();
    }
    Ok(NAMES[u.choose_index(NAMES.len())?].to_owned())
}

fn text(u: &mut Unstructured) -> Result<String> {
    const TEXTS: [&str; 8] = ["", "INTEGER", "TEXT", "x > 0", "'utc'", "nocase", "cascade", "no action"];
    if u.ratio(1, 8)? {
        return u.arbitrary();
    }
    Ok(TEXTS[u.choose_index(TEXTS.len())?].to_owned())
}

fn small(u: &mut Unstructured) -> Result<i64> {
    if u.ratio(1, 16)? {
        return u.arbitrary();
    }
    Ok(i64::from(u.int_in_range(0u8..=3)?))
}

fn column(u: &mut Unstructured) -> Result<Column> {
    Ok(Column {
        name: name(u)?,
        decl_type: text(u)?,
        not_null: u.arbitrary()?,
        default: if u.arbitrary()? { Some(text(u)?) } else { None },
        primary_key: small(u)?,
        generated: small(u)?,
        collation: if u.arbitrary()? { Some(text(u)?) } else { None },
    })
}

fn names(u: &mut Unstructured) -> Result<Vec<String>> {
    let n = u.int_in_range(0..=2)?;
    (0..n).map(|_| name(u)).collect()
}

fn foreign_key(u: &mut Unstructured) -> Result<ForeignKey> {
    Ok(ForeignKey { columns: names(u)?, table: name(u)?, references: names(u)?, on_update: text(u)?, on_delete: text(u)? })
}

fn index(u: &mut Unstructured) -> Result<Index> {
    const ORIGINS: [&str; 3] = ["c", "u", "pk"];
    Ok(Index { unique: u.arbitrary()?, origin: ORIGINS[u.choose_index(3)?].to_owned(), definition: text(u)? })
}

fn table(u: &mut Unstructured) -> Result<Table> {
    let mut t = Table::default();
    for _ in 0..u.int_in_range(0..=4)? {
        t.columns.push(column(u)?);
    }
    for _ in 0..u.int_in_range(0..=2)? {
        t.foreign_keys.insert(foreign_key(u)?);
    }
    for _ in 0..u.int_in_range(0..=2)? {
        t.indexes.insert(name(u)?, index(u)?);
    }
    for _ in 0..u.int_in_range(0..=2)? {
        t.checks.insert(text(u)?);
    }
    for _ in 0..u.int_in_range(0..=2)? {
        t.options.insert(["strict", "without rowid"][u.choose_index(2)?].to_owned());
    }
    Ok(t)
}

fn schema(u: &mut Unstructured) -> Result<Schema> {
    let mut s = Schema::default();
    for _ in 0..u.int_in_range(0..=3)? {
        s.tables.insert(name(u)?, table(u)?);
    }
    for _ in 0..u.int_in_range(0..=2)? {
        s.views.insert(name(u)?, text(u)?);
    }
    for _ in 0..u.int_in_range(0..=2)? {
        s.triggers.insert(name(u)?, text(u)?);
    }
    Ok(s)
}

/// A key of `map` picked by the input, if it has any.
fn pick<V>(u: &mut Unstructured, map: &BTreeMap<String, V>) -> Result<Option<String>> {
    if map.is_empty() {
        return Ok(None);
    }
    let i = u.choose_index(map.len())?;
    Ok(map.keys().nth(i).cloned())
}

fn toggle<T: Ord>(set: &mut BTreeSet<T>, item: T) {
    if !set.remove(&item) {
        set.insert(item);
    }
}

/// One small edit somewhere in `s` (possibly one that changes nothing).
fn edit(u: &mut Unstructured, s: &mut Schema) -> Result<()> {
    match u.int_in_range(0..=13)? {
        0 => {
            s.tables.insert(name(u)?, table(u)?);
        }
        1 => {
            if let Some(k) = pick(u, &s.tables)? {
                s.tables.remove(&k);
            }
        }
        2 => {
            s.views.insert(name(u)?, text(u)?);
        }
        3 => {
            if let Some(k) = pick(u, &s.triggers)? {
                s.triggers.remove(&k);
            } else {
                s.triggers.insert(name(u)?, text(u)?);
            }
        }
        n => {
            let Some(k) = pick(u, &s.tables)? else { return Ok(()) };
            let t = s.tables.get_mut(&k).expect("picked");
            let columns = t.columns.len();
            match n {
                4 if columns > 0 => {
                    let i = u.choose_index(columns)?;
                    t.columns[i] = column(u)?;
                }
                5 if columns > 0 => {
                    let i = u.choose_index(columns)?;
                    let c = &mut t.columns[i];
                    match u.int_in_range(0..=6)? {
                        0 => c.name = name(u)?,
                        1 => c.decl_type = text(u)?,
                        2 => c.not_null = !c.not_null,
                        3 => c.default = if u.arbitrary()? { Some(text(u)?) } else { None },
                        4 => c.primary_key = small(u)?,
                        5 => c.generated = small(u)?,
                        _ => c.collation = if u.arbitrary()? { Some(text(u)?) } else { None },
                    }
                }
                6 if columns > 1 => {
                    let (i, j) = (u.choose_index(columns)?, u.choose_index(columns)?);
                    t.columns.swap(i, j);
                }
                7 => t.columns.insert(u.int_in_range(0..=columns)?, column(u)?),
                8 if columns > 0 => {
                    t.columns.remove(u.choose_index(columns)?);
                }
                9 => toggle(&mut t.foreign_keys, foreign_key(u)?),
                10 => {
                    t.indexes.insert(name(u)?, index(u)?);
                }
                11 => toggle(&mut t.checks, text(u)?),
                12 => toggle(&mut t.options, ["strict", "without rowid"][u.choose_index(2)?].to_owned()),
                _ => {
                    if let Some(i) = pick(u, &t.indexes)? {
                        let index = t.indexes.get_mut(&i).expect("picked");
                        match u.int_in_range(0..=2)? {
                            0 => index.unique = !index.unique,
                            1 => index.origin = ["c", "u", "pk"][u.choose_index(3)?].to_owned(),
                            _ => index.definition = text(u)?,
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn schemas(data: &[u8]) -> Result<(Schema, Schema)> {
    let mut u = Unstructured::new(data);
    let a = schema(&mut u)?;
    let b = if u.ratio(1, 4)? {
        schema(&mut u)?
    } else {
        let mut b = a.clone();
        for _ in 0..u.int_in_range(0..=3)? {
            edit(&mut u, &mut b)?;
        }
        b
    };
    Ok((a, b))
}

fn unique_columns(s: &Schema) -> bool {
    s.tables.values().all(|t| {
        let names: BTreeSet<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        names.len() == t.columns.len()
    })
}

fn about<V>(line: &str, what: &str, x: &BTreeMap<String, V>, y: &BTreeMap<String, V>) -> bool {
    x.keys().chain(y.keys()).any(|n| line.starts_with(&format!("{what} `{n}`: ")))
}

fn check_lines(lines: &[String], a: &Schema, b: &Schema) {
    for line in lines {
        assert!(
            about(line, "table", &a.tables, &b.tables)
                || about(line, "view", &a.views, &b.views)
                || about(line, "trigger", &a.triggers, &b.triggers),
            "{line:?} names nothing"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok((a, b)) = schemas(data) else { return };
    assert_eq!(a.diff("ddl", &a, "chain"), Vec::<String>::new(), "{a:?}");
    assert_eq!(b.diff("ddl", &b.clone(), "chain"), Vec::<String>::new(), "{b:?}");
    let forth = a.diff("ddl", &b, "chain");
    let back = b.diff("chain", &a, "ddl");
    check_lines(&forth, &a, &b);
    check_lines(&back, &a, &b);
    if unique_columns(&a) && unique_columns(&b) {
        assert_eq!(forth.is_empty(), a == b, "{a:?}\n{b:?}\n{forth:?}");
        assert_eq!(forth.len(), back.len(), "{forth:?}\n{back:?}");
    }
    let names = a.table_names();
    let expected: BTreeSet<String> = a.tables.keys().chain(a.views.keys()).cloned().collect();
    assert_eq!(names, expected);
    serde_json::to_string(&a).expect("a schema serializes");
});
