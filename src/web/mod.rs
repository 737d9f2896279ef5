//! The web console and JSON API that `ferry serve` offers when `[console]`
//! is configured: the original tool's extract list, extract page and
//! history as server-rendered pages, the same data and actions under
//! `/api/` for automation, with logins, tool rights and CSRF protection.
//!
//! Pages are rendered on the server (maud, which escapes every value it
//! interpolates) and work without JavaScript: there is no front-end build
//! to install, audit or keep in step with the API, and what a page shows
//! is what the API's handlers computed from the same functions.

mod api;
mod auth;
mod extracts;
mod headers;
mod jobs;
mod oidc;
mod openapi;
mod pages;
mod problem;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::sync::{mpsc, watch};

use crate::app::App;
use crate::config::ConsoleSettings;
use crate::run::{DaemonHandle, RunNow};

pub use auth::{ADDRESS_LIMIT, LOGIN_LIMIT};
pub use problem::Problem;

/// Why the console could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The address is taken or not this host's.
    #[error(
        "the console cannot listen on {addr}: {error}; change console.listen in ferry.toml (or --listen) or stop what uses the port"
    )]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why (a field, not a source, so the report says it once).
        error: std::io::Error,
    },
    /// The certificate or key does not load.
    #[error("the console's TLS certificate {cert} or key {key} does not load: {message}; give PEM files in console.tls_certificate and console.tls_key")]
    Tls {
        /// The certificate file.
        cert: String,
        key: String,
        message: String,
    },
}

/// What every handler shares.
pub(crate) struct Console {
    /// The daemon's current configuration, databases and store.
    app: watch::Receiver<Arc<App>>,
    /// Where Run Extract goes: the daemon's queue.
    asks: mpsc::UnboundedSender<RunNow>,
    /// Long actions (tests, runs) a page can come back to.
    jobs: jobs::Jobs,
    /// Failed logins, for rate limiting.
    logins: auth::Limiter,
    /// Sign-ins through the identity provider in progress.
    sign_ins: oidc::Flows,
    /// Scripts as the extract list last compiled them.
    catalog: crate::catalog::Loaded,
    /// The list's sparklines as last drawn.
    sparklines: pages::Sparklines,
    settings: ConsoleSettings,
}

impl Console {
    /// The configuration as of now (it changes when ferry.toml is edited).
    fn app(&self) -> Arc<App> {
        self.app.borrow().clone()
    }
}

type Shared = Arc<Console>;

/// A running console; [`ConsoleHandle::stop`] ends it.
pub struct ConsoleHandle {
    handle: axum_server::Handle<SocketAddr>,
    task: tokio::task::JoinHandle<()>,
    /// The address it listens on (the real port when 0 was asked for).
    pub addr: SocketAddr,
}

impl ConsoleHandle {
    /// Stops accepting, lets requests in flight end (5 s at most).
    pub async fn stop(self) {
        self.handle.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
        let _ = self.task.await;
    }
}

/// All routes: pages at the root, JSON under `/api/`; every response with
/// the security headers, every state change from the console's own site.
fn router(console: Shared) -> Router {
    Router::new()
        .merge(pages::routes())
        .nest(
            "/api",
            api::routes().layer(axum::middleware::from_fn(headers::json_problems)),
        )
        .layer(axum::middleware::from_fn(headers::same_origin))
        .layer(axum::middleware::from_fn_with_state(console.clone(), headers::secure))
        .with_state(console)
}

/// Binds the console and serves it in the background. Binding happens
/// here, so a taken port stops `ferry serve` at start with a clear error.
pub async fn start(settings: &ConsoleSettings, daemon: DaemonHandle) -> Result<ConsoleHandle, WebError> {
    let DaemonHandle { app, asks } = daemon;
    let bind = |error| WebError::Bind {
        addr: settings.listen,
        error,
    };
    let listener = std::net::TcpListener::bind(settings.listen).map_err(bind)?;
    listener.set_nonblocking(true).map_err(bind)?;
    let addr = listener.local_addr().map_err(bind)?;
    let console = Arc::new(Console {
        app,
        asks,
        jobs: jobs::Jobs::default(),
        logins: auth::Limiter::default(),
        sign_ins: oidc::Flows::default(),
        catalog: crate::catalog::Loaded::default(),
        sparklines: pages::Sparklines::default(),
        settings: settings.clone(),
    });
    let service = router(console).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let scheme = if settings.tls.is_some() { "https" } else { "http" };
    let task = match &settings.tls {
        None => {
            let server = axum_server::from_tcp(listener).map_err(bind)?.handle(handle.clone());
            tokio::spawn(async move {
                if let Err(e) = server.serve(service).await {
                    tracing::error!(error = %e, "The console stopped.");
                }
            })
        }
        Some((cert, key)) => {
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|e| WebError::Tls {
                    cert: cert.display().to_string(),
                    key: key.display().to_string(),
                    message: e.to_string(),
                })?;
            let server = axum_server::from_tcp_rustls(listener, tls)
                .map_err(bind)?
                .handle(handle.clone());
            tokio::spawn(async move {
                if let Err(e) = server.serve(service).await {
                    tracing::error!(error = %e, "The console stopped.");
                }
            })
        }
    };
    tracing::info!("Console listening on {scheme}://{addr}/");
    Ok(ConsoleHandle { handle, task, addr })
}
