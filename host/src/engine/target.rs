//! Which database a command works on: a SQLite file, or a PostgreSQL URL.
//!
//! The same `--database` (env `SHOPDB_DATABASE`, `database` in
//! shopdb.toml) takes both: a value starting with `postgres://` or
//! `postgresql://` is a PostgreSQL connection URL, anything else the path of
//! a SQLite file. A password in a URL is part of the value but never of its
//! display: reports, `--json`, logs and the audit record show the URL
//! without it.

pub use crate::schema::Dialect;
use serde::{Serialize, Serializer};
use std::path::{Path, PathBuf};

/// A database the host works on.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// A SQLite file (created when a command changes it and it is missing).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL, as given (with its password, if any).
    Postgres(String),
}

/// Why a `--database` value is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Empty.
    #[error("--database is empty: give a SQLite file or a postgres:// URL")]
    Empty,
}

impl DatabaseTarget {
    /// Reads a `--database` value: a `postgres://` or `postgresql://` URL, or
    /// else a SQLite path.
    pub fn parse(value: &str) -> Result<DatabaseTarget, TargetError> {
        if value.is_empty() {
            return Err(TargetError::Empty);
        }
        let lower = value.get(..13).unwrap_or(value).to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Ok(DatabaseTarget::Postgres(value.to_owned()))
        } else {
            Ok(DatabaseTarget::Sqlite(PathBuf::from(value)))
        }
    }

    /// The engine's dialect.
    pub fn dialect(&self) -> Dialect {
        match self {
            DatabaseTarget::Sqlite(_) => Dialect::Sqlite,
            DatabaseTarget::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The SQLite file, for a SQLite target.
    pub fn path(&self) -> Option<&Path> {
        match self {
            DatabaseTarget::Sqlite(path) => Some(path),
            DatabaseTarget::Postgres(_) => None,
        }
    }

    /// The target relative to `base` (a configuration file's directory),
    /// for a relative SQLite path; URLs are left as they are.
    pub fn relative_to(&self, base: &Path) -> DatabaseTarget {
        match self {
            DatabaseTarget::Sqlite(path) if path.is_relative() => DatabaseTarget::Sqlite(base.join(path)),
            other => other.clone(),
        }
    }
}

/// `postgres://user:secret@host/db` as `postgres://user@host/db`: the
/// userinfo's password part removed, the rest as given. The userinfo ends at
/// the authority's last `@` or, when the authority has none, at the first
/// `@` anywhere, where the driver ends it (`postgres://u:p/w@h`).
pub fn without_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@').or_else(|| rest.find('@')) else {
        return url.to_owned();
    };
    let userinfo = &rest[..at];
    let user = userinfo.split(':').next().unwrap_or_default();
    format!("{}{user}{}", &url[..scheme_end], &rest[at..])
}

impl std::fmt::Display for DatabaseTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseTarget::Sqlite(path) => write!(f, "{}", path.display()),
            DatabaseTarget::Postgres(url) => f.write_str(&without_password(&redact_query(url))),
        }
    }
}

/// A `password=` query parameter removed too, wherever the driver may read
/// one: its key percent-decoded, after the `?`, a `&` or a later `?` (the
/// driver's query may start there), its value up to the next `&`.
fn redact_query(url: &str) -> String {
    let Some(q) = url.find('?') else {
        return url.to_owned();
    };
    let kept: Vec<&str> = url[q + 1..]
        .split('&')
        .filter_map(|p| {
            let mut starts = std::iter::once(0).chain(p.match_indices('?').map(|(i, _)| i + 1));
            match starts.find(|&i| is_password_parameter(&p[i..])) {
                Some(0) => None,
                Some(i) => Some(&p[..i - 1]),
                None => Some(p),
            }
        })
        .collect();
    if kept.is_empty() {
        url[..q].to_owned()
    } else {
        format!("{}?{}", &url[..q], kept.join("&"))
    }
}

