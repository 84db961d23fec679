//! The checks: every verdict on a plugin, reached before anything of it
//! is written to the operator's database.
//!
//! For each plugin the host takes a scratch database of the operator's
//! engine laid out like a real one (core schema, history tables, the other
//! plugins' tables its SQL names), runs the plugin's DDL there, and in a
//! second one its whole migration chain, both under the plugin's
//! [`Policy`]. The plugin is refused when its SQL fails or trespasses, when
//! the DDL creates other tables than the manifest lists, when the chain
//! leaves other tables or builds another schema than the DDL, or when it
//! takes a name someone else owns. `check` and the runs reach their
//! verdicts through [`Checker::check_plugins`] alike. What the scratch
//! databases taught about a plugin file is remembered across databases
//! ([`recall`]) for the runs, which then judge it without running its SQL
//! again.

pub mod digest;
pub mod recall;
pub mod report;

use crate::core_schema;
use crate::engine::{self, DatabaseTarget, Denial, Dialect, Policy, Scratch, ScratchError, ScratchSource, SqlError};
use crate::plugins::inventory::Inventory;
use crate::plugins::load::Plugin;
use crate::plugins::manifest::{ChainMigration, Manifest};
use crate::schema::names::{is_bookkeeping, ChainNames, ObjectKind, StepNames};
use crate::schema::sqltext::{name_changes, tokenize, NameChange, Token};
use crate::schema::Schema;
use recall::{Halves, VerdictCache};
use std::collections::{BTreeMap, BTreeSet};
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
    /// The chain created a name its SQL does not show (so the names two
    /// plugins share could not be known before checking them).
    #[error("plugin '{plugin}': its V{created_by} creates {kind} `{name}`, which the host does not find in a CREATE statement of its SQL; name every object in its own CREATE statement")]
    UnreadName { plugin: String, kind: ObjectKind, name: String, created_by: i32 },
    /// Chain and DDL produce different schemas.
    #[error("plugin '{plugin}': the migration chain (up to V{head}) and schema.sql produce different schemas: {}", diff.join("; "))]
    ChainDrift { plugin: String, head: i32, diff: Vec<String> },
    /// The plugin ships no SQL for the operator's engine.
    #[error("plugin '{plugin}' has no {} chain: add {}/schema.sql and {}/migrations/ to the plugin", dialect.display_name(), dir(*dialect), dir(*dialect))]
    NoSqlFor { plugin: String, dialect: Dialect },
    /// The chain for another engine does not pair up with the SQLite chain.
    #[error("plugin '{plugin}': its {} chain and its SQLite chain disagree: {difference}; from its first version on, a chain for another engine has the same versions and names (a comment-only migration where that engine needs no work)", dialect.display_name())]
    ChainsDisagree { plugin: String, dialect: Dialect, difference: String },
    /// No scratch database could be had to check the plugin in.
    #[error("plugin '{plugin}' could not be checked: {source}")]
    Scratch {
        plugin: String,
        #[source]
        source: ScratchError,
    },
}

/// Where a plugin keeps its SQL for `dialect`, relative to its crate.
fn dir(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => ".",
        Dialect::Postgres => "postgres",
    }
}

/// The rule that pairs an engine's chain with the SQLite chain: from the
/// engine chain's first version on, the two have the same versions with the
/// same names. The engine's chain may begin later (a plugin that gained
/// that engine in a later release: its first migration is a baseline equal
/// to the SQLite schema at that version); it may not skip or add a version,
/// or name one otherwise.
pub fn pairing(
    plugin: &str,
    sqlite: &[ChainMigration],
    other: &[ChainMigration],
    dialect: Dialect,
) -> Result<(), CheckError> {
    let disagree = |difference: String| CheckError::ChainsDisagree { plugin: plugin.to_owned(), dialect, difference };
    let Some(first) = other.first() else {
        return Err(disagree("it has no migrations".into()));
    };
    let Some(start) = sqlite.iter().position(|m| m.version == first.version) else {
        return Err(disagree(format!("it begins at V{}, a version the SQLite chain does not have", first.version)));
    };
    let paired = &sqlite[start..];
    for (i, (a, b)) in paired.iter().zip(other).enumerate() {
        if a.version != b.version {
            return Err(disagree(format!(
                "its migration #{} is {} where the SQLite chain has {}",
                i + 1,
                b.label(),
                a.label()
            )));
        }
        if a.name != b.name {
            return Err(disagree(format!("V{} is named {} there but {} in SQLite", a.version, b.label(), a.label())));
        }
    }
    match paired.len().cmp(&other.len()) {
        std::cmp::Ordering::Greater => Err(disagree(format!("it lacks {}", paired[other.len()].label()))),
        std::cmp::Ordering::Less => {
            Err(disagree(format!("it has {}, which the SQLite chain lacks", other[paired.len()].label())))
        }
        std::cmp::Ordering::Equal => Ok(()),
    }
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
    let mut readable = core_schema::tables().clone();
    for dependency in manifest.depends_on.iter().filter_map(|d| inventory.find(d)) {
        readable.extend(dependency.manifest.tables.iter().cloned());
    }
    Policy {
        plugin: manifest.name.clone(),
        owned: manifest.tables.iter().cloned().collect(),
        readable,
        depends_on: manifest.depends_on.clone(),
        owners: inventory.owners(),
        may_use_unclaimed: true,
    }
}

