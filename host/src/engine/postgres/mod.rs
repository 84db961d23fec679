//! The PostgreSQL engine: the database a site grows into, with plugin
//! ownership enforced by PostgreSQL's own privileges.
//!
//! * The host's tables (the core chain, the bookkeeping, every history
//!   table) live in the schema `shopdb`, which the host owns. Each plugin's
//!   objects live in a schema named after the plugin, owned by a role of the
//!   plugin's own ([`roles`]): `NOLOGIN`, no memberships, no `CREATEDB` or
//!   `CREATEROLE`. The role has `USAGE` on `shopdb`, `SELECT` and
//!   `REFERENCES` on the core's shared tables and on the tables of the
//!   plugins it declares in `depends_on`, and nothing else: a write to a core
//!   or another plugin's table, or a foreign key to an undeclared plugin,
//!   fails in the server itself.
//! * A plugin's SQL runs through a `SECURITY DEFINER` function owned by its
//!   role, inside the host's one transaction. There, PostgreSQL refuses
//!   `RESET ROLE`, `SET ROLE` and `SET SESSION AUTHORIZATION` (a plain `SET
//!   LOCAL ROLE` would not be a sandbox: the plugin's SQL could reset it).
//!   The function pins the plugin's `search_path` (its schema, its
//!   dependencies', `shopdb`, then `pg_temp`), so the SQL keeps unqualified
//!   names.
//! * Before commit the host audits the catalog: everything the plugin's
//!   role owns must be what its chain accounts for; a temporary object, an
//!   object outside its schema, or a function that would run with the
//!   privileges of whoever calls it rolls the run back.
//! * The host's own statements are schema-qualified and run with
//!   `search_path = shopdb, pg_temp`: nothing a plugin creates can shadow a
//!   core table for the host (the CVE-2018-1058 class).
//! * Each chain's transaction takes a transaction-scoped advisory lock
//!   before history is read; concurrent hosts queue on it for up to the busy
//!   timeout (`lock_timeout`).

pub mod catalog;
mod connect;
mod driver;
mod dump;
pub mod roles;
pub mod scratch;

pub use connect::MINIMUM_SERVER_VERSION;

/// The settings for more connections to the server `url` names (the
/// checks' scratch databases), without connecting.
pub fn scratch_config(url: &str, target: &DatabaseTarget) -> Result<Config, DbError> {
    connect::config(url, target)
}

use crate::core_schema::{self, AUDIT_TABLE, MARKS_TABLE, OWNERS_TABLE, PLUGINS_TABLE};
use crate::engine::history::HistoryError;
use crate::engine::{
    Actor, AppliedMigration, ApplyError, AuditEntry, AuditRecord, Backup, ChainRun, DatabaseTarget, DbError, Denial,
    DroppedObject, Engine, Execution, Mark, OpenMode, PluginRecord, PluginRecords, Policy, RecordedMark,
    RecordedObject,
};
use crate::plugins::inventory::InstalledPlugin;
use crate::plugins::manifest::ChainMigration;
use crate::progress::Progress;
use crate::schema::names::ObjectKind;
use crate::schema::Schema;
use driver::{Driver, Watched};
use postgres::error::SqlState;
use postgres::row::SimpleQueryRow;
use postgres::types::Type;
use postgres::{Client, Config};
use refinery::{Migration, Runner, Target};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// The schema the host keeps its own tables in.
pub const HOST_SCHEMA: &str = "shopdb";

/// What the host's role may do: its name, the database's, whether it may
/// create roles, whether it may create schemas, whether it owns `shopdb`
/// (NULL before the schema exists).
const PRIVILEGES: &str = "SELECT current_user::text, current_database()::text, \
     (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user), \
     has_database_privilege(current_database(), 'CREATE'), \
     (SELECT pg_has_role(current_user, nspowner, 'USAGE') FROM pg_namespace WHERE nspname = 'shopdb')";

/// The host's own tables (besides the plugins' histories), whose existence
/// the connection's first round trip asks.
const CORE_HOST_TABLES: [&str; 5] = [core_schema::HISTORY_TABLE, OWNERS_TABLE, PLUGINS_TABLE, AUDIT_TABLE, MARKS_TABLE];

/// The statement that answers which of `tables` the host's schema has: one
/// row per table that exists. Each is looked up by name in the server's
/// catalog cache, where a scan of `pg_class` costs a new connection a
/// millisecond.
fn existing_host_tables(tables: &[&str]) -> String {
    let names: Vec<String> = tables.iter().map(|table| literal(table)).collect();
    format!(
        "SELECT t FROM unnest(ARRAY[{}]::text[]) t WHERE to_regclass('{HOST_SCHEMA}.' || quote_ident(t)) IS NOT NULL",
        names.join(", ")
    )
}

/// The advisory lock every chain's transaction takes: the run lock.
const RUN_LOCK: i64 = 0x5348_4f50_4442; // "SHOPDB"

/// An open PostgreSQL shop database.
pub struct PostgresEngine {
    /// In a cell: the trait's reads take `&self`, and every query needs the
    /// client mutably (one thread uses an engine at a time).
    client: RefCell<Client>,
    config: Config,
    target: DatabaseTarget,
    busy_timeout: Duration,
    actor: Option<Actor>,
    progress: Option<Arc<dyn Progress>>,
    dry_run: bool,
    /// Every statement of the open chain, in order (`None`: no chain open).
    chain: Option<Vec<String>>,
    /// The tables of the host's schema known to exist: the core's, asked
    /// when connecting, and others as they are asked. A name not among them
    /// is asked again (another host may have made it since), and the set is
    /// forgotten when a transaction that may have made or dropped one is
    /// rolled back, and when a plugin's history is dropped.
    host_tables: RefCell<BTreeSet<String>>,
    /// Whether the host's role still has to be checked for what writing
    /// needs ([`PRIVILEGES`]): asked when the first session begins, so that
    /// a run that writes nothing does not pay for it.
    privileges_unchecked: bool,
    /// The server's `server_version_num`.
    server_version: i32,
}

