//! The engine seam: everything the host asks of an operator's database.
//!
//! The checks and the runs never name a database: they hold a
//! `&mut dyn` [`Engine`] and speak of history, the host's records, the
//! audit record, schemas read back, and a plugin's SQL run under its
//! [`Policy`]. Each engine implements the trait in a folder of its own
//! ([`sqlite`]) with its own means: SQLite's authorizer keeps a plugin inside
//! what it owns there. The shape follows refinery (`traits/` says what a run
//! needs, one `drivers/<db>.rs` each) and sqlx (one `Migrate` per database,
//! each with its own lock): the run logic is written once, over the trait.
//!
//! A run is a [`Session`] (foreign keys off while it lasts; a dry run holds
//! one outer transaction rolled back at its end) of [`ChainTx`]s, one
//! transaction per chain: dropped without [`ChainTx::commit`], it rolls
//! back, and so does a crash, since nothing is committed before the end.

pub mod history;
pub mod policy;
pub mod postgres;
pub mod sqlite;
mod target;

pub use policy::{Denial, Policy, Touched};
pub use target::{DatabaseTarget, Dialect, TargetError};

use crate::engine::history::HistoryError;
use crate::plugins::inventory::{InstalledPlugin, Inventory};
use crate::plugins::manifest::ChainMigration;
use crate::progress::Progress;
use crate::schema::names::{ChainNames, ObjectKind};
use crate::schema::Schema;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long a run waits for another writer before giving up, by default.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// What a command is going to do with the database it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Change it (created when it does not exist).
    Change,
    /// Read it; a database that does not exist yet is not created.
    Read,
    /// Go through a run whose changes are all rolled back; a database that
    /// does not exist yet is not created (an empty stand-in is used).
    DryRun,
}

/// Opens the operator's database. `None` only for [`OpenMode::Read`] of a
/// database that does not exist yet.
pub fn open(
    target: &DatabaseTarget,
    mode: OpenMode,
    busy_timeout: Duration,
) -> Result<Option<Box<dyn Engine>>, DbError> {
    match target {
        DatabaseTarget::Sqlite(path) => {
            Ok(sqlite::SqliteEngine::open(path, mode, busy_timeout)?.map(|e| Box::new(e) as Box<dyn Engine>))
        }
        DatabaseTarget::Postgres(url) => {
            Ok(Some(Box::new(postgres::PostgresEngine::open(url, target, mode, busy_timeout)?) as Box<dyn Engine>))
        }
    }
}

/// Where the checks try each plugin's SQL: scratch databases of the
/// target's engine, laid out like a real one around the plugin (the core
/// schema, and the tables of other plugins its SQL names, as their DDL
/// creates them). Nothing there touches the operator's data.
pub fn scratch_source(target: &DatabaseTarget, inventory: &Inventory) -> Result<Box<dyn ScratchSource>, ScratchError> {
    match target {
        DatabaseTarget::Sqlite(_) => Ok(Box::new(sqlite::scratch::SqliteScratches::new(inventory)?)),
        DatabaseTarget::Postgres(url) => {
            let config = postgres::scratch_config(url, target).map_err(|e| ScratchError::Unavailable {
                what: "PostgreSQL",
                reason: crate::error_chain::one_line(&e),
            })?;
            Ok(Box::new(postgres::scratch::PgScratches::new(config, inventory)))
        }
    }
}

/// Everything the host asks of an operator's database. Object-safe: the
/// runs and checks hold a `&mut dyn Engine`.
pub trait Engine: std::fmt::Debug {
    /// Which database this is (a password in a URL is never shown).
    fn target(&self) -> &DatabaseTarget;
    /// The engine and its version (`SQLite 3.46.0`, `PostgreSQL 150018`):
    /// what else a check's outcome depends on besides the plugin's SQL.
    fn engine_version(&self) -> String;
    /// Records every schema change made through this handle in the audit
    /// record as made by `actor` (without one, nothing is recorded).
    fn set_actor(&mut self, actor: Actor);
    /// Reports each migration of the runs made through this handle.
    fn set_progress(&mut self, progress: Arc<dyn Progress>);