/// Reaches every plugin's verdict, in scratch databases of the operator's
/// engine. Made once per command and shared by its threads.
pub struct Checker<'i> {
    inventory: &'i Inventory,
    scratches: Box<dyn ScratchSource>,
    /// The operator's engine: which of a plugin's SQL is checked.
    dialect: Dialect,
    /// Each plugin's [`digest`], made on first use.
    digests: std::sync::OnceLock<BTreeMap<String, String>>,
    /// Where halves reached before are recalled and new ones remembered.
    cache: Option<Arc<VerdictCache>>,
}

impl std::fmt::Debug for Checker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker").field("scratches", &self.scratches).finish_non_exhaustive()
    }
}

impl<'i> Checker<'i> {
    /// A checker for `inventory`'s plugins, in scratch databases of the
    /// engine `target` is on.
    pub fn new(inventory: &'i Inventory, target: &DatabaseTarget) -> Result<Checker<'i>, ScratchError> {
        let scratches = engine::scratch_source(target, inventory)?;
        let digests = std::sync::OnceLock::new();
        Ok(Checker { inventory, scratches, dialect: target.dialect(), digests, cache: recall::installed() })
    }

    /// This checker with `cache` as its verdict cache instead of the
    /// process's ([`recall::installed`]).
    pub fn with_cache(mut self, cache: Option<Arc<VerdictCache>>) -> Checker<'i> {
        self.cache = cache;
        self
    }

    /// A checker for `inventory`'s plugins on SQLite, the default engine
    /// (for tests and benchmarks that have no database yet).
    pub fn sqlite(inventory: &'i Inventory) -> Result<Checker<'i>, ScratchError> {
        Checker::new(inventory, &DatabaseTarget::Sqlite(":memory:".into()))
    }

    /// [`Checker::check_plugin`] of each of `plugins`, in order, spread
    /// over the machine's cores (one plugin's checks never depend on
    /// another's, and at a thousand plugins they are most of a `check`),
    /// then the names two of them would both create refused in each.
    pub fn check_plugins(&self, plugins: &[&Plugin]) -> Vec<Result<Checked, CheckError>> {
        let declared = self.declared(plugins);
        let halves = self.spread(plugins, |plugin| self.both_halves(plugin));
        let (ddls, chains): (Vec<_>, Vec<_>) = halves.into_iter().unzip();
        let made = made_in_scratches(&chains);
        let shared = match &declared {
            Some(declared) => shared_names(plugins, &declared.iter().map(Some).collect::<Vec<_>>()),
            None => shared_names(plugins, &made.iter().map(Option::as_ref).collect::<Vec<_>>()),
        };
        self.scratches.release();
        let declared = declared.unwrap_or_default();
        ddls.into_iter()
            .zip(chains)
            .zip(shared)
            .enumerate()
            .map(|(i, ((ddl, chain), shared))| self.judge(plugins[i], ddl, chain, declared.get(i), shared))
            .collect()
    }

    /// Starts taking the verdicts of `plugins` (in the order the runs will
    /// want them) for a run that goes on meanwhile, on `scope`'s threads,
    /// where the engine's scratch databases may be used beside the run
    /// ([`ScratchSource::usable_beside_runs`]; `one_transaction`: the run is
    /// one transaction); elsewhere every verdict is taken here, before
    /// anything is written. Where the names a plugin's
    /// chain creates are read from its SQL ([`ScratchSource::names_in_sql`]),
    /// each verdict is handed out as soon as that plugin is checked;
    /// otherwise every chain is checked first (beside the core chain) and
    /// each DDL then, one plugin ahead of the runs. Either way the names two
    /// plugins share refuse both before either is applied, and the verdicts
    /// are those [`Checker::check_plugins`] gives.
    pub fn start<'scope, 'env>(
        &'env self,
        scope: &'scope std::thread::Scope<'scope, 'env>,
        plugins: &'env [&'env Plugin],
        one_transaction: bool,
    ) -> Pending {
        if !self.scratches.usable_beside_runs(one_transaction) {
            let verdicts = self.check_plugins(plugins);
            for plugin in plugins {
                self.learn_file_digest(plugin);
            }
            return Pending::ready(plugins, verdicts);
        }
        let (sender, receiver) = std::sync::mpsc::channel();
        // Its audit record names the plugin file's digest: known here once
        // the verdict is handed over, while its transaction runs.
        let deliver = move |i: usize, verdict: Result<Checked, CheckError>| {
            let _ = sender.send((i, verdict));
            self.learn_file_digest(plugins[i]);
        };
        scope.spawn(move || {
            // Reading every plugin's SQL for the names it creates and owns
            // is work for this thread too: the core chain runs meanwhile.
            // The owners are the runs' as well (every policy names them).
            let declared = self.declared(plugins);
            let _ = self.inventory.owners();
            match declared {
                Some(declared) => {
                    let shared = shared_names(plugins, &declared.iter().map(Some).collect::<Vec<_>>());
                    // One core fewer than the checks alone would take: the
                    // runs need the other, and a verdict comes no sooner
                    // for slowing them down.
                    let threads = self.scratches.parallelism().saturating_sub(1).max(1);
                    self.spread_each(plugins, threads, |i, plugin| {
                        let (ddl, chain) = self.both_halves(plugin);
                        deliver(i, self.judge(plugin, ddl, chain, Some(&declared[i]), shared[i].clone()));
                    });
                }
                None => {
                    let chains = self.spread(plugins, |plugin| self.chain_half(plugin));
                    let made = made_in_scratches(&chains);
                    let shared = shared_names(plugins, &made.iter().map(Option::as_ref).collect::<Vec<_>>());
                    for (i, (chain, shared)) in chains.into_iter().zip(shared).enumerate() {
                        let plugin = plugins[i];
                        let ddl = self.ddl_half(plugin);
                        deliver(i, self.judge(plugin, ddl, chain, None, shared));
                    }
                }
            }
            self.scratches.release();
        });
        Pending { index: Pending::index_of(plugins), receiver: Some(receiver), arrived: BTreeMap::new() }
    }

