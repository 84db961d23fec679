//! Applying chains: the core's first, then each plugin's in dependency order.
//!
//! Every chain is independent: it has its own history table and its own
//! transaction, so one plugin failing rolls back that plugin alone. A plugin
//! whose dependency failed or was refused is reported as blocked and not
//! touched. Nothing is applied for a plugin that fails its checks. Tables
//! found without history are adopted (see [`crate::adopt`]). A dry run goes
//! through exactly the same steps inside one transaction that is rolled back,
//! and reports the SQL each chain ran.
//!
//! The bootstrap path ([`bootstrap`]) creates every plugin from its DDL in
//! one transaction and records its history as applied; [`stamp`] records
//! history by hand.

use crate::adopt::{self, Adoption, RunViews};
use crate::ahead::Ahead;
use crate::audit;
use crate::check::{self, dependency_closure, policy_for, Checker, LazyChecker};
use crate::db::{ApplyError, ChainRun, ChainTx, Database, DbError, Mark, PluginRecord, Session, Step};
use crate::error::one_line;
use crate::history;
use crate::inventory::Inventory;
use crate::load::Plugin;
use crate::schema::Schema;
use crate::{core, manifest::ChainMigration};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What happened to every chain in one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The database file.
    pub database: PathBuf,
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
pub fn upgrade_all(db: &mut Database, inventory: &Inventory, dry_run: bool) -> Result<RunReport, RunError> {
    let selection = inventory.plugins.iter().map(|p| (p, None)).collect();
    run(db, inventory, selection, true, dry_run)
}

/// Applies the core chain, the plugins `name` depends on (to their heads) and
/// `name` itself (to `target`, or its head).
pub fn migrate_plugin(
    db: &mut Database,
    inventory: &Inventory,
    name: &str,
    target: Option<i32>,
    dry_run: bool,
) -> Result<RunReport, RunError> {
    let plugin = find(inventory, name)?;
    if let Some(target) = target {
        check_target(plugin, target)?;
    }
    let mut selection: Vec<(&Plugin, Option<i32>)> =
        dependency_closure(&plugin.manifest, &inventory.plugins).into_iter().map(|p| (p, None)).collect();
    selection.push((plugin, target));
    run(db, inventory, selection, false, dry_run)
}

fn find<'i>(inventory: &'i Inventory, name: &str) -> Result<&'i Plugin, RunError> {
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

fn check_target(plugin: &Plugin, target: i32) -> Result<(), RunError> {
    if plugin.manifest.chain.iter().any(|m| m.version == target) {
        Ok(())
    } else {
        Err(RunError::UnknownTarget {
            plugin: plugin.manifest.name.clone(),
            target,
            versions: plugin.manifest.chain.iter().map(|m| m.version).collect(),
        })
    }
}

fn outcome(name: &str, file: Option<&Path>, from: Option<i32>, status: Status) -> ChainOutcome {
    ChainOutcome { name: name.to_owned(), file: file.map(Path::to_owned), from, status, sql: Vec::new() }
}

fn refusals(inventory: &Inventory) -> impl Iterator<Item = ChainOutcome> + '_ {
    inventory.refused.iter().map(|refusal| {
        outcome(&refusal.name(), Some(&refusal.file), None, Status::Refused { reason: refusal.reason.clone() })
    })
}

/// The run that brings the core chain to its head.
pub fn core_run() -> ChainRun<'static> {
    ChainRun {
        owner: core::OWNER,
        history: core::HISTORY_TABLE.into(),
        migrations: core::chain(),
        target: None,
        policy: None,
        plugin: None,
        referencing: Vec::new(),
    }
}

/// The run that brings `plugin`'s chain to `target` (or its head) under its policy.
pub fn plugin_run<'p>(plugin: &'p Plugin, inventory: &Inventory, target: Option<i32>) -> ChainRun<'p> {
    let manifest = &plugin.manifest;
    ChainRun {
        owner: &manifest.name,
        history: manifest.history_table(),
        migrations: &manifest.chain,
        target,
        policy: Some(Arc::new(policy_for(manifest, inventory))),
        plugin: Some(PluginRecord { version: &manifest.version, depends_on: &manifest.depends_on }),
        referencing: inventory.referencing_tables(&manifest.name),
    }
}

