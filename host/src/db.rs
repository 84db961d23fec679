//! The database seam: every statement the host runs against an operator's
//! database goes through [`Database`].
//!
//! It has the shape of refinery's drivers: a small type that implements
//! refinery's `Transaction`, `Query` and `Migrate` traits, so refinery's
//! runner does the bookkeeping (history table, checksums, divergence) while
//! the host decides how a run is wrapped:
//!
//! * a [`Session`] switches foreign keys off for its duration (a table
//!   rebuild drops and recreates parents) and, for a dry run, holds one outer
//!   transaction that is rolled back at the end;
//! * each chain runs in a [`ChainTx`]: its own `BEGIN IMMEDIATE` transaction
//!   (so concurrent hosts queue instead of racing; in a dry run, a savepoint),
//!   the [`Guard`] restricting the plugin's own SQL, the host's records of
//!   owners and plugins written alongside, `PRAGMA foreign_key_check` before
//!   commit, and a rollback that leaves the database exactly as it was on any
//!   failure, a crash included.
//!
//! A second engine (PostgreSQL) would be a second implementation of these
//! few types.

use crate::audit::{self, Actor};
use crate::core;
use crate::guard::{probe_bodies, Denial, Guard, Policy, ProbeError, Touched};
use crate::manifest::ChainMigration;
use crate::names::{ChainNames, ObjectKind};
use crate::progress::Progress;
use refinery::{Migration, Runner, Target};
use refinery_core::traits::sync::{Migrate, Query, Transaction};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// How long a run waits for another writer before giving up, by default.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An open shop database.
#[derive(Debug)]
pub struct Database {
    conn: Connection,
    guard: Guard,
    path: PathBuf,
    busy_timeout: Duration,
    /// Who is running the host, for the audit record (`None`: no record,
    /// as in the benchmarks and the library's own tests).
    actor: Option<Actor>,
    /// Who watches the run (`None`: nobody).
    progress: Option<Arc<dyn Progress>>,
}

/// One migration recorded in a history table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedMigration {
    /// Its version.
    pub version: i32,
    /// Its name.
    pub name: String,
    /// refinery's checksum of it when it was applied.
    pub checksum: u64,
    /// When it was applied (RFC 3339).
    pub applied_on: String,
}

/// A request to bring one chain (the core's or a plugin's) forward.
#[derive(Debug, Clone)]
pub struct ChainRun<'a> {
    /// Who owns the chain: `core` or a plugin name (for messages).
    pub owner: &'a str,
    /// The chain's history table.
    pub history: String,
    /// The whole chain, in version order.
    pub migrations: &'a [ChainMigration],
    /// Stop after this version instead of the head.
    pub target: Option<i32>,
    /// What the chain's SQL may touch; `None` for the host's own core chain.
    pub policy: Option<Arc<Policy>>,
    /// The plugin to record as installed with the run (`None` for the core).
    pub plugin: Option<PluginRecord<'a>>,
    /// What the chain creates at each version, from its checks: recorded as
    /// the plugin's names, and compared with what the run leaves.
    pub names: Option<&'a ChainNames>,
    /// Tables that may reference this chain's tables by foreign key: its
    /// own and those of the plugins that depend on it. The check before
    /// commit looks only there (plus what the run changed).
    pub referencing: Vec<String>,
}

/// What the database records about an installed plugin.
#[derive(Debug, Clone, Copy)]
pub struct PluginRecord<'a> {
    /// The plugin's version string.
    pub version: &'a str,
    /// The plugins it depends on.
    pub depends_on: &'a [String],
}

/// Whether a chain's migrations are run, or only recorded as applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Run the pending migrations up to the target.
    Run,
    /// Record them in the history without running them: the schema is
    /// already there (bootstrap from the DDL, adoption, `stamp`).
    Record,
}

/// Why the host recorded history without running the migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// The tables were created from the plugin's DDL.
    Bootstrapped,
    /// The tables were found in place, matching that version.
    Adopted,
    /// An operator said so with `stamp`.
    Stamped,
}

impl Mark {
    fn as_str(self) -> &'static str {
        match self {
            Mark::Bootstrapped => "bootstrapped",
            Mark::Adopted => "adopted",
            Mark::Stamped => "stamped",
        }
    }
}

/// A recorded [`Mark`]: which version, how, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedMark {
    /// Up to which version history was recorded.
    pub version: i32,
    /// How.
    pub how: String,
    /// When (RFC 3339).
    pub recorded_at: String,
}

/// A name the database records as a plugin's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedObject {
    /// The lowercase name.
    pub name: String,
    /// What it was created as.
    pub kind: ObjectKind,
    /// The plugin that owns it.
    pub plugin: String,
}

/// A plugin the database records as installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledPlugin {
    /// Its name.
    pub name: String,
    /// The version last applied.
    pub version: String,
    /// The plugins it depends on.
    pub depends_on: Vec<String>,
}