    /// The migrations a history table records, by version; empty when it
    /// does not exist yet.
    fn applied(&self, history: &str) -> Result<Vec<AppliedMigration>, DbError>;
    /// [`Engine::applied`] of several history tables, each requested one in
    /// the answer: one read where the engine can batch them, so that a
    /// no-op run costs no round trip per plugin.
    fn applied_all(&self, histories: &[String]) -> Result<BTreeMap<String, Vec<AppliedMigration>>, DbError> {
        histories.iter().map(|history| Ok((history.clone(), self.applied(history)?))).collect()
    }
    /// Every name the database records as a plugin's, with its kind.
    fn recorded_objects(&self) -> Result<Vec<RecordedObject>, DbError>;
    /// Which plugin the database records as the owner of each name.
    fn recorded_owners(&self) -> Result<BTreeMap<String, String>, DbError> {
        Ok(self.recorded_objects()?.into_iter().map(|o| (o.name, o.plugin)).collect())
    }
    /// The plugins the database records as installed.
    fn installed_plugins(&self) -> Result<Vec<InstalledPlugin>, DbError>;
    /// [`Engine::recorded_objects`] and [`Engine::installed_plugins`]
    /// together, which every changing command reads first: an engine with
    /// round trips reads them in one.
    fn plugin_records(&self) -> Result<PluginRecords, DbError> {
        Ok(PluginRecords { objects: self.recorded_objects()?, installed: self.installed_plugins()? })
    }
    /// The history `plugin`'s chain had recorded without running, oldest first.
    fn marks(&self, plugin: &str) -> Result<Vec<RecordedMark>, DbError>;
    /// The audit record, oldest first, of one plugin or all.
    fn audit_records(&self, plugin: Option<&str>) -> Result<Vec<AuditRecord>, DbError>;
    /// Which of `names` (lowercase) exist, and as what: among `plugin`'s
    /// objects (on an engine that keeps each plugin apart, in its schema),
    /// or among every plugin's when `None`.
    fn existing(&self, plugin: Option<&str>, names: &[String]) -> Result<BTreeMap<String, ObjectKind>, DbError>;
    /// The schema of `plugin`'s tables (and what is on them) that `tables` accepts.
    fn read_schema(&self, plugin: &str, tables: &dyn Fn(&str) -> bool) -> Result<Schema, DbError>;
    /// How many rows `plugin`'s `table` holds.
    fn row_count(&self, plugin: &str, table: &str) -> Result<i64, DbError>;
    /// Writes a backup that holds at least `plugin`'s objects, history and
    /// records (whose history table is `history`), before they are dropped.
    fn backup(&mut self, plugin: &str, history: Option<&str>) -> Result<Backup, DbError>;

