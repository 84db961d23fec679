//! The command line: clap types only. Doc comments here are the `--help` text.

use crate::engine::{DatabaseTarget, DEFAULT_BUSY_TIMEOUT};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// Load shopdb plugins and apply their schemas to a shop-floor asset database.
///
/// Plugins are shared libraries (*.so) in the plugins directory. Each owns a
/// set of tables, ships its current schema and a migration chain, and keeps
/// its own history table in the database. The core schema (sites, locations,
/// manufacturers, statuses, people) is applied first.
///
/// Exit status: 0 when everything asked for was done, 1 when a chain failed,
/// was refused or was blocked while applying, 2 for bad usage or input.
#[derive(Debug, Parser)]
#[command(name = "shopdb-host", version, max_term_width = 100)]
pub struct Cli {
    /// Read settings from this file [default: ./shopdb.toml when it
    /// exists]. Flags and environment variables take precedence over it.
    #[arg(long, global = true, value_name = "FILE", env = "SHOPDB_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log what the host does on stderr: file checks, loads, checks, SQL
    /// timings (-vv for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print errors only: no report, no progress.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the plugins found in the plugins directory: name, version, file,
    /// owned tables and dependencies, and the files refused and why.
    List {
        #[command(flatten)]
        plugins: PluginsArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Check plugins without changing anything: run every check `migrate`
    /// and `upgrade-all` run before applying, and print a verdict per plugin.
    ///
    /// Checks the files (a loadable library of this machine, the stable ABI),
    /// the manifests, duplicate names, table ownership, dependencies, the DDL
    /// against the manifest and against the migration chain (in a scratch
    /// database), and that the plugin's SQL only touches its own tables.
    /// When the database exists, its recorded history and table owners are
    /// compared too, and a plugin applied up to its head whose SQL (and its
    /// dependencies' and this host's version) is unchanged since that run
    /// passes on that run's verdict ("ok (as checked before its last run)")
    /// without being checked again; `--recheck` checks it again. Exits 0
    /// when every plugin passes, 1 otherwise: plugin authors run this in
    /// their CI.
    Check {
        /// Check only this plugin (the others are still loaded, as its
        /// dependencies and neighbours).
        #[arg(long, value_name = "NAME")]
        plugin: Option<String>,
        /// Check every plugin in scratch databases, also those unchanged
        /// since the run that applied them.
        #[arg(long)]
        recheck: bool,
        #[command(flatten)]
        plugins: PluginsArgs,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Pin the plugin files now in the plugins directory: write
    /// `plugins.lock` with each file's name, the plugin and version it
    /// declares, and the SHA-256 of its content.
    ///
    /// Once a lock file exists, every command refuses (before loading it) a
    /// file that is not pinned or whose content changed, and reports pinned
    /// files that are missing. Review the files first: pinning is approving.
    Lock {
        /// Compare the directory with the lock file and report differences
        /// without writing; exit 1 if they differ.
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        plugins: PluginsArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show the audit record: every run that changed (or tried to change)
    /// the schema: when, which OS user, which command, which plugin, from
    /// which version to which, the plugin file's SHA-256, and the outcome.
    History {
        /// Only this plugin's record.
        #[arg(long, value_name = "NAME")]
        plugin: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show, for the core and every plugin, the version on disk, the version
    /// applied in the database and the pending migrations. Changes nothing.
    Status {
        #[command(flatten)]
        plugins: PluginsArgs,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Apply one plugin's pending migrations.
    ///
    /// The core schema and the plugins it depends on are brought up to date
    /// first (to their latest versions), since its tables reference theirs.
    /// Each chain is applied in its own transaction.
    Migrate {
        /// The plugin to migrate, by name (see `shopdb-host list`).
        #[arg(long, value_name = "NAME")]
        plugin: String,
        /// Stop at this version of the plugin's chain instead of its latest.
        /// Migrations are never rolled back: a target below the applied
        /// version applies nothing.
        #[arg(long, value_name = "N")]
        target: Option<i32>,
        #[command(flatten)]
        verdicts: VerdictArgs,
        #[command(flatten)]
        dry_run: DryRunArgs,
        #[command(flatten)]
        plugins: PluginsArgs,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Apply the core schema, then every plugin's pending migrations in
    /// dependency order, and print a status per plugin.
    ///
    /// Idempotent: a second run applies nothing. A plugin that fails rolls
    /// back alone; plugins that depend on it are reported as blocked; the
    /// others still apply. Exits 1 if anything failed, was refused or blocked.
    ///
    /// A plugin whose tables already exist without history (created by an
    /// older deploy) is adopted: its history is recorded up to the version
    /// its tables match, and the rest is applied.
    UpgradeAll {
        #[command(flatten)]
        verdicts: VerdictArgs,
        #[command(flatten)]
        dry_run: DryRunArgs,
        #[command(flatten)]
        plugins: PluginsArgs,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Create a new database at once: the core schema, then every plugin's
    /// tables straight from its DDL (schema.sql), with each plugin's whole
    /// chain recorded as applied, all in one transaction.
    ///
    /// Later `upgrade-all` runs apply only newer migrations. Plugins already
    /// installed in the database are refused (use `upgrade-all` for them).
    Bootstrap {
        #[command(flatten)]
        verdicts: VerdictArgs,
        #[command(flatten)]
        dry_run: DryRunArgs,
        #[command(flatten)]
        plugins: PluginsArgs,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Record a plugin's history as applied up to a version, without running
    /// anything. The expert's escape hatch.
    ///
    /// For a database whose tables you know to be at that version but that
    /// `upgrade-all` cannot adopt by itself. Wrong use makes later migrations
    /// fail or skip what the database lacks. Never records backwards.
    Stamp {
        /// The plugin whose history to record.
        #[arg(long, value_name = "NAME")]
        plugin: String,
        /// The version to record history up to.
        #[arg(long, value_name = "V")]
        version: i32,
        #[command(flatten)]
        dry_run: DryRunArgs,
        #[command(flatten)]
        plugins: PluginsArgs,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Remove a plugin's tables, indexes, triggers, views and history from
    /// the database.
    ///
    /// Refused while another installed plugin depends on it. Without --yes
    /// it only shows what would be dropped (tables and their row counts).
    /// With --yes it first writes a backup of the whole database next to it
    /// (`<file>.<timestamp>.bak`, printed), then drops everything in one
    /// transaction. Works when the plugin's file is already gone.
    Uninstall {
        /// The plugin to remove.
        #[arg(long, value_name = "NAME")]
        plugin: String,
        /// Really drop the tables (after writing a backup).
        #[arg(short = 'y', long)]
        yes: bool,
        #[command(flatten)]
        plugins: PluginsArgs,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Write a new plugin crate: Cargo.toml, src/lib.rs with the export
    /// macro, schema.sql, migrations/V1__baseline.sql, build.rs and a README.
    ///
    /// The crate builds on its own (`cargo build --release`, outside any
    /// workspace) and passes `shopdb-host check` as written; then make the
    /// schema yours.
    NewPlugin {
        /// The plugin's name: 1 to 63 characters of a-z, 0-9 and _.
        name: String,
        /// Where to write the crate [default: ./shopdb-plugin-NAME].
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Depend on the plugin-api crate at this path [default: the source
        /// this host was built from, if present; else its version].
        #[arg(long, value_name = "DIR")]
        plugin_api_path: Option<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Print the effective configuration and where each value came from:
    /// the command line, the environment, shopdb.toml, or the default.
    Config {
        #[command(flatten)]
        plugins: PluginsArgs,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Print a shell completion script: `source <(shopdb-host completions bash)`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `shopdb-host man > shopdb-host.1`.
    Man,
}

/// Showing instead of doing.
#[derive(Debug, Clone, Copy, Args)]
pub struct DryRunArgs {
    /// Run everything inside a transaction that is rolled back at the end,
    /// and print the SQL each chain ran, in order. The database file is not
    /// changed (and not created when it does not exist).
    #[arg(long)]
    pub dry_run: bool,
}

/// Whether a run may take a plugin's checks from the verdict cache.
#[derive(Debug, Clone, Args)]
pub struct VerdictArgs {
    /// Check every plugin in scratch databases even when the verdict cache
    /// remembers its checks (what they find is remembered anew).
    #[arg(long)]
    pub recheck: bool,
    /// The verdict cache: what the checks of each plugin file found, kept
    /// across databases so that the same files on the same engine are not
    /// checked twice; `none` turns it off. It must be owned by you (or
    /// root) and writable by nobody else
    /// [default: $XDG_CACHE_HOME/shopdb-host/verdicts, or ~/.cache/…].
    #[arg(long, value_name = "DIR|none", env = "SHOPDB_VERDICT_CACHE")]
    pub verdict_cache: Option<PathBuf>,
}

/// Where plugins are found, and which are trusted.
#[derive(Debug, Clone, Args)]
pub struct PluginsArgs {
    /// The directory holding plugin files (*.so). It and every file in it
    /// must be owned by root or by you and writable by nobody else.
    #[arg(long, value_name = "DIR", env = "SHOPDB_PLUGINS_DIR", default_value = "shopdb-plugins")]
    pub plugins_dir: PathBuf,
    /// Require a lock file: refuse to load anything unless `plugins.lock`
    /// exists and pins the file's exact content. (When a lock file exists,
    /// it is enforced even without this flag.)
    #[arg(long)]
    pub locked: bool,
    /// The lock file [default: plugins.lock next to the plugins directory].
    #[arg(long, value_name = "FILE", env = "SHOPDB_LOCK_FILE")]
    pub lock_file: Option<PathBuf>,
}

impl PluginsArgs {
    /// The lock file to read or write.
    pub fn lock_path(&self) -> PathBuf {
        self.lock_file.clone().unwrap_or_else(|| crate::plugins::lockfile::default_path(&self.plugins_dir))
    }
}

/// Which database to use.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// The database: a SQLite file (created when a command changes it and
    /// it does not exist), or a PostgreSQL URL (`postgres://user@host/db`;
    /// a password in it is never printed).
    #[arg(long, value_name = "FILE|URL", env = "SHOPDB_DATABASE", default_value = "shopdb.sqlite",
          value_parser = DatabaseTarget::parse)]
    pub database: DatabaseTarget,
    /// How long to wait for another process writing the database before
    /// giving up, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_BUSY_TIMEOUT.as_secs_f64())]
    pub busy_timeout: f64,
}

impl DatabaseArgs {
    /// The busy timeout as a duration (negative or absurd values clamp).
    pub fn busy_timeout(&self) -> Duration {
        Duration::try_from_secs_f64(self.busy_timeout.clamp(0.0, 86_400.0)).unwrap_or(DEFAULT_BUSY_TIMEOUT)
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, Args)]
pub struct OutputArgs {
    /// Print the result as JSON on stdout, for scripts.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
