//! `stamp`: history recorded by hand, the expert's escape hatch for a
//! database whose objects are known to be at a version.

use super::{
    advance, audit_unless_ok, check_target, core_run, find, outcome, plugin_run, ChainOutcome, RunError, RunReport,
    Status,
};
use crate::checks::Checker;
use crate::core_schema;
use crate::engine::{ApplyError, AuditEntry, AuditOutcome, Engine, Execution, Mark, Session};
use crate::error_chain::one_line;
use crate::plugins::inventory::Inventory;
use crate::plugins::manifest::ChainMigration;

/// `stamp`: records `name`'s history as applied up to `version` without
/// running anything, for operators who know the schema is already there.
pub fn stamp(
    db: &mut dyn Engine,
    inventory: &Inventory,
    name: &str,
    version: i32,
    dry_run: bool,
) -> Result<RunReport, RunError> {
    let plugin = find(inventory, name)?;
    let dialect = db.target().dialect();
    check_target(plugin, version, dialect)?;
    let recorded = db.applied(&plugin.manifest.history_table())?;
    let from = recorded.iter().map(|a| a.version).max();
    if let Some(at) = from.filter(|at| *at > version) {
        return Err(RunError::StampBackwards { plugin: name.to_owned(), at });
    }
    let mut report = RunReport { database: db.target().clone(), dry_run, chains: Vec::new() };
    // Only a plugin that passes its checks is recorded, with the names its
    // chain creates up to that version.
    let checked =
        Checker::new(inventory, db.target()).map_err(|e| RunError::Unchecked(e.to_string()))?.check_plugin(plugin);
    let mut session = Session::begin(db, dry_run)?;
    // The host's records are written in the current core schema.
    let core = advance(&mut session, core_schema::OWNER, None, &core_run(dialect), None);
    let core_ok = core.status.is_ok();
    report.chains.push(core);
    let checked = match (core_ok, checked) {
        (false, _) => {
            let blocked = Status::Blocked { by: core_schema::OWNER.into() };
            report.chains.push(outcome(name, Some(&plugin.file), from, blocked));
            return Ok(report);
        }
        (true, Err(e)) => {
            let refused = outcome(name, Some(&plugin.file), from, Status::Refused { reason: e.to_string() });
            audit_unless_ok(&mut session, &refused, Some(plugin));
            report.chains.push(refused);
            return Ok(report);
        }
        (true, Ok(checked)) => checked,
    };
    let run = plugin_run(plugin, inventory, Some(version), Some(&checked), dialect);
    let result = session.chain().map_err(ApplyError::from).and_then(|mut tx| {
        let recorded = tx.run_chain(&run, Execution::HistoryOnly)?;
        tx.mark(name, version, Mark::Stamped)?;
        let closing = AuditEntry {
            plugin: name,
            from,
            to: Some(version),
            sha256: plugin.sha256(),
            outcome: AuditOutcome::Recorded,
            reason: Some("stamped".into()),
        };
        Ok((recorded, tx.commit_audited(Some(&closing))?))
    });
    let status = match &result {
        Ok((recorded, _)) => Status::Recorded {
            migrations: recorded.iter().map(ChainMigration::label).collect(),
            version,
            how: Mark::Stamped,
        },
        Err(e) => Status::Failed { reason: one_line(e) },
    };
    let sql = match result {
        Ok((_, sql)) if dry_run => sql,
        _ => Vec::new(),
    };
    report.chains.push(ChainOutcome { sql, ..outcome(name, Some(&plugin.file), from, status) });
    Ok(report)
}
