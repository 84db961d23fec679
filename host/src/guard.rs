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

use crate::names::{self, ObjectKind};
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

#[derive(Debug, Default)]
struct State {
    policy: Option<Arc<Policy>>,
    first_denial: Option<Denial>,
    touched: Touched,
}

/// What a plugin's SQL touched while restricted, as SQLite prepared it.
/// It tells the host what to verify afterwards without scanning the whole
/// schema: which views and triggers to probe, which tables to check for
/// foreign-key violations, which new tables must be in the manifest.
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

    fn record(&mut self, action: &AuthAction<'_>) {
        let lower = |t: &str| t.to_lowercase();
        let reading = matches!(
            action,
            AuthAction::Select | AuthAction::Read { .. } | AuthAction::Function { .. } | AuthAction::Recursive
        );
        // SQLite's own schema tables are written by the DDL it records.
        let internal = matches!(
            *action,
            AuthAction::Insert { table_name } | AuthAction::Delete { table_name } | AuthAction::Update { table_name, .. }
                if is_sqlite_internal(&lower(table_name))
        );
        self.changed |= !reading && !internal;
        self.schema |= matches!(
            action,
            AuthAction::CreateTable { .. }
                | AuthAction::CreateView { .. }
                | AuthAction::CreateIndex { .. }
                | AuthAction::CreateTrigger { .. }
                | AuthAction::AlterTable { .. }
                | AuthAction::DropTable { .. }
                | AuthAction::DropView { .. }
                | AuthAction::DropIndex { .. }
                | AuthAction::DropTrigger { .. }
        );
        match *action {
            AuthAction::CreateTable { table_name } => {
                self.named.insert(lower(table_name), ObjectKind::Table);
            }
            AuthAction::CreateView { view_name } => {
                self.named.insert(lower(view_name), ObjectKind::View);
            }
            AuthAction::CreateIndex { index_name, .. } if !is_sqlite_internal(&lower(index_name)) => {
                self.named.insert(lower(index_name), ObjectKind::Index);
            }
            AuthAction::CreateTrigger { trigger_name, .. } => {
                self.named.insert(lower(trigger_name), ObjectKind::Trigger);
            }
            _ => {}
        }
        match *action {
            AuthAction::Insert { table_name }
            | AuthAction::Delete { table_name }
            | AuthAction::Update { table_name, .. }
                if !is_sqlite_internal(&lower(table_name)) =>
            {
                self.written.insert(lower(table_name));
            }
            AuthAction::DropTable { table_name } => {
                self.dropped.insert(lower(table_name));
            }
            AuthAction::DropView { view_name } => {
                self.dropped.insert(lower(view_name));
            }
            AuthAction::CreateTable { table_name } => {
                self.created.insert(lower(table_name));
            }
            AuthAction::CreateView { view_name } => {
                self.created.insert(lower(view_name));
                self.views.insert(lower(view_name));
            }
            AuthAction::CreateTrigger { table_name, .. } => {
                self.triggered.insert(lower(table_name));
            }
            _ => {}
        }
    }
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
                Ok(()) => {
                    state.touched.record(&context.action);
                    Authorization::Allow
                }
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

    /// What restricted SQL touched since the last call.
    pub fn take_touched(&self) -> Touched {
        std::mem::take(&mut self.lock().touched)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Checks what SQLite does not check when a view or trigger is created:
/// which tables its body reads. Each view the plugin created is prepared as
/// a `SELECT`, and each table that got a trigger as the writes that fire it
/// (prepared, never run), under the plugin's policy.
pub fn probe_bodies(
    conn: &Connection,
    guard: &Guard,
    policy: &Arc<Policy>,
    touched: &Touched,
) -> Result<(), ProbeError> {
    let quoted = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    let exists = |name: &str| crate::schema::object_exists(conn, name);
    let mut probes = Vec::new();
    for view in &touched.views {
        if exists(view)? {
            probes.push(format!("SELECT * FROM {}", quoted(view)));
        }
    }
    for table in &touched.triggered {
        if !exists(table)? {
            continue;
        }
        let mut columns = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
        let assignments: Vec<String> = columns
            .query_map([table], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .map(|c| format!("{0} = {0}", quoted(c)))
            .collect();
        probes.push(format!("INSERT INTO {} DEFAULT VALUES", quoted(table)));
        probes.push(format!("DELETE FROM {}", quoted(table)));
        if !assignments.is_empty() {
            probes.push(format!("UPDATE {} SET {}", quoted(table), assignments.join(", ")));
        }
    }
    let _restricted = guard.restrict(Arc::clone(policy));
    for probe in probes {
        // Only a denial matters: other errors (a view that cannot be
        // written) say nothing about what the body reads.
        if conn.prepare(&probe).is_err() {
            if let Some(denial) = guard.take_denial() {
                return Err(ProbeError::Denied(denial));
            }
        }
    }
    guard.take_touched();
    Ok(())
}

/// Why [`probe_bodies`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A view or trigger body touches what the plugin may not.
    #[error("{0}")]
    Denied(Denial),
    /// Reading the schema failed.
    #[error("failed to read the schema to check views and triggers")]
    Sqlite(#[from] rusqlite::Error),
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

/// SQLite's schema tables, written by SQLite itself while it runs DDL, and
/// the indexes it names itself for UNIQUE and PRIMARY KEY constraints.
fn is_sqlite_internal(table: &str) -> bool {
    matches!(table, "sqlite_master" | "sqlite_schema" | "sqlite_sequence" | "sqlite_temp_master" | "sqlite_temp_schema")
        || table.starts_with("sqlite_stat")
        || table.starts_with("sqlite_autoindex_")
}

/// What SQLite reads by itself while running DDL a plugin is allowed:
/// `ALTER TABLE … ADD COLUMN … CHECK (…)` verifies existing rows through
/// `pragma_quick_check`.
fn is_internal_read(table: &str) -> bool {
    is_sqlite_internal(table) || table == "pragma_quick_check"
}

fn decide(policy: &Policy, context: &AuthContext<'_>) -> Result<(), Denial> {
    if let Some(db) = context.database_name {
        // `ALTER TABLE … RENAME` looks through (and rewrites) the temp
        // schema's table of contents itself; that touches no plugin's data.
        let temp_schema_table = match context.action {
            AuthAction::Read { table_name, .. } | AuthAction::Update { table_name, .. } => {
                matches!(table_name, "sqlite_temp_master" | "sqlite_temp_schema")
            }
            _ => false,
        };
        if db != "main" && !temp_schema_table {
            return Err(Denial {
                action: format!("using schema `{db}`"),
                reason: "plugins work only in the main database (no temporary or attached schemas)".into(),
            });
        }
    }
    let deny = |action: String, reason: &str| Err(Denial { action, reason: reason.to_owned() });
    match context.action {
        AuthAction::Function { function_name } if function_name.eq_ignore_ascii_case("load_extension") => deny(
            "load_extension()".into(),
            "plugins may not load extensions: a plugin's SQL uses what the bundled SQLite has",
        ),
        AuthAction::Select | AuthAction::Recursive | AuthAction::Function { .. } => Ok(()),
        AuthAction::Read { table_name, .. } => policy.may_read(table_name, context.accessor),
        AuthAction::CreateTable { table_name } => {
            let action = || format!("CREATE TABLE `{table_name}`");
            policy.may_name(table_name, action).and_then(|()| policy.may_change(table_name, action))
        }
        AuthAction::AlterTable { table_name, .. } => {
            policy.may_change(table_name, || format!("ALTER TABLE `{table_name}`"))
        }
        AuthAction::DropTable { table_name } => policy.may_change(table_name, || format!("DROP TABLE `{table_name}`")),
        AuthAction::CreateView { view_name } => {
            let action = || format!("CREATE VIEW `{view_name}`");
            policy.may_name(view_name, action).and_then(|()| policy.may_change(view_name, action))
        }
        AuthAction::DropView { view_name } => policy.may_change(view_name, || format!("DROP VIEW `{view_name}`")),
        AuthAction::CreateIndex { index_name, table_name } => {
            let action = || format!("CREATE INDEX `{index_name}` ON `{table_name}`");
            policy.may_change(table_name, action).and_then(|()| policy.may_name(index_name, action))
        }
        AuthAction::DropIndex { index_name, table_name } => {
            policy.may_change(table_name, || format!("DROP INDEX `{index_name}` ON `{table_name}`"))
        }
        AuthAction::CreateTrigger { trigger_name, table_name } => {
            let action = || format!("CREATE TRIGGER `{trigger_name}` ON `{table_name}`");
            policy.may_change(table_name, action).and_then(|()| policy.may_name(trigger_name, action))
        }
        AuthAction::DropTrigger { trigger_name, table_name } => {
            policy.may_change(table_name, || format!("DROP TRIGGER `{trigger_name}` ON `{table_name}`"))
        }
        AuthAction::Analyze { table_name } => policy.may_change(table_name, || format!("ANALYZE `{table_name}`")),
        AuthAction::Reindex { .. } => Ok(()),
        AuthAction::Insert { table_name } => {
            policy.may_write(table_name, context.accessor, || format!("INSERT INTO `{table_name}`"))
        }
        AuthAction::Update { table_name, .. } => {
            policy.may_write(table_name, context.accessor, || format!("UPDATE `{table_name}`"))
        }
        AuthAction::Delete { table_name } => {
            policy.may_write(table_name, context.accessor, || format!("DELETE FROM `{table_name}`"))
        }
        // SQLite checks existing rows itself when a column with a CHECK is
        // added: allowed on the plugin's own tables, as the ALTER was.
        AuthAction::Pragma { pragma_name: "quick_check", pragma_value: Some(table) }
            if policy.owned.contains(&table.to_lowercase()) =>
        {
            Ok(())
        }
        AuthAction::Pragma { pragma_name, pragma_value } => deny(
            match pragma_value {
                Some(value) => format!("PRAGMA {pragma_name} = {value}"),
                None => format!("PRAGMA {pragma_name}"),
            },
            if pragma_name.eq_ignore_ascii_case("foreign_keys")
                || pragma_name.eq_ignore_ascii_case("defer_foreign_keys")
            {
                "plugins may not run PRAGMA statements; foreign keys are already off while a chain runs \
                 and checked before it commits, so this line can go"
            } else {
                "plugins may not run PRAGMA statements (the host sets up the connection)"
            },
        ),
        AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } => deny(
            "BEGIN/COMMIT/ROLLBACK/SAVEPOINT".into(),
            "the host runs each plugin's migrations in one transaction; plugins may not control it",
        ),
        // VACUUM works on a copy it attaches under an empty file name.
        AuthAction::Attach { filename: "" } => deny(
            "VACUUM".into(),
            "VACUUM cannot run inside a migration (each chain runs in one transaction, and SQLite vacuums only \
             outside one): remove it; an operator may run VACUUM on the database after the run",
        ),
        AuthAction::Attach { filename } => {
            deny(format!("ATTACH `{filename}`"), "plugins may not attach other database files")
        }
        AuthAction::Detach { database_name } => {
            deny(format!("DETACH `{database_name}`"), "plugins may not detach databases")
        }
        AuthAction::CreateVtable { table_name, module_name } | AuthAction::DropVtable { table_name, module_name } => {
            deny(
                format!("virtual table `{table_name}` using {module_name}"),
                "plugins may not create or drop virtual tables",
            )
        }
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
        if names::is_bookkeeping(table) {
            return "it is the host's bookkeeping (history and ownership records)".into();
        }
        if let Some(why) = names::reserved_object_name(table) {
            return format!("the name is reserved: {why}");
        }
        match self.owners.get(table) {
            Some(owner) if owner == crate::core::OWNER => "it is a core table".into(),
            Some(owner) => format!("it belongs to plugin '{owner}'"),
            None => format!("plugin '{}' does not own it", self.plugin),
        }
    }

    /// Whether the plugin may treat `table` (lowercase) as its own: it
    /// lists it, or the database records it as the plugin's (a name its
    /// chain created once, such as a table a later migration dropped), or
    /// nobody owns it and the plugin may take new names.
    fn owns(&self, table: &str) -> bool {
        if self.owned.contains(table) || self.owners.get(table).is_some_and(|owner| *owner == self.plugin) {
            return true;
        }
        self.may_use_unclaimed
            && !self.owners.contains_key(table)
            && names::reserved_object_name(table).is_none()
            && !table.starts_with("pragma_")
    }

    /// Whether the plugin may give a new object (index, trigger, table,
    /// view) the name `name`: no one else's, nor a reserved one.
    fn may_name(&self, name: &str, action: impl FnOnce() -> String) -> Result<(), Denial> {
        let lower = name.to_lowercase();
        if is_sqlite_internal(&lower) {
            // The index SQLite makes itself for a UNIQUE or PRIMARY KEY.
            return Ok(());
        }
        if let Some(why) = names::reserved_object_name(&lower) {
            return Err(Denial {
                action: action(),
                reason: format!("the name is reserved: {why}; choose another name"),
            });
        }
        match self.owners.get(&lower) {
            Some(owner) if *owner != self.plugin => {
                let whose = if owner == crate::core::OWNER {
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

    fn may_change(&self, table: &str, action: impl FnOnce() -> String) -> Result<(), Denial> {
        let table = table.to_lowercase();
        if self.owns(&table) {
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
        if self.owns(&table) || self.readable.contains(&table) || is_internal_read(&table) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A database with a core table, a dependency's table, a stranger's
    /// table and a history table, and a guard restricting plugin `mine`.
    fn setup() -> (Connection, Guard, Arc<Policy>) {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE sites (id INTEGER PRIMARY KEY);
             CREATE TABLE theirs (id INTEGER PRIMARY KEY);
             CREATE TABLE strangers (id INTEGER PRIMARY KEY);
             CREATE TABLE shopdb_history_mine (version INT);",
        )
        .unwrap();
        let guard = Guard::install(&mut conn).unwrap();
        let policy = Policy {
            plugin: "mine".into(),
            owned: ["mine_items".to_owned(), "mine_view".to_owned()].into(),
            readable: ["sites".to_owned(), "theirs".to_owned()].into(),
            owners: Arc::new(
                [
                    ("sites", "core"),
                    ("sites_n", "core"),
                    ("theirs", "dep"),
                    ("theirs_n", "dep"),
                    ("strangers", "stranger"),
                ]
                .into_iter()
                .map(|(t, o)| (t.to_owned(), o.to_owned()))
                .collect(),
            ),
            may_use_unclaimed: false,
        };
        (conn, guard, Arc::new(policy))
    }

    fn as_plugin(sql: &str) -> Result<(), Denial> {
        let (conn, guard, policy) = setup();
        let _restricted = guard.restrict(Arc::clone(&policy));
        match conn.execute_batch(
            "CREATE TABLE mine_items (id INTEGER PRIMARY KEY, site_id INT REFERENCES sites (id), n INT);",
        ) {
            Ok(()) => {}
            Err(e) => panic!("the plugin's own table must be allowed: {e}"),
        }
        conn.execute_batch(sql)
            .map_err(|e| guard.take_denial().unwrap_or_else(|| panic!("failed but not denied: {e}")))?;
        drop(_restricted);
        match probe_bodies(&conn, &guard, &policy, &guard.take_touched()) {
            Ok(()) => Ok(()),
            Err(ProbeError::Denied(denial)) => Err(denial),
            Err(e) => panic!("{e}"),
        }
    }

    #[track_caller]
    fn denied(sql: &str, expect: &str) {
        let denial = as_plugin(sql).expect_err(sql);
        assert!(denial.to_string().contains(expect), "{sql}: {denial}");
    }

    #[test]
    fn a_plugin_may_build_and_fill_its_own_tables() {
        as_plugin(
            "CREATE INDEX mine_items_n ON mine_items (n);
             ALTER TABLE mine_items ADD COLUMN kind TEXT NOT NULL DEFAULT 'a' CHECK (kind IN ('a', 'b'));
             INSERT INTO mine_items (n) SELECT id FROM theirs;
             INSERT INTO mine_items (site_id) SELECT id FROM sites;
             CREATE TRIGGER mine_items_touch AFTER UPDATE ON mine_items BEGIN SELECT 1; END;
             CREATE VIEW mine_view AS SELECT * FROM mine_items JOIN theirs ON theirs.id = mine_items.n;
             UPDATE mine_items SET n = n + 1; DELETE FROM mine_items WHERE n > 100;
             DROP INDEX mine_items_n;",
        )
        .unwrap();
    }

    #[test]
    fn a_plugin_may_not_touch_what_it_does_not_own() {
        denied("DROP TABLE theirs", "DROP TABLE `theirs`: it belongs to plugin 'dep'");
        denied("INSERT INTO sites DEFAULT VALUES", "INSERT INTO `sites`: it is a core table");
        denied("ALTER TABLE theirs ADD COLUMN x INT", "ALTER TABLE `theirs`");
        denied("CREATE INDEX theirs_id ON theirs (id)", "CREATE INDEX `theirs_id` ON `theirs`");
        denied("CREATE TRIGGER t AFTER INSERT ON theirs BEGIN SELECT 1; END", "CREATE TRIGGER `t` ON `theirs`");
        denied("UPDATE shopdb_history_mine SET version = 9", "it is the host's bookkeeping");
        denied("SELECT * FROM strangers", "reading `strangers`");
        denied("CREATE VIEW mine_view AS SELECT * FROM strangers", "reading `strangers`");
        denied("CREATE VIEW not_mine AS SELECT 1", "CREATE VIEW `not_mine`");
        denied("CREATE INDEX theirs_n ON mine_items (n)", "`theirs_n` is plugin 'dep''s");
        denied("CREATE INDEX sites_n ON mine_items (n)", "`sites_n` is the core schema's");
        let (_, _, policy) = setup();
        let taken = policy.name_taken("index sites_n already exists").expect("the core's name");
        assert!(taken.to_string().contains("`sites_n` is the core schema's"), "{taken}");
        assert!(policy.name_taken("there is already a table named theirs").is_some());
        assert_eq!(policy.name_taken("index mine_items_n already exists"), None, "its own name: SQLite's words stand");
        denied("CREATE TRIGGER shopdb_t AFTER INSERT ON mine_items BEGIN SELECT 1; END", "the name is reserved");
        denied(
            "CREATE TRIGGER mine_items_spy AFTER INSERT ON mine_items BEGIN SELECT count(*) FROM strangers; END",
            "reading `strangers` (in `mine_items_spy`)",
        );
    }

    #[test]
    fn a_plugin_may_not_escape_the_run() {
        denied("ATTACH DATABASE ':memory:' AS other", "ATTACH");
        denied("PRAGMA foreign_keys = OFF", "PRAGMA foreign_keys = OFF: plugins may not run PRAGMA");
        denied("PRAGMA foreign_keys = OFF", "foreign keys are already off while a chain runs");
        denied("VACUUM", "VACUUM cannot run inside a migration");
        denied("SELECT load_extension('x')", "plugins may not load extensions");
        denied("BEGIN", "BEGIN/COMMIT");
        denied("SAVEPOINT s", "BEGIN/COMMIT");
        denied("CREATE TEMP TABLE t (x)", "temporary");
    }

    #[test]
    fn outside_a_restriction_the_host_may_do_anything() {
        let (conn, guard, policy) = setup();
        {
            let _restricted = guard.restrict(policy);
            assert!(conn.execute_batch("DROP TABLE strangers").is_err());
            assert!(guard.take_denial().is_some());
        }
        conn.execute_batch("DROP TABLE strangers; PRAGMA foreign_keys = OFF").unwrap();
        assert_eq!(guard.take_denial(), None);
    }
}
