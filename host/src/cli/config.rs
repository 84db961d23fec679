//! Configuration from flags, the environment and `shopdb.toml`, in that
//! order of precedence, and where each effective value came from.
//!
//! clap already knows flags and environment variables, and whether a value
//! is only its default; this module fills the defaults from the
//! configuration file (`--config FILE`, env `SHOPDB_CONFIG`, or `shopdb.toml`
//! in the current directory when it exists). Relative paths in the file are
//! relative to the file.

use crate::cli::args::{Cli, Command, DatabaseArgs, PluginsArgs};
use crate::engine::DatabaseTarget;
use clap::parser::ValueSource;
use clap::ArgMatches;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file read when neither `--config` nor `SHOPDB_CONFIG` names one.
pub const DEFAULT_FILE: &str = "shopdb.toml";

/// What `shopdb.toml` may set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    /// The database: a SQLite file or a PostgreSQL URL.
    pub database: Option<String>,
    /// The plugins directory.
    pub plugins_dir: Option<PathBuf>,
    /// Seconds to wait for another writer.
    pub busy_timeout: Option<f64>,
    /// The lock file.
    pub lock_file: Option<PathBuf>,
    /// Require a lock file.
    pub locked: Option<bool>,
}

/// Why the configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Named but missing, or unreadable.
    #[error("failed to read configuration file `{}`: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    /// Not valid TOML, or an unknown setting.
    #[error("configuration file `{}` is invalid: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
}

/// One effective setting and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting {
    /// The setting's name (as in `shopdb.toml`).
    pub name: &'static str,
    /// Its effective value.
    pub value: String,
    /// `command line`, `environment (VAR)`, `<file>`, or `default`.
    pub source: String,
}

/// The effective configuration, as `shopdb-host config` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Effective {
    /// The configuration file read, if any.
    pub file: Option<PathBuf>,
    /// Every setting.
    pub settings: Vec<Setting>,
}

/// Reads the configuration file `cli` points at (or the default one, if it
/// exists), fills every argument still at its default from it, and returns
/// where each value came from.
pub fn apply(cli: &mut Cli, matches: &ArgMatches) -> Result<Effective, ConfigError> {
    let (file, settings) = read_file(cli.config.as_deref())?;
    let base = file.as_deref().and_then(Path::parent).map(Path::to_owned).unwrap_or_default();
    let relative = |p: &PathBuf| if p.is_absolute() { p.clone() } else { base.join(p) };
    let file_label = file.as_ref().map(|f| f.display().to_string()).unwrap_or_default();
    let sub = matches.subcommand().map(|(_, m)| m);
    let source = |id: &str, env: &str, from_file: bool| -> String {
        match sub.and_then(|m| m.value_source(id)) {
            Some(ValueSource::CommandLine) => "command line".into(),
            Some(ValueSource::EnvVariable) => format!("environment ({env})"),
            _ if from_file => file_label.clone(),
            _ => "default".into(),
        }
    };
    let is_default = |id: &str| {
        sub.is_none_or(|m| !matches!(m.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable)))
    };
    let mut effective = Effective { file: file.clone(), settings: Vec::new() };
    if let Some(plugins) = plugins_args(&mut cli.command) {
        let dir_from_file = is_default("plugins_dir") && settings.plugins_dir.is_some();
        if let (true, Some(dir)) = (dir_from_file, &settings.plugins_dir) {
            plugins.plugins_dir = relative(dir);
        }
        let lock_from_file = is_default("lock_file") && settings.lock_file.is_some();
        if let (true, Some(lock)) = (lock_from_file, &settings.lock_file) {
            plugins.lock_file = Some(relative(lock));
        }
        let locked_from_file = is_default("locked") && settings.locked.is_some();
        if locked_from_file {
            plugins.locked = settings.locked.unwrap_or(false);
        }
        effective.settings.push(Setting {
            name: "plugins_dir",
            value: plugins.plugins_dir.display().to_string(),
            source: source("plugins_dir", "SHOPDB_PLUGINS_DIR", dir_from_file),
        });
        effective.settings.push(Setting {
            name: "lock_file",
            value: plugins.lock_path().display().to_string(),
            source: source("lock_file", "SHOPDB_LOCK_FILE", lock_from_file),
        });
        effective.settings.push(Setting {
            name: "locked",
            value: plugins.locked.to_string(),
            source: source("locked", "", locked_from_file),
        });
    }
    if let Some(database) = database_args(&mut cli.command) {
        let db_from_file = is_default("database") && settings.database.is_some();
        if let (true, Some(value)) = (db_from_file, &settings.database) {
            let target = DatabaseTarget::parse(value).map_err(|e| ConfigError::Invalid {
                path: file.clone().unwrap_or_default(),
                reason: format!("database: {e}"),
            })?;
            database.database = target.relative_to(&base);
        }
        let timeout_from_file = is_default("busy_timeout") && settings.busy_timeout.is_some();
        if let (true, Some(seconds)) = (timeout_from_file, settings.busy_timeout) {
            database.busy_timeout = seconds;
        }
        effective.settings.push(Setting {
            name: "database",
            value: database.database.to_string(),
            source: source("database", "SHOPDB_DATABASE", db_from_file),
        });
        effective.settings.push(Setting {
            name: "busy_timeout",
            value: format!("{} s", database.busy_timeout),
            source: source("busy_timeout", "", timeout_from_file),
        });
    }
    Ok(effective)
}

fn read_file(named: Option<&Path>) -> Result<(Option<PathBuf>, FileSettings), ConfigError> {
    let path = match named {
        Some(path) => path.to_owned(),
        None if Path::new(DEFAULT_FILE).is_file() => PathBuf::from(DEFAULT_FILE),
        None => return Ok((None, FileSettings::default())),
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| ConfigError::Unreadable { path: path.clone(), reason: e.to_string() })?;
    let settings = toml::from_str(&text)
        .map_err(|e| ConfigError::Invalid { path: path.clone(), reason: e.message().to_owned() })?;
    Ok((Some(path), settings))
}

fn plugins_args(command: &mut Command) -> Option<&mut PluginsArgs> {
    match command {
        Command::List { plugins, .. }
        | Command::Check { plugins, .. }
        | Command::Status { plugins, .. }
        | Command::Migrate { plugins, .. }
        | Command::UpgradeAll { plugins, .. }
        | Command::Bootstrap { plugins, .. }
        | Command::Stamp { plugins, .. }
        | Command::Uninstall { plugins, .. }
        | Command::Lock { plugins, .. }
        | Command::Config { plugins, .. } => Some(plugins),
        _ => None,
    }
}

fn database_args(command: &mut Command) -> Option<&mut DatabaseArgs> {
    match command {
        Command::Check { database, .. }
        | Command::Status { database, .. }
        | Command::Migrate { database, .. }
        | Command::UpgradeAll { database, .. }
        | Command::Bootstrap { database, .. }
        | Command::Stamp { database, .. }
        | Command::Uninstall { database, .. }
        | Command::History { database, .. }
        | Command::Config { database, .. } => Some(database),
        _ => None,
    }
}
