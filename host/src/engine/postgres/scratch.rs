//! Scratch databases for the checks on PostgreSQL: a transaction on the
//! operator's server that is always rolled back, never the operator's data.
//!
//! The connection creates the core chain's collations (`nocase`) in its
//! session's temporary schema, each committed at once: creating a collation
//! locks `pg_collation` until its transaction ends, and a scratch held open
//! with that lock would stall every other host's core run (which creates
//! the same collation) and every other scratch. It then opens one
//! transaction and applies the rest of the core chain into a schema of its
//! own there (`shopdb_scratch_<pid>_<n>`), every `COLLATE` of those names
//! written `COLLATE pg_temp.<name>` (PostgreSQL never looks for collations
//! in the temporary schema unasked), as is the SQL of the plugins it holds;
//! each scratch database is a savepoint in it, rolled back when dropped.
//! There is one such connection, reused: a new one replays the core chain,
//! and [`ScratchSource::release`] rolls it back before the real runs. In the
//! savepoint, the plugin gets a role and a schema of scratch names, laid out
//! as in a real run ([`super::roles::Layout`]); the other plugins its SQL
//! names get schemas built from their PostgreSQL DDL, once per connection,
//! below the savepoints (what the plugin checked does to them is rolled back
//! with its savepoint). Roles and schemas are transactional in PostgreSQL:
//! nothing of it outlives the rollback.

use super::catalog;
use super::roles::{refused_before_running, Layout};
use crate::core_schema;
use crate::engine::{Denial, Dialect, Policy, Scratch, ScratchError, ScratchSource, SqlError, Touched};
use crate::plugins::inventory::Inventory;
use crate::schema::names::quoted;
use crate::schema::names::ObjectKind;
use crate::schema::sqltext::{qualify_collations, statements, tokenize, Token};
use crate::schema::Schema;
use postgres::types::Type;
use postgres::{Client, Config, NoTls};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

fn setup(what: &'static str) -> impl Fn(postgres::Error) -> ScratchError {
    move |e| ScratchError::Setup { what, reason: super::message(&e) }
}

/// What a scratch database needs to know of a plugin other than the one
/// checked: its tables, its PostgreSQL DDL, its dependencies.
#[derive(Debug, Clone)]
struct Other {
    tables: Vec<String>,
    ddl: String,
    depends_on: Vec<String>,
}

/// A pooled connection with its transaction and its core schema.
struct Pooled {
    client: Client,
    /// The scratch names' prefix on this connection.
    prefix: String,
    /// The reads after each statement, prepared on this connection.
    reads: catalog::Prepared,
    /// The other plugins whose schemas are made on this connection.
    built: BTreeSet<String>,
}

/// The PostgreSQL [`ScratchSource`] for one inventory's plugins.
pub struct PgScratches {
    config: Config,
    plugins: BTreeMap<String, Other>,
    pool: Arc<Pool>,
    made: AtomicUsize,
    base: BTreeSet<String>,
    core: Arc<CoreChain>,
}

/// The core chain as a scratch connection applies it.
#[derive(Debug, Clone, Default)]
struct CoreChain {
    /// `CREATE COLLATION pg_temp.<name> …`, one statement each, run outside
    /// any transaction.
    collations: Vec<String>,
    /// The collations' names (lowercase).
    names: Vec<String>,
    /// The rest of the chain, those collations named in `pg_temp`.
    rest: String,
}

impl CoreChain {
    fn new() -> CoreChain {
        let mut core = CoreChain::default();
        let mut rest = String::new();
        for migration in core_schema::chain_for(Dialect::Postgres) {
            for statement in statements(&migration.sql) {
                let tokens = tokenize(statement);
                let creates_collation =
                    tokens.len() > 2 && tokens[0].is_word("create") && tokens[1].is_word("collation");
                match tokens.get(2).filter(|_| creates_collation) {
                    Some(Token::Word(name)) if !tokens.get(3).is_some_and(|t| t.is_punct(".")) => {
                        let at = statement.to_lowercase().find(name.as_str()).unwrap_or(0);
                        core.collations.push(format!("{}pg_temp.{}", &statement[..at], &statement[at..]));
                        core.names.push(name.clone());
                    }
                    _ => {
                        rest.push_str(statement);
                        rest.push('\n');
                    }
                }
            }
        }
        core.rest = core.qualified(&rest);
        core
    }

