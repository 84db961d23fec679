//! Deciding whether to trust a plugin file before it is loaded.
//!
//! Loading a shared library runs its code: initialisers run inside `dlopen`,
//! before any ABI check. So, as sudo and PAM do with their plugins, the host
//! decides before loading: the plugins directory and each file must be owned
//! by root or by the user running the host and writable by nobody else, and a
//! file must be a regular file (a symlink is followed only to a file, in a
//! directory, that passes the same checks). The checks are made on an opened
//! file descriptor, and that same descriptor is what gets loaded (through
//! `/proc/self/fd/N`), so the file cannot be swapped between check and load.
//! When the plugins are pinned ([`crate::plugins::lockfile`]), the descriptor's content is
//! hashed and compared before loading too.

use sha2::{Digest, Sha256};
use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A plugin file opened and found trustworthy; load it through
/// [`TrustedFile::load_path`], not through its name.
#[derive(Debug, Clone)]
pub struct TrustedFile {
    /// The path it was found under.
    pub path: PathBuf,
    handle: Arc<File>,
    /// The content's SHA-256, once computed.
    digest: Arc<std::sync::OnceLock<Result<String, TrustError>>>,
}

/// What the host knows changes with a file's content: the file (device
/// and inode: a file replaced by another, as an install does, is another
/// inode), its size and modification time, and its change time, which the
/// kernel sets on every write and no user can set back. A file changed
/// within the last tick of the file system's clock has no stamp
/// ([`TrustedFile::stamp`]'s `settled`): a second write in the same tick
/// would leave every field as it was, as git's index knows of "racily
/// clean" files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileStamp {
    /// The file system the file is on.
    pub device: u64,
    /// The file on it.
    pub inode: u64,
    /// Its length in bytes.
    pub size: u64,
    /// Its modification time: seconds and nanoseconds since the epoch.
    pub modified: (i64, i64),
    /// Its change time: seconds and nanoseconds since the epoch.
    pub changed: (i64, i64),
}

/// Why a file or directory is not trusted. Each says what to run to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// Someone else could change the code the host would run.
    #[error("`{}` is writable by {who} (mode {mode:o}): anyone in that set could change the code the host runs; fix with `chmod go-w {}`", path.display(), path.display())]
    Writable { path: PathBuf, mode: u32, who: &'static str },
    /// Owned by a user other than root or the one running the host.
    #[error("`{}` is owned by uid {uid}, neither root nor the user running shopdb-host (uid {euid}); fix with `chown root {}` (or `chown {euid} {}`)", path.display(), path.display(), path.display())]
    ForeignOwner { path: PathBuf, uid: u32, euid: u32 },
    /// A device, fifo, directory…
    #[error("`{}` is not a regular file", path.display())]
    NotRegular { path: PathBuf },
    /// It cannot be opened or examined.
    #[error("`{}` cannot be examined: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
}

fn euid() -> u32 {
    nix::unistd::Uid::effective().as_raw()
}

/// Checks the owner and mode of something the host will trust.
fn check_metadata(path: &Path, meta: &Metadata) -> Result<(), TrustError> {
    let euid = euid();
    if meta.uid() != 0 && meta.uid() != euid {
        return Err(TrustError::ForeignOwner { path: path.to_owned(), uid: meta.uid(), euid });
    }
    let mode = meta.permissions().mode() & 0o7777;
    let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
        (true, true) => Some("group and others"),
        (true, false) => Some("its group"),
        (false, true) => Some("others"),
        (false, false) => None,
    };
    match who {
        Some(who) => Err(TrustError::Writable { path: path.to_owned(), mode, who }),
        None => Ok(()),
    }
}

/// Checks a directory plugins are loaded from.
pub fn check_directory(dir: &Path) -> Result<(), TrustError> {
    let meta =
        std::fs::metadata(dir).map_err(|e| TrustError::Unreadable { path: dir.to_owned(), reason: e.to_string() })?;
    check_metadata(dir, &meta)
}

/// Opens `path` and checks the opened file (and, for a symlink, the
/// directory of its target).
pub fn open(path: &Path) -> Result<TrustedFile, TrustError> {
    let unreadable = |e: std::io::Error| TrustError::Unreadable { path: path.to_owned(), reason: e.to_string() };
    let file = File::open(path).map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    if !meta.is_file() {
        return Err(TrustError::NotRegular { path: path.to_owned() });
    }
    let is_link = std::fs::symlink_metadata(path).map(|m| m.file_type().is_symlink()).unwrap_or(false);
    if is_link {
        let target = std::fs::canonicalize(path).map_err(unreadable)?;
        check_metadata(&target, &meta)?;
        if let Some(dir) = target.parent() {
            check_directory(dir)?;
        }
    } else {
        check_metadata(path, &meta)?;
    }
    Ok(TrustedFile { path: path.to_owned(), handle: Arc::new(file), digest: Arc::default() })
}

