//! Reading a SQLite database's schema back as [`Schema`] data.
//!
//! SQLite stores `CREATE` text as written or as spliced by `ALTER TABLE`;
//! the structure is read through SQLite's own pragmas (columns, keys,
//! foreign keys, indexes), and lexed only where SQLite keeps no structure
//! (CHECK expressions, column collations, partial and expression indexes,
//! views, triggers).

use crate::schema::names::ObjectKind;
use crate::schema::sqltext::{matching_paren, normalize, split_top_level_commas, tokenize, Token};
use crate::schema::{Column, ForeignKey, Index, Schema, Table};
use rusqlite::Connection;
use std::collections::{BTreeMap, BTreeSet};

/// Why a schema could not be read.
#[derive(Debug, thiserror::Error)]
#[error("failed to read the schema of table `{table}`")]
pub struct ReadError {
    table: String,
    #[source]
    source: rusqlite::Error,
}

/// Reads every table, view, index and trigger whose table is accepted by
/// `owns` (given the lowercase table name). SQLite's own objects are skipped.
pub fn read(conn: &Connection, owns: impl Fn(&str) -> bool) -> Result<Schema, ReadError> {
    let objects = master_rows(conn, None).map_err(|source| ReadError { table: "sqlite_master".into(), source })?;
    from_rows(conn, objects.iter().filter(|o| owns(&o.table)))
}

/// [`read`] of just `tables` (lowercase): SQLite filters the rows, so that
/// reading a few tables of a large database stays cheap.
pub fn read_tables(conn: &Connection, tables: &[String]) -> Result<Schema, ReadError> {
    let objects =
        master_rows(conn, Some(tables)).map_err(|source| ReadError { table: "sqlite_master".into(), source })?;
    from_rows(conn, objects.iter())
}

fn from_rows<'r>(conn: &Connection, objects: impl Iterator<Item = &'r MasterRow> + Clone) -> Result<Schema, ReadError> {
    let mut schema = Schema::default();
    // The text of each index, from the rows already read (rather than a
    // lookup in sqlite_master, which has no index on names, per index).
    let index_sql: BTreeMap<&str, &str> =
        objects.clone().filter(|o| o.kind == "index").map(|o| (o.name.as_str(), o.sql.as_str())).collect();
    for object in objects {
        let wrap = |source| ReadError { table: object.table.clone(), source };
        match object.kind.as_str() {
            "table" => {
                let table = read_table(conn, &object.name, &object.sql, &index_sql).map_err(wrap)?;
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

/// Every table, view, index and trigger by lowercase name (SQLite's own
/// objects aside), with its kind.
pub fn objects(conn: &Connection) -> rusqlite::Result<BTreeMap<String, ObjectKind>> {
    let mut stmt = conn
        .prepare_cached("SELECT lower(name), type FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut objects = BTreeMap::new();
    for row in rows {
        let (name, kind) = row?;
        if let Some(kind) = ObjectKind::parse(&kind) {
            objects.insert(name, kind);
        }
    }
    Ok(objects)
}

/// Which of `names` (lowercase) exist, and as what: one read of
/// `sqlite_master`, however many names.
pub fn existing<S: AsRef<str>>(conn: &Connection, names: &[S]) -> rusqlite::Result<BTreeMap<String, ObjectKind>> {
    if names.is_empty() {
        return Ok(BTreeMap::new());
    }
    let wanted = vec!["?"; names.len()].join(", ");
    let mut stmt =
        conn.prepare_cached(&format!("SELECT lower(name), type FROM sqlite_master WHERE lower(name) IN ({wanted})"))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(names.iter().map(|n| n.as_ref().to_lowercase())), |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut found = BTreeMap::new();
    for row in rows {
        let (name, kind) = row?;
        if let Some(kind) = ObjectKind::parse(&kind) {
            found.insert(name, kind);
        }
    }
    Ok(found)
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
            checks.insert(crate::schema::sqltext::render(&item[i + 2..close.min(item.len())]));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of(sql: &str) -> Schema {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(sql).unwrap();
        read(&conn, |_| true).unwrap()
    }

    #[test]
    fn objects_are_found_by_name_whatever_the_case_and_kind() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE Items (id INTEGER PRIMARY KEY); CREATE VIEW Cheap AS SELECT id FROM Items; \
             CREATE INDEX items_id ON items (id);",
        )
        .unwrap();
        let found = existing(&conn, &["items", "CHEAP", "items_id", "nothing"]).unwrap();
        assert_eq!(
            found,
            BTreeMap::from([
                ("cheap".to_owned(), ObjectKind::View),
                ("items".to_owned(), ObjectKind::Table),
                ("items_id".to_owned(), ObjectKind::Index)
            ])
        );
        assert!(existing::<&str>(&conn, &[]).unwrap().is_empty());
        assert_eq!(objects(&conn).unwrap().len(), 3);
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
        let schema = read(&conn, |t| t == "mine").unwrap();
        assert_eq!(schema.table_names(), BTreeSet::from(["mine".to_owned()]));
    }
}
