//! The processes that run scripts and the schedule occurrences they claim.
//!
//! Every process registers an instance and keeps a heartbeat; runs left
//! "running" by an instance whose heartbeat stopped are marked interrupted.
//! A schedule occurrence is claimed by inserting its (script, instant) row:
//! the primary key lets exactly one instance win, in SQLite or PostgreSQL,
//! with no coordination of our own.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use super::{stamp, time, StateError, Store};

/// This process, as recorded in the store.
#[derive(Clone, Debug)]
pub struct Instance {
    /// Unique id of the process.
    pub id: String,
    /// `serve` or `cli`.
    pub role: &'static str,
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default()
}

/// A heartbeat older than this means the instance is gone.
pub const STALE_AFTER_SECS: i64 = 30;

impl Store {
    /// Registers this process.
    pub async fn register_instance(&self, role: &'static str) -> Result<Instance, StateError> {
        let id = uuid::Uuid::new_v4().to_string();
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|h| h.trim().to_string())
            })
            .unwrap_or_default();
        let now = stamp(Utc::now());
        sqlx::query(
            "INSERT INTO instances (id, host, pid, role, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(host)
        .bind(std::process::id() as i64)
        .bind(role)
        .bind(&now)
        .bind(&now)
        .execute(&self.pool)
        .await?;
        Ok(Instance { id, role })
    }

    /// Says this process is alive.
    pub async fn heartbeat(&self, instance: &Instance) -> Result<(), StateError> {
        sqlx::query("UPDATE instances SET heartbeat_at = $1 WHERE id = $2")
            .bind(stamp(Utc::now()))
            .bind(&instance.id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a clean stop.
    pub async fn stop_instance(&self, instance: &Instance) -> Result<(), StateError> {
        sqlx::query("UPDATE instances SET stopped_at = $1 WHERE id = $2")
            .bind(stamp(Utc::now()))
            .bind(&instance.id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Live `serve` instances (fresh heartbeat, not stopped), for health checks.
    pub async fn live_servers(&self) -> Result<Vec<(String, String, DateTime<Utc>)>, StateError> {
        let cutoff = stamp(Utc::now() - Duration::seconds(STALE_AFTER_SECS));
        let rows = sqlx::query(
            "SELECT id, host, heartbeat_at FROM instances WHERE role = 'serve' AND stopped_at IS NULL \
             AND heartbeat_at >= $1 ORDER BY started_at",
        )
        .bind(cutoff)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, time(r.try_get(2)?).unwrap_or_default())))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Marks instances on this host whose process is gone (killed, crashed)
    /// as stopped, so their runs can be marked interrupted at once instead
    /// of after the heartbeat goes stale.
    pub async fn reap_dead_local(&self, me: &Instance) -> Result<(), StateError> {
        let host = host_name();
        let rows = sqlx::query("SELECT id, pid FROM instances WHERE host = $1 AND stopped_at IS NULL AND id <> $2")
            .bind(&host)
            .bind(&me.id)
            .fetch_all(&self.pool)
            .await?;
        for r in rows {
            let (id, pid): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
            let alive = pid as u32 != std::process::id() && std::path::Path::new(&format!("/proc/{pid}")).exists();
            if !alive {
                sqlx::query("UPDATE instances SET stopped_at = $1 WHERE id = $2")
                    .bind(stamp(Utc::now()))
                    .bind(&id)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Since when `ferry serve` has scheduled `script` (set to `now` the
    /// first time), and whether this call set it.
    pub async fn scheduled_since(&self, script: &str, now: DateTime<Utc>) -> Result<(DateTime<Utc>, bool), StateError> {
        let inserted =
            sqlx::query("INSERT INTO schedules (script, since) VALUES ($1, $2) ON CONFLICT (script) DO NOTHING")
                .bind(script)
                .bind(stamp(now))
                .execute(&self.pool)
                .await?
                .rows_affected()
                == 1;
        let row = sqlx::query("SELECT since FROM schedules WHERE script = $1")
            .bind(script)
            .fetch_one(&self.pool)
            .await?;
        Ok((time(row.try_get(0)?).unwrap_or(now), inserted))
    }

    /// A script left the folder: a script of that name added later starts
    /// its schedule afresh.
    pub async fn unschedule(&self, script: &str) -> Result<(), StateError> {
        sqlx::query("DELETE FROM schedules WHERE script = $1")
            .bind(script)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The latest occurrence of a script any instance claimed.
    pub async fn last_occurrence(&self, script: &str) -> Result<Option<DateTime<Utc>>, StateError> {
        let row = sqlx::query("SELECT MAX(scheduled_at) FROM occurrences WHERE script = $1")
            .bind(script)
            .fetch_one(&self.pool)
            .await?;
        Ok(time(row.try_get(0)?))
    }

    /// Occurrences of a script with their outcomes, newest first.
    pub async fn occurrences(
        &self,
        script: &str,
        limit: i64,
    ) -> Result<Vec<(DateTime<Utc>, String, Option<i64>)>, StateError> {
        let rows = sqlx::query(
            "SELECT scheduled_at, outcome, run_id FROM occurrences WHERE script = $1 ORDER BY scheduled_at DESC LIMIT $2",
        )
        .bind(script)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((time(r.try_get(0)?).unwrap_or_default(), r.try_get(1)?, r.try_get(2)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }
}
