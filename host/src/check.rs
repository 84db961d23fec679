//! The refusals decided in a scratch database, before the operator's
//! database is touched.
//!
//! For each plugin the host builds an in-memory database laid out like a real
//! one (core schema, history tables, the other plugins' DDL), then runs the
//! plugin's DDL there, and in a second one its whole migration chain, both
//! under the plugin's [`Policy`]. The plugin is refused when its SQL fails or trespasses, when
//! the DDL creates other tables than the manifest lists, or when the chain
//! and the DDL produce different schemas.

use crate::db::{Database, DbError};
use crate::guard::{probe_bodies, Denial, Guard, Policy, ProbeError};
use crate::history;
use crate::inventory::Inventory;
use crate::load::Plugin;
use crate::manifest::Manifest;
use crate::names::{ChainNames, ObjectKind, StepNames};
use crate::schema::Schema;
use crate::sqltext::{tokenize, Token};
use crate::{core, db::sqlite_message};
use rusqlite::Connection;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

/// Why a plugin's schema is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// Its DDL does not run.
    #[error("plugin '{plugin}': schema.sql fails: {message}")]
    DdlFailed { plugin: String, message: String },
    /// Its DDL touches what it does not own.
    #[error("plugin '{plugin}': schema.sql was refused: {denial}")]
    DdlDenied { plugin: String, denial: Denial },
    /// DDL and manifest name different tables.
    #[error("plugin '{plugin}': schema.sql and the manifest disagree: {}", drift_text(unlisted, missing))]
    ManifestDrift { plugin: String, unlisted: Vec<String>, missing: Vec<String> },
    /// A migration does not run on a scratch database.
    #[error("plugin '{plugin}': migration {migration} fails on an empty database: {message}")]
    ChainFailed { plugin: String, migration: String, message: String },
    /// A migration touches what the plugin does not own.
    #[error("plugin '{plugin}': migration {migration} was refused: {denial}")]
    ChainDenied { plugin: String, migration: String, denial: Denial },
    /// A foreign key to a table the plugin may not reference.
    #[error("plugin '{plugin}': table `{table}` references `{target}`{}, which is neither its own, a core table nor a dependency's; add the owner to depends_on", owner.as_ref().map_or_else(String::new, |o| format!(" of plugin '{o}'")))]
    ForeignReference { plugin: String, table: String, target: String, owner: Option<String> },
    /// The chain leaves a table at its head that the manifest does not list.
    #[error("plugin '{plugin}': its chain leaves {kind} `{name}` (created by V{created_by}) that the manifest does not list: add it to `tables` in export_plugin! (and to schema.sql), or drop it in a later migration")]
    UnlistedAtHead { plugin: String, kind: ObjectKind, name: String, created_by: i32 },
    /// Two plugins in the directory create the same name.
    #[error("plugin '{plugin}': {kind} `{name}` (created by its V{created_by}) is also created by {}; every table, index, trigger and view name belongs to one plugin: rename it in one of them", others.join(" and "))]
    NameShared { plugin: String, kind: ObjectKind, name: String, created_by: i32, others: Vec<String> },
    /// Chain and DDL produce different schemas.
    #[error("plugin '{plugin}': the migration chain (up to V{head}) and schema.sql produce different schemas: {}", diff.join("; "))]
    ChainDrift { plugin: String, head: i32, diff: Vec<String> },
}

