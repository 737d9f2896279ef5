//! The state store: run history in SQLite, schema kept by sqlx migrations.

use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::Row;

use crate::run::context::{Artifact, Delivery, LogLine};

/// A state store failure.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Opening or migrating the store.
    #[error("cannot open the state store {path}: {message}")]
    Open {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// A query failed.
    #[error("state store: {0}")]
    Query(#[from] sqlx::Error),
    /// A run id that does not exist.
    #[error("there is no run {0}; `ferry history` lists the runs")]
    NoRun(i64),
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
}

impl Trigger {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Test => "test",
            Trigger::Scheduled => "scheduled",
        }
    }
}

/// A run as recorded.
#[derive(Clone, Debug)]
pub struct RunRow {
    /// Run id.
    pub id: i64,
    /// Script id (file name without `.rhai`).
    pub script: String,
    /// Script file.
    pub script_path: String,
    /// SHA-256 of the script version.
    pub script_hash: String,
    /// manual / test / scheduled.
    pub trigger: String,
    /// Start, UTC.
    pub started_at: DateTime<Utc>,
    /// End, UTC.
    pub ended_at: Option<DateTime<Utc>>,
    /// running / succeeded / failed / interrupted.
    pub status: String,
    /// Data rows over all files.
    pub rows: i64,
    /// Bytes over all files.
    pub bytes: i64,
    /// Destinations used, comma-separated.
    pub destination: Option<String>,
    /// The error, for failed runs.
    pub error: Option<String>,
}

/// A recorded file of a run.
#[derive(Clone, Debug)]
pub struct FileRow {
    /// File name.
    pub name: String,
    /// Kept local copy, if any.
    pub local_path: Option<String>,
    /// Data rows.
    pub rows: i64,
    /// Size.
    pub bytes: i64,
    /// SHA-256, hex.
    pub sha256: String,
    /// Destination name, if delivered.
    pub destination: Option<String>,
    /// Where it landed.
    pub remote_path: Option<String>,
}

/// How a run ended, for [`Store::finish_run`].
pub struct Outcome<'a> {
    /// succeeded / failed / interrupted.
    pub status: &'a str,
    /// The error text.
    pub error: Option<&'a str>,
    /// Files produced.
    pub files: &'a [Artifact],
    /// Whether local copies were kept.
    pub kept: bool,
    /// Deliveries made.
    pub deliveries: &'a [Delivery],
    /// The run's log.
    pub log: &'a [LogLine],
}

/// The history database.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

const RUN_COLUMNS: &str =
    "id, script, script_path, script_hash, trigger, started_at, ended_at, status, rows, bytes, destination, error";

