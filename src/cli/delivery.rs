//! `ferry test-connection` and `ferry resend`: connections and deliveries
//! on their own, without extracting anything.

use super::{Failure, EXIT_RUN_FAILED, EXIT_UNREACHABLE};
use crate::app::App;
use crate::config::DestinationSettings;
use crate::deliver::{test_connection, DeliveryEnv};
use crate::state::StartedBy;

/// Options of `ferry test-connection`.
#[derive(clap::Args, Debug)]
pub struct TestConnectionArgs {
    /// A destination or database from ferry.toml, or a script (every
    /// database it reads and destination it delivers to).
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

/// What `target` names: a destination, a database, or a script's
/// databases and destinations.
fn targets<'a>(app: &'a App, target: &str) -> Result<(Vec<String>, Vec<&'a DestinationSettings>), Failure> {
    if let Some(d) = app.settings.destinations.get(target) {
        return Ok((Vec::new(), vec![d]));
    }
    if app.settings.databases.contains_key(target) {
        return Ok((vec![target.to_string()], Vec::new()));
    }
    let path = app.script_path(target);
    if !path.exists() {
        let known = |names: Vec<&String>| {
            if names.is_empty() {
                "none".to_string()
            } else {
                names.into_iter().cloned().collect::<Vec<_>>().join(", ")
            }
        };
        return Err(anyhow::anyhow!(
            "'{target}' is neither a destination (configured: {}), a database (configured: {}) nor a script ({} does not exist)",
            known(app.settings.destinations.keys().collect()),
            known(app.settings.databases.keys().collect()),
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
    let databases: Vec<String> = script
        .uses
        .databases
        .iter()
        .filter(|d| app.settings.databases.contains_key(*d))
        .cloned()
        .collect();
    if found.is_empty() && databases.is_empty() {
        return Err(anyhow::anyhow!(
            "{} reads no configured database and delivers to no configured destination \
             (query(\"NAME\", ...) and deliver(file, \"NAME\") with names from ferry.toml)",
            path.display()
        )
        .into());
    }
    Ok((databases, found))
}

/// Connects to database `name` and says what the server is and whether
/// the account could change it; the exit code when it failed.
async fn test_database(app: &App, name: &str) -> Option<i32> {
    let url = &app.settings.databases[name].url;
    println!("{name}: database {}", crate::source::redact_url(url));
    let probe = match app.databases.get(name).await {
        Ok(source) => source.probe().await,
        Err(e) => Err(e),
    };
    match probe {
        Ok(p) => {
            println!("  {:<22} {}", "server", p.version);
            println!("  {:<22} {}", "account", p.account);
            if p.writes.is_empty() {
                println!("  {:<22} nothing: the account can only read", "could write");
            } else {
                for (i, w) in p.writes.iter().enumerate() {
                    println!("  {:<22} {w}", if i == 0 { "could write" } else { "" });
                }
                println!(
                    "  WARNING: this account could change {name}. ferry reads in read-only transactions and \
                     refuses any statement that is not a query, but an account that can only read is the \
                     safeguard that holds whatever happens: {}",
                    crate::source::read_only_advice(url)
                );
            }
            println!("  OK: connected and read");
            None
        }
        Err(e) => {
            println!("  FAILED: {e}");
            Some(super::exit::code(&anyhow::Error::new(e)))
        }
    }
}

/// Connects to each database and says whether its account could write;
/// writes and removes a 1-byte file at each destination and says what the
/// server offered.
pub(super) async fn test(args: TestConnectionArgs, app: &App) -> Result<(), Failure> {
    let env = DeliveryEnv::from_settings(&app.settings);
    let (databases, destinations) = targets(app, &args.target)?;
    let mut failed = 0;
    // Unreachable (3) when every failure was the network's, else failed (1).
    let mut code = None;
    let mut failure = |c: i32| {
        code = Some(match code {
            Some(EXIT_UNREACHABLE) | None if c == EXIT_UNREACHABLE => EXIT_UNREACHABLE,
            _ => EXIT_RUN_FAILED,
        });
    };
    for db in &databases {
        if let Some(c) = test_database(app, db).await {
            failed += 1;
            failure(c);
        }
    }
    for d in destinations {
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
                failure(super::exit::unreachable_or_failed(e.kind));
                println!("  FAILED: {}", e.message);
            }
        }
    }
    if failed > 0 {
        return Err(Failure {
            code: code.unwrap_or(EXIT_RUN_FAILED),
            error: anyhow::anyhow!("{failed} connection test(s) failed"),
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
pub(super) async fn resend(args: ResendArgs, app: &App) -> Result<(), Failure> {
    let report = app.resend(args.run, args.to.as_deref(), &StartedBy::cli()).await?;
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
    /// Who decides, for history (default: the user ferry runs as).
    #[arg(long)]
    pub by: Option<String>,
}

fn who(by: Option<String>) -> String {
    by.unwrap_or_else(crate::state::os_user)
}

/// Options of `ferry held`.
#[derive(clap::Args, Debug)]
pub struct HeldArgs {
    /// Table width, or JSON.
    #[command(flatten)]
    pub view: super::output::View,
}

/// Lists runs whose files a guard held.
pub(super) async fn held(args: HeldArgs, app: &App) -> Result<(), Failure> {
    let runs = app.store.held_runs().await?;
    if args.view.json {
        return super::output::json(&runs);
    }
    if runs.is_empty() {
        println!("No held runs.");
        return Ok(());
    }
    let mut t = args.view.table(&["run", "script", "started", "why"]);
    for r in &runs {
        t.add_row(vec![
            r.id.to_string(),
            r.script.clone(),
            super::output::when(r.started_at),
            r.error.clone().unwrap_or_default(),
        ]);
    }
    args.view.fit(&mut t, &[(0, 3), (2, 10)]);
    println!("{t}");
    println!("Send one as it is with `ferry release RUN`, or drop it with `ferry discard RUN`.");
    Ok(())
}

/// Sends a held run's files as they are.
pub(super) async fn release(args: SettleArgs, app: &App) -> Result<(), Failure> {
    let by = who(args.by);
    let report = app.release(args.run, &by, &StartedBy::cli()).await?;
    report_redelivery(
        report,
        format!("released run {} (by {by})", args.run),
        format!("release of run {}; run {} stays held", args.run, args.run),
    )
}

/// Drops a held run's files.
pub(super) async fn discard(args: SettleArgs, app: &App) -> Result<(), Failure> {
    let by = who(args.by);
    app.discard(args.run, &by).await?;
    println!("run {}: discarded (by {by}); nothing was sent", args.run);
    Ok(())
}
