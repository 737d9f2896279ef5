//! The state store: run history, schedule claims, the processes that run
//! scripts, and the people, rights and logins of the console. SQLite by default, PostgreSQL when several `ferry serve`
//! instances share it; one schema per backend, kept by sqlx migrations, and
//! queries written once in the SQL both understand.

mod audit;
mod daemon;
mod ledger;
mod logins;
mod notifications;
mod people;
mod people_changes;
pub(crate) mod record;
mod rights;
mod runs;
mod status;
mod totp;
mod words;

use chrono::{DateTime, Utc};
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::Executor;

pub use audit::{os_user, RunParam, StartedBy, Via};
pub use daemon::{Instance, STALE_AFTER_SECS};
pub use ledger::{Anomaly, DeliveryIntent, InterruptedOccurrence, NewRun, OpenDelivery, Outcome};
pub use logins::{check_new_password, ApiToken, NewSession, ScriptChange, SessionInfo};
pub use notifications::{Level, NewNotification, Notification};
pub use people::{check_email, check_name, check_webhook, Group, PeopleError, User};
pub use people_changes::{AdminAction, PeopleChange};
pub use runs::RunFilter;
pub use status::{DeliveryState, OccurrenceOutcome, RunStatus};
pub use totp::{Enrolment, FactorCheck, FactorState, RECOVERY_CODES};
pub use words::{LogLevel, Right, ScriptAction, ToolRight};

/// A state store failure.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Opening or migrating the store.
    #[error("cannot open the state store {path}: {message}")]
    Open {
        /// The file.
        path: String,
        message: String,
    },
    /// A query failed: the store is reachable in name only (exit code 3).
    #[error("state store: {0}")]
    Query(#[from] sqlx::Error),
    /// A run id that does not exist.
    #[error("there is no run {0}; `ferry history` lists the runs")]
    NoRun(i64),
    /// A request that names something that does not exist.
    #[error("{0}")]
    Invalid(String),
}

/// How a run was started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// `ferry run`.
    Manual,
    /// `ferry test-extract`.
    Test,
    /// The scheduler.
    Scheduled,
    /// The scheduler, for an occurrence missed while no instance was running.
    CatchUp,
    /// `ferry resend`: a kept file delivered again, nothing extracted.
    Resend,
    /// `ferry release`: a held file sent as it is.
    Release,
    /// `ferry serve` after a crash: an interrupted occurrence run once more.
    Recovery,
}

impl Trigger {
    /// Every trigger, for reading stored words back.
    pub const ALL: [Trigger; 7] = [
        Trigger::Manual,
        Trigger::Test,
        Trigger::Scheduled,
        Trigger::CatchUp,
        Trigger::Resend,
        Trigger::Release,
        Trigger::Recovery,
    ];

    /// Reads a stored word back; `None` for text no version wrote.
    pub fn parse(word: &str) -> Option<Trigger> {
        Trigger::ALL.into_iter().find(|t| t.as_str() == word)
    }

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Test => "test",
            Trigger::Scheduled => "scheduled",
            Trigger::CatchUp => "catch-up",
            Trigger::Resend => "resend",
            Trigger::Release => "release",
            Trigger::Recovery => "recovery",
        }
    }
}

/// A run as recorded.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RunRow {
    /// Run id, as `ferry history` lists it.
    pub id: i64,
    /// Script id (file name without `.rhai`).
    pub script: String,
    pub script_path: String,
    /// SHA-256 of the script version.
    pub script_hash: String,
    /// manual / test / scheduled / catch-up.
    pub trigger: String,
    /// The schedule occurrence the run served.
    pub occurrence: Option<DateTime<Utc>>,
    /// Start, UTC.
    pub started_at: DateTime<Utc>,
    /// End, UTC.
    pub ended_at: Option<DateTime<Utc>>,
    /// Where the run is in its life.
    pub status: RunStatus,
    /// Data rows over all files.
    pub rows: i64,
    /// Bytes over all files.
    pub bytes: i64,
    /// Destinations used, comma-separated.
    pub destination: Option<String>,
    /// The error, for failed runs.
    pub error: Option<String>,
    /// For a resend: the run whose files it delivered again.
    pub resend_of: Option<i64>,
    /// Who released a held run (or discarded it).
    pub released_by: Option<String>,
    /// For a recovery run: the interrupted run it stands in for.
    pub recovers: Option<i64>,
    /// Who or what started it (`None` for runs recorded before ferry kept it).
    pub started_by: Option<StartedBy>,
    /// The header parameters it ran with, after overrides.
    pub params: Vec<RunParam>,
}

/// A recorded file of a run.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FileRow {
    pub name: String,
    /// Kept local copy, if any.
    pub local_path: Option<String>,
    /// Data rows, header and trailer records not counted.
    pub rows: i64,
    /// Size.
    pub bytes: i64,
    /// SHA-256, hex.
    pub sha256: String,
    /// Destination name, if delivered.
    pub destination: Option<String>,
    /// Where it landed.
    pub remote_path: Option<String>,
    /// The server's host-key or certificate fingerprint.
    pub server_identity: Option<String>,
    /// The login method that worked.
    pub auth_method: Option<String>,
    /// The column names, comma-separated.
    pub header: Option<String>,
    /// The file's stable name across runs.
    pub key: Option<String>,
    /// The delivery's state, for a file meant for a destination.
    pub state: Option<DeliveryState>,
    /// Removed from local disk once no guard holds it (the photo zip).
    pub transient: bool,
    /// The zip it went into, for a file bundled by `zip()`: delivering the
    /// zip delivered it.
    pub bundled_in: Option<String>,
}

pub use crate::config::StateLocation;

/// The state database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
}

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Reads an instant stored by [`stamp`].
pub fn time(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Instants are stored as fixed-width RFC 3339 text, so they compare and
/// order as text in both databases.
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl Store {
    /// Opens (creating and migrating) the store.
    pub async fn open(location: &StateLocation) -> Result<Store, StateError> {
        let fail = |message: String| StateError::Open {
            path: location.to_string(),
            message,
        };
        sqlx::any::install_default_drivers();
        let (url, migrator) = match location {
            StateLocation::Sqlite(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
                }
                (format!("sqlite://{}?mode=rwc", path.display()), &SQLITE)
            }
            StateLocation::Postgres { url, password } => {
                let mut url = url.clone();
                if let Some(p) = password {
                    let p = p.resolve().map_err(fail)?;
                    let enc: String = p.bytes().map(|b| format!("%{b:02X}")).collect();
                    if let Some((scheme, rest)) = url.split_once("://") {
                        let (auth, host) = rest.split_once('@').unwrap_or(("", rest));
                        url = format!("{scheme}://{auth}:{enc}@{host}");
                    }
                }
                (url, &POSTGRES)
            }
        };
        let sqlite = matches!(location, StateLocation::Sqlite(_));
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 2 } else { 4 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|e| fail(e.to_string()))?;
        // Two processes starting together (a `serve` and a cron-driven
        // `run`) may both try a migration; SQLite has no migration lock, so
        // the loser's transaction rolls back and a retry finds it applied.
        let mut attempt = 0;
        while let Err(e) = migrator.run(&pool).await {
            attempt += 1;
            if attempt >= 10 {
                return Err(fail(e.to_string()));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
        }
        Ok(Store { pool })
    }
}

/// A fresh SQLite store in a temporary folder, for the store's unit tests;
/// the folder lives as long as the returned guard.
#[cfg(test)]
pub(crate) async fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StateLocation::Sqlite(dir.path().join("state.db")))
        .await
        .unwrap();
    (dir, store)
}
