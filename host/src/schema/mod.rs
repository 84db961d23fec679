//! A database's schema as data, and how two schemas differ.
//!
//! The host compares schemas built two ways: a plugin's DDL run at once, and
//! its migration chain run step by step (and, to adopt, a database found
//! without history). Text comparison would report differences that are not
//! there (`ALTER TABLE` splices text, a rename quotes a name), so each engine
//! reads the structure back into these types (columns, keys, foreign keys,
//! indexes, checks, collations) and the comparison is of structure. Nothing
//! here does I/O: reading a schema back is the engine's job.

pub mod names;
pub mod sqltext;

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The SQL dialect a plugin's DDL and chain are written in, one per engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// SQLite, the embedded default.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Dialect {
    /// How people name it.
    pub fn display_name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
        }
    }
}

/// The structure of a set of tables and the objects on them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// Tables by (lowercase) name.
    pub tables: BTreeMap<String, Table>,
    /// Views by name: their normalized `CREATE VIEW` text.
    pub views: BTreeMap<String, String>,
    /// Triggers by name: their normalized `CREATE TRIGGER` text.
    pub triggers: BTreeMap<String, String>,
}

/// One table's structure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Columns in declaration order (order is part of a table's shape).
    pub columns: Vec<Column>,
    /// Foreign keys, as SQLite resolved them.
    pub foreign_keys: BTreeSet<ForeignKey>,
    /// Indexes keyed by name, or for UNIQUE/PRIMARY KEY constraints by their
    /// columns (SQLite numbers those automatic indexes by position).
    pub indexes: BTreeMap<String, Index>,
    /// Normalized CHECK expressions, table- and column-level alike.
    pub checks: BTreeSet<String>,
    /// Table options: `strict`, `without rowid`.
    pub options: BTreeSet<String>,
}

/// One column's declaration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Lowercase column name.
    pub name: String,
    /// Declared type, uppercase, single-spaced (empty when untyped).
    pub decl_type: String,
    /// Whether NOT NULL was declared.
    pub not_null: bool,
    /// The normalized DEFAULT expression.
    pub default: Option<String>,
    /// Position in the primary key (0 when not part of it).
    pub primary_key: i64,
    /// 0 for ordinary columns; 2 or 3 for generated ones (virtual, stored).
    pub generated: i64,
    /// The declared COLLATE, lowercase.
    pub collation: Option<String>,
}

/// One foreign key constraint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ForeignKey {
    /// Referencing columns.
    pub columns: Vec<String>,
    /// Referenced table, lowercase.
    pub table: String,
    /// Referenced columns (empty strings mean "the primary key").
    pub references: Vec<String>,
    /// ON UPDATE action.
    pub on_update: String,
    /// ON DELETE action.
    pub on_delete: String,
}

/// One index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Whether it enforces uniqueness.
    pub unique: bool,
    /// What created it: `c` (CREATE INDEX), `u` (UNIQUE), `pk` (PRIMARY KEY).
    pub origin: String,
    /// What it covers: for CREATE INDEX its normalized statement (which holds
    /// expressions and the WHERE of a partial index); otherwise its columns.
    pub definition: String,
}

impl Schema {
    /// Every table, view, index and trigger name in this schema, to compare
    /// with a manifest.
    pub fn table_names(&self) -> BTreeSet<String> {
        self.tables.keys().chain(self.views.keys()).cloned().collect()
    }

    /// The differences between `self` (called `left`) and `other` (`right`),
    /// one readable line each; empty when the schemas agree.
    pub fn diff(&self, left: &str, other: &Schema, right: &str) -> Vec<String> {
        let mut lines = Vec::new();
        diff_maps(&mut lines, "table", &self.tables, left, &other.tables, right, |lines, name, a, b| {
            diff_tables(lines, name, a, left, b, right);
        });
        diff_maps(&mut lines, "view", &self.views, left, &other.views, right, |lines, name, a, b| {
            lines.push(format!("view `{name}`: {left} has `{a}`, {right} has `{b}`"));
        });
        diff_maps(&mut lines, "trigger", &self.triggers, left, &other.triggers, right, |lines, name, a, b| {
            lines.push(format!("trigger `{name}`: {left} has `{a}`, {right} has `{b}`"));
        });
        lines
    }
}