/// Why the database could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The file's directory does not exist.
    #[error(
        "failed to open database `{path}`: directory `{dir}` does not exist; create it or choose another --database"
    )]
    MissingDirectory { path: PathBuf, dir: PathBuf },
    /// There is no database to act on.
    #[error("database `{0}` does not exist")]
    Missing(PathBuf),
    /// The path names a directory.
    #[error("failed to open database `{0}`: it is a directory; --database must name a file")]
    IsADirectory(PathBuf),
    /// The file exists but is not SQLite.
    #[error("failed to open database `{0}`: the file is not a SQLite database")]
    NotADatabase(PathBuf),
    /// Another process holds the write lock for longer than we wait.
    #[error("database `{path}` is busy: another process has held it for more than {waited:?}; try again when it is done, or raise --busy-timeout")]
    Busy { path: PathBuf, waited: Duration },
    /// A killed run left a journal to roll back, which needs write access.
    #[error("database `{0}` holds the unfinished transaction of a run that was killed, and rolling it back (as SQLite must before anyone reads) needs write access to the file and its directory, which this user lacks: run `shopdb-host status` once as the file's owner; nothing will be lost")]
    Interrupted(PathBuf),
    /// The file is read-only to us.
    #[error("database `{0}` is read-only: check the file's permissions and those of its directory (SQLite writes a journal next to it)")]
    ReadOnly(PathBuf),
    /// The disk (or a size limit) is full.
    #[error("database `{0}` is full: free disk space (or raise the file size limit) and run again; nothing was half-applied")]
    Full(PathBuf),
    /// An in-memory scratch database for the checks could not be set up.
    #[error("failed to prepare a scratch database for the checks: {0}")]
    Scratch(String),
    /// Anything else SQLite reported.
    #[error("database `{path}`: {what} failed")]
    Sqlite {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: rusqlite::Error,
    },
}

/// Why a chain did not apply. The chain's transaction was rolled back.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The database itself failed (busy, read-only, full…).
    #[error(transparent)]
    Db(#[from] DbError),
    /// A migration's SQL failed.
    #[error("migration {migration} failed: {message}")]
    Migration { migration: String, message: String },
    /// The guard refused a statement of the plugin's SQL.
    #[error("migration {migration} was refused: {denial}")]
    Denied { migration: String, denial: Denial },
    /// The run left rows whose foreign keys point nowhere.
    #[error(
        "the run would leave a foreign key violation: row {rowid} of `{table}` references a missing row of `{parent}`"
    )]
    ForeignKey { table: String, rowid: i64, parent: String },
    /// The database records a migration that differs from the plugin's.
    #[error("the database records migration {applied}, but the plugin's V{version} is {current}: the plugin's migration was changed after it was applied")]
    Divergent { version: i32, applied: String, current: String },
    /// The database records a migration the plugin no longer has.
    #[error("the database records migration {applied}, which the plugin does not have: is this an older build of the plugin?")]
    Missing { applied: String },
    /// A check made inside the transaction refused the result.
    #[error("{0}")]
    Refused(String),
    /// The plugin's SQL left a table the plugin does not list.
    #[error("plugin '{plugin}' left table `{table}` that its manifest does not list: add it to `tables` in export_plugin! (and to schema.sql), or drop it in a later migration")]
    LeftBehind { plugin: String, table: String },
    /// The run created a name the database records as another plugin's.
    #[error("plugin '{plugin}' created {kind} `{name}`, a name that belongs to plugin '{owner}': every table, index, trigger and view name belongs to one plugin; rename it in a new migration of '{plugin}'")]
    NameTaken { plugin: String, kind: String, name: String, owner: String },
    /// A refinery failure not covered above.
    #[error("refinery failed: {0}")]
    Refinery(String),
}

