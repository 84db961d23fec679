//! Scratch databases for the checks: in-memory SQLite databases laid out
//! like a real one around the plugin being checked.
//!
//! Each starts as a copy of the core schema (applied once per process and
//! kept as a serialized image: copying it is much cheaper than applying the
//! chain again) and receives only the other plugins' tables its SQL names,
//! as their owners' DDL creates them. Every `ALTER TABLE` makes SQLite
//! re-read the whole schema, so a scratch database stays small.

use super::driver::history_table_ddl;
use super::errors::sqlite_message;
use super::guard::{run_restricted, Guard, Refusal};
use super::schema;
use crate::engine::{Policy, Scratch, ScratchError, ScratchSource, SqlError, Touched};
use crate::plugins::inventory::Inventory;
use crate::schema::names::{is_bookkeeping, ObjectKind};
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
        CoreImage::get().map_or(&NONE, |image| &image.names)
    }

    fn usable_beside_runs(&self, _one_transaction: bool) -> bool {
        // In memory: they share nothing with the operator's file.
        true
    }

    fn names_in_sql(&self) -> bool {
        true
    }

    fn scratch(
        &self,
        _plugin: &str,
        _depends_on: &[String],
        others: &BTreeSet<String>,
    ) -> Result<Box<dyn Scratch>, ScratchError> {
        let image = CoreImage::get()?;
        let mut conn = image.open()?;
        // As in a real run: foreign keys off, so that a rebuild's DROP TABLE
        // does not turn into a DELETE reaching into other plugins' tables.
        conn.execute_batch("PRAGMA foreign_keys = OFF").map_err(setup("switching foreign keys off"))?;
        for name in others {
            if let Some(sql) = image.bookkeeping.get(name) {
                conn.execute_batch(sql).map_err(setup("creating a bookkeeping table"))?;
            } else if is_bookkeeping(name) {
                conn.execute_batch(&history_table_ddl(name)).map_err(setup("creating a history table"))?;
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

/// The core schema as an SQLite database image, built once per process
/// from [`CORE_HEAD`], without the host's bookkeeping tables: a plugin's
/// SQL may not touch them, a scratch database makes the ones it names
/// (see [`SqliteScratches::scratch`]), and SQLite re-reads a database's whole
/// schema after every `ALTER TABLE`, so each object less is read less often.
#[derive(Debug)]
struct CoreImage {
    bytes: Vec<u8>,
    /// The lowercase names of its objects.
    names: BTreeSet<String>,
    /// The host's bookkeeping tables left out of it, by lowercase name:
    /// the SQL that makes each (the table, then its indexes).
    bookkeeping: BTreeMap<String, String>,
}

impl CoreImage {
    fn get() -> Result<&'static CoreImage, ScratchError> {
        static IMAGE: OnceLock<Result<CoreImage, ScratchError>> = OnceLock::new();
        IMAGE.get_or_init(CoreImage::build).as_ref().map_err(Clone::clone)
    }

    fn build() -> Result<CoreImage, ScratchError> {
        let mut conn = Connection::open_in_memory().map_err(setup("opening an in-memory database"))?;
        conn.execute_batch(CORE_HEAD).map_err(setup("building the core schema"))?;
        let mut bookkeeping: BTreeMap<String, String> = BTreeMap::new();
        {
            let mut stmt = conn
                .prepare("SELECT lower(tbl_name), sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type DESC")
                .map_err(setup("reading the schema"))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(setup("reading the schema"))?;
            for row in rows {
                let (table, sql) = row.map_err(setup("reading the schema"))?;
                if is_bookkeeping(&table) {
                    let made = bookkeeping.entry(table).or_default();
                    made.push_str(&sql);
                    made.push_str(";\n");
                }
            }
        }
        let drops: String = bookkeeping.keys().map(|table| format!("DROP TABLE \"{table}\";")).collect();
        conn.execute_batch(&format!("{drops} VACUUM;")).map_err(setup("building the core schema"))?;
        let names = schema::objects(&conn).map_err(setup("reading the schema"))?.into_keys().collect();
        let bytes = conn.serialize(rusqlite::MAIN_DB).map_err(setup("serializing the core schema"))?.to_vec();
        Ok(CoreImage { bytes, names, bookkeeping })
    }

    /// A new in-memory database holding the core schema.
    fn open(&self) -> Result<Connection, ScratchError> {
        let mut conn = Connection::open_in_memory().map_err(setup("opening an in-memory database"))?;
        conn.deserialize_read_exact(rusqlite::MAIN_DB, self.bytes.as_slice(), self.bytes.len(), false)
            .map_err(setup("copying the core schema"))?;
        Ok(conn)
    }
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
    fn a_scratch_database_holds_the_core_without_the_hosts_bookkeeping_and_can_make_each_as_it_is() {
        let chain = built_by_the_core_chain();
        let image = CoreImage::build().unwrap();
        let shared: BTreeSet<String> =
            schema::objects(&chain).unwrap().into_keys().filter(|name| !is_bookkeeping(name)).collect();
        assert_eq!(image.names, shared, "every core object but the bookkeeping");
        let scratch = image.open().unwrap();
        assert!(schema::objects(&scratch).unwrap().keys().all(|name| !is_bookkeeping(name)));
        assert!(!image.bookkeeping.is_empty());
        for sql in image.bookkeeping.values() {
            scratch.execute_batch(sql).unwrap();
        }
        assert_eq!(everything(&scratch), everything(&chain), "each bookkeeping table made as the chain makes it");
    }
}