    /// Starts a run of chains (see [`Session`]).
    fn begin_session(&mut self, dry_run: bool) -> Result<(), DbError>;
    /// Ends the run; a dry run's changes are rolled back.
    fn end_session(&mut self);
    /// Starts one chain's transaction, taking the run lock: concurrent
    /// hosts queue here (up to the busy timeout).
    fn begin_chain(&mut self) -> Result<(), DbError>;
    /// Brings `run`'s chain forward inside the chain's transaction: runs
    /// (or only records) its pending migrations up to the target, verifies
    /// what the plugin's SQL did, and records the plugin and its names.
    /// Returns the migrations applied or recorded.
    fn run_chain(&mut self, run: &ChainRun<'_>, execution: Execution) -> Result<Vec<ChainMigration>, ApplyError>;
    /// Runs a plugin's DDL under `policy` inside the chain's transaction
    /// (the bootstrap path); `what` names it in refusals.
    fn execute_ddl(
        &mut self,
        policy: &Arc<Policy>,
        sql: &str,
        what: &str,
        referencing: &[String],
    ) -> Result<(), ApplyError>;
    /// Notes inside the chain's transaction that `plugin`'s history up to
    /// `version` was recorded, not run.
    fn mark(&mut self, plugin: &str, version: i32, how: Mark) -> Result<(), ApplyError>;
    /// Writes an audit entry: inside the chain's transaction when one is
    /// open (it lands or rolls back with the run), in a transaction of its
    /// own otherwise (for refusals and failures, after the rollback).
    /// Nothing is written in a dry run or without an actor.
    fn write_audit(&mut self, entry: &AuditEntry<'_>) -> Result<(), DbError>;
    /// Drops `plugin`'s objects and history and forgets it (uninstall),
    /// inside the chain's transaction.
    fn drop_plugin(&mut self, plugin: &str, objects: &[DroppedObject], history: Option<&str>)
        -> Result<(), ApplyError>;
    /// Checks foreign keys, then commits the chain's transaction (in a dry
    /// run, keeps it for the session to roll back). Returns every
    /// statement the transaction ran, in order.
    /// `closing`, the audit entry of what the transaction did, is written
    /// in it before the commit (an engine may send both in one round trip).
    fn commit_chain(&mut self, closing: Option<&AuditEntry<'_>>) -> Result<Vec<String>, ApplyError>;
    /// Rolls the chain's transaction back.
    fn rollback_chain(&mut self);
    /// How many statements the open chain's transaction has run so far.
    fn statement_count(&self) -> usize;
}

/// A run of one or more chains on an engine: foreign keys off while it
/// lasts; for a dry run, one outer transaction rolled back when it ends.
#[derive(Debug)]
pub struct Session<'e> {
    engine: &'e mut dyn Engine,
    dry_run: bool,
    /// Whether [`Engine::begin_session`] was called (and `end_session` is owed).
    begun: bool,
}

impl<'e> Session<'e> {
    /// Starts a session on `engine`.
    pub fn begin(engine: &'e mut dyn Engine, dry_run: bool) -> Result<Session<'e>, DbError> {
        engine.begin_session(dry_run)?;
        Ok(Session { engine, dry_run, begun: true })
    }

    /// A session for a run that expects to write nothing: it begins only if
    /// a chain or an audit entry is written after all, so that a no-op asks
    /// the database nothing a write needs (on PostgreSQL, the host role's
    /// privileges).
    pub fn deferred(engine: &'e mut dyn Engine, dry_run: bool) -> Session<'e> {
        Session { engine, dry_run, begun: false }
    }

    /// Begins the session if it was deferred.
    fn begun(&mut self) -> Result<&mut dyn Engine, DbError> {
        if !self.begun {
            self.engine.begin_session(self.dry_run)?;
            self.begun = true;
        }
        Ok(&mut *self.engine)
    }

    /// Whether this session's changes are all rolled back at the end.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// The database, for reads between chains.
    pub fn database(&self) -> &dyn Engine {
        self.engine
    }

    /// Starts one chain's transaction.
    pub fn chain(&mut self) -> Result<ChainTx<'_>, DbError> {
        let engine = self.begun()?;
        engine.begin_chain()?;
        Ok(ChainTx { engine, open: true })
    }

    /// Writes an audit entry in a transaction of its own (see
    /// [`Engine::write_audit`]); a failure to write is reported, not fatal.
    pub fn audit(&mut self, entry: &AuditEntry<'_>) -> Result<(), DbError> {
        self.begun()?.write_audit(entry)
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if self.begun {
            self.engine.end_session();
        }
    }
}

/// One chain's transaction; dropped without [`ChainTx::commit`], it rolls back.
#[derive(Debug)]
pub struct ChainTx<'s> {
    engine: &'s mut dyn Engine,
    open: bool,
}

impl ChainTx<'_> {
    /// The database, for reads inside the transaction.
    pub fn database(&self) -> &dyn Engine {
        self.engine
    }

    /// How many statements this transaction has run so far (to tell which
    /// of those [`ChainTx::commit`] returns belong to which part of it).
    pub fn statement_count(&self) -> usize {
        self.engine.statement_count()
    }

    /// See [`Engine::run_chain`].
    pub fn run_chain(&mut self, run: &ChainRun<'_>, execution: Execution) -> Result<Vec<ChainMigration>, ApplyError> {
        self.engine.run_chain(run, execution)
    }

    /// See [`Engine::execute_ddl`].
    pub fn execute_ddl(
        &mut self,
        policy: &Arc<Policy>,
        sql: &str,
        what: &str,
        referencing: &[String],
    ) -> Result<(), ApplyError> {
        self.engine.execute_ddl(policy, sql, what, referencing)
    }

    /// See [`Engine::mark`].
    pub fn mark(&mut self, plugin: &str, version: i32, how: Mark) -> Result<(), ApplyError> {
        self.engine.mark(plugin, version, how)
    }

    /// Writes an audit entry inside this transaction.
    pub fn audit(&mut self, entry: &AuditEntry<'_>) -> Result<(), ApplyError> {
        self.engine.write_audit(entry).map_err(ApplyError::Db)
    }

    /// See [`Engine::drop_plugin`].
    pub fn drop_plugin(
        &mut self,
        plugin: &str,
        objects: &[DroppedObject],
        history: Option<&str>,
    ) -> Result<(), ApplyError> {
        self.engine.drop_plugin(plugin, objects, history)
    }

    /// Checks foreign keys and commits; returns the statements it ran.
    pub fn commit(self) -> Result<Vec<String>, ApplyError> {
        self.commit_audited(None)
    }

    /// Writes `closing` in the audit record (what this transaction did),
    /// checks foreign keys and commits, all or nothing; returns the
    /// statements it ran.
    pub fn commit_audited(mut self, closing: Option<&AuditEntry<'_>>) -> Result<Vec<String>, ApplyError> {
        let statements = self.engine.commit_chain(closing)?;
        self.open = false;
        Ok(statements)
    }
}

impl Drop for ChainTx<'_> {
    fn drop(&mut self) {
        if self.open {
            self.engine.rollback_chain();
        }
    }
}

