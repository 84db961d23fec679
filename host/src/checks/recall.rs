//! Verdicts remembered across databases: the checks of a plugin file give
//! the same answer on every database of the same engine, so a site's second
//! database (or a test's hundredth) need not run its SQL in scratch
//! databases again.
//!
//! What a plugin's scratch checks learn (the schema its DDL builds; the
//! names and schema its chain builds) is a function of its [`super::digest`]
//! (its SQL, its dependencies', the host's version and core chain), of the
//! host's checks (this build's [`BUILD_ID`]) and of the engine's version
//! (the SQLite library's, the PostgreSQL server's). A run that reached both
//! halves in scratch databases writes them to the cache under a key of all
//! three; a later run with the same key takes them from there and reaches
//! its verdict through the same [`super::verdict`] function (the agreement
//! of chain and DDL, the names shared with other plugins and with the
//! database's records are judged again every time). Only passed halves are
//! remembered: a refusal is always reached, and worded, afresh.
//!
//! The cache also remembers the SHA-256 of each plugin file it saw, which
//! the audit record names: keyed by the file's [`trust::FileStamp`], so
//! that an unchanged file is not read again (a plugin file is mostly the
//! standard library: hashing six of them costs a fresh run more than a
//! millisecond). A file changed since, or too recently, is read.
//!
//! The cache lives in `$XDG_CACHE_HOME/shopdb-host/verdicts` (or
//! `~/.cache/…`), a directory trusted as the plugins directory is (owned by
//! root or the user, writable by nobody else): whoever could write there
//! could also change the plugins. A cache that cannot be used is skipped
//! with a warning, never a reason to fail a run.

use super::digest::Fields;
use super::ChainChecked;
use crate::plugins::trust::{self, FileStamp, TrustError, TrustedFile};
use crate::schema::names::ChainNames;
use crate::schema::Schema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// This build of the host's checks (a hash of its source, see `build.rs`).
pub const BUILD_ID: &str = env!("SHOPDB_BUILD_ID");

/// The format of a cache entry.
const FORMAT: u32 = 1;

/// How long after its last change a plugin file's digest may be
/// remembered: longer than any file system clock's tick (see
/// [`trust::FileStamp`]).
const SETTLED: Duration = Duration::from_secs(2);

/// The halves of a plugin's checks, as the scratch databases gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Halves {
    /// The schema its DDL builds.
    pub ddl: Schema,
    /// What its chain did.
    pub chain: ChainChecked,
}

/// One cache file.
#[derive(Serialize, Deserialize)]
struct Entry {
    format: u32,
    plugin: String,
    digest: String,
    ddl: Schema,
    chain_names: ChainNames,
    chain_schema: Schema,
}

/// One cache file for a plugin file's digest.
#[derive(Serialize, Deserialize)]
struct FileEntry {
    format: u32,
    stamp: FileStamp,
    sha256: String,
}

/// The verdict cache of one command: where it is, which engine it serves,
/// and what was read from it already.
#[derive(Debug)]
pub struct VerdictCache {
    dir: PathBuf,
    /// The engine and its version, as [`crate::engine::Engine::engine_version`] says.
    engine: String,
    /// Whether remembered halves may be used (`--recheck`: only written).
    recall: bool,
    read: Mutex<BTreeMap<String, Option<Arc<Halves>>>>,
    /// A file's digest is remembered once it has not changed for this long.
    settled: Duration,
}