fn run(
    db: &mut Database,
    inventory: &Inventory,
    selection: Vec<(&Plugin, Option<i32>)>,
    report_refused: bool,
    dry_run: bool,
) -> Result<RunReport, RunError> {
    let mut report = RunReport { database: db.path().to_owned(), dry_run, chains: Vec::new() };
    // Plugins without a history table are (almost always) first installs:
    // their DDL checks can run ahead, beside the chains applied before them.
    // Only a guess: `advance` reads the history and decides.
    let first_installs: Vec<&Plugin> = selection
        .iter()
        .filter(|(plugin, target)| {
            target.is_none() && db.has_table(&plugin.manifest.history_table()).is_ok_and(|exists| !exists)
        })
        .map(|(plugin, _)| *plugin)
        .collect();
    let mut session = db.session(dry_run)?;
    std::thread::scope(|scope| {
        let mut ahead = Ahead::start(scope, inventory, first_installs);
        run_chains(&mut session, inventory, selection, report_refused, &mut report, &mut ahead);
    });
    Ok(report)
}

/// The body of [`run`], with the first-install checks running `ahead`.
fn run_chains(
    session: &mut Session<'_>,
    inventory: &Inventory,
    selection: Vec<(&Plugin, Option<i32>)>,
    report_refused: bool,
    report: &mut RunReport,
    ahead: &mut Ahead<'_>,
) {
    let core = advance(session, core::OWNER, None, &core_run(), None, ahead);
    audit_unless_ok(session, &core, None);
    let core_ok = core.status.is_ok();
    report.chains.push(core);
    if report_refused {
        for refusal in refusals(inventory) {
            audit_unless_ok(session, &refusal, None);
            report.chains.push(refusal);
        }
    }
    let mut unusable: BTreeSet<String> = inventory.refused_names();
    let checker = LazyChecker::new(inventory);
    let views = RunViews::default();
    for (plugin, target) in selection {
        let name = &plugin.manifest.name;
        let blocker = if core_ok { inventory.blocked_by(plugin, &unusable) } else { Some(core::OWNER.to_owned()) };
        let result = match blocker {
            Some(by) => outcome(name, Some(&plugin.file), None, Status::Blocked { by }),
            None => {
                let run = plugin_run(plugin, inventory, target);
                let result = advance(
                    session,
                    name,
                    Some(&plugin.file),
                    &run,
                    Some((plugin, inventory, &checker, &views)),
                    ahead,
                );
                audit_unless_ok(session, &result, Some(plugin));
                result
            }
        };
        if !result.status.is_ok() {
            unusable.insert(name.clone());
        }
        report.chains.push(result);
    }
}

/// Records a refused or failed chain in the audit record, in a transaction
/// of its own (the chain's was rolled back). Best effort: a database that
/// cannot take the record (full, read-only) already failed the run.
fn audit_unless_ok(session: &mut Session<'_>, result: &ChainOutcome, plugin: Option<&Plugin>) {
    let (outcome, reason) = match &result.status {
        Status::Refused { reason } => (audit::Outcome::Refused, reason),
        Status::Failed { reason } => (audit::Outcome::Failed, reason),
        _ => return,
    };
    let to = plugin.map(|p| p.manifest.head());
    let sha256 = plugin.and_then(Plugin::sha256);
    let entry =
        audit::Entry { plugin: &result.name, from: result.from, to, sha256, outcome, reason: Some(reason.clone()) };
    let _ = session.audit(&entry);
}

