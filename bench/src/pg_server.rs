//! The bench's own PostgreSQL server: `initdb` in a temporary directory,
//! the server listening only on a Unix socket there, with PostgreSQL's
//! default durability (`fsync`, `synchronous_commit` and `full_page_writes`
//! on: nothing is passed to weaken them). Stopped when dropped.
//!
//! PostgreSQL refuses to run as root, so as root the server runs as the
//! `postgres` OS user (as in `tests/src/postgres.rs`, whose server runs with
//! `fsync=off` and is not used here). The binaries are found on `PATH` or
//! in the newest `/usr/lib/postgresql/<version>/bin`.

use postgres::{Client, NoTls};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The role the host connects as: what an operator makes for it.
pub const HOST_ROLE: &str = "shopdb_host";

/// A running server.
#[derive(Debug)]
pub struct Server {
    root: PathBuf,
    bin: PathBuf,
    socket: PathBuf,
    as_postgres: bool,
    /// `PostgreSQL 15.18 (…)`, as `postgres --version` says it.
    pub version: String,
}

fn bin_dir() -> PathBuf {
    if let Ok(found) = Command::new("sh").args(["-c", "command -v initdb"]).output() {
        let path = String::from_utf8_lossy(&found.stdout).trim().to_owned();
        if found.status.success() && !path.is_empty() {
            let real = std::fs::canonicalize(&path).unwrap_or_else(|_| PathBuf::from(&path));
            return real.parent().unwrap().to_owned();
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("no initdb on PATH and no /usr/lib/postgresql: install PostgreSQL")
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop().expect("no initdb under /usr/lib/postgresql/*/bin")
}

impl Server {
    /// Makes a cluster and starts it. `extra` are more `-c name=value`
    /// settings (none weakening durability).
    pub fn start(extra: &[&str]) -> Server {
        let bin = bin_dir();
        // SAFETY: geteuid has no preconditions.
        let as_postgres = unsafe { libc::geteuid() } == 0;
        let root = std::env::temp_dir().join(format!("shopdb-bench-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("socket")).unwrap();
        let version =
            String::from_utf8_lossy(&Command::new(bin.join("postgres")).arg("--version").output().unwrap().stdout)
                .trim()
                .trim_start_matches("postgres ")
                .replace("(PostgreSQL) ", "PostgreSQL ");
        let server = Server { socket: root.join("socket"), root, bin, as_postgres, version };
        if as_postgres {
            let chown = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&server.root).status().unwrap();
            assert!(chown.success(), "running as root, but `chown postgres` failed: is there a postgres user?");
        }
        let data = server.root.join("data");
        let init = server.run(
            &server.bin.join("initdb"),
            &["-D", &data.to_string_lossy(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
        );
        assert!(init.status.success(), "initdb failed: {}", String::from_utf8_lossy(&init.stderr));
        let mut options = format!("-c listen_addresses='' -c unix_socket_directories='{}'", server.socket.display());
        for setting in extra {
            options.push_str(" -c ");
            options.push_str(setting);
        }
        let log = server.root.join("server.log");
        let started = server.pg_ctl(&["start", "-w", "-t", "60", "-l", &log.to_string_lossy(), "-o", &options]);
        if !started.status.success() {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("pg_ctl start failed: {}{log}", String::from_utf8_lossy(&started.stderr));
        }
        let mut admin = server.admin("postgres");
        for setting in ["fsync", "synchronous_commit", "full_page_writes"] {
            let value: String = admin.query_one(&format!("SHOW {setting}"), &[]).unwrap().get(0);
            assert_eq!(value, "on", "the bench's server must keep PostgreSQL's default durability ({setting})");
        }
        admin.batch_execute(&format!("CREATE ROLE {HOST_ROLE} LOGIN CREATEROLE")).unwrap();
        server
    }

    fn run(&self, program: &Path, args: &[&str]) -> std::process::Output {
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        command.args(args).current_dir(&self.root).output().unwrap()
    }

    fn pg_ctl(&self, args: &[&str]) -> std::process::Output {
        let data = self.root.join("data").to_string_lossy().into_owned();
        let mut all = vec!["-D", data.as_str()];
        all.extend_from_slice(args);
        self.run(&self.bin.join("pg_ctl"), &all)
    }

    /// The directory of the server's socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// A superuser connection to `database`.
    pub fn admin(&self, database: &str) -> Client {
        connect(&self.socket, "postgres", database)
    }

    /// A new empty database owned by the host's role (`template`: copied
    /// from that database instead, file by file).
    pub fn create_database(&self, name: &str, template: Option<&str>) {
        let sql = match template {
            Some(t) => format!("CREATE DATABASE {name} OWNER {HOST_ROLE} TEMPLATE {t} STRATEGY FILE_COPY"),
            None => format!("CREATE DATABASE {name} OWNER {HOST_ROLE}"),
        };
        self.admin("postgres").batch_execute(&sql).unwrap();
    }

    /// Drops databases, then every plugin role the host made, so that the
    /// next fresh run meets a server that has never seen the plugins.
    pub fn drop_databases(&self, names: &[&str]) {
        let mut admin = self.admin("postgres");
        for name in names {
            admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
        }
        let roles: Vec<String> = admin
            .query("SELECT rolname::text FROM pg_roles WHERE rolname LIKE 'shopdb\\_plugin\\_%'", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        for role in roles {
            // A role still owning something in a database kept (a template)
            // stays.
            let _ = admin.batch_execute(&format!("DROP ROLE \"{role}\""));
        }
    }

    /// Writes every dirty buffer and the WAL before a timed section (the
    /// server's `sync`).
    pub fn checkpoint(&self) {
        self.admin("postgres").batch_execute("CHECKPOINT").unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["stop", "-m", "fast", "-w"]);
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// `database` on the server whose socket is in `socket`, as the host's
/// role, as a URL.
pub fn url(socket: &Path, database: &str) -> String {
    let socket = socket.to_string_lossy().replace('/', "%2F");
    format!("postgresql://{HOST_ROLE}@{socket}/{database}")
}

/// A connection to `database` as `user` over the socket in `socket`.
pub fn connect(socket: &Path, user: &str, database: &str) -> Client {
    let config = format!("host={} user={user} dbname={database}", socket.display());
    Client::connect(&config, NoTls).unwrap_or_else(|e| panic!("connecting to the bench's server as {user}: {e}"))
}
