//! The runs: bringing chains forward, the core's first, then each plugin's
//! in dependency order.
//!
//! Every chain is independent: it has its own history table and its own
//! transaction, so one plugin failing rolls back that plugin alone. A plugin
//! whose dependency failed or was refused is reported as blocked and not
//! touched. Every plugin's verdict is known before its transaction begins
//! ([`crate::checks`]); nothing is applied for a plugin that fails its
//! checks. Objects found without history are adopted ([`adopt`]). A dry run
//! goes through exactly the same steps inside one transaction that is rolled
//! back, and reports the SQL each chain ran.
//!
//! The bootstrap path ([`bootstrap`]) creates every plugin from its DDL in
//! one transaction and records its history as applied; [`stamp`] records
//! history by hand; [`uninstall`] removes a plugin; [`status`] and
//! [`history`] read where chains stand.

pub mod adopt;
pub mod bootstrap;

pub mod stamp;
pub mod status;
pub mod uninstall;

pub use bootstrap::bootstrap;
pub use stamp::stamp;

use crate::checks::{policy_for, CheckError, Checked, LazyChecker, Pending};
use crate::core_schema;
use crate::engine::history;
use crate::engine::{
    AppliedMigration, ApplyError, AuditEntry, AuditOutcome, ChainRun, DatabaseTarget, DbError, Engine, Execution, Mark,
    PluginRecord, Session,
};
use crate::error_chain::one_line;
use crate::plugins::inventory::{dependency_closure, Inventory};
use crate::plugins::load::Plugin;
use crate::plugins::manifest::ChainMigration;
use crate::schema::Dialect;
use adopt::Adoption;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
/// What happened to every chain in one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The database.
    pub database: DatabaseTarget,
    /// Whether nothing was kept: every change was rolled back at the end.
    pub dry_run: bool,
    /// The core chain first, then plugins in the order they were handled.
    pub chains: Vec<ChainOutcome>,
}

/// What happened to one chain.
#[derive(Debug, Clone, Serialize)]
pub struct ChainOutcome {
    /// `core` or the plugin's name (the file name when it never said one).
    pub name: String,
    /// The plugin file, for plugins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The version applied before the run (`None`: nothing applied).
    pub from: Option<i32>,
    /// The result.
    #[serde(flatten)]
    pub status: Status,
    /// The SQL the chain ran, in order (reported for dry runs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sql: Vec<String>,
}

/// The result for one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Migrations were applied (after recording history up to `adopted`
    /// when the tables were found in place).
    Applied {
        /// `V2__add_toner_levels`, … in order.
        migrations: Vec<String>,
        /// The version now applied.
        version: i32,
        /// The version adopted from tables found without history.
        #[serde(skip_serializing_if = "Option::is_none")]
        adopted: Option<i32>,
    },
    /// History was recorded without running migrations.
    Recorded {
        /// The migrations recorded as applied.
        migrations: Vec<String>,
        /// The version now recorded.
        version: i32,
        /// Why: bootstrapped, adopted or stamped.
        how: Mark,
    },
    /// Nothing was pending.
    UpToDate {
        /// The version applied (`None` when the chain is empty).
        version: Option<i32>,
    },
    /// Applying failed and was rolled back.
    Failed {
        /// What failed, naming the migration.
        reason: String,
    },
    /// The plugin did not pass the checks; nothing was tried.
    Refused {
        /// Why.
        reason: String,
    },
    /// A dependency failed or was refused; nothing was tried.
    Blocked {
        /// The dependency (or `core`).
        by: String,
    },
}

impl Status {
    /// Whether this chain ended where it was asked to.
    pub fn is_ok(&self) -> bool {
        matches!(self, Status::Applied { .. } | Status::Recorded { .. } | Status::UpToDate { .. })
    }
}

impl RunReport {
    /// Whether every chain ended where it was asked to.
    pub fn succeeded(&self) -> bool {
        self.chains.iter().all(|c| c.status.is_ok())
    }
}

