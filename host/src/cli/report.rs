//! Printing results: aligned text for people, JSON for scripts. Both come
//! from the same report values, so they cannot disagree.

use crate::checks::report::{CheckOutcome, CheckReport};
use crate::cli::commands::AuditReport;
use crate::engine::Mark;
use crate::plugins::lockfile::LockReport;
use crate::runs::status::{ListReport, StatusReport};
use crate::runs::uninstall::UninstallReport;
use crate::runs::{ChainOutcome, RunReport, Status};
use serde::Serialize;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static COLOUR: AtomicBool = AtomicBool::new(false);
static WIDTH: AtomicUsize = AtomicUsize::new(0);

/// The terminal's width, when stdout is one (`main` decides): long cells
/// of text tables are shortened to fit it. JSON always has everything.
pub fn set_width(columns: Option<usize>) {
    WIDTH.store(columns.unwrap_or(0), Ordering::Relaxed);
}

/// `names` joined with commas in at most `width` characters: as many as
/// fit, then how many more there are.
fn fit_list(names: &[String], width: usize) -> String {
    let all = names.join(", ");
    if all.chars().count() <= width {
        return all;
    }
    let mut shown = String::new();
    for (i, name) in names.iter().enumerate() {
        let more = format!(", … (+{} more)", names.len() - i);
        let next = if shown.is_empty() { name.clone() } else { format!("{shown}, {name}") };
        let rest = names.len() - i - 1;
        let tail = if rest == 0 { 0 } else { format!(", … (+{rest} more)").chars().count() };
        if next.chars().count() + tail > width {
            return if shown.is_empty() { format!("… ({} tables)", names.len()) } else { format!("{shown}{more}") };
        }
        shown = next;
    }
    shown
}

/// Whether reports colour their status words (only on a terminal, and not
/// under NO_COLOR: `main` decides).
pub fn set_colour(on: bool) {
    COLOUR.store(on, Ordering::Relaxed);
}

/// The ANSI colours reports use.
#[derive(Debug, Clone, Copy)]
enum Paint {
    Green,
    Yellow,
    Red,
}

/// `text` in `paint` when colour is on; as is otherwise.
fn paint(text: String, paint: Paint) -> String {
    if !COLOUR.load(Ordering::Relaxed) {
        return text;
    }
    let code = match paint {
        Paint::Green => 32,
        Paint::Yellow => 33,
        Paint::Red => 31,
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Writes `value` as pretty JSON followed by a newline.
pub fn json(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::other)?;
    writeln!(out)
}

/// Rows of cells printed with every column padded to its widest cell.
fn table(out: &mut dyn Write, rows: &[Vec<String>]) -> io::Result<()> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[c]));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// `plugins/libx.so: `, so that a refusal names the file first.
fn file_prefix(file: Option<&std::path::Path>) -> String {
    file.map_or_else(String::new, |f| format!("{}: ", f.display()))
}

fn version(v: Option<i32>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("V{v}"))
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// One line for a chain's result.
fn describe(chain: &ChainOutcome) -> String {
    match &chain.status {
        Status::Applied { migrations, version, adopted } => {
            let adopted = adopted.map_or_else(String::new, |v| format!("adopted existing tables at V{v}, then "));
            let applied = paint(format!("applied {}", plural(migrations.len(), "migration")), Paint::Green);
            format!("{adopted}{applied} → now at V{version} ({})", migrations.join(", "))
        }
        Status::Recorded { migrations, version, how } => {
            let how = match how {
                Mark::Bootstrapped => "created from schema.sql",
                Mark::Adopted => "adopted existing tables",
                Mark::Stamped => "stamped",
            };
            format!("{how}: recorded {} as applied → now at V{version}", plural(migrations.len(), "migration"))
        }
        Status::UpToDate { version: v } => format!("up to date ({})", version(*v)),
        Status::Failed { reason } => format!("{} {reason}", paint("failed, rolled back:".into(), Paint::Red)),
        Status::Refused { reason } => {
            format!("{} {}{reason}", paint("refused:".into(), Paint::Red), file_prefix(chain.file.as_deref()))
        }
        Status::Blocked { by } => format!("{} '{by}' did not apply", paint("blocked:".into(), Paint::Yellow)),
    }
}

/// What `upgrade-all`, `migrate`, `bootstrap` and `stamp` print; a dry run
/// lists under each chain the SQL it ran before everything was rolled back.
pub fn run(out: &mut dyn Write, report: &RunReport) -> io::Result<()> {
    let dry = if report.dry_run { " (dry run: nothing was changed)" } else { "" };
    writeln!(out, "database {}{dry}", report.database)?;
    let width = report.chains.iter().map(|c| c.name.chars().count()).max().unwrap_or(0);
    for chain in &report.chains {
        writeln!(out, "{:<width$}  {}", chain.name, describe(chain))?;
        for statement in &chain.sql {
            for line in statement.trim().lines() {
                writeln!(out, "    {line}")?;
            }
        }
    }
    Ok(())
}

