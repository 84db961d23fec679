//! The SQLite authorizer that keeps a plugin's SQL inside its own tables.
//!
//! Reading SQL to decide what it touches is a losing game (views, triggers,
//! `WITH`, quoting); SQLite's authorizer is asked about every table, column,
//! pragma and transaction operation while a statement is prepared, whatever
//! the text looked like. The host installs one [`Guard`] per connection and
//! switches it to a plugin's [`Policy`] only while that plugin's SQL is
//! prepared, both in the scratch check and in the real run.
//!
//! A plugin may create, alter, drop, write, index and put triggers on the
//! tables it owns; it may read core tables and its dependencies' tables (data
//! migrations need that, and `REFERENCES` to them is not a read). Everything
//! else is denied: other plugins' tables, core tables' rows and structure,
//! the host's bookkeeping and history tables, `ATTACH`/`DETACH`, `PRAGMA`,
//! transaction control, temporary objects and virtual tables.

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::Connection;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// What one plugin's SQL may touch.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// The plugin whose SQL is being prepared.
    pub plugin: String,
    /// Tables (and views) it owns: lowercase.
    pub owned: BTreeSet<String>,
    /// Tables it may read besides its own (core and dependencies): lowercase.
    pub readable: BTreeSet<String>,
    /// Who owns the other known tables, to name them in refusals: lowercase
    /// table → owner ("core", a plugin name, or "the host").
    pub owners: BTreeMap<String, String>,
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

#[derive(Debug, Default)]
struct State {
    policy: Option<Arc<Policy>>,
    first_denial: Option<Denial>,
}

/// A connection's authorizer, switched between "the host's own SQL" (all
/// allowed) and "a plugin's SQL" (its [`Policy`]).
#[derive(Debug, Clone, Default)]
pub struct Guard {
    state: Arc<Mutex<State>>,
}

impl Guard {
    /// Installs the guard on `conn`, initially allowing everything.
    pub fn install(conn: &mut Connection) -> rusqlite::Result<Guard> {
        let guard = Guard::default();
        let state = Arc::clone(&guard.state);
        conn.authorizer(Some(move |context: AuthContext<'_>| {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(policy) = state.policy.clone() else {
                return Authorization::Allow;
            };
            match decide(&policy, &context) {
                Ok(()) => Authorization::Allow,
                Err(denial) => {
                    state.first_denial.get_or_insert(denial);
                    Authorization::Deny
                }
            }
        }))?;
        Ok(guard)
    }

    /// Applies `policy` to every statement prepared until the returned scope
    /// ends; the first denial in that time is kept for [`Guard::take_denial`].
    pub fn restrict(&self, policy: Arc<Policy>) -> Restricted<'_> {
        let mut state = self.lock();
        state.policy = Some(policy);
        state.first_denial = None;
        Restricted { guard: self }
    }

    /// The first statement refused since the last [`Guard::restrict`], if any.
    pub fn take_denial(&self) -> Option<Denial> {
        self.lock().first_denial.take()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// While alive, the guard applies a plugin's policy; dropping it goes back to
/// allowing the host's own SQL.
#[derive(Debug)]
pub struct Restricted<'g> {
    guard: &'g Guard,
}

impl Drop for Restricted<'_> {
    fn drop(&mut self) {
        self.guard.lock().policy = None;
    }
}

/// SQLite's schema tables, written by SQLite itself while it runs DDL.
fn is_sqlite_internal(table: &str) -> bool {
    matches!(table, "sqlite_master" | "sqlite_schema" | "sqlite_sequence") || table.starts_with("sqlite_stat")
}