fn drift_text(unlisted: &[String], missing: &[String]) -> String {
    let mut parts = Vec::new();
    if !unlisted.is_empty() {
        parts.push(format!(
            "it creates {} that the manifest does not list (add {} to `tables` in export_plugin!, or drop {} from schema.sql)",
            quoted(unlisted),
            if unlisted.len() == 1 { "it" } else { "them" },
            if unlisted.len() == 1 { "it" } else { "them" },
        ));
    }
    if !missing.is_empty() {
        parts.push(format!("the manifest lists {} that it does not create", quoted(missing)));
    }
    parts.join(", and ")
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// The policy for a plugin's SQL: its own tables, plus reading core tables
/// and the tables of the plugins it declares as dependencies. Every other
/// known table is named with its owner, for refusals.
pub fn policy_for(manifest: &Manifest, inventory: &Inventory) -> Policy {
    let mut readable = core::tables().clone();
    for dependency in manifest.depends_on.iter().filter_map(|d| inventory.find(d)) {
        readable.extend(dependency.manifest.tables.iter().cloned());
    }
    Policy {
        plugin: manifest.name.clone(),
        owned: manifest.tables.iter().cloned().collect(),
        readable,
        owners: inventory.owners(),
        may_use_unclaimed: true,
    }
}

/// Builds the scratch databases the checks run in. Made once per command
/// and shared by its threads: the core schema is applied once per process
/// ([`CoreImage`]) and copied into each scratch database,
/// and every plugin's DDL is applied once into a catalog from which a
/// scratch database takes only the tables the plugin's SQL names.
pub struct Checker<'i> {
    inventory: &'i Inventory,
    base: &'static CoreImage,
    /// Table → the statements that create it, its indexes and triggers;
    /// built the first time a plugin's SQL names another plugin's table (by
    /// whichever thread of [`Checker::schema_checks_all`] gets there first).
    catalog: std::sync::OnceLock<BTreeMap<String, Vec<String>>>,
}

impl std::fmt::Debug for Checker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker").field("catalog", &self.catalog.get().map(BTreeMap::len)).finish_non_exhaustive()
    }
}

