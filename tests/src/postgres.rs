//! A real PostgreSQL server for the tests, started by the test binary
//! itself: `initdb` in a temporary directory, the server listening only on a
//! Unix socket in it, `fsync=off`; one server per test binary, stopped when
//! the binary exits, and one database per test.
//!
//! PostgreSQL refuses to run as root, so as root the server runs as the
//! `postgres` OS user. The binaries are found on `PATH` or in
//! `/usr/lib/postgresql/<version>/bin` (`.ci/run` installs Debian's
//! `postgresql` where they are missing). A server that cannot start fails
//! the test with the reason; nothing is skipped.

use postgres::{Client, NoTls};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The role the host connects as in the tests: what an operator would make
/// for it (`LOGIN CREATEROLE`), owning each test database.
pub const HOST_ROLE: &str = "shopdb_host";

/// A role that must give its password, [`PASSWORD`], to log in.
pub const PASSWORD_ROLE: &str = "shopdb_pw";
/// [`PASSWORD_ROLE`]'s password.
pub const PASSWORD: &str = "s3cret-Horse-battery";

/// The running test server.
#[derive(Debug)]
pub struct Server {
    /// The data directory and socket directory live here.
    root: PathBuf,
    bin: PathBuf,
    socket: PathBuf,
    run_as_postgres: bool,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// The server of this test binary, started on first use.
#[track_caller]
pub fn server() -> &'static Server {
    match SERVER.get_or_init(Server::start) {
        Ok(server) => server,
        Err(reason) => panic!("the PostgreSQL test server could not start: {reason}"),
    }
}