impl TrustedFile {
    /// The open file, for reading headers before loading.
    pub fn file(&self) -> &File {
        &self.handle
    }

    /// The path to hand to the dynamic loader: the already-opened file
    /// itself on Linux, whatever the name now points to.
    pub fn load_path(&self) -> PathBuf {
        if cfg!(target_os = "linux") {
            use std::os::fd::AsRawFd;
            PathBuf::from(format!("/proc/self/fd/{}", self.handle.as_raw_fd()))
        } else {
            self.path.clone()
        }
    }

    /// Keeps the descriptor open for the rest of the process. The dynamic
    /// loader remembers a library by the name it was opened with
    /// (`/proc/self/fd/N`) and never unloads it; if the descriptor were
    /// closed and its number reused for another file, a later `dlopen` of
    /// the same name would return the first library.
    pub fn keep_open_for_the_process(&self) {
        std::mem::forget(Arc::clone(&self.handle));
    }

    /// The SHA-256 of the opened file's content, as lowercase hex.
    /// Computed once per opened file: several records of one run name it.
    pub fn sha256(&self) -> Result<String, TrustError> {
        // Whichever thread asks first reads the file; one that asks
        // meanwhile waits for its answer rather than reading it again.
        self.digest.get_or_init(|| self.read_sha256()).clone()
    }

    /// What changes whenever the opened file's content does, for
    /// remembering its digest across runs (the verdict cache does): `None`
    /// when the file cannot be examined, or changed less than `settled`
    /// ago (see [`FileStamp`]). Taken before the content is read, so that a
    /// write meanwhile leaves a stamp that no longer matches.
    pub fn stamp(&self, settled: std::time::Duration) -> Option<FileStamp> {
        let meta = self.handle.metadata().ok()?;
        let stamp = FileStamp {
            device: meta.dev(),
            inode: meta.ino(),
            size: meta.size(),
            modified: (meta.mtime(), meta.mtime_nsec()),
            changed: (meta.ctime(), meta.ctime_nsec()),
        };
        let (seconds, nanoseconds) = stamp.changed;
        let changed = std::time::UNIX_EPOCH
            + std::time::Duration::new(u64::try_from(seconds).ok()?, u32::try_from(nanoseconds).ok()?);
        let age = std::time::SystemTime::now().duration_since(changed).ok()?;
        (age >= settled).then_some(stamp)
    }

    /// The digest, if it was read (or assumed) already.
    pub fn known_sha256(&self) -> Option<Result<String, TrustError>> {
        self.digest.get().cloned()
    }

    /// Takes `sha256` as this file's digest without reading it: an earlier
    /// run read the file when it had the same [`FileStamp`]. No-op once the
    /// digest is known.
    pub fn assume_sha256(&self, sha256: String) {
        let _ = self.digest.set(Ok(sha256));
    }

    fn read_sha256(&self) -> Result<String, TrustError> {
        let unreadable = |e: std::io::Error| TrustError::Unreadable { path: self.path.clone(), reason: e.to_string() };
        // Read through a second descriptor on the same open file, from the
        // start, so that the first one's position is left alone.
        let mut reader = File::open(self.load_path()).map_err(unreadable)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            let n = reader.read(&mut buffer).map_err(unreadable)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with_mode(dir: &Path, mode: u32) -> PathBuf {
        let path = dir.join(format!("lib{mode:o}.so"));
        std::fs::write(&path, b"\x7fELF").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn files_others_can_write_are_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        assert!(open(&file_with_mode(dir.path(), 0o644)).is_ok());
        assert!(open(&file_with_mode(dir.path(), 0o755)).is_ok());
        for (mode, who) in [(0o664, "its group"), (0o646, "others"), (0o666, "group and others")] {
            match open(&file_with_mode(dir.path(), mode)) {
                Err(TrustError::Writable { who: found, .. }) => assert_eq!(found, who),
                other => panic!("mode {mode:o}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_refusal_says_how_to_fix_it() {
        let dir = tempfile::tempdir().unwrap();
        let error = open(&file_with_mode(dir.path(), 0o666)).unwrap_err().to_string();
        assert!(error.contains("chmod go-w"), "{error}");
    }

    #[test]
    fn the_hash_is_of_the_opened_file_even_after_the_name_moves_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("libx.so");
        std::fs::write(&path, b"first").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let opened = open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"second").unwrap();
        // sha256("first")
        assert_eq!(opened.sha256().unwrap(), "a7937b64b8caa58f03721bb6bacf5c78cb235febe0e70b1b84cd99541461a08e");
    }
}
