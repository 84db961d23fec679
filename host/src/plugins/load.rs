//! Loading one plugin library through the stable ABI.
//!
//! abi_stable checks the library's `plugin-api` version and the layout of
//! everything reachable from its root module before the host calls into it;
//! this module turns its errors into ones an operator can act on. Each file is
//! loaded with `lib_header_from_path` + `init_root_module`, never with
//! `RootModule::load_from_*`, which caches one library per root-module type
//! (abi_stable issue 92) and would hand every later file the first one's
//! plugin. Libraries are never unloaded: their code stays mapped for the
//! life of the process, as abi_stable requires.

use crate::plugins::manifest::{Manifest, ManifestError};
use crate::plugins::trust::{self, TrustError, TrustedFile};
use abi_stable::library::{lib_header_from_path, LibraryError, RootModule};
use abi_stable::std_types::RResult;
use plugin_api::PluginModuleRef;
use std::path::{Path, PathBuf};

/// A plugin file that loaded and described itself validly.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// Where it was loaded from.
    pub file: PathBuf,
    /// What it says it is.
    pub manifest: Manifest,
    /// The opened file its code was loaded from (`None` for plugins made
    /// in memory, as the benchmarks' synthetic ones).
    pub opened: Option<TrustedFile>,
}

impl Plugin {
    /// A plugin made in memory from a description, validated as a loaded
    /// one's is: for generated plugins (benchmarks) and tests.
    pub fn in_memory(
        file: impl Into<PathBuf>,
        description: &plugin_api::PluginDescription,
    ) -> Result<Plugin, ManifestError> {
        Ok(Plugin { file: file.into(), manifest: Manifest::try_from(description)?, opened: None })
    }

    /// The SHA-256 of the file the plugin was loaded from, for the audit
    /// record; `None` for plugins made in memory or unreadable files.
    pub fn sha256(&self) -> Option<String> {
        self.opened.as_ref().and_then(|o| o.sha256().ok())
    }
}

