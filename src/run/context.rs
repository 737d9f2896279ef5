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
use crate::state::{DeliveryState, LogLevel};

/// Why the script is running; decides whether `deliver` sends anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Generate and deliver (`ferry run`).
    Run,
    /// Generate and show; deliver nothing, keep nothing (`ferry test-extract`).
    Test,
}

/// A file a run produced.
///
/// `Default` lets each primitive fill in only what it knows (a zip has no
/// columns or preview).
#[derive(Clone, Debug, Default)]
pub struct Artifact {
    /// The file name (what the vendor sees).
    pub name: String,
    /// Where it was written locally.
    pub path: PathBuf,
    /// Data rows (header excluded).
    pub rows: u64,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Column names, in order.
    pub columns: Vec<String>,
    /// The first rows' values as the source gave them (before charset
    /// conversion and quoting), for `test-extract --values`.
    pub preview: Vec<Vec<Option<String>>>,
    /// In a test, the file's first lines as written (see
    /// [`crate::format::first_lines`]): what the vendor will read.
    pub lines: Vec<String>,
    /// Names of the run's files bundled inside this one (a zip's entries):
    /// delivering the bundle counts as delivering them, so they are not kept
    /// as "undelivered" after the run.
    pub parts: Vec<String>,
    /// Removed from local disk when the run ends, delivered or not, even when
    /// the run fails and keeps its other files: the student photo zip, which
    /// (as in the original tool) must not linger on the extract server.
    pub transient: bool,
    /// The file's stable name across runs (the `name` option, before any
    /// date stamp): what `max_change` compares against.
    pub key: String,
    /// How to read the values back, for delimited files.
    pub layout: Option<crate::guard::Layout>,
    /// Checks added with `file.guard(...)`.
    pub guards: crate::guard::Guards,
}

impl Artifact {
    /// The artifact of a finished file holding `rows` data rows; each
    /// primitive adds what else it knows.
    pub fn written(file: crate::format::WrittenFile, rows: u64) -> Self {
        Artifact {
            name: file.name,
            path: file.path,
            rows,
            bytes: file.bytes,
            sha256: file.sha256,
            ..Artifact::default()
        }
    }

    /// The name that stays the same from run to run (a dated roster's
    /// `name` option), else the file name.
    pub fn stable_key(&self) -> &str {
        if self.key.is_empty() {
            &self.name
        } else {
            &self.key
        }
    }
}

/// Rows and bytes over a run's files, a file inside a zip counted once: in
/// the zip. History and the metrics both count this way.
pub fn totals(files: &[Artifact]) -> (u64, u64) {
    files
        .iter()
        .filter(|f| !files.iter().any(|z| z.parts.contains(&f.name)))
        .fold((0, 0), |(rows, bytes), f| (rows + f.rows, bytes + f.bytes))
}

/// A file sent (or, in a test, that would have been sent) to a destination.
#[derive(Clone, Debug, Default)]
pub struct Delivery {
    /// The file name.
    pub file: String,
    /// The destination's name.
    pub destination: String,
    /// Where it landed (empty in test mode).
    pub remote_path: String,
    /// The server's host-key or certificate fingerprint.
    pub server_identity: Option<String>,
    /// The login method that worked.
    pub auth_method: Option<String>,
    /// Tries it took.
    pub attempts: u32,
    /// How far it got (a failed or held delivery is recorded too, with its
    /// destination, so `ferry resend` and `release` know where the kept file
    /// was going).
    pub state: DeliveryState,
}

impl Delivery {
    /// A delivery that did not arrive: held, failed after `attempts` tries,
    /// or only planned (a test extract). Its destination is recorded so a
    /// later release or resend knows where the file was going.
    pub fn not_sent(file: &str, destination: &str, attempts: u32, state: DeliveryState) -> Delivery {
        Delivery {
            file: file.to_string(),
            destination: destination.to_string(),
            attempts,
            state,
            ..Delivery::default()
        }
    }

    /// A delivery that arrived, with what the destination reported.
    pub fn sent(file: &str, destination: &str, d: crate::deliver::Delivered) -> Delivery {
        Delivery {
            file: file.to_string(),
            destination: destination.to_string(),
            remote_path: d.remote_path,
            server_identity: d.server_identity,
            auth_method: d.auth_method,
            attempts: d.attempts.len() as u32,
            state: DeliveryState::Delivered,
        }
    }
}

/// One line of a run's log.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct LogLine {
    /// When.
    pub at: DateTime<Utc>,
    /// How serious.
    pub level: LogLevel,
    /// The text.
    pub message: String,
}

/// What a run has produced so far.
#[derive(Debug, Default)]
pub struct RunRecord {
    /// Log lines, in order.
    pub log: Vec<LogLine>,
    /// Files written.
    pub files: Vec<Artifact>,
    /// Deliveries made.
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
pub type Progress = Arc<dyn Fn(&str, u64) + Send + Sync>;

/// Everything a running script's primitives need, shared with the runner.
pub struct RunContext {
    /// The configuration.
    pub settings: Arc<Settings>,
    /// The configured databases.
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
        self.record.lock().unwrap_or_else(|p| p.into_inner())
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