/// Why a run could not start at all (bad input, as opposed to a chain that
/// failed while applying).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No plugin of that name in the directory.
    #[error("no plugin named '{name}' in `{}`; plugins found: {}", dir.display(), list_or_none(found))]
    UnknownPlugin { name: String, dir: PathBuf, found: Vec<String> },
    /// The target version is not in the chain.
    #[error("plugin '{plugin}' has no migration V{target}; its chain has {}", versions.iter().map(|v| format!("V{v}")).collect::<Vec<_>>().join(", "))]
    UnknownTarget { plugin: String, target: i32, versions: Vec<i32> },
    /// `stamp` below what the database already records.
    #[error("plugin '{plugin}' is already recorded at V{at}; stamp only records history forward (to V{at} or later)")]
    StampBackwards { plugin: String, at: i32 },
    /// The plugin the command names was refused.
    #[error("{}: {reason}", file.display())]
    Refused { file: PathBuf, reason: String },
    /// No scratch database could be had to check the plugins in.
    #[error("the plugins could not be checked: {0}")]
    Unchecked(String),
    /// The database could not be used at all.
    #[error(transparent)]
    Db(#[from] DbError),
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// Applies the core chain and every usable plugin (`upgrade-all`).
pub fn upgrade_all(db: &mut dyn Engine, inventory: &Inventory, dry_run: bool) -> Result<RunReport, RunError> {
    let selection = inventory.plugins.iter().map(|p| (p, None)).collect();
    run(db, inventory, selection, true, dry_run)
}

/// Applies the core chain, the plugins `name` depends on (to their heads) and
/// `name` itself (to `target`, or its head).
pub fn migrate_plugin(
    db: &mut dyn Engine,
    inventory: &Inventory,
    name: &str,
    target: Option<i32>,
    dry_run: bool,
) -> Result<RunReport, RunError> {
    let plugin = find(inventory, name)?;
    if let Some(target) = target {
        check_target(plugin, target, db.target().dialect())?;
    }
    let mut selection: Vec<(&Plugin, Option<i32>)> =
        dependency_closure(&plugin.manifest, &inventory.plugins).into_iter().map(|p| (p, None)).collect();
    selection.push((plugin, target));
    run(db, inventory, selection, false, dry_run)
}

pub(crate) fn find<'i>(inventory: &'i Inventory, name: &str) -> Result<&'i Plugin, RunError> {
    if let Some(plugin) = inventory.find(name) {
        return Ok(plugin);
    }
    if let Some(refusal) = inventory.refused.iter().find(|r| r.plugin.as_deref() == Some(name)) {
        return Err(RunError::Refused { file: refusal.file.clone(), reason: refusal.reason.clone() });
    }
    Err(RunError::UnknownPlugin {
        name: name.to_owned(),
        dir: inventory.dir.clone(),
        found: inventory.names().into_iter().collect(),
    })
}

pub(crate) fn check_target(plugin: &Plugin, target: i32, dialect: Dialect) -> Result<(), RunError> {
    let chain = plugin.manifest.chain_for(dialect);
    if chain.iter().any(|m| m.version == target) {
        Ok(())
    } else {
        Err(RunError::UnknownTarget {
            plugin: plugin.manifest.name.clone(),
            target,
            versions: chain.iter().map(|m| m.version).collect(),
        })
    }
}

pub(crate) fn outcome(name: &str, file: Option<&Path>, from: Option<i32>, status: Status) -> ChainOutcome {
    ChainOutcome { name: name.to_owned(), file: file.map(Path::to_owned), from, status, sql: Vec::new() }
}

pub(crate) fn refusals(inventory: &Inventory) -> impl Iterator<Item = ChainOutcome> + '_ {
    inventory.refused.iter().map(|refusal| {
        outcome(&refusal.name(), Some(&refusal.file), None, Status::Refused { reason: refusal.reason.clone() })
    })
}

