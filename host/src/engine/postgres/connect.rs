//! Connecting the way a PostgreSQL user expects: a `postgres://` URL (its
//! parameters, such as `host=/run/postgresql` for a Unix socket), then
//! libpq's environment (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
//! `PGDATABASE`), then `~/.pgpass` (or `PGPASSFILE`) for a password, then
//! libpq's defaults (the Unix socket in `/var/run/postgresql` or `/tmp`,
//! port 5432, the OS user, a database named after the user).
//!
//! What goes wrong becomes one line an operator can act on; the password is
//! never part of it.

use crate::engine::{DatabaseTarget, DbError};
use postgres::config::Host;
use postgres::error::SqlState;
use postgres::row::SimpleQueryRow;
use postgres::{Client, Config, NoTls, SimpleQueryMessage};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// The oldest server the host supports: nondeterministic ICU collations
/// (the core's `nocase`) need 12, and the host is tested on 13 and later's
/// behaviour (it is developed against 15).
pub const MINIMUM_SERVER_VERSION: i32 = 130_000;

/// The connection settings for `url`, with libpq's environment and
/// defaults filled in where the URL says nothing.
pub fn config(url: &str, target: &DatabaseTarget) -> Result<Config, DbError> {
    // The driver knows the scheme in lowercase only; `DatabaseTarget` takes any case.
    let url = match url.split_once("://") {
        Some((scheme, rest)) => format!("{}://{rest}", scheme.to_ascii_lowercase()),
        None => url.to_owned(),
    };
    let mut config =
        Config::from_str(&url).map_err(|e| DbError::BadUrl { target: target.clone(), reason: e.to_string() })?;
    if config.get_ssl_mode() == postgres::config::SslMode::Require {
        return Err(DbError::BadUrl {
            target: target.clone(),
            reason: "sslmode=require: TLS connections are not built into this host; connect over a Unix socket \
                     (host=/run/postgresql) or a trusted network"
                .into(),
        });
    }
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if config.get_hosts().is_empty() {
        match env("PGHOST") {
            Some(host) if host.starts_with('/') => {
                config.host_path(host);
            }
            Some(host) => {
                config.host(&host);
            }
            None => {
                let socket = ["/var/run/postgresql", "/run/postgresql", "/tmp"]
                    .into_iter()
                    .find(|dir| Path::new(dir).is_dir())
                    .unwrap_or("/tmp");
                config.host_path(socket);
            }
        }
    }
    if config.get_ports().is_empty() {
        if let Some(port) = env("PGPORT").and_then(|p| p.parse().ok()) {
            config.port(port);
        }
    }
    if config.get_user().is_none() {
        let user = env("PGUSER").unwrap_or_else(crate::engine::os_user);
        config.user(&user);
    }
    if config.get_dbname().is_none() {
        let dbname = env("PGDATABASE").or_else(|| config.get_user().map(str::to_owned)).unwrap_or_default();
        config.dbname(&dbname);
    }
    if config.get_password().is_none() {
        if let Some(password) = env("PGPASSWORD").or_else(|| pgpass_password(&config)) {
            config.password(password);
        }
    }
    if config.get_application_name().is_none() {
        config.application_name("shopdb-host");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    Ok(config)
}

/// Connects and sets the session up with `session` (statements), and says
/// in one line why not: unreachable, authentication, no such database, too
/// old a server. The server's version is asked in the same round trip.
/// Returns the server's version (`server_version_num`) and the rows each
/// of `session`'s statements gave, in order (none for a `SET`): what the
/// session needs to know at once comes without a round trip of its own.
pub fn connect(
    config: &Config,
    target: &DatabaseTarget,
    session: &str,
) -> Result<(Client, i32, Vec<Vec<SimpleQueryRow>>), DbError> {
    let mut client = config.connect(NoTls).map_err(|e| connect_error(e, config, target))?;
    let version_query = "SELECT current_setting('server_version_num')";
    let asked = format!("{version_query}; {session}");
    let mut results = match client.simple_query(&asked) {
        Ok(messages) => by_statement(messages),
        // A server too old for the session's SQL says so first; one that
        // cannot answer (the connection lost) gets the first error.
        Err(e) => {
            if let Ok(version) = client.simple_query(version_query) {
                check_version(target, &by_statement(version))?;
            }
            return Err(connect_error(e, config, target));
        }
    };
    let version = check_version(target, &results)?;
    results.remove(0);
    Ok((client, version, results))
}

/// Refuses a server older than the host supports; `results`: the rows of
/// a simple query whose first statement asked the server's version.
/// Returns that version.
fn check_version(target: &DatabaseTarget, results: &[Vec<SimpleQueryRow>]) -> Result<i32, DbError> {
    let version: i32 = results
        .first()
        .and_then(|rows| rows.first())
        .and_then(|row| row.get(0))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if version < MINIMUM_SERVER_VERSION {
        return Err(DbError::ServerTooOld { target: target.clone(), version: version_text(version) });
    }
    Ok(version)
}

/// A simple query's messages as the rows of each statement, in order.
fn by_statement(messages: Vec<SimpleQueryMessage>) -> Vec<Vec<SimpleQueryRow>> {
    let mut statements = Vec::new();
    let mut rows = Vec::new();
    for message in messages {
        match message {
            SimpleQueryMessage::Row(row) => rows.push(row),
            SimpleQueryMessage::CommandComplete(_) => statements.push(std::mem::take(&mut rows)),
            _ => {}
        }
    }
    statements
}

fn version_text(num: i32) -> String {
    format!("{}.{}", num / 10_000, num % 10_000)
}

/// A `postgresql://` URL for these settings without the password, for a
/// command line the operator is shown (`pg_restore --dbname=…`).
pub fn display_url(config: &Config) -> String {
    let user = config.get_user().unwrap_or_default();
    let database = config.get_dbname().unwrap_or_default();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    match config.get_hosts().first() {
        Some(Host::Tcp(host)) => format!("postgresql://{user}@{host}:{port}/{database}"),
        Some(Host::Unix(path)) => format!("postgresql://{user}@/{database}?host={}&port={port}", path.display()),
        None => format!("postgresql://{user}@/{database}"),
    }
}

/// Where the configuration points, for messages: `host:port` or the socket.
pub fn place(config: &Config) -> String {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    match config.get_hosts().first() {
        Some(Host::Tcp(host)) => format!("{host}:{port}"),
        Some(Host::Unix(path)) => format!("{}/.s.PGSQL.{port}", path.display()),
        None => "localhost".into(),
    }
}

fn connect_error(error: postgres::Error, config: &Config, target: &DatabaseTarget) -> DbError {
    let user = config.get_user().unwrap_or_default().to_owned();
    let database = config.get_dbname().unwrap_or_default().to_owned();
    match error.code() {
        Some(code) if *code == SqlState::INVALID_PASSWORD || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
            DbError::AuthenticationFailed { target: target.clone(), user }
        }
        Some(code) if *code == SqlState::INVALID_CATALOG_NAME => {
            DbError::NoSuchDatabase { target: target.clone(), database }
        }
        Some(_) => DbError::Engine { target: target.clone(), what: "connecting", source: Box::new(error) },
        None => {
            if one_cause(&error).contains("password missing") {
                DbError::AuthenticationFailed { target: target.clone(), user }
            } else {
                DbError::Unreachable { target: target.clone(), place: place(config), reason: one_cause(&error) }
            }
        }
    }
}