impl<'i> Checker<'i> {
    /// A checker for `inventory`'s plugins, starting from the core schema.
    pub fn new(inventory: &'i Inventory) -> Result<Checker<'i>, String> {
        Ok(Checker { inventory, base: CoreImage::get()?, catalog: std::sync::OnceLock::new() })
    }

    /// [`Checker::schema_checks`] of each of `plugins`, in order, spread
    /// over the machine's cores (one plugin's checks never depend on
    /// another's, and at a thousand plugins they are most of a `check`),
    /// then the names two of them would both create refused in each.
    pub fn check_plugins(&self, plugins: &[&Plugin]) -> Vec<Result<Checked, CheckError>> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8).min(plugins.len());
        let mut verdicts: Vec<Result<Checked, CheckError>> = if threads <= 1 {
            plugins.iter().map(|p| self.schema_checks(p)).collect()
        } else {
            let mut verdicts: Vec<Option<Result<Checked, CheckError>>> = vec![None; plugins.len()];
            std::thread::scope(|scope| {
                let workers: Vec<_> = (1..threads)
                    .map(|k| {
                        scope.spawn(move || {
                            let mine = plugins.iter().enumerate().skip(k).step_by(threads);
                            mine.map(|(i, p)| (i, self.schema_checks(p))).collect::<Vec<_>>()
                        })
                    })
                    .collect();
                for (i, plugin) in plugins.iter().enumerate().step_by(threads) {
                    verdicts[i] = Some(self.schema_checks(plugin));
                }
                for worker in workers {
                    let done = worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    for (i, verdict) in done {
                        verdicts[i] = Some(verdict);
                    }
                }
            });
            verdicts.into_iter().flatten().collect()
        };
        refuse_shared_names(plugins, &mut verdicts);
        verdicts
    }

    /// Every plugin's DDL applied once into a catalog database, read back as
    /// table → statements. Only what a plugin creates on its own listed
    /// tables is kept; a broken plugin is refused on its own account and
    /// must not make the others fail.
    fn catalog(&self) -> &BTreeMap<String, Vec<String>> {
        self.catalog.get_or_init(|| {
            let mut catalog: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let Ok(catalog_db) = Connection::open_in_memory() else {
                return catalog;
            };
            let mut seen: i64 = 0;
            for plugin in &self.inventory.plugins {
                let _ = catalog_db.execute_batch(&plugin.manifest.ddl);
                let Ok(mut stmt) = catalog_db.prepare_cached(
                    "SELECT rowid, lower(tbl_name), sql FROM sqlite_master WHERE rowid > ?1 AND sql IS NOT NULL ORDER BY rowid",
                ) else {
                    continue;
                };
                let Ok(rows) =
                    stmt.query_map([seen], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
                else {
                    continue;
                };
                for (rowid, table, sql) in rows.flatten() {
                    seen = seen.max(rowid);
                    if plugin.manifest.owns(&table) {
                        catalog.entry(table).or_default().push(sql);
                    }
                }
            }
            catalog
        })
    }

    /// A scratch database laid out like a real one around `plugin`: the
    /// core schema and every table its SQL names (its dependencies' tables,
    /// other plugins' tables, history tables), as their owners' DDL creates
    /// them. Data migrations find the tables they read; SQL reaching for a
    /// table it may not touch meets the guard rather than "no such table".
    /// Only named tables: every `ALTER TABLE` makes SQLite re-read the whole
    /// schema, so a scratch database stays small.
    pub(crate) fn scratch(&self, plugin: &Plugin) -> Result<Scratch, String> {
        let Scratch { conn, guard, .. } = self.core_scratch()?;
        for word in self.missing_tables(&plugin.manifest, &self.base.names) {
            if core::is_bookkeeping(&word) {
                conn.execute_batch(&crate::db::history_table_ddl(&word)).map_err(|e| e.to_string())?;
            } else if let Some(statements) = self.catalog().get(&word) {
                for statement in statements {
                    // Best effort, as for the catalog itself.
                    let _ = conn.execute_batch(statement);
                }
            }
        }
        let before = object_names(&conn)?;
        Ok(Scratch { conn, guard, before })
    }

    /// The tables `manifest`'s SQL names that a scratch database holding
    /// `present` (lowercase table and view names) lacks: other plugins'
    /// tables and the host's bookkeeping, never the plugin's own (its SQL
    /// creates those). Known from the words of the SQL, without asking
    /// SQLite, which would re-read the schema after every table created.
    fn missing_tables(&self, manifest: &Manifest, present: &BTreeSet<String>) -> BTreeSet<String> {
        let owners = self.inventory.owners();
        let mut missing = BTreeSet::new();
        for sql in std::iter::once(&manifest.ddl).chain(manifest.chain.iter().map(|m| &m.sql)) {
            for token in tokenize(sql) {
                let Token::Word(word) = token else { continue };
                if (owners.contains_key(word.as_str()) || core::is_bookkeeping(&word))
                    && !present.contains(&word)
                    && !manifest.owns(&word)
                {
                    missing.insert(word);
                }
            }
        }
        missing
    }

    /// A scratch database holding the core schema and nothing else.
    fn core_scratch(&self) -> Result<Scratch, String> {
        let mut conn = self.base.open()?;
        // As in a real run: foreign keys off, so that a rebuild's DROP TABLE
        // does not turn into a DELETE reaching into other plugins' tables.
        conn.execute_batch("PRAGMA foreign_keys = OFF").map_err(|e| e.to_string())?;
        let guard = Guard::install(&mut conn).map_err(|e| e.to_string())?;
        Ok(Scratch { conn, guard, before: self.base.names.clone() })
    }

    /// Runs the scratch checks for one plugin of the inventory; what they
    /// learnt comes with the verdict.
    pub fn schema_checks(&self, plugin: &Plugin) -> Result<Checked, CheckError> {
        let started = std::time::Instant::now();
        let ddl_schema = self.ddl_checks(plugin)?;
        let names = self.chain_checks(plugin, &ddl_schema);
        tracing::debug!("{}: scratch checks in {} µs", plugin.manifest.name, started.elapsed().as_micros());
        Ok(Checked { schema: ddl_schema, names: names? })
    }

    /// The checks on the plugin's DDL: it runs, stays in its tables, creates
    /// exactly the listed tables, references only what it may. Returns the
    /// schema it builds.
    pub fn ddl_checks(&self, plugin: &Plugin) -> Result<Schema, CheckError> {
        let manifest = &plugin.manifest;
        let setup_failed = |message: String| CheckError::DdlFailed { plugin: manifest.name.clone(), message };
        let ddl_db = self.scratch(plugin).map_err(setup_failed)?;
        self.ddl_checks_on(&ddl_db, plugin)
    }

    /// The body of [`Checker::ddl_checks`], in a scratch database made ready for it.
    fn ddl_checks_on(&self, ddl_db: &Scratch, plugin: &Plugin) -> Result<Schema, CheckError> {
        let manifest = &plugin.manifest;
        let name = || manifest.name.clone();
        let policy = Arc::new(policy_for(manifest, self.inventory));
        let setup_failed = |message: String| CheckError::DdlFailed { plugin: name(), message };
        ddl_db.guard.take_touched();
        ddl_db
            .run_as(&policy, &manifest.ddl)
            .and_then(|()| ddl_db.probe(&policy, &ddl_db.guard.take_touched()))
            .map_err(|e| match e {
                Ok(denial) => CheckError::DdlDenied { plugin: name(), denial },
                Err(message) => CheckError::DdlFailed { plugin: name(), message },
            })?;
        let ddl_schema = ddl_db.created_schema().map_err(setup_failed)?;
        let created = ddl_schema.table_names();
        let listed: BTreeSet<String> = manifest.tables.iter().cloned().collect();
        if created != listed {
            return Err(CheckError::ManifestDrift {
                plugin: name(),
                unlisted: created.difference(&listed).cloned().collect(),
                missing: listed.difference(&created).cloned().collect(),
            });
        }
        self.check_references(manifest, &ddl_schema)?;
        Ok(ddl_schema)
    }

    /// The checks on the plugin's chain: run from an empty database, every
    /// migration runs and stays in what the plugin owns, the chain leaves
    /// what the manifest lists, and the result is the schema the DDL builds.
    /// Returns the names the chain creates, migration by migration.
    pub fn chain_checks(&self, plugin: &Plugin, ddl_schema: &Schema) -> Result<ChainNames, CheckError> {
        let manifest = &plugin.manifest;
        let name = || manifest.name.clone();
        let policy = Arc::new(policy_for(manifest, self.inventory));
        let setup_failed = |message: String| CheckError::DdlFailed { plugin: name(), message };
        let chain_db = self.scratch(plugin).map_err(setup_failed)?;
        let mut names = ChainNames::default();
        let mut present: BTreeMap<String, ObjectKind> = BTreeMap::new();
        for migration in &manifest.chain {
            chain_db.guard.take_touched();
            // Probing after each step names the migration that created a view
            // or trigger whose body reaches too far.
            let ran = chain_db.run_as(&policy, &migration.sql);
            let touched = chain_db.guard.take_touched();
            ran.and_then(|()| chain_db.probe(&policy, &touched)).map_err(|e| match e {
                Ok(denial) => CheckError::ChainDenied { plugin: name(), migration: migration.label(), denial },
                Err(message) => CheckError::ChainFailed { plugin: name(), migration: migration.label(), message },
            })?;
            if touched.schema {
                present = chain_db.created_objects().map_err(setup_failed)?;
            }
            let created = touched.named.into_iter().filter(|(n, _)| !chain_db.before.contains(n)).collect();
            names.steps.push(StepNames {
                version: migration.version,
                created,
                present: present.clone(),
                changed: touched.changed,
            });
        }
        for (object, kind) in &present {
            let listed = manifest.owns(object);
            if matches!(kind, ObjectKind::Table | ObjectKind::View) && !listed {
                return Err(CheckError::UnlistedAtHead {
                    plugin: name(),
                    kind: *kind,
                    name: object.clone(),
                    created_by: names.created_by(object).unwrap_or(manifest.head()),
                });
            }
        }
        let chain_schema = chain_db.created_schema().map_err(setup_failed)?;
        drift(manifest, &chain_schema, ddl_schema)?;
        Ok(names)
    }

    /// A foreign key may point at the plugin's own tables, core tables and
    /// its dependencies' tables; a reference elsewhere would tie it to a
    /// plugin it does not declare (and could not be checked or uninstalled
    /// safely).
    fn check_references(&self, manifest: &Manifest, schema: &Schema) -> Result<(), CheckError> {
        let policy = policy_for(manifest, self.inventory);
        for (table, definition) in &schema.tables {
            for key in &definition.foreign_keys {
                if !policy.owned.contains(&key.table) && !policy.readable.contains(&key.table) {
                    let owner = self.inventory.owners().get(&key.table).cloned();
                    return Err(CheckError::ForeignReference {
                        plugin: manifest.name.clone(),
                        table: table.clone(),
                        target: key.table.clone(),
                        owner,
                    });
                }
            }
        }
        Ok(())
    }
}