/// The run that brings the core chain (written for `dialect`) to its head.
pub fn core_run(dialect: Dialect) -> ChainRun<'static> {
    ChainRun {
        owner: core_schema::OWNER,
        history: core_schema::HISTORY_TABLE.into(),
        migrations: core_schema::chain_for(dialect),
        target: None,
        policy: None,
        plugin: None,
        names: None,
        referencing: Vec::new(),
    }
}

/// The run that brings `plugin`'s chain to `target` (or its head) under its
/// policy; `checked` is what its checks learnt (the names it creates).
pub fn plugin_run<'p>(
    plugin: &'p Plugin,
    inventory: &Inventory,
    target: Option<i32>,
    checked: Option<&'p Checked>,
    dialect: Dialect,
) -> ChainRun<'p> {
    let manifest = &plugin.manifest;
    ChainRun {
        owner: &manifest.name,
        history: manifest.history_table(),
        migrations: manifest.chain_for(dialect),
        target,
        policy: Some(Arc::new(policy_for(manifest, inventory))),
        plugin: Some(PluginRecord {
            version: &manifest.version,
            depends_on: &manifest.depends_on,
            checked_digest: checked.map(|c| c.digest.as_str()),
        }),
        names: checked.map(|c| &c.names),
        referencing: inventory.referencing_tables(&manifest.name),
    }
}

/// Every plugin's verdict, each known before that plugin's transaction.
/// Only plugins with something to do are checked (a no-op run checks
/// nothing and builds no scratch database), all at the start of the run
/// ([`crate::checks::Checker::start`]: beside the core chain and the runs
/// where the engine allows); a plugin that turns out to need a verdict
/// later (another host changed its history in between) is checked then,
/// still before its transaction.
struct Verdicts<'c, 'i> {
    checker: &'c LazyChecker<'i>,
    /// The verdicts on the plugins found to need one, being taken.
    pending: Option<Pending>,
    taken: BTreeMap<String, Result<Checked, CheckError>>,
    /// The histories read to find what needs a verdict (all in one read),
    /// kept for the plugins' runs while nothing has changed them: dropped
    /// when the core chain applied something (it may move host tables).
    recorded: Recorded,
}

/// What the histories say about a run's plugins: each history, read all at
/// once, by table.
type Recorded = BTreeMap<String, Vec<AppliedMigration>>;

/// What the histories say a run has to do, all read at once.
struct Survey<'p> {
    /// The plugins of the selection that have something to do.
    needed: Vec<&'p Plugin>,
    /// Every history read to find them, the core's included.
    recorded: Recorded,
    /// Whether the run writes nothing: the core and every selected plugin
    /// at its target, no history diverging from its chain.
    idle: bool,
}

/// Reads every history `selection` needs (and the core's) and finds what
/// the run has to do.
fn survey<'p>(db: &dyn Engine, selection: &[(&'p Plugin, Option<i32>)]) -> Survey<'p> {
    // The core's history too, in the same read: its run starts from it.
    let histories: Vec<String> = std::iter::once(core_schema::HISTORY_TABLE.to_owned())
        .chain(selection.iter().map(|(p, _)| p.manifest.history_table()))
        .collect();
    let recorded_all = db.applied_all(&histories).unwrap_or_default();
    let dialect = db.target().dialect();
    let at_target = |history: &str, chain: &[ChainMigration], target: Option<i32>| {
        let recorded = recorded_all.get(history).map(Vec::as_slice).unwrap_or_default();
        history::compare(recorded, chain)
            .map(|state| recorded.is_empty() || state.pending.iter().any(|m| target.is_none_or(|t| m.version <= t)))
    };
    let mut idle = at_target(core_schema::HISTORY_TABLE, core_schema::chain_for(dialect), None) == Ok(false);
    let mut needed = Vec::new();
    for (plugin, target) in selection {
        match at_target(&plugin.manifest.history_table(), plugin.manifest.chain_for(dialect), *target) {
            Ok(false) => {}
            Ok(true) => {
                needed.push(*plugin);
                idle = false;
            }
            // Refused in its turn, and the refusal audited.
            Err(_) => idle = false,
        }
    }
    Survey { needed, recorded: recorded_all, idle }
}