/// Brings one chain forward in its own transaction: compares history,
/// decides adoption, runs the plugin's checks only when something is
/// pending, then applies.
fn advance(
    session: &mut Session<'_>,
    name: &str,
    file: Option<&Path>,
    run: &ChainRun<'_>,
    plugin: Option<(&Plugin, &Inventory, &LazyChecker<'_>, &RunViews)>,
    ahead: &mut Ahead<'_>,
) -> ChainOutcome {
    ahead.main_is_here();
    let db = session.database();
    let recorded = match db.applied(&run.history) {
        Ok(recorded) => recorded,
        Err(e) => return outcome(name, file, None, Status::Failed { reason: one_line(&e) }),
    };
    let from = recorded.iter().map(|a| a.version).max();
    let mut adopted = None;
    if let (true, Some((plugin, inventory, checker, views))) = (recorded.is_empty(), plugin) {
        let decided = adopt::decide(db.connection(), plugin, inventory, checker, views);
        match decided {
            Ok(Adoption::NotNeeded) => {}
            Ok(Adoption::AtVersion(version)) => adopted = Some(version),
            Ok(Adoption::NoMatch { closest, diff }) => {
                let reason = format!(
                    "plugin '{name}': its tables exist without history but match no version of its chain \
                     (closest is V{closest}: {}); fix the tables or record a version by hand with `shopdb-host stamp`",
                    diff.join("; ")
                );
                return outcome(name, file, from, Status::Refused { reason });
            }
            Err(e) => return outcome(name, file, from, Status::Failed { reason: one_line(&e) }),
        }
    }
    let state = match history::compare(&recorded, run.migrations) {
        Ok(state) => state,
        Err(e) => return outcome(name, file, from, Status::Refused { reason: format!("plugin '{name}': {e}") }),
    };
    let pending = state
        .pending
        .iter()
        .filter(|m| adopted.is_none_or(|a| m.version > a))
        .filter(|m| run.target.is_none_or(|t| m.version <= t))
        .count();
    if pending == 0 && adopted.is_none() {
        return outcome(name, file, from, Status::UpToDate { version: state.applied });
    }
    // A first install runs the whole chain on tables that do not exist yet,
    // which is what the scratch chain check would do: its result is compared
    // with the DDL's inside the real transaction instead, and refused there.
    // The DDL's checks (done ahead, on the second thread) are taken only then,
    // once the chain has run: it runs under the guard either way and a
    // refusal rolls it back, so waiting for them overlaps the chain's SQL.
    let first_install = recorded.is_empty() && adopted.is_none() && run.target.is_none();
    let mut ddl_verdict: Option<Result<Schema, String>> = None;
    let mut take_ddl_verdict = |ahead: &mut Ahead<'_>| -> Option<Result<Schema, String>> {
        let (plugin, _, checker, _) = plugin.filter(|_| first_install)?;
        let verdict = ddl_verdict.get_or_insert_with(|| {
            ahead
                .take(name)
                .unwrap_or_else(|| checker.get().and_then(|c| c.ddl_checks(plugin).map_err(|e| e.to_string())))
        });
        Some(verdict.clone())
    };
    if let (false, Some((plugin, _, checker, _))) = (first_install, plugin) {
        if let Err(reason) = checker.get().and_then(|c| c.schema_checks(plugin).map_err(|e| e.to_string())) {
            return outcome(name, file, from, Status::Refused { reason });
        }
    }
    let labels: Vec<String> =
        state.pending.iter().filter(|m| run.target.is_none_or(|t| m.version <= t)).map(ChainMigration::label).collect();
    tracing::info!(
        "{name}: applying {}",
        if labels.is_empty() { "(recording history)".to_owned() } else { labels.join(", ") }
    );
    let started = std::time::Instant::now();
    let applied = session.chain().map_err(ApplyError::from).and_then(|mut tx| {
        // Decided before taking the lock; another host may have installed
        // the plugin since, in which case its history is there now.
        let adopted = match adopted {
            Some(version) if tx.database().applied(&run.history)?.is_empty() => {
                let upto = ChainRun { target: Some(version), ..run.clone() };
                tx.run_chain(&upto, Step::Record)?;
                tx.mark(name, version, Mark::Adopted)?;
                Some(version)
            }
            _ => None,
        };
        let applied = tx.run_chain(run, Step::Run)?;
        if let (Some(verdict), Some((plugin, ..))) = (take_ddl_verdict(ahead), plugin) {
            let expected = verdict.map_err(ApplyError::Refused)?;
            let manifest = &plugin.manifest;
            let built = Schema::read_tables_reusing(tx.database().connection(), &manifest.tables, &expected)
                .map_err(|e| ApplyError::Refused(one_line(&e)))?;
            check::drift(manifest, &built, &expected).map_err(|e| ApplyError::Refused(e.to_string()))?;
        }
        if let Some(to) = applied.last().map(|m| m.version).or(adopted) {
            let outcome = if applied.is_empty() { audit::Outcome::Recorded } else { audit::Outcome::Applied };
            let sha256 = plugin.and_then(|(p, ..)| p.sha256());
            tx.audit(&audit::Entry { plugin: name, from, to: Some(to), sha256, outcome, reason: None })?;
        }
        Ok((applied, adopted, tx.commit()?))
    });
    // A first install whose chain failed before its DDL's verdict was taken:
    // when the checks refuse the DDL, that is what is wrong with the plugin.
    let applied = match applied {
        Err(error) if !matches!(error, ApplyError::Refused(_)) => match take_ddl_verdict(ahead) {
            Some(Err(reason)) => Err(ApplyError::Refused(reason)),
            _ => Err(error),
        },
        other => other,
    };
    tracing::info!(
        "{name}: {} in {} ms",
        if applied.is_ok() { "done" } else { "rolled back" },
        started.elapsed().as_millis()
    );
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
                    None => Status::UpToDate { version: state.applied },
                },
            };
            ChainOutcome { sql, ..outcome(name, file, from, status) }
        }
        Err(ApplyError::Refused(reason)) => outcome(name, file, from, Status::Refused { reason }),
        // The guard stopped the plugin's SQL: a refusal, like the scratch
        // check's (which a first install does not run beforehand).
        Err(e @ ApplyError::Denied { .. }) => {
            outcome(name, file, from, Status::Refused { reason: format!("plugin '{name}': {e}") })
        }
        Err(e) => outcome(name, file, from, Status::Failed { reason: one_line(&e) }),
    }
}