impl Database {
    /// Opens (creating if needed) the database at `path` for changes.
    pub fn open(path: &Path, busy_timeout: Duration) -> Result<Database, DbError> {
        if path.is_dir() {
            return Err(DbError::IsADirectory(path.to_owned()));
        }
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

    /// Opens an existing database without the right to change it; `None` when
    /// there is no file yet.
    pub fn open_read_only(path: &Path, busy_timeout: Duration) -> Result<Option<Database>, DbError> {
        if path.is_dir() {
            return Err(DbError::IsADirectory(path.to_owned()));
        }
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

    /// Opens the database for a dry run: the file itself when it exists
    /// (every change is rolled back), otherwise an empty in-memory database
    /// standing in for it, so that a dry run never creates the file.
    pub fn open_for_dry_run(path: &Path, busy_timeout: Duration) -> Result<Database, DbError> {
        if path.exists() {
            return Self::open(path, busy_timeout);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Self::open_with(Path::new(":memory:"), path, flags, busy_timeout)
    }

    fn open_with(file: &Path, path: &Path, flags: OpenFlags, busy_timeout: Duration) -> Result<Database, DbError> {
        let mut conn = Connection::open_with_flags(file, flags).map_err(|e| classify(path, "opening", e))?;
        let setup = |conn: &Connection| -> rusqlite::Result<()> {
            conn.busy_timeout(busy_timeout)?;
            conn.execute_batch("PRAGMA foreign_keys = ON")?;
            // Reading the schema is what tells a SQLite file from anything else.
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
        };
        setup(&conn).map_err(|e| classify_at(path, "opening", e, busy_timeout))?;
        let guard = Guard::install(&mut conn).map_err(|e| classify(path, "installing the authorizer", e))?;
        Ok(Database { conn, guard, path: path.to_owned(), busy_timeout, actor: None, progress: None })
    }

    /// Records every schema change made through this handle in the audit
    /// record, as made by `actor`.
    pub fn set_actor(&mut self, actor: Actor) {
        self.actor = Some(actor);
    }

    /// Reports each migration of the runs made through this handle to
    /// `progress` as it starts and ends.
    pub fn set_progress(&mut self, progress: Arc<dyn Progress>) {
        self.progress = Some(progress);
    }

    /// The file this database lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The raw connection, for the host's own reads (schema, counts).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn error(&self, what: &'static str, source: rusqlite::Error) -> DbError {
        classify_at(&self.path, what, source, self.busy_timeout)
    }

    /// Whether a table of this name exists.
    pub fn has_table(&self, name: &str) -> Result<bool, DbError> {
        // A lookup in SQLite's in-memory schema, not a scan of sqlite_master:
        // this runs once per chain, and a database can hold many.
        self.conn.table_exists(None, name).map_err(|e| self.error("reading the schema", e))
    }

    /// The migrations a history table records, by version; empty when the
    /// table does not exist yet.
    pub fn applied(&self, history: &str) -> Result<Vec<AppliedMigration>, DbError> {
        if !self.has_table(history)? || self.is_legacy_bookkeeping(history)? {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT version, name, applied_on, checksum FROM {history} ORDER BY version");
        let read = || -> rusqlite::Result<Vec<AppliedMigration>> {
            let mut stmt = self.conn.prepare(&sql)?;
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
        };
        read().map_err(|e| self.error("reading migration history", e))
    }

    /// Whether `table` is the host's bookkeeping under its name from before
    /// core V5, in a database no host has upgraded yet: `shopdb_history_marks`
    /// is then the record of stamps, not the history of a plugin called `marks`.
    fn is_legacy_bookkeeping(&self, table: &str) -> Result<bool, DbError> {
        Ok(core::LEGACY_NAMES.iter().any(|(_, legacy)| *legacy == table) && !self.has_table(core::OWNERS_TABLE)?)
    }

    /// The name the bookkeeping table `current` has in this database: its
    /// own, the one it had before core V5 (a database no host has upgraded
    /// yet), or `None` before the core chain created it.
    pub fn bookkeeping_table(&self, current: &'static str) -> Result<Option<&'static str>, DbError> {
        if self.has_table(current)? {
            return Ok(Some(current));
        }
        for (now, legacy) in core::LEGACY_NAMES {
            if now == current && self.has_table(legacy)? {
                return Ok(Some(legacy));
            }
        }
        Ok(None)
    }

    /// Which plugin the database records as the owner of each name (every
    /// table, view, index and trigger a plugin's chain created); empty
    /// before the core chain created the record.
    pub fn recorded_owners(&self) -> Result<BTreeMap<String, String>, DbError> {
        Ok(self.recorded_objects()?.into_iter().map(|o| (o.name, o.plugin)).collect())
    }

    /// Every name the database records as a plugin's, with its kind.
    pub fn recorded_objects(&self) -> Result<Vec<RecordedObject>, DbError> {
        let sql = match self.bookkeeping_table(core::OWNERS_TABLE)? {
            None => return Ok(Vec::new()),
            Some(core::OWNERS_TABLE) => "SELECT name, kind, plugin FROM shopdb_core_owners ORDER BY name",
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

    /// The plugins the database records as installed.
    pub fn installed_plugins(&self) -> Result<Vec<InstalledPlugin>, DbError> {
        let Some(table) = self.bookkeeping_table(core::PLUGINS_TABLE)? else {
            return Ok(Vec::new());
        };
        self.read_rows("reading installed plugins", |conn| {
            let mut stmt = conn.prepare(&format!("SELECT name, version, depends_on FROM {table} ORDER BY name"))?;
            let rows = stmt.query_map([], |r| {
                let depends_on: String = r.get(2)?;
                Ok(InstalledPlugin {
                    name: r.get(0)?,
                    version: r.get(1)?,
                    depends_on: serde_json::from_str(&depends_on).unwrap_or_default(),
                })
            })?;
            rows.collect()
        })
    }

    /// The history `plugin`'s chain had recorded without running, oldest first.
    pub fn marks(&self, plugin: &str) -> Result<Vec<RecordedMark>, DbError> {
        let Some(table) = self.bookkeeping_table(core::MARKS_TABLE)? else {
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

    fn read_rows<T>(
        &self,
        what: &'static str,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        read(&self.conn).map_err(|e| self.error(what, e))
    }

    /// Copies the whole database to `target` with SQLite's online backup,
    /// which gives a consistent copy even while others read.
    pub fn backup_to(&self, target: &Path) -> Result<(), DbError> {
        let mut copy = Connection::open(target).map_err(|e| classify(target, "creating the backup", e))?;
        let backup =
            rusqlite::backup::Backup::new(&self.conn, &mut copy).map_err(|e| self.error("starting the backup", e))?;
        backup
            .run_to_completion(256, Duration::from_millis(0), None)
            .map_err(|e| classify(target, "writing the backup", e))
    }

    /// Starts a session: foreign keys off until it ends; for a dry run, one
    /// outer transaction that is rolled back when the session ends.
    pub fn session(&mut self, dry_run: bool) -> Result<Session<'_>, DbError> {
        self.conn.execute_batch("PRAGMA foreign_keys = OFF").map_err(|e| self.error("preparing the run", e))?;
        let session = Session { db: self, dry_run };
        if dry_run {
            session
                .db
                .conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(|e| session.db.error("starting a transaction", e))?;
        }
        Ok(session)
    }

    /// Brings one chain forward in its own transaction; a convenience for
    /// one chain outside a larger run.
    pub fn apply(&mut self, run: &ChainRun<'_>) -> Result<Vec<ChainMigration>, ApplyError> {
        let mut session = self.session(false)?;
        let mut tx = session.chain()?;
        let applied = tx.run_chain(run, Step::Run)?;
        tx.commit()?;
        Ok(applied)
    }
}

/// A run of one or more chains; see the module docs.
#[derive(Debug)]
pub struct Session<'db> {
    db: &'db mut Database,
    dry_run: bool,
}

impl Session<'_> {
    /// Whether this session's changes are all rolled back at the end.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// The database, for reads between chains.
    pub fn database(&self) -> &Database {
        self.db
    }

    /// Who watches the run, if anyone.
    pub fn progress(&self) -> Option<Arc<dyn Progress>> {
        self.db.progress.clone()
    }

    /// Starts one chain's transaction (a savepoint in a dry run).
    pub fn chain(&mut self) -> Result<ChainTx<'_>, DbError> {
        let begin = if self.dry_run { "SAVEPOINT shopdb_chain" } else { "BEGIN IMMEDIATE" };
        self.db.conn.execute_batch(begin).map_err(|e| self.db.error("starting a transaction", e))?;
        Ok(ChainTx {
            db: self.db,
            dry_run: self.dry_run,
            open: true,
            log: Vec::new(),
            foreign_keys: ForeignKeyScope::default(),
        })
    }
}

impl Session<'_> {
    /// Writes an audit entry in a transaction of its own (for refusals and
    /// failures, after any rollback). Nothing is written in a dry run or
    /// without an actor; a failure to write is reported, not fatal.
    pub fn audit(&mut self, entry: &audit::Entry<'_>) -> Result<(), DbError> {
        let Some(actor) = self.db.actor.as_ref().filter(|_| !self.dry_run) else {
            return Ok(());
        };
        let Some(table) = self.db.bookkeeping_table(core::AUDIT_TABLE)? else {
            return Ok(());
        };
        self.db
            .conn
            .execute(&audit::insert_sql(table), rusqlite::params_from_iter(entry.params(actor)))
            .map(drop)
            .map_err(|e| self.db.error("writing the audit record", e))
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if self.dry_run && !self.db.conn.is_autocommit() {
            let _ = self.db.conn.execute_batch("ROLLBACK");
        }
        let _ = self.db.conn.execute_batch("PRAGMA foreign_keys = ON");
    }
}

/// One chain's transaction. Dropped without [`ChainTx::commit`], it rolls
/// back; so does a crash, since nothing is committed before the end.
#[derive(Debug)]
pub struct ChainTx<'s> {
    db: &'s mut Database,
    dry_run: bool,
    open: bool,
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

impl ChainTx<'_> {
    /// The database, for reads inside the transaction.
    pub fn database(&self) -> &Database {
        self.db
    }

    /// Every statement run so far in this transaction, in order: what a dry
    /// run prints.
    pub fn statements(&self) -> &[String] {
        &self.log
    }

    /// Brings `run`'s chain forward: runs (or records) its pending
    /// migrations up to the target, then checks views and triggers, and
    /// records the plugin and its tables. Returns the migrations applied.
    pub fn run_chain(&mut self, run: &ChainRun<'_>, step: Step) -> Result<Vec<ChainMigration>, ApplyError> {
        let before: HashSet<i32> = self.db.applied(&run.history)?.iter().map(|a| a.version).collect();
        self.db.guard.take_touched();
        let migrations: Vec<Migration> = run.migrations.iter().map(ChainMigration::to_refinery).collect();
        let target = match (step, run.target) {
            (Step::Run, None) => Target::Latest,
            (Step::Run, Some(v)) => Target::Version(v),
            (Step::Record, None) => Target::Fake,
            (Step::Record, Some(v)) => Target::FakeVersion(v),
        };
        let mut runner = Runner::new(&migrations)
            .set_grouped(true)
            .set_abort_divergent(true)
            .set_abort_missing(true)
            .set_target(target);
        runner.set_migration_table_name(&run.history);

        let plugin_sql: HashSet<&str> = run.migrations.iter().map(|m| m.sql.as_str()).collect();
        let pending: Vec<&ChainMigration> = run
            .migrations
            .iter()
            .filter(|m| !before.contains(&m.version) && run.target.is_none_or(|t| m.version <= t))
            .collect();
        let watched = match (&self.db.progress, step) {
            (Some(progress), Step::Run) => Some(Watched {
                progress: Arc::clone(progress),
                chain: run.owner.to_owned(),
                labels: pending.iter().enumerate().map(|(i, m)| (m.sql.as_str(), (i + 1, m.label()))).collect(),
                total: pending.len(),
            }),
            _ => None,
        };
        let mut driver = Driver {
            conn: &self.db.conn,
            guard: &self.db.guard,
            policy: run.policy.clone(),
            watched,
            plugin_sql,
            failed: None,
            log: &mut self.log,
            touched: Touched::default(),
        };
        let report = runner.run(&mut driver);
        let failed = driver.failed.take();
        let touched = std::mem::take(&mut driver.touched);
        if run.policy.is_none() {
            self.foreign_keys.everything = true;
        }
        let report = report.map_err(|e| self.explain(run, e, failed))?;
        // refinery reports what it ran; what it only recorded is read back.
        let after: HashSet<i32> = match step {
            Step::Run => report.applied_migrations().iter().map(|m| m.version()).collect(),
            Step::Record => self.db.applied(&run.history)?.iter().map(|a| a.version).collect(),
        };
        let reached = before.iter().chain(&after).copied().max();

        if let Some(policy) = &run.policy {
            // The guard let the plugin take new names while it ran (a
            // rebuild's working table); what is left must be what the chain
            // leaves at that version.
            let expected = match (run.names, reached) {
                (Some(names), Some(version)) => names.present_at(version),
                _ => None,
            };
            self.after_plugin_sql(run.owner, policy, &run.referencing, &touched, expected)?;
            if let Some(plugin) = run.plugin {
                let mut names = match (run.names, reached) {
                    (Some(names), Some(version)) => names.created_through(version),
                    _ => BTreeMap::new(),
                };
                for table in &policy.owned {
                    names.entry(table.clone()).or_insert(ObjectKind::Table);
                }
                self.record_plugin(run.owner, plugin, &names)?;
            }
        }
        Ok(run
            .migrations
            .iter()
            .filter(|m| after.contains(&m.version) && !before.contains(&m.version))
            .cloned()
            .collect())
    }

    /// Runs `sql` (a plugin's DDL) under `policy`, naming `what` on failure.
    pub fn execute_as(
        &mut self,
        policy: &Arc<Policy>,
        sql: &str,
        what: &str,
        referencing: &[String],
    ) -> Result<(), ApplyError> {
        self.log.push(sql.to_owned());
        self.db.guard.take_touched();
        let result = {
            let _restricted = self.db.guard.restrict(Arc::clone(policy));
            self.db.conn.execute_batch(sql).map_err(|e| {
                let denial = self.db.guard.take_denial().or_else(|| policy.name_taken(&sqlite_message(&e)));
                (e, denial)
            })
        };
        match result {
            Ok(()) => {
                let touched = self.db.guard.take_touched();
                probe_bodies(&self.db.conn, &self.db.guard, policy, &touched).map_err(|e| match e {
                    ProbeError::Denied(denial) => ApplyError::Denied { migration: what.to_owned(), denial },
                    ProbeError::Sqlite(source) => ApplyError::Db(self.db.error("checking views and triggers", source)),
                })?;
                self.after_plugin_sql(&policy.plugin, policy, referencing, &touched, None)
            }
            Err((_, Some(denial))) => Err(ApplyError::Denied { migration: what.to_owned(), denial }),
            Err((error, None)) => match self.db.error("applying", error) {
                DbError::Sqlite { source, .. } => {
                    Err(ApplyError::Migration { migration: what.to_owned(), message: sqlite_message(&source) })
                }
                other => Err(ApplyError::Db(other)),
            },
        }
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
        for created in touched.created.iter().filter(|t| !expected_here(t) && !core::is_bookkeeping(t)) {
            let exists = crate::schema::object_exists(&self.db.conn, created);
            if exists.map_err(|e| ApplyError::Db(self.db.error("reading the schema", e)))? {
                return Err(ApplyError::LeftBehind { plugin: owner.to_owned(), table: created.clone() });
            }
        }
        self.foreign_keys.changed.extend(touched.written.iter().chain(&touched.dropped).cloned());
        self.foreign_keys.referencing.extend(referencing.iter().cloned());
        Ok(())
    }

    /// Runs one statement of the host's own (not a plugin's) and logs it.
    pub fn execute_host(
        &mut self,
        what: &'static str,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<usize, ApplyError> {
        self.log.push(sql.to_owned());
        // Cached: the same few statements record every plugin's owners,
        // plugin row and audit entry, a table at a time.
        let mut statement = self.db.conn.prepare_cached(sql).map_err(|e| ApplyError::Db(self.db.error(what, e)))?;
        statement.execute(params).map_err(|e| ApplyError::Db(self.db.error(what, e)))
    }

    /// Writes an audit entry inside this transaction (for a run that
    /// applied: it lands or rolls back with the run). Nothing is written in
    /// a dry run or without an actor.
    pub fn audit(&mut self, entry: &audit::Entry<'_>) -> Result<(), ApplyError> {
        let Some(actor) = self.db.actor.clone().filter(|_| !self.dry_run) else {
            return Ok(());
        };
        let Some(table) = self.db.bookkeeping_table(core::AUDIT_TABLE)? else {
            return Ok(());
        };
        let sql = audit::insert_sql(table);
        self.execute_host("writing the audit record", &sql, rusqlite::params_from_iter(entry.params(&actor))).map(drop)
    }

    /// Notes that `plugin`'s history up to `version` was recorded, not run.
    pub fn mark(&mut self, plugin: &str, version: i32, how: Mark) -> Result<(), ApplyError> {
        self.execute_host(
            "recording how history was written",
            "INSERT INTO shopdb_core_marks (plugin, version, how) VALUES (?1, ?2, ?3)",
            rusqlite::params![plugin, version, how.as_str()],
        )
        .map(drop)
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
        // after the plugin's SQL changed the schema.
        let pairs: Vec<(&str, &str)> = names.iter().map(|(name, kind)| (name.as_str(), kind.as_str())).collect();
        let pairs = serde_json::to_string(&pairs).expect("pairs of strings serialize to JSON");
        let taken = self
            .db
            .conn
            .query_row(
                "SELECT o.name, o.kind, o.plugin FROM shopdb_core_owners o \
                 JOIN json_each(?1) j ON o.name = j.value ->> 0 WHERE o.plugin <> ?2 LIMIT 1",
                [pairs.as_str(), plugin],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)),
            )
            .optional()
            .map_err(|e| ApplyError::Db(self.db.error("recording the owners of names", e)))?;
        if let Some((name, kind, owner)) = taken {
            return Err(ApplyError::NameTaken { plugin: plugin.to_owned(), kind, name, owner });
        }
        self.execute_host(
            "recording the owners of names",
            "INSERT OR IGNORE INTO shopdb_core_owners (name, kind, plugin) \
             SELECT value ->> 0, value ->> 1, ?2 FROM json_each(?1)",
            [pairs.as_str(), plugin],
        )?;
        let depends_on = serde_json::to_string(record.depends_on).expect("a list of strings serializes to JSON");
        self.execute_host(
            "recording the plugin",
            "INSERT INTO shopdb_core_plugins (name, version, depends_on) VALUES (?1, ?2, ?3) \
             ON CONFLICT (name) DO UPDATE SET version = excluded.version, depends_on = excluded.depends_on, \
             updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
            [plugin, record.version, depends_on.as_str()],
        )
        .map(drop)
    }

