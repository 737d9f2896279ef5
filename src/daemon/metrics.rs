//! The `[metrics]` listener: `GET /metrics` and nothing else, apart from the
//! console, so a Prometheus server can scrape it without a console login
//! and the console can stay off. What is true now (held runs, each script's
//! last success, scripts that do not load) is read here, from the state
//! store and the scripts folder at each scrape, so it survives restarts.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::sync::watch;

use crate::app::App;
use crate::metrics::{encode, timed, Now, ScriptNow};
use crate::script::ScriptsDir;
use crate::state::{RunFilter, RunStatus};

/// The media type of the OpenMetrics text format, which Prometheus reads.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Why `/metrics` could not start.
#[derive(Debug, thiserror::Error)]
#[error("metrics cannot listen on {addr}: {error}; change metrics.listen in ferry.toml or stop what uses the port")]
pub(crate) struct MetricsError {
    /// The address asked for.
    pub addr: SocketAddr,
    pub error: std::io::Error,
}

/// A running metrics listener; dropping it does not stop it, [`MetricsHandle::stop`] does.
pub(crate) struct MetricsHandle {
    task: tokio::task::JoinHandle<()>,
}

impl MetricsHandle {
    /// Stops listening: the daemon calls it on shutdown, since dropping the handle leaves the task running.
    pub(crate) fn stop(self) {
        self.task.abort();
    }
}

async fn metrics(State(app): State<watch::Receiver<Arc<App>>>) -> impl IntoResponse {
    let app = app.borrow().clone();
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], scrape(&app).await)
}

/// The router: `GET /metrics` on the daemon's current configuration.
pub(crate) fn router(app: watch::Receiver<Arc<App>>) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(app)
}

/// Binds `addr` and serves `/metrics` until stopped.
pub(crate) async fn start(addr: SocketAddr, app: watch::Receiver<Arc<App>>) -> Result<MetricsHandle, MetricsError> {
    let fail = |error| MetricsError { addr, error };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(fail)?;
    let bound = listener.local_addr().map_err(fail)?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(app)).await {
            tracing::error!(error = %e, "The metrics listener stopped.");
        }
    });
    tracing::info!("Metrics on http://{bound}/metrics");
    Ok(MetricsHandle { task })
}

/// Reads what is true now and returns every metric in the OpenMetrics text format.
async fn scrape(app: &App) -> String {
    let held = match timed("held_runs", app.store.held_runs()).await {
        Ok(held) => Some(held.len() as i64),
        Err(e) => {
            tracing::warn!(error = %e, "Metrics: held runs could not be read from the state store.");
            None
        }
    };
    let mut scripts = Vec::new();
    for path in ScriptsDir::of(&app.settings).list() {
        let id = ScriptsDir::id_of(&path).unwrap_or_default();
        let loads = app.load(&path).is_ok();
        let filter = RunFilter {
            script: Some(id.clone()),
            status: Some(RunStatus::Succeeded.as_str().to_string()),
            limit: 1,
            ..RunFilter::default()
        };
        let last_success = match timed("last_success", app.store.runs_matching(&filter)).await {
            Ok(runs) => runs.first().map(|r| r.ended_at.unwrap_or(r.started_at).timestamp()),
            Err(e) => {
                tracing::warn!(error = %e, "Metrics: the last successful run could not be read.");
                None
            }
        };
        scripts.push(ScriptNow {
            id,
            loads,
            last_success,
        });
    }
    encode(Now { held, scripts })
}
