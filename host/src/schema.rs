//! Reading a database's schema as data, and saying how two schemas differ.
//!
//! The host compares schemas built two ways: a plugin's DDL run at once, and
//! its migration chain run step by step. SQLite stores `CREATE` text as
//! written or as spliced by `ALTER TABLE`, so text comparison would report
//! differences that are not there. This module reads the structure instead
//! (columns, keys, foreign keys, indexes, checks, collations) through SQLite's
//! own pragmas, and lexes only where SQLite keeps no structure (CHECK
//! expressions, column collations, partial and expression indexes, views,
//! triggers).

use crate::sqltext::{matching_paren, normalize, split_top_level_commas, tokenize, Token};
use rusqlite::Connection;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The structure of a set of tables and the objects on them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Schema {
    /// Tables by (lowercase) name.
    pub tables: BTreeMap<String, Table>,
    /// Views by name: their normalized `CREATE VIEW` text.
    pub views: BTreeMap<String, String>,
    /// Triggers by name: their normalized `CREATE TRIGGER` text.
    pub triggers: BTreeMap<String, String>,
    /// Per table, the SQL text SQLite keeps for it and its indexes and
    /// triggers. Not part of the structure (equality ignores it): the same
    /// text, up to [`normalize`], means the same shape, which lets
    /// [`Schema::read_tables_reusing`] skip reading a table again.
    #[serde(skip)]
    texts: BTreeMap<String, String>,
}

impl PartialEq for Schema {
    fn eq(&self, other: &Self) -> bool {
        self.tables == other.tables && self.views == other.views && self.triggers == other.triggers
    }
}

impl Eq for Schema {}

/// One table's structure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Index {
    /// Whether it enforces uniqueness.
    pub unique: bool,
    /// What created it: `c` (CREATE INDEX), `u` (UNIQUE), `pk` (PRIMARY KEY).
    pub origin: String,
    /// What it covers: for CREATE INDEX its normalized statement (which holds
    /// expressions and the WHERE of a partial index); otherwise its columns.
    pub definition: String,
}

/// Why a schema could not be read.
#[derive(Debug, thiserror::Error)]
#[error("failed to read the schema of table `{table}`")]
pub struct ReadError {
    table: String,
    #[source]
    source: rusqlite::Error,
}

impl Schema {
    /// Reads every table, view, index and trigger whose table is accepted by
    /// `owns` (given the lowercase table name). SQLite's own tables are skipped.
    pub fn read(conn: &Connection, owns: impl Fn(&str) -> bool) -> Result<Schema, ReadError> {
        let objects = master_rows(conn, None).map_err(|source| ReadError { table: "sqlite_master".into(), source })?;
        Schema::from_rows(conn, objects.iter().filter(|o| owns(&o.table)), None)
    }

    /// [`Schema::read`] of just `tables` (lowercase): SQLite filters the
    /// rows, so that reading a few tables of a large database stays cheap.
    pub fn read_tables(conn: &Connection, tables: &[String]) -> Result<Schema, ReadError> {
        let objects =
            master_rows(conn, Some(tables)).map_err(|source| ReadError { table: "sqlite_master".into(), source })?;
        Schema::from_rows(conn, objects.iter(), None)
    }

    /// [`Schema::read_tables`], taking from `known` every table whose SQL
    /// text (its own, its indexes' and its triggers') is the text `known`
    /// was read from, up to [`normalize`] (case, quoting, spacing and
    /// comments, which `ALTER TABLE` changes: it splices the new column's
    /// text in, and a rename quotes the name): the same text builds the same
    /// shape, and asking SQLite's pragmas about each column, key and index
    /// is most of a read.
    pub fn read_tables_reusing(conn: &Connection, tables: &[String], known: &Schema) -> Result<Schema, ReadError> {
        let objects =
            master_rows(conn, Some(tables)).map_err(|source| ReadError { table: "sqlite_master".into(), source })?;
        Schema::from_rows(conn, objects.iter(), Some(known))
    }