    /// Learns the SHA-256 of `plugin`'s file, which its audit record names:
    /// from the verdict cache when the file is unchanged since a run read
    /// it ([`VerdictCache::file_sha256`]), else by reading it.
    fn learn_file_digest(&self, plugin: &Plugin) {
        if let Some(file) = &plugin.opened {
            let _ = match &self.cache {
                Some(cache) => cache.file_sha256(file),
                None => file.sha256(),
            };
        }
    }

    /// `plugin`'s [`verdict`], its halves remembered in the verdict cache
    /// when they were reached in scratch databases.
    fn judge(
        &self,
        plugin: &Plugin,
        ddl: Result<Schema, CheckError>,
        chain: Result<ChainChecked, CheckError>,
        declared: Option<&Creations>,
        shared: Option<CheckError>,
    ) -> Result<Checked, CheckError> {
        let digest = self.digest_of(plugin);
        if let (Some(cache), Ok(ddl), Ok(chain)) = (&self.cache, &ddl, &chain) {
            if cache.recall(&plugin.manifest.name, &digest).is_none() {
                cache.remember(&plugin.manifest.name, &digest, ddl, chain);
            }
        }
        verdict(&plugin.manifest, digest, ddl, chain, declared, shared)
    }

    /// The halves of `plugin`'s checks remembered in the verdict cache.
    fn recalled(&self, plugin: &Plugin) -> Option<Arc<Halves>> {
        let halves = self.cache.as_ref()?.recall(&plugin.manifest.name, &self.digest_of(plugin))?;
        tracing::debug!("{}: checks recalled from the verdict cache", plugin.manifest.name);
        Some(halves)
    }

    /// The [`digest`] of everything `plugin`'s verdict depends on.
    pub fn digest_of(&self, plugin: &Plugin) -> String {
        let digests = self.digests.get_or_init(|| digest::digests(self.inventory, self.dialect));
        digests.get(&plugin.manifest.name).cloned().unwrap_or_default()
    }

    /// What each of `plugins`' chains creates, read from its SQL, where
    /// the engine's statements name everything they create.
    fn declared(&self, plugins: &[&Plugin]) -> Option<Vec<Creations>> {
        self.scratches.names_in_sql().then(|| {
            plugins
                .iter()
                .map(|p| self.sql_of(p).map_or_else(|_| Creations::new(), |(_, chain)| declared_in(chain)))
                .collect()
        })
    }