/// Opens (creating if needed) the SQLite file at `path` for changes: a
/// convenience for benchmarks and tests.
pub fn open_sqlite(path: &Path) -> Result<Box<dyn Engine>, DbError> {
    open(&DatabaseTarget::Sqlite(path.to_owned()), OpenMode::Change, DEFAULT_BUSY_TIMEOUT)?
        .ok_or_else(|| DbError::Missing(DatabaseTarget::Sqlite(path.to_owned())))
}

/// Brings one chain forward in its own session and transaction: a
/// convenience for one chain outside a larger run (benchmarks, tests).
pub fn apply(engine: &mut dyn Engine, run: &ChainRun<'_>) -> Result<Vec<ChainMigration>, ApplyError> {
    let mut session = Session::begin(engine, false)?;
    let mut tx = session.chain()?;
    let applied = tx.run_chain(run, Execution::Run)?;
    tx.commit()?;
    Ok(applied)
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

impl ChainRun<'_> {
    /// The migration whose SQL is `sql`, for a message about its failure;
    /// the chain's bookkeeping when no migration has that SQL.
    pub fn label_of(&self, sql: &str) -> String {
        self.migrations
            .iter()
            .find(|m| m.sql == sql)
            .map_or_else(|| format!("bookkeeping of {}", self.owner), ChainMigration::label)
    }

    /// The newest version applied after a run: of those applied `before`
    /// it and those it applied or recorded (`after`).
    pub fn reached(before: &HashSet<i32>, after: &HashSet<i32>) -> Option<i32> {
        before.iter().chain(after).copied().max()
    }

    /// What the chain leaves at `reached`, by its checks: what the run must
    /// have left (`None` when the checks did not say).
    pub fn expected_at(&self, reached: Option<i32>) -> Option<&BTreeMap<String, ObjectKind>> {
        self.names.zip(reached).and_then(|(names, version)| names.present_at(version))
    }

    /// The names to record as the plugin's after a run that reached
    /// `reached`: what its chain created by then, and its manifest's tables
    /// (`owned`), which stay its own once claimed.
    pub fn names_owned_at(&self, owned: &BTreeSet<String>, reached: Option<i32>) -> BTreeMap<String, ObjectKind> {
        let mut names =
            self.names.zip(reached).map(|(names, version)| names.created_through(version)).unwrap_or_default();
        for table in owned {
            names.entry(table.clone()).or_insert(ObjectKind::Table);
        }
        names
    }

    /// The migrations the run applied or recorded: in `after`, not in
    /// `before`, in chain order.
    pub fn newly_applied(&self, before: &HashSet<i32>, after: &HashSet<i32>) -> Vec<ChainMigration> {
        self.migrations.iter().filter(|m| after.contains(&m.version) && !before.contains(&m.version)).cloned().collect()
    }
}

/// What the database records about an installed plugin, as a run writes it.
#[derive(Debug, Clone, Copy)]
pub struct PluginRecord<'a> {
    /// The plugin's version string.
    pub version: &'a str,
    /// The plugins it depends on.
    pub depends_on: &'a [String],
    /// The digest of the checks its verdict came from
    /// ([`crate::checks::digest`]); `None` for a run without a verdict.
    pub checked_digest: Option<&'a str>,
}