/// The chain-vs-DDL comparison: `Err` with a readable diff when the schema
/// the chain built differs from the one the DDL builds.
pub fn drift(manifest: &Manifest, chain_schema: &Schema, ddl_schema: &Schema) -> Result<(), CheckError> {
    let diff = chain_schema.diff("the chain", ddl_schema, "schema.sql");
    if diff.is_empty() {
        Ok(())
    } else {
        Err(CheckError::ChainDrift { plugin: manifest.name.clone(), head: manifest.head(), diff })
    }
}

/// A [`Checker`] made on first use: a no-op `upgrade-all` checks nothing
/// and should not pay for setting one up.
#[derive(Debug)]
pub struct LazyChecker<'i> {
    inventory: &'i Inventory,
    cell: std::cell::OnceCell<Result<Checker<'i>, String>>,
}

impl<'i> LazyChecker<'i> {
    /// A checker for `inventory`, not built yet.
    pub fn new(inventory: &'i Inventory) -> LazyChecker<'i> {
        LazyChecker { inventory, cell: std::cell::OnceCell::new() }
    }

    /// The checker, built now if needed.
    pub fn get(&self) -> Result<&Checker<'i>, String> {
        self.cell.get_or_init(|| Checker::new(self.inventory)).as_ref().map_err(Clone::clone)
    }
}

