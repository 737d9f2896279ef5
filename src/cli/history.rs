//! `ferry history`: the read-only run history.

use super::output::{json, minute, size, thousands, when, View};
use super::Failure;
use crate::app::App;
use crate::state::{FileRow, RunStatus};

/// Options of `ferry history`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only this script's runs.
    pub script: Option<String>,
    /// Show one run in full: files, destinations, error and log.
    #[arg(long)]
    pub run: Option<i64>,
    /// How many runs to list.
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
    /// Table width, or JSON.
    #[command(flatten)]
    pub view: View,
}

/// One run in full, as `--run N --json` prints it.
#[derive(serde::Serialize)]
struct Detail {
    run: crate::state::RunRow,
    files: Vec<crate::state::FileRow>,
    log: Vec<crate::run::context::LogLine>,
}

/// Lists runs, or shows one.
pub(super) async fn run(args: Args, app: &App) -> Result<(), Failure> {
    if let Some(id) = args.run {
        return show(app, id, args.view.json).await;
    }
    let runs = app.store.runs(args.script.as_deref(), args.limit).await?;
    let view = args.view;
    if view.json {
        return json(&runs);
    }
    let mut t = view.table(&[
        "run",
        "script",
        "trigger",
        "started",
        "status",
        "rows",
        "bytes",
        "destination",
        "error",
    ]);
    for r in &runs {
        t.add_row(vec![
            r.id.to_string(),
            r.script.clone(),
            r.trigger.clone(),
            minute(r.started_at),
            r.status.to_string(),
            thousands(r.rows as u64),
            size(r.bytes as u64),
            view.cell(r.destination.as_deref().unwrap_or_default(), 24),
            view.cell(r.error.as_deref().unwrap_or_default(), 60),
        ]);
    }
    let longest = runs.iter().map(|r| r.script.chars().count()).max().unwrap_or(6);
    view.fit(&mut t, &[(0, 3), (1, longest.min(24)), (3, 10), (4, 9), (5, 5), (6, 6)]);
    println!("{t}");
    Ok(())
}

/// `ferry history --run ID`: one run in full, each file with where it went
/// (or that it did not) and the run's log.
async fn show(app: &App, id: i64, as_json: bool) -> Result<(), Failure> {
    let (r, files, log) = app.store.run(id).await?;
    if as_json {
        return json(&Detail { run: r, files, log });
    }
    println!("run {}  {}  ({})", r.id, r.script, r.script_path);
    println!("  trigger      {}", r.trigger);
    if let Some(by) = &r.started_by {
        println!("  started by   {by}");
    }
    if !r.params.is_empty() {
        let params: Vec<String> = r.params.iter().map(ToString::to_string).collect();
        println!("  params       {}", params.join(", "));
    }
    if let Some(of) = r.resend_of {
        println!(
            "  {:<12} run {of}",
            if r.trigger == "release" {
                "release of"
            } else {
                "resend of"
            }
        );
    }
    if let Some(by) = &r.released_by {
        println!(
            "  {:<12} {by}",
            if r.status == RunStatus::Discarded {
                "discarded by"
            } else {
                "released by"
            }
        );
    }
    println!("  status       {}", r.status);
    println!("  started      {}", when(r.started_at));
    println!("  ended        {}", r.ended_at.map(when).unwrap_or_default());
    println!("  script hash  {}", r.script_hash);
    println!("  rows, bytes  {}, {}", thousands(r.rows as u64), size(r.bytes as u64));
    if let Some(e) = &r.error {
        println!("  error        {e}");
    }
    for f in &files {
        print_file(f);
    }
    println!("  log");
    for l in &log {
        println!("    {} {:5} {}", when(l.at), l.level, l.message);
    }
    Ok(())
}

/// A file of a run: its sums, then where it went, who answered and where a
/// copy is kept, indented under it.
fn print_file(f: &FileRow) {
    println!(
        "  file         {}  {} rows  {}  sha256 {}",
        f.name,
        thousands(f.rows as u64),
        size(f.bytes as u64),
        f.sha256
    );
    if let Some(h) = &f.header {
        println!("               header {h}");
    }
    if let (None, Some(zip)) = (&f.destination, &f.bundled_in) {
        println!("               in {zip}");
    }
    if let Some(d) = &f.destination {
        match &f.remote_path {
            Some(remote) => println!("               -> {d} {remote}"),
            None => println!("               -> {d} NOT DELIVERED"),
        }
        if let Some(who) = &f.server_identity {
            println!("                  server {who}");
        }
        if let Some(m) = &f.auth_method {
            println!("                  logged in by {m}");
        }
    }
    if let Some(p) = &f.local_path {
        println!("               kept at {p}");
    }
}
