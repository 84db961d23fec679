//! Finding plugin files: every shared library in the plugins directory.
//!
//! Only the file name's suffix is looked at here; whether a file really is a
//! plugin is decided when it is loaded, and a file that is not refuses alone.

use std::io;
use std::path::{Path, PathBuf};

/// The platform's shared-library suffix (`.so`, `.dylib`, `.dll`).
pub const LIBRARY_SUFFIX: &str = std::env::consts::DLL_SUFFIX;

/// The last part of a plugin file's path, as pins, tables and refusals name
/// it (empty for a path without one).
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// Why the plugins directory could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// No such directory.
    #[error("plugins directory `{0}` does not exist: create it and copy plugin files (*{LIBRARY_SUFFIX}) into it, or point --plugins-dir (or SHOPDB_PLUGINS_DIR) at the right one")]
    Missing(PathBuf),
    /// The path is a file.
    #[error("plugins directory `{0}` is not a directory")]
    NotADirectory(PathBuf),
    /// The directory's owner or mode lets someone else add code to it.
    #[error("plugins directory not trusted: {0}")]
    Untrusted(crate::plugins::trust::TrustError),
    /// Listing failed.
    #[error("failed to list plugins directory `{path}`")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The shared-library files directly inside `dir`, sorted by name so that
/// every run sees them in the same order.
pub fn plugin_files(dir: &Path) -> Result<Vec<PathBuf>, DiscoverError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(DiscoverError::Missing(dir.to_owned())),
        Err(_) if dir.is_file() => return Err(DiscoverError::NotADirectory(dir.to_owned())),
        Err(source) => return Err(DiscoverError::Unreadable { path: dir.to_owned(), source }),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| DiscoverError::Unreadable { path: dir.to_owned(), source })?;
        let path = entry.path();
        let is_library = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(LIBRARY_SUFFIX));
        if is_library && !path.is_dir() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_library_files_are_found_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let s = LIBRARY_SUFFIX;
        for file in [format!("b{s}"), format!("a{s}"), "notes.txt".into(), format!("c{s}.bak")] {
            std::fs::write(dir.path().join(file), b"").unwrap();
        }
        std::fs::create_dir(dir.path().join(format!("d{LIBRARY_SUFFIX}"))).unwrap();
        let names: Vec<_> = plugin_files(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [format!("a{LIBRARY_SUFFIX}"), format!("b{LIBRARY_SUFFIX}")]);
    }

    #[test]
    fn a_missing_directory_says_how_to_fix_it() {
        let e = plugin_files(Path::new("/nonexistent/plugins")).unwrap_err();
        assert!(e.to_string().contains("--plugins-dir"), "{e}");
    }
}
