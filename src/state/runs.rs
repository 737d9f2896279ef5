//! Run history: a run is recorded when it starts and completed when it ends,
//! with its files, deliveries and log.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{stamp, time, FileRow, Outcome, RunRow, StateError, Store, Trigger};
use crate::run::context::{Artifact, Delivery, LogLine};

const RUN_COLUMNS: &str = "id, script, script_path, script_hash, trigger, occurrence, started_at, ended_at, status, \
                           rows, bytes, destination, error, resend_of, released_by";

fn run_row(r: &AnyRow) -> Result<RunRow, sqlx::Error> {
    Ok(RunRow {
        id: r.try_get("id")?,
        script: r.try_get("script")?,
        script_path: r.try_get("script_path")?,
        script_hash: r.try_get("script_hash")?,
        trigger: r.try_get("trigger")?,
        occurrence: time(r.try_get("occurrence")?),
        started_at: time(r.try_get("started_at")?).unwrap_or_default(),
        ended_at: time(r.try_get("ended_at")?),
        status: r.try_get("status")?,
        rows: r.try_get("rows")?,
        bytes: r.try_get("bytes")?,
        destination: r.try_get("destination")?,
        error: r.try_get("error")?,
        resend_of: r.try_get("resend_of")?,
        released_by: r.try_get("released_by")?,
    })
}

/// Which runs to list: every field narrows the list.
#[derive(Clone, Debug, Default)]
pub struct RunFilter {
    /// One script's runs.
    pub script: Option<String>,
    /// One status (succeeded, failed, held, ...).
    pub status: Option<String>,
    /// Started at or after.
    pub from: Option<DateTime<Utc>>,
    /// Started before.
    pub to: Option<DateTime<Utc>>,
    /// At most this many.
    pub limit: i64,
}

/// Who started a run and for which schedule occurrence.
#[derive(Clone, Debug)]
pub struct NewRun<'a> {
    /// Script id.
    pub script: &'a str,
    /// Script file.
    pub path: &'a str,
    /// SHA-256 of the version that runs.
    pub hash: &'a str,
    /// How it was started.
    pub trigger: Trigger,
    /// The schedule occurrence it serves.
    pub occurrence: Option<DateTime<Utc>>,
    /// The process running it.
    pub instance: Option<&'a str>,
    /// For `ferry resend`: the run whose kept files are delivered again.
    pub resend_of: Option<i64>,
}

impl Store {
    /// Records a run as started and returns its id.
    pub async fn start_run(&self, run: &NewRun<'_>) -> Result<i64, StateError> {
        let row = sqlx::query(
            "INSERT INTO runs (script, script_path, script_hash, trigger, occurrence, instance, started_at, status, \
             resend_of) VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8) RETURNING id",
        )
        .bind(run.script)
        .bind(run.path)
        .bind(run.hash)
        .bind(run.trigger.as_str())
        .bind(run.occurrence.map(stamp))
        .bind(run.instance)
        .bind(stamp(Utc::now()))
        .bind(run.resend_of)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Records how a run ended, its files and its log, in one transaction.
    pub async fn finish_run(&self, id: i64, o: &Outcome<'_>) -> Result<(), StateError> {
        let mut tx = self.pool.begin().await?;
        // A file inside a zip is counted once, in the zip's rows and bytes.
        let bundled = |f: &&Artifact| o.files.iter().any(|z| z.parts.contains(&f.name));
        let rows: u64 = o.files.iter().filter(|f| !bundled(f)).map(|f| f.rows).sum();
        let bytes: u64 = o.files.iter().filter(|f| !bundled(f)).map(|f| f.bytes).sum();
        let mut dests: Vec<&str> = o.deliveries.iter().map(|d| d.destination.as_str()).collect();
        dests.dedup();
        sqlx::query(
            "UPDATE runs SET ended_at = $1, status = $2, rows = $3, bytes = $4, destination = $5, error = $6 \
             WHERE id = $7",
        )
        .bind(stamp(Utc::now()))
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
            let local = (o.kept && !f.transient).then(|| f.path.display().to_string());
            if sent.is_empty() {
                insert_file(&mut tx, id, f, local.as_deref(), None).await?;
            }
            for d in sent {
                insert_file(&mut tx, id, f, local.as_deref(), Some(d)).await?;
            }
        }
        for (seq, line) in o.log.iter().enumerate() {
            sqlx::query("INSERT INTO run_log (run_id, seq, at, level, message) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(seq as i64)
                .bind(stamp(line.at))
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
        let rows = match script {
            Some(s) => {
                let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE script = $1 ORDER BY id DESC LIMIT $2");
                sqlx::query(&sql).bind(s).bind(limit).fetch_all(&self.pool).await?
            }
            None => {
                let sql = format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT $1");
                sqlx::query(&sql).bind(limit).fetch_all(&self.pool).await?
            }
        };
        Ok(rows.iter().map(run_row).collect::<Result<_, _>>()?)
    }

    /// Runs matching a filter, newest first: the console's and API's history.
    /// Every condition is bound, never spliced, so filter text cannot reach the SQL.
    pub async fn runs_matching(&self, f: &RunFilter) -> Result<Vec<RunRow>, StateError> {
        let mut sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE 1 = 1");
        let mut n = 0;
        let mut arg = |sql: &mut String, cond: &str| {
            n += 1;
            sql.push_str(&cond.replace('?', &format!("${n}")));
        };
        if f.script.is_some() {
            arg(&mut sql, " AND script = ?");
        }
        if f.status.is_some() {
            arg(&mut sql, " AND status = ?");
        }
        if f.from.is_some() {
            arg(&mut sql, " AND started_at >= ?");
        }
        if f.to.is_some() {
            arg(&mut sql, " AND started_at < ?");
        }
        arg(&mut sql, " ORDER BY id DESC LIMIT ?");
        let mut q = sqlx::query(&sql);
        for v in [&f.script, &f.status].into_iter().flatten() {
            q = q.bind(v.clone());
        }
        for t in [f.from, f.to].into_iter().flatten() {
            q = q.bind(stamp(t));
        }
        let rows = q.bind(f.limit).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(run_row).collect::<Result<_, _>>()?)
    }

    /// The latest run of a script that was not a test.
    pub async fn last_run(&self, script: &str) -> Result<Option<RunRow>, StateError> {
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM runs WHERE script = $1 AND trigger <> 'test' ORDER BY id DESC LIMIT 1");
        let row = sqlx::query(&sql).bind(script).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(run_row).transpose()?)
    }