    fn from_rows<'r>(
        conn: &Connection,
        objects: impl Iterator<Item = &'r MasterRow> + Clone,
        known: Option<&Schema>,
    ) -> Result<Schema, ReadError> {
        let mut schema = Schema::default();
        for object in objects.clone() {
            let text = schema.texts.entry(object.table.clone()).or_default();
            // Rows come ordered by type and name: the same objects give the same text.
            let _ = writeln!(text, "{} {}: {}", object.kind, object.name, object.sql);
        }
        // The text of each index, from the rows already read (rather than
        // a lookup in sqlite_master, which has no index on names, per index).
        let index_sql: BTreeMap<&str, &str> =
            objects.clone().filter(|o| o.kind == "index").map(|o| (o.name.as_str(), o.sql.as_str())).collect();
        for object in objects {
            let wrap = |source| ReadError { table: object.table.clone(), source };
            match object.kind.as_str() {
                "table" => {
                    let text = schema.texts.get(&object.table);
                    let same = known
                        .filter(|known| same_text(known.texts.get(&object.table), text))
                        .and_then(|known| known.tables.get(&object.name));
                    let table = match same {
                        Some(table) => table.clone(),
                        None => read_table(conn, &object.name, &object.sql, &index_sql).map_err(wrap)?,
                    };
                    schema.tables.insert(object.name.clone(), table);
                }
                "view" => {
                    schema.views.insert(object.name.clone(), normalize(&object.sql));
                }
                "trigger" => {
                    schema.triggers.insert(object.name.clone(), normalize(&object.sql));
                }
                _ => {}
            }
        }
        Ok(schema)
    }

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

/// Whether two tables' texts (see [`Schema::texts`]) are the same SQL: the
/// same characters, or failing that the same [`normalize`]d tokens.
fn same_text(a: Option<&String>, b: Option<&String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b || normalize(a) == normalize(b),
        _ => false,
    }
}

/// Whether a table or view called `name` exists (see [`any_object_exists`]).
pub fn object_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    any_object_exists(conn, &[name])
}

/// The names of every view (lowercase).
pub fn view_names(conn: &Connection) -> rusqlite::Result<BTreeSet<String>> {
    let mut stmt = conn.prepare_cached("SELECT lower(name) FROM sqlite_master WHERE type = 'view'")?;
    let names = stmt.query_map([], |r| r.get(0))?;
    names.collect()
}

/// Whether a table, view, index or trigger called any of `names` exists:
/// lookups in SQLite's in-memory schema for tables, then one read of
/// `sqlite_master` for the rest (SQLite's lookup sees only tables), however
/// many names.
pub fn any_object_exists<S: AsRef<str>>(conn: &Connection, names: &[S]) -> rusqlite::Result<bool> {
    for name in names {
        if conn.table_exists(None, name.as_ref())? {
            return Ok(true);
        }
    }
    if names.is_empty() {
        return Ok(false);
    }
    let wanted = vec!["lower(?)"; names.len()].join(", ");
    conn.prepare_cached(&format!(
        "SELECT count(*) FROM sqlite_master WHERE type <> 'table' AND lower(name) IN ({wanted})"
    ))?
    .query_row(rusqlite::params_from_iter(names.iter().map(AsRef::as_ref)), |r| r.get::<_, i64>(0))
    .map(|n| n > 0)
}

/// A row of `sqlite_master`, lowercased.
struct MasterRow {
    kind: String,
    name: String,
    table: String,
    sql: String,
}

fn master_rows(conn: &Connection, tables: Option<&[String]>) -> rusqlite::Result<Vec<MasterRow>> {
    let filter = match tables {
        Some(tables) => format!(" AND lower(tbl_name) IN ({})", vec!["?"; tables.len()].join(", ")),
        None => String::new(),
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT type, lower(name), lower(tbl_name), ifnull(sql, '') FROM sqlite_master \
         WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'{filter} ORDER BY type, name"
    ))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(tables.unwrap_or_default()), |row| {
        Ok(MasterRow { kind: row.get(0)?, name: row.get(1)?, table: row.get(2)?, sql: row.get(3)? })
    })?;
    rows.collect()
}