impl std::fmt::Debug for PostgresEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresEngine").field("target", &self.target).finish_non_exhaustive()
    }
}

/// PostgreSQL's own message for an error, with its detail when it has one.
pub fn message(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {detail}", db.message()),
            None => db.message().to_owned(),
        },
        None => error.to_string(),
    }
}

use crate::schema::names::quoted;

impl PostgresEngine {
    /// Connects to `url` (the target's value) for `mode`, checking that the
    /// host's role may do what a changing command needs.
    pub fn open(
        url: &str,
        target: &DatabaseTarget,
        mode: OpenMode,
        busy_timeout: Duration,
    ) -> Result<PostgresEngine, DbError> {
        let config = connect::config(url, target)?;
        // What every command needs first comes with the session's set-up,
        // in the connection's first round trip.
        let session = format!(
            "SET search_path = shopdb, pg_temp; SET client_min_messages = warning; SET TIME ZONE 'UTC'; {}",
            existing_host_tables(&CORE_HOST_TABLES)
        );
        let (client, server_version, answers) = connect::connect(&config, target, &session)?;
        let host_tables = answers.last().map(table_names).unwrap_or_default();
        Ok(PostgresEngine {
            client: RefCell::new(client),
            config,
            target: target.clone(),
            busy_timeout,
            actor: None,
            progress: None,
            dry_run: false,
            chain: None,
            host_tables: RefCell::new(host_tables.into_iter().collect()),
            privileges_unchecked: mode != OpenMode::Read,
            server_version,
        })
    }

    /// The settings this engine connected with, for more connections (the
    /// checks' scratch databases).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Refuses, with the statement that fixes it, a role that lacks what the
    /// host needs: creating schemas (`shopdb` and one per plugin) and roles
    /// (one per plugin).
    /// `row`: the answer to [`PRIVILEGES`].
    fn check_privileges(&self, row: Option<&SimpleQueryRow>) -> Result<(), DbError> {
        let text = |i: usize| row.and_then(|row| row.get(i));
        let flag = |i: usize| text(i).map(|value| value == "t");
        let (user, database) = (text(0).unwrap_or_default().to_owned(), text(1).unwrap_or_default().to_owned());
        let (createrole, create, owns_schema) = (flag(2).unwrap_or(false), flag(3).unwrap_or(false), flag(4));
        let missing = |privilege: &str, fix: String| DbError::MissingPrivilege {
            target: self.target.clone(),
            user: user.clone(),
            privilege: privilege.to_owned(),
            fix,
        };
        if owns_schema == Some(false) {
            return Err(missing(
                "ownership of the schema `shopdb`, where the host keeps its tables",
                format!("ALTER SCHEMA shopdb OWNER TO {}", quoted(&user)),
            ));
        }
        if !create {
            return Err(missing(
                "CREATE on the database (for the schema `shopdb` and one schema per plugin)",
                format!("GRANT CREATE ON DATABASE {} TO {}", quoted(&database), quoted(&user)),
            ));
        }
        if !createrole {
            return Err(missing(
                "CREATEROLE (each plugin runs as a role of its own, which the host creates)",
                format!("ALTER ROLE {} CREATEROLE", quoted(&user)),
            ));
        }
        Ok(())
    }

    fn error(&self, what: &'static str, error: postgres::Error) -> DbError {
        classify(&self.target, what, error, self.busy_timeout)
    }

    fn apply_error(&self, what: &'static str, error: postgres::Error) -> ApplyError {
        ApplyError::Db(self.error(what, error))
    }

