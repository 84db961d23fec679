//! The errors a command can end with before it produces a report, and the
//! exit code each one means.

use crate::db::DbError;
use crate::discover::DiscoverError;
use crate::migrate::RunError;
use crate::uninstall::UninstallError;

/// Exit code: everything asked for was done.
pub const EXIT_OK: u8 = 0;
/// Exit code: a chain failed, was refused or was blocked while applying.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: bad usage or input (paths, names, versions).
pub const EXIT_USAGE: u8 = 2;

/// A command that could not produce its report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The plugins directory is unusable.
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    /// The database is unusable.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The command named something that is not there.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The lock file is missing or unreadable.
    #[error(transparent)]
    Lock(#[from] crate::pin::LockError),
    /// A new plugin crate could not be written.
    #[error(transparent)]
    Scaffold(#[from] crate::scaffold::ScaffoldError),
    /// Uninstall refused or failed.
    #[error(transparent)]
    Uninstall(#[from] UninstallError),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        let db_failure = |e: &DbError| matches!(e, DbError::Busy { .. } | DbError::Full(_) | DbError::Sqlite { .. });
        match self {
            Error::Db(e) | Error::Run(RunError::Db(e)) | Error::Uninstall(UninstallError::Db(e)) if db_failure(e) => {
                EXIT_FAILED
            }
            Error::Uninstall(UninstallError::Failed { .. }) => EXIT_FAILED,
            _ => EXIT_USAGE,
        }
    }
}

/// An error and its causes on one line, `outer: cause: root cause`, for
/// report fields that must stay one line (a cause is left out when the
/// message above already contains it).
pub fn one_line(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