/// The core schema as an SQLite database image, built once per process.
/// Every scratch database starts from the core schema: applying the core
/// chain costs about half a millisecond, copying its image a few
/// microseconds.
#[derive(Debug)]
struct CoreImage {
    bytes: Vec<u8>,
    /// The lowercase names of its tables and views.
    names: BTreeSet<String>,
}

impl CoreImage {
    fn get() -> Result<&'static CoreImage, String> {
        static IMAGE: std::sync::OnceLock<Result<CoreImage, String>> = std::sync::OnceLock::new();
        IMAGE.get_or_init(CoreImage::build).as_ref().map_err(Clone::clone)
    }

    fn build() -> Result<CoreImage, String> {
        let mut conn = Connection::open_in_memory().map_err(|e| e.to_string())?;
        for migration in core::chain() {
            conn.execute_batch(&migration.sql).map_err(|e| format!("core {}: {e}", migration.label()))?;
        }
        let names = object_names(&conn)?;
        let bytes = conn.serialize(rusqlite::MAIN_DB).map_err(|e| e.to_string())?.to_vec();
        Ok(CoreImage { bytes, names })
    }

    /// A new in-memory database holding the core schema.
    fn open(&self) -> Result<Connection, String> {
        let mut conn = Connection::open_in_memory().map_err(|e| e.to_string())?;
        conn.deserialize_read_exact(rusqlite::MAIN_DB, self.bytes.as_slice(), self.bytes.len(), false)
            .map_err(|e| e.to_string())?;
        Ok(conn)
    }
}