    /// The session's client, for one query or a few.
    fn client(&self) -> std::cell::RefMut<'_, Client> {
        self.client.borrow_mut()
    }

    /// Asks, in one round trip, which of `tables` the host's schema has
    /// now, into [`PostgresEngine::host_tables`].
    fn ask_host_tables(&self, tables: &[&str]) -> Result<(), DbError> {
        let asked = self.client().simple_query(&existing_host_tables(tables));
        let messages = asked.map_err(|e| self.error("reading the schema", e))?;
        self.host_tables.borrow_mut().extend(table_names(rows(&messages)));
        Ok(())
    }

    /// Whether the host's table `table` is known to exist (without asking).
    fn host_table_known(&self, table: &str) -> bool {
        self.host_tables.borrow().contains(table)
    }

    fn host_exists(&self, table: &str) -> Result<bool, DbError> {
        if !self.host_table_known(table) {
            self.ask_host_tables(&[table])?;
        }
        Ok(self.host_table_known(table))
    }

    /// Refuses, before the first session writes anything, a role that lacks
    /// what writing needs ([`PostgresEngine::check_privileges`]); `then`,
    /// the session's first statements, go in the same round trip.
    fn check_privileges_once(&mut self, then: &str) -> Result<(), DbError> {
        if !self.privileges_unchecked {
            if then.is_empty() {
                return Ok(());
            }
            return self.client.get_mut().batch_execute(then).map_err(|e| self.error("starting a transaction", e));
        }
        let asked = self.client.get_mut().simple_query(&format!("{PRIVILEGES}; {then}"));
        let messages = asked.map_err(|e| self.error("reading the host role's privileges", e))?;
        if let Err(refused) = self.check_privileges(rows(&messages).next()) {
            if !then.is_empty() {
                let _ = self.client.get_mut().batch_execute("ROLLBACK");
            }
            return Err(refused);
        }
        self.privileges_unchecked = false;
        Ok(())
    }

    /// The owners of names (`objects`) and the installed plugins
    /// (`installed`) the host's tables record, those asked for, in one
    /// simple query; none from a table not made yet.
    fn read_records(&self, objects: bool, installed: bool) -> Result<PluginRecords, DbError> {
        // Both tables asked after in one round trip where neither is known.
        let wanted: Vec<&str> = [(objects, OWNERS_TABLE), (installed, PLUGINS_TABLE)]
            .into_iter()
            .filter(|(asked, table)| *asked && !self.host_table_known(table))
            .map(|(_, table)| table)
            .collect();
        if !wanted.is_empty() {
            self.ask_host_tables(&wanted)?;
        }
        let mut sql = String::new();
        let owners = objects && self.host_table_known(OWNERS_TABLE);
        if owners {
            sql.push_str("SELECT 'owner', name, kind, plugin FROM shopdb.shopdb_core_owners;\n");
        }
        if installed && self.host_table_known(PLUGINS_TABLE) {
            // The digest through the row's JSON: a database whose core
            // chain is older has no such column, and `check` reads it too.
            sql.push_str(
                "SELECT 'plugin', name, version, depends_on::text, to_jsonb(p) ->> 'checked_digest' \
                 FROM shopdb.shopdb_core_plugins p;\n",
            );
        }
        let mut records = PluginRecords::default();
        if sql.is_empty() {
            return Ok(records);
        }
        let what = if owners { "reading the owners of names" } else { "reading installed plugins" };
        let messages = self.client().simple_query(&sql).map_err(|e| self.error(what, e))?;
        for row in rows(&messages) {
            let text = |i: usize| row.get(i).unwrap_or_default().to_owned();
            match row.get(0) {
                Some("owner") => records.objects.push(RecordedObject {
                    name: text(1),
                    kind: ObjectKind::parse(&text(2)).unwrap_or(ObjectKind::Table),
                    plugin: text(3),
                }),
                Some("plugin") => records.installed.push(InstalledPlugin {
                    name: text(1),
                    version: text(2),
                    depends_on: serde_json::from_str(&text(3)).unwrap_or_default(),
                    checked_digest: row.get(4).map(str::to_owned),
                }),
                _ => {}
            }
        }
        // Sorted here rather than by the server: an ORDER BY costs a new
        // connection's planner more than sorting costs this process.
        records.objects.sort_by(|a, b| a.name.cmp(&b.name));
        records.installed.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(records)
    }

    /// Forgets which of the host's tables exist.
    fn forget_host_tables(&mut self) {
        self.host_tables.get_mut().clear();
    }

    fn log(&mut self, sql: &str) {
        if let Some(log) = &mut self.chain {
            log.push(sql.to_owned());
        }
    }

    fn execute_host(
        &mut self,
        what: &'static str,
        sql: &str,
        params: &[(&(dyn postgres::types::ToSql + Sync), Type)],
    ) -> Result<(), ApplyError> {
        self.log(sql);
        let done = self.client.get_mut().query_typed(sql, params);
        done.map(drop).map_err(|e| self.apply_error(what, e))
    }

    fn batch_host(&mut self, what: &'static str, sql: &str) -> Result<(), ApplyError> {
        self.log(sql);
        let done = self.client.get_mut().batch_execute(sql);
        done.map_err(|e| self.apply_error(what, e))
    }

    /// The statement that writes `entry` in the audit record, its values
    /// written out (it may go to the server with others in one round trip);
    /// `None` where nothing is written: in a dry run, for a caller that
    /// gave no actor, before the core chain made the table.
    fn audit_insert(&self, entry: &AuditEntry<'_>) -> Result<Option<String>, DbError> {
        let Some(actor) = self.actor.as_ref().filter(|_| !self.dry_run) else {
            return Ok(None);
        };
        if !self.host_exists(AUDIT_TABLE)? {
            return Ok(None);
        }
        let text = |value: Option<&str>| value.map_or_else(|| "NULL".to_owned(), literal);
        let number = |value: Option<i32>| value.map_or_else(|| "NULL".to_owned(), |v| v.to_string());
        Ok(Some(format!(
            "INSERT INTO shopdb.shopdb_core_audit \
             (os_user, command, plugin, from_version, to_version, file_sha256, outcome, reason) \
             VALUES ({}, {}, {}, {}, {}, {}, {}, {});\n",
            literal(&actor.user),
            literal(&actor.command),
            literal(entry.plugin),
            number(entry.from),
            number(entry.to),
            text(entry.sha256.as_deref()),
            literal(entry.outcome.as_str()),
            text(entry.reason.as_deref()),
        )))
    }

    /// The plugin's role, the host's membership in it and its schema made
    /// where missing ([`roles::Layout::prepare_role`]); in the same round
    /// trip, who owns the schema now (for [`Self::take_over_schema`]).
    fn prepare_role(&mut self, layout: &roles::Layout) -> Result<Option<String>, ApplyError> {
        let prepare = layout.prepare_role();
        self.log(&prepare);
        let owner = format!(
            "SELECT pg_get_userbyid(nspowner)::text FROM pg_namespace WHERE nspname = '{}'",
            layout.schema.replace('\'', "''")
        );
        let messages = self
            .client
            .get_mut()
            .simple_query(&format!("{prepare}{owner}"))
            .map_err(|e| self.apply_error("preparing the plugin's role and schema", e))?;
        let owner = rows(&messages).next().and_then(|row| row.get(0)).map(str::to_owned);
        Ok(owner)
    }

    /// Makes the plugin's role the owner of its schema and of what is in it
    /// when someone else made the schema (a restored dump, an older deploy):
    /// the chain runs as that role and must own what it alters. Refused
    /// when the schema holds a table or view the plugin's chain does not
    /// create, which is then someone else's.
    fn take_over_schema(
        &mut self,
        plugin: &str,
        role: &str,
        owner: Option<&str>,
        accounted: &dyn Fn(&str) -> bool,
    ) -> Result<(), ApplyError> {
        if owner.is_none_or(|owner| owner == role) {
            return Ok(());
        }
        let objects = self
            .client
            .get_mut()
            .query_typed(
                "SELECT c.relname::text, c.relkind::text, pg_get_userbyid(c.relowner)::text
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c', 'S')
                   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                   AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
                 UNION ALL
                 SELECT p.oid::regprocedure::text, 'function', pg_get_userbyid(p.proowner)::text
                 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1
                 UNION ALL
                 SELECT format('%I.%I', n.nspname, t.typname), 'type', pg_get_userbyid(t.typowner)::text
                 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                 WHERE n.nspname = $1 AND t.typtype IN ('e', 'd', 'r')",
                &[(&plugin, Type::TEXT)],
            )
            .map_err(|e| self.apply_error("reading the plugin's schema", e))?;
        let schema = quoted(plugin);
        let r = quoted(role);
        let mut sql = format!("ALTER SCHEMA {schema} OWNER TO {r};\n");
        for row in &objects {
            let (name, kind, owner): (String, String, String) = (row.get(0), row.get(1), row.get(2));
            let keyword = match kind.as_str() {
                "r" | "p" => "TABLE",
                "v" => "VIEW",
                "m" => "MATERIALIZED VIEW",
                "f" => "FOREIGN TABLE",
                "S" => "SEQUENCE",
                "c" => "TYPE",
                "function" => "ROUTINE",
                _ => "TYPE",
            };
            if matches!(kind.as_str(), "r" | "p" | "v" | "m" | "f") && !accounted(&name) {
                return Err(ApplyError::Unaccounted {
                    plugin: plugin.to_owned(),
                    object: format!("`{plugin}.{name}`"),
                    reason: format!(
                        "the schema `{plugin}` exists and holds it, but the plugin's chain does not create it: move it \
                         out of that schema (or rename the schema) before installing the plugin"
                    ),
                });
            }
            if owner == role {
                continue;
            }
            let target = match kind.as_str() {
                "function" | "type" => name.clone(),
                _ => format!("{schema}.{}", quoted(&name)),
            };
            sql.push_str(&format!("ALTER {keyword} {target} OWNER TO {r};\n"));
        }
        self.batch_host("giving the plugin's role its schema", &sql)
    }

    /// Turns refinery's error into one that names the migration and says why.
    fn explain(&self, run: &ChainRun<'_>, error: refinery::Error, failed: Option<driver::Failure>) -> ApplyError {
        if let Some(history) = HistoryError::from_refinery(&error) {
            return ApplyError::History(history);
        }
        match failed {
            Some(failure) => self.failed_statement(run, failure),
            None => ApplyError::Refinery(error.to_string()),
        }
    }

    /// What went wrong when the statement of `failure` failed in `run`:
    /// which migration (or the chain's bookkeeping), denied or failed.
    fn failed_statement(&self, run: &ChainRun<'_>, failure: driver::Failure) -> ApplyError {
        self.refused(run.label_of(&failure.sql), run.policy.as_deref(), failure.error)
    }

    /// `migration` (a label) failed with `error`: denied by `policy`, the
    /// connection's trouble (lost, busy), or the SQL's own failure.
    fn refused(&self, migration: String, policy: Option<&Policy>, error: postgres::Error) -> ApplyError {
        match policy.and_then(|policy| denial(policy, &error)) {
            Some(denial) => ApplyError::Denied { migration, denial },
            None => match self.error("applying", error) {
                DbError::Engine { source, .. } => {
                    let text = source.downcast_ref::<postgres::Error>().map_or_else(|| source.to_string(), message);
                    ApplyError::Migration { migration, message: text }
                }
                other => ApplyError::Db(other),
            },
        }
    }

    /// The catalog audit before commit: what `plugin`'s role owns is what
    /// its chain accounts for at the version reached.
    fn audit_owned(
        &mut self,
        plugin: &str,
        policy: &Policy,
        expected: Option<&BTreeMap<String, ObjectKind>>,
    ) -> Result<(), ApplyError> {
        let role = roles::role_name(plugin);
        let owned = catalog::owned_by(&mut *self.client(), &role, plugin);
        let owned = owned.map_err(|e| self.apply_error("auditing the catalog", e))?;
        let refuse = |object: String, reason: &str| ApplyError::Unaccounted {
            plugin: plugin.to_owned(),
            object,
            reason: reason.to_owned(),
        };
        if let Some((object, reason)) = owned.forbidden(roles::RUNNER) {
            return Err(refuse(object, reason));
        }
        for (name, _) in owned.relations {
            let accounted = match expected {
                Some(expected) => expected.contains_key(&name),
                None => policy.owned.contains(&name),
            };
            if !accounted {
                return Err(ApplyError::LeftBehind { plugin: plugin.to_owned(), table: name });
            }
        }
        Ok(())
    }

    /// See the SQLite engine's: `plugin` recorded as installed and as the
    /// owner of `names`, refused if another plugin already owns one.
    fn record_plugin(
        &mut self,
        plugin: &str,
        record: PluginRecord<'_>,
        names: &BTreeMap<String, ObjectKind>,
    ) -> Result<(), ApplyError> {
        let pairs: Vec<(&str, &str)> = names.iter().map(|(name, kind)| (name.as_str(), kind.as_str())).collect();
        let pairs = serde_json::to_string(&pairs).expect("pairs of strings serialize to JSON");
        let depends_on = serde_json::to_string(record.depends_on).expect("a list of strings serializes to JSON");
        // One statement, one round trip: the names another plugin owns
        // already are read from the table as it was before this statement's
        // inserts, which write nothing when there is one.
        let sql = "WITH pairs AS (SELECT j ->> 0 AS name, j ->> 1 AS kind FROM jsonb_array_elements($1::text::jsonb) j),
             taken AS (SELECT o.name, o.kind, o.plugin FROM shopdb.shopdb_core_owners o
                       JOIN pairs p ON o.name = p.name WHERE o.plugin <> $2 LIMIT 1),
             owners AS (INSERT INTO shopdb.shopdb_core_owners (name, kind, plugin)
                        SELECT name, kind, $2 FROM pairs WHERE NOT EXISTS (SELECT FROM taken)
                        ON CONFLICT (name) DO NOTHING),
             installed AS (INSERT INTO shopdb.shopdb_core_plugins (name, version, depends_on, checked_digest)
                           SELECT $2, $3, $4::text::jsonb, $5 WHERE NOT EXISTS (SELECT FROM taken)
                           ON CONFLICT (name) DO UPDATE SET version = excluded.version, depends_on = excluded.depends_on,
                             checked_digest = excluded.checked_digest, updated_at = now())
             SELECT name, kind, plugin FROM taken";
        self.log(sql);
        let taken = self
            .client
            .get_mut()
            .query_typed(
                sql,
                &[
                    (&pairs, Type::TEXT),
                    (&plugin, Type::TEXT),
                    (&record.version, Type::TEXT),
                    (&depends_on, Type::TEXT),
                    (&record.checked_digest, Type::TEXT),
                ],
            )
            .map_err(|e| self.apply_error("recording the plugin and the owners of its names", e))?;
        match taken.first() {
            Some(row) => Err(ApplyError::NameTaken {
                plugin: plugin.to_owned(),
                name: row.get(0),
                kind: row.get(1),
                owner: row.get(2),
            }),
            None => Ok(()),
        }
    }
}

