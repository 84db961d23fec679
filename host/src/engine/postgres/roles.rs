//! Each plugin's role, schema and privileges on PostgreSQL, and the one
//! function its SQL runs through.
//!
//! Why a `SECURITY DEFINER` function and not `SET LOCAL ROLE`: after `SET
//! ROLE`, the plugin's own SQL could run `RESET ROLE` (or `SET ROLE NONE`
//! inside a `DO` block) and continue with the host's privileges. Inside a
//! security-definer function PostgreSQL refuses every way of changing the
//! role or the session user, and the function runs inside the host's one
//! transaction (a separate login as the plugin's role would be the other
//! sound design, but then the chain and its history would commit in two
//! sessions).

use crate::core_schema;
use crate::engine::Denial;
use crate::schema::names::quoted;
use crate::schema::sqltext::{tokenize, Token};
use sha2::{Digest, Sha256};

/// The function, in each plugin's schema, that runs the plugin's SQL.
pub const RUNNER: &str = "shopdb_run";

/// The role of plugin `plugin`: `shopdb_plugin_<name>`, shortened with a
/// hash to PostgreSQL's 63 characters when the name is long. Roles belong
/// to the whole server: one database's plugin shares its role with the
/// same plugin in a sister site's database on that server.
pub fn role_name(plugin: &str) -> String {
    let role = format!("shopdb_plugin_{plugin}");
    if role.len() <= 63 {
        return role;
    }
    let digest: String = Sha256::digest(plugin.as_bytes()).iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{}_{digest}", &role[..54])
}

/// Where a plugin's SQL runs: its role, its schema, its dependencies'
/// schemas and the host's schema (in the operator's database, the plugins'
/// own names and `shopdb`; in a scratch database, names of its own).
#[derive(Debug, Clone)]
pub struct Layout {
    /// The plugin's role.
    pub role: String,
    /// The plugin's schema.
    pub schema: String,
    /// Its dependencies' schemas, in `depends_on` order.
    pub dependencies: Vec<String>,
    /// The schema holding the core tables.
    pub host: String,
}

impl Layout {
    /// The layout in the operator's database.
    pub fn real(plugin: &str, depends_on: &[String]) -> Layout {
        Layout {
            role: role_name(plugin),
            schema: plugin.to_owned(),
            dependencies: depends_on.to_vec(),
            host: super::HOST_SCHEMA.to_owned(),
        }
    }

    /// The plugin's `search_path`: its schema, its dependencies', the
    /// host's, then `pg_temp` (last: a temporary table never shadows).
    pub fn search_path(&self) -> String {
        let mut path: Vec<String> = vec![quoted(&self.schema)];
        path.extend(self.dependencies.iter().map(|d| quoted(d)));
        path.push(quoted(&self.host));
        path.push("pg_temp".into());
        path.join(", ")
    }

    /// `"schema".shopdb_run`, to call with the SQL as its one argument.
    pub fn runner(&self) -> String {
        format!("{}.{RUNNER}", quoted(&self.schema))
    }

    /// What the role is granted outside its own schema: use of the host's
    /// schema, reading and referencing the core's shared tables and its
    /// dependencies' tables.
    pub fn grants(&self) -> String {
        let (r, host) = (quoted(&self.role), quoted(&self.host));
        let shared: Vec<String> = core_schema::tables().iter().map(|t| format!("{host}.{}", quoted(t))).collect();
        let mut sql = format!(
            "GRANT USAGE ON SCHEMA {host} TO {r};\nGRANT SELECT, REFERENCES ON {} TO {r};\n",
            shared.join(", ")
        );
        for dependency in &self.dependencies {
            let d = quoted(dependency);
            sql.push_str(&format!(
                "GRANT USAGE ON SCHEMA {d} TO {r}; GRANT SELECT, REFERENCES ON ALL TABLES IN SCHEMA {d} TO {r};\n"
            ));
        }
        sql
    }

    /// The statements that make (or bring up to date) the role, the schema,
    /// the privileges and the runner before the plugin's SQL runs: the role
    /// owns its schema, may use the host's schema and read and reference the
    /// core's shared tables and its dependencies' tables, and nothing else;
    /// the host is a member of the role (to make objects owned by it), never
    /// the other way round. Idempotent; run inside a transaction.
    pub fn prepare(&self) -> String {
        let mut sql = self.prepare_role();
        sql.push_str(&self.prepare_grants_and_runner());
        sql
    }

