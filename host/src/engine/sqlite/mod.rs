//! The SQLite engine: one database file, the embedded default.
//!
//! * Each chain runs in its own `BEGIN IMMEDIATE` transaction, which is the
//!   run lock: concurrent hosts queue for it (up to the busy timeout), and
//!   history is read under it. In a dry run the session holds one outer
//!   transaction and each chain a savepoint.
//! * A plugin's SQL runs under SQLite's authorizer ([`guard`]), switched to
//!   the plugin's policy while its statements are prepared.
//! * Foreign keys are off while a session lasts (a table rebuild drops and
//!   recreates parents) and `PRAGMA foreign_key_check` runs before each
//!   commit, on what the chain may have broken.
//! * The host's records (owners, plugins, marks, audit) live in the
//!   bookkeeping tables of the core chain; a database no host upgraded to
//!   core V5 yet is read under their earlier names.

mod driver;
mod errors;
pub mod guard;
pub mod schema;
pub mod scratch;

use crate::core_schema::{self, LEGACY_NAMES};
use crate::engine::history::HistoryError;
use crate::engine::{
    Actor, AppliedMigration, ApplyError, AuditEntry, AuditRecord, Backup, ChainRun, DatabaseTarget, DbError,
    DroppedObject, Engine, Execution, Mark, OpenMode, PluginRecord, Policy, RecordedMark, RecordedObject, Touched,
    DEFAULT_BUSY_TIMEOUT,
};
use crate::plugins::inventory::InstalledPlugin;
use crate::plugins::manifest::ChainMigration;
use crate::progress::Progress;
use crate::schema::names::{is_bookkeeping, ObjectKind};
use crate::schema::Schema;
use driver::{Driver, Watched};
use errors::{classify, sqlite_message};
use guard::{run_restricted, Guard, Refusal};
use refinery::{Migration, Runner, Target};
use rusqlite::{Connection, OpenFlags};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// An open SQLite shop database.
#[derive(Debug)]
pub struct SqliteEngine {
    conn: Connection,
    guard: Guard,
    target: DatabaseTarget,
    path: PathBuf,
    busy_timeout: Duration,
    /// Who is running the host, for the audit record (`None`: no record,
    /// as in the benchmarks and the library's own tests).
    actor: Option<Actor>,
    /// Who watches the runs (`None`: nobody).
    progress: Option<Arc<dyn Progress>>,
    dry_run: bool,
    /// The chain whose transaction is open, if one is.
    chain: Option<OpenChain>,
}

/// What an open chain transaction keeps.
#[derive(Debug, Default)]
struct OpenChain {
    /// Every statement run in it, in order: what a dry run prints.
    log: Vec<String>,
    foreign_keys: ForeignKeyScope,
}

/// Which tables the foreign-key check before commit must look at.
#[derive(Debug, Default)]
struct ForeignKeyScope {
    /// Check every table (the core's own runs, the host's drops).
    everything: bool,
    /// Tables whose rows a plugin's SQL changed or that it dropped: their
    /// rows, and the rows referencing them, may now point nowhere.
    changed: BTreeSet<String>,
    /// Tables that may reference the changed ones: the plugins' own and
    /// those of the plugins depending on them.
    referencing: BTreeSet<String>,
}

impl SqliteEngine {
    /// Opens the file at `path` as `mode` asks; `None` when reading a file
    /// that does not exist yet.
    pub fn open(path: &Path, mode: OpenMode, busy_timeout: Duration) -> Result<Option<SqliteEngine>, DbError> {
        if path.is_dir() {
            return Err(DbError::IsADirectory(path.to_owned()));
        }
        match mode {
            OpenMode::Change => Self::open_for_changes(path, busy_timeout).map(Some),
            OpenMode::Read => Self::open_read_only(path, busy_timeout),
            // A dry run never creates the file: an empty in-memory database
            // stands in for one that does not exist yet.
            OpenMode::DryRun if path.exists() => Self::open_for_changes(path, busy_timeout).map(Some),
            OpenMode::DryRun => {
                let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                Self::open_with(Path::new(":memory:"), path, flags, busy_timeout).map(Some)
            }
        }
    }

