//! Pinning: `plugins.lock` names every plugin file the operator approved,
//! with the plugin and version it declared and the SHA-256 of its content.
//!
//! When a lock file exists (or `--locked` demands one), a file whose hash is
//! not pinned, or differs from its pinned entry, is refused before it is
//! loaded: no code of it runs. A pinned file that is missing is reported.
//! `shopdb-host lock` writes the file after the operator has reviewed what
//! is in the directory; `lock --check` compares without writing.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The lock file's format version.
pub const LOCK_FORMAT: u32 = 1;

/// The content of `plugins.lock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockFile {
    /// Format version ([`LOCK_FORMAT`]).
    pub format: u32,
    /// One entry per approved plugin file.
    pub plugins: Vec<Pin>,
}

/// One approved plugin file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    /// The file's name inside the plugins directory.
    pub file: String,
    /// The plugin name it declared when pinned.
    pub plugin: String,
    /// The plugin version it declared when pinned.
    pub version: String,
    /// The SHA-256 of its content, lowercase hex.
    pub sha256: String,
}

/// Why the lock file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// `--locked` without a lock file.
    #[error("--locked was given but `{}` does not exist; review the plugins and run `shopdb-host lock` to create it", path.display())]
    Missing { path: PathBuf },
    /// Unreadable or not ours.
    #[error("failed to read lock file `{}`: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    /// Writing failed.
    #[error("failed to write lock file `{}`: {reason}", path.display())]
    Write { path: PathBuf, reason: String },
}

/// Where the lock file of `plugins_dir` lives: `plugins.lock` next to it.
pub fn default_path(plugins_dir: &Path) -> PathBuf {
    let parent = plugins_dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    parent.join("plugins.lock")
}

/// Reads the lock file at `path`: `None` when there is none (and none is
/// required).
pub fn read(path: &Path, required: bool) -> Result<Option<LockFile>, LockError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return if required { Err(LockError::Missing { path: path.to_owned() }) } else { Ok(None) };
        }
        Err(e) => return Err(LockError::Invalid { path: path.to_owned(), reason: e.to_string() }),
    };
    let lock: LockFile =
        serde_json::from_str(&text).map_err(|e| LockError::Invalid { path: path.to_owned(), reason: e.to_string() })?;
    if lock.format != LOCK_FORMAT {
        return Err(LockError::Invalid {
            path: path.to_owned(),
            reason: format!("format {} is not one this host reads ({LOCK_FORMAT})", lock.format),
        });
    }
    Ok(Some(lock))
}

/// Writes `lock` to `path` atomically (a temporary file renamed over it).
pub fn write(path: &Path, lock: &LockFile) -> Result<(), LockError> {
    let failed = |e: std::io::Error| LockError::Write { path: path.to_owned(), reason: e.to_string() };
    let mut text = serde_json::to_string_pretty(lock).map_err(|e| failed(std::io::Error::other(e)))?;
    text.push('\n');
    let temporary = path.with_extension("lock.tmp");
    std::fs::write(&temporary, text).map_err(failed)?;
    std::fs::rename(&temporary, path).map_err(failed)
}

impl LockFile {
    /// The entry for the file called `name`, if it is pinned.
    pub fn entry(&self, name: &str) -> Option<&Pin> {
        self.plugins.iter().find(|p| p.file == name)
    }
}

/// Why a file is refused by the lock file.
pub fn verdict(lock: &LockFile, file_name: &str, sha256: &str) -> Option<String> {
    match lock.entry(file_name) {
        None => Some(format!(
            "not pinned in plugins.lock (sha256 {sha256}); review it, then run `shopdb-host lock` to pin it"
        )),
        Some(pin) if pin.sha256 != sha256 => Some(format!(
            "changed since it was pinned: plugins.lock has sha256 {} ('{}' {}), the file now has {sha256}; \
             restore the pinned file, or review this one and run `shopdb-host lock`",
            pin.sha256, pin.plugin, pin.version
        )),
        Some(_) => None,
    }
}

/// What `lock` found or wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LockReport {
    /// The lock file.
    pub lock_file: PathBuf,
    /// The pins of the plugins now in the directory.
    pub plugins: Vec<Pin>,
    /// Files that could not be pinned (not trusted, not plugins).
    pub refused: Vec<crate::plugins::inventory::Refusal>,
    /// For `--check`: how the directory differs from the lock file.
    pub differences: Vec<String>,
    /// Whether the lock file was written.
    pub written: bool,
}

impl LockReport {
    /// Whether the directory and the lock file agree (always, after writing).
    pub fn agrees(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Why `lock` could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum LockCommandError {
    /// The plugins directory is unusable.
    #[error(transparent)]
    Discover(#[from] crate::plugins::discover::DiscoverError),
    /// The lock file is unusable.
    #[error(transparent)]
    Lock(#[from] LockError),
}

/// `shopdb-host lock [--check]`: pins what is in `plugins_dir` into the
/// lock file at `path`, or compares the two.
pub fn lock(plugins_dir: &Path, path: &Path, check: bool) -> Result<LockReport, LockCommandError> {
    let path = path.to_owned();
    // Pinning approves what is in the directory: the files are loaded (after
    // the ownership checks) to read the name and version they declare.
    let inventory = crate::plugins::inventory::Inventory::scan(plugins_dir)?;
    let mut pins = Vec::new();
    for plugin in &inventory.plugins {
        let Some(sha256) = plugin.sha256() else { continue };
        let file = crate::plugins::discover::file_name(&plugin.file);
        pins.push(Pin { file, plugin: plugin.manifest.name.clone(), version: plugin.manifest.version.clone(), sha256 });
    }
    pins.sort_by(|a, b| a.file.cmp(&b.file));
    let mut report = LockReport {
        lock_file: path.clone(),
        plugins: pins,
        refused: inventory.refused,
        differences: Vec::new(),
        written: false,
    };
    if check {
        let locked = read(&path, true)?.unwrap_or(LockFile { format: LOCK_FORMAT, plugins: Vec::new() });
        for pin in &report.plugins {
            if let Some(reason) = verdict(&locked, &pin.file, &pin.sha256) {
                report.differences.push(format!("{}: {reason}", pin.file));
            }
        }
        for pinned in locked.plugins.iter().filter(|p| !report.plugins.iter().any(|q| q.file == p.file)) {
            report.differences.push(format!(
                "{}: pinned ('{}' {}) but missing from the plugins directory",
                pinned.file, pinned.plugin, pinned.version
            ));
        }
        for refusal in &report.refused {
            report.differences.push(format!("{}: {}", refusal.file.display(), refusal.reason));
        }
    } else {
        write(&path, &LockFile { format: LOCK_FORMAT, plugins: report.plugins.clone() })?;
        report.written = true;
    }
    Ok(report)
}