fn diff_maps<'a, V: PartialEq>(
    lines: &mut Vec<String>,
    what: &str,
    a: &'a BTreeMap<String, V>,
    left: &str,
    b: &'a BTreeMap<String, V>,
    right: &str,
    item: impl Fn(&mut Vec<String>, &str, &'a V, &'a V),
) {
    for (name, value) in a {
        match b.get(name) {
            None => lines.push(format!("{what} `{name}`: only in {left}")),
            Some(other) if other != value => item(lines, name, value, other),
            Some(_) => {}
        }
    }
    for name in b.keys().filter(|n| !a.contains_key(*n)) {
        lines.push(format!("{what} `{name}`: only in {right}"));
    }
}

fn diff_tables(lines: &mut Vec<String>, table: &str, a: &Table, left: &str, b: &Table, right: &str) {
    let names = |t: &Table| t.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    for column in &a.columns {
        match b.columns.iter().find(|c| c.name == column.name) {
            None => lines.push(format!("table `{table}`: column `{}` only in {left}", column.name)),
            Some(other) if other != column => {
                let mut line = format!("table `{table}`: column `{}` differs:", column.name);
                let mut field = |label: &str, x: String, y: String| {
                    if x != y {
                        let _ = write!(line, " {label} {x} in {left} but {y} in {right};");
                    }
                };
                field("type", show(&column.decl_type), show(&other.decl_type));
                field("not null", column.not_null.to_string(), other.not_null.to_string());
                field("default", show_opt(&column.default), show_opt(&other.default));
                field("primary key position", column.primary_key.to_string(), other.primary_key.to_string());
                field("generated", column.generated.to_string(), other.generated.to_string());
                field("collation", show_opt(&column.collation), show_opt(&other.collation));
                lines.push(line.trim_end_matches(';').to_owned());
            }
            Some(_) => {}
        }
    }
    for column in b.columns.iter().filter(|c| !a.columns.iter().any(|x| x.name == c.name)) {
        lines.push(format!("table `{table}`: column `{}` only in {right}", column.name));
    }
    let (order_a, order_b) = (names(a), names(b));
    let mut common_a = order_a.clone();
    common_a.retain(|n| order_b.contains(n));
    let mut common_b = order_b.clone();
    common_b.retain(|n| order_a.contains(n));
    if common_a != common_b {
        lines.push(format!(
            "table `{table}`: column order is ({}) in {left} but ({}) in {right}",
            common_a.join(", "),
            common_b.join(", ")
        ));
    }
    diff_sets(lines, table, "foreign key", &a.foreign_keys, left, &b.foreign_keys, right, |k| {
        format!(
            "({}) references {}({}) on update {} on delete {}",
            k.columns.join(", "),
            k.table,
            k.references.join(", "),
            k.on_update.to_lowercase(),
            k.on_delete.to_lowercase()
        )
    });
    diff_sets(lines, table, "check", &a.checks, left, &b.checks, right, |c| c.clone());
    diff_sets(lines, table, "option", &a.options, left, &b.options, right, |o| o.clone());
    for (key, index) in &a.indexes {
        match b.indexes.get(key) {
            None => lines.push(format!("table `{table}`: index `{key}` only in {left}")),
            Some(other) if other != index => lines.push(format!(
                "table `{table}`: index `{key}` is `{}` in {left} but `{}` in {right}",
                index.definition, other.definition
            )),
            Some(_) => {}
        }
    }
    for key in b.indexes.keys().filter(|k| !a.indexes.contains_key(*k)) {
        lines.push(format!("table `{table}`: index `{key}` only in {right}"));
    }
}

#[allow(clippy::too_many_arguments)]
fn diff_sets<T: Ord>(
    lines: &mut Vec<String>,
    table: &str,
    what: &str,
    a: &BTreeSet<T>,
    left: &str,
    b: &BTreeSet<T>,
    right: &str,
    show: impl Fn(&T) -> String,
) {
    for item in a.difference(b) {
        lines.push(format!("table `{table}`: {what} `{}` only in {left}", show(item)));
    }
    for item in b.difference(a) {
        lines.push(format!("table `{table}`: {what} `{}` only in {right}", show(item)));
    }
}

fn show(text: &str) -> String {
    if text.is_empty() {
        "(none)".into()
    } else {
        text.into()
    }
}

fn show_opt(text: &Option<String>) -> String {
    text.as_deref().map_or_else(|| "(none)".into(), show)
}