/// `index_sql`: the `CREATE INDEX` text of each index of the table, by
/// lowercase name.
fn read_table(conn: &Connection, name: &str, sql: &str, index_sql: &BTreeMap<&str, &str>) -> rusqlite::Result<Table> {
    let text = parse_create_table(sql);
    let mut table = Table { checks: text.checks, options: text.options, ..Table::default() };

    let mut stmt =
        conn.prepare_cached("SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1)")?;
    let columns = stmt.query_map([name], |row| {
        let column_name: String = row.get(0)?;
        let decl_type: String = row.get(1)?;
        let default: Option<String> = row.get(3)?;
        Ok((column_name.to_lowercase(), decl_type, row.get::<_, bool>(2)?, default, row.get(4)?, row.get(5)?))
    })?;
    for column in columns {
        let (column_name, decl_type, not_null, default, primary_key, generated) = column?;
        let collation = text.collations.get(&column_name).cloned();
        table.columns.push(Column {
            name: column_name,
            decl_type: decl_type.split_whitespace().collect::<Vec<_>>().join(" ").to_uppercase(),
            not_null,
            default: default.map(|d| normalize(&d)),
            primary_key,
            generated,
            collation,
        });
    }

    let mut stmt = conn.prepare_cached(
        "SELECT id, lower(\"table\"), lower(\"from\"), lower(ifnull(\"to\", '')), on_update, on_delete \
         FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
    )?;
    let mut keys: BTreeMap<i64, ForeignKey> = BTreeMap::new();
    let rows = stmt.query_map([name], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?))
    })?;
    for row in rows {
        let (id, target, from, to, on_update, on_delete) = row?;
        let key = keys.entry(id).or_insert_with(|| ForeignKey {
            columns: Vec::new(),
            table: target,
            references: Vec::new(),
            on_update,
            on_delete,
        });
        key.columns.push(from);
        key.references.push(to);
    }
    table.foreign_keys = keys.into_values().collect();

    let mut stmt = conn.prepare_cached("SELECT name, \"unique\", origin FROM pragma_index_list(?1)")?;
    let indexes: Vec<(String, bool, String)> =
        stmt.query_map([name], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?.collect::<Result<_, _>>()?;
    for (index_name, unique, origin) in indexes {
        let (key, definition) = if origin == "c" {
            let index_name = index_name.to_lowercase();
            let definition = normalize(index_sql.get(index_name.as_str()).copied().unwrap_or_default());
            (index_name, definition)
        } else {
            let columns = index_columns(conn, &index_name)?;
            let kind = if origin == "pk" { "primary key" } else { "unique" };
            let definition = format!("{kind}({columns})");
            (definition.clone(), definition)
        };
        table.indexes.insert(key, Index { unique, origin, definition });
    }
    Ok(table)
}

/// The key columns of an automatic index, as `a, b desc collate nocase`.
fn index_columns(conn: &Connection, index: &str) -> rusqlite::Result<String> {
    let mut stmt =
        conn.prepare_cached("SELECT lower(ifnull(name, '<expr>')), \"desc\", lower(coll) FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno")?;
    let parts = stmt.query_map([index], |row| {
        let name: String = row.get(0)?;
        let desc: bool = row.get(1)?;
        let coll: String = row.get(2)?;
        let mut part = name;
        if desc {
            part.push_str(" desc");
        }
        if coll != "binary" {
            part.push_str(" collate ");
            part.push_str(&coll);
        }
        Ok(part)
    })?;
    Ok(parts.collect::<Result<Vec<_>, _>>()?.join(", "))
}

/// What only the `CREATE TABLE` text says.
#[derive(Default)]
struct TableText {
    checks: BTreeSet<String>,
    collations: BTreeMap<String, String>,
    options: BTreeSet<String>,
}

