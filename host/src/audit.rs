//! The audit record: who changed the schema, when, with which command and
//! which plugin file, and what came of it. Read with `shopdb-host history`.

use crate::core;
use crate::db::{Database, DbError};
use serde::Serialize;

/// Who is running the host and what they asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The OS user (its name, or its uid when it has none).
    pub user: String,
    /// The command line, as typed.
    pub command: String,
}

impl Actor {
    /// The user running this process, with `command` as given.
    pub fn current(command: String) -> Actor {
        Actor { user: os_user(), command }
    }
}

/// The name of the effective user, from the password database.
fn os_user() -> String {
    // SAFETY: getpwuid_r writes only into the buffers given; the result is
    // read only when it reports success.
    unsafe {
        let uid = libc::geteuid();
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut buffer = vec![0 as libc::c_char; 4096];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let status = libc::getpwuid_r(uid, &mut entry, buffer.as_mut_ptr(), buffer.len(), &mut result);
        if status == 0 && !result.is_null() && !entry.pw_name.is_null() {
            return std::ffi::CStr::from_ptr(entry.pw_name).to_string_lossy().into_owned();
        }
        format!("uid {uid}")
    }
}

/// What happened, in the record's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
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

impl Outcome {
    /// The value stored in the record.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Recorded => "recorded",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
            Outcome::Uninstalled => "uninstalled",
        }
    }
}

/// One entry to write (the actor comes from the database handle).
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// The plugin (or `core`, or a file name when it never said one).
    pub plugin: &'a str,
    /// The version before.
    pub from: Option<i32>,
    /// The version after (or attempted).
    pub to: Option<i32>,
    /// The plugin file's SHA-256.
    pub sha256: Option<String>,
    /// What happened.
    pub outcome: Outcome,
    /// Why, for refusals and failures.
    pub reason: Option<String>,
}

/// The SQL that writes one entry into the audit table `table` (its name
/// now, or before core V5 in a database not upgraded yet).
pub fn insert_sql(table: &str) -> String {
    format!(
        "INSERT INTO {table} (os_user, command, plugin, from_version, to_version, file_sha256, outcome, reason) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    )
}

impl Entry<'_> {
    /// The statement's parameters, in [`insert_sql`]'s order.
    pub fn params(&self, actor: &Actor) -> [rusqlite::types::Value; 8] {
        use rusqlite::types::Value;
        let text = |s: Option<&str>| s.map_or(Value::Null, |s| Value::Text(s.to_owned()));
        let number = |v: Option<i32>| v.map_or(Value::Null, |v| Value::Integer(v.into()));
        [
            Value::Text(actor.user.clone()),
            Value::Text(actor.command.clone()),
            Value::Text(self.plugin.to_owned()),
            number(self.from),
            number(self.to),
            text(self.sha256.as_deref()),
            Value::Text(self.outcome.as_str().to_owned()),
            text(self.reason.as_deref()),
        ]
    }
}

/// One recorded entry, as `history` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recorded {
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

/// The record, oldest first, of one plugin or all.
pub fn read(db: &Database, plugin: Option<&str>) -> Result<Vec<Recorded>, DbError> {
    let Some(table) = db.bookkeeping_table(core::AUDIT_TABLE)? else {
        return Ok(Vec::new());
    };
    let read = || -> rusqlite::Result<Vec<Recorded>> {
        let mut stmt = db.connection().prepare(&format!(
            "SELECT id, at, os_user, command, plugin, from_version, to_version, file_sha256, outcome, reason \
             FROM {table} WHERE ?1 IS NULL OR plugin = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([plugin], |r| {
            Ok(Recorded {
                id: r.get(0)?,
                at: r.get(1)?,
                os_user: r.get(2)?,
                command: r.get(3)?,
                plugin: r.get(4)?,
                from_version: r.get(5)?,
                to_version: r.get(6)?,
                file_sha256: r.get(7)?,
                outcome: r.get(8)?,
                reason: r.get(9)?,
            })
        })?;
        rows.collect()
    };
    read().map_err(|source| DbError::Sqlite { path: db.path().to_owned(), what: "reading the audit record", source })
}