    /// `sql` with the core collations it names looked for in `pg_temp`.
    fn qualified(&self, sql: &str) -> String {
        qualify_collations(sql, &self.names, "pg_temp")
    }
}

/// The idle connection, if any, and whether one is lent out.
#[derive(Default)]
struct Pool {
    state: Mutex<PoolState>,
    returned: Condvar,
}

#[derive(Default)]
struct PoolState {
    idle: Option<Pooled>,
    lent: bool,
}

impl Pool {
    fn state(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The idle connection, or none when a new one may be made; waits while
    /// the connection is lent out.
    fn borrow(&self) -> Option<Pooled> {
        let mut state = self.state();
        while state.lent {
            state = self.returned.wait(state).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        state.lent = true;
        state.idle.take()
    }

    /// Gives the lent connection back (none: it broke, or was never made).
    fn give_back(&self, pooled: Option<Pooled>) {
        let mut state = self.state();
        state.idle = pooled;
        state.lent = false;
        self.returned.notify_one();
    }
}

impl std::fmt::Debug for PgScratches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgScratches").field("plugins", &self.plugins.len()).finish_non_exhaustive()
    }
}

impl PgScratches {
    /// Scratch databases on the server `config` connects to, for
    /// `inventory`'s plugins.
    pub fn new(config: Config, inventory: &Inventory) -> PgScratches {
        let plugins = inventory
            .plugins
            .iter()
            .filter_map(|p| {
                let (ddl, _) = p.manifest.sql_for(Dialect::Postgres)?;
                let other = Other {
                    tables: p.manifest.tables.clone(),
                    ddl: ddl.to_owned(),
                    depends_on: p.manifest.depends_on.clone(),
                };
                Some((p.manifest.name.clone(), other))
            })
            .collect();
        let base = core_schema::objects().keys().cloned().collect();
        PgScratches {
            config,
            plugins,
            pool: Arc::default(),
            made: AtomicUsize::new(0),
            base,
            core: Arc::new(CoreChain::new()),
        }
    }

    /// The connection, lent until given back to the pool.
    fn connection(&self) -> Result<Pooled, ScratchError> {
        if let Some(pooled) = self.pool.borrow() {
            return Ok(pooled);
        }
        let made = self.connect();
        if made.is_err() {
            self.pool.give_back(None);
        }
        made
    }

    fn connect(&self) -> Result<Pooled, ScratchError> {
        let n = self.made.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("shopdb_scratch_{}_{n}", std::process::id());
        let mut client = self.config.connect(NoTls).map_err(setup("connecting for the checks"))?;
        let core = quoted(&format!("{prefix}_core"));
        let mut collations = String::from("SET client_min_messages = warning;\n");
        for collation in &self.core.collations {
            collations.push_str(collation);
            collations.push('\n');
        }
        // One implicit transaction, committed before the scratch one begins.
        client.simple_query(&collations).map_err(setup("creating the core collations in a scratch session"))?;
        let sql = format!("BEGIN; CREATE SCHEMA {core}; SET LOCAL search_path = {core}, pg_temp;\n{}", self.core.rest);
        client.batch_execute(&sql).map_err(setup("applying the core chain in a scratch schema"))?;
        let reads = catalog::Prepared::new(&mut client).map_err(setup("preparing the catalog reads"))?;
        Ok(Pooled { client, prefix, reads, built: BTreeSet::new() })
    }
}

/// A scratch name on connection `prefix` for `name`: short enough for
/// PostgreSQL's 63 characters, distinct for distinct names.
fn scratch_name(prefix: &str, name: &str) -> String {
    let full = format!("{prefix}_{name}");
    if full.len() <= 63 {
        return full;
    }
    let mut hash: u32 = 2166136261;
    for byte in name.bytes() {
        hash = (hash ^ u32::from(byte)).wrapping_mul(16777619);
    }
    format!("{}_{hash:08x}", &full[..54])
}

impl ScratchSource for PgScratches {
    fn base_names(&self) -> &BTreeSet<String> {
        &self.base
    }

    fn parallelism(&self) -> usize {
        1
    }

    fn usable_beside_runs(&self, one_transaction: bool) -> bool {
        // A scratch session creating its collation waits for a run's
        // transaction that created the core's: a commit away, except in a
        // dry run, whose one transaction waits for the verdicts.
        !one_transaction
    }