/// Pulls CHECK expressions, column collations and table options out of a
/// `CREATE TABLE` statement.
fn parse_create_table(sql: &str) -> TableText {
    let tokens = tokenize(sql);
    let mut text = TableText::default();
    let Some(open) = tokens.iter().position(|t| t.is_punct("(")) else {
        return text;
    };
    let close = matching_paren(&tokens, open);
    let body = &tokens[open + 1..close.min(tokens.len())];
    for item in split_top_level_commas(body) {
        let is_table_constraint = item
            .first()
            .is_some_and(|t| ["constraint", "primary", "unique", "check", "foreign"].iter().any(|k| t.is_word(k)));
        collect_checks(item, &mut text.checks);
        if !is_table_constraint {
            if let (Some(Token::Word(column)), Some(collation)) = (item.first(), collation_of(item)) {
                text.collations.insert(column.clone(), collation);
            }
        }
    }
    let options = tokens.get(close + 1..).unwrap_or_default();
    for option in split_top_level_commas(options) {
        let words: Vec<&str> = option
            .iter()
            .filter_map(|t| match t {
                Token::Word(w) => Some(w.as_str()),
                _ => None,
            })
            .collect();
        if !words.is_empty() {
            text.options.insert(words.join(" "));
        }
    }
    text
}

fn collect_checks(item: &[Token], checks: &mut BTreeSet<String>) {
    let mut i = 0;
    while i < item.len() {
        if item[i].is_word("check") && item.get(i + 1).is_some_and(|t| t.is_punct("(")) {
            let close = matching_paren(item, i + 1);
            checks.insert(crate::sqltext::render(&item[i + 2..close.min(item.len())]));
            i = close + 1;
        } else {
            i += 1;
        }
    }
}

