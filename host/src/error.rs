//! The errors a command can end with before it produces a report, and the
//! exit code each one means.

use crate::db::DbError;
use crate::discover::DiscoverError;
use crate::migrate::RunError;

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
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Db(DbError::Busy { .. } | DbError::Full(_) | DbError::Sqlite { .. }) => {
                EXIT_FAILED
            }
            _ => EXIT_USAGE,
        }
    }
}
