//! Scratch databases for the checks: in-memory SQLite databases laid out
//! like a real one around the plugin being checked.
//!
//! Each starts empty and receives only the tables the plugin's SQL names:
//! core tables as the core chain leaves them (read once per process from
//! the chain's head in one piece, rows included), the host's bookkeeping
//! tables, and other plugins' tables as their owners' DDL creates them.
//! Every `ALTER TABLE` makes SQLite re-read the whole schema, so a scratch
//! database stays small.

use super::driver::history_table_ddl;
use super::errors::sqlite_message;
use super::guard::{run_restricted, Guard, Refusal};
use super::schema;
use crate::engine::{Policy, Scratch, ScratchError, ScratchSource, SqlError, Touched};
use crate::plugins::inventory::Inventory;
use crate::schema::names::{is_bookkeeping, quoted, ObjectKind};
use crate::schema::sqltext::{name_changes, statements, NameChange};
use crate::schema::Schema;
use rusqlite::Connection;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

fn setup(what: &'static str) -> impl Fn(rusqlite::Error) -> ScratchError {
    move |e| ScratchError::Setup { what, reason: sqlite_message(&e) }
}

/// The SQLite [`ScratchSource`] for one inventory's plugins.
#[derive(Debug)]
pub struct SqliteScratches {
    /// Each usable plugin's tables and DDL, for the catalog.
    ddls: Vec<(Vec<String>, String)>,
    /// Table → the statements that create it, its indexes and triggers;
    /// read the first time a plugin's SQL names another plugin's table.
    catalog: OnceLock<BTreeMap<String, Vec<String>>>,
}

impl SqliteScratches {
    /// Scratch databases for `inventory`'s plugins.
    pub fn new(inventory: &Inventory) -> Result<SqliteScratches, ScratchError> {
        let ddls = inventory.plugins.iter().map(|p| (p.manifest.tables.clone(), p.manifest.ddl.clone())).collect();
        Ok(SqliteScratches { ddls, catalog: OnceLock::new() })
    }

    /// Every plugin's DDL read as table → the statements that create it
    /// and what is on it (indexes, triggers), by its words: no SQL runs.
    /// Only what a plugin creates on its own listed tables is kept.
    fn catalog(&self) -> &BTreeMap<String, Vec<String>> {
        self.catalog.get_or_init(|| {
            let mut catalog: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (tables, ddl) in &self.ddls {
                for statement in statements(ddl) {
                    for change in name_changes(statement) {
                        let NameChange::Created { name, on, .. } = change else { continue };
                        let table = on.unwrap_or(name);
                        if tables.contains(&table) {
                            catalog.entry(table).or_default().push(statement.to_owned());
                        }
                    }
                }
            }
            catalog
        })
    }
}

impl ScratchSource for SqliteScratches {
    fn base_names(&self) -> &BTreeSet<String> {
        // Built by the first scratch database, on a check thread rather
        // than before the run starts; empty when it cannot be built, and
        // then every scratch database says why.
        static NONE: BTreeSet<String> = BTreeSet::new();
        CoreTables::get().map_or(&NONE, |core| &core.names)
    }

    fn usable_beside_runs(&self, _one_transaction: bool) -> bool {
        // In memory: they share nothing with the operator's file.
        true
    }

    fn names_in_sql(&self) -> bool {
        true
    }

    fn base_made_when_named(&self) -> bool {
        true
    }