    /// Checks foreign keys, then commits (in a dry run, releases the
    /// savepoint: the session rolls everything back at its end).
    pub fn commit(mut self) -> Result<Vec<String>, ApplyError> {
        self.check_foreign_keys()?;
        let end = if self.dry_run { "RELEASE shopdb_chain" } else { "COMMIT" };
        self.db.conn.execute_batch(end).map_err(|e| ApplyError::Db(self.db.error("committing", e)))?;
        self.open = false;
        Ok(std::mem::take(&mut self.log))
    }

    /// Makes the check before commit look at every table (for the host's
    /// own destructive statements).
    pub fn check_all_foreign_keys(&mut self) {
        self.foreign_keys.everything = true;
    }

    /// `PRAGMA foreign_key_check` on what the transaction may have broken:
    /// everything after the core's or the host's own statements; after a
    /// plugin's, the tables whose rows it changed or that it dropped, and
    /// those of the tables that may reference them that do. A migration that
    /// only adds columns or indexes checks no rows at all.
    fn check_foreign_keys(&self) -> Result<(), ApplyError> {
        let scope = &self.foreign_keys;
        if scope.everything {
            return self.foreign_key_violation(None);
        }
        let mut tables: BTreeSet<&str> = BTreeSet::new();
        for table in &scope.changed {
            if self.db.has_table(table)? {
                tables.insert(table);
            }
        }
        if scope.changed.is_empty() {
            return Ok(());
        }
        for candidate in &scope.referencing {
            if tables.contains(candidate.as_str()) || !self.db.has_table(candidate)? {
                continue;
            }
            let read = || -> rusqlite::Result<bool> {
                let mut stmt =
                    self.db.conn.prepare_cached("SELECT lower(\"table\") FROM pragma_foreign_key_list(?1)")?;
                let parents = stmt.query_map([candidate], |r| r.get::<_, String>(0))?;
                for parent in parents {
                    if scope.changed.contains(&parent?) {
                        return Ok(true);
                    }
                }
                Ok(false)
            };
            if read().map_err(|e| ApplyError::Db(self.db.error("checking foreign keys", e)))? {
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
            Some(table) => self.db.conn.query_row(sql, [table], row),
            None => self.db.conn.query_row(sql, [], row),
        };
        match violation {
            Ok((table, rowid, parent)) => Err(ApplyError::ForeignKey { table, rowid: rowid.unwrap_or(0), parent }),
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(()),
            Err(e) => Err(ApplyError::Db(self.db.error("checking foreign keys", e))),
        }
    }

    /// Turns refinery's error into one that names the migration and says why.
    fn explain(&self, run: &ChainRun<'_>, error: refinery::Error, failed: Option<Failure>) -> ApplyError {
        use refinery::error::Kind;
        match error.kind() {
            Kind::DivergentVersion(applied, current) => ApplyError::Divergent {
                version: current.version(),
                applied: applied.to_string(),
                current: current.to_string(),
            },
            Kind::MissingVersion(applied) => ApplyError::Missing { applied: applied.to_string() },
            _ => match failed {
                Some(failure) => {
                    let migration = run
                        .migrations
                        .iter()
                        .find(|m| m.sql == failure.sql)
                        .map_or_else(|| format!("bookkeeping of {}", run.owner), ChainMigration::label);
                    if let Some(denial) = failure.denial {
                        ApplyError::Denied { migration, denial }
                    } else {
                        match self.db.error("applying", failure.error) {
                            DbError::Sqlite { source, .. } => {
                                ApplyError::Migration { migration, message: sqlite_message(&source) }
                            }
                            other => ApplyError::Db(other),
                        }
                    }
                }
                None => ApplyError::Refinery(error.to_string()),
            },
        }
    }
}

impl Drop for ChainTx<'_> {
    fn drop(&mut self) {
        if self.open {
            let end = if self.dry_run { "ROLLBACK TO shopdb_chain; RELEASE shopdb_chain" } else { "ROLLBACK" };
            if !self.db.conn.is_autocommit() {
                let _ = self.db.conn.execute_batch(end);
            }
        }
    }
}

