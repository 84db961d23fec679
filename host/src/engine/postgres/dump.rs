//! The backup `uninstall --yes` writes on PostgreSQL before it drops
//! anything: `pg_dump` of the plugin's schema in its custom format, with the
//! plugin's history and its rows of the host's records copied into that
//! schema first, and a SQL file beside it that puts those back after
//! `pg_restore`.

use super::connect;
use super::driver::HISTORY_COLUMNS;
use super::roles::Layout;
use crate::engine::{Backup, DatabaseTarget, DbError};
use crate::schema::names::quoted;
use postgres::config::Host;
use postgres::types::Type;
use postgres::{Client, Config};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where, inside the plugin's schema, the backup keeps the plugin's history
/// and its rows of the host's records.
const SAVED_HISTORY: &str = "shopdb_saved_history";
const SAVED_RECORDS: &str = "shopdb_saved_records";

fn failed(target: &DatabaseTarget, reason: String) -> DbError {
    DbError::BackupFailed { target: target.clone(), reason }
}

/// The `pg_dump` to use: on `PATH`, else the newest under
/// `/usr/lib/postgresql/*/bin` (Debian's layout), and its major version.
fn pg_dump(target: &DatabaseTarget) -> Result<(PathBuf, u32), DbError> {
    let mut candidates = vec![PathBuf::from("pg_dump")];
    if let Ok(versions) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut found: Vec<(u32, PathBuf)> = versions
            .flatten()
            .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin/pg_dump"))))
            .filter(|(_, p)| p.is_file())
            .collect();
        found.sort();
        candidates.extend(found.into_iter().rev().map(|(_, p)| p));
    }
    for program in candidates {
        let Ok(output) = Command::new(&program).arg("--version").output() else { continue };
        let text = String::from_utf8_lossy(&output.stdout);
        // "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        let major = text.split_whitespace().nth(2).and_then(|v| v.split('.').next()).and_then(|v| v.parse().ok());
        if let (true, Some(major)) = (output.status.success(), major) {
            return Ok((program, major));
        }
    }
    Err(failed(
        target,
        "pg_dump was not found (on PATH or in /usr/lib/postgresql/*/bin): install PostgreSQL's client programs \
         (Debian: postgresql-client) so that a backup can be written; nothing was dropped"
            .into(),
    ))
}

/// The connection options of `config` for a libpq program, without the
/// password (which goes in the environment, never on a command line).
fn connection_args(config: &Config) -> Vec<String> {
    let mut args = Vec::new();
    match config.get_hosts().first() {
        Some(Host::Tcp(host)) => args.push(format!("--host={host}")),
        Some(Host::Unix(path)) => args.push(format!("--host={}", path.display())),
        None => {}
    }
    if let Some(port) = config.get_ports().first() {
        args.push(format!("--port={port}"));
    }
    if let Some(user) = config.get_user() {
        args.push(format!("--username={user}"));
    }
    args
}

/// `'text'` for a POSIX shell.
fn shell_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `<dir>/shopdb-<database>-<plugin>-<UTC timestamp>.dump`, never an
/// existing file.
fn dump_path(dir: &Path, database: &str, plugin: &str) -> PathBuf {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let stamp = time::OffsetDateTime::now_utc().format(&format).unwrap_or_else(|_| "backup".into());
    let mut candidate = dir.join(format!("shopdb-{database}-{plugin}-{stamp}.dump"));
    let mut n = 1;
    while candidate.exists() {
        candidate = dir.join(format!("shopdb-{database}-{plugin}-{stamp}-{n}.dump"));
        n += 1;
    }
    candidate
}

