//! Per-run state that travels with a script's execution: where files go, the
//! deadline and cancel flag, and what the run has produced so far.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::config::Settings;
use crate::source::Databases;
pub(crate) use crate::state::record::{totals, Artifact, Delivery, LogLine};
use crate::state::LogLevel;

/// Why the script is running; decides whether `deliver` sends anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Generate and deliver (`ferry run`).
    Run,
    /// Generate and show; deliver nothing, keep nothing (`ferry test-extract`).
    Test,
}

/// What a run has produced so far.
#[derive(Debug, Default)]
pub struct RunRecord {
    /// Log lines, in order.
    pub log: Vec<LogLine>,
    /// Files written, in order, as history records them.
    pub files: Vec<Artifact>,
    /// Deliveries made, in order, as history records them.
    pub deliveries: Vec<Delivery>,
    /// `notify(group, message)` calls, sent by the runner once the run is
    /// recorded, so a slow mail server never holds up the extract.
    pub notices: Vec<(String, String)>,
    /// Warnings for the script's own `notify` group (a recipient's PGP key
    /// about to expire), sent like `notices` once the run is recorded.
    pub warnings: Vec<String>,
    /// Set when the run was refused for missing rights (a filter's owner):
    /// the scheduler then stops the script until it is resumed.
    pub refusal: Option<String>,
    /// Deliveries not made because a guard failed: "file to 'dest': why".
    pub holds: Vec<String>,
}

/// Called with (file name, rows written so far) while a file is written.
pub(crate) type Progress = Arc<dyn Fn(&str, u64) + Send + Sync>;

/// Everything a running script's primitives need, shared with the runner.
pub struct RunContext {
    /// The configuration.
    pub settings: Arc<Settings>,
    pub databases: Arc<Databases>,
    /// The state store (rights of filter owners).
    pub store: crate::state::Store,
    /// The async runtime host functions block on (they run on a blocking thread).
    pub runtime: tokio::runtime::Handle,
    /// Run or test.
    pub mode: Mode,
    /// The script file, for error locations.
    pub script_path: PathBuf,
    /// The script's id in history (what `max_change` looks up).
    pub script_id: String,
    /// The run's id in history, under which its deliveries are recorded.
    pub run_id: i64,
    /// This process in the state store.
    pub instance: String,
    /// The header's `[guards]`, checked before each delivery.
    pub guards: crate::guard::Guards,
    /// This run's folder; files are built here.
    pub work_dir: PathBuf,
    /// When the run must stop.
    pub deadline: Instant,
    /// The run's time limit as written, for messages.
    pub timeout_text: String,
    /// Set to stop the run at the next check.
    pub cancel: Arc<AtomicBool>,
    /// When the run started, in the script's time zone (file name dates).
    pub started: DateTime<Tz>,
    /// `query("live", ..)` goes to `warehouse`.
    pub use_warehouse: bool,
    /// Progress callback for terminals.
    pub progress: Option<Progress>,
    /// What the run produced.
    pub record: Mutex<RunRecord>,
    /// Set while the header's `include` scripts are being built: their
    /// `deliver` calls keep the files for the bundle instead of sending.
    pub including: std::sync::atomic::AtomicBool,
    /// How many of the record's files the included scripts built.
    pub included: std::sync::atomic::AtomicUsize,
}

impl RunContext {
    /// Appends a log line (and mirrors it to tracing).
    pub fn log(&self, level: LogLevel, message: impl Into<String>) {
        let message = message.into();
        tracing::info!(script = %self.script_path.display(), level = level.as_str(), "{message}");
        self.lock().log.push(LogLine {
            at: Utc::now(),
            level,
            message,
        });
    }

    /// The record, even if a panicking thread poisoned the lock.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, RunRecord> {
        self.record.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Why the run must stop now, if it must.
    pub fn stop_reason(&self) -> Option<String> {
        if self.cancel.load(Ordering::Relaxed) {
            Some("the run was cancelled".to_string())
        } else if Instant::now() >= self.deadline {
            Some(format!("the run's time limit of {} passed", self.timeout_text))
        } else {
            None
        }
    }

    /// The database a script's name refers to, honouring `use_warehouse`.
    pub fn database_name<'a>(&self, name: &'a str) -> &'a str {
        crate::script::header::database_for(self.use_warehouse, name)
    }
}
