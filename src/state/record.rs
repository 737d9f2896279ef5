//! What a run leaves in the ledger: its files, deliveries and log lines.
//! They live here, under the state store that records them, so that the
//! store does not import the run layer that produces them; `run::context`
//! re-exports them.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::{DeliveryState, LogLevel};

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
pub(crate) fn totals(files: &[Artifact]) -> (u64, u64) {
    files
        .iter()
        .filter(|f| !files.iter().any(|z| z.parts.contains(&f.name)))
        .fold((0, 0), |(rows, bytes), f| (rows + f.rows, bytes + f.bytes))
}

/// A file sent (or, in a test, that would have been sent) to a destination.
#[derive(Clone, Debug, Default)]
pub struct Delivery {
    pub file: String,
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
