//! refinery's view of a SQLite connection while a chain runs.
//!
//! refinery's runner does the bookkeeping (history table, checksums,
//! divergence, what is pending); this driver decides how each statement
//! runs: the chain's own SQL under the plugin's policy (through
//! [`run_restricted`]), refinery's statements as the host's. The chain's
//! transaction is already open, so refinery's "transactions" here are plain
//! statements.

use super::errors::sqlite_message;
use super::guard::{run_restricted, Guard, Refusal};
use crate::engine::{Policy, Touched};
use crate::progress::Progress;
use refinery::Migration;
use refinery_core::traits::sync::{Migrate, Query, Transaction};
use rusqlite::Connection;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The statement that failed inside refinery's run, kept because refinery
/// reduces errors to text.
pub(super) struct Failure {
    pub(super) sql: String,
    pub(super) refusal: Refusal,
}

/// What a [`Driver`] reports to the one watching the run.
pub(super) struct Watched<'c> {
    pub(super) progress: Arc<dyn Progress>,
    pub(super) chain: String,
    /// A pending migration's SQL → its place in the run and its label.
    pub(super) labels: HashMap<&'c str, (usize, String)>,
    pub(super) total: usize,
}

/// The connection as refinery's runner drives it through one chain.
pub(super) struct Driver<'c> {
    pub(super) conn: &'c Connection,
    pub(super) guard: &'c Guard,
    pub(super) policy: Option<Arc<Policy>>,
    /// The chain's own SQL: only these texts run under the plugin's policy;
    /// everything else is refinery's bookkeeping (history table and rows).
    pub(super) plugin_sql: HashSet<&'c str>,
    /// Who watches, and the label of each pending migration's SQL.
    pub(super) watched: Option<Watched<'c>>,
    pub(super) failed: Option<Failure>,
    /// Every statement executed, for dry runs and reports.
    pub(super) log: &'c mut Vec<String>,
    /// What the plugin's SQL touched, over the whole run.
    pub(super) touched: Touched,
}

/// The error a [`Driver`] hands to refinery (which keeps only its text).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct DriverError(String);

impl Driver<'_> {
    fn fail(&mut self, sql: &str, refusal: Refusal) -> DriverError {
        let message = match &refusal {
            Refusal::Denied(denial) => denial.to_string(),
            Refusal::Failed(error) => sqlite_message(error),
        };
        self.failed = Some(Failure { sql: sql.to_owned(), refusal });
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
            let ran = match &policy {
                Some(policy) => run_restricted(self.conn, self.guard, policy, sql).map(Some),
                None => self.conn.execute_batch(sql).map(|()| None).map_err(Refusal::Failed),
            };
            tracing::debug!(
                "{} µs: {}",
                started.elapsed().as_micros(),
                sql.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("--")).unwrap_or("")
            );
            match ran {
                Ok(touched) => self.touched.absorb(touched.unwrap_or_default()),
                Err(refusal) => return Err(self.fail(sql, refusal)),
            }
            if let Some((w, _, label)) = watched {
                w.progress.migration_finished(&w.chain, label, started.elapsed());
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
        let rows = read().map_err(|e| self.fail(query, Refusal::Failed(e)))?;
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
    /// the version is the rowid, so SQLite keeps no separate index. Tables
    /// made by earlier hosts keep their definition.
    fn assert_migrations_table_query(migration_table_name: &str) -> String {
        history_table_ddl(migration_table_name)
    }
}

/// The `CREATE TABLE IF NOT EXISTS` of a history table named `table` (a
/// validated name: see [`crate::schema::names::history_table`]).
pub(crate) fn history_table_ddl(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {table}(version INTEGER PRIMARY KEY, name VARCHAR(255), \
         applied_on VARCHAR(255), checksum VARCHAR(255));"
    )
}
