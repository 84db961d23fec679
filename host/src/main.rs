//! The `shopdb-host` binary: parse arguments, call the library, print.

use clap::{CommandFactory, FromArgMatches};
use shopdb_host::cli::args::{Cli, Command, OutputArgs};
use shopdb_host::cli::error::{Error, ErrorKind, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use shopdb_host::cli::{commands, config, report, spinner};
use shopdb_host::progress;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let effective = match config::apply(&mut cli, &matches) {
        Ok(effective) => effective,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    setup_terminal(&cli);
    let mut out = io::stdout().lock();
    let out: &mut dyn Write = if cli.quiet { &mut io::sink() } else { &mut out };
    let printed = match &cli.command {
        Command::Config { output, .. } => Ok(emit(out, output, &effective, report::config, true)),
        Command::List { plugins, output } => commands::list(plugins).map(|r| emit(out, output, &r, report::list, true)),
        Command::Check { plugin, recheck, plugins, database, output } => {
            commands::check(plugins, database, plugin.as_deref(), *recheck)
                .map(|r| emit(out, output, &r, report::check, r.passed()))
        }
        Command::Status { plugins, database, output } => {
            commands::status(plugins, database).map(|r| emit(out, output, &r, report::status, true))
        }
        Command::Migrate { plugin, target, verdicts, dry_run, plugins, database, output } => {
            commands::migrate(plugins, database, verdicts, plugin, *target, dry_run.dry_run)
                .map(|r| emit(out, output, &r, report::run, r.succeeded()))
        }
        Command::UpgradeAll { verdicts, dry_run, plugins, database, output } => {
            commands::upgrade_all(plugins, database, verdicts, dry_run.dry_run)
                .map(|r| emit(out, output, &r, report::run, r.succeeded()))
        }
        Command::Bootstrap { verdicts, dry_run, plugins, database, output } => {
            commands::bootstrap(plugins, database, verdicts, dry_run.dry_run)
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
            ExitCode::from(match error.kind() {
                ErrorKind::Usage => EXIT_USAGE,
                ErrorKind::Failed => EXIT_FAILED,
            })
        }
    }
}

/// Colour only on a terminal, and not when NO_COLOR is set; progress (a
/// spinner) on stderr only on a terminal and not with `-q`; `-v` logs what
/// the host does, `-q` only errors.
fn setup_terminal(cli: &Cli) {
    let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    report::set_colour(io::stdout().is_terminal() && !no_colour);
    let width = terminal_size::terminal_size_of(io::stdout()).map(|(terminal_size::Width(w), _)| usize::from(w));
    report::set_width(width);
    let stderr_is_terminal = io::stderr().is_terminal();
    if stderr_is_terminal && !cli.quiet {
        progress::install(std::sync::Arc::new(spinner::Spinner::new()));
    }
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) if stderr_is_terminal => tracing::Level::INFO,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::DEBUG,
        (false, _) => tracing::Level::TRACE,
    };
    let verbose = cli.verbose > 0;
    let logger = tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_max_level(level)
        .with_ansi(stderr_is_terminal && !no_colour)
        .with_target(verbose)
        .with_level(verbose);
    if verbose {
        logger.with_timer(tracing_subscriber::fmt::time::uptime()).init();
    } else {
        logger.without_time().init();
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