    /// One run with its files and log.
    pub async fn run(&self, id: i64) -> Result<(RunRow, Vec<FileRow>, Vec<LogLine>), StateError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StateError::NoRun(id))?;
        let files = sqlx::query(
            "SELECT name, local_path, rows, bytes, sha256, destination, remote_path, server_identity, auth_method, \
             header, file_key FROM run_files WHERE run_id = $1 ORDER BY name, destination",
        )
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
                server_identity: r.try_get(7)?,
                auth_method: r.try_get(8)?,
                header: r.try_get(9)?,
                key: r.try_get(10)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
        let log = sqlx::query("SELECT at, level, message FROM run_log WHERE run_id = $1 ORDER BY seq")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let level: String = r.try_get(1)?;
                Ok(LogLine {
                    at: time(r.try_get(0)?).unwrap_or_default(),
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

impl Store {
    /// Rows of `key` in the last run of `script` that delivered it: the
    /// baseline `max_change` compares with.
    pub async fn last_delivered_rows(&self, script: &str, key: &str) -> Result<Option<u64>, StateError> {
        let row = sqlx::query(
            "SELECT f.rows FROM run_files f JOIN runs r ON r.id = f.run_id \
             WHERE r.script = $1 AND f.file_key = $2 AND f.remote_path IS NOT NULL \
             ORDER BY r.id DESC LIMIT 1",
        )
        .bind(script)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?.map(|n| n as u64))
    }

    /// Marks older held runs of `script` superseded by run `by`; returns them.
    pub async fn supersede_held(&self, script: &str, by: i64) -> Result<Vec<i64>, StateError> {
        let ids: Vec<i64> = sqlx::query("SELECT id FROM runs WHERE script = $1 AND status = 'held' AND id < $2")
            .bind(script)
            .bind(by)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        for id in &ids {
            sqlx::query("UPDATE runs SET status = 'superseded', error = $1 WHERE id = $2")
                .bind(format!("held, then superseded by run {by}"))
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        Ok(ids)
    }

    /// Runs still held, oldest first.
    pub async fn held_runs(&self) -> Result<Vec<RunRow>, StateError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE status = 'held' ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(run_row).collect::<Result<_, _>>()?)
    }

    /// Ends a held run: `released` (by whom) or `discarded`.
    pub async fn settle_held(&self, id: i64, status: &str, by: &str) -> Result<(), StateError> {
        sqlx::query("UPDATE runs SET status = $1, released_by = $2 WHERE id = $3 AND status = 'held'")
            .bind(status)
            .bind(by)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

async fn insert_file(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    f: &Artifact,
    local: Option<&str>,
    d: Option<&Delivery>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO run_files (run_id, name, local_path, rows, bytes, sha256, destination, remote_path, \
         server_identity, auth_method, attempts, file_key, header) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id)
    .bind(&f.name)
    .bind(local)
    .bind(f.rows as i64)
    .bind(f.bytes as i64)
    .bind(&f.sha256)
    .bind(d.map(|d| d.destination.as_str()))
    .bind(d.map(|d| d.remote_path.as_str()).filter(|p| !p.is_empty()))
    .bind(d.and_then(|d| d.server_identity.as_deref()))
    .bind(d.and_then(|d| d.auth_method.as_deref()))
    .bind(d.map(|d| d.attempts as i64).unwrap_or(0))
    .bind(f.stable_key())
    .bind(Some(f.columns.join(",")).filter(|_| !f.columns.is_empty()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