    fn scratch(
        &self,
        _plugin: &str,
        _depends_on: &[String],
        others: &BTreeSet<String>,
    ) -> Result<Box<dyn Scratch>, ScratchError> {
        let core = CoreTables::get()?;
        let mut conn = Connection::open_in_memory().map_err(setup("opening an in-memory database"))?;
        // As in a real run: foreign keys off, so that a rebuild's DROP TABLE
        // does not turn into a DELETE reaching into other plugins' tables.
        conn.execute_batch("PRAGMA foreign_keys = OFF").map_err(setup("switching foreign keys off"))?;
        let mut made = BTreeSet::new();
        for name in others {
            if let Some(table) = core.table_of.get(name) {
                if made.insert(table) {
                    conn.execute_batch(&core.sql[table]).map_err(setup("making a core table"))?;
                }
            } else if is_bookkeeping(name) {
                conn.execute_batch(&history_table_ddl(name)).map_err(setup("making a history table"))?;
            } else if let Some(statements) = self.catalog().get(name) {
                for statement in statements {
                    // Best effort, as for the catalog itself.
                    let _ = conn.execute_batch(statement);
                }
            }
        }
        conn.execute_batch("SAVEPOINT shopdb_scratch").map_err(setup("starting the scratch transaction"))?;
        let guard = Guard::install(&mut conn).map_err(setup("installing the authorizer"))?;
        let before = schema::objects(&conn).map_err(setup("reading the schema"))?.into_keys().collect();
        Ok(Box::new(SqliteScratch { conn, guard, before }))
    }
}

/// A throw-away in-memory database; see [`SqliteScratches`].
struct SqliteScratch {
    conn: Connection,
    guard: Guard,
    /// The objects that were there before the plugin's SQL ran.
    before: BTreeSet<String>,
}

impl Scratch for SqliteScratch {
    fn run_as(&mut self, policy: &Arc<Policy>, sql: &str) -> Result<Touched, SqlError> {
        run_restricted(&self.conn, &self.guard, policy, sql).map_err(|refusal| match refusal {
            Refusal::Denied(denial) => SqlError::Denied(denial),
            Refusal::Failed(error) => SqlError::Failed(sqlite_message(&error)),
        })
    }

    fn created_objects(&mut self) -> Result<BTreeMap<String, ObjectKind>, ScratchError> {
        let mut objects = schema::objects(&self.conn).map_err(setup("reading the schema"))?;
        objects.retain(|name, _| !self.before.contains(name) && !is_bookkeeping(name));
        Ok(objects)
    }

    fn schema(&mut self, tables: &dyn Fn(&str) -> bool) -> Result<Schema, ScratchError> {
        schema::read(&self.conn, tables)
            .map_err(|e| ScratchError::Setup { what: "reading the schema", reason: e.to_string() })
    }

    fn rewind(&mut self) -> Result<(), ScratchError> {
        self.conn.execute_batch("ROLLBACK TO shopdb_scratch").map_err(setup("rolling the scratch database back"))
    }
}

/// The head of the core chain in one piece (`migrations/sqlite-head.sql`).
const CORE_HEAD: &str = include_str!("../../../../migrations/sqlite-head.sql");

/// The core schema at its head, read once per process from [`CORE_HEAD`]
/// as the SQL that makes each of its tables. A scratch database makes only
/// the core tables a plugin's SQL names: SQLite re-reads a database's whole
/// schema after every `ALTER TABLE`, so each object less is read less
/// often.
#[derive(Debug)]
struct CoreTables {
    /// The lowercase names of the core's objects, the host's bookkeeping
    /// aside: no plugin creates them.
    names: BTreeSet<String>,
    /// Each table's SQL, by lowercase name: the table, its rows, then its
    /// indexes and triggers, as the core chain leaves them.
    sql: BTreeMap<String, String>,
    /// Each object's table (a table's is itself), by lowercase name.
    table_of: BTreeMap<String, String>,
}

impl CoreTables {
    fn get() -> Result<&'static CoreTables, ScratchError> {
        static TABLES: OnceLock<Result<CoreTables, ScratchError>> = OnceLock::new();
        TABLES.get_or_init(CoreTables::read).as_ref().map_err(Clone::clone)
    }

    fn read() -> Result<CoreTables, ScratchError> {
        let reading = setup("reading the core schema");
        let conn = Connection::open_in_memory().map_err(setup("opening an in-memory database"))?;
        conn.execute_batch(CORE_HEAD).map_err(setup("building the core schema"))?;
        let objects = {
            let mut stmt = conn
                .prepare(
                    "SELECT lower(name), lower(tbl_name), type = 'table', sql FROM sqlite_master \
                     WHERE sql IS NOT NULL ORDER BY type NOT IN ('table', 'view'), rowid",
                )
                .map_err(&reading)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?)))
                .map_err(&reading)?;
            rows.collect::<Result<Vec<(String, String, bool, String)>, _>>().map_err(&reading)?
        };
        let mut sql: BTreeMap<String, String> = BTreeMap::new();
        let mut table_of = BTreeMap::new();
        for (name, table, is_table, made) in objects {
            let text = sql.entry(table.clone()).or_default();
            text.push_str(&made);
            text.push_str(";\n");
            if is_table {
                text.push_str(&rows_as_sql(&conn, &table).map_err(&reading)?);
            }
            table_of.insert(name, table);
        }
        let names = table_of.keys().filter(|name| !is_bookkeeping(name)).cloned().collect();
        Ok(CoreTables { names, sql, table_of })
    }
}