    /// The first part of [`Layout::prepare`]: the role, the host's
    /// membership in it, and the schema when there is none.
    pub fn prepare_role(&self) -> String {
        let (r, schema) = (quoted(&self.role), quoted(&self.schema));
        let (role, name) = (self.role.replace('\'', "''"), self.schema.replace('\'', "''"));
        format!(
            "DO $$ BEGIN
               -- A sister site's host on the same server may be making the
               -- same role at this moment: the loser of that race finds it made.
               -- Having waited for the winner's commit, this backend's caches
               -- still say there is no such role (the next lookup by name would
               -- fail) until it takes pg_authid's lock again: a second CREATE
               -- does, and finds the role.
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                 BEGIN
                   CREATE ROLE {r} NOLOGIN NOINHERIT NOCREATEDB NOCREATEROLE;
                 EXCEPTION WHEN duplicate_object OR unique_violation THEN
                   BEGIN
                     CREATE ROLE {r} NOLOGIN NOINHERIT NOCREATEDB NOCREATEROLE;
                   EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
                   END;
                 END;
               END IF;
               IF NOT pg_has_role(current_user, '{role}', 'MEMBER') THEN
                 BEGIN
                   GRANT {r} TO CURRENT_USER;
                 EXCEPTION WHEN unique_violation THEN NULL;
                 END;
               END IF;
               IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = '{name}') THEN
                 CREATE SCHEMA {schema} AUTHORIZATION {r};
               END IF;
             END $$;\n"
        )
    }

    /// The second part of [`Layout::prepare`]: the grants and the runner.
    pub fn prepare_grants_and_runner(&self) -> String {
        let (r, schema) = (quoted(&self.role), quoted(&self.schema));
        let mut sql = self.grants();
        sql.push_str(&format!(
            "CREATE OR REPLACE FUNCTION {schema}.{RUNNER}(sql text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
               SET search_path = {path} AS $fn$ BEGIN EXECUTE sql; END $fn$;
             ALTER FUNCTION {schema}.{RUNNER}(text) OWNER TO {r};
             REVOKE ALL ON FUNCTION {schema}.{RUNNER}(text) FROM PUBLIC;\n",
            path = self.search_path()
        ));
        sql
    }
}

/// What the host refuses before running a plugin's SQL on PostgreSQL, where
/// the server's privileges would let it through: `LISTEN`, `NOTIFY` and
/// `pg_notify`, which reach other sessions (the applications') through the
/// server.
pub fn refused_before_running(sql: &str) -> Option<Denial> {
    let tokens = tokenize(sql);
    let mut at_start = true;
    for (i, token) in tokens.iter().enumerate() {
        let starts = std::mem::replace(&mut at_start, token.is_punct(";"));
        let Token::Word(word) = token else { continue };
        let statement = starts && matches!(word.as_str(), "listen" | "notify" | "unlisten");
        let call = word == "pg_notify" && tokens.get(i + 1).is_some_and(|t| t.is_punct("("));
        if statement || call {
            return Some(Denial {
                action: word.to_uppercase(),
                reason: "plugins may not signal other sessions (LISTEN, NOTIFY, pg_notify) from a migration".into(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_fit_postgresql_and_stay_apart() {
        assert_eq!(role_name("printers"), "shopdb_plugin_printers");
        let long = "p".repeat(63);
        let other = format!("{}q", "p".repeat(62));
        assert!(role_name(&long).len() <= 63 && role_name(&other).len() <= 63);
        assert_ne!(role_name(&long), role_name(&other));
    }

    #[test]
    fn signalling_other_sessions_is_refused_by_its_words() {
        for sql in ["NOTIFY ch", "select 1; listen ch", "SELECT pg_notify('ch', 'x')"] {
            assert!(refused_before_running(sql).is_some(), "{sql}");
        }
        assert_eq!(refused_before_running("CREATE TABLE notify_log (listen text)"), None);
    }
}