/// Every table, view, index and trigger of `conn` by lowercase name
/// (SQLite's own objects aside).
fn objects(conn: &Connection) -> Result<BTreeMap<String, ObjectKind>, String> {
    let mut stmt = conn
        .prepare_cached("SELECT lower(name), type FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
        .map_err(|e| e.to_string())?;
    let rows =
        stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(|e| e.to_string())?;
    let mut objects = BTreeMap::new();
    for row in rows {
        let (name, kind) = row.map_err(|e| e.to_string())?;
        if let Some(kind) = ObjectKind::parse(&kind) {
            objects.insert(name, kind);
        }
    }
    Ok(objects)
}

/// The names of every object of `conn` (see [`objects`]).
fn object_names(conn: &Connection) -> Result<BTreeSet<String>, String> {
    Ok(objects(conn)?.into_keys().collect())
}

/// A throw-away in-memory database; see [`Checker::scratch`].
pub(crate) struct Scratch {
    conn: Connection,
    guard: Guard,
    /// The objects that were there before the plugin's SQL ran.
    before: BTreeSet<String>,
}

impl Scratch {
    /// The scratch connection, for reading what the plugin's SQL built.
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Runs `sql` as the plugin; on failure says whether the guard refused it.
    pub(crate) fn run_as(&self, policy: &Arc<Policy>, sql: &str) -> Result<(), Result<Denial, String>> {
        let _restricted = self.guard.restrict(Arc::clone(policy));
        self.conn.execute_batch(sql).map_err(|e| {
            let message = sqlite_message(&e);
            self.guard.take_denial().or_else(|| policy.name_taken(&message)).ok_or(message)
        })
    }

    /// Checks what the views and triggers the plugin's SQL created (as
    /// `touched` says) read.
    fn probe(&self, policy: &Arc<Policy>, touched: &crate::guard::Touched) -> Result<(), Result<Denial, String>> {
        probe_bodies(&self.conn, &self.guard, policy, touched).map_err(|e| match e {
            ProbeError::Denied(denial) => Ok(denial),
            ProbeError::Sqlite(e) => Err(e.to_string()),
        })
    }

    /// The objects the plugin's SQL created and left (whatever was not
    /// there before), by name.
    fn created_objects(&self) -> Result<BTreeMap<String, ObjectKind>, String> {
        let mut objects = objects(&self.conn)?;
        objects.retain(|name, _| !self.before.contains(name) && !core::is_bookkeeping(name));
        Ok(objects)
    }

    /// Everything the plugin's SQL created (whatever was not there before),
    /// so that tables the manifest forgot show up too.
    fn created_schema(&self) -> Result<Schema, String> {
        Schema::read(&self.conn, |t| !self.before.contains(t) && !core::is_bookkeeping(t)).map_err(|e| e.to_string())
    }
}

/// A plugin that passed every check, and what the checks learnt about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The schema its DDL builds (which its chain builds too).
    pub schema: Schema,
    /// The names its chain creates, migration by migration.
    pub names: ChainNames,
}

/// Refuses, in `verdicts` (those of `plugins`), every plugin whose chain
/// creates a name another plugin's chain creates too. Names the database
/// records, the core's and those in the plugins' DDL were already refused
/// by the guard as their owner's; what is left are names two new plugins
/// both take, such as a working table by the same name.
fn refuse_shared_names(plugins: &[&Plugin], verdicts: &mut [Result<Checked, CheckError>]) {
    let mut creators: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, verdict) in verdicts.iter().enumerate() {
        if let Ok(checked) = verdict {
            for name in checked.names.ever_created().into_keys() {
                creators.entry(name).or_default().push(i);
            }
        }
    }
    for (name, who) in creators.into_iter().filter(|(_, who)| who.len() > 1) {
        for &i in &who {
            let Ok(checked) = &verdicts[i] else { continue };
            let kind = checked.names.ever_created().get(&name).copied().unwrap_or(ObjectKind::Table);
            let created_by = checked.names.created_by(&name).unwrap_or(0);
            let others = who
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| format!("plugin '{}' (`{}`)", plugins[j].manifest.name, plugins[j].file.display()))
                .collect();
            verdicts[i] = Err(CheckError::NameShared {
                plugin: plugins[i].manifest.name.clone(),
                kind,
                name: name.clone(),
                created_by,
                others,
            });
        }
    }
}

/// Every plugin the given one depends on, directly or not, dependencies
/// first. Missing ones are skipped (they are refused elsewhere).
pub fn dependency_closure<'p>(manifest: &Manifest, plugins: &'p [Plugin]) -> Vec<&'p Plugin> {
    let mut ordered: Vec<&Plugin> = Vec::new();
    fn visit<'p>(name: &str, plugins: &'p [Plugin], ordered: &mut Vec<&'p Plugin>, path: &mut Vec<String>) {
        if path.iter().any(|p| p == name) || ordered.iter().any(|p| p.manifest.name == name) {
            return;
        }
        let Some(plugin) = plugins.iter().find(|p| p.manifest.name == name) else {
            return;
        };
        path.push(name.to_owned());
        for dependency in &plugin.manifest.depends_on {
            visit(dependency, plugins, ordered, path);
        }
        path.pop();
        ordered.push(plugin);
    }
    let mut path = vec![manifest.name.clone()];
    for dependency in &manifest.depends_on {
        visit(dependency, plugins, &mut ordered, &mut path);
    }
    ordered
}