    fn release(&self) {
        // Rolled back here, not when the session ends, so that the locks are
        // gone before the runs start.
        if let Some(mut pooled) = self.pool.state().idle.take() {
            let _ = pooled.client.batch_execute("ROLLBACK");
        }
    }

    fn scratch(
        &self,
        plugin: &str,
        depends_on: &[String],
        others: &BTreeSet<String>,
    ) -> Result<Box<dyn Scratch>, ScratchError> {
        let mut pooled = self.connection()?;
        let prefix = pooled.prefix.clone();
        let core = format!("{prefix}_core");
        let name = |p: &str| scratch_name(&prefix, p);
        // The other plugins it names and their dependencies, dependencies first.
        let mut wanted: Vec<String> = Vec::new();
        fn visit(p: &str, plugins: &BTreeMap<String, Other>, wanted: &mut Vec<String>) {
            if wanted.iter().any(|w| w == p) {
                return;
            }
            if let Some(other) = plugins.get(p) {
                for dependency in &other.depends_on {
                    visit(dependency, plugins, wanted);
                }
                wanted.push(p.to_owned());
            }
        }
        for dependency in depends_on {
            visit(dependency, &self.plugins, &mut wanted);
        }
        for table in others {
            if let Some((owner, _)) = self.plugins.iter().find(|(_, o)| o.tables.contains(table)) {
                visit(owner, &self.plugins, &mut wanted);
            }
        }
        wanted.retain(|p| p != plugin);
        // The others' schemas outlive this scratch database: made once on
        // the connection, below every scratch's savepoint, under names of
        // their own (a plugin checked later is not the one made here).
        let other = |p: &str| scratch_name(&format!("{prefix}d"), p);
        let missing: Vec<&String> = wanted.iter().filter(|w| !pooled.built.contains(*w)).collect();
        for wanted in missing {
            let Some(found) = self.plugins.get(wanted) else { continue };
            let mut path: Vec<String> = vec![quoted(&other(wanted))];
            path.extend(found.depends_on.iter().map(|d| quoted(&other(d))));
            path.push(quoted(&core));
            path.push("pg_temp".into());
            let sql = format!(
                "SAVEPOINT shopdb_scratch_other; CREATE SCHEMA {s}; SET LOCAL search_path = {path};\n{ddl};\n\
                 RELEASE SAVEPOINT shopdb_scratch_other; SET LOCAL search_path = {core}, pg_temp;",
                s = quoted(&other(wanted)),
                path = path.join(", "),
                ddl = self.core.qualified(&found.ddl),
                core = quoted(&core),
            );
            if let Err(e) = pooled.client.batch_execute(&sql) {
                let kept = pooled
                    .client
                    .batch_execute(&format!(
                        "ROLLBACK TO SAVEPOINT shopdb_scratch_other; RELEASE SAVEPOINT shopdb_scratch_other; \
                         SET LOCAL search_path = {}, pg_temp",
                        quoted(&core)
                    ))
                    .is_ok();
                self.pool.give_back(kept.then_some(pooled));
                return Err(setup("laying out a scratch schema")(e));
            }
            pooled.built.insert(wanted.clone());
        }
        let mut sql = String::from("SAVEPOINT shopdb_scratch;\n");
        let layout = Layout {
            role: name(&format!("role_{plugin}")),
            schema: name(plugin),
            dependencies: depends_on.iter().map(|d| other(d)).collect(),
            host: core,
        };
        sql.push_str(&layout.prepare());
        sql.push_str("SAVEPOINT shopdb_scratch_made;\n");
        if let Err(e) = pooled.client.batch_execute(&sql) {
            let kept = pooled.client.batch_execute("ROLLBACK TO SAVEPOINT shopdb_scratch").is_ok();
            self.pool.give_back(kept.then_some(pooled));
            return Err(setup("laying out a scratch schema")(e));
        }
        Ok(Box::new(PgScratch {
            pooled: Some(pooled),
            pool: Arc::clone(&self.pool),
            layout,
            core: Arc::clone(&self.core),
            objects: None,
        }))
    }
}

/// One scratch database: a savepoint on a pooled connection.
struct PgScratch {
    pooled: Option<Pooled>,
    pool: Arc<Pool>,
    layout: Layout,
    core: Arc<CoreChain>,
    /// The plugin schema's objects after the last statement run, when
    /// nothing has happened since: the next run's "before".
    objects: Option<BTreeMap<String, ObjectKind>>,
}