fn labels_up_to(run: &ChainRun<'_>, version: i32) -> Vec<String> {
    run.migrations.iter().filter(|m| m.version <= version).map(ChainMigration::label).collect()
}

/// The bootstrap path: the core chain, then every usable plugin created
/// straight from its DDL and its whole chain recorded as applied, all in one
/// transaction. Plugins already installed (history or tables present) are
/// refused: bootstrap is for a new database; `upgrade-all` takes it from there.
pub fn bootstrap(db: &mut Database, inventory: &Inventory, dry_run: bool) -> Result<RunReport, RunError> {
    let mut report = RunReport { database: db.path().to_owned(), dry_run, chains: Vec::new() };
    let mut session = db.session(dry_run)?;
    let mut plan: Vec<ChainOutcome> = Vec::new();
    let mut unusable = inventory.refused_names();
    let mut chosen: Vec<&Plugin> = Vec::new();
    let checker = Checker::new(inventory).map_err(DbError::Scratch)?;
    for plugin in &inventory.plugins {
        let name = &plugin.manifest.name;
        let verdict = if let Some(by) = inventory.blocked_by(plugin, &unusable) {
            Some(Status::Blocked { by })
        } else if let Some(reason) = already_installed(session.database(), plugin)? {
            Some(Status::Refused { reason })
        } else {
            checker.schema_checks(plugin).err().map(|e| Status::Refused { reason: e.to_string() })
        };
        match verdict {
            Some(status) => {
                unusable.insert(name.clone());
                plan.push(outcome(name, Some(&plugin.file), None, status));
            }
            None => chosen.push(plugin),
        }
    }

    let result = session.chain().map_err(ApplyError::from).and_then(|mut tx| {
        let mut outcomes = Vec::new();
        let core = core_run();
        let core_from = tx_applied_version(&tx, &core)?;
        let start = tx.statements().len();
        let applied = tx.run_chain(&core, Step::Run)?;
        let status = match applied.last() {
            Some(last) => Status::Applied { migrations: labels(&applied), version: last.version, adopted: None },
            None => Status::UpToDate { version: core_from },
        };
        outcomes.push((outcome(core::OWNER, None, core_from, status), start..tx.statements().len()));
        for plugin in &chosen {
            let start = tx.statements().len();
            outcomes.push((bootstrap_plugin(&mut tx, plugin, inventory)?, start..tx.statements().len()));
        }
        let sql = tx.commit()?;
        Ok(outcomes
            .into_iter()
            .map(|(o, range)| ChainOutcome { sql: if dry_run { sql[range].to_vec() } else { Vec::new() }, ..o })
            .collect::<Vec<_>>())
    });
    match result {
        Ok(outcomes) => report.chains.extend(outcomes),
        Err(e) => {
            let reason = format!("bootstrap rolled back, nothing was created: {}", one_line(&e));
            report.chains.push(outcome(core::OWNER, None, None, Status::Failed { reason: reason.clone() }));
            for plugin in &chosen {
                report.chains.push(outcome(
                    &plugin.manifest.name,
                    Some(&plugin.file),
                    None,
                    Status::Failed { reason: reason.clone() },
                ));
            }
        }
    }
    report.chains.extend(refusals(inventory));
    report.chains.extend(plan);
    Ok(report)
}

