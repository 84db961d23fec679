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

use crate::engine::policy::{Denial, Policy, Touched};
use crate::schema::names::ObjectKind;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::Connection;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

#[derive(Debug, Default)]
struct State {
    policy: Option<Arc<Policy>>,
    first_denial: Option<Denial>,
    touched: Touched,
}

/// Notes in `touched` what SQLite is about to let a plugin's SQL do.
fn record(touched: &mut Touched, action: &AuthAction<'_>) {
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
    touched.changed |= !reading && !internal;
    touched.schema |= matches!(
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
            touched.named.insert(lower(table_name), ObjectKind::Table);
        }
        AuthAction::CreateView { view_name } => {
            touched.named.insert(lower(view_name), ObjectKind::View);
        }
        AuthAction::CreateIndex { index_name, .. } if !is_sqlite_internal(&lower(index_name)) => {
            touched.named.insert(lower(index_name), ObjectKind::Index);
        }
        AuthAction::CreateTrigger { trigger_name, .. } => {
            touched.named.insert(lower(trigger_name), ObjectKind::Trigger);
        }
        _ => {}
    }
    match *action {
        AuthAction::Insert { table_name }
        | AuthAction::Delete { table_name }
        | AuthAction::Update { table_name, .. }
            if !is_sqlite_internal(&lower(table_name)) =>
        {
            touched.written.insert(lower(table_name));
        }
        AuthAction::DropTable { table_name } => {
            touched.dropped.insert(lower(table_name));
        }
        AuthAction::DropView { view_name } => {
            touched.dropped.insert(lower(view_name));
        }
        AuthAction::CreateTable { table_name } => {
            touched.created.insert(lower(table_name));
        }
        AuthAction::CreateView { view_name } => {
            touched.created.insert(lower(view_name));
            touched.views.insert(lower(view_name));
        }
        AuthAction::CreateTrigger { table_name, .. } => {
            touched.triggered.insert(lower(table_name));
        }
        _ => {}
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
                    record(&mut state.touched, &context.action);
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

/// Why a plugin's SQL did not run on a guarded connection.
#[derive(Debug)]
pub enum Refusal {
    /// The guard refused a statement, or SQLite's own "already exists"
    /// stands for a name another owner has.
    Denied(Denial),
    /// SQLite failed it.
    Failed(rusqlite::Error),
}

/// Why VACUUM is refused. Inside a transaction SQLite refuses it before
/// asking the authorizer; outside one (never, in a run) it attaches a copy.
const VACUUM_REFUSED: &str = "VACUUM cannot run inside a migration (each chain runs in one transaction, and SQLite \
                              vacuums only outside one): remove it; an operator may run VACUUM on the database after \
                              the run";

/// Runs `sql` on `conn` as the plugin `policy` is for, the one way the host
/// runs a plugin's SQL (in scratch databases and in real runs): the guard
/// restricts every statement as SQLite prepares it, and the views and
/// triggers the SQL created are probed before it counts as done. Returns
/// what the SQL touched.
pub fn run_restricted(conn: &Connection, guard: &Guard, policy: &Arc<Policy>, sql: &str) -> Result<Touched, Refusal> {
    guard.take_touched();
    let ran = {
        let _restricted = guard.restrict(Arc::clone(policy));
        conn.execute_batch(sql)
    };
    if let Err(error) = ran {
        let message = super::errors::sqlite_message(&error);
        let vacuum = || {
            message
                .contains("cannot VACUUM from within a transaction")
                .then(|| Denial { action: "VACUUM".into(), reason: VACUUM_REFUSED.into() })
        };
        let denial = guard.take_denial().or_else(vacuum).or_else(|| policy.name_taken(&message));
        return Err(denial.map_or(Refusal::Failed(error), Refusal::Denied));
    }
    let touched = guard.take_touched();
    match probe_bodies(conn, guard, policy, &touched) {
        Ok(()) => Ok(touched),
        Err(ProbeError::Denied(denial)) => Err(Refusal::Denied(denial)),
        Err(ProbeError::Sqlite(error)) => Err(Refusal::Failed(error)),
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
    let exists = |name: &str| super::schema::existing(conn, &[name]).map(|found| !found.is_empty());
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
        AuthAction::Read { table_name, .. } if is_internal_read(&table_name.to_lowercase()) => Ok(()),
        AuthAction::Read { table_name, .. } => policy.may_read(table_name, context.accessor),
        // SQLite writes its schema tables itself while running DDL that was
        // already authorized; a plugin cannot write them directly without
        // PRAGMA writable_schema, which is denied.
        AuthAction::Insert { table_name }
        | AuthAction::Update { table_name, .. }
        | AuthAction::Delete { table_name }
            if is_sqlite_internal(&table_name.to_lowercase()) =>
        {
            Ok(())
        }
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
        AuthAction::Attach { filename: "" } => deny("VACUUM".into(), VACUUM_REFUSED),
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
            depends_on: vec!["dep".to_owned()],
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