/// SQLite's own message for an error, without rusqlite's decoration.
pub fn sqlite_message(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(e, Some(message)) => {
            if e.code == ErrorCode::ConstraintViolation || message.contains(' ') {
                message.clone()
            } else {
                format!("{message} ({e})")
            }
        }
        other => other.to_string(),
    }
}

fn classify(path: &Path, what: &'static str, source: rusqlite::Error) -> DbError {
    classify_at(path, what, source, DEFAULT_BUSY_TIMEOUT)
}

/// Names the errors an operator can act on; the rest keep SQLite's words.
fn classify_at(path: &Path, what: &'static str, source: rusqlite::Error, waited: Duration) -> DbError {
    let path = path.to_owned();
    match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => DbError::Busy { path, waited },
        Some(ErrorCode::NotADatabase) => DbError::NotADatabase(path),
        Some(ErrorCode::ReadOnly) if extended_code(&source) == Some(rusqlite::ffi::SQLITE_READONLY_ROLLBACK) => {
            DbError::Interrupted(path)
        }
        Some(ErrorCode::ReadOnly) => DbError::ReadOnly(path),
        Some(ErrorCode::DiskFull) => DbError::Full(path),
        // A write cut short by a file size limit reaches SQLite as EFBIG.
        Some(ErrorCode::SystemIoFailure) if is_write_error(&source) => DbError::Full(path),
        Some(ErrorCode::CannotOpen) if path.parent().is_some_and(|d| !d.as_os_str().is_empty() && !d.is_dir()) => {
            let dir = path.parent().map(Path::to_owned).unwrap_or_default();
            DbError::MissingDirectory { path, dir }
        }
        _ => DbError::Sqlite { path, what, source },
    }
}