/// Whether a chain's migrations are run, or only recorded as applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Execution {
    /// Run the pending migrations up to the target.
    Run,
    /// Write them into the history without running them: the schema is
    /// already there (bootstrap from the DDL, adoption, `stamp`).
    HistoryOnly,
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
    /// How the record spells it.
    pub fn as_str(self) -> &'static str {
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

/// What the database records of its plugins ([`Engine::plugin_records`]).
#[derive(Debug, Clone, Default)]
pub struct PluginRecords {
    /// Every name recorded as a plugin's.
    pub objects: Vec<RecordedObject>,
    /// The plugins recorded as installed.
    pub installed: Vec<InstalledPlugin>,
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

/// A table or view of a plugin, as uninstall shows and drops it.
#[derive(Debug, Clone, Serialize)]
pub struct DroppedObject {
    /// Its name.
    pub name: String,
    /// `table` or `view`.
    pub kind: ObjectKind,
    /// How many rows it holds (tables only).
    pub rows: Option<i64>,
}

/// Who is running the host and what they asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The OS user (its name, or its uid when it has none).
    pub user: String,
    /// The command line, as typed (a password in a database URL removed).
    pub command: String,
}

impl Actor {
    /// The user running this process, with `command` as given.
    pub fn current(command: String) -> Actor {
        Actor { user: os_user(), command }
    }
}

/// The name of the effective user, from the password database (its uid
/// when the database has no entry for it).
pub(crate) fn os_user() -> String {
    let uid = nix::unistd::Uid::effective();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => format!("uid {uid}"),
    }
}

/// What a run did, in the audit record's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// Migrations ran and were committed.
    Applied,
    /// History was recorded without running migrations.
    Recorded,
    /// The host refused the plugin; nothing changed.
    Refused,
    /// A migration failed; the run was rolled back.
    Failed,
    /// The plugin was removed.
    Uninstalled,
}

impl AuditOutcome {
    /// The value stored in the record.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Applied => "applied",
            AuditOutcome::Recorded => "recorded",
            AuditOutcome::Refused => "refused",
            AuditOutcome::Failed => "failed",
            AuditOutcome::Uninstalled => "uninstalled",
        }
    }
}

/// One audit entry to write (the actor comes from the engine handle).
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// The plugin (or `core`, or a file name when it never said one).
    pub plugin: &'a str,
    /// The version before.
    pub from: Option<i32>,
    /// The version after (or attempted).
    pub to: Option<i32>,
    /// The plugin file's SHA-256.
    pub sha256: Option<String>,
    /// What happened.
    pub outcome: AuditOutcome,
    /// Why, for refusals and failures.
    pub reason: Option<String>,
}

/// One entry of the audit record, as `history` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Its sequence number.
    pub id: i64,
    /// When (UTC, RFC 3339 with milliseconds).
    pub at: String,
    /// The OS user.
    pub os_user: String,
    /// The command line.
    pub command: String,
    /// The plugin.
    pub plugin: String,
    /// The version before.
    pub from_version: Option<i32>,
    /// The version after.
    pub to_version: Option<i32>,
    /// The plugin file's SHA-256.
    pub file_sha256: Option<String>,
    /// What happened.
    pub outcome: String,
    /// Why.
    pub reason: Option<String>,
}