/// What `check` found, plugin by plugin.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The directory checked.
    pub plugins_dir: PathBuf,
    /// The database whose history was compared, when one exists.
    pub database: Option<PathBuf>,
    /// One verdict per plugin file.
    pub plugins: Vec<Verdict>,
}

/// The verdict on one plugin file.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The plugin's name (the file name when it never said one).
    pub name: String,
    /// The plugin file.
    pub file: PathBuf,
    /// Passed, refused or blocked.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Whether a plugin may be applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Every check passed.
    Passed,
    /// A check failed.
    Refused {
        /// Why, naming the file, table or migration.
        reason: String,
    },
    /// A dependency was refused.
    Blocked {
        /// The dependency.
        by: String,
    },
}

impl CheckReport {
    /// Whether every plugin passed.
    pub fn passed(&self) -> bool {
        self.plugins.iter().all(|v| v.outcome == Outcome::Passed)
    }
}

/// Runs every check on every plugin of `inventory` (or only on `only`),
/// comparing history with `db` when there is one. Writes nothing.
pub fn check_all(inventory: &Inventory, db: Option<&Database>, only: Option<&str>) -> Result<CheckReport, DbError> {
    let wanted = |name: &str| only.is_none_or(|o| o == name);
    let mut plugins = Vec::new();
    for refusal in &inventory.refused {
        let name = refusal.name();
        if wanted(&name) {
            plugins.push(Verdict {
                name,
                file: refusal.file.clone(),
                outcome: Outcome::Refused { reason: refusal.reason.clone() },
            });
        }
    }
    let mut unusable = inventory.refused_names();
    let checker = Checker::new(inventory).map_err(DbError::Scratch)?;
    let everyone: Vec<&Plugin> = inventory.plugins.iter().collect();
    let checked = checker.check_plugins(&everyone);
    for (plugin, checked) in inventory.plugins.iter().zip(checked) {
        let name = &plugin.manifest.name;
        let outcome = match inventory.blocked_by(plugin, &unusable) {
            Some(by) => Outcome::Blocked { by },
            None => match checked {
                Err(e) => Outcome::Refused { reason: e.to_string() },
                Ok(_) => match db {
                    Some(db) => {
                        match history::compare(&db.applied(&plugin.manifest.history_table())?, &plugin.manifest.chain) {
                            Ok(_) => Outcome::Passed,
                            Err(e) => Outcome::Refused { reason: format!("plugin '{name}': {e}") },
                        }
                    }
                    None => Outcome::Passed,
                },
            },
        };
        if outcome != Outcome::Passed {
            unusable.insert(name.clone());
        }
        if wanted(name) {
            plugins.push(Verdict { name: name.clone(), file: plugin.file.clone(), outcome });
        }
    }
    Ok(CheckReport { plugins_dir: inventory.dir.clone(), database: db.map(|d| d.path().to_owned()), plugins })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use plugin_api::{MigrationRecord, PluginDescription};

    /// A plugin owning `<name>_items`, whose DDL and one migration are `ddl`.
    pub(crate) fn plugin(name: &str, ddl: &str) -> Plugin {
        let table = format!("{name}_items");
        let records = vec![MigrationRecord::new(1, "baseline", ddl)];
        let description = PluginDescription::new(name, "1.0.0", "test", &[table.as_str()], &[], ddl, records);
        Plugin::in_memory(format!("{name}.so"), &description).expect("a valid manifest")
    }

    #[test]
    fn checks_spread_over_threads_give_each_plugin_its_own_verdict() {
        let plugins: Vec<Plugin> = (0..9)
            .map(|i| {
                let name = format!("p{i}");
                match i % 3 {
                    0 => plugin(&name, &format!("CREATE TABLE {name}_items (id INTEGER PRIMARY KEY);")),
                    1 => plugin(&name, &format!("CREATE TABLE {name}_items (id INTEGER PRIMARY KEY); DROP TABLE sites;")),
                    _ => plugin(&name, &format!("CREATE TABLE {name}_items (id INTEGER PRIMARY KEY); CREATE TABLE {name}_extra (id INTEGER);")),
                }
            })
            .collect();
        let inventory = Inventory::from_plugins(PathBuf::from("memory"), plugins);
        let checker = Checker::new(&inventory).expect("a checker");
        let everyone: Vec<&Plugin> = inventory.plugins.iter().collect();
        let one_by_one: Vec<_> = everyone.iter().map(|p| checker.schema_checks(p)).collect();
        assert_eq!(checker.check_plugins(&everyone), one_by_one);
        let refused: Vec<&str> = everyone
            .iter()
            .zip(&one_by_one)
            .filter(|(_, verdict)| verdict.is_err())
            .map(|(p, _)| p.manifest.name.as_str())
            .collect();
        assert_eq!(refused, ["p1", "p2", "p4", "p5", "p7", "p8"]);
    }

    #[test]
    fn the_chain_may_create_and_drop_what_it_wants_but_must_leave_what_the_manifest_lists() {
        let ddl = "CREATE TABLE mine_items (id INTEGER PRIMARY KEY);";
        let chain = [
            MigrationRecord::new(1, "baseline", ddl),
            MigrationRecord::new(
                2,
                "staging",
                "CREATE TABLE mine_staging (id INTEGER); CREATE INDEX mine_staging_id ON mine_staging (id);",
            ),
            MigrationRecord::new(3, "done", "DROP TABLE mine_staging;"),
        ];
        let description = PluginDescription::new("mine", "1.0.0", "test", &["mine_items"], &[], ddl, chain.clone());
        let inventory =
            Inventory::from_plugins(PathBuf::from("memory"), vec![Plugin::in_memory("mine.so", &description).unwrap()]);
        let checker = Checker::new(&inventory).expect("a checker");
        let checked = checker.schema_checks(&inventory.plugins[0]).expect("a chain may drop what it created");
        let ever: Vec<String> = checked.names.ever_created().into_keys().collect();
        assert_eq!(ever, ["mine_items", "mine_staging", "mine_staging_id"]);
        assert_eq!(checked.names.created_by("mine_staging"), Some(2));
        assert!(checked.names.present_at(2).is_some_and(|p| p.contains_key("mine_staging_id")));
        assert!(checked.names.present_at(3).is_some_and(|p| !p.contains_key("mine_staging")));

        let kept = &chain[..2];
        let description = PluginDescription::new("mine", "1.0.0", "test", &["mine_items"], &[], ddl, kept.to_vec());
        let inventory =
            Inventory::from_plugins(PathBuf::from("memory"), vec![Plugin::in_memory("mine.so", &description).unwrap()]);
        let checker = Checker::new(&inventory).expect("a checker");
        let error = checker.schema_checks(&inventory.plugins[0]).expect_err("a table left at the head").to_string();
        assert!(
            error.contains("leaves table `mine_staging` (created by V2)") && error.contains("add it to `tables`"),
            "{error}"
        );
    }

    #[test]
    fn two_new_plugins_creating_one_name_are_both_refused_naming_each_other() {
        let with_staging = |name: &str| {
            let ddl = format!("CREATE TABLE {name}_items (id INTEGER PRIMARY KEY);");
            let chain = vec![
                MigrationRecord::new(1, "baseline", &ddl),
                MigrationRecord::new(2, "work", "CREATE TABLE staging (id INTEGER); DROP TABLE staging;"),
            ];
            let table = format!("{name}_items");
            let description = PluginDescription::new(name, "1.0.0", "test", &[table.as_str()], &[], &ddl, chain);
            Plugin::in_memory(format!("{name}.so"), &description).unwrap()
        };
        let inventory = Inventory::from_plugins(PathBuf::from("memory"), vec![with_staging("a"), with_staging("b")]);
        let checker = Checker::new(&inventory).expect("a checker");
        let everyone: Vec<&Plugin> = inventory.plugins.iter().collect();
        let verdicts = checker.check_plugins(&everyone);
        for (verdict, other) in verdicts.iter().zip(["b", "a"]) {
            let error = verdict.as_ref().expect_err("refused").to_string();
            assert!(
                error.contains("table `staging` (created by its V2)") && error.contains(&format!("plugin '{other}'")),
                "{error}"
            );
        }
    }
}
