//! `ferry history`: the read-only run history.

use super::output::{size, table, thousands, when};
use super::Failure;
use crate::run::App;

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
}

/// Lists runs, or shows one.
pub async fn run(args: Args, app: &App) -> Result<(), Failure> {
    if let Some(id) = args.run {
        let (r, files, log) = app.store.run(id).await?;
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
                if r.status == "discarded" {
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
        println!("  log");
        for l in &log {
            println!("    {} {:5} {}", when(l.at), l.level, l.message);
        }
        return Ok(());
    }
    let runs = app.store.runs(args.script.as_deref(), args.limit).await?;
    let mut t = table(&[
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
            when(r.started_at),
            r.status.to_string(),
            thousands(r.rows as u64),
            size(r.bytes as u64),
            r.destination.clone().unwrap_or_default(),
            r.error.clone().unwrap_or_default(),
        ]);
    }
    println!("{t}");
    Ok(())
}