/// Why the database could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The file's directory does not exist.
    #[error(
        "failed to open database `{}`: directory `{}` does not exist; create it or choose another --database",
        path.display(), dir.display()
    )]
    MissingDirectory { path: PathBuf, dir: PathBuf },
    /// There is no database to act on.
    #[error("database `{0}` does not exist")]
    Missing(DatabaseTarget),
    /// The path names a directory.
    #[error("failed to open database `{}`: it is a directory; --database must name a file", .0.display())]
    IsADirectory(PathBuf),
    /// The file exists but is not SQLite.
    #[error("failed to open database `{}`: the file is not a SQLite database", .0.display())]
    NotADatabase(PathBuf),
    /// Another process holds the write lock for longer than we wait.
    #[error("database `{target}` is busy: another process has held it for more than {waited:?}; try again when it is done, or raise --busy-timeout")]
    Busy { target: DatabaseTarget, waited: Duration },
    /// A killed run left a journal to roll back, which needs write access.
    #[error("database `{}` holds the unfinished transaction of a run that was killed, and rolling it back (as SQLite must before anyone reads) needs write access to the file and its directory, which this user lacks: run `shopdb-host status` once as the file's owner; nothing will be lost", .0.display())]
    Interrupted(PathBuf),
    /// The file is read-only to us.
    #[error("database `{}` is read-only: check the file's permissions and those of its directory (SQLite writes a journal next to it)", .0.display())]
    ReadOnly(PathBuf),
    /// The disk (or a size limit) is full.
    #[error("database `{0}` is full: free disk space (or raise the file size limit) and run again; nothing was half-applied")]
    Full(DatabaseTarget),
    /// No backup could be written (so nothing was dropped).
    #[error("database `{target}`: no backup was written: {reason}")]
    BackupFailed { target: DatabaseTarget, reason: String },
    /// What this host cannot do on this engine yet.
    #[error("database `{0}`: this is not built for PostgreSQL yet")]
    NotBuilt(DatabaseTarget),
    /// The URL cannot be used.
    #[error("database `{target}`: {reason}")]
    BadUrl { target: DatabaseTarget, reason: String },
    /// No server answers there.
    #[error("database `{target}`: cannot reach the server at {place}: {reason}; check the host and port in the URL (or PGHOST/PGPORT) and that the server runs")]
    Unreachable { target: DatabaseTarget, place: String, reason: String },
    /// The server refused the credentials.
    #[error("database `{target}`: authentication failed for user `{user}`; check the password (in the URL, PGPASSWORD or ~/.pgpass) and the server's pg_hba.conf")]
    AuthenticationFailed { target: DatabaseTarget, user: String },
    /// The server has no such database.
    #[error("database `{target}`: the server has no database `{database}`; create it (`createdb {database}`) or fix the URL")]
    NoSuchDatabase { target: DatabaseTarget, database: String },
    /// The server is older than the host supports.
    #[error("database `{target}`: the server runs PostgreSQL {version}; shopdb-host needs 13 or later")]
    ServerTooOld { target: DatabaseTarget, version: String },
    /// The host's role lacks a privilege it needs.
    #[error("database `{target}`: role `{user}` lacks {privilege}; as a superuser, run: {fix}")]
    MissingPrivilege { target: DatabaseTarget, user: String, privilege: String, fix: String },
    /// The connection went away mid-run.
    #[error("database `{target}`: the connection to the server was lost ({reason}); the transaction in progress was rolled back by the server; run again")]
    ConnectionLost { target: DatabaseTarget, reason: String },
    /// Anything else the engine reported.
    #[error("database `{target}`: {what} failed")]
    Engine {
        target: DatabaseTarget,
        what: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl DbError {
    /// Whether the database failed while working (busy, full, an engine
    /// error), as opposed to being unusable as given (a bad path, missing).
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            DbError::Busy { .. } | DbError::Full(_) | DbError::Engine { .. } | DbError::ConnectionLost { .. }
        )
    }
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
    /// The engine refused a statement of the plugin's SQL.
    #[error("migration {migration} was refused: {denial}")]
    Denied { migration: String, denial: Denial },
    /// The run left rows whose foreign keys point nowhere.
    #[error(
        "the run would leave a foreign key violation: row {rowid} of `{table}` references a missing row of `{parent}`"
    )]
    ForeignKey { table: String, rowid: i64, parent: String },
    /// The database records history that does not fit the chain (another
    /// host changed it between the checks and the lock).
    #[error(transparent)]
    History(#[from] HistoryError),
    /// The plugin's SQL left a table the plugin does not list.
    #[error("plugin '{plugin}' left table `{table}` that its manifest does not list: add it to `tables` in export_plugin! (and to schema.sql), or drop it in a later migration")]
    LeftBehind { plugin: String, table: String },
    /// The plugin's role owns something its chain does not account for.
    #[error("plugin '{plugin}' left {object}: {reason}; the run was rolled back")]
    Unaccounted { plugin: String, object: String, reason: String },
    /// The run created a name the database records as another plugin's.
    #[error("plugin '{plugin}' created {kind} `{name}`, a name that belongs to plugin '{owner}': every table, index, trigger and view name belongs to one plugin; rename it in a new migration of '{plugin}'")]
    NameTaken { plugin: String, kind: String, name: String, owner: String },
    /// A refinery failure not covered above.
    #[error("refinery failed: {0}")]
    Refinery(String),
}