    /// `each` of `plugins`, in order, spread over as many threads as the
    /// scratch databases allow.
    fn spread<T: Send>(&self, plugins: &[&Plugin], each: impl Fn(&Plugin) -> T + Sync) -> Vec<T> {
        let results: std::sync::Mutex<Vec<Option<T>>> =
            std::sync::Mutex::new(std::iter::repeat_with(|| None).take(plugins.len()).collect());
        self.spread_each(plugins, self.scratches.parallelism(), |i, plugin| {
            let result = each(plugin);
            results.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(result);
        });
        results.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner).into_iter().flatten().collect()
    }

    /// Calls `each` with every one of `plugins` and its index, spread over
    /// at most `threads` threads, each taking them in order (the first ones
    /// are done first).
    fn spread_each(&self, plugins: &[&Plugin], threads: usize, each: impl Fn(usize, &Plugin) + Sync) {
        let threads = threads.min(plugins.len());
        let each = &each;
        let share = move |k: usize| {
            for (i, plugin) in plugins.iter().enumerate().skip(k).step_by(threads.max(1)) {
                each(i, plugin);
            }
        };
        std::thread::scope(|scope| {
            let workers: Vec<_> = (1..threads).map(|k| scope.spawn(move || share(k))).collect();
            share(0);
            for worker in workers {
                worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            }
        });
    }

    /// A scratch database laid out like a real one around `plugin`: the
    /// core schema and every table its SQL names (its dependencies' tables,
    /// other plugins' tables, history tables), as their owners create them.
    /// Data migrations find the tables they read; SQL reaching for a table
    /// it may not touch meets the engine's refusal rather than "no such
    /// table".
    pub(crate) fn scratch_for(&self, plugin: &Plugin) -> Result<Box<dyn Scratch>, CheckError> {
        let others = self.missing_tables(&plugin.manifest);
        self.scratches
            .scratch(&plugin.manifest.name, &plugin.manifest.depends_on, &others)
            .map_err(|source| CheckError::Scratch { plugin: plugin.manifest.name.clone(), source })
    }

    /// The names in `manifest`'s SQL that a new scratch database lacks:
    /// other plugins' tables, the host's bookkeeping and, where a scratch
    /// database makes them when named, the core's; never the plugin's own
    /// (its SQL creates those). Known from the words of the SQL, without
    /// asking SQLite, which would re-read the schema after every table
    /// created.
    fn missing_tables(&self, manifest: &Manifest) -> BTreeSet<String> {
        let owners = self.inventory.owners();
        let base = self.scratches.base_names();
        let base_missing = self.scratches.base_made_when_named();
        let mut missing = BTreeSet::new();
        let Some((ddl, chain)) = manifest.sql_for(self.dialect) else { return missing };
        for sql in std::iter::once(ddl).chain(chain.iter().map(|m| m.sql.as_str())) {
            for token in tokenize(sql) {
                let Token::Word(word) = token else { continue };
                let others = owners.get(word.as_str()).is_some_and(|owner| *owner != manifest.name);
                let wanted = if base.contains(&word) { base_missing } else { others || is_bookkeeping(&word) };
                if wanted && !manifest.owns(&word) {
                    missing.insert(word);
                }
            }
        }
        missing
    }

    /// The plugin's DDL and chain for the operator's engine: refused when it
    /// has none, or when its chain disagrees with its SQLite chain (from its
    /// first version on, the same versions and names; see [`pairing`]).
    pub fn sql_of<'p>(&self, plugin: &'p Plugin) -> Result<(&'p str, &'p [ChainMigration]), CheckError> {
        let manifest = &plugin.manifest;
        let Some((ddl, chain)) = manifest.sql_for(self.dialect) else {
            return Err(CheckError::NoSqlFor { plugin: manifest.name.clone(), dialect: self.dialect });
        };
        if self.dialect != Dialect::Sqlite {
            pairing(&manifest.name, &manifest.chain, chain, self.dialect)?;
        }
        Ok((ddl, chain))
    }

    /// Every check on one plugin of the inventory; what they learnt comes
    /// with the verdict.
    pub fn check_plugin(&self, plugin: &Plugin) -> Result<Checked, CheckError> {
        let mut verdicts = self.check_plugins(&[plugin]);
        verdicts.pop().unwrap_or_else(|| unreachable!("one verdict per plugin"))
    }

    /// The DDL's checks and the chain's in one scratch database: the DDL's
    /// work is rolled back before the chain runs from the same start.
    fn both_halves(&self, plugin: &Plugin) -> (Result<Schema, CheckError>, Result<ChainChecked, CheckError>) {
        if let Some(halves) = self.recalled(plugin) {
            return (Ok(halves.ddl.clone()), Ok(halves.chain.clone()));
        }
        let started = std::time::Instant::now();
        let mut scratch = match self.scratch_for(plugin) {
            Ok(scratch) => scratch,
            Err(e) => return (Err(e.clone()), Err(e)),
        };
        let ddl = self.check_ddl(plugin, scratch.as_mut());
        let rewound =
            scratch.rewind().map_err(|source| CheckError::Scratch { plugin: plugin.manifest.name.clone(), source });
        let chain = rewound.and_then(|()| self.check_chain(plugin, scratch.as_mut()));
        tracing::debug!("{}: scratch checks in {} µs", plugin.manifest.name, started.elapsed().as_micros());
        (ddl, chain)
    }

    /// The chain's checks, in a scratch database of their own.
    fn chain_half(&self, plugin: &Plugin) -> Result<ChainChecked, CheckError> {
        if let Some(halves) = self.recalled(plugin) {
            return Ok(halves.chain.clone());
        }
        let started = std::time::Instant::now();
        let checked = self.check_chain(plugin, self.scratch_for(plugin)?.as_mut());
        tracing::debug!("{}: chain checked in {} µs", plugin.manifest.name, started.elapsed().as_micros());
        checked
    }

    /// The DDL's checks, in a scratch database of their own.
    fn ddl_half(&self, plugin: &Plugin) -> Result<Schema, CheckError> {
        if let Some(halves) = self.recalled(plugin) {
            return Ok(halves.ddl.clone());
        }
        let started = std::time::Instant::now();
        let checked = self.check_ddl(plugin, self.scratch_for(plugin)?.as_mut());
        tracing::debug!("{}: DDL checked in {} µs", plugin.manifest.name, started.elapsed().as_micros());
        checked
    }

    /// The checks on the plugin's DDL: it runs, stays in its tables, creates
    /// exactly the listed tables, references only what it may. Returns the
    /// schema it builds.
    pub fn check_ddl(&self, plugin: &Plugin, ddl_db: &mut dyn Scratch) -> Result<Schema, CheckError> {
        let manifest = &plugin.manifest;
        let name = || manifest.name.clone();
        let scratch_failed = |source: ScratchError| CheckError::Scratch { plugin: name(), source };
        let policy = Arc::new(policy_for(manifest, self.inventory));
        let (ddl, _) = self.sql_of(plugin)?;
        ddl_db.run_as(&policy, ddl).map_err(|e| match e {
            SqlError::Denied(denial) => CheckError::DdlDenied { plugin: name(), denial },
            SqlError::Failed(message) => CheckError::DdlFailed { plugin: name(), message },
        })?;
        let created = ddl_db.created_objects().map_err(scratch_failed)?;
        let ddl_schema = ddl_db.schema(&|t| created.contains_key(t)).map_err(scratch_failed)?;
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
    /// migration runs and stays in what the plugin owns, and the chain
    /// leaves what the manifest lists. Returns the names the chain creates,
    /// migration by migration, and the schema it builds (compared with the
    /// DDL's by [`drift`]).
    pub fn check_chain(&self, plugin: &Plugin, chain_db: &mut dyn Scratch) -> Result<ChainChecked, CheckError> {
        let manifest = &plugin.manifest;
        let name = || manifest.name.clone();
        let scratch_failed = |source: ScratchError| CheckError::Scratch { plugin: name(), source };
        let policy = Arc::new(policy_for(manifest, self.inventory));
        let (_, chain) = self.sql_of(plugin)?;
        let mut names = ChainNames::default();
        let mut present: BTreeMap<String, ObjectKind> = BTreeMap::new();
        for migration in chain {
            let touched = chain_db.run_as(&policy, &migration.sql).map_err(|e| match e {
                SqlError::Denied(denial) => {
                    CheckError::ChainDenied { plugin: name(), migration: migration.label(), denial }
                }
                SqlError::Failed(message) => {
                    CheckError::ChainFailed { plugin: name(), migration: migration.label(), message }
                }
            })?;
            if touched.schema {
                present = chain_db.created_objects().map_err(scratch_failed)?;
            }
            let created = touched.named.into_iter().filter(|(n, _)| !self.scratches.base_names().contains(n)).collect();
            names.steps.push(StepNames {
                version: migration.version,
                created,
                present: present.clone(),
                changed: touched.changed,
            });
        }
        for (object, kind) in &present {
            if matches!(kind, ObjectKind::Table | ObjectKind::View) && !manifest.owns(object) {
                return Err(CheckError::UnlistedAtHead {
                    plugin: name(),
                    kind: *kind,
                    name: object.clone(),
                    created_by: names.created_by(object).unwrap_or(manifest.head()),
                });
            }
        }
        let schema = chain_db.schema(&|t| present.contains_key(t)).map_err(scratch_failed)?;
        Ok(ChainChecked { names, schema })
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

/// A plugin's verdict from its two halves and the names it shares with
/// others, in the order a plugin author fixes them: the DDL, the chain,
/// their agreement, then the names. Where the names were read from the
/// SQL (`declared`), every name the chain created in the scratch database
/// must be among them: that is what makes the refusal of shared names
/// complete.
fn verdict(
    manifest: &Manifest,
    digest: String,
    ddl: Result<Schema, CheckError>,
    chain: Result<ChainChecked, CheckError>,
    declared: Option<&Creations>,
    shared: Option<CheckError>,
) -> Result<Checked, CheckError> {
    let schema = ddl?;
    let chain = chain?;
    drift(manifest, &chain.schema, &schema)?;
    if let Some(declared) = declared {
        let made = made_in_scratch(&chain.names);
        if let Some((name, &(kind, created_by))) = made.iter().find(|(name, _)| !declared.contains_key(*name)) {
            let plugin = manifest.name.clone();
            return Err(CheckError::UnreadName { plugin, kind, name: name.clone(), created_by });
        }
    }
    match shared {
        Some(refused) => Err(refused),
        None => Ok(Checked { digest, schema, names: chain.names }),
    }
}

/// Verdicts being taken while a run goes on ([`Checker::start`]), handed
/// out as the runs reach each plugin.
#[derive(Debug)]
pub struct Pending {
    /// Each plugin's place among those given to [`Checker::start`], until
    /// its verdict is taken.
    index: BTreeMap<String, usize>,
    /// `None` once every verdict has arrived.
    receiver: Option<std::sync::mpsc::Receiver<(usize, Result<Checked, CheckError>)>>,
    arrived: BTreeMap<usize, Result<Checked, CheckError>>,
}

impl Pending {
    fn ready(plugins: &[&Plugin], verdicts: Vec<Result<Checked, CheckError>>) -> Pending {
        let arrived = verdicts.into_iter().enumerate().collect();
        Pending { index: Pending::index_of(plugins), receiver: None, arrived }
    }

    fn index_of(plugins: &[&Plugin]) -> BTreeMap<String, usize> {
        plugins.iter().enumerate().map(|(i, p)| (p.manifest.name.clone(), i)).collect()
    }

    /// The verdict on `plugin`, waiting for it if need be; `None` when it
    /// is not one of the plugins given to [`Checker::start`] (or its
    /// verdict was taken already).
    pub fn take(&mut self, plugin: &str) -> Option<Result<Checked, CheckError>> {
        let i = self.index.remove(plugin)?;
        loop {
            if let Some(verdict) = self.arrived.remove(&i) {
                return Some(verdict);
            }
            let Some(receiver) = &self.receiver else { break };
            match receiver.recv() {
                Ok((j, verdict)) => {
                    self.arrived.insert(j, verdict);
                }
                Err(_) => self.receiver = None,
            }
        }
        let stopped = ScratchError::Setup { what: "checking the plugins", reason: "the checks stopped early".into() };
        Some(Err(CheckError::Scratch { plugin: plugin.to_owned(), source: stopped }))
    }
}

#[cfg(test)]
mod pairing_tests {
    use super::*;

    fn chain(steps: &[(i32, &str)]) -> Vec<ChainMigration> {
        steps.iter().map(|(v, n)| ChainMigration::new(*v, n, "")).collect()
    }

    #[test]
    fn chains_pair_from_the_other_engines_first_version_and_the_first_difference_is_named() {
        let sqlite = chain(&[(1, "baseline"), (2, "more"), (3, "last")]);
        let pair = |steps: &[(i32, &str)]| pairing("p", &sqlite, &chain(steps), Dialect::Postgres);
        assert!(pair(&[(1, "baseline"), (2, "more"), (3, "last")]).is_ok());
        assert!(pair(&[(2, "more"), (3, "last")]).is_ok(), "a later baseline");
        let error = |steps: &[(i32, &str)]| pair(steps).unwrap_err().to_string();
        assert!(error(&[(1, "baseline"), (3, "last")]).contains("is V3__last where the SQLite chain has V2__more"));
        assert!(
            error(&[(1, "baseline"), (2, "other"), (3, "last")]).contains("V2 is named V2__other there but V2__more")
        );
        assert!(error(&[(1, "baseline"), (2, "more")]).contains("it lacks V3__last"));
        assert!(error(&[(1, "baseline"), (2, "more"), (3, "last"), (4, "extra")]).contains("has V4__extra"));
        assert!(error(&[(7, "x")]).contains("begins at V7"));
    }
}

/// A [`Checker`] made on first use: a no-op `upgrade-all` checks nothing
/// and should not pay for setting one up.
#[derive(Debug)]
pub struct LazyChecker<'i> {
    inventory: &'i Inventory,
    target: DatabaseTarget,
    cell: std::cell::OnceCell<Result<Checker<'i>, ScratchError>>,
}

impl<'i> LazyChecker<'i> {
    /// A checker for `inventory` on `target`'s engine, not built yet.
    pub fn new(inventory: &'i Inventory, target: &DatabaseTarget) -> LazyChecker<'i> {
        LazyChecker { inventory, target: target.clone(), cell: std::cell::OnceCell::new() }
    }

    /// The checker, built now if needed.
    pub fn get(&self) -> Result<&Checker<'i>, ScratchError> {
        self.cell.get_or_init(|| Checker::new(self.inventory, &self.target)).as_ref().map_err(Clone::clone)
    }
}

/// What a plugin's chain did in a scratch database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainChecked {
    /// The names it creates, migration by migration.
    pub names: ChainNames,
    /// The schema it builds.
    pub schema: Schema,
}