fn bin_dir() -> Result<PathBuf, String> {
    if let Ok(found) = Command::new("sh").args(["-c", "command -v initdb"]).output() {
        let path = String::from_utf8_lossy(&found.stdout).trim().to_owned();
        if found.status.success() && !path.is_empty() {
            let real = std::fs::canonicalize(&path).unwrap_or_else(|_| PathBuf::from(&path));
            return Ok(real.parent().map(Path::to_owned).unwrap_or_default());
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| {
            "no initdb on PATH and no /usr/lib/postgresql: install PostgreSQL (Debian: apt-get install postgresql)"
                .to_owned()
        })?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop().ok_or_else(|| "no initdb under /usr/lib/postgresql/*/bin: install PostgreSQL".to_owned())
}

extern "C" fn stop_at_exit() {
    if let Some(Ok(server)) = SERVER.get() {
        let _ = server.pg_ctl(&["stop", "-m", "immediate", "-w"]);
        let _ = std::fs::remove_dir_all(&server.root);
    }
}

impl Server {
    fn start() -> Result<Server, String> {
        let bin = bin_dir()?;
        // SAFETY: geteuid has no preconditions.
        let run_as_postgres = unsafe { libc::geteuid() } == 0;
        let root = std::env::temp_dir().join(format!("shopdb-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("socket")).map_err(|e| format!("creating {}: {e}", root.display()))?;
        let server = Server { socket: root.join("socket"), root, bin, run_as_postgres };
        if run_as_postgres {
            let chown = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&server.root).status();
            if !chown.is_ok_and(|s| s.success()) {
                return Err(format!(
                    "running as root, but `chown postgres {}` failed: is there a postgres user?",
                    server.root.display()
                ));
            }
        }
        let data = server.root.join("data");
        let init = server.run(
            &server.bin.join("initdb"),
            &["-D", &data.to_string_lossy(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
        )?;
        if !init.status.success() {
            return Err(format!("initdb failed: {}", String::from_utf8_lossy(&init.stderr)));
        }
        // One role logs in with a password (the tests of authentication,
        // PGPASSWORD and .pgpass); every other local connection is trusted.
        let hba = data.join("pg_hba.conf");
        let rules = format!("local all {PASSWORD_ROLE} scram-sha-256\nlocal all all trust\n");
        std::fs::write(&hba, rules).map_err(|e| format!("writing {}: {e}", hba.display()))?;
        let options = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            server.socket.display()
        );
        let log = server.root.join("server.log");
        let started = server.pg_ctl(&["start", "-w", "-t", "60", "-l", &log.to_string_lossy(), "-o", &options])?;
        if !started.status.success() {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!("pg_ctl start failed: {}{log}", String::from_utf8_lossy(&started.stderr)));
        }
        // SAFETY: registering a plain function to run at exit.
        unsafe { libc::atexit(stop_at_exit) };
        let mut admin = server.admin();
        admin
            .batch_execute(&format!(
                "CREATE ROLE {HOST_ROLE} LOGIN CREATEROLE; CREATE ROLE shopdb_app LOGIN;
                 CREATE ROLE {PASSWORD_ROLE} LOGIN CREATEROLE PASSWORD '{PASSWORD}'"
            ))
            .map_err(|e| format!("creating the test roles: {e}"))?;
        Ok(server)
    }

    fn run(&self, program: &Path, args: &[&str]) -> Result<std::process::Output, String> {
        let mut command = if self.run_as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        command.args(args).current_dir(&self.root).output().map_err(|e| format!("{}: {e}", program.display()))
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<std::process::Output, String> {
        let data = self.root.join("data").to_string_lossy().into_owned();
        let mut all = vec!["-D", data.as_str()];
        all.extend_from_slice(args);
        self.run(&self.bin.join("pg_ctl"), &all)
    }

    /// The directory of the server's Unix socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The directory holding the server's programs (`pg_dump`, `psql`).
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// A superuser connection, for setting up and inspecting.
    pub fn admin(&self) -> Client {
        self.connect_as("postgres", "postgres")
    }

    /// A connection to `database` as `user`.
    pub fn connect_as(&self, user: &str, database: &str) -> Client {
        let config = format!("host={} user={user} dbname={database}", self.socket.display());
        Client::connect(&config, NoTls).unwrap_or_else(|e| panic!("connecting to the test server as {user}: {e}"))
    }

    /// A new empty database owned by the host's role; its URL.
    pub fn database(&self) -> TestDatabase {
        self.database_owned_by(HOST_ROLE)
    }

    /// A new empty database owned by `owner`.
    pub fn database_owned_by(&self, owner: &str) -> TestDatabase {
        let n = DATABASES.fetch_add(1, Ordering::Relaxed);
        let name = format!("t{}_{n}", std::process::id());
        self.admin().batch_execute(&format!("CREATE DATABASE {name} OWNER {owner}")).expect("a test database");
        TestDatabase { name, socket: self.socket.clone() }
    }

    /// Stops the server now (for tests of a server that goes away).
    pub fn restart(&self) {
        // With its log file: the new server must not hold this command's pipes.
        let log = self.root.join("server.log").to_string_lossy().into_owned();
        let output = self.pg_ctl(&["restart", "-m", "fast", "-w", "-l", &log]).expect("pg_ctl restart runs");
        assert!(output.status.success(), "restarting the test server: {}", String::from_utf8_lossy(&output.stderr));
    }
}

/// One test's database on the test server.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    /// Its name.
    pub name: String,
    socket: PathBuf,
}

impl TestDatabase {
    /// The URL the host is given: the host's role over the Unix socket.
    pub fn url(&self) -> String {
        self.url_as(HOST_ROLE)
    }

    /// The URL for `user`.
    pub fn url_as(&self, user: &str) -> String {
        let socket: String = self.socket.to_string_lossy().replace('/', "%2F");
        format!("postgresql://{user}@{socket}/{}", self.name)
    }

    /// A superuser connection to this database.
    pub fn admin(&self) -> Client {
        server().connect_as("postgres", &self.name)
    }

    /// The first column of every row `sql` gives, read as a superuser.
    pub fn column<T: postgres::types::FromSqlOwned>(&self, sql: &str) -> Vec<T> {
        let rows = self.admin().query(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.iter().map(|row| row.get(0)).collect()
    }

    /// Every schema object of the host's and the plugins' schemas, and every
    /// row of their tables (the audit record's aside), as text: two equal
    /// snapshots mean an unchanged database.
    pub fn snapshot(&self) -> String {
        self.snapshot_where(|_, _| true)
    }

    /// [`TestDatabase::snapshot`] of the objects `keep(schema, name)`
    /// accepts (and the schemas `keep(schema, "")` accepts).
    pub fn snapshot_where(&self, keep: impl Fn(&str, &str) -> bool) -> String {
        let mut client = self.admin();
        let mut text = String::new();
        let objects = client
            .query(
                "SELECT n.nspname::text, c.relname::text, c.relkind::text, c.oid,
                        pg_get_userbyid(c.relowner)::text || ' ' || coalesce(c.relacl::text, '')
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
                 ORDER BY 1, 2",
                &[],
            )
            .expect("the catalog");
        for object in &objects {
            let (schema, name, kind): (String, String, String) = (object.get(0), object.get(1), object.get(2));
            if !keep(&schema, &name) {
                continue;
            }
            text.push_str(&format!("{kind} {schema}.{name} {}\n", object.get::<_, String>(4)));
            if kind == "r" {
                let columns = client
                    .query(
                        "SELECT attname::text || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute
                         WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                        &[&object.get::<_, postgres::types::Oid>(3)],
                    )
                    .expect("columns");
                for column in columns {
                    text.push_str(&format!("  {}\n", column.get::<_, String>(0)));
                }
                if name != "shopdb_core_audit" {
                    let rows = client
                        .query(&format!("SELECT t::text FROM \"{schema}\".\"{name}\" t ORDER BY 1"), &[])
                        .expect("rows");
                    for row in rows {
                        text.push_str(&format!("  row {}\n", row.get::<_, String>(0)));
                    }
                }
            }
        }
        // Roles belong to the whole server, which other tests share: what
        // this database holds of them is its schemas' owners and privileges.
        let schemas = client
            .query(
                "SELECT nspname::text || ' owner ' || pg_get_userbyid(nspowner)::text || ' ' || coalesce(nspacl::text, '')
                 FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema', 'public')
                 ORDER BY 1",
                &[],
            )
            .expect("schemas");
        for schema in schemas {
            let line: String = schema.get(0);
            if keep(line.split(' ').next().unwrap_or_default(), "") {
                text.push_str(&format!("schema {line}\n"));
            }
        }
        let routines = client
            .query(
                "SELECT n.nspname::text, p.proname::text, pg_get_functiondef(p.oid)
                 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' AND p.prokind = 'f'
                 UNION ALL
                 SELECT n.nspname::text, t.tgname::text, pg_get_triggerdef(t.oid)
                 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE NOT t.tgisinternal
                 ORDER BY 1, 2, 3",
                &[],
            )
            .expect("functions and triggers");
        for routine in routines {
            let (schema, name, definition): (String, String, String) = (routine.get(0), routine.get(1), routine.get(2));
            if keep(&schema, &name) {
                text.push_str(&format!("routine {schema}.{name}: {definition}\n"));
            }
        }
        text
    }
}
