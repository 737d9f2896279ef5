//! `ferry test-connection` and `ferry resend`: the delivery side on its own,
//! without extracting anything.

use super::{Failure, EXIT_RUN_FAILED};
use crate::config::DestinationSettings;
use crate::deliver::{test_connection, DeliveryEnv};
use crate::run::App;

/// Options of `ferry test-connection`.
#[derive(clap::Args, Debug)]
pub struct TestConnectionArgs {
    /// A destination from ferry.toml, or a script (every destination it delivers to).
    pub target: String,
}

/// Options of `ferry resend`.
#[derive(clap::Args, Debug)]
pub struct ResendArgs {
    /// The run whose kept files are sent again (see `ferry history`).
    pub run: i64,
    /// Send every kept file here instead of where it was going.
    #[arg(long)]
    pub to: Option<String>,
}

/// The destinations `target` names: itself, or those a script delivers to.
fn destinations<'a>(app: &'a App, target: &str) -> Result<Vec<&'a DestinationSettings>, Failure> {
    if let Some(d) = app.settings.destinations.get(target) {
        return Ok(vec![d]);
    }
    let path = app.script_path(target);
    if !path.exists() {
        let known: Vec<_> = app.settings.destinations.keys().cloned().collect();
        return Err(anyhow::anyhow!(
            "'{target}' is neither a destination (configured: {}) nor a script ({} does not exist)",
            known.join(", "),
            path.display()
        )
        .into());
    }
    let script = app.load(&path)?;
    let found: Vec<_> = script
        .uses
        .destinations
        .iter()
        .filter_map(|d| app.settings.destinations.get(d))
        .collect();
    if found.is_empty() {
        return Err(anyhow::anyhow!(
            "{} delivers to no configured destination (deliver(file, \"NAME\") with a name from ferry.toml)",
            path.display()
        )
        .into());
    }
    Ok(found)
}

/// Writes and removes a 1-byte file at each destination and says what the
/// server offered.
pub async fn test(args: TestConnectionArgs, app: &App) -> Result<(), Failure> {
    let env = DeliveryEnv::from_settings(&app.settings);
    let mut failed = 0;
    for d in destinations(app, &args.target)? {
        println!("{}: {}", d.name, d.describe());
        match test_connection(d, &env).await {
            Ok(probe) => {
                for (label, value) in &probe.info.details {
                    println!("  {label:<22} {value}");
                }
                if let Some(m) = &probe.info.auth_method {
                    println!("  {:<22} {m}", "logged in by");
                }
                println!("  OK: wrote and removed {}", probe.test_file);
            }
            Err(e) => {
                failed += 1;
                println!("  FAILED: {}", e.message);
            }
        }
    }
    if failed > 0 {
        return Err(Failure {
            code: EXIT_RUN_FAILED,
            error: anyhow::anyhow!("{failed} destination(s) failed the connection test"),
        });
    }
    Ok(())
}

/// Prints what a resend or release delivered; `done` is the success line,
/// `failed` says what the failure leaves behind.
fn report_redelivery(report: crate::run::ResendReport, done: String, failed: String) -> Result<(), Failure> {
    for d in report.deliveries.iter().filter(|d| d.state.arrived()) {
        println!("{} -> {} {}", d.file, d.destination, d.remote_path);
    }
    match report.error {
        None => {
            println!("run {}: {done}", report.id);
            Ok(())
        }
        Some(e) => Err(Failure {
            code: EXIT_RUN_FAILED,
            error: anyhow::anyhow!("run {} ({failed}) failed: {e}", report.id),
        }),
    }
}

/// Delivers a run's kept files again.
pub async fn resend(args: ResendArgs, app: &App) -> Result<(), Failure> {
    let report = app.resend(args.run, args.to.as_deref()).await?;
    report_redelivery(
        report,
        format!("resent the files of run {}", args.run),
        format!("resend of run {}", args.run),
    )
}

/// Options of `ferry release` and `ferry discard`.
#[derive(clap::Args, Debug)]
pub struct SettleArgs {
    /// The held run (see `ferry held`).
    pub run: i64,
    /// Who decides, for history (default: the login name running ferry).
    #[arg(long)]
    pub by: Option<String>,
}

fn who(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// Lists runs whose files a guard held.
pub async fn held(app: &App) -> Result<(), Failure> {
    let runs = app.store.held_runs().await?;
    if runs.is_empty() {
        println!("No held runs.");
        return Ok(());
    }
    let mut t = super::output::table(&["run", "script", "started", "why"]);
    for r in &runs {
        t.add_row(vec![
            r.id.to_string(),
            r.script.clone(),
            super::output::when(r.started_at),
            r.error.clone().unwrap_or_default(),
        ]);
    }
    println!("{t}");
    println!("Send one as it is with `ferry release RUN`, or drop it with `ferry discard RUN`.");
    Ok(())
}

/// Sends a held run's files as they are.
pub async fn release(args: SettleArgs, app: &App) -> Result<(), Failure> {
    let by = who(args.by);
    let report = app.release(args.run, &by).await?;
    report_redelivery(
        report,
        format!("released run {} (by {by})", args.run),
        format!("release of run {}; run {} stays held", args.run, args.run),
    )
}

/// Drops a held run's files.
pub async fn discard(args: SettleArgs, app: &App) -> Result<(), Failure> {
    let by = who(args.by);
    app.discard(args.run, &by).await?;
    println!("run {}: discarded (by {by}); nothing was sent", args.run);
    Ok(())
}