impl PgScratch {
    fn client(&mut self) -> &mut Client {
        &mut self.pooled.as_mut().expect("a scratch database holds its connection until dropped").client
    }
}

impl PgScratch {
    fn pooled(&mut self) -> &mut Pooled {
        self.pooled.as_mut().expect("a scratch database holds its connection until dropped")
    }

    /// The objects of the plugin's schema now.
    fn objects_now(&mut self) -> Result<BTreeMap<String, ObjectKind>, postgres::Error> {
        let schema = self.layout.schema.clone();
        let Pooled { client, reads, .. } = self.pooled();
        reads.objects(client, &schema)
    }

    /// What the plugin's role owns now.
    fn owned_now(&mut self, role: &str) -> Result<catalog::Owned, postgres::Error> {
        let schema = self.layout.schema.clone();
        let Pooled { client, reads, .. } = self.pooled();
        reads.owned_by(client, role, &schema)
    }
}

impl Drop for PgScratch {
    fn drop(&mut self) {
        if let Some(mut pooled) = self.pooled.take() {
            let rolled_back = pooled
                .client
                .batch_execute("ROLLBACK TO SAVEPOINT shopdb_scratch; RELEASE SAVEPOINT shopdb_scratch")
                .is_ok();
            self.pool.give_back(rolled_back.then_some(pooled));
        }
    }
}

impl Scratch for PgScratch {
    fn run_as(&mut self, policy: &Arc<Policy>, sql: &str) -> Result<Touched, SqlError> {
        if let Some(denial) = refused_before_running(sql) {
            return Err(SqlError::Denied(denial));
        }
        let runner = self.layout.runner();
        let before = match self.objects.take() {
            Some(objects) => objects,
            None => self.objects_now().map_err(|e| SqlError::Failed(super::message(&e)))?,
        };
        let sql = self.core.qualified(sql);
        if let Err(error) = self.client().query_typed(&format!("SELECT {runner}($1)"), &[(&sql, Type::TEXT)]) {
            return Err(match super::denial(policy, &error) {
                Some(denial) => SqlError::Denied(denial),
                None => SqlError::Failed(super::message(&error)),
            });
        }
        let role = self.layout.role.clone();
        let owned = self.owned_now(&role).map_err(|e| SqlError::Failed(super::message(&e)))?;
        if let Some((object, reason)) = owned.forbidden(super::roles::RUNNER) {
            return Err(SqlError::Denied(Denial { action: format!("creating {object}"), reason: reason.into() }));
        }
        let after = self.objects_now().map_err(|e| SqlError::Failed(super::message(&e)))?;
        let did_something = !tokenize(&sql).is_empty();
        let named: BTreeMap<String, ObjectKind> =
            after.iter().filter(|(n, _)| !before.contains_key(*n)).map(|(n, k)| (n.clone(), *k)).collect();
        self.objects = Some(after);
        Ok(Touched {
            created: named
                .iter()
                .filter(|(_, k)| matches!(k, ObjectKind::Table | ObjectKind::View))
                .map(|(n, _)| n.clone())
                .collect(),
            views: named.iter().filter(|(_, k)| **k == ObjectKind::View).map(|(n, _)| n.clone()).collect(),
            named,
            changed: did_something,
            schema: did_something,
            ..Touched::default()
        })
    }

    fn rewind(&mut self) -> Result<(), ScratchError> {
        self.objects = None;
        self.client()
            .batch_execute("ROLLBACK TO SAVEPOINT shopdb_scratch_made")
            .map_err(setup("rolling the scratch back"))
    }

    fn created_objects(&mut self) -> Result<BTreeMap<String, ObjectKind>, ScratchError> {
        if let Some(objects) = &self.objects {
            return Ok(objects.clone());
        }
        self.objects_now().map_err(setup("reading the schema"))
    }

    fn schema(&mut self, tables: &dyn Fn(&str) -> bool) -> Result<Schema, ScratchError> {
        let schema = self.layout.schema.clone();
        let path = format!("SET LOCAL search_path = {}", self.layout.search_path());
        let client = self.client();
        client.batch_execute(&path).map_err(setup("reading the schema"))?;
        catalog::read(client, &schema, tables).map_err(setup("reading the schema"))
    }
}