/// A plugin that passed every check, and what the checks learnt about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The [`digest`] of what was checked, recorded with the plugin's run.
    pub digest: String,
    /// The schema its DDL builds (which its chain builds too).
    pub schema: Schema,
    /// The names its chain creates, migration by migration.
    pub names: ChainNames,
}

/// What a chain creates: each name, its kind and the version creating it.
type Creations = BTreeMap<String, (ObjectKind, i32)>;

/// What each chain that ran created in its scratch database.
fn made_in_scratches(chains: &[Result<ChainChecked, CheckError>]) -> Vec<Option<Creations>> {
    chains.iter().map(|chain| chain.as_ref().ok().map(|c| made_in_scratch(&c.names))).collect()
}

/// What the chain created in a scratch database.
fn made_in_scratch(names: &ChainNames) -> Creations {
    names
        .ever_created()
        .into_iter()
        .map(|(name, kind)| {
            let created_by = names.created_by(&name).unwrap_or(0);
            (name, (kind, created_by))
        })
        .collect()
}

/// What the chain's `CREATE` statements name, read from its SQL.
fn declared_in(chain: &[ChainMigration]) -> Creations {
    let mut creations = Creations::new();
    for migration in chain {
        for change in name_changes(&migration.sql) {
            if let NameChange::Created { kind, name, .. } = change {
                creations.entry(name).or_insert((kind, migration.version));
            }
        }
    }
    creations
}

