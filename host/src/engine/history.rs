//! Comparing what a database records of a chain with the chain itself.
//!
//! refinery refuses divergent history too, but only as it runs and with a
//! terse message; the host needs the answer before running (to report "up to
//! date" without touching anything, and for `status`) and in words that name
//! the version and both checksums.

use crate::engine::AppliedMigration;
use crate::plugins::manifest::ChainMigration;
use serde::Serialize;

/// Why a chain's recorded history does not fit the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum HistoryError {
    /// A recorded migration differs from the chain's at the same version.
    #[error(
        "the database records V{version}__{recorded_name} (checksum {recorded_checksum}), but the plugin's V{version} is \
         V{version}__{name} (checksum {checksum}): the migration was changed after it was applied; restore the original \
         migration and add a new one instead"
    )]
    Divergent { version: i32, recorded_name: String, recorded_checksum: u64, name: String, checksum: u64 },
    /// A recorded migration the chain no longer has.
    #[error(
        "the database records V{version}__{name}, which the plugin does not have: is this an older build of the plugin? \
         Install the build that has V{version} or later"
    )]
    Unknown { version: i32, name: String },
    /// A chain migration older than the newest recorded one but never applied.
    #[error(
        "the plugin's V{version}__{name} was never applied, but the database is already at V{at}: a migration was \
         inserted into the middle of the chain; give it a version after V{at}"
    )]
    Skipped { version: i32, name: String, at: i32 },
}

impl HistoryError {
    /// The history mismatch refinery found as it ran a chain, in the host's
    /// words; `None` for any other refinery error.
    pub fn from_refinery(error: &refinery::Error) -> Option<HistoryError> {
        use refinery::error::Kind;
        match error.kind() {
            Kind::DivergentVersion(applied, current) => Some(HistoryError::Divergent {
                version: current.version(),
                recorded_name: applied.name().to_owned(),
                recorded_checksum: applied.checksum(),
                name: current.name().to_owned(),
                checksum: current.checksum(),
            }),
            Kind::MissingVersion(applied) => {
                Some(HistoryError::Unknown { version: applied.version(), name: applied.name().to_owned() })
            }
            _ => None,
        }
    }
}

/// Where a chain stands in a database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainState {
    /// The newest applied version, if any.
    pub applied: Option<i32>,
    /// Migrations not yet applied, in order.
    pub pending: Vec<ChainMigration>,
}

/// Compares recorded history with the chain.
pub fn compare(recorded: &[AppliedMigration], chain: &[ChainMigration]) -> Result<ChainState, HistoryError> {
    for applied in recorded {
        match chain.iter().find(|m| m.version == applied.version) {
            None => return Err(HistoryError::Unknown { version: applied.version, name: applied.name.clone() }),
            Some(m) if m.name != applied.name || m.checksum() != applied.checksum => {
                return Err(HistoryError::Divergent {
                    version: applied.version,
                    recorded_name: applied.name.clone(),
                    recorded_checksum: applied.checksum,
                    name: m.name.clone(),
                    checksum: m.checksum(),
                })
            }
            Some(_) => {}
        }
    }
    let at = recorded.iter().map(|a| a.version).max();
    let mut pending = Vec::new();
    for migration in chain {
        if recorded.iter().any(|a| a.version == migration.version) {
            continue;
        }
        match at {
            Some(at) if migration.version < at => {
                return Err(HistoryError::Skipped { version: migration.version, name: migration.name.clone(), at })
            }
            _ => pending.push(migration.clone()),
        }
    }
    Ok(ChainState { applied: at, pending })
}
