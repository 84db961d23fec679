//! refinery's view of a PostgreSQL connection while a chain runs: the
//! chain's own SQL through the plugin's runner function (so that it runs as
//! the plugin's role), refinery's statements as the host's. The chain's
//! transaction is already open.

use crate::progress::Progress;
use postgres::types::Type;
use postgres::Client;
use refinery::Migration;
use refinery_core::traits::sync::{Migrate, Query, Transaction};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The statement that failed inside refinery's run.
pub(super) struct Failure {
    pub(super) sql: String,
    pub(super) error: postgres::Error,
}

/// What the driver reports to the one watching the run.
pub(super) struct Watched<'c> {
    pub(super) progress: Arc<dyn Progress>,
    pub(super) chain: String,
    pub(super) labels: HashMap<&'c str, (usize, String)>,
    pub(super) total: usize,
}

pub(super) struct Driver<'c> {
    pub(super) client: &'c mut Client,
    /// `schema.shopdb_run`: what runs the plugin's SQL as its role (`None`
    /// for the core chain, which runs as the host).
    pub(super) runner: Option<String>,
    pub(super) plugin_sql: HashSet<&'c str>,
    pub(super) watched: Option<Watched<'c>>,
    pub(super) failed: Option<Failure>,
    pub(super) log: &'c mut Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct DriverError(String);

impl Driver<'_> {
    fn fail(&mut self, sql: &str, error: postgres::Error) -> DriverError {
        let message = super::message(&error);
        self.failed = Some(Failure { sql: sql.to_owned(), error });
        DriverError(message)
    }
}

impl Transaction for Driver<'_> {
    type Error = DriverError;

    fn execute<'a, T: Iterator<Item = &'a str>>(&mut self, queries: T) -> Result<usize, Self::Error> {
        let mut count = 0;
        for sql in queries {
            self.log.push(sql.to_owned());
            let watched =
                self.watched.as_ref().and_then(|w| w.labels.get(sql).map(|(i, label)| (w, *i, label.clone())));
            if let Some((w, i, label)) = &watched {
                w.progress.migration_started(&w.chain, label, *i, w.total);
            }
            let started = std::time::Instant::now();
            let ran = match (&self.runner, self.plugin_sql.contains(sql)) {
                (Some(runner), true) => {
                    self.client.query_typed(&format!("SELECT {runner}($1)"), &[(&sql, Type::TEXT)]).map(drop)
                }
                _ => self.client.batch_execute(sql),
            };
            tracing::debug!(
                "{} µs: {}",
                started.elapsed().as_micros(),
                sql.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("--")).unwrap_or("")
            );
            if let Err(error) = ran {
                return Err(self.fail(sql, error));
            }
            if let Some((w, _, label)) = &watched {
                w.progress.migration_finished(&w.chain, label, started.elapsed());
            }
            count += 1;
        }
        Ok(count)
    }
}

impl Query<Vec<Migration>> for Driver<'_> {
    fn query(&mut self, query: &str) -> Result<Vec<Migration>, Self::Error> {
        let rows = match self.client.query_typed(query, &[]) {
            Ok(rows) => rows,
            Err(error) => return Err(self.fail(query, error)),
        };
        rows.iter()
            .map(|row| {
                let (version, name, applied_on, checksum): (i32, String, String, String) =
                    (row.get(0), row.get(1), row.get(2), row.get(3));
                let applied_on = OffsetDateTime::parse(&applied_on, &Rfc3339).unwrap_or(OffsetDateTime::UNIX_EPOCH);
                let checksum = checksum.parse().map_err(|_| {
                    DriverError(format!("history row V{version}__{name} has a corrupt checksum `{checksum}`"))
                })?;
                Ok(Migration::applied(version, name, applied_on, checksum))
            })
            .collect()
    }
}

impl Migrate for Driver<'_> {}
