//! What a plugin's SQL may touch: its [`Policy`], the engine-neutral rules
//! each engine enforces with its own mechanism (SQLite's authorizer; on
//! PostgreSQL, roles and privileges), and what the engine saw the SQL do.
//!
//! A plugin may create, alter, drop, write, index and put triggers on what
//! it owns (what it lists, and every name its chain ever created); it may
//! read core tables and its dependencies' tables (data migrations need
//! that, and `REFERENCES` to them is not a read). Everything else is
//! denied, with the owner named: other plugins' tables, core tables' rows
//! and structure, the host's bookkeeping and history tables.

use crate::schema::names::ObjectKind;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What one plugin's SQL may touch.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// The plugin whose SQL is being prepared.
    pub plugin: String,
    /// Tables (and views) it owns: lowercase.
    pub owned: BTreeSet<String>,
    /// Tables it may read besides its own (core and dependencies): lowercase.
    pub readable: BTreeSet<String>,
    /// The plugins it depends on (on PostgreSQL, whose schemas it may use).
    pub depends_on: Vec<String>,
    /// Who owns the other known tables, to name them in refusals: lowercase
    /// table → owner ("core" or a plugin name). Shared by every policy.
    pub owners: Arc<BTreeMap<String, String>>,
    /// Let the plugin use tables nobody owns as its own while its SQL runs:
    /// the working table of a rebuild (`CREATE TABLE t_new …; DROP TABLE t;
    /// ALTER TABLE t_new RENAME TO t`). A table that is still there at the
    /// end of the run and not in the manifest is refused afterwards (the
    /// manifest and left-behind checks), so nothing unlisted survives.
    pub may_use_unclaimed: bool,
}

/// Why the authorizer refused a statement: what was attempted and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The attempted action, e.g. "DROP TABLE `printers`".
    pub action: String,
    /// Why it is refused, e.g. "table belongs to plugin 'printers'".
    pub reason: String,
}

impl std::fmt::Display for Denial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.action, self.reason)
    }
}

/// What a plugin's SQL touched, as the engine saw it run. It tells the host
/// what to verify afterwards without scanning the whole schema: which views
/// and triggers to probe, which tables to check for foreign-key violations,
/// which names the chain creates, whether a migration did anything at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    /// Tables inserted into, updated or deleted from (lowercase).
    pub written: BTreeSet<String>,
    /// Tables and views dropped.
    pub dropped: BTreeSet<String>,
    /// Tables and views created.
    pub created: BTreeSet<String>,
    /// Views created.
    pub views: BTreeSet<String>,
    /// Tables (or views) that got a trigger.
    pub triggered: BTreeSet<String>,
    /// Every name created (tables, views, indexes, triggers), with its kind.
    pub named: BTreeMap<String, ObjectKind>,
    /// Whether anything but reading happened: a write, or any change to
    /// the schema (a migration that did nothing of the kind is a no-op).
    pub changed: bool,
    /// Whether the schema changed: something was created, altered or dropped.
    pub schema: bool,
}

impl Touched {
    /// Adds what `other` touched.
    pub fn absorb(&mut self, other: Touched) {
        self.written.extend(other.written);
        self.dropped.extend(other.dropped);
        self.created.extend(other.created);
        self.views.extend(other.views);
        self.triggered.extend(other.triggered);
        self.named.extend(other.named);
        self.changed |= other.changed;
        self.schema |= other.schema;
    }
}

impl Policy {
    pub(crate) fn owner_of(&self, table: &str) -> String {
        if crate::schema::names::is_bookkeeping(table) {
            return "it is the host's bookkeeping (history and ownership records)".into();
        }
        if let Some(why) = crate::schema::names::reserved_object_name(table) {
            return format!("the name is reserved: {why}");
        }
        match self.owners.get(table) {
            Some(owner) if owner == crate::core_schema::OWNER => "it is a core table".into(),
            Some(owner) => format!("it belongs to plugin '{owner}'"),
            None => format!("plugin '{}' does not own it", self.plugin),
        }
    }