/// The innermost cause of a connection error, which says what happened.
fn one_cause(error: &postgres::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The password `~/.pgpass` (or `PGPASSFILE`) gives for this connection:
/// the first line whose host, port, database and user match (`*` matches
/// anything; `\:` and `\\` are a colon and a backslash). A file others may
/// read is ignored, as libpq ignores it.
fn pgpass_password(config: &Config) -> Option<String> {
    let file = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".pgpass")))?;
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(&file).ok()?;
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!("{}: ignored, it may be read by others (chmod 0600 it)", file.display());
        return None;
    }
    let text = std::fs::read_to_string(&file).ok()?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        // libpq matches a socket connection as `localhost`.
        _ => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432).to_string();
    let wanted = [host, port, config.get_dbname()?.to_owned(), config.get_user()?.to_owned()];
    text.lines().filter(|l| !l.trim_start().starts_with('#')).find_map(|line| {
        let fields = pgpass_fields(line);
        let [h, p, d, u, password] = fields.as_slice() else { return None };
        let matches = [h, p, d, u].iter().zip(&wanted).all(|(field, want)| *field == "*" || field == &want);
        matches.then(|| password.clone())
    })
}

/// The fields of a `.pgpass` line, unescaped.
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(field)) = (chars.next(), fields.last_mut()) {
                    field.push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(field) = fields.last_mut() {
                    field.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgpass_lines_unescape_and_split_in_five() {
        assert_eq!(
            pgpass_fields(r"db:5432:shop:host\:er:pa\\ss:with:colons"),
            ["db", "5432", "shop", "host:er", r"pa\ss:with:colons"]
        );
    }

    #[test]
    fn the_environment_fills_what_the_url_leaves_out() {
        let target = DatabaseTarget::parse("postgres:///shop?host=/run/x").unwrap();
        let settings = config("postgres:///shop?host=/run/x", &target).unwrap();
        assert_eq!(settings.get_dbname(), Some("shop"));
        assert!(matches!(settings.get_hosts(), [Host::Unix(p)] if p == Path::new("/run/x")));
        assert!(settings.get_user().is_some_and(|u| !u.is_empty()));
        let bad = config("postgres://h/db?sslmode=require", &target).unwrap_err().to_string();
        assert!(bad.contains("TLS connections are not built into this host"), "{bad}");
    }

    /// Found by fuzz/ (target `pg_url`): `POSTGRES://…` is a PostgreSQL
    /// target, and the driver said "invalid connection string" to it.
    #[test]
    fn the_scheme_may_be_in_any_case() {
        for url in ["POSTGRES://shop@db:5433/shop", "PostgreSQL://shop@db:5433/shop"] {
            let settings = config(url, &DatabaseTarget::parse(url).unwrap()).unwrap();
            assert_eq!((settings.get_user(), settings.get_dbname()), (Some("shop"), Some("shop")), "{url}");
            assert_eq!(settings.get_ports(), [5433], "{url}");
        }
    }
}
