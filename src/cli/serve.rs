//! `ferry serve` and `ferry health`.

use std::path::PathBuf;
use std::time::Duration;

use super::Failure;
use crate::app::App;
use crate::config::{ConsoleSettings, Settings};
use crate::daemon::{serve, ServeOptions, StartConsole, StopConsole};

/// Options of `ferry serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run what is due now, wait for it and exit (for cron-driven setups).
    #[arg(long)]
    pub once: bool,
    /// Poll the folders every SECONDS instead of using change events (network file systems).
    #[arg(long, value_name = "SECONDS")]
    pub poll: Option<u64>,
    /// Runs at the same time, at most (default: max_concurrent_runs of ferry.toml).
    #[arg(long)]
    pub max_runs: Option<usize>,
    /// Seconds running extracts may take to finish after SIGTERM (default: shutdown_grace of ferry.toml).
    #[arg(long, value_name = "SECONDS")]
    pub grace: Option<u64>,
    /// Offer the web console and JSON API on this address (default: [console] of ferry.toml; off without it).
    #[arg(long, value_name = "ADDRESS:PORT")]
    pub listen: Option<std::net::SocketAddr>,
}

/// SIGTERM or Ctrl-C, listened for from the moment it is called: a stop
/// that arrives while the daemon still recovers interrupted runs or opens
/// its console must end it gracefully, not kill it. Installing a handler
/// fails only when the process cannot register signals at all, and a daemon
/// that could not be stopped cleanly must not start.
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Runs the daemon until SIGTERM or Ctrl-C.
pub(super) async fn run(args: Args, config: Option<PathBuf>, settings: Settings) -> Result<(), Failure> {
    let stop = stop_signal().map_err(|e| anyhow::anyhow!("cannot listen for SIGTERM and Ctrl-C: {e}"))?;
    let opts = ServeOptions {
        config,
        once: args.once,
        poll: args.poll.map(Duration::from_secs),
        max_concurrent: args.max_runs.unwrap_or(settings.max_concurrent_runs),
        grace: args.grace.map(Duration::from_secs).unwrap_or(settings.shutdown_grace),
        console: match (args.listen, &settings.console) {
            (Some(addr), Some(c)) => Some(ConsoleSettings {
                listen: addr,
                ..c.clone()
            }),
            (Some(addr), None) => Some(ConsoleSettings::on(addr)),
            (None, c) => c.clone(),
        },
    };
    let console = opts.console.clone().map(|c| -> StartConsole {
        Box::new(move |handle| {
            Box::pin(async move {
                let console = crate::web::start(&c, handle).await.map_err(|e| e.to_string())?;
                let stop: StopConsole = Box::new(move || Box::pin(console.stop()));
                Ok(stop)
            })
        })
    });
    let app = App::open(settings, "serve").await?;
    serve(app, opts, console, stop).await?;
    Ok(())
}

/// Exits 0 when a `ferry serve` instance has a fresh heartbeat in the state store.
pub(super) async fn health(app: &App) -> Result<(), Failure> {
    let live = app.store.live_servers().await?;
    if live.is_empty() {
        return Err(Failure {
            code: super::EXIT_RUN_FAILED,
            error: anyhow::anyhow!(
                "no ferry serve instance has reported in the last {} seconds",
                crate::state::STALE_AFTER_SECS
            ),
        });
    }
    for (id, host, at) in live {
        println!("serving  {id}  on {host}  last heartbeat {}", super::output::when(at));
    }
    Ok(())
}