/// SQLite's extended result code for `error`, if it is SQLite's.
fn extended_code(error: &rusqlite::Error) -> Option<i32> {
    match error {
        rusqlite::Error::SqliteFailure(e, _) => Some(e.extended_code),
        _ => None,
    }
}

/// Whether an I/O error happened while writing (extended codes
/// SQLITE_IOERR_WRITE and SQLITE_IOERR_FSYNC, SQLITE_IOERR_TRUNCATE).
fn is_write_error(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _)
            if [rusqlite::ffi::SQLITE_IOERR_WRITE, rusqlite::ffi::SQLITE_IOERR_FSYNC, rusqlite::ffi::SQLITE_IOERR_TRUNCATE]
                .contains(&e.extended_code)
    )
}

/// The statement that failed inside refinery's run, kept because refinery
/// reduces errors to text.
struct Failure {
    sql: String,
    error: rusqlite::Error,
    denial: Option<Denial>,
}

/// refinery's view of the connection while a run is in progress: the outer
/// transaction is already open, so "transactions" here are plain statements.
struct Driver<'c> {
    conn: &'c Connection,
    guard: &'c Guard,
    policy: Option<Arc<Policy>>,
    /// The chain's own SQL: only these texts run under the plugin's policy;
    /// everything else is refinery's bookkeeping (history table and rows).
    plugin_sql: HashSet<&'c str>,
    /// Who watches, and the label of each pending migration's SQL.
    watched: Option<Watched<'c>>,
    failed: Option<Failure>,
    /// Every statement executed, for dry runs and reports.
    log: &'c mut Vec<String>,
    /// What the plugin's SQL touched, over the whole run.
    touched: Touched,
}