    fn open_for_changes(path: &Path, busy_timeout: Duration) -> Result<SqliteEngine, DbError> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir.filter(|d| !d.is_dir()) {
            return Err(DbError::MissingDirectory { path: path.to_owned(), dir: dir.to_owned() });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let db = Self::open_with(path, path, flags, busy_timeout)?;
        // SQLite opens a file it may not write read-only without a word;
        // say so now rather than at the first write.
        if db.conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
            return Err(DbError::ReadOnly(path.to_owned()));
        }
        Ok(db)
    }

    fn open_read_only(path: &Path, busy_timeout: Duration) -> Result<Option<SqliteEngine>, DbError> {
        if !path.exists() {
            return Ok(None);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        match Self::open_with(path, path, flags, busy_timeout) {
            // A run was killed mid-transaction: its journal must be rolled
            // back before anyone reads, and SQLite does that only on a
            // connection that may write. Reading then sees the database as
            // it was before that run, which is the truth.
            Err(DbError::Interrupted(_)) => {
                let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let db = Self::open_with(path, path, flags, busy_timeout)?;
                tracing::warn!(
                    "database `{}`: rolled back the transaction of a run that was killed; it is as it was before that run",
                    path.display()
                );
                Ok(Some(db))
            }
            opened => opened.map(Some),
        }
    }

    fn open_with(file: &Path, path: &Path, flags: OpenFlags, busy_timeout: Duration) -> Result<SqliteEngine, DbError> {
        let mut conn =
            Connection::open_with_flags(file, flags).map_err(|e| classify(path, "opening", e, DEFAULT_BUSY_TIMEOUT))?;
        let setup = |conn: &Connection| -> rusqlite::Result<()> {
            conn.busy_timeout(busy_timeout)?;
            conn.execute_batch("PRAGMA foreign_keys = ON")?;
            // Reading the schema is what tells a SQLite file from anything else.
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
        };
        setup(&conn).map_err(|e| classify(path, "opening", e, busy_timeout))?;
        let guard =
            Guard::install(&mut conn).map_err(|e| classify(path, "installing the authorizer", e, busy_timeout))?;
        Ok(SqliteEngine {
            conn,
            guard,
            target: DatabaseTarget::Sqlite(path.to_owned()),
            path: path.to_owned(),
            busy_timeout,
            actor: None,
            progress: None,
            dry_run: false,
            chain: None,
        })
    }

    fn error(&self, what: &'static str, source: rusqlite::Error) -> DbError {
        classify(&self.path, what, source, self.busy_timeout)
    }

    fn has_table(&self, name: &str) -> Result<bool, DbError> {
        // A lookup in SQLite's in-memory schema, not a scan of sqlite_master.
        self.conn.table_exists(None, name).map_err(|e| self.error("reading the schema", e))
    }

    /// Whether `table` is the host's bookkeeping under its name from before
    /// core V5, in a database no host has upgraded yet: `shopdb_history_marks`
    /// is then the record of stamps, not the history of a plugin called `marks`.
    fn is_legacy_bookkeeping(&self, table: &str) -> Result<bool, DbError> {
        Ok(LEGACY_NAMES.iter().any(|(_, legacy)| *legacy == table) && !self.has_table(core_schema::OWNERS_TABLE)?)
    }

    /// The name the bookkeeping table `current` has in this database: its
    /// own, the one it had before core V5, or `None` before the core chain
    /// created it.
    fn bookkeeping_table(&self, current: &'static str) -> Result<Option<&'static str>, DbError> {
        if self.has_table(current)? {
            return Ok(Some(current));
        }
        for (now, legacy) in LEGACY_NAMES {
            if now == current && self.has_table(legacy)? {
                return Ok(Some(legacy));
            }
        }
        Ok(None)
    }

    fn read_rows<T>(
        &self,
        what: &'static str,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        read(&self.conn).map_err(|e| self.error(what, e))
    }

    /// Runs one statement of the host's own (not a plugin's), logged in the
    /// open chain.
    fn execute_host(
        &mut self,
        what: &'static str,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<usize, ApplyError> {
        if let Some(chain) = &mut self.chain {
            chain.log.push(sql.to_owned());
        }
        // Cached: the same few statements record every plugin's names,
        // plugin row and audit entry.
        let mut statement = self.conn.prepare_cached(sql).map_err(|e| ApplyError::Db(self.error(what, e)))?;
        statement.execute(params).map_err(|e| ApplyError::Db(self.error(what, e)))
    }

    fn chain_state(&mut self) -> &mut OpenChain {
        self.chain.get_or_insert_with(OpenChain::default)
    }

    /// What the host verifies after a plugin's SQL ran, from what the guard
    /// saw it touch (its views and triggers were probed as it ran): it left
    /// no table behind that the chain does not leave at that version
    /// (`expected`; the manifest's tables when not known), and which tables
    /// the foreign-key check before commit must cover.
    fn after_plugin_sql(
        &mut self,
        owner: &str,
        policy: &Arc<Policy>,
        referencing: &[String],
        touched: &Touched,
        expected: Option<&BTreeMap<String, ObjectKind>>,
    ) -> Result<(), ApplyError> {
        let expected_here = |t: &str| expected.map_or_else(|| policy.owned.contains(t), |e| e.contains_key(t));
        let left: Vec<String> =
            touched.created.iter().filter(|t| !expected_here(t) && !is_bookkeeping(t)).cloned().collect();
        let found =
            schema::existing(&self.conn, &left).map_err(|e| ApplyError::Db(self.error("reading the schema", e)))?;
        if let Some(table) = found.into_keys().next() {
            return Err(ApplyError::LeftBehind { plugin: owner.to_owned(), table });
        }
        let scope = &mut self.chain_state().foreign_keys;
        scope.changed.extend(touched.written.iter().chain(&touched.dropped).cloned());
        scope.referencing.extend(referencing.iter().cloned());
        Ok(())
    }

    /// Records `plugin` as installed and as the owner of `names` (added to
    /// what it owned before: a name stays its owner's once created). A name
    /// recorded as another plugin's is refused: another host applied a
    /// plugin with that name since this run's checks.
    fn record_plugin(
        &mut self,
        plugin: &str,
        record: PluginRecord<'_>,
        names: &BTreeMap<String, ObjectKind>,
    ) -> Result<(), ApplyError> {
        // One statement for all the names: each statement is prepared anew
        // after the plugin's SQL changed the schema. It also finds a name
        // another plugin owns already: that row is "updated" to itself and
        // comes back (a name this plugin owns already does not), and the
        // refusal rolls the chain's transaction back.
        let pairs: Vec<(&str, &str)> = names.iter().map(|(name, kind)| (name.as_str(), kind.as_str())).collect();
        let pairs = serde_json::to_string(&pairs).expect("pairs of strings serialize to JSON");
        let sql = "INSERT INTO shopdb_core_owners (name, kind, plugin) \
                   SELECT value ->> 0, value ->> 1, ?2 FROM json_each(?1) WHERE true \
                   ON CONFLICT (name) DO UPDATE SET name = excluded.name WHERE plugin <> excluded.plugin \
                   RETURNING name, kind, plugin";
        self.chain_state().log.push(sql.to_owned());
        let record_owners = || -> rusqlite::Result<Option<(String, String, String)>> {
            let mut statement = self.conn.prepare_cached(sql)?;
            let mut rows = statement.query([pairs.as_str(), plugin])?;
            while let Some(row) = rows.next()? {
                let owner: String = row.get(2)?;
                if owner != plugin {
                    return Ok(Some((row.get(0)?, row.get(1)?, owner)));
                }
            }
            Ok(None)
        };
        let taken = record_owners().map_err(|e| ApplyError::Db(self.error("recording the owners of names", e)))?;
        if let Some((name, kind, owner)) = taken {
            return Err(ApplyError::NameTaken { plugin: plugin.to_owned(), kind, name, owner });
        }
        let depends_on = serde_json::to_string(record.depends_on).expect("a list of strings serializes to JSON");
        self.execute_host(
            "recording the plugin",
            "INSERT INTO shopdb_core_plugins (name, version, depends_on, checked_digest) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (name) DO UPDATE SET version = excluded.version, depends_on = excluded.depends_on, \
             checked_digest = excluded.checked_digest, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
            rusqlite::params![plugin, record.version, depends_on.as_str(), record.checked_digest],
        )
        .map(drop)
    }

    /// `PRAGMA foreign_key_check` on what the transaction may have broken:
    /// everything after the core's or the host's own statements; after a
    /// plugin's, the tables whose rows it changed or that it dropped, and
    /// those of the tables that may reference them that do. A migration that
    /// only adds columns or indexes checks no rows at all.
    fn check_foreign_keys(&self) -> Result<(), ApplyError> {
        let Some(chain) = &self.chain else { return Ok(()) };
        let scope = &chain.foreign_keys;
        if scope.everything {
            return self.foreign_key_violation(None);
        }
        if scope.changed.is_empty() {
            return Ok(());
        }
        let mut tables: BTreeSet<&str> = BTreeSet::new();
        for table in &scope.changed {
            if self.has_table(table)? {
                tables.insert(table);
            }
        }
        for candidate in &scope.referencing {
            if tables.contains(candidate.as_str()) || !self.has_table(candidate)? {
                continue;
            }
            let read = || -> rusqlite::Result<bool> {
                let mut stmt = self.conn.prepare_cached("SELECT lower(\"table\") FROM pragma_foreign_key_list(?1)")?;
                let parents = stmt.query_map([candidate], |r| r.get::<_, String>(0))?;
                for parent in parents {
                    if scope.changed.contains(&parent?) {
                        return Ok(true);
                    }
                }
                Ok(false)
            };
            if read().map_err(|e| ApplyError::Db(self.error("checking foreign keys", e)))? {
                tables.insert(candidate);
            }
        }
        for table in tables {
            self.foreign_key_violation(Some(table))?;
        }
        Ok(())
    }

    fn foreign_key_violation(&self, table: Option<&str>) -> Result<(), ApplyError> {
        let sql = match table {
            Some(_) => "SELECT \"table\", rowid, parent FROM pragma_foreign_key_check(?1) LIMIT 1",
            None => "SELECT \"table\", rowid, parent FROM pragma_foreign_key_check LIMIT 1",
        };
        let row = |row: &rusqlite::Row<'_>| {
            Ok((row.get::<_, String>(0)?, row.get::<_, Option<i64>>(1)?, row.get::<_, String>(2)?))
        };
        let violation = match table {
            Some(table) => self.conn.query_row(sql, [table], row),
            None => self.conn.query_row(sql, [], row),
        };
        match violation {
            Ok((table, rowid, parent)) => Err(ApplyError::ForeignKey { table, rowid: rowid.unwrap_or(0), parent }),
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(()),
            Err(e) => Err(ApplyError::Db(self.error("checking foreign keys", e))),
        }
    }

    /// Turns refinery's error into one that names the migration and says why.
    fn explain(&self, run: &ChainRun<'_>, error: refinery::Error, failed: Option<driver::Failure>) -> ApplyError {
        if let Some(history) = HistoryError::from_refinery(&error) {
            return ApplyError::History(history);
        }
        match failed {
            Some(failure) => self.refused(run.label_of(&failure.sql), failure.refusal),
            None => ApplyError::Refinery(error.to_string()),
        }
    }

    /// `migration` (a label) was denied or failed.
    fn refused(&self, migration: String, refusal: Refusal) -> ApplyError {
        match refusal {
            Refusal::Denied(denial) => ApplyError::Denied { migration, denial },
            Refusal::Failed(error) => match self.error("applying", error) {
                DbError::Engine { source, .. } => {
                    let message =
                        source.downcast_ref::<rusqlite::Error>().map_or_else(|| source.to_string(), sqlite_message);
                    ApplyError::Migration { migration, message }
                }
                other => ApplyError::Db(other),
            },
        }
    }
}

