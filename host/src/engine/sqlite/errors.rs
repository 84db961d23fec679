//! SQLite's errors in words an operator can act on.

use crate::engine::{DatabaseTarget, DbError};
use rusqlite::ErrorCode;
use std::path::Path;
use std::time::Duration;

/// SQLite's own message for an error, without rusqlite's decoration.
pub fn sqlite_message(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(e, Some(message)) => {
            if e.code == ErrorCode::ConstraintViolation || message.contains(' ') {
                message.clone()
            } else {
                format!("{message} ({e})")
            }
        }
        other => other.to_string(),
    }
}

/// Names the errors an operator can act on (busy after `waited`, full,
/// read-only, not a database, a missing directory, a killed run's
/// journal); the rest keep SQLite's words, as the cause of `what` failing.
pub fn classify(path: &Path, what: &'static str, source: rusqlite::Error, waited: Duration) -> DbError {
    let target = DatabaseTarget::Sqlite(path.to_owned());
    let path = path.to_owned();
    match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => DbError::Busy { target, waited },
        Some(ErrorCode::NotADatabase) => DbError::NotADatabase(path),
        Some(ErrorCode::ReadOnly) if extended_code(&source) == Some(rusqlite::ffi::SQLITE_READONLY_ROLLBACK) => {
            DbError::Interrupted(path)
        }
        Some(ErrorCode::ReadOnly) => DbError::ReadOnly(path),
        Some(ErrorCode::DiskFull) => DbError::Full(target),
        // A write cut short by a file size limit reaches SQLite as EFBIG.
        Some(ErrorCode::SystemIoFailure) if is_write_error(&source) => DbError::Full(target),
        Some(ErrorCode::CannotOpen) if path.parent().is_some_and(|d| !d.as_os_str().is_empty() && !d.is_dir()) => {
            let dir = path.parent().map(Path::to_owned).unwrap_or_default();
            DbError::MissingDirectory { path, dir }
        }
        _ => DbError::Engine { target, what, source: Box::new(source) },
    }
}

/// SQLite's extended result code for `error`, if it is SQLite's.
fn extended_code(error: &rusqlite::Error) -> Option<i32> {
    match error {
        rusqlite::Error::SqliteFailure(e, _) => Some(e.extended_code),
        _ => None,
    }
}

/// Whether an I/O error happened while writing (extended codes
/// SQLITE_IOERR_WRITE and SQLITE_IOERR_FSYNC, SQLITE_IOERR_TRUNCATE).
fn is_write_error(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _)
            if [rusqlite::ffi::SQLITE_IOERR_WRITE, rusqlite::ffi::SQLITE_IOERR_FSYNC, rusqlite::ffi::SQLITE_IOERR_TRUNCATE]
                .contains(&e.extended_code)
    )
}
