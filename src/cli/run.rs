//! `ferry run` and `ferry test-extract`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};

use super::output::{size, table, thousands};
use super::{Failure, EXIT_RUN_FAILED};
use crate::app::App;
use crate::run::context::Progress;
use crate::run::{RunReport, RunRequest};
use crate::script::ScriptsDir;
use crate::state::{LogLevel, RunStatus, StartedBy, Trigger};

pub(crate) fn parse_param(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .ok_or_else(|| format!("'{s}' is not NAME=VALUE"))
}

/// Options of `ferry run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Scripts (paths or names in the scripts folder).
    pub scripts: Vec<String>,
    /// Run every script in the scripts folder.
    #[arg(long, conflicts_with = "scripts")]
    pub all: bool,
    /// Override a header parameter: --param include_ssn=true
    #[arg(long = "param", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
}

/// Options of `ferry test-extract`.
#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// The script (a path or a name in the scripts folder).
    pub script: String,
    /// Override a header parameter: --param include_ssn=true
    #[arg(long = "param", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Rows shown per file.
    #[arg(long, default_value_t = 10)]
    pub rows: usize,
    /// Also show each row's values as the database gave them, before
    /// charset conversion, transliteration and quoting.
    #[arg(long)]
    pub values: bool,
}

fn progress_bar() -> (Option<Progress>, Option<ProgressBar>) {
    if !std::io::stderr().is_terminal() {
        return (None, None);
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"));
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let b = bar.clone();
    let f: Progress = Arc::new(move |file: &str, rows: u64| b.set_message(format!("{file}: {} rows", thousands(rows))));
    (Some(f), Some(bar))
}

fn cancel_on_ctrl_c() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("Stopping: the run will end at its next check.");
            f.store(true, Ordering::Relaxed);
        }
    });
    flag
}

async fn one(app: &App, name: &str, trigger: Trigger, params: &[(String, String)]) -> Result<RunReport, Failure> {
    let script = app.load(&app.script_path(name))?;
    let (progress, bar) = progress_bar();
    let req = RunRequest {
        params: params.to_vec(),
        progress,
        cancel: Some(cancel_on_ctrl_c()),
        ..RunRequest::by(StartedBy::cli())
    };
    let report = app.run(&script, trigger, req).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(report?)
}

/// Runs scripts one after another; fails when any run failed.
pub(super) async fn run(args: RunArgs, app: &App) -> Result<(), Failure> {
    let names: Vec<String> = if args.all {
        ScriptsDir::of(&app.settings)
            .list()
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    } else {
        args.scripts.clone()
    };
    if names.is_empty() {
        return Err(anyhow::anyhow!("name a script to run, or use --all").into());
    }
    let mut failed = 0;
    for name in &names {
        let report = one(app, name, Trigger::Manual, &args.params).await?;
        let status = match (&report.error, &report.held) {
            (Some(_), _) => "FAILED",
            (None, Some(_)) => "HELD",
            (None, None) => RunStatus::Succeeded.as_str(),
        };
        println!("run {} {}: {status}", report.id, name);
        for f in &report.files {
            let to: Vec<String> = report
                .deliveries
                .iter()
                .filter(|d| d.file == f.name && d.state.arrived())
                .map(|d| format!("{} ({})", d.destination, d.remote_path))
                .collect();
            let bundle = report.files.iter().find(|z| z.parts.contains(&f.name));
            let to = if let (true, Some(zip)) = (to.is_empty(), bundle) {
                format!("in {}", zip.name)
            } else if to.is_empty() {
                "not delivered".to_string()
            } else {
                format!("-> {}", to.join(", "))
            };
            println!("  {}  {} rows  {}  {to}", f.name, thousands(f.rows), size(f.bytes));
        }
        if let Some(e) = &report.error {
            failed += 1;
            println!("  error: {e}");
        }
        if let Some(h) = &report.held {
            failed += 1;
            println!("  {h}");
            println!(
                "  send it anyway: ferry release {}; drop it: ferry discard {}",
                report.id, report.id
            );
        }
        if let Some(dir) = &report.kept {
            println!("  files kept in {}", dir.display());
        }
    }
    if failed > 0 {
        return Err(Failure {
            code: EXIT_RUN_FAILED,
            error: anyhow::anyhow!(
                "{failed} of {} runs failed or were held; see `ferry history`",
                names.len()
            ),
        });
    }
    Ok(())
}

/// Says where a test extract's file would have gone, with the sidecars the
/// destination would send after it.
fn would_deliver(app: &App, report: &crate::run::RunReport, file: &str) {
    for d in report.deliveries.iter().filter(|d| d.file == file) {
        let sidecars = app
            .settings
            .destinations
            .get(&d.destination)
            .map(|s| s.sidecars.names(file))
            .unwrap_or_default();
        if sidecars.is_empty() {
            println!("would deliver to '{}'", d.destination);
        } else {
            println!(
                "would deliver to '{}', then its sidecars {}",
                d.destination,
                sidecars.join(", ")
            );
        }
    }
}

/// Builds the files, prints a preview of each, delivers and keeps nothing.
pub(super) async fn test_extract(args: TestArgs, app: &App) -> Result<(), Failure> {
    let report = one(app, &args.script, Trigger::Test, &args.params).await?;
    for f in &report.files {
        println!(
            "{}: {} rows, {} ({} columns)",
            f.name,
            thousands(f.rows),
            size(f.bytes),
            f.columns.len()
        );
        if f.columns.is_empty() {
            // A zip or a fetched document: no rows to show.
            if !f.parts.is_empty() {
                println!("  holds {}", f.parts.join(", "));
            }
            would_deliver(app, &report, &f.name);
            continue;
        }
        if !f.lines.is_empty() {
            // The header line, if any, comes on top of the rows asked for.
            let header = f
                .layout
                .as_ref()
                .map_or(0, |l| usize::from(l.header) + usize::from(l.header_record));
            let shown = f.lines.len().min(args.rows + header);
            println!("  as written (␍ carriage return, ␉ tab):");
            for line in &f.lines[..shown] {
                println!("  {line}");
            }
        }
        if args.values || f.lines.is_empty() {
            if !f.lines.is_empty() {
                println!("  as the database gave them:");
            }
            let mut t = table(&f.columns.iter().map(String::as_str).collect::<Vec<_>>());
            for row in f.preview.iter().take(args.rows) {
                t.add_row(
                    row.iter()
                        .map(|v| v.as_deref().unwrap_or("").replace(['\r', '\n'], "⏎"))
                        .collect::<Vec<_>>(),
                );
            }
            println!("{t}");
        }
        if f.rows as usize > args.rows.min(f.preview.len()) {
            println!(
                "... {} more rows",
                thousands(f.rows - args.rows.min(f.preview.len()) as u64)
            );
        }
        would_deliver(app, &report, &f.name);
    }
    for line in report.log.iter().filter(|l| l.level != LogLevel::Info) {
        println!("{}: {}", line.level, line.message);
    }
    match report.error {
        None => {
            println!("test extract {}: nothing was delivered or kept", report.id);
            Ok(())
        }
        Some(e) => Err(Failure {
            code: EXIT_RUN_FAILED,
            error: anyhow::anyhow!("{e}"),
        }),
    }
}