impl<'c, 'i> Verdicts<'c, 'i> {
    fn start<'scope>(
        scope: &'scope std::thread::Scope<'scope, 'c>,
        checker: &'c LazyChecker<'i>,
        needed: &'c [&'c Plugin],
        recorded: Recorded,
        dry_run: bool,
    ) -> Verdicts<'c, 'i> {
        let mut verdicts = Verdicts { checker, pending: None, taken: BTreeMap::new(), recorded };
        if needed.is_empty() {
            return verdicts;
        }
        match checker.get() {
            Ok(c) => verdicts.pending = Some(c.start(scope, needed, dry_run)),
            Err(source) => {
                for plugin in needed {
                    let refused = CheckError::Scratch { plugin: plugin.manifest.name.clone(), source: source.clone() };
                    verdicts.taken.insert(plugin.manifest.name.clone(), Err(refused));
                }
            }
        }
        verdicts
    }

    /// `plugin`'s verdict, checking it now if it was not checked before.
    fn of(&mut self, plugin: &Plugin) -> &Result<Checked, CheckError> {
        let name = &plugin.manifest.name;
        if !self.taken.contains_key(name) {
            let taken = self.pending.as_mut().and_then(|pending| pending.take(name));
            let verdict = taken.unwrap_or_else(|| {
                self.checker
                    .get()
                    .map_err(|source| CheckError::Scratch { plugin: name.clone(), source })
                    .and_then(|checker| checker.check_plugin(plugin))
            });
            self.taken.insert(name.clone(), verdict);
        }
        &self.taken[name]
    }
}

fn run(
    db: &mut dyn Engine,
    inventory: &Inventory,
    selection: Vec<(&Plugin, Option<i32>)>,
    report_refused: bool,
    dry_run: bool,
) -> Result<RunReport, RunError> {
    let checker = LazyChecker::new(inventory, db.target());
    let Survey { needed, recorded, idle } = survey(db, &selection);
    // Refusals are audited: a run that reports them writes.
    let idle = idle && (!report_refused || inventory.refused.is_empty());
    std::thread::scope(|scope| {
        let verdicts = Verdicts::start(scope, &checker, &needed, recorded, dry_run);
        run_with(db, inventory, selection, report_refused, dry_run, idle, verdicts)
    })
}

fn run_with(
    db: &mut dyn Engine,
    inventory: &Inventory,
    selection: Vec<(&Plugin, Option<i32>)>,
    report_refused: bool,
    dry_run: bool,
    idle: bool,
    mut verdicts: Verdicts<'_, '_>,
) -> Result<RunReport, RunError> {
    let mut report = RunReport { database: db.target().clone(), dry_run, chains: Vec::new() };
    let mut session = if idle { Session::deferred(db, dry_run) } else { Session::begin(db, dry_run)? };
    let dialect = session.database().target().dialect();
    let core_recorded = verdicts.recorded.remove(core_schema::HISTORY_TABLE);
    let core = advance(&mut session, core_schema::OWNER, None, &core_run(dialect), core_recorded);
    audit_unless_ok(&mut session, &core, None);
    if !matches!(core.status, Status::UpToDate { .. }) {
        verdicts.recorded.clear();
    }
    let core_ok = core.status.is_ok();
    report.chains.push(core);
    if report_refused {
        for refusal in refusals(inventory) {
            audit_unless_ok(&mut session, &refusal, None);
            report.chains.push(refusal);
        }
    }
    let mut unusable: BTreeSet<String> = inventory.refused_names();
    for (plugin, target) in selection {
        let name = &plugin.manifest.name;
        let blocker =
            if core_ok { inventory.blocked_by(plugin, &unusable) } else { Some(core_schema::OWNER.to_owned()) };
        let result = match blocker {
            Some(by) => outcome(name, Some(&plugin.file), None, Status::Blocked { by }),
            None => {
                let result = advance_plugin(&mut session, plugin, inventory, target, &mut verdicts);
                audit_unless_ok(&mut session, &result, Some(plugin));
                result
            }
        };
        if !result.status.is_ok() {
            unusable.insert(name.clone());
        }
        report.chains.push(result);
    }
    Ok(report)
}