/// Whether a query parameter sets the password: its key, percent-decoded,
/// is `password` (in any case).
fn is_password_parameter(parameter: &str) -> bool {
    let Some((key, _)) = parameter.split_once('=') else {
        return false;
    };
    let (bytes, mut decoded, mut i) = (key.as_bytes(), Vec::with_capacity(key.len()), 0);
    while i < bytes.len() {
        let hex = |j: usize| bytes.get(j).and_then(|b| char::from(*b).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                decoded.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    decoded.eq_ignore_ascii_case(b"password")
}

impl std::fmt::Debug for DatabaseTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseTarget({self})")
    }
}

impl Serialize for DatabaseTarget {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_postgres_and_everything_else_a_sqlite_path() {
        assert_eq!(DatabaseTarget::parse("shop.sqlite").unwrap(), DatabaseTarget::Sqlite("shop.sqlite".into()));
        assert_eq!(DatabaseTarget::parse("postgres://h/db").unwrap().dialect(), Dialect::Postgres);
        assert_eq!(DatabaseTarget::parse("POSTGRESQL://h/db").unwrap().dialect(), Dialect::Postgres);
        assert_eq!(DatabaseTarget::parse("./postgres:/x").unwrap().dialect(), Dialect::Sqlite);
        assert_eq!(DatabaseTarget::parse(""), Err(TargetError::Empty));
    }

    #[test]
    fn a_password_is_never_shown() {
        for (url, shown) in [
            ("postgres://shop:s3cret@db.example/shop", "postgres://shop@db.example/shop"),
            ("postgresql://shop:p%40ss@db:5432/shop?sslmode=require", "postgresql://shop@db:5432/shop?sslmode=require"),
            ("postgres://db.example/shop?user=x&password=s3cret", "postgres://db.example/shop?user=x"),
            ("postgres:///shop?host=/run/postgresql", "postgres:///shop?host=/run/postgresql"),
        ] {
            let target = DatabaseTarget::parse(url).unwrap();
            assert_eq!(target.to_string(), shown);
            assert_eq!(serde_json::to_string(&target).unwrap(), format!("\"{shown}\""));
            assert!(!format!("{target:?}").contains("s3cret"));
        }
    }

    /// Found by fuzz/ (target `pg_url`): URLs in which the driver reads a
    /// password that the display showed.
    #[test]
    fn a_password_is_not_shown_where_the_driver_reads_one_either() {
        for (url, shown) in [
            // The driver ends the userinfo at the first `@`, past a `#` or a `/`.
            ("postgres://shop:s3cret#1@db/shop", "postgres://shop@db/shop"),
            ("postgres://shop:s3/cret@db/shop", "postgres://shop@db/shop"),
            // It percent-decodes parameter keys.
            ("postgres://db/shop?pass%77ord=s3cret&user=x", "postgres://db/shop?user=x"),
            ("postgres://db/shop?%50ASSWORD=s3cret", "postgres://db/shop"),
            // It may read the query from a later `?` (the part before that `@` is its user).
            ("postgres://db/shop?x=a@b/db2?password=s3cret", "postgres://db/shop?x=a@b/db2"),
            // Where the driver ends the userinfo past the `?`, the query's password goes first.
            ("postgres://db:5432/shop?application_name=a@b&password=s3cret", "postgres://db@b"),
        ] {
            let target = DatabaseTarget::parse(url).unwrap();
            assert_eq!(target.to_string(), shown, "{url}");
        }
    }

    /// Found by fuzz/ (target `pg_url`, seed `regression-repeated-password`):
    /// the password, written percent-encoded in the userinfo, also appears
    /// decoded in the query. The display drops the copy the driver reads and
    /// keeps the query's text, which the driver reads as no password.
    #[test]
    fn a_password_repeated_in_the_query_is_dropped_where_the_driver_reads_it() {
        use std::str::FromStr;
        let url = "postgres://shop://db/ss%77ord@db/shop?application_name=//db/ssword";
        let password = postgres::Config::from_str(url).unwrap().get_password().map(<[u8]>::to_vec);
        assert_eq!(password.as_deref(), Some(&b"//db/ssword"[..]));
        let shown = DatabaseTarget::parse(url).unwrap().to_string();
        assert_eq!(shown, "postgres://shop@db/shop?application_name=//db/ssword");
        assert_eq!(postgres::Config::from_str(&shown).unwrap().get_password(), None);
    }
}