    /// Whether the plugin may treat `table` (lowercase) as its own: it
    /// lists it, or the database records it as the plugin's (a name its
    /// chain created once, such as a table a later migration dropped), or
    /// nobody owns it and the plugin may take new names.
    pub(crate) fn owns(&self, table: &str) -> bool {
        if self.claims(table) {
            return true;
        }
        self.may_use_unclaimed
            && !self.owners.contains_key(table)
            && crate::schema::names::reserved_object_name(table).is_none()
            && !table.starts_with("pragma_")
    }

    /// Whether `name` is the plugin's by its manifest or by the database's
    /// records (not merely a name no one has claimed).
    pub(crate) fn claims(&self, name: &str) -> bool {
        self.owned.contains(name) || self.owners.get(name).is_some_and(|owner| *owner == self.plugin)
    }

    /// Whether the plugin may give a new object (index, trigger, table,
    /// view) the name `name`: no one else's, nor a reserved one.
    pub(crate) fn may_name(&self, name: &str, action: impl FnOnce() -> String) -> Result<(), Denial> {
        let lower = name.to_lowercase();
        if lower.starts_with("sqlite_autoindex_") {
            // The index SQLite makes itself for a UNIQUE or PRIMARY KEY.
            return Ok(());
        }
        if let Some(why) = crate::schema::names::reserved_object_name(&lower) {
            return Err(Denial {
                action: action(),
                reason: format!("the name is reserved: {why}; choose another name"),
            });
        }
        match self.owners.get(&lower) {
            Some(owner) if *owner != self.plugin => {
                let whose = if owner == crate::core_schema::OWNER {
                    "the core schema's".to_owned()
                } else {
                    format!("plugin '{owner}''s")
                };
                Err(Denial {
                    action: action(),
                    reason: format!(
                        "`{lower}` is {whose}: every table, index, trigger and view name belongs to one owner; \
                         choose another name"
                    ),
                })
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn may_change(&self, table: &str, action: impl FnOnce() -> String) -> Result<(), Denial> {
        let table = table.to_lowercase();
        if self.owns(&table) {
            Ok(())
        } else {
            Err(Denial { action: action(), reason: self.owner_of(&table) })
        }
    }

    pub(crate) fn may_write(
        &self,
        table: &str,
        accessor: Option<&str>,
        action: impl FnOnce() -> String,
    ) -> Result<(), Denial> {
        self.may_change(table, || via(action(), accessor))
    }

    pub(crate) fn may_read(&self, table: &str, accessor: Option<&str>) -> Result<(), Denial> {
        let table = table.to_lowercase();
        if self.owns(&table) || self.readable.contains(&table) {
            Ok(())
        } else {
            let reason = format!("{}, and '{}' does not depend on it", self.owner_of(&table), self.plugin);
            Err(Denial { action: via(format!("reading `{table}`"), accessor), reason })
        }
    }
}

impl Policy {
    /// The refusal SQLite's own "already exists" error stands for when the
    /// name is another owner's: SQLite checks names before it asks the
    /// authorizer, so a plugin taking a name the core or another plugin
    /// uses meets this error first.
    pub fn name_taken(&self, sqlite_message: &str) -> Option<Denial> {
        let words: Vec<&str> = sqlite_message.split_whitespace().collect();
        let (kind, name) = match words.as_slice() {
            [kind, name, "already", "exists"] => (*kind, *name),
            ["there", "is", "already", _, kind, "named", name] => (*kind, *name),
            _ => return None,
        };
        let name = name.trim_matches(|c| c == '"' || c == '`').to_lowercase();
        let kind = kind.to_uppercase();
        self.may_name(&name, || format!("CREATE {kind} `{name}`")).err()
    }
}

fn via(action: String, accessor: Option<&str>) -> String {
    match accessor {
        Some(object) => format!("{action} (in `{object}`)"),
        None => action,
    }
}