/// What `uninstall` prints.
pub fn uninstall(out: &mut dyn Write, report: &UninstallReport) -> io::Result<()> {
    let verb = if report.dropped { "dropped" } else { "would drop" };
    writeln!(out, "plugin '{}' in {}: {verb}", report.plugin, report.database)?;
    let mut rows = Vec::new();
    for object in &report.objects {
        let rows_text = object.rows.map_or_else(String::new, |n| plural(usize::try_from(n).unwrap_or(0), "row"));
        rows.push(vec![format!("  {} {}", object.kind, object.name), rows_text]);
    }
    if let Some(history) = &report.history_table {
        rows.push(vec![format!("  history {history}"), String::new()]);
    }
    table(out, &rows)?;
    match (&report.backup, report.dropped) {
        (Some(backup), true) => {
            writeln!(out, "backup written before dropping: {}", backup.path.display())?;
            writeln!(out, "to restore it: {}", backup.restore)
        }
        _ => writeln!(out, "nothing was dropped; run again with --yes to drop these (a backup is written first)"),
    }
}

/// What `check` prints.
pub fn check(out: &mut dyn Write, report: &CheckReport) -> io::Result<()> {
    writeln!(out, "plugins in {}", report.plugins_dir.display())?;
    if let Some(database) = &report.database {
        writeln!(out, "history compared with {}", database)?;
    }
    if report.plugins.is_empty() {
        writeln!(out, "(no plugins)")?;
    }
    let rows: Vec<Vec<String>> = report
        .plugins
        .iter()
        .map(|v| {
            let text = match &v.outcome {
                CheckOutcome::Passed if v.recorded => {
                    format!(
                        "{} (as checked before its last run: unchanged since)",
                        paint("ok".to_owned(), Paint::Green)
                    )
                }
                CheckOutcome::Passed => paint("ok".to_owned(), Paint::Green),
                CheckOutcome::Refused { reason } => {
                    format!("{} {}{reason}", paint("refused:".into(), Paint::Red), file_prefix(Some(&v.file)))
                }
                CheckOutcome::Blocked { by } => format!(
                    "{} depends on '{by}', which was refused (see its line): it can be checked once '{by}' passes",
                    paint("blocked:".into(), Paint::Yellow)
                ),
            };
            vec![v.name.clone(), text]
        })
        .collect();
    table(out, &rows)
}

/// What `status` prints.
pub fn status(out: &mut dyn Write, report: &StatusReport) -> io::Result<()> {
    let exists = if report.exists { "" } else { " (does not exist yet)" };
    writeln!(out, "database {}{exists}", report.database)?;
    let mut rows = vec![vec!["NAME".into(), "ON DISK".into(), "APPLIED".into(), "PENDING".into()]];
    for chain in &report.chains {
        let pending = match &chain.problem {
            Some(problem) => format!("{} {problem}", paint("problem:".into(), Paint::Red)),
            None if chain.pending.is_empty() => "-".into(),
            None => paint(chain.pending.join(", "), Paint::Yellow),
        };
        let mut applied = version(chain.applied);
        for mark in &chain.marks {
            applied.push_str(&format!(" ({} V{})", mark.how, mark.version));
        }
        if let Some(at) = chain.will_adopt {
            applied.push_str(&format!(" (found without history: will adopt V{at})"));
        }
        rows.push(vec![chain.name.clone(), format!("V{}", chain.on_disk), applied, pending]);
    }
    table(out, &rows)?;
    refusals(out, &report.refused)?;
    if !report.missing.is_empty() {
        writeln!(out, "installed in the database but missing from the plugins directory:")?;
        for plugin in &report.missing {
            writeln!(out, "  {} (tables: {})", plugin.name, plugin.tables.join(", "))?;
        }
    }
    Ok(())
}