/// What a [`Driver`] reports to the one watching the run.
struct Watched<'c> {
    progress: Arc<dyn Progress>,
    chain: String,
    /// A pending migration's SQL → its place in the run and its label.
    labels: HashMap<&'c str, (usize, String)>,
    total: usize,
}

/// The error a [`Driver`] hands to refinery (which keeps only its text).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct DriverError(String);

impl Driver<'_> {
    fn fail(&mut self, sql: &str, error: rusqlite::Error, denial: Option<Denial>) -> DriverError {
        let message = sqlite_message(&error);
        self.failed = Some(Failure { sql: sql.to_owned(), error, denial });
        DriverError(message)
    }
}

impl Transaction for Driver<'_> {
    type Error = DriverError;

    fn execute<'a, T: Iterator<Item = &'a str>>(&mut self, queries: T) -> Result<usize, Self::Error> {
        let mut count = 0;
        for sql in queries {
            self.log.push(sql.to_owned());
            let policy = self.policy.clone().filter(|_| self.plugin_sql.contains(sql));
            let watched = self.watched.as_ref().and_then(|w| w.labels.get(sql).map(|(i, label)| (w, *i, label)));
            if let Some((w, i, label)) = watched {
                w.progress.migration_started(&w.chain, label, i, w.total);
            }
            let started = std::time::Instant::now();
            let result = match &policy {
                Some(policy) => {
                    let _restricted = self.guard.restrict(Arc::clone(policy));
                    self.conn.execute_batch(sql).map_err(|e| {
                        let denial = self.guard.take_denial().or_else(|| policy.name_taken(&sqlite_message(&e)));
                        (e, denial)
                    })
                }
                None => self.conn.execute_batch(sql).map_err(|e| (e, None)),
            };
            tracing::debug!(
                "{} µs: {}",
                started.elapsed().as_micros(),
                sql.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("--")).unwrap_or("")
            );
            if let Err((error, denial)) = result {
                return Err(self.fail(sql, error, denial));
            }
            if let Some((w, _, label)) = watched {
                w.progress.migration_finished(&w.chain, label, started.elapsed());
            }
            if let Some(policy) = &policy {
                // Views and triggers this migration created are probed now,
                // so that a refusal names the migration.
                let touched = self.guard.take_touched();
                if let Err(ProbeError::Denied(denial)) = probe_bodies(self.conn, self.guard, policy, &touched) {
                    return Err(self.fail(sql, rusqlite::Error::InvalidQuery, Some(denial)));
                }
                self.touched.absorb(touched);
            }
            count += 1;
        }
        Ok(count)
    }
}

