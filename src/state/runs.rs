//! Run history: a run is recorded when it starts and completed when it ends,
//! with its files, deliveries and log.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::record::LogLine;
use super::{stamp, time, DeliveryState, FileRow, LogLevel, RunRow, RunStatus, StartedBy, StateError, Store};

const RUN_COLUMNS: &str = "id, script, script_path, script_hash, trigger, occurrence, started_at, ended_at, status, \
                           rows, bytes, destination, error, resend_of, released_by, recovers, \
                           started_by, params, overrides";

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
        status: {
            let s: String = r.try_get("status")?;
            RunStatus::parse(&s).ok_or_else(|| sqlx::Error::Decode(format!("run status '{s}' is unknown").into()))?
        },
        rows: r.try_get("rows")?,
        bytes: r.try_get("bytes")?,
        destination: r.try_get("destination")?,
        error: r.try_get("error")?,
        resend_of: r.try_get("resend_of")?,
        released_by: r.try_get("released_by")?,
        recovers: r.try_get("recovers")?,
        started_by: r
            .try_get::<Option<String>, _>("started_by")?
            .as_deref()
            .and_then(StartedBy::parse),
        params: super::audit::params_from(
            r.try_get::<Option<String>, _>("params")?.as_deref(),
            r.try_get::<Option<String>, _>("overrides")?.as_deref(),
        ),
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

impl Store {
    /// Recent runs, newest first, of one script or all.
    pub async fn runs(&self, script: Option<&str>, limit: i64) -> Result<Vec<RunRow>, StateError> {
        let rows = if let Some(s) = script {
            let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE script = $1 ORDER BY id DESC LIMIT $2");
            sqlx::query(&sql).bind(s).bind(limit).fetch_all(&self.pool).await?
        } else {
            let sql = format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT $1");
            sqlx::query(&sql).bind(limit).fetch_all(&self.pool).await?
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

    /// Every script's latest run that was not a test, in one query, for
    /// the extract list (one query per script made a list of 50 slow
    /// under many parallel requests).
    pub async fn last_runs(&self) -> Result<HashMap<String, RunRow>, StateError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE id IN (SELECT (SELECT r.id FROM runs r \
             WHERE r.script = s.script AND r.trigger <> 'test' ORDER BY r.id DESC LIMIT 1) \
             FROM (SELECT DISTINCT script FROM runs) s)"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        let mut out = HashMap::with_capacity(rows.len());
        for r in &rows {
            let run = run_row(r)?;
            out.insert(run.script.clone(), run);
        }
        Ok(out)
    }

    /// A script's latest `limit` runs that were not tests, newest first:
    /// what its sparkline draws.
    pub async fn recent_runs(&self, script: &str, limit: i64) -> Result<Vec<RunRow>, StateError> {
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM runs WHERE script = $1 AND trigger <> 'test' ORDER BY id DESC LIMIT $2");
        let rows = sqlx::query(&sql).bind(script).bind(limit).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(run_row).collect::<Result<_, _>>()?)
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
             header, file_key, state, transient, bundled_in FROM run_files WHERE run_id = $1 ORDER BY name, destination",
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
                state: r
                    .try_get::<Option<String>, _>(11)?
                    .and_then(|s| DeliveryState::parse(&s)),
                transient: r.try_get::<i64, _>(12)? != 0,
                bundled_in: r.try_get(13)?,
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
                    level: LogLevel::stored(&level),
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
             WHERE r.script = $1 AND f.file_key = $2 AND f.state IN ($3, $4) \
             ORDER BY r.id DESC LIMIT 1",
        )
        .bind(script)
        .bind(key)
        .bind(DeliveryState::Delivered.as_str())
        .bind(DeliveryState::Recovered.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?.map(|n| n as u64))
    }

    /// Runs still held, oldest first.
    pub async fn held_runs(&self) -> Result<Vec<RunRow>, StateError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE status = $1 ORDER BY id");
        let rows = sqlx::query(&sql)
            .bind(RunStatus::Held.as_str())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(run_row).collect::<Result<_, _>>()?)
    }
}