fn decide(policy: &Policy, context: &AuthContext<'_>) -> Result<(), Denial> {
    if let Some(db) = context.database_name {
        if db != "main" {
            return Err(Denial {
                action: format!("using schema `{db}`"),
                reason: "plugins work only in the main database (no temporary or attached schemas)".into(),
            });
        }
    }
    let deny = |action: String, reason: &str| Err(Denial { action, reason: reason.to_owned() });
    match context.action {
        AuthAction::Select | AuthAction::Recursive | AuthAction::Function { .. } => Ok(()),
        AuthAction::Read { table_name, .. } => policy.may_read(table_name, context.accessor),
        AuthAction::CreateTable { table_name } => policy.may_change(table_name, || format!("CREATE TABLE `{table_name}`")),
        AuthAction::AlterTable { table_name, .. } => policy.may_change(table_name, || format!("ALTER TABLE `{table_name}`")),
        AuthAction::DropTable { table_name } => policy.may_change(table_name, || format!("DROP TABLE `{table_name}`")),
        AuthAction::CreateView { view_name } => policy.may_change(view_name, || format!("CREATE VIEW `{view_name}`")),
        AuthAction::DropView { view_name } => policy.may_change(view_name, || format!("DROP VIEW `{view_name}`")),
        AuthAction::CreateIndex { index_name, table_name } => {
            policy.may_change(table_name, || format!("CREATE INDEX `{index_name}` ON `{table_name}`"))
        }
        AuthAction::DropIndex { index_name, table_name } => {
            policy.may_change(table_name, || format!("DROP INDEX `{index_name}` ON `{table_name}`"))
        }
        AuthAction::CreateTrigger { trigger_name, table_name } => {
            policy.may_change(table_name, || format!("CREATE TRIGGER `{trigger_name}` ON `{table_name}`"))
        }
        AuthAction::DropTrigger { trigger_name, table_name } => {
            policy.may_change(table_name, || format!("DROP TRIGGER `{trigger_name}` ON `{table_name}`"))
        }
        AuthAction::Analyze { table_name } => policy.may_change(table_name, || format!("ANALYZE `{table_name}`")),
        AuthAction::Reindex { .. } => Ok(()),
        AuthAction::Insert { table_name } => policy.may_write(table_name, context.accessor, || format!("INSERT INTO `{table_name}`")),
        AuthAction::Update { table_name, .. } => policy.may_write(table_name, context.accessor, || format!("UPDATE `{table_name}`")),
        AuthAction::Delete { table_name } => policy.may_write(table_name, context.accessor, || format!("DELETE FROM `{table_name}`")),
        AuthAction::Pragma { pragma_name, pragma_value } => deny(
            match pragma_value {
                Some(value) => format!("PRAGMA {pragma_name} = {value}"),
                None => format!("PRAGMA {pragma_name}"),
            },
            "plugins may not run PRAGMA statements (the host sets up the connection)",
        ),
        AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } => deny(
            "BEGIN/COMMIT/ROLLBACK/SAVEPOINT".into(),
            "the host runs each plugin's migrations in one transaction; plugins may not control it",
        ),
        AuthAction::Attach { filename } => {
            deny(format!("ATTACH `{filename}`"), "plugins may not attach other database files")
        }
        AuthAction::Detach { database_name } => {
            deny(format!("DETACH `{database_name}`"), "plugins may not detach databases")
        }
        AuthAction::CreateVtable { table_name, module_name } | AuthAction::DropVtable { table_name, module_name } => deny(
            format!("virtual table `{table_name}` using {module_name}"),
            "plugins may not create or drop virtual tables",
        ),
        AuthAction::CreateTempTable { table_name } | AuthAction::DropTempTable { table_name } => {
            deny(format!("temporary table `{table_name}`"), "plugins may not use temporary objects")
        }
        AuthAction::CreateTempIndex { index_name, .. } | AuthAction::DropTempIndex { index_name, .. } => {
            deny(format!("temporary index `{index_name}`"), "plugins may not use temporary objects")
        }
        AuthAction::CreateTempTrigger { trigger_name, .. } | AuthAction::DropTempTrigger { trigger_name, .. } => {
            deny(format!("temporary trigger `{trigger_name}`"), "plugins may not use temporary objects")
        }
        AuthAction::CreateTempView { view_name } | AuthAction::DropTempView { view_name } => {
            deny(format!("temporary view `{view_name}`"), "plugins may not use temporary objects")
        }
        _ => deny("an operation SQLite could not name".into(), "unknown operations are refused"),
    }
}

impl Policy {
    fn owner_of(&self, table: &str) -> String {
        match self.owners.get(table) {
            Some(owner) if owner == "core" => "it is a core table".into(),
            Some(owner) if owner == "the host" => "it is the host's bookkeeping".into(),
            Some(owner) => format!("it belongs to plugin '{owner}'"),
            None => format!("plugin '{}' does not own it", self.plugin),
        }
    }

    fn may_change(&self, table: &str, action: impl FnOnce() -> String) -> Result<(), Denial> {
        let table = table.to_lowercase();
        if self.owned.contains(&table) {
            Ok(())
        } else {
            Err(Denial { action: action(), reason: self.owner_of(&table) })
        }
    }

    fn may_write(&self, table: &str, accessor: Option<&str>, action: impl FnOnce() -> String) -> Result<(), Denial> {
        let lower = table.to_lowercase();
        // SQLite writes its schema tables itself while running DDL that was
        // already authorized; a plugin cannot write them directly without
        // PRAGMA writable_schema, which is denied.
        if is_sqlite_internal(&lower) {
            return Ok(());
        }
        self.may_change(&lower, || via(action(), accessor))
    }

    fn may_read(&self, table: &str, accessor: Option<&str>) -> Result<(), Denial> {
        let table = table.to_lowercase();
        if self.owned.contains(&table) || self.readable.contains(&table) || is_sqlite_internal(&table) {
            Ok(())
        } else {
            let reason = format!("{}, and '{}' does not depend on it", self.owner_of(&table), self.plugin);
            Err(Denial { action: via(format!("reading `{table}`"), accessor), reason })
        }
    }
}

fn via(action: String, accessor: Option<&str>) -> String {
    match accessor {
        Some(object) => format!("{action} (in `{object}`)"),
        None => action,
    }
}