/// Records a refused or failed chain in the audit record, in a transaction
/// of its own (the chain's was rolled back). Best effort: a database that
/// cannot take the record (full, read-only) already failed the run.
pub(crate) fn audit_unless_ok(session: &mut Session<'_>, result: &ChainOutcome, plugin: Option<&Plugin>) {
    let (outcome, reason) = match &result.status {
        Status::Refused { reason } => (AuditOutcome::Refused, reason),
        Status::Failed { reason } => (AuditOutcome::Failed, reason),
        _ => return,
    };
    let to = plugin.map(|p| p.manifest.head());
    let sha256 = plugin.and_then(Plugin::sha256);
    let entry =
        AuditEntry { plugin: &result.name, from: result.from, to, sha256, outcome, reason: Some(reason.clone()) };
    let _ = session.audit(&entry);
}

/// Brings one plugin's chain forward: reads its history, takes its verdict
/// (refused: nothing is tried), decides adoption, then applies in its own
/// transaction.
fn advance_plugin(
    session: &mut Session<'_>,
    plugin: &Plugin,
    inventory: &Inventory,
    target: Option<i32>,
    verdicts: &mut Verdicts<'_, '_>,
) -> ChainOutcome {
    let name = plugin.manifest.name.as_str();
    let file = Some(plugin.file.as_path());
    let history = plugin.manifest.history_table();
    // An empty history is read again: another host may have installed the
    // plugin since, and adoption must not be decided on its objects.
    let kept = verdicts.recorded.remove(&history).filter(|recorded| !recorded.is_empty());
    let read = kept.map_or_else(|| session.database().applied(&history), Ok);
    let recorded = match read {
        Ok(recorded) => recorded,
        Err(e) => return outcome(name, file, None, Status::Failed { reason: one_line(&e) }),
    };
    let from = recorded.iter().map(|a| a.version).max();
    let dialect = session.database().target().dialect();
    let state = match history::compare(&recorded, plugin.manifest.chain_for(dialect)) {
        Ok(state) => state,
        Err(e) => return outcome(name, file, from, Status::Refused { reason: format!("plugin '{name}': {e}") }),
    };
    let pending = state.pending.iter().any(|m| target.is_none_or(|t| m.version <= t));
    if !pending && !recorded.is_empty() {
        return outcome(name, file, from, Status::UpToDate { version: state.applied });
    }
    let checked = match verdicts.of(plugin) {
        Ok(checked) => checked.clone(),
        Err(refused) => return outcome(name, file, from, Status::Refused { reason: refused.to_string() }),
    };
    let mut adopted = None;
    if recorded.is_empty() {
        let decided = verdicts
            .checker
            .get()
            .map_err(adopt::AdoptError::from)
            .and_then(|checker| adopt::decide(session.database(), plugin, inventory, checker, &checked.names));
        match decided {
            Ok(Adoption::NotNeeded) => {}
            Ok(Adoption::AtVersion(version)) => adopted = Some(version),
            Ok(refused) => {
                let reason = refused.refusal(name).unwrap_or_default();
                return outcome(name, file, from, Status::Refused { reason });
            }
            Err(e) => return outcome(name, file, from, Status::Failed { reason: one_line(&e) }),
        }
    }
    let run = plugin_run(plugin, inventory, target, Some(&checked), dialect);
    let pending_after_adoption: Vec<String> = state
        .pending
        .iter()
        .filter(|m| adopted.is_none_or(|a| m.version > a) && target.is_none_or(|t| m.version <= t))
        .map(ChainMigration::label)
        .collect();
    if pending_after_adoption.is_empty() && adopted.is_none() {
        return outcome(name, file, from, Status::UpToDate { version: state.applied });
    }
    apply(session, &run, file, from, state.applied, adopted, &pending_after_adoption, Some(plugin))
}