impl Engine for SqliteEngine {
    fn target(&self) -> &DatabaseTarget {
        &self.target
    }

    fn engine_version(&self) -> String {
        format!("SQLite {}", rusqlite::version())
    }

    fn set_actor(&mut self, actor: Actor) {
        self.actor = Some(actor);
    }

    fn set_progress(&mut self, progress: Arc<dyn Progress>) {
        self.progress = Some(progress);
    }

    fn applied(&self, history: &str) -> Result<Vec<AppliedMigration>, DbError> {
        if !self.has_table(history)? || self.is_legacy_bookkeeping(history)? {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT version, name, applied_on, checksum FROM {history} ORDER BY version");
        self.read_rows("reading migration history", |conn| {
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map([], |row| {
                let checksum: String = row.get(3)?;
                Ok(AppliedMigration {
                    version: row.get(0)?,
                    name: row.get(1)?,
                    checksum: checksum.parse().unwrap_or(0),
                    applied_on: row.get(2)?,
                })
            })?;
            rows.collect()
        })
    }

    fn recorded_objects(&self) -> Result<Vec<RecordedObject>, DbError> {
        let sql = match self.bookkeeping_table(core_schema::OWNERS_TABLE)? {
            None => return Ok(Vec::new()),
            Some(core_schema::OWNERS_TABLE) => "SELECT name, kind, plugin FROM shopdb_core_owners ORDER BY name",
            // Before core V5 only tables were recorded.
            Some(_) => "SELECT lower(table_name), 'table', plugin FROM shopdb_table_owners ORDER BY 1",
        };
        self.read_rows("reading the owners of names", |conn| {
            let mut stmt = conn.prepare(sql)?;
            let rows = stmt.query_map([], |r| {
                let kind: String = r.get(1)?;
                Ok(RecordedObject {
                    name: r.get(0)?,
                    kind: ObjectKind::parse(&kind).unwrap_or(ObjectKind::Table),
                    plugin: r.get(2)?,
                })
            })?;
            rows.collect()
        })
    }

    fn installed_plugins(&self) -> Result<Vec<InstalledPlugin>, DbError> {
        let Some(table) = self.bookkeeping_table(core_schema::PLUGINS_TABLE)? else {
            return Ok(Vec::new());
        };
        self.read_rows("reading installed plugins", |conn| {
            // A database whose core chain is older has no digest column
            // (and `check` reads it without upgrading anything).
            let has_digest: bool = conn.query_row(
                "SELECT count(*) > 0 FROM pragma_table_info(?1) WHERE name = 'checked_digest'",
                [table.trim_matches('"')],
                |r| r.get(0),
            )?;
            let digest = if has_digest { "checked_digest" } else { "NULL" };
            let mut stmt =
                conn.prepare(&format!("SELECT name, version, depends_on, {digest} FROM {table} ORDER BY name"))?;
            let rows = stmt.query_map([], |r| {
                let depends_on: String = r.get(2)?;
                Ok(InstalledPlugin {
                    name: r.get(0)?,
                    version: r.get(1)?,
                    depends_on: serde_json::from_str(&depends_on).unwrap_or_default(),
                    checked_digest: r.get(3)?,
                })
            })?;
            rows.collect()
        })
    }

    fn marks(&self, plugin: &str) -> Result<Vec<RecordedMark>, DbError> {
        let Some(table) = self.bookkeeping_table(core_schema::MARKS_TABLE)? else {
            return Ok(Vec::new());
        };
        self.read_rows("reading history marks", |conn| {
            let mut stmt =
                conn.prepare(&format!("SELECT version, how, recorded_at FROM {table} WHERE plugin = ?1 ORDER BY id"))?;
            let rows = stmt.query_map([plugin], |r| {
                Ok(RecordedMark { version: r.get(0)?, how: r.get(1)?, recorded_at: r.get(2)? })
            })?;
            rows.collect()
        })
    }

    fn audit_records(&self, plugin: Option<&str>) -> Result<Vec<AuditRecord>, DbError> {
        let Some(table) = self.bookkeeping_table(core_schema::AUDIT_TABLE)? else {
            return Ok(Vec::new());
        };
        self.read_rows("reading the audit record", |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT id, at, os_user, command, plugin, from_version, to_version, file_sha256, outcome, reason \
                 FROM {table} WHERE ?1 IS NULL OR plugin = ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map([plugin], |r| {
                Ok(AuditRecord {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    os_user: r.get(2)?,
                    command: r.get(3)?,
                    plugin: r.get(4)?,
                    from_version: r.get(5)?,
                    to_version: r.get(6)?,
                    file_sha256: r.get(7)?,
                    outcome: r.get(8)?,
                    reason: r.get(9)?,
                })
            })?;
            rows.collect()
        })
    }