impl VerdictCache {
    /// The default directory: `$XDG_CACHE_HOME/shopdb-host/verdicts`, or
    /// `$HOME/.cache/shopdb-host/verdicts`; none without either.
    pub fn default_dir() -> Option<PathBuf> {
        let from = |var: &str| std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from);
        let base = from("XDG_CACHE_HOME").or_else(|| from("HOME").map(|home| home.join(".cache")))?;
        Some(base.join("shopdb-host").join("verdicts"))
    }

    /// The cache in `dir` (made, mode 0700, when missing) for `engine`;
    /// `None`, with a warning, when the directory cannot be made or is not
    /// trusted. `recall`: whether remembered halves may be used.
    pub fn open(dir: &Path, engine: &str, recall: bool) -> Option<VerdictCache> {
        let made = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir);
        let usable =
            made.map_err(|e| e.to_string()).and_then(|()| trust::check_directory(dir).map_err(|e| e.to_string()));
        if let Err(reason) = usable {
            tracing::warn!("not using the verdict cache `{}`: {reason}", dir.display());
            return None;
        }
        Some(VerdictCache {
            dir: dir.to_owned(),
            engine: engine.to_owned(),
            recall,
            read: Mutex::default(),
            settled: SETTLED,
        })
    }

    /// The file holding the halves of a plugin with `digest`.
    fn path(&self, digest: &str) -> PathBuf {
        let key = Fields::hex_of(&["shopdb-host verdict cache", BUILD_ID, &self.engine, digest]);
        self.dir.join(format!("{key}.json"))
    }

    /// The halves remembered for `plugin` with `digest`, if any (each
    /// entry read once per command).
    pub fn recall(&self, plugin: &str, digest: &str) -> Option<Arc<Halves>> {
        if !self.recall || digest.is_empty() {
            return None;
        }
        let mut read = self.read.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        read.entry(digest.to_owned()).or_insert_with(|| self.read_entry(plugin, digest).map(Arc::new)).clone()
    }

    fn read_entry(&self, plugin: &str, digest: &str) -> Option<Halves> {
        let path = self.path(digest);
        let text = std::fs::read(&path).ok()?;
        match serde_json::from_slice::<Entry>(&text) {
            Ok(entry) if entry.format == FORMAT && entry.plugin == plugin && entry.digest == digest => Some(Halves {
                ddl: entry.ddl,
                chain: ChainChecked { names: entry.chain_names, schema: entry.chain_schema },
            }),
            // Another format, or damaged: checked again, and written anew.
            _ => {
                tracing::debug!("{plugin}: verdict cache entry `{}` unusable; checking again", path.display());
                None
            }
        }
    }

    /// The SHA-256 of `file`: the one an earlier run read when the file
    /// had the same stamp, or read now (and remembered once the file has
    /// settled). `--recheck` reads every file again.
    pub fn file_sha256(&self, file: &TrustedFile) -> Result<String, TrustError> {
        if let Some(known) = file.known_sha256() {
            return known;
        }
        let Some(stamp) = file.stamp(self.settled) else {
            return file.sha256();
        };
        let path = self.dir.join(format!("file-{:x}-{:x}.json", stamp.device, stamp.inode));
        let remembered = std::fs::read(&path).ok().and_then(|text| serde_json::from_slice::<FileEntry>(&text).ok());
        match remembered {
            Some(entry)
                if self.recall && entry.format == FORMAT && entry.stamp == stamp && is_sha256(&entry.sha256) =>
            {
                file.assume_sha256(entry.sha256);
                file.sha256()
            }
            _ => {
                let sha256 = file.sha256()?;
                let entry = FileEntry { format: FORMAT, stamp, sha256: sha256.clone() };
                if let Err(e) = write_atomically(&path, &entry) {
                    tracing::debug!(
                        "the digest of `{}` not remembered in `{}`: {e}",
                        file.path.display(),
                        path.display()
                    );
                }
                Ok(sha256)
            }
        }
    }

    /// Remembers the halves `plugin` with `digest` passed in scratch
    /// databases. Best effort: a cache that cannot be written costs the
    /// next run its checks, nothing else.
    pub fn remember(&self, plugin: &str, digest: &str, ddl: &Schema, chain: &ChainChecked) {
        if digest.is_empty() {
            return;
        }
        let entry = Entry {
            format: FORMAT,
            plugin: plugin.to_owned(),
            digest: digest.to_owned(),
            ddl: ddl.clone(),
            chain_names: chain.names.clone(),
            chain_schema: chain.schema.clone(),
        };
        let path = self.path(digest);
        if let Err(e) = write_atomically(&path, &entry) {
            tracing::debug!("{plugin}: verdict not remembered in `{}`: {e}", path.display());
        }
    }
}

