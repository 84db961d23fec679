//! refinery's view of a PostgreSQL connection while a chain runs: the
//! chain's own SQL through the plugin's runner function (so that it runs as
//! the plugin's role), refinery's statements as the host's. The chain's
//! transaction is already open, and refinery's bookkeeping rides with the
//! next statement to the server rather than taking a round trip of its own.

use super::{literal, rows};
use crate::progress::Progress;
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
    /// Bookkeeping statements not sent yet: they go with the next round trip.
    pub(super) held: String,
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

    /// Sends the bookkeeping still held back, if any (after the runner is
    /// done, nothing else will carry it).
    pub(super) fn flush(&mut self) -> Result<(), DriverError> {
        let held = self.held.clone();
        self.send("", &held)
    }

    /// Sends the bookkeeping held back, then `sql`, in one round trip; a
    /// failure is put down to the statement `blamed`.
    fn send(&mut self, sql: &str, blamed: &str) -> Result<(), DriverError> {
        let batch = format!("{}{sql}", std::mem::take(&mut self.held));
        if batch.is_empty() {
            return Ok(());
        }
        self.client.batch_execute(&batch).map_err(|error| self.fail(blamed, error))
    }

    /// `sql` as one statement of a simple query: a chain migration through
    /// the plugin's runner (`SELECT runner(E'…')`), anything else as it is
    /// (on a line of its own: it may end in a comment).
    fn statement(&self, sql: &str) -> String {
        match (&self.runner, self.plugin_sql.contains(sql)) {
            (Some(runner), true) => format!("SELECT {runner}({});\n", literal(sql)),
            _ => format!("{sql}\n;\n"),
        }
    }
}

/// refinery hands over a chain as migration, history row, migration,
/// history row…; each migration and the rows after it go to the server in
/// one round trip, and bookkeeping that ends a call (the history table's
/// `CREATE TABLE IF NOT EXISTS`, the rows of a chain recorded without
/// running) waits for the next round trip (refinery's read of the history,
/// or [`Driver::flush`]).
impl Transaction for Driver<'_> {
    type Error = DriverError;

    fn execute<'a, T: Iterator<Item = &'a str>>(&mut self, queries: T) -> Result<usize, Self::Error> {
        let queries: Vec<&str> = queries.collect();
        let mut i = 0;
        while i < queries.len() {
            let sql = queries[i];
            self.log.push(sql.to_owned());
            if !self.plugin_sql.contains(sql) {
                self.held.push_str(&self.statement(sql));
                i += 1;
                continue;
            }
            let watched = self.watched.as_ref().and_then(|w| {
                w.labels
                    .get(sql)
                    .map(|(i, label)| (Arc::clone(&w.progress), w.chain.clone(), *i, label.clone(), w.total))
            });
            if let Some((progress, chain, i, label, total)) = &watched {
                progress.migration_started(chain, label, *i, *total);
            }
            let mut batch = self.statement(sql);
            let mut next = i + 1;
            while let Some(row) = queries.get(next).filter(|q| !self.plugin_sql.contains(**q)) {
                self.log.push((*row).to_owned());
                batch.push_str(&self.statement(row));
                next += 1;
            }
            let started = std::time::Instant::now();
            self.send(&batch, sql)?;
            tracing::debug!(
                "{} µs: {}",
                started.elapsed().as_micros(),
                sql.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("--")).unwrap_or("")
            );
            if let Some((progress, chain, _, label, _)) = &watched {
                progress.migration_finished(chain, label, started.elapsed());
            }
            i = next;
        }
        Ok(queries.len())
    }
}

impl Query<Vec<Migration>> for Driver<'_> {
    fn query(&mut self, query: &str) -> Result<Vec<Migration>, Self::Error> {
        // In one round trip with the bookkeeping held back: a simple query,
        // its rows as text.
        let batch = format!("{}{query}", std::mem::take(&mut self.held));
        let messages = match self.client.simple_query(&batch) {
            Ok(messages) => messages,
            Err(error) => return Err(self.fail(query, error)),
        };
        rows(&messages)
            .map(|row| {
                let text = |i: usize| row.get(i).unwrap_or_default();
                let version: i32 = text(0)
                    .parse()
                    .map_err(|_| DriverError(format!("a history row has a corrupt version `{}`", text(0))))?;
                let (name, applied_on, checksum) = (text(1), text(2), text(3));
                let applied_on = OffsetDateTime::parse(applied_on, &Rfc3339).unwrap_or(OffsetDateTime::UNIX_EPOCH);
                let checksum = checksum.parse().map_err(|_| {
                    DriverError(format!("history row V{version}__{name} has a corrupt checksum `{checksum}`"))
                })?;
                Ok(Migration::applied(version, name.to_owned(), applied_on, checksum))
            })
            .collect()
    }
}

impl Migrate for Driver<'_> {
    fn assert_migrations_table_query(migration_table_name: &str) -> String {
        format!("CREATE TABLE IF NOT EXISTS {migration_table_name}({HISTORY_COLUMNS});")
    }
}

/// A history table's columns: refinery's names and types, with `applied_on`
/// and `checksum` only as wide as refinery's values get (an RFC 3339 time,
/// a `u64` in decimal). A row then always fits in a page, so PostgreSQL
/// gives the table no TOAST table: two relation files fewer per history to
/// create, and later to drop. Tables made by refinery or earlier hosts keep
/// their definition; the host reads both alike.
pub(super) const HISTORY_COLUMNS: &str =
    "version int4 PRIMARY KEY, name varchar(255), applied_on varchar(64), checksum varchar(20)";