    fn existing(&self, _plugin: Option<&str>, names: &[String]) -> Result<BTreeMap<String, ObjectKind>, DbError> {
        schema::existing(&self.conn, names).map_err(|e| self.error("reading the schema", e))
    }

    fn read_schema(&self, _plugin: &str, tables: &dyn Fn(&str) -> bool) -> Result<Schema, DbError> {
        schema::read(&self.conn, tables).map_err(|e| DbError::Engine {
            target: self.target.clone(),
            what: "reading the schema",
            source: Box::new(e),
        })
    }

    fn row_count(&self, _plugin: &str, table: &str) -> Result<i64, DbError> {
        let sql = format!("SELECT count(*) FROM \"{}\"", table.replace('"', "\"\""));
        self.conn.query_row(&sql, [], |r| r.get(0)).map_err(|e| self.error("counting rows", e))
    }

    fn backup(&mut self, _plugin: &str, _history: Option<&str>) -> Result<Backup, DbError> {
        let file = self.path.clone();
        let target = backup_path(&file);
        self.backup_to(&target)?;
        let quote = |p: &Path| format!("'{}'", p.to_string_lossy().replace('\'', r"'\''"));
        let restore = format!("cp {} {}", quote(&target), quote(&file));
        Ok(Backup { path: target, restore })
    }