/// Brings a chain that needs no checks (the core's) forward, from the
/// history `kept` from an earlier read when there is one.
pub(crate) fn advance(
    session: &mut Session<'_>,
    name: &str,
    file: Option<&Path>,
    run: &ChainRun<'_>,
    kept: Option<Vec<AppliedMigration>>,
) -> ChainOutcome {
    // An empty history is read again, as for a plugin.
    let kept = kept.filter(|recorded| !recorded.is_empty());
    let recorded = match kept.map_or_else(|| session.database().applied(&run.history), Ok) {
        Ok(recorded) => recorded,
        Err(e) => return outcome(name, file, None, Status::Failed { reason: one_line(&e) }),
    };
    let from = recorded.iter().map(|a| a.version).max();
    let state = match history::compare(&recorded, run.migrations) {
        Ok(state) => state,
        Err(e) => return outcome(name, file, from, Status::Refused { reason: format!("{name}: {e}") }),
    };
    let labels: Vec<String> = state.pending.iter().map(ChainMigration::label).collect();
    if labels.is_empty() {
        return outcome(name, file, from, Status::UpToDate { version: state.applied });
    }
    apply(session, run, file, from, state.applied, None, &labels, None)
}

/// Applies `run` in one transaction: history recorded up to `adopted`
/// first when the objects were found in place, then the pending
/// migrations, the host's records and the audit entry; all of it commits
/// or none.
#[allow(clippy::too_many_arguments)]
fn apply(
    session: &mut Session<'_>,
    run: &ChainRun<'_>,
    file: Option<&Path>,
    from: Option<i32>,
    applied_before: Option<i32>,
    adopted: Option<i32>,
    labels: &[String],
    plugin: Option<&Plugin>,
) -> ChainOutcome {
    let name = run.owner;
    let started = std::time::Instant::now();
    let progress = crate::progress::installed();
    if let Some(progress) = &progress {
        progress.chain_started(name, labels);
    }
    let applied = session.chain().map_err(ApplyError::from).and_then(|mut tx| {
        // Decided before taking the lock; another host may have installed
        // the plugin since, in which case its history is there now.
        let adopted = match adopted {
            Some(version) if tx.database().applied(&run.history)?.is_empty() => {
                let upto = ChainRun { target: Some(version), ..run.clone() };
                tx.run_chain(&upto, Execution::HistoryOnly)?;
                tx.mark(name, version, Mark::Adopted)?;
                Some(version)
            }
            _ => None,
        };
        let applied = tx.run_chain(run, Execution::Run)?;
        let closing = applied.last().map(|m| m.version).or(adopted).map(|to| {
            let outcome = if applied.is_empty() { AuditOutcome::Recorded } else { AuditOutcome::Applied };
            // The file's digest is asked last: the checks' thread reads it
            // while this transaction runs.
            let sha256 = plugin.and_then(Plugin::sha256);
            AuditEntry { plugin: name, from, to: Some(to), sha256, outcome, reason: None }
        });
        let statements = tx.commit_audited(closing.as_ref())?;
        Ok((applied, adopted, statements))
    });
    tracing::debug!(
        "{name}: {} in {} ms",
        if applied.is_ok() { "done" } else { "rolled back" },
        started.elapsed().as_millis()
    );
    if let Some(progress) = &progress {
        progress.chain_finished(name, applied.is_ok(), started.elapsed());
    }
    match applied {
        Ok((applied, adopted, sql)) => {
            let sql = if session.is_dry_run() { sql } else { Vec::new() };
            let status = match applied.last() {
                Some(last) => Status::Applied {
                    migrations: applied.iter().map(ChainMigration::label).collect(),
                    version: last.version,
                    adopted,
                },
                None => match adopted {
                    Some(version) => {
                        Status::Recorded { migrations: labels_up_to(run, version), version, how: Mark::Adopted }
                    }
                    // Another host applied it between our look and our lock.
                    None => Status::UpToDate { version: applied_before },
                },
            };
            ChainOutcome { sql, ..outcome(name, file, from, status) }
        }
        Err(e) => outcome(name, file, from, failure(name, e)),
    }
}