/// Why a file is not a usable plugin.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Its owner or mode lets someone else change it; it was not loaded.
    #[error("not loaded: {0}")]
    Untrusted(TrustError),
    /// `plugins.lock` does not approve it; it was not loaded.
    #[error("not loaded: {0}")]
    NotPinned(String),
    /// Not a shared library, or one without our root module.
    #[error("not a shopdb plugin ({0})")]
    NotAPlugin(String),
    /// Built against a `plugin-api` this host cannot load.
    #[error("built against an incompatible plugin-api ({detail}); rebuild the plugin against plugin-api {host}")]
    AbiMismatch { detail: String, host: &'static str },
    /// The plugin's own code reported a failure.
    #[error("the plugin failed to describe itself: {0}")]
    Describe(String),
    /// The description is invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

/// A file that could not be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", file.display())]
pub struct FileError {
    /// The plugin file.
    pub file: PathBuf,
    /// What is wrong with it.
    #[source]
    pub reason: LoadError,
    /// The name the plugin gave itself, when it got that far and the name
    /// is one a plugin may have (so that `check --plugin NAME` finds the
    /// refusal, and a file calling itself `core` is not taken for the core).
    pub plugin: Option<String>,
}

/// Loads the plugin in `file` and validates its description.
pub fn load(file: &Path) -> Result<Plugin, FileError> {
    let opened = trust::open(file).map_err(|e| FileError {
        file: file.to_owned(),
        reason: LoadError::Untrusted(e),
        plugin: None,
    })?;
    load_opened(opened)
}

/// Loads a plugin from a file already opened and checked by [`trust`]: the
/// code loaded is that file's, whatever its name points to by now.
pub fn load_opened(opened: TrustedFile) -> Result<Plugin, FileError> {
    let file = opened.path.clone();
    let mut declared = None;
    match load_manifest(&opened, &mut declared) {
        Ok(manifest) => Ok(Plugin { file, manifest, opened: Some(opened) }),
        Err(reason) => Err(FileError { file, reason, plugin: declared }),
    }
}

/// Loads and describes the plugin; `declared` receives the name the
/// description gives, when it is a valid plugin name, even if the rest is
/// refused.
fn load_manifest(opened: &TrustedFile, declared: &mut Option<String>) -> Result<Manifest, LoadError> {
    // The dynamic loader trusts the file; a truncated library would crash the
    // process inside dlopen. Look first.
    if cfg!(target_os = "linux") {
        crate::plugins::elf::vet_file(opened.file()).map_err(|e| LoadError::NotAPlugin(e.to_string()))?;
    }
    // The loader's messages name the path it was given; name the file.
    let load_path = opened.load_path();
    let rename = |error: LoadError| match error {
        LoadError::NotAPlugin(text) => {
            LoadError::NotAPlugin(text.replace(&load_path.display().to_string(), &opened.path.display().to_string()))
        }
        other => other,
    };
    opened.keep_open_for_the_process();
    let header = lib_header_from_path(&load_path).map_err(|e| rename(explain(e, None)))?;
    let built_with = header.version_strings().to_string();
    let module = header.init_root_module::<PluginModuleRef>().map_err(|e| explain(e, Some(&built_with)))?;
    let describe = module.describe();
    match describe() {
        RResult::ROk(description) => {
            let name = description.name.as_str();
            if crate::plugins::manifest::check_plugin_name(name).is_ok() {
                *declared = Some(name.to_owned());
            }
            Ok(Manifest::try_from(&description)?)
        }
        RResult::RErr(message) => Err(LoadError::Describe(message.into_string())),
    }
}

/// Turns abi_stable's error into what an operator needs: what kind of file
/// this is, and for an ABI mismatch, both versions and what differs.
fn explain(error: LibraryError, built_with: Option<&str>) -> LoadError {
    let host = plugin_api::API_VERSION;
    match error {
        LibraryError::OpenError { err, .. } => {
            LoadError::NotAPlugin(format!("cannot be loaded as a shared library: {err}"))
        }
        LibraryError::GetSymbolError { .. } => LoadError::NotAPlugin(format!(
            "it is a shared library, but it does not export a {} root module",
            PluginModuleRef::NAME
        )),
        LibraryError::IncompatibleVersionNumber { expected_version, actual_version, .. } => LoadError::AbiMismatch {
            detail: format!("the plugin was built with plugin-api {actual_version}, this host has {expected_version}"),
            host,
        },
        LibraryError::InvalidAbiHeader(header) => LoadError::AbiMismatch {
            detail: format!(
                "the plugin was built with abi_stable ABI {}.{}, this host uses {}.{}",
                header.abi_major,
                header.abi_minor,
                abi_stable::library::AbiHeader::VALUE.abi_major,
                abi_stable::library::AbiHeader::VALUE.abi_minor,
            ),
            host,
        },
        LibraryError::AbiInstability(report) => {
            let built_with = built_with.unwrap_or("an unknown version");
            LoadError::AbiMismatch {
                detail: format!(
                    "the plugin was built with plugin-api {built_with}, this host has {host}, and their layouts differ: {}",
                    summarize_layout_report(&report.to_string())
                ),
                host,
            }
        }
        LibraryError::RootModule { err, .. } => LoadError::Describe(one_line(&err.to_string())),
        other => LoadError::NotAPlugin(one_line(&other.to_string())),
    }
}

/// abi_stable's layout report prints both layouts in full. Keep what
/// differs: for each `Error:` the type it is about and expected/found.
fn summarize_layout_report(report: &str) -> String {
    let lines: Vec<&str> = report.lines().map(str::trim).collect();
    let mut findings: Vec<String> = Vec::new();
    let mut current_type = "";
    for (i, line) in lines.iter().enumerate() {
        if *line == "Layout of expected type:" {
            if let Some(ty) = lines[i..].iter().find_map(|l| l.strip_prefix("type:")) {
                current_type = ty;
            }
        }
        if let Some(error) = line.strip_prefix("Error:") {
            let value_after = |label: &str| {
                lines[i..].iter().position(|l| *l == label).and_then(|p| lines.get(i + p + 1)).copied().unwrap_or("?")
            };
            let finding = format!(
                "{current_type}: {error} (expected {}, found {})",
                value_after("Expected:"),
                value_after("Found:")
            );
            if !findings.contains(&finding) {
                findings.push(finding);
            }
        }
    }
    if findings.is_empty() {
        one_line(report)
    } else {
        one_line(&findings.join("; "))
    }
}
/// abi_stable's layout reports run over many lines; keep the part that says
/// what differs, on one line.
fn one_line(text: &str) -> String {
    let mut line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.len() > 400 {
        let mut end = 400;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push('…');
    }
    line
}