/// `text` as a SQL string literal whatever the server's
/// `standard_conforming_strings`: an escape string, `E'…'`.
pub(super) fn literal(text: &str) -> String {
    format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// Names the errors an operator can act on; the rest keep PostgreSQL's words.
fn classify(target: &DatabaseTarget, what: &'static str, error: postgres::Error, waited: Duration) -> DbError {
    match error.code() {
        Some(code) if *code == SqlState::LOCK_NOT_AVAILABLE => DbError::Busy { target: target.clone(), waited },
        Some(code) if *code == SqlState::DISK_FULL => DbError::Full(target.clone()),
        Some(code)
            if *code == SqlState::ADMIN_SHUTDOWN
                || *code == SqlState::CRASH_SHUTDOWN
                || *code == SqlState::CANNOT_CONNECT_NOW =>
        {
            DbError::ConnectionLost { target: target.clone(), reason: message(&error) }
        }
        None if error.is_closed() || error.to_string().contains("connection closed") => {
            DbError::ConnectionLost { target: target.clone(), reason: error.to_string() }
        }
        _ => DbError::Engine { target: target.clone(), what, source: Box::new(error) },
    }
}

/// The refusal a PostgreSQL error stands for when the server stopped a
/// plugin's SQL from reaching beyond what it owns, in the host's words.
pub fn denial(policy: &Policy, error: &postgres::Error) -> Option<Denial> {
    let db = error.as_db_error()?;
    let text = db.message();
    let deny = |reason: String| Some(Denial { action: text.to_owned(), reason });
    let named = |prefix: &str| text.strip_prefix(prefix).map(|rest| rest.trim_matches('"').to_owned());
    let owner_of = |name: &str| -> String {
        match policy.owners.get(name) {
            Some(owner) if owner == core_schema::OWNER => "it is a core table".into(),
            Some(owner) if *owner == policy.plugin => format!("it is plugin '{owner}''s own"),
            Some(owner) => format!("it belongs to plugin '{owner}', and '{}' does not depend on it", policy.plugin),
            None if crate::schema::names::is_bookkeeping(name) => "it is the host's bookkeeping".into(),
            None => format!("plugin '{}' does not own it", policy.plugin),
        }
    };
    let code = db.code();
    if text.contains("within security-definer function") {
        return deny(
            "plugins run as their own role inside the host's transaction; they may not change role or session".into(),
        );
    }
    if *code == SqlState::ACTIVE_SQL_TRANSACTION {
        // ALTER SYSTEM, VACUUM, CREATE INDEX CONCURRENTLY, CREATE DATABASE…
        return deny(
            "the host runs each plugin's migrations in one transaction, and this statement cannot run inside one; \
             leave it out of the migration (a DBA runs it by hand)"
                .into(),
        );
    }
    if *code == SqlState::INVALID_TRANSACTION_TERMINATION
        || text.contains("cannot be executed from a function")
        || text.contains("EXECUTE of transaction commands")
    {
        return deny("the host runs each plugin's migrations in one transaction; plugins may not control it".into());
    }
    if *code == SqlState::UNDEFINED_TABLE {
        let name = text.strip_prefix("relation \"")?.split('"').next()?.to_owned();
        return policy.owners.get(&name).filter(|owner| **owner != policy.plugin).and_then(|_| deny(owner_of(&name)));
    }
    if *code != SqlState::INSUFFICIENT_PRIVILEGE {
        return None;
    }
    if let Some(table) = named("permission denied for table ").or_else(|| named("must be owner of table ")) {
        return deny(owner_of(&table));
    }
    if let Some(schema) = named("permission denied for schema ").or_else(|| named("must be owner of schema ")) {
        let reason = if schema == HOST_SCHEMA {
            "the schema `shopdb` is the host's".to_owned()
        } else {
            format!("the schema `{schema}` is plugin '{schema}''s, and '{}' does not depend on it", policy.plugin)
        };
        return deny(reason);
    }
    if text.starts_with("permission denied for database") {
        return deny(
            "a plugin's objects live in the schema the host made for it; plugins may not create schemas".into(),
        );
    }
    if text.contains("create extension") || text.contains("to create extension") {
        return deny("plugins may not create extensions".into());
    }
    if text.contains("create role") {
        return deny("plugins may not create roles".into());
    }
    deny("plugins run with the privileges of their own role only".into())
}

/// The table names a query's rows give in their first column.
fn table_names<'r>(rows: impl IntoIterator<Item = &'r SimpleQueryRow>) -> Vec<String> {
    rows.into_iter().filter_map(|row| row.get(0)).map(str::to_owned).collect()
}