/// Writes `entry` to a temporary file beside `path` and renames it over
/// `path`: a reader sees a whole entry or none.
fn write_atomically(path: &Path, entry: &impl Serialize) -> std::io::Result<()> {
    let text = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
    let temporary = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temporary)?;
    let written = file.write_all(&text).and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// Whether `text` is a SHA-256 as the host writes it (lowercase hex).
fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

static INSTALLED: OnceLock<Arc<VerdictCache>> = OnceLock::new();

/// Makes `cache` the verdict cache of every check of this process (the
/// command line does this for the commands that apply migrations).
pub fn install(cache: VerdictCache) {
    let _ = INSTALLED.set(Arc::new(cache));
}

/// The verdict cache of this process, if one was installed.
pub fn installed() -> Option<Arc<VerdictCache>> {
    INSTALLED.get().cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn halves() -> (Schema, ChainChecked) {
        let mut ddl = Schema::default();
        ddl.views.insert("gizmo_labels".into(), "CREATE VIEW gizmo_labels AS SELECT 1".into());
        let chain = ChainChecked { names: ChainNames::default(), schema: ddl.clone() };
        (ddl, chain)
    }

    fn private_dir() -> tempfile::TempDir {
        tempfile::Builder::new().prefix("shopdb-recall-").tempdir().expect("a temporary directory")
    }

    #[test]
    fn halves_are_recalled_for_the_same_plugin_digest_and_engine_only() {
        let dir = private_dir();
        let (ddl, chain) = halves();
        let writer = VerdictCache::open(dir.path(), "sqlite 3.46.0", true).expect("a private directory is used");
        writer.remember("gizmos", "digest-1", &ddl, &chain);

        let same = VerdictCache::open(dir.path(), "sqlite 3.46.0", true).unwrap();
        let recalled = same.recall("gizmos", "digest-1").expect("remembered");
        assert_eq!(*recalled, Halves { ddl: ddl.clone(), chain: chain.clone() });
        assert!(same.recall("gizmos", "digest-2").is_none(), "another digest: other SQL");

        let other_engine = VerdictCache::open(dir.path(), "sqlite 3.47.0", true).unwrap();
        assert!(other_engine.recall("gizmos", "digest-1").is_none(), "another engine version checks again");
        let rechecking = VerdictCache::open(dir.path(), "sqlite 3.46.0", false).unwrap();
        assert!(rechecking.recall("gizmos", "digest-1").is_none(), "--recheck recalls nothing");
        assert!(same.recall("gizmos", "").is_none(), "no digest, no recall");
    }

    #[test]
    fn an_entry_is_read_once_per_command_and_another_plugins_name_is_not_taken() {
        let dir = private_dir();
        let (ddl, chain) = halves();
        let cache = VerdictCache::open(dir.path(), "postgres 15.18", true).unwrap();
        assert!(cache.recall("gizmos", "d").is_none());
        cache.remember("gizmos", "d", &ddl, &chain);
        // This command looked before the entry existed: it checks, as it
        // did, rather than see the cache change under it.
        assert!(cache.recall("gizmos", "d").is_none());
        let next = VerdictCache::open(dir.path(), "postgres 15.18", true).unwrap();
        assert!(next.recall("gadgets", "d").is_none(), "an entry names its plugin");
        let entries = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(entries, 1, "no temporary file left behind");
    }

    #[test]
    fn a_directory_others_can_write_is_not_used() {
        use std::os::unix::fs::PermissionsExt;
        let dir = private_dir();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(VerdictCache::open(dir.path(), "sqlite 3.46.0", true).is_none());
    }

    /// A plugin file written with `content` (mode 0644), in `dir`.
    fn plugin_file(dir: &Path, content: &[u8]) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("libgizmos.so");
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        path
    }

    fn sha256_of(content: &[u8]) -> String {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(content))
    }

    /// The one remembered file digest in `cache_dir`, rewritten to `sha256`.
    fn tamper_with_the_remembered_digest(cache_dir: &Path, sha256: &str) {
        let entries: Vec<PathBuf> = std::fs::read_dir(cache_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("file-"))
            .collect();
        assert_eq!(entries.len(), 1, "one file digest remembered: {entries:?}");
        let mut entry: serde_json::Value = serde_json::from_slice(&std::fs::read(&entries[0]).unwrap()).unwrap();
        entry["sha256"] = sha256.into();
        std::fs::write(&entries[0], entry.to_string()).unwrap();
    }

    fn settled_cache(dir: &Path, recall: bool) -> VerdictCache {
        let mut cache = VerdictCache::open(dir, "sqlite 3.46.0", recall).unwrap();
        cache.settled = Duration::ZERO;
        cache
    }

    #[test]
    fn a_plugin_files_digest_is_remembered_until_its_content_may_have_changed() {
        let (cache_dir, files) = (private_dir(), private_dir());
        let path = plugin_file(files.path(), b"first");
        let first = trust::open(&path).unwrap();
        assert_eq!(settled_cache(cache_dir.path(), true).file_sha256(&first).unwrap(), sha256_of(b"first"));

        // What a later run takes for the same unchanged file is the
        // remembered digest, not the file's content read again.
        let planted = "ab".repeat(32);
        tamper_with_the_remembered_digest(cache_dir.path(), &planted);
        let again = trust::open(&path).unwrap();
        assert_eq!(settled_cache(cache_dir.path(), true).file_sha256(&again).unwrap(), planted);
        assert_eq!(again.sha256().unwrap(), planted, "the run's records name the same digest");

        // Rewritten in place with as many bytes and its modification time
        // set back: only the change time tells, and it does.
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&path, b"fixed").unwrap();
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(modified).unwrap();
        let rewritten = trust::open(&path).unwrap();
        assert_eq!(settled_cache(cache_dir.path(), true).file_sha256(&rewritten).unwrap(), sha256_of(b"fixed"));

        // `--recheck` reads the file whatever is remembered.
        tamper_with_the_remembered_digest(cache_dir.path(), &planted);
        let rechecked = trust::open(&path).unwrap();
        assert_eq!(settled_cache(cache_dir.path(), false).file_sha256(&rechecked).unwrap(), sha256_of(b"fixed"));
    }

    #[test]
    fn a_damaged_file_digest_is_not_taken() {
        let (cache_dir, files) = (private_dir(), private_dir());
        let path = plugin_file(files.path(), b"first");
        settled_cache(cache_dir.path(), true).file_sha256(&trust::open(&path).unwrap()).unwrap();
        tamper_with_the_remembered_digest(cache_dir.path(), "not a digest");
        let file = trust::open(&path).unwrap();
        assert_eq!(settled_cache(cache_dir.path(), true).file_sha256(&file).unwrap(), sha256_of(b"first"));
    }

    #[test]
    fn a_file_changed_just_now_is_read_and_not_remembered() {
        let (cache_dir, files) = (private_dir(), private_dir());
        let path = plugin_file(files.path(), b"first");
        let cache = VerdictCache::open(cache_dir.path(), "sqlite 3.46.0", true).unwrap();
        assert_eq!(cache.file_sha256(&trust::open(&path).unwrap()).unwrap(), sha256_of(b"first"));
        assert_eq!(
            std::fs::read_dir(cache_dir.path()).unwrap().count(),
            0,
            "a second write in the same tick would not show"
        );
    }
}