/// The status of a chain whose transaction rolled back: refused when the
/// host stopped what the plugin's SQL did, failed when the SQL or the
/// database did.
fn failure(name: &str, error: ApplyError) -> Status {
    match error {
        e @ (ApplyError::LeftBehind { .. } | ApplyError::NameTaken { .. }) => Status::Refused { reason: e.to_string() },
        ApplyError::History(e) => Status::Refused { reason: format!("plugin '{name}': {e}") },
        e @ ApplyError::Denied { .. } => Status::Refused { reason: format!("plugin '{name}': {e}") },
        e => Status::Failed { reason: one_line(&e) },
    }
}

pub(crate) fn labels_up_to(run: &ChainRun<'_>, version: i32) -> Vec<String> {
    run.migrations.iter().filter(|m| m.version <= version).map(ChainMigration::label).collect()
}

#[cfg(test)]
mod tests {
    //! The run state machine through the engine trait, in process: plugins
    //! made in memory, a real SQLite file.
    use super::*;
    use crate::engine::{open_sqlite, Engine};
    use plugin_api::{MigrationRecord, PluginDescription};

    /// A plugin owning `<name>_items` with `chain` (its DDL is the chain's
    /// result, given as `ddl`), depending on `depends_on`.
    fn plugin(name: &str, depends_on: &[&str], ddl: &str, chain: &[(i64, &str)]) -> Plugin {
        let table = format!("{name}_items");
        let records = chain.iter().enumerate().map(|(i, (v, sql))| MigrationRecord::new(*v, &format!("step{i}"), sql));
        let description = PluginDescription::new(name, "1.0.0", "test", &[table.as_str()], depends_on, ddl, records);
        Plugin::in_memory(format!("{name}.so"), &description).expect("a valid manifest")
    }

    fn items(name: &str) -> String {
        format!("CREATE TABLE {name}_items (id INTEGER PRIMARY KEY, site_id INTEGER REFERENCES sites (id));")
    }

    fn database() -> (tempfile::TempDir, Box<dyn Engine>) {
        let dir = tempfile::tempdir().expect("a directory");
        let db = open_sqlite(&dir.path().join("shop.sqlite")).expect("a database");
        (dir, db)
    }

