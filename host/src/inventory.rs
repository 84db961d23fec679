//! The plugins in a directory: which loaded, which were refused and why, and
//! the order they apply in.
//!
//! A bad file never stops the others: it becomes a [`Refusal`] and the rest
//! go on. What needs all plugins at once is decided here: two files claiming
//! one name, dependencies that are missing or form a cycle, and the
//! dependency order.

use crate::discover::{self, DiscoverError};
use crate::load::{self, Plugin};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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

/// The result of scanning a plugins directory.
#[derive(Debug, Default)]
pub struct Inventory {
    /// The directory scanned.
    pub dir: PathBuf,
    /// Usable plugins, dependencies before dependents.
    pub plugins: Vec<Plugin>,
    /// Files refused, in file order.
    pub refused: Vec<Refusal>,
    /// Which plugin the database records as each table's owner (empty when
    /// no database was consulted).
    pub recorded_owners: BTreeMap<String, String>,
}

impl Inventory {
    /// Loads every plugin file in `dir` and sorts out which can be used.
    pub fn scan(dir: &Path) -> Result<Inventory, DiscoverError> {
        let mut inventory = Inventory { dir: dir.to_owned(), ..Inventory::default() };
        let mut loaded = Vec::new();
        for file in discover::plugin_files(dir)? {
            match load::load(&file) {
                Ok(plugin) => loaded.push(plugin),
                Err(error) => inventory.refused.push(Refusal { file, plugin: None, reason: error.reason.to_string() }),
            }
        }
        inventory.plugins = loaded;
        inventory.refuse_duplicates();
        inventory.refuse_missing_dependencies();
        inventory.order_by_dependencies();
        Ok(inventory)
    }

    /// Refuses plugins whose tables are already someone else's: a core
    /// table, a table the database records as another plugin's (whether or
    /// not that plugin's file is still here), or a table another plugin in
    /// the directory claims too (then both are refused, unless the database
    /// records one of them as the owner).
    pub fn refuse_ownership_conflicts(&mut self, recorded: BTreeMap<String, String>) {
        self.recorded_owners = recorded;
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
                if crate::core::tables().contains(table) || crate::core::is_bookkeeping(table) {
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
        let refused_names: BTreeSet<String> = self.refused.iter().filter_map(|r| r.plugin.clone()).collect();
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
