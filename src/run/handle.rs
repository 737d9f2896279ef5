//! What the daemon hands to the services that watch it (the console), as
//! Vector's topology hands its API a watch: the current [`App`] and a queue
//! for runs asked for outside the schedule. It lives in the run layer so
//! that the console and the daemon share it without importing each other.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use super::context::Progress;
use crate::app::App;
use crate::state::{RunStatus, StartedBy};

/// The daemon's handle, given to the console when it starts.
pub struct DaemonHandle {
    /// The daemon's current configuration, databases and store, replaced on
    /// every reload of ferry.toml.
    pub app: watch::Receiver<Arc<App>>,
    /// Where Run Extract goes: the daemon's queue.
    pub asks: mpsc::UnboundedSender<RunNow>,
}

/// A run asked for outside the schedule (the console's Run Extract): it
/// goes through the daemon so the concurrency limit and the never-twice
/// rule hold for it as for scheduled runs.
pub struct RunNow {
    pub script: String,
    /// Who asked, for history.
    pub by: StartedBy,
    /// Told as files are written.
    pub progress: Option<Progress>,
    /// Answered once the run is queued, or refused (already running, not loaded).
    pub accepted: oneshot::Sender<Result<(), String>>,
    /// Answered when the run ends: its history id and status, or why it could not start.
    pub done: oneshot::Sender<Result<(i64, RunStatus), String>>,
}