/// The refusal, for each of `plugins` (whose chains create `creations`,
/// `None` where that is unknown), when its chain creates a name another
/// plugin's chain creates too. Names the database records, the core's and
/// those in the plugins' DDL are refused by the guard as their owner's;
/// what is left are names two new plugins both take, such as a working
/// table by the same name.
fn shared_names(plugins: &[&Plugin], creations: &[Option<&Creations>]) -> Vec<Option<CheckError>> {
    let mut creators: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, made) in creations.iter().enumerate() {
        for name in made.iter().flat_map(|made| made.keys()) {
            creators.entry(name).or_default().push(i);
        }
    }
    let mut refusals = vec![None; creations.len()];
    for (name, who) in creators.into_iter().filter(|(_, who)| who.len() > 1) {
        for &i in &who {
            // The first name it shares is the one its refusal gives.
            let (Some(&(kind, created_by)), None) = (creations[i].and_then(|c| c.get(name)), &refusals[i]) else {
                continue;
            };
            let others = who
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| format!("plugin '{}' (`{}`)", plugins[j].manifest.name, plugins[j].file.display()))
                .collect();
            refusals[i] = Some(CheckError::NameShared {
                plugin: plugins[i].manifest.name.clone(),
                kind,
                name: name.to_owned(),
                created_by,
                others,
            });
        }
    }
    refusals
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use plugin_api::{MigrationRecord, PluginDescription};
    use std::path::PathBuf;

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
        let checker = Checker::sqlite(&inventory).expect("a checker");
        let everyone: Vec<&Plugin> = inventory.plugins.iter().collect();
        let one_by_one: Vec<_> = everyone.iter().map(|p| checker.check_plugin(p)).collect();
        assert_eq!(checker.check_plugins(&everyone), one_by_one);
        let refused: Vec<&str> = everyone
            .iter()
            .zip(&one_by_one)
            .filter(|(_, verdict)| verdict.is_err())
            .map(|(p, _)| p.manifest.name.as_str())
            .collect();
        assert_eq!(refused, ["p1", "p2", "p4", "p5", "p7", "p8"]);
    }

    /// A plugin owning `<name>_items` with `ddl` and a chain of `chain`.
    fn plugin_with_chain(name: &str, ddl: &str, chain: &[&str]) -> Plugin {
        let table = format!("{name}_items");
        let records =
            chain.iter().enumerate().map(|(i, sql)| MigrationRecord::new(i as i64 + 1, &format!("step{i}"), sql));
        let description = PluginDescription::new(name, "1.0.0", "test", &[table.as_str()], &[], ddl, records);
        Plugin::in_memory(format!("{name}.so"), &description).expect("a valid manifest")
    }

    #[test]
    fn a_plugins_sql_finds_the_core_tables_it_names_as_the_core_leaves_them() {
        let ddl = "CREATE TABLE mine_items (id INTEGER PRIMARY KEY, status TEXT NOT NULL);";
        // NOT NULL holds only if the core's seed rows are there.
        let reads_the_core =
            "INSERT INTO mine_items (status) VALUES ((SELECT code FROM \"Asset_Statuses\" WHERE is_retired = 1));";
        let writes_the_core = "UPDATE people SET display_name = 'x';";
        let inventory = Inventory::from_plugins(
            PathBuf::from("memory"),
            vec![
                plugin_with_chain("mine", ddl, &[ddl, reads_the_core]),
                plugin_with_chain(
                    "bold",
                    &ddl.replace("mine", "bold"),
                    &[&ddl.replace("mine", "bold"), writes_the_core],
                ),
            ],
        );
        let checker = Checker::sqlite(&inventory).expect("a checker");
        assert!(checker.scratches.base_made_when_named(), "SQLite makes a core table when it is named");
        let named = |name: &str| inventory.plugins.iter().find(|p| p.manifest.name == name).expect("the plugin");
        checker.check_plugin(named("mine")).expect("the core's rows and columns are there");
        let refused = checker.check_plugin(named("bold")).expect_err("a core table is not the plugin's");
        assert!(refused.to_string().contains("UPDATE `people`: it is a core table"), "{refused}");
    }

    #[test]
    fn verdicts_taken_beside_a_run_are_those_check_plugins_gives_in_whatever_order_they_are_taken() {
        let items = |name: &str| format!("CREATE TABLE {name}_items (id INTEGER PRIMARY KEY);");
        let staging = "CREATE TABLE staging (id INTEGER); DROP TABLE staging;";
        let plugins = vec![
            plugin_with_chain("fine", &items("fine"), &[&items("fine")]),
            plugin_with_chain("sharer_a", &items("sharer_a"), &[&items("sharer_a"), staging]),
            plugin_with_chain("bad_ddl", &format!("{} DROP TABLE sites;", items("bad_ddl")), &[&items("bad_ddl")]),
            plugin_with_chain("sharer_b", &items("sharer_b"), &[&items("sharer_b"), staging]),
            plugin_with_chain(
                "drifts",
                "CREATE TABLE drifts_items (id INTEGER PRIMARY KEY, note TEXT);",
                &[&items("drifts")],
            ),
            plugin_with_chain(
                "bad_chain",
                &items("bad_chain"),
                &[&items("bad_chain"), "INSERT INTO nowhere VALUES (1);"],
            ),
        ];
        let inventory = Inventory::from_plugins(PathBuf::from("memory"), plugins);
        let checker = Checker::sqlite(&inventory).expect("a checker");
        assert!(
            checker.scratches.usable_beside_runs(true) && checker.scratches.names_in_sql(),
            "SQLite streams its verdicts"
        );
        let everyone: Vec<&Plugin> = inventory.plugins.iter().collect();
        let all_at_once = checker.check_plugins(&everyone);
        let mut beside: Vec<_> = std::thread::scope(|scope| {
            let mut pending = checker.start(scope, &everyone, false);
            let taken = everyone.iter().rev().map(|p| pending.take(&p.manifest.name).expect("one of them")).collect();
            assert!(pending.take("fine").is_none(), "a verdict is handed out once");
            taken
        });
        beside.reverse();
        assert_eq!(beside, all_at_once);
        let reason = |name: &str| {
            let i = everyone.iter().position(|p| p.manifest.name == name).expect("the plugin");
            all_at_once[i].as_ref().err().map_or_else(|| "ok".into(), ToString::to_string)
        };
        assert_eq!(reason("fine"), "ok");
        for (sharer, other) in [("sharer_a", "sharer_b"), ("sharer_b", "sharer_a")] {
            let refused = reason(sharer);
            assert!(refused.contains("`staging`") && refused.contains(&format!("plugin '{other}'")), "{refused}");
        }
        assert!(reason("bad_ddl").contains("schema.sql was refused"), "{}", reason("bad_ddl"));
        assert!(reason("drifts").contains("produce different schemas"), "{}", reason("drifts"));
        assert!(reason("bad_chain").contains("V2__step1 fails"), "{}", reason("bad_chain"));
    }

    #[test]
    fn names_are_read_from_the_sql_as_sqlite_creates_them_and_a_name_the_sql_does_not_show_refuses() {
        let chain = [
            ChainMigration::new(1, "one", "CREATE TABLE [Odd_Items] (id INTEGER PRIMARY KEY); CREATE UNIQUE INDEX IF NOT EXISTS `odd_idx` ON odd_items (id);"),
            ChainMigration::new(2, "two", "CREATE TEMP TRIGGER \"odd_t\" AFTER INSERT ON odd_items BEGIN SELECT 1; END; CREATE VIEW main.odd_v AS SELECT 1;"),
        ];
        let declared = declared_in(&chain);
        let read: Vec<(&str, ObjectKind, i32)> = declared.iter().map(|(n, (k, v))| (n.as_str(), *k, *v)).collect();
        assert_eq!(
            read,
            [
                ("odd_idx", ObjectKind::Index, 1),
                ("odd_items", ObjectKind::Table, 1),
                ("odd_t", ObjectKind::Trigger, 2),
                ("odd_v", ObjectKind::View, 2)
            ]
        );

        let step = |version: i32, created: &[&str]| StepNames {
            version,
            created: created.iter().map(|n| ((*n).to_owned(), ObjectKind::Table)).collect(),
            present: BTreeMap::new(),
            changed: true,
        };
        let chain_checked = |created: &[&str]| ChainChecked {
            names: ChainNames { steps: vec![step(1, &["odd_items"]), step(2, created)] },
            schema: Schema::default(),
        };
        let odd = plugin_with_chain("odd", "", &[""]);
        let judge = |created: &[&str], declared: Option<&Creations>| {
            verdict(&odd.manifest, String::new(), Ok(Schema::default()), Ok(chain_checked(created)), declared, None)
        };
        let seen = judge(&["odd_v"], Some(&declared));
        assert!(seen.is_ok(), "{seen:?}");
        let unseen = judge(&["hidden"], Some(&declared));
        let error = unseen.expect_err("a name the SQL does not show").to_string();
        assert!(error.contains("its V2 creates table `hidden`") && error.contains("CREATE statement"), "{error}");
        // Where the engine's statements do not name all they create, the
        // names come from the scratch database alone.
        assert!(judge(&["hidden"], None).is_ok());
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
        let checker = Checker::sqlite(&inventory).expect("a checker");
        let checked = checker.check_plugin(&inventory.plugins[0]).expect("a chain may drop what it created");
        let ever: Vec<String> = checked.names.ever_created().into_keys().collect();
        assert_eq!(ever, ["mine_items", "mine_staging", "mine_staging_id"]);
        assert_eq!(checked.names.created_by("mine_staging"), Some(2));
        assert!(checked.names.present_at(2).is_some_and(|p| p.contains_key("mine_staging_id")));
        assert!(checked.names.present_at(3).is_some_and(|p| !p.contains_key("mine_staging")));

        let kept = &chain[..2];
        let description = PluginDescription::new("mine", "1.0.0", "test", &["mine_items"], &[], ddl, kept.to_vec());
        let inventory =
            Inventory::from_plugins(PathBuf::from("memory"), vec![Plugin::in_memory("mine.so", &description).unwrap()]);
        let checker = Checker::sqlite(&inventory).expect("a checker");
        let error = checker.check_plugin(&inventory.plugins[0]).expect_err("a table left at the head").to_string();
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
        let checker = Checker::sqlite(&inventory).expect("a checker");
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