    fn begin_session(&mut self, dry_run: bool) -> Result<(), DbError> {
        self.conn.execute_batch("PRAGMA foreign_keys = OFF").map_err(|e| self.error("preparing the run", e))?;
        self.dry_run = dry_run;
        if dry_run {
            self.conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| self.error("starting a transaction", e))?;
        }
        Ok(())
    }

    fn end_session(&mut self) {
        if self.dry_run && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        self.dry_run = false;
        let _ = self.conn.execute_batch("PRAGMA foreign_keys = ON");
    }

    fn begin_chain(&mut self) -> Result<(), DbError> {
        let begin = if self.dry_run { "SAVEPOINT shopdb_chain" } else { "BEGIN IMMEDIATE" };
        self.conn.execute_batch(begin).map_err(|e| self.error("starting a transaction", e))?;
        self.chain = Some(OpenChain::default());
        Ok(())
    }

    fn run_chain(&mut self, run: &ChainRun<'_>, execution: Execution) -> Result<Vec<ChainMigration>, ApplyError> {
        let before: HashSet<i32> = self.applied(&run.history)?.iter().map(|a| a.version).collect();
        let migrations: Vec<Migration> = run.migrations.iter().map(ChainMigration::to_refinery).collect();
        let target = match (execution, run.target) {
            (Execution::Run, None) => Target::Latest,
            (Execution::Run, Some(v)) => Target::Version(v),
            (Execution::HistoryOnly, None) => Target::Fake,
            (Execution::HistoryOnly, Some(v)) => Target::FakeVersion(v),
        };
        let mut runner = Runner::new(&migrations)
            .set_grouped(true)
            .set_abort_divergent(true)
            .set_abort_missing(true)
            .set_target(target);
        runner.set_migration_table_name(&run.history);

        let pending: Vec<&ChainMigration> = run
            .migrations
            .iter()
            .filter(|m| !before.contains(&m.version) && run.target.is_none_or(|t| m.version <= t))
            .collect();
        let watched = match (&self.progress, execution) {
            (Some(progress), Execution::Run) => Some(Watched {
                progress: Arc::clone(progress),
                chain: run.owner.to_owned(),
                labels: pending.iter().enumerate().map(|(i, m)| (m.sql.as_str(), (i + 1, m.label()))).collect(),
                total: pending.len(),
            }),
            _ => None,
        };
        let mut log = std::mem::take(&mut self.chain_state().log);
        let mut driver = Driver {
            conn: &self.conn,
            guard: &self.guard,
            policy: run.policy.clone(),
            plugin_sql: run.migrations.iter().map(|m| m.sql.as_str()).collect(),
            watched,
            failed: None,
            log: &mut log,
            touched: Touched::default(),
        };
        let report = runner.run(&mut driver);
        let failed = driver.failed.take();
        let touched = std::mem::take(&mut driver.touched);
        self.chain_state().log = log;
        if run.policy.is_none() {
            self.chain_state().foreign_keys.everything = true;
        }
        let report = report.map_err(|e| self.explain(run, e, failed))?;
        // refinery reports what it ran; what it only recorded is read back.
        let after: HashSet<i32> = match execution {
            Execution::Run => report.applied_migrations().iter().map(|m| m.version()).collect(),
            Execution::HistoryOnly => self.applied(&run.history)?.iter().map(|a| a.version).collect(),
        };
        let reached = ChainRun::reached(&before, &after);

        if let Some(policy) = &run.policy {
            // The guard let the plugin take new names while it ran (a
            // rebuild's working table); what is left must be what the chain
            // leaves at that version.
            self.after_plugin_sql(run.owner, policy, &run.referencing, &touched, run.expected_at(reached))?;
            if let Some(plugin) = run.plugin {
                self.record_plugin(run.owner, plugin, &run.names_owned_at(&policy.owned, reached))?;
            }
        }
        Ok(run.newly_applied(&before, &after))
    }

    fn execute_ddl(
        &mut self,
        policy: &Arc<Policy>,
        sql: &str,
        what: &str,
        referencing: &[String],
    ) -> Result<(), ApplyError> {
        self.chain_state().log.push(sql.to_owned());
        match run_restricted(&self.conn, &self.guard, policy, sql) {
            Ok(touched) => self.after_plugin_sql(&policy.plugin, policy, referencing, &touched, None),
            Err(refusal) => Err(self.refused(what.to_owned(), refusal)),
        }
    }

    fn mark(&mut self, plugin: &str, version: i32, how: Mark) -> Result<(), ApplyError> {
        self.execute_host(
            "recording how history was written",
            "INSERT INTO shopdb_core_marks (plugin, version, how) VALUES (?1, ?2, ?3)",
            rusqlite::params![plugin, version, how.as_str()],
        )
        .map(drop)
    }

    fn write_audit(&mut self, entry: &AuditEntry<'_>) -> Result<(), DbError> {
        let Some(actor) = self.actor.clone().filter(|_| !self.dry_run) else {
            return Ok(());
        };
        let Some(table) = self.bookkeeping_table(core_schema::AUDIT_TABLE)? else {
            return Ok(());
        };
        let sql = format!(
            "INSERT INTO {table} (os_user, command, plugin, from_version, to_version, file_sha256, outcome, reason) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        );
        let params = rusqlite::params![
            actor.user,
            actor.command,
            entry.plugin,
            entry.from,
            entry.to,
            entry.sha256,
            entry.outcome.as_str(),
            entry.reason
        ];
        match self.execute_host("writing the audit record", &sql, params) {
            Ok(_) => Ok(()),
            Err(ApplyError::Db(e)) => Err(e),
            Err(other) => Err(DbError::Engine {
                target: self.target.clone(),
                what: "writing the audit record",
                source: Box::new(other),
            }),
        }
    }

    fn drop_plugin(
        &mut self,
        plugin: &str,
        objects: &[DroppedObject],
        history: Option<&str>,
    ) -> Result<(), ApplyError> {
        self.chain_state().foreign_keys.everything = true;
        let quoted = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
        for object in objects.iter().filter(|o| o.kind == ObjectKind::View) {
            self.execute_host("dropping a view", &format!("DROP VIEW {}", quoted(&object.name)), [])?;
        }
        for object in objects.iter().filter(|o| o.kind == ObjectKind::Table) {
            self.execute_host("dropping a table", &format!("DROP TABLE {}", quoted(&object.name)), [])?;
        }
        if let Some(history) = history {
            self.execute_host("dropping the history", &format!("DROP TABLE {}", quoted(history)), [])?;
        }
        // Every name it owned is free again.
        for (table, column) in [
            (core_schema::OWNERS_TABLE, "plugin"),
            (core_schema::PLUGINS_TABLE, "name"),
            (core_schema::MARKS_TABLE, "plugin"),
        ] {
            if let Some(table) = self.bookkeeping_table(table)? {
                self.execute_host(
                    "forgetting the plugin",
                    &format!("DELETE FROM {table} WHERE {column} = ?1"),
                    [plugin],
                )?;
            }
        }
        Ok(())
    }

    fn commit_chain(&mut self, closing: Option<&AuditEntry<'_>>) -> Result<Vec<String>, ApplyError> {
        if let Some(entry) = closing {
            self.write_audit(entry).map_err(ApplyError::Db)?;
        }
        self.check_foreign_keys()?;
        let end = if self.dry_run { "RELEASE shopdb_chain" } else { "COMMIT" };
        self.conn.execute_batch(end).map_err(|e| ApplyError::Db(self.error("committing", e)))?;
        Ok(self.chain.take().map(|c| c.log).unwrap_or_default())
    }

    fn statement_count(&self) -> usize {
        self.chain.as_ref().map_or(0, |c| c.log.len())
    }

    fn rollback_chain(&mut self) {
        self.chain = None;
        let end = if self.dry_run { "ROLLBACK TO shopdb_chain; RELEASE shopdb_chain" } else { "ROLLBACK" };
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch(end);
        }
    }
}