fn labels(migrations: &[ChainMigration]) -> Vec<String> {
    migrations.iter().map(ChainMigration::label).collect()
}

fn tx_applied_version(tx: &ChainTx<'_>, run: &ChainRun<'_>) -> Result<Option<i32>, ApplyError> {
    Ok(tx.database().applied(&run.history)?.iter().map(|a| a.version).max())
}

fn bootstrap_plugin(tx: &mut ChainTx<'_>, plugin: &Plugin, inventory: &Inventory) -> Result<ChainOutcome, ApplyError> {
    let manifest = &plugin.manifest;
    let run = plugin_run(plugin, inventory, None);
    if let Some(policy) = &run.policy {
        tx.execute_as(policy, &manifest.ddl, &format!("schema.sql of '{}'", manifest.name), &run.referencing)?;
    }
    let recorded = tx.run_chain(&run, Step::Record)?;
    tx.mark(&manifest.name, manifest.head(), Mark::Bootstrapped)?;
    tx.audit(&audit::Entry {
        plugin: &manifest.name,
        from: None,
        to: Some(manifest.head()),
        sha256: plugin.sha256(),
        outcome: audit::Outcome::Recorded,
        reason: Some("bootstrapped from schema.sql".into()),
    })?;
    let status = Status::Recorded { migrations: labels(&recorded), version: manifest.head(), how: Mark::Bootstrapped };
    Ok(outcome(&manifest.name, Some(&plugin.file), None, status))
}

/// Why `plugin` cannot be bootstrapped into `db`, if it cannot.
fn already_installed(db: &Database, plugin: &Plugin) -> Result<Option<String>, DbError> {
    let manifest = &plugin.manifest;
    let name = &manifest.name;
    if let Some(at) = db.applied(&manifest.history_table())?.iter().map(|a| a.version).max() {
        return Ok(Some(format!(
            "plugin '{name}' is already installed (history at V{at}): bootstrap creates only plugins that are not; run upgrade-all"
        )));
    }
    for table in &manifest.tables {
        if db.has_table(table)? {
            return Ok(Some(format!(
                "plugin '{name}': table `{table}` already exists: bootstrap creates only plugins that are not installed; \
                 upgrade-all adopts existing tables"
            )));
        }
    }
    Ok(None)
}

/// `stamp`: records `name`'s history as applied up to `version` without
/// running anything, for operators who know the schema is already there.
pub fn stamp(
    db: &mut Database,
    inventory: &Inventory,
    name: &str,
    version: i32,
    dry_run: bool,
) -> Result<RunReport, RunError> {
    let plugin = find(inventory, name)?;
    check_target(plugin, version)?;
    let recorded = db.applied(&plugin.manifest.history_table())?;
    let from = recorded.iter().map(|a| a.version).max();
    if let Some(at) = from.filter(|at| *at > version) {
        return Err(RunError::StampBackwards { plugin: name.to_owned(), at });
    }
    let mut report = RunReport { database: db.path().to_owned(), dry_run, chains: Vec::new() };
    let mut session = db.session(dry_run)?;
    let run = plugin_run(plugin, inventory, Some(version));
    let result = session.chain().map_err(ApplyError::from).and_then(|mut tx| {
        let recorded = tx.run_chain(&run, Step::Record)?;
        tx.mark(name, version, Mark::Stamped)?;
        tx.audit(&audit::Entry {
            plugin: name,
            from,
            to: Some(version),
            sha256: plugin.sha256(),
            outcome: audit::Outcome::Recorded,
            reason: Some("stamped".into()),
        })?;
        Ok((recorded, tx.commit()?))
    });
    let status = match &result {
        Ok((recorded, _)) => Status::Recorded { migrations: labels(recorded), version, how: Mark::Stamped },
        Err(e) => Status::Failed { reason: one_line(e) },
    };
    let sql = match result {
        Ok((_, sql)) if dry_run => sql,
        _ => Vec::new(),
    };
    report.chains.push(ChainOutcome { sql, ..outcome(name, Some(&plugin.file), from, status) });
    Ok(report)
}
