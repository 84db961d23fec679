//! The `shopdb-host` binary: parse arguments, call the library, print.

use clap::{CommandFactory, Parser};
use shopdb_host::cli::{Cli, Command, OutputArgs};
use shopdb_host::error::{Error, EXIT_FAILED, EXIT_OK};
use shopdb_host::{commands, report};
use std::io::{self, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = io::stdout().lock();
    let out = &mut out;
    let printed = match &cli.command {
        Command::List { plugins, output } => commands::list(plugins).map(|r| emit(out, output, &r, report::list, true)),
        Command::Check { plugin, plugins, database, output } => commands::check(plugins, database, plugin.as_deref())
            .map(|r| emit(out, output, &r, report::check, r.passed())),
        Command::Status { plugins, database, output } => {
            commands::status(plugins, database).map(|r| emit(out, output, &r, report::status, true))
        }
        Command::Migrate { plugin, target, dry_run, plugins, database, output } => {
            commands::migrate(plugins, database, plugin, *target, dry_run.dry_run)
                .map(|r| emit(out, output, &r, report::run, r.succeeded()))
        }
        Command::UpgradeAll { dry_run, plugins, database, output } => {
            commands::upgrade_all(plugins, database, dry_run.dry_run)
                .map(|r| emit(out, output, &r, report::run, r.succeeded()))
        }
        Command::Bootstrap { dry_run, plugins, database, output } => {
            commands::bootstrap(plugins, database, dry_run.dry_run)
                .map(|r| emit(out, output, &r, report::run, r.succeeded()))
        }
        Command::Stamp { plugin, version, dry_run, plugins, database, output } => {
            commands::stamp(plugins, database, plugin, *version, dry_run.dry_run)
                .map(|r| emit(out, output, &r, report::run, r.succeeded()))
        }
        Command::Lock { check, plugins, output } => {
            commands::lock(plugins, *check).map(|r| emit(out, output, &r, report::lock, r.agrees()))
        }
        Command::History { plugin, database, output } => {
            commands::history(database, plugin.as_deref()).map(|r| emit(out, output, &r, report::history, true))
        }
        Command::NewPlugin { name, dir, plugin_api_path, output } => {
            commands::new_plugin(name, dir.as_deref(), plugin_api_path.as_deref())
                .map(|r| emit(out, output, &r, report::scaffolded, true))
        }
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "shopdb-host", out);
            Ok(EXIT_OK)
        }
        Command::Man => Ok(match clap_mangen::Man::new(Cli::command()).render(out) {
            Ok(()) => EXIT_OK,
            Err(e) => {
                eprintln!("error: failed to write the manual page: {e}");
                EXIT_FAILED
            }
        }),
        Command::Uninstall { plugin, yes, plugins, database, output } => {
            commands::uninstall(plugins, database, plugin, *yes).map(|r| emit(out, output, &r, report::uninstall, true))
        }
    };
    match printed {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            print_error(&error);
            ExitCode::from(error.exit_code())
        }
    }
}

/// Prints a report as JSON or text and returns the exit code for `ok`.
fn emit<R: serde::Serialize>(
    out: &mut dyn Write,
    output: &OutputArgs,
    value: &R,
    human: fn(&mut dyn Write, &R) -> io::Result<()>,
    ok: bool,
) -> u8 {
    let written = if output.json { report::json(out, value) } else { human(out, value) };
    let code = if ok { EXIT_OK } else { EXIT_FAILED };
    match written.and_then(|()| out.flush()) {
        Ok(()) => code,
        // stdout closed (a pipe to `head`): the work is done, say nothing more.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => code,
        Err(e) => {
            eprintln!("error: failed to write the report: {e}");
            EXIT_FAILED
        }
    }
}

/// `error: <what>` and then each cause on its own line, as cargo does.
fn print_error(error: &Error) {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "error: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let _ = writeln!(stderr, "\nCaused by:\n  {cause}");
        source = cause.source();
    }
}
