//! The plugins in a directory: which loaded, which were refused and why, and
//! the order they apply in.
//!
//! A bad file never stops the others: it becomes a [`Refusal`] and the rest
//! go on. What needs all plugins at once is decided here: two files claiming
//! one name, dependencies that are missing or form a cycle, and the
//! dependency order.

use crate::plugins::discover::{self, DiscoverError};
use crate::plugins::load::{self, LoadError, Plugin};
use crate::plugins::lockfile::{self, LockFile};
use crate::plugins::manifest::Manifest;
use crate::plugins::trust::{self, TrustError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A plugin the database records as installed (its file may be gone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledPlugin {
    /// Its name.
    pub name: String,
    /// The version last applied.
    pub version: String,
    /// The plugins it depends on.
    pub depends_on: Vec<String>,
    /// The digest of the checks its last run's verdict came from
    /// ([`crate::checks::digest`]), when that run had one.
    #[serde(skip)]
    pub checked_digest: Option<String>,
}

/// A plugin file the host will not use, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    /// The file.
    pub file: PathBuf,
    /// The plugin's name, when it got far enough to say it.
    pub plugin: Option<String>,
    /// One line saying what is wrong and what to do.
    pub reason: String,
}

impl Refusal {
    /// The plugin's name, or its file's when it did not get to say it.
    pub fn name(&self) -> String {
        self.plugin.clone().unwrap_or_else(|| crate::plugins::discover::file_name(&self.file))
    }
}

/// The result of scanning a plugins directory.
#[derive(Debug, Default)]
pub struct Inventory {
    /// The directory scanned.
    pub dir: PathBuf,
    /// Usable plugins, dependencies before dependents.
    pub plugins: Vec<Plugin>,
    /// Files refused, in file order.
    pub refused: Vec<Refusal>,
    /// Which plugin the database records as the owner of each name (empty
    /// when no database was consulted).
    pub recorded_owners: BTreeMap<String, String>,
    /// The plugins the database records as installed (empty when no
    /// database was consulted).
    pub installed: Vec<InstalledPlugin>,
    /// Who owns each known table, built on first use (see [`Inventory::owners`]).
    owner_index: OnceLock<Arc<BTreeMap<String, String>>>,
}

impl Inventory {
    /// Loads every plugin file in `dir` and sorts out which can be used.
    pub fn scan(dir: &Path) -> Result<Inventory, DiscoverError> {
        Inventory::scan_pinned(dir, None)
    }

    /// Like [`Inventory::scan`], and when `lock` is given, refuses before
    /// loading every file it does not pin with the same content, and
    /// reports pinned files that are missing.
    pub fn scan_pinned(dir: &Path, lock: Option<&LockFile>) -> Result<Inventory, DiscoverError> {
        trust::check_directory(dir).map_err(|e| match e {
            TrustError::Unreadable { .. } => DiscoverError::Missing(dir.to_owned()),
            other => DiscoverError::Untrusted(other),
        })?;
        let files = discover::plugin_files(dir)?;
        let (loaded, mut refused) = load_files(&files, lock);
        if let Some(lock) = lock {
            for pin in lock
                .plugins
                .iter()
                .filter(|p| !files.iter().any(|f| f.file_name().is_some_and(|n| n == p.file.as_str())))
            {
                refused.push(Refusal {
                    file: dir.join(&pin.file),
                    plugin: Some(pin.plugin.clone()),
                    reason: format!(
                        "pinned in plugins.lock ('{}' {}) but missing from the plugins directory; restore it, or run `shopdb-host lock` to unpin it",
                        pin.plugin, pin.version
                    ),
                });
            }
        }
        Ok(Inventory::sorted(dir.to_owned(), loaded, refused))
    }

    /// An inventory of plugins loaded by other means (synthetic ones in the
    /// benchmarks, for one), checked and ordered as [`Inventory::scan`] does.
    pub fn from_plugins(dir: PathBuf, plugins: Vec<Plugin>) -> Inventory {
        Inventory::sorted(dir, plugins, Vec::new())
    }

    /// `plugins` and the files already `refused` (by the loader, by the
    /// pins), with duplicates, missing dependencies and cycles refused and
    /// the rest in dependency order. A plugin whose dependency's file was
    /// refused knows it was refused, and why.
    fn sorted(dir: PathBuf, plugins: Vec<Plugin>, refused: Vec<Refusal>) -> Inventory {
        let mut inventory = Inventory { dir, plugins, refused, ..Inventory::default() };
        inventory.refuse_duplicates();
        inventory.refuse_missing_dependencies();
        inventory.order_by_dependencies();
        inventory
    }

    /// Refuses plugins whose tables are already someone else's: a core
    /// table, a table the database records as another plugin's (whether or
    /// not that plugin's file is still here), or a table another plugin in
    /// the directory claims too (then both are refused, unless the database
    /// records one of them as the owner).
    pub fn refuse_ownership_conflicts(&mut self, recorded: BTreeMap<String, String>) {
        self.recorded_owners = recorded;
        self.owner_index = OnceLock::new();
        let mut claims: BTreeMap<String, Vec<(String, PathBuf)>> = BTreeMap::new();
        for plugin in &self.plugins {
            for table in &plugin.manifest.tables {
                claims.entry(table.clone()).or_default().push((plugin.manifest.name.clone(), plugin.file.clone()));
            }
        }
        let present = self.names();
        let recorded = self.recorded_owners.clone();
        self.refuse_where(|plugin, _| {
            let name = &plugin.manifest.name;
            plugin.manifest.tables.iter().find_map(|table| {
                if crate::core_schema::tables().contains(table) || crate::core_schema::is_bookkeeping(table) {
                    return Some(format!(
                        "plugin '{name}' claims table `{table}`, which is a core table: rename the table"
                    ));
                }
                match recorded.get(table) {
                    Some(owner) if owner != name => {
                        let gone = if present.contains(owner) {
                            ""
                        } else {
                            " (its file is no longer in the plugins directory; `shopdb-host status` lists it)"
                        };
                        return Some(format!(
                            "plugin '{name}' claims table `{table}`, which belongs to plugin '{owner}'{gone}"
                        ));
                    }
                    Some(_) => return None,
                    None => {}
                }
                let claimants = &claims[table];
                (claimants.len() > 1).then(|| {
                    let list = claimants
                        .iter()
                        .map(|(plugin, file)| format!("'{plugin}' (`{}`)", file.display()))
                        .collect::<Vec<_>>()
                        .join(" and ");
                    format!("table `{table}` is claimed by more than one plugin: {list}; remove one of them")
                })
            })
        });
    }

    /// Who owns each known name (lowercase table, view, index or trigger
    /// → `core`, or a plugin name): the database's records, the core's
    /// objects, and the usable plugins' tables and what their DDL creates.
    /// Built once and shared by every plugin's policy.
    pub fn owners(&self) -> Arc<BTreeMap<String, String>> {
        Arc::clone(self.owner_index.get_or_init(|| {
            // A name two plugins' files both claim belongs to neither here:
            // the checks refuse both (see `check::Checker::check_plugins`).
            let mut claims: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
            for plugin in &self.plugins {
                let created = crate::schema::sqltext::objects_after([plugin.manifest.ddl.as_str()]);
                for name in created.into_keys().chain(plugin.manifest.tables.iter().cloned()) {
                    claims.entry(name).or_default().insert(&plugin.manifest.name);
                }
            }
            let mut owners: BTreeMap<String, String> = claims
                .into_iter()
                .filter_map(|(name, who)| match who.into_iter().collect::<Vec<_>>().as_slice() {
                    [only] => Some((name, (*only).to_owned())),
                    _ => None,
                })
                .collect();
            // What the database records wins over what a file says.
            owners.extend(self.recorded_owners.iter().map(|(name, owner)| (name.clone(), owner.clone())));
            for name in crate::core_schema::objects().keys() {
                owners.insert(name.clone(), crate::core_schema::OWNER.into());
            }
            Arc::new(owners)
        }))
    }

    /// The tables that may reference `plugin`'s by foreign key: its own,
    /// and those of every plugin (in the directory or recorded as installed)
    /// that depends on it.
    pub fn referencing_tables(&self, plugin: &str) -> Vec<String> {
        let mut tables: BTreeSet<String> = BTreeSet::new();
        let mut dependents: BTreeSet<&str> = BTreeSet::from([plugin]);
        for other in &self.plugins {
            if other.manifest.name == plugin || other.manifest.depends_on.iter().any(|d| d == plugin) {
                tables.extend(other.manifest.tables.iter().cloned());
                dependents.insert(&other.manifest.name);
            }
        }
        for installed in self.installed.iter().filter(|i| i.depends_on.iter().any(|d| d == plugin)) {
            dependents.insert(&installed.name);
        }
        for (table, owner) in &self.recorded_owners {
            if dependents.contains(owner.as_str()) {
                tables.insert(table.clone());
            }
        }
        tables.into_iter().collect()
    }

    /// The usable plugin called `name`.
    pub fn find(&self, name: &str) -> Option<&Plugin> {
        self.plugins.iter().find(|p| p.manifest.name == name)
    }

    /// Every plugin name the directory holds, usable or refused.
    pub fn names(&self) -> BTreeSet<String> {
        self.plugins
            .iter()
            .map(|p| p.manifest.name.clone())
            .chain(self.refused.iter().filter_map(|r| r.plugin.clone()))
            .collect()
    }

    /// Moves plugins for which `reason` returns a message to the refusals.
    pub fn refuse_where(&mut self, mut reason: impl FnMut(&Plugin, &[Plugin]) -> Option<String>) {
        self.owner_index = OnceLock::new();
        let verdicts: Vec<Option<String>> = self.plugins.iter().map(|p| reason(p, &self.plugins)).collect();
        let mut kept = Vec::with_capacity(self.plugins.len());
        for (plugin, verdict) in std::mem::take(&mut self.plugins).into_iter().zip(verdicts) {
            match verdict {
                Some(reason) => self.refused.push(Refusal {
                    file: plugin.file.clone(),
                    plugin: Some(plugin.manifest.name.clone()),
                    reason,
                }),
                None => kept.push(plugin),
            }
        }
        self.plugins = kept;
    }

    fn refuse_duplicates(&mut self) {
        let mut files: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
        for plugin in &self.plugins {
            files.entry(plugin.manifest.name.clone()).or_default().push(plugin.file.clone());
        }
        self.refuse_where(|plugin, _| {
            let same = &files[&plugin.manifest.name];
            (same.len() > 1).then(|| {
                let list = same.iter().map(|f| format!("`{}`", f.display())).collect::<Vec<_>>().join(" and ");
                format!(
                    "plugin '{}' is declared by more than one file ({list}): remove all but one",
                    plugin.manifest.name
                )
            })
        });
    }

    /// Refuses plugins whose dependencies are not in the directory at all; a
    /// dependency that is present but refused blocks instead (see
    /// [`Inventory::blocked_by`]). Repeats until nothing changes, so a
    /// refusal propagates to dependents.
    fn refuse_missing_dependencies(&mut self) {
        let refused_names = self.refused_names();
        let dir = self.dir.clone();
        self.refuse_where(|plugin, plugins| {
            let missing: Vec<&String> = plugin
                .manifest
                .depends_on
                .iter()
                .filter(|d| !plugins.iter().any(|p| &p.manifest.name == *d) && !refused_names.contains(*d))
                .collect();
            (!missing.is_empty()).then(|| {
                let names = missing.iter().map(|d| format!("'{d}'")).collect::<Vec<_>>().join(", ");
                format!(
                    "plugin '{}' depends on {names}, which is not installed: add its plugin file to `{}`",
                    plugin.manifest.name,
                    dir.display()
                )
            })
        });
    }

    /// Sorts plugins so that dependencies come first (ties by name) and
    /// refuses those caught in a dependency cycle, naming the cycle.
    fn order_by_dependencies(&mut self) {
        let mut remaining: BTreeMap<String, Plugin> =
            std::mem::take(&mut self.plugins).into_iter().map(|p| (p.manifest.name.clone(), p)).collect();
        let mut ordered = Vec::with_capacity(remaining.len());
        loop {
            let ready: Vec<String> = remaining
                .values()
                .filter(|p| p.manifest.depends_on.iter().all(|d| !remaining.contains_key(d)))
                .map(|p| p.manifest.name.clone())
                .collect();
            if ready.is_empty() {
                break;
            }
            for name in ready {
                if let Some(plugin) = remaining.remove(&name) {
                    ordered.push(plugin);
                }
            }
        }
        for plugin in remaining.values() {
            let name = &plugin.manifest.name;
            let cycle = cycle_through(name, &remaining);
            let role = if cycle.ends_with(&format!("→ {name}")) { "is part of" } else { "depends on" };
            self.refused.push(Refusal {
                file: plugin.file.clone(),
                plugin: Some(name.clone()),
                reason: format!("plugin '{name}' {role} a dependency cycle: {cycle}; break the cycle in depends_on"),
            });
        }
        self.plugins = ordered;
    }

    /// The refused (or blocked) plugin that stops `plugin` from applying, if
    /// any of its dependencies is one.
    pub fn blocked_by(&self, plugin: &Plugin, unusable: &BTreeSet<String>) -> Option<String> {
        plugin.manifest.depends_on.iter().find(|d| unusable.contains(*d)).cloned()
    }

    /// Names of plugins in the directory that cannot be used.
    pub fn refused_names(&self) -> BTreeSet<String> {
        self.refused.iter().filter_map(|r| r.plugin.clone()).collect()
    }
}

/// `a → b → c → a`, following dependencies from `start` inside `plugins`.
fn cycle_through(start: &str, plugins: &BTreeMap<String, Plugin>) -> String {
    let mut path = vec![start.to_owned()];
    let mut current = start.to_owned();
    while let Some(next) =
        plugins.get(&current).and_then(|p| p.manifest.depends_on.iter().find(|d| plugins.contains_key(*d)))
    {
        if let Some(at) = path.iter().position(|p| p == next) {
            let mut cycle = path[at..].to_vec();
            cycle.push(next.clone());
            return cycle.join(" → ");
        }
        path.push(next.clone());
        current = next.clone();
    }
    path.join(" → ")
}

/// Checks, loads and describes each of `files` in turn: the plugins, and
/// the files refused (untrusted, not pinned as the lock says, not a plugin).
fn load_files(files: &[PathBuf], lock: Option<&LockFile>) -> (Vec<Plugin>, Vec<Refusal>) {
    let mut refused = Vec::new();
    let mut loaded = Vec::new();
    for file in files {
        let refuse = |reason: String| Refusal { file: file.clone(), plugin: None, reason };
        let opened = match trust::open(file) {
            Ok(opened) => opened,
            Err(e) => {
                refused.push(refuse(LoadError::Untrusted(e).to_string()));
                continue;
            }
        };
        if let Some(lock) = lock {
            let name = crate::plugins::discover::file_name(file);
            let verdict = opened.sha256().map(|sha| lockfile::verdict(lock, &name, &sha));
            match verdict {
                Ok(None) => {}
                Ok(Some(reason)) => {
                    refused.push(refuse(LoadError::NotPinned(reason).to_string()));
                    continue;
                }
                Err(e) => {
                    refused.push(refuse(LoadError::Untrusted(e).to_string()));
                    continue;
                }
            }
        }
        let started = std::time::Instant::now();
        match load::load_opened(opened) {
            Ok(plugin) => {
                tracing::debug!(
                    "{}: checked, loaded and described '{}' in {} µs",
                    file.display(),
                    plugin.manifest.name,
                    started.elapsed().as_micros()
                );
                loaded.push(plugin);
            }
            Err(error) => {
                tracing::debug!("{}: refused: {}", file.display(), error.reason);
                refused.push(Refusal { file: file.clone(), plugin: error.plugin, reason: error.reason.to_string() });
            }
        }
    }
    (loaded, refused)
}

/// Every plugin the given one depends on, directly or not, dependencies
/// first. Missing ones are skipped (they are refused elsewhere).
pub fn dependency_closure<'p>(manifest: &Manifest, plugins: &'p [Plugin]) -> Vec<&'p Plugin> {
    let mut ordered: Vec<&Plugin> = Vec::new();
    fn visit<'p>(name: &str, plugins: &'p [Plugin], ordered: &mut Vec<&'p Plugin>, path: &mut Vec<String>) {
        if path.iter().any(|p| p == name) || ordered.iter().any(|p| p.manifest.name == name) {
            return;
        }
        let Some(plugin) = plugins.iter().find(|p| p.manifest.name == name) else {
            return;
        };
        path.push(name.to_owned());
        for dependency in &plugin.manifest.depends_on {
            visit(dependency, plugins, ordered, path);
        }
        path.pop();
        ordered.push(plugin);
    }
    let mut path = vec![manifest.name.clone()];
    for dependency in &manifest.depends_on {
        visit(dependency, plugins, &mut ordered, &mut path);
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::tests::plugin;

    #[test]
    fn a_dependency_whose_file_was_refused_blocks_instead_of_missing() {
        let mut child = plugin("child", "CREATE TABLE child_items (id INTEGER PRIMARY KEY);");
        child.manifest.depends_on = vec!["parent".into()];
        let refused = Refusal { file: "libparent.so".into(), plugin: Some("parent".into()), reason: "broken".into() };
        let inventory = Inventory::sorted("plugins".into(), vec![child], vec![refused]);
        assert_eq!(inventory.plugins.len(), 1, "not refused as missing: {:?}", inventory.refused);
        let unusable = inventory.refused_names();
        assert_eq!(inventory.blocked_by(&inventory.plugins[0], &unusable).as_deref(), Some("parent"));
    }
}