/// What `list` prints.
pub fn list(out: &mut dyn Write, report: &ListReport) -> io::Result<()> {
    writeln!(out, "plugins in {}", report.plugins_dir.display())?;
    if report.plugins.is_empty() {
        writeln!(out, "(no usable plugins)")?;
    }
    let mut rows: Vec<Vec<String>> = vec![vec![
        "NAME".into(),
        "VERSION".into(),
        "CHAIN".into(),
        "FILE".into(),
        "TABLES".into(),
        "DEPENDS ON".into(),
    ]];
    for plugin in &report.plugins {
        let m = &plugin.manifest;
        let file = crate::plugins::discover::file_name(&plugin.file);
        let deps = if m.depends_on.is_empty() { "-".into() } else { m.depends_on.join(", ") };
        rows.push(vec![m.name.clone(), m.version.clone(), format!("V{}", plugin.head), file, String::new(), deps]);
    }
    // On a terminal, the TABLES column gets what the others leave of its width.
    let terminal = WIDTH.load(Ordering::Relaxed);
    let column = |c: usize| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0);
    let others: usize = [0, 1, 2, 3, 5].iter().map(|&c| column(c) + 2).sum();
    let room = if terminal == 0 { usize::MAX } else { terminal.saturating_sub(others).max(24) };
    for (row, plugin) in rows.iter_mut().skip(1).zip(&report.plugins) {
        row[4] = fit_list(&plugin.manifest.tables, room);
    }
    if !report.plugins.is_empty() {
        table(out, &rows)?;
    }
    refusals(out, &report.refused)
}

fn refusals(out: &mut dyn Write, refused: &[crate::plugins::inventory::Refusal]) -> io::Result<()> {
    if refused.is_empty() {
        return Ok(());
    }
    writeln!(out, "refused:")?;
    for refusal in refused {
        writeln!(out, "  {}: {}", refusal.file.display(), refusal.reason)?;
    }
    Ok(())
}

/// What `lock` prints.
pub fn lock(out: &mut dyn Write, report: &LockReport) -> io::Result<()> {
    let rows: Vec<Vec<String>> = report
        .plugins
        .iter()
        .map(|p| vec![p.file.clone(), p.plugin.clone(), p.version.clone(), p.sha256.clone()])
        .collect();
    if report.written {
        writeln!(out, "wrote {} ({})", report.lock_file.display(), plural(report.plugins.len(), "plugin"))?;
        table(out, &rows)?;
        return refusals(out, &report.refused);
    }
    if report.differences.is_empty() {
        writeln!(
            out,
            "{} matches the plugins directory ({})",
            report.lock_file.display(),
            plural(report.plugins.len(), "plugin")
        )
    } else {
        writeln!(out, "{} does not match the plugins directory:", report.lock_file.display())?;
        for difference in &report.differences {
            writeln!(out, "  {difference}")?;
        }
        Ok(())
    }
}

/// What `history` prints.
pub fn history(out: &mut dyn Write, report: &AuditReport) -> io::Result<()> {
    writeln!(out, "audit record of {}", report.database)?;
    if report.entries.is_empty() {
        return writeln!(out, "(no schema changes recorded)");
    }
    let rows: Vec<Vec<String>> = report
        .entries
        .iter()
        .map(|e| {
            let versions = format!("{} → {}", version(e.from_version), version(e.to_version));
            let sha = e.file_sha256.as_deref().map_or_else(|| "-".into(), |s| s[..12.min(s.len())].to_owned());
            let reason = e.reason.as_deref().map_or_else(String::new, |r| format!(": {r}"));
            vec![
                e.at.clone(),
                e.os_user.clone(),
                e.plugin.clone(),
                versions,
                sha,
                format!("{}{reason}", e.outcome),
                e.command.clone(),
            ]
        })
        .collect();
    table(out, &rows)
}

/// What `new-plugin` prints.
pub fn scaffolded(out: &mut dyn Write, report: &crate::plugins::scaffold::Scaffolded) -> io::Result<()> {
    writeln!(out, "wrote a new plugin crate in {}:", report.dir.display())?;
    for file in &report.files {
        writeln!(out, "  {file}")?;
    }
    writeln!(
        out,
        "next: cd {} && cargo build --release, then copy the .so into your plugins directory",
        report.dir.display()
    )
}

/// What `config` prints.
pub fn config(out: &mut dyn Write, effective: &crate::cli::config::Effective) -> io::Result<()> {
    match &effective.file {
        Some(file) => writeln!(out, "configuration file {}", file.display())?,
        None => writeln!(out, "no configuration file (none given, no {} here)", crate::cli::config::DEFAULT_FILE)?,
    }
    let mut rows = vec![vec!["SETTING".into(), "VALUE".into(), "FROM".into()]];
    for setting in &effective.settings {
        rows.push(vec![setting.name.into(), setting.value.clone(), setting.source.clone()]);
    }
    table(out, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_table_list_is_cut_at_a_name_and_says_how_many_more() {
        let names: Vec<String> = (1..=28).map(|i| format!("table_{i:02}")).collect();
        let fitted = fit_list(&names, 40);
        assert!(fitted.chars().count() <= 40, "{fitted}");
        assert!(fitted.starts_with("table_01, table_02") && fitted.ends_with("more)"), "{fitted}");
        let shown = fitted.matches("table_").count();
        assert!(fitted.contains(&format!("(+{} more)", 28 - shown)), "{fitted}");
        assert_eq!(fit_list(&names[..2], 40), "table_01, table_02");
    }
}
