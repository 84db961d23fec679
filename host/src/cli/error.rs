//! The errors a command can end with before it produces a report, and the
//! exit code each one means.

use crate::checks::CheckError;
use crate::engine::DbError;
use crate::plugins::discover::DiscoverError;
use crate::runs::uninstall::UninstallError;
use crate::runs::RunError;

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
    Lock(#[from] crate::plugins::lockfile::LockError),
    /// `lock` could not pin or compare.
    #[error(transparent)]
    Pinning(#[from] crate::plugins::lockfile::LockCommandError),
    /// `history --plugin NAME` of a plugin the record never names.
    #[error(transparent)]
    NotOnRecord(#[from] crate::cli::commands::NotOnRecord),
    /// A new plugin crate could not be written.
    #[error(transparent)]
    Scaffold(#[from] crate::plugins::scaffold::ScaffoldError),
    /// Uninstall refused or failed.
    #[error(transparent)]
    Uninstall(#[from] UninstallError),
    /// The checks could not be run at all.
    #[error(transparent)]
    Check(#[from] CheckError),
}

/// What kind of ending an [`Error`] is, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The command was given something it cannot use (a path, a name, a
    /// version, a missing database): exit 2.
    Usage,
    /// The database failed while the command worked (busy, full, an
    /// engine error), or dropping failed and was rolled back: exit 1.
    Failed,
}

impl Error {
    /// What kind of ending this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Db(e) | Error::Run(RunError::Db(e)) | Error::Uninstall(UninstallError::Db(e)) if e.is_failure() => {
                ErrorKind::Failed
            }
            Error::Uninstall(UninstallError::Failed { .. }) | Error::Check(_) => ErrorKind::Failed,
            _ => ErrorKind::Usage,
        }
    }
}
