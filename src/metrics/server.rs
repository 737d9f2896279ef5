//! The `[metrics]` listener: `GET /metrics` and nothing else, apart from the
//! console, so a Prometheus server can scrape it without a console login
//! and the console can stay off.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::sync::watch;

use crate::app::App;

/// The media type of the OpenMetrics text format, which Prometheus reads.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Why `/metrics` could not start.
#[derive(Debug, thiserror::Error)]
#[error("metrics cannot listen on {addr}: {error}; change metrics.listen in ferry.toml or stop what uses the port")]
pub struct MetricsError {
    /// The address asked for.
    pub addr: SocketAddr,
    /// Why.
    pub error: std::io::Error,
}

/// A running metrics listener; dropping it does not stop it, [`MetricsHandle::stop`] does.
pub struct MetricsHandle {
    task: tokio::task::JoinHandle<()>,
    /// The address bound (the port is chosen when 0 was asked for).
    pub addr: SocketAddr,
}

impl MetricsHandle {
    /// Stops listening.
    pub fn stop(self) {
        self.task.abort();
    }
}

async fn metrics(State(app): State<watch::Receiver<Arc<App>>>) -> impl IntoResponse {
    let app = app.borrow().clone();
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], super::scrape(&app).await)
}

/// The router: `GET /metrics` on the daemon's current configuration.
pub fn router(app: watch::Receiver<Arc<App>>) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(app)
}

/// Binds `addr` and serves `/metrics` until stopped.
pub async fn start(addr: SocketAddr, app: watch::Receiver<Arc<App>>) -> Result<MetricsHandle, MetricsError> {
    let fail = |error| MetricsError { addr, error };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(fail)?;
    let bound = listener.local_addr().map_err(fail)?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(app)).await {
            tracing::error!(error = %e, "The metrics listener stopped.");
        }
    });
    tracing::info!("Metrics on http://{bound}/metrics");
    Ok(MetricsHandle { task, addr: bound })
}