impl Query<Vec<Migration>> for Driver<'_> {
    fn query(&mut self, query: &str) -> Result<Vec<Migration>, Self::Error> {
        let read = || -> rusqlite::Result<Vec<(i32, String, String, String)>> {
            let mut stmt = self.conn.prepare(query)?;
            let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?;
            rows.collect()
        };
        let rows = read().map_err(|e| self.fail(query, e, None))?;
        rows.into_iter()
            .map(|(version, name, applied_on, checksum)| {
                let applied_on = OffsetDateTime::parse(&applied_on, &Rfc3339).unwrap_or(OffsetDateTime::UNIX_EPOCH);
                let checksum = checksum.parse().map_err(|_| {
                    DriverError(format!("history row V{version}__{name} has a corrupt checksum `{checksum}`"))
                })?;
                Ok(Migration::applied(version, name, applied_on, checksum))
            })
            .collect()
    }
}

impl Migrate for Driver<'_> {
    /// refinery's history table, with `version INTEGER PRIMARY KEY` where
    /// refinery writes `INT4 PRIMARY KEY`: the same columns and values, but
    /// the version is the rowid, so SQLite keeps no separate index (one
    /// b-tree and one schema entry less per plugin, which every `ALTER TABLE`
    /// re-reads). Tables made by earlier hosts keep their definition.
    fn assert_migrations_table_query(migration_table_name: &str) -> String {
        history_table_ddl(migration_table_name)
    }
}

/// The `CREATE TABLE IF NOT EXISTS` of a history table named `table` (a
/// validated name: see [`crate::manifest::history_table`]).
pub(crate) fn history_table_ddl(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {table}(version INTEGER PRIMARY KEY, name VARCHAR(255), \
         applied_on VARCHAR(255), checksum VARCHAR(255));"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;
    use plugin_api::{MigrationRecord, PluginDescription};

    fn chain(migrations: &[(i64, &str, &str)]) -> Vec<ChainMigration> {
        let records = migrations.iter().map(|(v, n, sql)| MigrationRecord::new(*v, n, sql));
        let description = PluginDescription::new("mine", "1.0.0", "", &["mine"], &[], "", records);
        Manifest::try_from(&description).unwrap().chain
    }

    fn database() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Database::open(&dir.path().join("shop.sqlite"), DEFAULT_BUSY_TIMEOUT).unwrap();
        db.apply(&crate::migrate::core_run()).unwrap();
        (dir, db)
    }

    fn run<'a>(migrations: &'a [ChainMigration]) -> ChainRun<'a> {
        let policy = Policy {
            plugin: "mine".into(),
            owned: ["mine".to_owned()].into(),
            readable: core::tables().clone(),
            ..Policy::default()
        };
        ChainRun {
            owner: "mine",
            history: "shopdb_history_mine".into(),
            migrations,
            target: None,
            policy: Some(Arc::new(policy)),
            plugin: Some(PluginRecord { version: "1.0.0", depends_on: &[] }),
            names: None,
            referencing: vec!["mine".to_owned()],
        }
    }

    fn tables(db: &Database) -> Vec<String> {
        let mut stmt =
            db.connection().prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn the_guard_denies_a_core_drop_inside_a_grouped_run_and_the_whole_run_rolls_back() {
        let (_dir, mut db) = database();
        let before = tables(&db);
        let migrations =
            chain(&[(1, "baseline", "CREATE TABLE mine (id INTEGER PRIMARY KEY)"), (2, "attack", "DROP TABLE sites")]);
        match db.apply(&run(&migrations)) {
            Err(ApplyError::Denied { migration, denial }) => {
                assert_eq!(migration, "V2__attack");
                assert_eq!(denial.action, "DROP TABLE `sites`");
            }
            other => panic!("expected a denial, got {other:?}"),
        }
        assert_eq!(tables(&db), before, "V1, the history table and the owner rows must all be gone");
        assert!(db.recorded_owners().unwrap().is_empty());
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
        match db.apply(&run(&migrations)) {
            Err(ApplyError::ForeignKey { table, rowid, parent }) => {
                assert_eq!((table.as_str(), rowid, parent.as_str()), ("mine", 7, "sites"))
            }
            other => panic!("expected a foreign key violation, got {other:?}"),
        }
        assert!(!tables(&db).contains(&"mine".to_owned()));
        let on: bool = db.connection().query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert!(on, "foreign keys are switched back on after a failed run");
    }

    #[test]
    fn a_run_applies_every_pending_migration_and_records_history_and_owners_together() {
        let (_dir, mut db) = database();
        let migrations = chain(&[
            (1, "baseline", "CREATE TABLE mine (id INTEGER PRIMARY KEY)"),
            (2, "more", "ALTER TABLE mine ADD COLUMN label TEXT"),
        ]);
        let applied = db.apply(&run(&migrations)).unwrap();
        assert_eq!(applied.iter().map(ChainMigration::label).collect::<Vec<_>>(), ["V1__baseline", "V2__more"]);
        let history = db.applied("shopdb_history_mine").unwrap();
        assert_eq!(
            history.iter().map(|a| (a.version, a.checksum)).collect::<Vec<_>>(),
            migrations.iter().map(|m| (m.version, m.checksum())).collect::<Vec<_>>()
        );
        assert_eq!(db.recorded_owners().unwrap().get("mine").map(String::as_str), Some("mine"));
        assert!(db.apply(&run(&migrations)).unwrap().is_empty(), "a second run applies nothing");
    }
}