fn collation_of(item: &[Token]) -> Option<String> {
    let mut depth = 0usize;
    for (i, token) in item.iter().enumerate() {
        if token.is_punct("(") {
            depth += 1;
        } else if token.is_punct(")") {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && token.is_word("collate") {
            if let Some(Token::Word(name)) = item.get(i + 1) {
                return Some(name.clone());
            }
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of(sql: &str) -> Schema {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(sql).unwrap();
        Schema::read(&conn, |_| true).unwrap()
    }

    #[test]
    fn tables_and_views_exist_whatever_the_case_of_their_names() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE Items (id INTEGER PRIMARY KEY); CREATE VIEW Cheap AS SELECT id FROM Items;")
            .unwrap();
        let exists = |names: &[&str]| any_object_exists(&conn, names).unwrap();
        assert!(exists(&["items"]));
        assert!(exists(&["nothing", "CHEAP"]), "a view is found by the sqlite_master read");
        assert!(!exists(&["nothing", "else"]));
        assert!(!exists(&[]));
        assert!(object_exists(&conn, "cheap").unwrap() && !object_exists(&conn, "dear").unwrap());
    }

    #[test]
    fn a_column_added_by_alter_table_equals_one_declared_at_once() {
        let chain = schema_of(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL);
             ALTER TABLE t ADD COLUMN b INTEGER NOT NULL DEFAULT 0 CHECK (b >= 0);",
        );
        let ddl = schema_of(
            "create table \"T\" (\n id integer primary key,\n a text not null,\n b integer not null default 0 check(b>=0)\n)",
        );
        assert_eq!(chain.diff("chain", &ddl, "ddl"), Vec::<String>::new());
    }

    #[test]
    fn every_kind_of_difference_is_named() {
        let a = schema_of(
            "CREATE TABLE p (id INTEGER PRIMARY KEY);
             CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT COLLATE NOCASE, b INT REFERENCES p(id), UNIQUE (a), CHECK (a <> ''));
             CREATE INDEX t_b ON t (b);",
        );
        let b = schema_of(
            "CREATE TABLE p (id INTEGER PRIMARY KEY);
             CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT REFERENCES p(id) ON DELETE CASCADE, c INT);
             CREATE INDEX t_b ON t (b) WHERE b IS NOT NULL;",
        );
        let diff = a.diff("chain", &b, "ddl").join("\n");
        for expected in [
            "column `a` differs: collation nocase in chain but (none) in ddl",
            "column `b` differs: type INT in chain but TEXT in ddl",
            "column `c` only in ddl",
            "foreign key `(b) references p(id) on update no action on delete no action` only in chain",
            "check `a <> ''` only in chain",
            "index `unique(a collate nocase)` only in chain",
            "index `t_b` is `create index t_b on t(b)` in chain but `create index t_b on t(b) where b is not null` in ddl",
        ] {
            assert!(diff.contains(expected), "missing `{expected}` in:\n{diff}");
        }
    }

    #[test]
    fn column_order_is_part_of_the_shape() {
        let a = schema_of("CREATE TABLE t (a INT, b INT)");
        let b = schema_of("CREATE TABLE t (b INT, a INT)");
        let diff = a.diff("chain", &b, "ddl");
        assert_eq!(diff, vec!["table `t`: column order is (a, b) in chain but (b, a) in ddl"]);
    }

    #[test]
    fn a_renamed_table_keeps_its_shape() {
        let rebuilt = schema_of(
            "CREATE TABLE new_t (id INTEGER PRIMARY KEY, v TEXT CHECK (v <> ''));
             CREATE INDEX t_v ON new_t (v);
             ALTER TABLE new_t RENAME TO t;",
        );
        let ddl =
            schema_of("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT CHECK (v <> '')); CREATE INDEX t_v ON t (v);");
        assert_eq!(rebuilt.diff("chain", &ddl, "ddl"), Vec::<String>::new());
    }

    #[test]
    fn only_owned_tables_are_read() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE mine (id INT); CREATE TABLE theirs (id INT); CREATE INDEX theirs_id ON theirs (id);",
        )
        .unwrap();
        let schema = Schema::read(&conn, |t| t == "mine").unwrap();
        assert_eq!(schema.table_names(), BTreeSet::from(["mine".to_owned()]));
    }

    #[test]
    fn a_read_reuses_only_tables_whose_sql_is_unchanged_up_to_spelling() {
        let ddl = "CREATE TABLE kept (id INTEGER PRIMARY KEY, name TEXT); CREATE INDEX kept_name ON kept (name); \
                   CREATE TABLE grown (id INTEGER PRIMARY KEY, a TEXT, b TEXT); \
                   CREATE TABLE indexed (id INTEGER PRIMARY KEY, a TEXT); CREATE INDEX indexed_a ON indexed (a);";
        // The same shapes, reached another way: `grown` by ADD COLUMN (the
        // same SQL spelled and spaced otherwise), `moved` rebuilt and renamed
        // (SQLite quotes the new name), `indexed` with its index added later
        // under a new name (other SQL).
        let ddl = format!("{ddl} CREATE TABLE moved (id INTEGER PRIMARY KEY, a TEXT);");
        let chain = "CREATE TABLE kept (id INTEGER PRIMARY KEY, name TEXT); CREATE INDEX kept_name ON kept (name); \
                     CREATE TABLE grown (id INTEGER PRIMARY KEY, a TEXT); ALTER TABLE grown ADD COLUMN b text; \
                     CREATE TABLE moved_new (id INTEGER PRIMARY KEY, a TEXT); ALTER TABLE moved_new RENAME TO moved; \
                     CREATE TABLE indexed (id INTEGER PRIMARY KEY, a TEXT); CREATE INDEX indexed_a2 ON indexed (a);";
        let tables: Vec<String> = ["kept", "grown", "moved", "indexed"].map(String::from).to_vec();
        let known = schema_of(&ddl);
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(chain).unwrap();
        let full = Schema::read_tables(&conn, &tables).unwrap();
        assert_eq!(Schema::read_tables_reusing(&conn, &tables, &known).unwrap(), full);

        // Reuse is by text: a known shape altered behind the same text
        // comes back for `kept`, `grown` and `moved`; `indexed` is read from
        // SQLite.
        let mut altered = known.clone();
        for table in altered.tables.values_mut() {
            table.checks.insert("marker".into());
        }
        let reused = Schema::read_tables_reusing(&conn, &tables, &altered).unwrap();
        for table in ["kept", "grown", "moved"] {
            assert!(reused.tables[table].checks.contains("marker"), "{table} reused");
        }
        assert_eq!(reused.tables["indexed"], full.tables["indexed"]);
        assert_ne!(reused.diff("db", &full, "full"), Vec::<String>::new());
    }
}