/// `table`'s rows as `INSERT` statements (SQLite's `quote` writes each
/// value so that it reads back the same).
fn rows_as_sql(conn: &Connection, table: &str) -> rusqlite::Result<String> {
    let columns = conn
        .prepare("SELECT name FROM pragma_table_info(?1)")?
        .query_map([table], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let values: Vec<String> = columns.iter().map(|c| format!("quote({})", quoted(c))).collect();
    let mut stmt = conn.prepare(&format!(
        "SELECT 'INSERT INTO ' || ?1 || ' VALUES (' || {} || ');' FROM {}",
        values.join(" || ', ' || "),
        quoted(table)
    ))?;
    let rows = stmt.query_map([quoted(table)], |r| r.get::<_, String>(0))?;
    rows.map(|row| row.map(|insert| insert + "\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn everything(conn: &Connection) -> (Schema, Vec<String>) {
        let schema = schema::read(conn, |_| true).expect("the schema reads back");
        let mut rows = Vec::new();
        for table in schema.tables.keys() {
            let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).expect("a table");
            let width = stmt.column_count();
            let read = stmt
                .query_map([], |r| {
                    (0..width).map(|i| r.get::<_, rusqlite::types::Value>(i).map(|v| format!("{v:?}"))).collect()
                })
                .expect("rows");
            for row in read {
                let row: Vec<String> = row.expect("a row");
                rows.push(format!("{table}: {}", row.join(", ")));
            }
        }
        (schema, rows)
    }

    /// A database the core chain built, migration by migration.
    fn built_by_the_core_chain() -> Connection {
        let chain = Connection::open_in_memory().unwrap();
        for migration in crate::core_schema::chain() {
            chain.execute_batch(&migration.sql).unwrap();
        }
        chain
    }

    #[test]
    fn the_core_head_file_builds_exactly_what_the_core_chain_builds() {
        let head = Connection::open_in_memory().unwrap();
        head.execute_batch(CORE_HEAD).unwrap();
        assert_eq!(
            everything(&built_by_the_core_chain()),
            everything(&head),
            "migrations/sqlite-head.sql is not the head of migrations/sqlite/: update it (see its header)"
        );
    }

    #[test]
    fn core_tables_are_made_one_by_one_as_the_core_chain_makes_them() {
        let chain = built_by_the_core_chain();
        let core = CoreTables::read().unwrap();
        let objects = schema::objects(&chain).unwrap();
        let shared: BTreeSet<String> = objects.keys().filter(|name| !is_bookkeeping(name)).cloned().collect();
        assert_eq!(core.names, shared, "every core object but the bookkeeping");
        assert_eq!(core.table_of.keys().collect::<Vec<_>>(), objects.keys().collect::<Vec<_>>());
        assert!(core.names.contains("asset_statuses") && core.table_of.keys().any(|name| is_bookkeeping(name)));
        let scratch = Connection::open_in_memory().unwrap();
        for (table, sql) in &core.sql {
            scratch.execute_batch(sql).unwrap();
            // Made in name order: by now, each table up to this one and
            // what is on them, nothing else.
            let made: BTreeSet<String> = schema::objects(&scratch).unwrap().into_keys().collect();
            let expected: BTreeSet<String> =
                core.table_of.iter().filter(|(_, of)| *of <= table).map(|(name, _)| name.clone()).collect();
            assert_eq!(made, expected, "making {table} makes it and what is on it");
        }
        assert_eq!(everything(&scratch), everything(&chain), "each table (and its rows) made as the chain makes it");
    }
}