/// The rows of a simple query's answer, every statement's in order.
pub(super) fn rows(messages: &[postgres::SimpleQueryMessage]) -> impl Iterator<Item = &SimpleQueryRow> {
    messages.iter().filter_map(|message| match message {
        postgres::SimpleQueryMessage::Row(row) => Some(row),
        _ => None,
    })
}

/// A history row whose `version, name, applied_on, checksum` begin at
/// column `first`.
fn applied_migration(row: &postgres::Row, first: usize) -> AppliedMigration {
    let checksum: String = row.get(first + 3);
    AppliedMigration {
        version: row.get(first),
        name: row.get(first + 1),
        checksum: checksum.parse().unwrap_or(0),
        applied_on: row.get(first + 2),
    }
}

impl Engine for PostgresEngine {
    fn target(&self) -> &DatabaseTarget {
        &self.target
    }

    fn engine_version(&self) -> String {
        format!("PostgreSQL {}", self.server_version)
    }

    fn set_actor(&mut self, actor: Actor) {
        self.actor = Some(actor);
    }

    fn set_progress(&mut self, progress: Arc<dyn Progress>) {
        self.progress = Some(progress);
    }

    fn applied(&self, history: &str) -> Result<Vec<AppliedMigration>, DbError> {
        if !self.host_exists(history)? {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT version, name, applied_on, checksum FROM {HOST_SCHEMA}.{history}");
        let rows = self.client().query_typed(&sql, &[]).map_err(|e| self.error("reading migration history", e))?;
        let mut applied: Vec<AppliedMigration> = rows.iter().map(|row| applied_migration(row, 0)).collect();
        applied.sort_by_key(|a| a.version);
        Ok(applied)
    }

    fn applied_all(&self, histories: &[String]) -> Result<BTreeMap<String, Vec<AppliedMigration>>, DbError> {
        let mut all: BTreeMap<String, Vec<AppliedMigration>> =
            histories.iter().map(|h| (h.clone(), Vec::new())).collect();
        if histories.is_empty() {
            return Ok(all);
        }
        // Which exist: those known, after one read again if any is not
        // (another host may have made it since).
        let unknown: Vec<&str> = histories.iter().filter(|h| !self.host_table_known(h)).map(String::as_str).collect();
        if !unknown.is_empty() {
            self.ask_host_tables(&unknown)?;
        }
        let existing: Vec<&String> = histories.iter().filter(|h| self.host_table_known(h)).collect();
        if existing.is_empty() {
            return Ok(all);
        }
        // One statement per table, all in one simple query: one round trip,
        // and the server plans many small statements in time linear in
        // their number, where one UNION ALL of as many branches grows
        // faster (docs/PERFORMANCE.md, PostgreSQL scale).
        let sql: String = existing
            .iter()
            .enumerate()
            .map(|(i, history)| {
                format!("SELECT {i}, version, name, applied_on, checksum FROM {HOST_SCHEMA}.{history};\n")
            })
            .collect();
        let messages = self.client().simple_query(&sql).map_err(|e| self.error("reading migration history", e))?;
        for row in rows(&messages) {
            let text = |i: usize| row.get(i).unwrap_or_default();
            let Some(history) = text(0).parse::<usize>().ok().and_then(|i| existing.get(i).copied()) else { continue };
            let Ok(version) = text(1).parse::<i32>() else { continue };
            if let Some(applied) = all.get_mut(history) {
                applied.push(AppliedMigration {
                    version,
                    name: text(2).to_owned(),
                    applied_on: text(3).to_owned(),
                    checksum: text(4).parse().unwrap_or(0),
                });
            }
        }
        for applied in all.values_mut() {
            applied.sort_by_key(|a| a.version);
        }
        Ok(all)
    }

    fn recorded_objects(&self) -> Result<Vec<RecordedObject>, DbError> {
        Ok(self.read_records(true, false)?.objects)
    }

    fn installed_plugins(&self) -> Result<Vec<InstalledPlugin>, DbError> {
        Ok(self.read_records(false, true)?.installed)
    }

    fn plugin_records(&self) -> Result<PluginRecords, DbError> {
        self.read_records(true, true)
    }

    fn marks(&self, plugin: &str) -> Result<Vec<RecordedMark>, DbError> {
        if !self.host_exists(MARKS_TABLE)? {
            return Ok(Vec::new());
        }
        let rows = self
            .client()
            .query_typed(
                "SELECT version, how, to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
                 FROM shopdb.shopdb_core_marks WHERE plugin = $1 ORDER BY id",
                &[(&plugin, Type::TEXT)],
            )
            .map_err(|e| self.error("reading history marks", e))?;
        Ok(rows.iter().map(|r| RecordedMark { version: r.get(0), how: r.get(1), recorded_at: r.get(2) }).collect())
    }

    fn audit_records(&self, plugin: Option<&str>) -> Result<Vec<AuditRecord>, DbError> {
        if !self.host_exists(AUDIT_TABLE)? {
            return Ok(Vec::new());
        }
        let rows = self
            .client()
            .query_typed(
                "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), os_user, command, plugin,
                        from_version, to_version, file_sha256, outcome, reason
                 FROM shopdb.shopdb_core_audit WHERE $1::text IS NULL OR plugin = $1 ORDER BY id", &[(&plugin, Type::TEXT)])
            .map_err(|e| self.error("reading the audit record", e))?;
        Ok(rows
            .iter()
            .map(|r| AuditRecord {
                id: r.get(0),
                at: r.get(1),
                os_user: r.get(2),
                command: r.get(3),
                plugin: r.get(4),
                from_version: r.get(5),
                to_version: r.get(6),
                file_sha256: r.get(7),
                outcome: r.get(8),
                reason: r.get(9),
            })
            .collect())
    }

    fn existing(&self, plugin: Option<&str>, names: &[String]) -> Result<BTreeMap<String, ObjectKind>, DbError> {
        let schemas: Vec<String> = match plugin {
            Some(plugin) => vec![plugin.to_owned()],
            None => {
                let rows = self
                    .client()
                    .query_typed(
                        "SELECT nspname::text FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'", &[])
                    .map_err(|e| self.error("reading the schema", e))?;
                rows.iter().map(|r| r.get(0)).collect()
            }
        };
        let mut found = BTreeMap::new();
        for schema in schemas {
            let objects =
                catalog::objects(&mut *self.client(), &schema).map_err(|e| self.error("reading the schema", e))?;
            found.extend(objects.into_iter().filter(|(name, _)| names.contains(name)));
        }
        Ok(found)
    }

    fn read_schema(&self, plugin: &str, tables: &dyn Fn(&str) -> bool) -> Result<Schema, DbError> {
        let mut client = self.client();
        let path = format!("SET search_path = {}, shopdb, pg_temp", quoted(plugin));
        let read = client.batch_execute(&path).and_then(|()| catalog::read(&mut *client, plugin, tables));
        let _ = client.batch_execute("SET search_path = shopdb, pg_temp");
        drop(client);
        read.map_err(|e| self.error("reading the schema", e))
    }

    fn row_count(&self, plugin: &str, table: &str) -> Result<i64, DbError> {
        let sql = format!("SELECT count(*) FROM {}.{}", quoted(plugin), quoted(table));
        let row = self.client().query_typed_one(&sql, &[]).map_err(|e| self.error("counting rows", e))?;
        Ok(row.get(0))
    }

    fn backup(&mut self, plugin: &str, history: Option<&str>) -> Result<Backup, DbError> {
        dump::backup(self.client.get_mut(), &self.config, &self.target, plugin, history)
    }

    fn begin_session(&mut self, dry_run: bool) -> Result<(), DbError> {
        self.check_privileges_once(if dry_run { "BEGIN" } else { "" })?;
        self.dry_run = dry_run;
        Ok(())
    }

    fn end_session(&mut self) {
        self.forget_host_tables();
        if self.dry_run {
            let _ = self.client.get_mut().batch_execute("ROLLBACK");
        }
        self.dry_run = false;
    }

    fn begin_chain(&mut self) -> Result<(), DbError> {
        let (begin, undo) =
            if self.dry_run { ("SAVEPOINT shopdb_chain", "ROLLBACK TO shopdb_chain") } else { ("BEGIN", "ROLLBACK") };
        let millis = self.busy_timeout.as_millis().clamp(1, i32::MAX as u128);
        // The host's schema is made once, before the core chain's history
        // can go in it; the advisory lock is the run lock.
        let sql = format!(
            "{begin}; SET LOCAL lock_timeout = {millis}; SELECT pg_advisory_xact_lock({RUN_LOCK});
             DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'shopdb') THEN CREATE SCHEMA shopdb; END IF; END $$"
        );
        let begun = self.client.get_mut().batch_execute(&sql);
        if let Err(e) = begun {
            let _ = self.client.get_mut().batch_execute(undo);
            return Err(self.error("taking the run lock", e));
        }
        self.chain = Some(Vec::new());
        Ok(())
    }

    fn run_chain(&mut self, run: &ChainRun<'_>, execution: Execution) -> Result<Vec<ChainMigration>, ApplyError> {
        let before: HashSet<i32> = self.applied(&run.history)?.iter().map(|a| a.version).collect();
        let runner_fn = match (&run.policy, run.plugin) {
            (Some(policy), Some(_)) => {
                let layout = roles::Layout::real(&policy.plugin, &policy.depends_on);
                let owner = self.prepare_role(&layout)?;
                let accounted =
                    |name: &str| run.names.is_some_and(|c| c.created_by(name).is_some()) || policy.claims(name);
                self.take_over_schema(&policy.plugin, &layout.role, owner.as_deref(), &accounted)?;
                self.batch_host("preparing the plugin's role and schema", &layout.prepare_grants_and_runner())?;
                Some(layout.runner())
            }
            _ => None,
        };
        if run.policy.is_some() && execution == Execution::Run {
            for migration in run.migrations.iter().filter(|m| !before.contains(&m.version)) {
                if let Some(denial) = roles::refused_before_running(&migration.sql) {
                    return Err(ApplyError::Denied { migration: migration.label(), denial });
                }
            }
        }
        let migrations: Vec<Migration> = run.migrations.iter().map(ChainMigration::to_refinery).collect();
        let target = match (execution, run.target) {
            (Execution::Run, None) => Target::Latest,
            (Execution::Run, Some(v)) => Target::Version(v),
            (Execution::HistoryOnly, None) => Target::Fake,
            (Execution::HistoryOnly, Some(v)) => Target::FakeVersion(v),
        };
        let history = format!("{HOST_SCHEMA}.{}", run.history);
        let mut runner = Runner::new(&migrations)
            .set_grouped(true)
            .set_abort_divergent(true)
            .set_abort_missing(true)
            .set_target(target);
        runner.set_migration_table_name(&history);
        let pending: Vec<&ChainMigration> = run
            .migrations
            .iter()
            .filter(|m| !before.contains(&m.version) && run.target.is_none_or(|t| m.version <= t))
            .collect();
        let watched = match (&self.progress, execution) {
            (Some(progress), Execution::Run) => Some(Watched {
                progress: Arc::clone(progress),
                chain: run.owner.to_owned(),
                labels: pending.iter().enumerate().map(|(i, m)| (m.sql.as_str(), (i + 1, m.label()))).collect(),
                total: pending.len(),
            }),
            _ => None,
        };
        let mut log = self.chain.take().unwrap_or_default();
        let mut client = self.client.borrow_mut();
        let mut driver = Driver {
            client: &mut client,
            runner: runner_fn,
            plugin_sql: run.migrations.iter().map(|m| m.sql.as_str()).collect(),
            watched,
            failed: None,
            log: &mut log,
            held: String::new(),
        };
        let report = runner.run(&mut driver);
        let flushed = if report.is_ok() { driver.flush() } else { Ok(()) };
        let failed = driver.failed.take();
        drop(client);
        self.chain = Some(log);
        let report = match (report, flushed, failed) {
            (Err(e), _, failed) => return Err(self.explain(run, e, failed)),
            (Ok(_), Err(e), failed) => {
                return Err(
                    failed.map_or_else(|| ApplyError::Refinery(e.to_string()), |f| self.failed_statement(run, f))
                )
            }
            (Ok(report), Ok(()), _) => report,
        };
        let after: HashSet<i32> = match execution {
            Execution::Run => report.applied_migrations().iter().map(|m| m.version()).collect(),
            Execution::HistoryOnly => self.applied(&run.history)?.iter().map(|a| a.version).collect(),
        };
        let reached = ChainRun::reached(&before, &after);
        if let (Some(policy), Some(plugin)) = (&run.policy, run.plugin) {
            self.audit_owned(&policy.plugin, policy, run.expected_at(reached))?;
            self.record_plugin(&policy.plugin, plugin, &run.names_owned_at(&policy.owned, reached))?;
        }
        Ok(run.newly_applied(&before, &after))
    }

    fn execute_ddl(
        &mut self,
        policy: &Arc<Policy>,
        sql: &str,
        what: &str,
        _referencing: &[String],
    ) -> Result<(), ApplyError> {
        if let Some(denial) = roles::refused_before_running(sql) {
            return Err(ApplyError::Denied { migration: what.to_owned(), denial });
        }
        let layout = roles::Layout::real(&policy.plugin, &policy.depends_on);
        self.batch_host("preparing the plugin's role and schema", &layout.prepare())?;
        let runner = layout.runner();
        self.log(sql);
        let ran = self.client.get_mut().query_typed(&format!("SELECT {runner}($1)"), &[(&sql, Type::TEXT)]);
        match ran {
            Ok(_) => self.audit_owned(&policy.plugin, policy, None),
            Err(error) => Err(self.refused(what.to_owned(), Some(policy), error)),
        }
    }

    fn mark(&mut self, plugin: &str, version: i32, how: Mark) -> Result<(), ApplyError> {
        self.execute_host(
            "recording how history was written",
            "INSERT INTO shopdb.shopdb_core_marks (plugin, version, how) VALUES ($1, $2, $3)",
            &[(&plugin, Type::TEXT), (&version, Type::INT4), (&how.as_str(), Type::TEXT)],
        )
        .map(drop)
    }

    fn write_audit(&mut self, entry: &AuditEntry<'_>) -> Result<(), DbError> {
        let Some(insert) = self.audit_insert(entry)? else { return Ok(()) };
        self.log(&insert);
        let written = self.client.get_mut().batch_execute(&insert);
        written.map_err(|e| self.error("writing the audit record", e))
    }

    fn drop_plugin(
        &mut self,
        plugin: &str,
        _objects: &[DroppedObject],
        history: Option<&str>,
    ) -> Result<(), ApplyError> {
        let role = roles::role_name(plugin);
        self.forget_host_tables();
        self.batch_host("dropping the plugin's schema", &format!("DROP SCHEMA IF EXISTS {} CASCADE", quoted(plugin)))?;
        if let Some(history) = history {
            self.batch_host("dropping the history", &format!("DROP TABLE IF EXISTS shopdb.{}", quoted(history)))?;
        }
        for (table, column) in [(OWNERS_TABLE, "plugin"), (PLUGINS_TABLE, "name"), (MARKS_TABLE, "plugin")] {
            self.execute_host(
                "forgetting the plugin",
                &format!("DELETE FROM shopdb.{table} WHERE {column} = $1"),
                &[(&plugin, Type::TEXT)],
            )?;
        }
        self.batch_host(
            "dropping the plugin's role",
            &format!(
                "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN DROP OWNED BY {r}; END IF; END $$",
                r = quoted(&role)
            ),
        )
    }

    fn commit_chain(&mut self, closing: Option<&AuditEntry<'_>>) -> Result<Vec<String>, ApplyError> {
        let end = if self.dry_run { "RELEASE shopdb_chain" } else { "COMMIT" };
        // The closing audit entry goes with the commit: one round trip.
        let insert = match closing {
            Some(entry) => self.audit_insert(entry).map_err(ApplyError::Db)?,
            None => None,
        };
        if let Some(insert) = &insert {
            self.log(insert);
        }
        let committed = self.client.get_mut().batch_execute(&format!("{}{end}", insert.unwrap_or_default()));
        if let Err(e) = committed {
            self.forget_host_tables();
            let _ = self.client.get_mut().batch_execute("ROLLBACK");
            return Err(self.apply_error("committing", e));
        }
        Ok(self.chain.take().unwrap_or_default())
    }

    fn rollback_chain(&mut self) {
        self.chain = None;
        self.forget_host_tables();
        let end = if self.dry_run { "ROLLBACK TO shopdb_chain; RELEASE shopdb_chain" } else { "ROLLBACK" };
        let _ = self.client.get_mut().batch_execute(end);
    }

    fn statement_count(&self) -> usize {
        self.chain.as_ref().map_or(0, Vec::len)
    }
}

#[cfg(test)]
mod tests {
    use super::literal;

    #[test]
    fn a_literal_escapes_quotes_and_backslashes_whatever_the_server_makes_of_backslashes() {
        assert_eq!(literal("plain"), "E'plain'");
        assert_eq!(literal("it's"), "E'it''s'");
        assert_eq!(literal(r"'^\+[1-9]$'"), r"E'''^\\+[1-9]$'''");
        assert_eq!(literal(r"\'"), r"E'\\'''");
    }
}