/// A backup written before a destructive command: where, and the command
/// that restores it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Backup {
    /// The backup file.
    pub path: PathBuf,
    /// The shell command an operator runs to restore it.
    pub restore: String,
}

/// A scratch database of the operator's engine, for trying a plugin's SQL.
pub trait Scratch {
    /// Runs `sql` as the plugin under `policy`: what it touched, or why it
    /// was refused or failed.
    fn run_as(&mut self, policy: &Arc<Policy>, sql: &str) -> Result<Touched, SqlError>;
    /// The objects the plugin's SQL created and left (whatever was not there
    /// when the scratch database was made), by lowercase name.
    fn created_objects(&mut self) -> Result<BTreeMap<String, ObjectKind>, ScratchError>;
    /// The schema of the tables (and what is on them) `tables` accepts.
    fn schema(&mut self, tables: &dyn Fn(&str) -> bool) -> Result<Schema, ScratchError>;
    /// Undoes everything run in it since it was made, so that one scratch
    /// database serves a plugin's DDL and then its chain.
    fn rewind(&mut self) -> Result<(), ScratchError>;
}

/// Makes scratch databases for the checks; shared by their threads.
pub trait ScratchSource: Send + Sync + std::fmt::Debug {
    /// The core's names, which no plugin creates: every scratch database
    /// holds them from the start, or makes each when a plugin's SQL names
    /// it (see [`ScratchSource::base_made_when_named`]).
    fn base_names(&self) -> &BTreeSet<String>;
    /// Whether a scratch database makes the core's objects only when a
    /// plugin's SQL names them (then they arrive in `others`), rather than
    /// holding them all from the start.
    fn base_made_when_named(&self) -> bool {
        false
    }
    /// A scratch database for `plugin` (which depends on `depends_on`):
    /// the core schema and `others` (other plugins' tables and history
    /// tables its SQL names, and core tables it names where they are made
    /// when named) as their owners create them.
    fn scratch(
        &self,
        plugin: &str,
        depends_on: &[String],
        others: &BTreeSet<String>,
    ) -> Result<Box<dyn Scratch>, ScratchError>;
    /// How many scratch databases may be open at once: the checks use no
    /// more threads than this.
    fn parallelism(&self) -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8)
    }
    /// Gives back what idle scratch databases hold (on a server, open
    /// transactions and their locks) before the real runs start.
    fn release(&self) {}
    /// Whether scratch databases may be used while the operator's database
    /// is being written, so that the checks of the plugins not yet applied
    /// go on beside the runs of those already checked; `one_transaction`:
    /// the whole run is one transaction (a dry run). The runs wait for a
    /// verdict only between their transactions, so a scratch session that
    /// waits for a lock a run holds waits at most for that run's commit,
    /// unless one transaction lasts to the end.
    fn usable_beside_runs(&self, one_transaction: bool) -> bool {
        let _ = one_transaction;
        false
    }
    /// Whether every name a statement creates is written in it, as
    /// `schema::sqltext::name_changes` reads it (SQLite: yes; PostgreSQL:
    /// no, a primary key names its own index). Then the names two plugins
    /// share are known from their SQL before any is checked, and each
    /// plugin's verdict can be given as soon as its own checks end.
    fn names_in_sql(&self) -> bool {
        false
    }
}

/// Why a plugin's SQL did not run in a scratch database or a real one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    /// The engine refused it: it reaches for what the plugin does not own.
    #[error("{0}")]
    Denied(Denial),
    /// It failed, in the engine's words.
    #[error("{0}")]
    Failed(String),
}

/// Why a scratch database could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScratchError {
    /// The engine could not make or read one.
    #[error("failed to prepare a scratch database for the checks: {what}: {reason}")]
    Setup { what: &'static str, reason: String },
    /// No scratch database of this engine can be had here.
    #[error("no {what} scratch database for the checks: {reason}")]
    Unavailable { what: &'static str, reason: String },
}