/// Runs `sql` on the SQLite file at `path` as it is (creating it): for
/// tests that need a database made by hand.
#[cfg(test)]
pub(crate) fn file_made_with(path: &Path, sql: &str) {
    Connection::open(path).and_then(|c| c.execute_batch(sql)).expect("the setup runs");
}

/// `<file>.<UTC timestamp>.bak` next to the database, never an existing file.
fn backup_path(database: &Path) -> PathBuf {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let stamp = time::OffsetDateTime::now_utc().format(&format).unwrap_or_else(|_| "backup".into());
    let name = database.file_name().map_or_else(|| "shopdb.sqlite".into(), |n| n.to_string_lossy().into_owned());
    let mut candidate = database.with_file_name(format!("{name}.{stamp}.bak"));
    let mut n = 1;
    while candidate.exists() {
        candidate = database.with_file_name(format!("{name}.{stamp}-{n}.bak"));
        n += 1;
    }
    candidate
}

impl SqliteEngine {
    /// Writes a consistent copy of the whole database to `target` (SQLite's
    /// online backup).
    fn backup_to(&self, target: &Path) -> Result<(), DbError> {
        let mut copy =
            Connection::open(target).map_err(|e| classify(target, "creating the backup", e, self.busy_timeout))?;
        let backup =
            rusqlite::backup::Backup::new(&self.conn, &mut copy).map_err(|e| self.error("starting the backup", e))?;
        backup
            .run_to_completion(256, Duration::from_millis(0), None)
            .map_err(|e| classify(target, "writing the backup", e, self.busy_timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{apply, ChainRun};
    use crate::plugins::manifest::Manifest;
    use plugin_api::{MigrationRecord, PluginDescription};

    fn chain(migrations: &[(i64, &str, &str)]) -> Vec<ChainMigration> {
        let records = migrations.iter().map(|(v, n, sql)| MigrationRecord::new(*v, n, sql));
        let description = PluginDescription::new("mine", "1.0.0", "", &["mine"], &[], "", records);
        Manifest::try_from(&description).unwrap().chain
    }

    fn database() -> (tempfile::TempDir, SqliteEngine) {
        let dir = tempfile::tempdir().unwrap();
        let mut db = SqliteEngine::open(&dir.path().join("shop.sqlite"), OpenMode::Change, DEFAULT_BUSY_TIMEOUT)
            .unwrap()
            .unwrap();
        apply(&mut db, &crate::runs::core_run(crate::schema::Dialect::Sqlite)).unwrap();
        (dir, db)
    }

    fn run<'a>(migrations: &'a [ChainMigration]) -> ChainRun<'a> {
        let policy = Policy {
            plugin: "mine".into(),
            owned: ["mine".to_owned()].into(),
            readable: core_schema::tables().clone(),
            ..Policy::default()
        };
        ChainRun {
            owner: "mine",
            history: "shopdb_history_mine".into(),
            migrations,
            target: None,
            policy: Some(Arc::new(policy)),
            plugin: Some(PluginRecord { version: "1.0.0", depends_on: &[], checked_digest: None }),
            names: None,
            referencing: vec!["mine".to_owned()],
        }
    }

    fn tables(db: &SqliteEngine) -> Vec<String> {
        let mut stmt = db.conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn the_guard_denies_a_core_drop_inside_a_grouped_run_and_the_whole_run_rolls_back() {
        let (_dir, mut db) = database();
        let before = tables(&db);
        let migrations =
            chain(&[(1, "baseline", "CREATE TABLE mine (id INTEGER PRIMARY KEY)"), (2, "attack", "DROP TABLE sites")]);
        match apply(&mut db, &run(&migrations)) {
            Err(ApplyError::Denied { migration, denial }) => {
                assert_eq!(migration, "V2__attack");
                assert_eq!(denial.action, "DROP TABLE `sites`");
            }
            other => panic!("expected a denial, got {other:?}"),
        }
        assert_eq!(tables(&db), before, "V1, the history table and the owner rows must all be gone");
        assert!(db.recorded_objects().unwrap().is_empty());
    }

    #[test]
    fn a_foreign_key_violation_left_by_a_run_rolls_it_back_and_names_the_row() {
        let (_dir, mut db) = database();
        let migrations = chain(&[(
            1,
            "baseline",
            "CREATE TABLE mine (id INTEGER PRIMARY KEY, site_id INTEGER NOT NULL REFERENCES sites (id));
             INSERT INTO mine (id, site_id) VALUES (7, 999);",
        )]);
        match apply(&mut db, &run(&migrations)) {
            Err(ApplyError::ForeignKey { table, rowid, parent }) => {
                assert_eq!((table.as_str(), rowid, parent.as_str()), ("mine", 7, "sites"))
            }
            other => panic!("expected a foreign key violation, got {other:?}"),
        }
        assert!(!tables(&db).contains(&"mine".to_owned()));
        let on: bool = db.conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert!(on, "foreign keys are switched back on after a failed run");
    }

    #[test]
    fn a_run_applies_every_pending_migration_and_records_history_and_owners_together() {
        let (_dir, mut db) = database();
        let migrations = chain(&[
            (1, "baseline", "CREATE TABLE mine (id INTEGER PRIMARY KEY)"),
            (2, "more", "ALTER TABLE mine ADD COLUMN label TEXT"),
        ]);
        let applied = apply(&mut db, &run(&migrations)).unwrap();
        assert_eq!(applied.iter().map(ChainMigration::label).collect::<Vec<_>>(), ["V1__baseline", "V2__more"]);
        let history = db.applied("shopdb_history_mine").unwrap();
        assert_eq!(
            history.iter().map(|a| (a.version, a.checksum)).collect::<Vec<_>>(),
            migrations.iter().map(|m| (m.version, m.checksum())).collect::<Vec<_>>()
        );
        let owners = db.recorded_objects().unwrap();
        assert_eq!(owners.iter().map(|o| (o.name.as_str(), o.plugin.as_str())).collect::<Vec<_>>(), [("mine", "mine")]);
        assert!(apply(&mut db, &run(&migrations)).unwrap().is_empty(), "a second run applies nothing");
    }

    #[test]
    fn a_name_recorded_as_another_plugins_since_the_checks_refuses_the_run_and_a_rerun_of_its_own_names_does_not() {
        let (_dir, mut db) = database();
        let migrations = chain(&[(1, "baseline", "CREATE TABLE mine (id INTEGER PRIMARY KEY)")]);
        // Another host recorded the name for its plugin after this run's
        // checks read the owners.
        db.conn
            .execute_batch("INSERT INTO shopdb_core_owners (name, kind, plugin) VALUES ('mine', 'table', 'rival')")
            .unwrap();
        match apply(&mut db, &run(&migrations)) {
            Err(ApplyError::NameTaken { plugin, kind, name, owner }) => {
                assert_eq!(
                    (plugin.as_str(), kind.as_str(), name.as_str(), owner.as_str()),
                    ("mine", "table", "mine", "rival")
                )
            }
            other => panic!("expected the name refused, got {other:?}"),
        }
        assert!(!tables(&db).contains(&"mine".to_owned()), "the run was rolled back");
        let owners = db.recorded_objects().unwrap();
        assert_eq!(
            owners.iter().map(|o| (o.name.as_str(), o.plugin.as_str())).collect::<Vec<_>>(),
            [("mine", "rival")]
        );

        // Names the plugin owns already are recorded again without a refusal.
        db.conn.execute_batch("DELETE FROM shopdb_core_owners").unwrap();
        let more = chain(&[
            (1, "baseline", "CREATE TABLE mine (id INTEGER PRIMARY KEY)"),
            (2, "index", "CREATE INDEX mine_id ON mine (id)"),
        ]);
        apply(&mut db, &run(&more[..1])).unwrap();
        apply(&mut db, &run(&more)).unwrap();
        let owners = db.recorded_objects().unwrap();
        let owners: Vec<(&str, &str, &str)> =
            owners.iter().map(|o| (o.name.as_str(), o.kind.as_str(), o.plugin.as_str())).collect();
        assert_eq!(owners, [("mine", "table", "mine")], "recorded once, still its own");
    }

    #[test]
    fn the_core_objects_read_off_its_sql_are_those_its_chain_builds() {
        let conn = Connection::open_in_memory().unwrap();
        for migration in core_schema::chain() {
            conn.execute_batch(&migration.sql).unwrap();
        }
        let built = schema::read(&conn, |t| !is_bookkeeping(t)).unwrap().table_names();
        assert_eq!(core_schema::tables(), &built);
        let mut stmt =
            conn.prepare("SELECT lower(name), type FROM sqlite_master WHERE name NOT LIKE 'sqlite%'").unwrap();
        let all: BTreeMap<String, ObjectKind> = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .unwrap()
            .map(|r| r.map(|(name, kind)| (name, ObjectKind::parse(&kind).unwrap())))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(&all, core_schema::objects());
    }
}
