//! The bootstrap path: a new database created at once from every plugin's
//! DDL, with each chain recorded as applied up to its head.

use super::{core_run, outcome, plugin_run, refusals, ChainOutcome, RunError, RunReport, Status};
use crate::checks::{CheckError, Checked, Checker};
use crate::core_schema;
use crate::engine::{
    ApplyError, AuditEntry, AuditOutcome, ChainRun, ChainTx, DbError, Engine, Execution, Mark, Session,
};
use crate::error_chain::one_line;
use crate::plugins::inventory::Inventory;
use crate::plugins::load::Plugin;
use crate::plugins::manifest::ChainMigration;
use crate::schema::Dialect;
use std::collections::BTreeMap;

/// The bootstrap path: the core chain, then every usable plugin created
/// straight from its DDL and its whole chain recorded as applied, all in one
/// transaction. Plugins already installed (history or tables present) are
/// refused: bootstrap is for a new database; `upgrade-all` takes it from there.
pub fn bootstrap(db: &mut dyn Engine, inventory: &Inventory, dry_run: bool) -> Result<RunReport, RunError> {
    let mut report = RunReport { database: db.target().clone(), dry_run, chains: Vec::new() };
    let mut installed: BTreeMap<&str, String> = BTreeMap::new();
    for plugin in &inventory.plugins {
        if let Some(reason) = already_installed(db, plugin)? {
            installed.insert(&plugin.manifest.name, reason);
        }
    }
    let checker = Checker::new(inventory, db.target()).map_err(|e| RunError::Unchecked(e.to_string()))?;
    let candidates: Vec<&Plugin> =
        inventory.plugins.iter().filter(|p| !installed.contains_key(p.manifest.name.as_str())).collect();
    let mut verdicts: BTreeMap<&str, Result<Checked, CheckError>> =
        candidates.iter().map(|p| p.manifest.name.as_str()).zip(checker.check_plugins(&candidates)).collect();
    let dialect = db.target().dialect();
    let mut session = Session::begin(db, dry_run)?;
    let mut plan: Vec<ChainOutcome> = Vec::new();
    let mut unusable = inventory.refused_names();
    let mut chosen: Vec<(&Plugin, Checked)> = Vec::new();
    for plugin in &inventory.plugins {
        let name = plugin.manifest.name.as_str();
        let verdict = match (inventory.blocked_by(plugin, &unusable), installed.remove(name), verdicts.remove(name)) {
            (Some(by), _, _) => Err(Status::Blocked { by }),
            (None, Some(reason), _) => Err(Status::Refused { reason }),
            (None, None, Some(Ok(checked))) => Ok(checked),
            (None, None, Some(Err(e))) => Err(Status::Refused { reason: e.to_string() }),
            (None, None, None) => Err(Status::Refused { reason: format!("plugin '{name}' was not checked") }),
        };
        match verdict {
            Err(status) => {
                unusable.insert(name.to_owned());
                plan.push(outcome(name, Some(&plugin.file), None, status));
            }
            Ok(checked) => chosen.push((plugin, checked)),
        }
    }

    let result = session.chain().map_err(ApplyError::from).and_then(|mut tx| {
        let mut outcomes = Vec::new();
        let core = core_run(dialect);
        let core_from = tx_applied_version(&tx, &core)?;
        let start = tx.statement_count();
        let applied = tx.run_chain(&core, Execution::Run)?;
        let status = match applied.last() {
            Some(last) => Status::Applied { migrations: labels(&applied), version: last.version, adopted: None },
            None => Status::UpToDate { version: core_from },
        };
        outcomes.push((outcome(core_schema::OWNER, None, core_from, status), start..tx.statement_count()));
        for (plugin, checked) in &chosen {
            let start = tx.statement_count();
            outcomes
                .push((bootstrap_plugin(&mut tx, plugin, inventory, checked, dialect)?, start..tx.statement_count()));
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
            report.chains.push(outcome(core_schema::OWNER, None, None, Status::Failed { reason: reason.clone() }));
            for (plugin, _) in &chosen {
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

fn bootstrap_plugin(
    tx: &mut ChainTx<'_>,
    plugin: &Plugin,
    inventory: &Inventory,
    checked: &Checked,
    dialect: Dialect,
) -> Result<ChainOutcome, ApplyError> {
    let manifest = &plugin.manifest;
    let run = plugin_run(plugin, inventory, None, Some(checked), dialect);
    let ddl = manifest.sql_for(dialect).map_or("", |(ddl, _)| ddl);
    if let Some(policy) = &run.policy {
        tx.execute_ddl(policy, ddl, &format!("schema.sql of '{}'", manifest.name), &run.referencing)?;
    }
    let recorded = tx.run_chain(&run, Execution::HistoryOnly)?;
    tx.mark(&manifest.name, manifest.head(), Mark::Bootstrapped)?;
    tx.audit(&AuditEntry {
        plugin: &manifest.name,
        from: None,
        to: Some(manifest.head()),
        sha256: plugin.sha256(),
        outcome: AuditOutcome::Recorded,
        reason: Some("bootstrapped from schema.sql".into()),
    })?;
    let status = Status::Recorded { migrations: labels(&recorded), version: manifest.head(), how: Mark::Bootstrapped };
    Ok(outcome(&manifest.name, Some(&plugin.file), None, status))
}

/// Why `plugin` cannot be bootstrapped into `db`, if it cannot.
fn already_installed(db: &dyn Engine, plugin: &Plugin) -> Result<Option<String>, DbError> {
    let manifest = &plugin.manifest;
    let name = &manifest.name;
    if let Some(at) = db.applied(&manifest.history_table())?.iter().map(|a| a.version).max() {
        return Ok(Some(format!(
            "plugin '{name}' is already installed (history at V{at}): bootstrap creates only plugins that are not; run upgrade-all"
        )));
    }
    if let Some(table) = db.existing(Some(name), &manifest.tables)?.into_keys().next() {
        {
            return Ok(Some(format!(
                "plugin '{name}': table `{table}` already exists: bootstrap creates only plugins that are not installed; \
                 upgrade-all adopts existing tables"
            )));
        }
    }
    Ok(None)
}