    fn status<'r>(report: &'r RunReport, name: &str) -> &'r Status {
        &report.chains.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no {name} in {report:?}")).status
    }

    #[test]
    fn a_fresh_run_applies_core_then_plugins_and_a_second_run_applies_nothing() {
        let (_dir, mut db) = database();
        let inventory =
            Inventory::from_plugins("memory".into(), vec![plugin("a", &[], &items("a"), &[(1, &items("a"))])]);
        let first = upgrade_all(db.as_mut(), &inventory, false).expect("a run");
        let core_head = crate::core_schema::chain().last().map(|m| m.version);
        assert!(
            matches!(status(&first, "core"), Status::Applied { version, .. } if Some(*version) == core_head),
            "{first:?}"
        );
        assert!(matches!(status(&first, "a"), Status::Applied { version: 1, adopted: None, .. }));
        let second = upgrade_all(db.as_mut(), &inventory, false).expect("a run");
        assert!(second.chains.iter().all(|c| matches!(c.status, Status::UpToDate { .. })), "{second:?}");
    }

    #[test]
    fn a_refused_plugin_blocks_its_dependents_and_the_others_still_apply() {
        let (_dir, mut db) = database();
        let trespass = format!("{} DROP TABLE people;", items("bad"));
        let plugins = vec![
            plugin("bad", &[], &items("bad"), &[(1, &trespass)]),
            plugin("child", &["bad"], &items("child"), &[(1, &items("child"))]),
            plugin("free", &[], &items("free"), &[(1, &items("free"))]),
        ];
        let inventory = Inventory::from_plugins("memory".into(), plugins);
        let report = upgrade_all(db.as_mut(), &inventory, false).expect("a run");
        assert!(matches!(status(&report, "bad"), Status::Refused { reason } if reason.contains("DROP TABLE `people`")));
        assert_eq!(status(&report, "child"), &Status::Blocked { by: "bad".into() });
        assert!(matches!(status(&report, "free"), Status::Applied { .. }));
        assert!(!report.succeeded());
        assert!(db.existing(None, &["bad_items".into(), "child_items".into()]).expect("a lookup").is_empty());
    }

    #[test]
    fn a_migration_failing_mid_chain_leaves_the_plugin_where_it_was() {
        let (dir, mut db) = database();
        let v1 = "CREATE TABLE m_items (id INTEGER PRIMARY KEY, code TEXT);";
        let v2 = "CREATE UNIQUE INDEX m_items_code ON m_items (code);";
        let ddl = format!("{v1} {v2}");
        let inventory = Inventory::from_plugins("memory".into(), vec![plugin("m", &[], &ddl, &[(1, v1), (2, v2)])]);
        let to_v1 = migrate_plugin(db.as_mut(), &inventory, "m", Some(1), false).expect("a run");
        assert!(to_v1.succeeded(), "{to_v1:?}");
        drop(db);
        // Rows the new unique index cannot take.
        crate::engine::sqlite::file_made_with(
            &dir.path().join("shop.sqlite"),
            "INSERT INTO m_items (code) VALUES ('A'), ('A');",
        );
        let mut db = open_sqlite(&dir.path().join("shop.sqlite")).expect("a database");
        let report = upgrade_all(db.as_mut(), &inventory, false).expect("a run");
        assert!(
            matches!(status(&report, "m"), Status::Failed { reason } if reason.contains("V2__step1")),
            "{report:?}"
        );
        let history = db.applied("shopdb_history_m").expect("history");
        assert_eq!(history.iter().map(|a| a.version).collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn objects_found_without_history_are_adopted_and_the_rest_applied() {
        let (dir, mut db) = database();
        let v2 = "ALTER TABLE o_items ADD COLUMN note TEXT;";
        let ddl = "CREATE TABLE o_items (id INTEGER PRIMARY KEY, site_id INTEGER REFERENCES sites (id), note TEXT);";
        let inventory =
            Inventory::from_plugins("memory".into(), vec![plugin("o", &[], ddl, &[(1, &items("o")), (2, v2)])]);
        upgrade_all(db.as_mut(), &Inventory::default(), false).expect("the core");
        drop(db);
        crate::engine::sqlite::file_made_with(&dir.path().join("shop.sqlite"), &items("o"));
        let mut db = open_sqlite(&dir.path().join("shop.sqlite")).expect("a database");
        let report = upgrade_all(db.as_mut(), &inventory, false).expect("a run");
        assert!(matches!(status(&report, "o"), Status::Applied { adopted: Some(1), version: 2, .. }), "{report:?}");
        assert_eq!(db.marks("o").expect("marks")[0].how, "adopted");
    }

    #[test]
    fn a_dry_run_goes_through_every_step_and_keeps_nothing() {
        let (_dir, mut db) = database();
        let inventory =
            Inventory::from_plugins("memory".into(), vec![plugin("d", &[], &items("d"), &[(1, &items("d"))])]);
        let report = upgrade_all(db.as_mut(), &inventory, true).expect("a run");
        assert!(report.dry_run && report.succeeded());
        let d = report.chains.iter().find(|c| c.name == "d").expect("d");
        assert!(d.sql.iter().any(|s| s.contains("CREATE TABLE d_items")), "{:?}", d.sql);
        assert!(db.applied(crate::core_schema::HISTORY_TABLE).expect("history").is_empty());
        assert!(db.existing(None, &["d_items".into()]).expect("a lookup").is_empty());
    }
}