fn run_row(r: &sqlx::sqlite::SqliteRow) -> Result<RunRow, sqlx::Error> {
    let time = |s: Option<String>| {
        s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    Ok(RunRow {
        id: r.try_get("id")?,
        script: r.try_get("script")?,
        script_path: r.try_get("script_path")?,
        script_hash: r.try_get("script_hash")?,
        trigger: r.try_get("trigger")?,
        started_at: time(r.try_get("started_at")?).unwrap_or_default(),
        ended_at: time(r.try_get("ended_at")?),
        status: r.try_get("status")?,
        rows: r.try_get("rows")?,
        bytes: r.try_get("bytes")?,
        destination: r.try_get("destination")?,
        error: r.try_get("error")?,
    })
}

impl Store {
    /// Opens (creating and migrating) the store at `path`.
    pub async fn open(path: &Path) -> Result<Store, StateError> {
        let fail = |message: String| StateError::Open {
            path: path.display().to_string(),
            message,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
        }
        let opts = SqliteConnectOptions::from_str(&format!("sqlite:{}", path.display()))
            .map_err(|e| fail(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(opts)
            .await
            .map_err(|e| fail(e.to_string()))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| fail(e.to_string()))?;
        Ok(Store { pool })
    }

    /// Records a run as started and returns its id.
    pub async fn start_run(&self, script: &str, path: &str, hash: &str, trigger: Trigger) -> Result<i64, StateError> {
        let row = sqlx::query(
            "INSERT INTO runs (script, script_path, script_hash, trigger, started_at, status) \
             VALUES (?, ?, ?, ?, ?, 'running') RETURNING id",
        )
        .bind(script)
        .bind(path)
        .bind(hash)
        .bind(trigger.as_str())
        .bind(Utc::now().to_rfc3339())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Records how a run ended, its files and its log, in one transaction.
    pub async fn finish_run(&self, id: i64, o: &Outcome<'_>) -> Result<(), StateError> {
        let mut tx = self.pool.begin().await?;
        let rows: u64 = o.files.iter().map(|f| f.rows).sum();
        let bytes: u64 = o.files.iter().map(|f| f.bytes).sum();
        let mut dests: Vec<&str> = o.deliveries.iter().map(|d| d.destination.as_str()).collect();
        dests.dedup();
        sqlx::query(
            "UPDATE runs SET ended_at = ?, status = ?, rows = ?, bytes = ?, destination = ?, error = ? WHERE id = ?",
        )
        .bind(Utc::now().to_rfc3339())
        .bind(o.status)
        .bind(rows as i64)
        .bind(bytes as i64)
        .bind(Some(dests.join(", ")).filter(|d| !d.is_empty()))
        .bind(o.error)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        for f in o.files {
            let sent: Vec<&Delivery> = o.deliveries.iter().filter(|d| d.file == f.name).collect();
            let local = o.kept.then(|| f.path.display().to_string());
            if sent.is_empty() {
                insert_file(&mut tx, id, f, local.as_deref(), None).await?;
            }
            for d in sent {
                insert_file(&mut tx, id, f, local.as_deref(), Some(d)).await?;
            }
        }
        for (seq, line) in o.log.iter().enumerate() {
            sqlx::query("INSERT INTO run_log (run_id, seq, at, level, message) VALUES (?, ?, ?, ?, ?)")
                .bind(id)
                .bind(seq as i64)
                .bind(line.at.to_rfc3339())
                .bind(line.level)
                .bind(&line.message)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Recent runs, newest first, of one script or all.
    pub async fn runs(&self, script: Option<&str>, limit: i64) -> Result<Vec<RunRow>, StateError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE (?1 IS NULL OR script = ?1) ORDER BY id DESC LIMIT ?2");
        let rows = sqlx::query(&sql).bind(script).bind(limit).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(run_row).collect::<Result<_, _>>()?)
    }

    /// The latest run of a script that was not a test.
    pub async fn last_run(&self, script: &str) -> Result<Option<RunRow>, StateError> {
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM runs WHERE script = ? AND trigger <> 'test' ORDER BY id DESC LIMIT 1");
        let row = sqlx::query(&sql).bind(script).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(run_row).transpose()?)
    }

    /// One run with its files and log.
    pub async fn run(&self, id: i64) -> Result<(RunRow, Vec<FileRow>, Vec<LogLine>), StateError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StateError::NoRun(id))?;
        let files = sqlx::query("SELECT name, local_path, rows, bytes, sha256, destination, remote_path FROM run_files WHERE run_id = ? ORDER BY rowid")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(FileRow {
                    name: r.try_get(0)?,
                    local_path: r.try_get(1)?,
                    rows: r.try_get(2)?,
                    bytes: r.try_get(3)?,
                    sha256: r.try_get(4)?,
                    destination: r.try_get(5)?,
                    remote_path: r.try_get(6)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        let log = sqlx::query("SELECT at, level, message FROM run_log WHERE run_id = ? ORDER BY seq")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let at: String = r.try_get(0)?;
                let level: String = r.try_get(1)?;
                Ok(LogLine {
                    at: DateTime::parse_from_rfc3339(&at)
                        .map(|t| t.with_timezone(&Utc))
                        .unwrap_or_default(),
                    level: match level.as_str() {
                        "error" => "error",
                        "warn" => "warn",
                        _ => "info",
                    },
                    message: r.try_get(2)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok((run_row(&row)?, files, log))
    }
}

async fn insert_file(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: i64,
    f: &Artifact,
    local: Option<&str>,
    d: Option<&Delivery>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO run_files (run_id, name, local_path, rows, bytes, sha256, destination, remote_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(id)
        .bind(&f.name)
        .bind(local)
        .bind(f.rows as i64)
        .bind(f.bytes as i64)
        .bind(&f.sha256)
        .bind(d.map(|d| d.destination.as_str()))
        .bind(d.map(|d| d.remote_path.as_str()).filter(|p| !p.is_empty()))
        .execute(&mut **tx)
        .await?;
    Ok(())
}