/// Writes the backup of `plugin` (whose history table is `history`, if any)
/// into the current directory. The copies it makes in the plugin's schema
/// are committed for `pg_dump` to see, and removed again whatever happens.
pub fn backup(
    client: &mut Client,
    config: &Config,
    target: &DatabaseTarget,
    plugin: &str,
    history: Option<&str>,
) -> Result<Backup, DbError> {
    let (program, client_major) = pg_dump(target)?;
    let server: i32 = client
        .query_typed_one("SELECT current_setting('server_version_num')::int", &[])
        .map_err(|e| failed(target, super::message(&e)))?
        .get(0);
    let server_major = u32::try_from(server / 10_000).unwrap_or(0);
    if client_major < server_major {
        return Err(failed(
            target,
            format!(
                "{} is version {client_major}, older than the server ({server_major}): pg_dump cannot back up a newer \
                 server; install pg_dump {server_major} or later; nothing was dropped",
                program.display()
            ),
        ));
    }
    let schema = quoted(plugin);
    let exists: bool = client
        .query_typed_one("SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)", &[(&plugin, Type::TEXT)])
        .map_err(|e| failed(target, super::message(&e)))?
        .get(0);
    if !exists {
        client.batch_execute(&format!("CREATE SCHEMA {schema}")).map_err(|e| failed(target, super::message(&e)))?;
    }
    let literal = plugin.replace('\'', "''");
    let mut save = format!(
        "BEGIN;
         CREATE TABLE {schema}.{SAVED_RECORDS} AS
           SELECT 'shopdb_core_owners'::text AS host_table, to_jsonb(o) AS row FROM shopdb.shopdb_core_owners o WHERE o.plugin = '{literal}'
           UNION ALL SELECT 'shopdb_core_plugins', to_jsonb(p) FROM shopdb.shopdb_core_plugins p WHERE p.name = '{literal}'
           UNION ALL SELECT 'shopdb_core_marks', to_jsonb(m) FROM shopdb.shopdb_core_marks m WHERE m.plugin = '{literal}';\n"
    );
    if let Some(history) = history {
        save.push_str(&format!("CREATE TABLE {schema}.{SAVED_HISTORY} AS TABLE shopdb.{};\n", quoted(history)));
    }
    save.push_str("COMMIT;");
    let unsave = format!(
        "DROP TABLE IF EXISTS {schema}.{SAVED_RECORDS}; DROP TABLE IF EXISTS {schema}.{SAVED_HISTORY};{}",
        if exists { String::new() } else { format!(" DROP SCHEMA IF EXISTS {schema};") }
    );
    if let Err(e) = client.batch_execute(&save) {
        let _ = client.batch_execute("ROLLBACK");
        let _ = client.batch_execute(&unsave);
        return Err(failed(target, super::message(&e)));
    }
    let database = config.get_dbname().unwrap_or_default().to_owned();
    let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let path = dump_path(&here, &database, plugin);
    let mut command = Command::new(&program);
    command
        .args(connection_args(config))
        .arg(format!("--dbname={database}"))
        .args(["--format=custom", "--no-password"])
        .arg(format!("--schema={plugin}"))
        .arg(format!("--file={}", path.display()));
    command.env_remove("PGPASSWORD");
    if let Some(password) = config.get_password() {
        command.env("PGPASSWORD", String::from_utf8_lossy(password).into_owned());
    }
    let dumped = command.output();
    let _ = client.batch_execute(&unsave);
    match dumped {
        Ok(output) if output.status.success() => {}
        Ok(output) => {
            let _ = std::fs::remove_file(&path);
            let reason = String::from_utf8_lossy(&output.stderr).lines().next().unwrap_or_default().to_owned();
            return Err(failed(target, format!("pg_dump failed: {reason}; nothing was dropped")));
        }
        Err(e) => return Err(failed(target, format!("{}: {e}; nothing was dropped", program.display()))),
    }
    let depends_on: Vec<String> = client
        .query_typed_opt(
            "SELECT depends_on::text FROM shopdb.shopdb_core_plugins WHERE name = $1",
            &[(&plugin, Type::TEXT)],
        )
        .ok()
        .flatten()
        .and_then(|row| serde_json::from_str(&row.get::<_, String>(0)).ok())
        .unwrap_or_default();
    let script = path.with_extension("restore.sql");
    std::fs::write(&script, restore_sql(plugin, history, &Layout::real(plugin, &depends_on)))
        .map_err(|e| failed(target, format!("writing {}: {e}; nothing was dropped", script.display())))?;
    let mut url = connect::display_url(config);
    url = shell_quoted(&url);
    let restore = format!(
        "pg_restore --dbname={url} {} && psql --dbname={url} --file={}",
        shell_quoted(&path.to_string_lossy()),
        shell_quoted(&script.to_string_lossy())
    );
    Ok(Backup { path, restore })
}

/// The SQL that, after `pg_restore`, moves the saved history and records
/// back to the host's tables, and gives the plugin's role its grants again.
fn restore_sql(plugin: &str, history: Option<&str>, layout: &Layout) -> String {
    let schema = quoted(plugin);
    let mut sql = String::from(
        "-- Run after pg_restore of the dump beside this file: puts the plugin's history and its rows of the\n\
         -- host's records back where the host keeps them.\n\\set ON_ERROR_STOP on\nBEGIN;\n",
    );
    if let Some(history) = history {
        let history = quoted(history);
        sql.push_str(&format!(
            "CREATE TABLE shopdb.{history} ({HISTORY_COLUMNS});\n\
             INSERT INTO shopdb.{history} SELECT * FROM {schema}.{SAVED_HISTORY};\n"
        ));
    }
    for table in ["shopdb_core_owners", "shopdb_core_plugins", "shopdb_core_marks"] {
        sql.push_str(&format!(
            "INSERT INTO shopdb.{table} SELECT (jsonb_populate_record(NULL::shopdb.{table}, row)).* FROM {schema}.{SAVED_RECORDS} WHERE host_table = '{table}';\n"
        ));
    }
    // What the plugin's role was granted outside its schema, which
    // uninstall revoked and pg_restore of one schema does not bring back.
    sql.push_str(&layout.grants());
    sql.push_str(&format!(
        "DROP TABLE {schema}.{SAVED_RECORDS};\nDROP TABLE IF EXISTS {schema}.{SAVED_HISTORY};\nCOMMIT;\n"
    ));
    sql
}
