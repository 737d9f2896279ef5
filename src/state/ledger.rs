//! The run ledger: the one writer of runs, schedule occurrences and
//! deliveries. Every other module reads history; only this one changes it.
//!
//! Two rules make history the truth whatever crashes:
//! - *Intent before side effect.* An occurrence is claimed in the same
//!   transaction that creates its run (or records why it did not run), and a
//!   delivery is recorded `sending`, with its temporary and final names, size
//!   and SHA-256, before its first byte moves.
//! - *Recovery closes every window.* Whatever a killed instance left open
//!   (`running` runs, `sending`/`committing` deliveries, `interrupted`
//!   occurrences) is listed here for `run::recovery` to settle against what
//!   the destination actually holds.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use super::record::{Artifact, Delivery, LogLine};
use super::{
    stamp, time, DeliveryState, OccurrenceOutcome, RunParam, RunStatus, StartedBy, StateError, Store, Trigger,
    STALE_AFTER_SECS,
};

/// Who started a run and for which schedule occurrence.
#[derive(Clone, Debug)]
pub struct NewRun<'a> {
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
    /// For `ferry resend` / `release`: the run whose kept files are delivered again.
    pub resend_of: Option<i64>,
    /// For a recovery run: the interrupted run whose occurrence it serves again.
    pub recovers: Option<i64>,
    /// Who or what started it.
    pub started_by: &'a StartedBy,
    /// The header parameters it runs with, after overrides (none for a
    /// resend or release, which extract nothing).
    pub params: &'a [RunParam],
}

/// How a run ended, for [`Store::finish_run`].
pub struct Outcome<'a> {
    pub status: RunStatus,
    /// What failed, shown by `ferry history` and the console.
    pub error: Option<&'a str>,
    pub files: &'a [Artifact],
    /// Whether local copies were kept.
    pub kept: bool,
    /// Deliveries not recorded as they happened (held, planned); those that
    /// moved bytes were recorded by [`Store::delivery_sending`] and after.
    pub deliveries: &'a [Delivery],
    /// The run's log, stored whole with the run.
    pub log: &'a [LogLine],
}

/// Where a delivery's bytes go, recorded before they move.
#[derive(Clone, Debug)]
pub struct DeliveryIntent<'a> {
    pub run: i64,
    /// The file sent: its name and hash identify it in the ledger.
    pub file: &'a Artifact,
    pub destination: &'a str,
    /// The final remote path.
    pub target: &'a str,
    /// The temporary the bytes go to first (rename and folder strategies).
    pub temp: Option<&'a str>,
    /// The marker written after the file (marker strategy).
    pub marker: Option<&'a str>,
    /// The process sending.
    pub instance: &'a str,
}

/// A delivery a dead instance left `sending` or `committing`.
#[derive(Clone, Debug)]
pub struct OpenDelivery {
    /// The delivery's id, a random UUID recorded before the first byte moves.
    pub id: String,
    pub run: i64,
    pub name: String,
    pub destination: String,
    /// How far it got.
    pub state: DeliveryState,
    /// Final remote path.
    pub target: String,
    /// Temporary remote path, for rename and folder strategies.
    pub temp: Option<String>,
    /// Marker path, for the marker strategy.
    pub marker: Option<String>,
    /// Expected size.
    pub bytes: u64,
    /// Expected SHA-256.
    pub sha256: String,
}

/// An occurrence whose run was interrupted (or, from before the ledger,
/// claimed with no run): recovery runs it again or says why not.
#[derive(Clone, Debug)]
pub struct InterruptedOccurrence {
    pub script: String,
    /// The occurrence.
    pub at: DateTime<Utc>,
    /// The interrupted run, if there was one.
    pub run: Option<i64>,
    /// Files that run got to a vendor (it is then not run again).
    pub delivered: Vec<String>,
}

/// Something in the store that does not fit the state machine, and what
/// recovery did about it.
#[derive(Clone, Debug)]
pub struct Anomaly {
    /// The row: `run 12`, `delivery of roster.csv in run 9`.
    pub row: String,
    /// What is wrong and what was done.
    pub message: String,
}

/// The part of the WHERE clause that says "its instance is gone".
const DEAD: &str = "(instance IS NULL OR instance NOT IN \
    (SELECT id FROM instances WHERE stopped_at IS NULL AND heartbeat_at >= $1))";

/// Words for an SQL `IN (...)` list. Only the ledger's own constant words
/// ever reach it, never input.
fn sql_list<T: std::fmt::Display>(words: &[T]) -> String {
    words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(", ")
}

fn open_states() -> String {
    sql_list(DeliveryState::OPEN)
}

fn cutoff() -> String {
    stamp(Utc::now() - Duration::seconds(STALE_AFTER_SECS))
}

async fn insert_run(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    run: &NewRun<'_>,
    status: RunStatus,
    error: Option<&str>,
) -> Result<i64, sqlx::Error> {
    let now = stamp(Utc::now());
    let ended = (status != RunStatus::Running).then(|| now.clone());
    let (values, overrides) = super::audit::params_columns(run.params);
    let row = sqlx::query(
        "INSERT INTO runs (script, script_path, script_hash, trigger, occurrence, instance, started_at, status, \
         resend_of, recovers, ended_at, error, started_by, params, overrides) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
    )
    .bind(run.script)
    .bind(run.path)
    .bind(run.hash)
    .bind(run.trigger.as_str())
    .bind(run.occurrence.map(stamp))
    .bind(run.instance)
    .bind(&now)
    .bind(status.as_str())
    .bind(run.resend_of)
    .bind(run.recovers)
    .bind(ended)
    .bind(error)
    .bind(run.started_by.stored())
    .bind(values)
    .bind(overrides)
    .fetch_one(&mut **tx)
    .await?;
    row.try_get(0)
}

impl Store {
    /// Records a run that serves no schedule occurrence (manual, test,
    /// resend, release) as started and returns its id.
    pub async fn start_run(&self, run: &NewRun<'_>) -> Result<i64, StateError> {
        let mut tx = self.pool.begin().await?;
        let id = insert_run(&mut tx, run, RunStatus::Running, None).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Claims the occurrence `run.occurrence` and creates its run in one
    /// transaction: `None` when another instance (or an earlier start of
    /// this one) already has it. There is no instant at which an occurrence
    /// is claimed but has no run.
    pub async fn claim_run(&self, run: &NewRun<'_>, instance: &str) -> Result<Option<i64>, StateError> {
        self.claim_as(run, instance, RunStatus::Running, OccurrenceOutcome::Running, None)
            .await
    }

    /// Claims an occurrence that does not run (`skipped`, `missed`) and
    /// records it as a finished run with the reason, in one transaction.
    pub async fn claim_not_run(
        &self,
        run: &NewRun<'_>,
        instance: &str,
        status: RunStatus,
        reason: &str,
    ) -> Result<Option<i64>, StateError> {
        let outcome = match status {
            RunStatus::Skipped => OccurrenceOutcome::Skipped,
            _ => OccurrenceOutcome::Missed,
        };
        self.claim_as(run, instance, status, outcome, Some(reason)).await
    }

    async fn claim_as(
        &self,
        run: &NewRun<'_>,
        instance: &str,
        status: RunStatus,
        outcome: OccurrenceOutcome,
        reason: Option<&str>,
    ) -> Result<Option<i64>, StateError> {
        let at = run
            .occurrence
            .ok_or_else(|| StateError::Invalid("a claim needs an occurrence".into()))?;
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query(
            "INSERT INTO occurrences (script, scheduled_at, instance, claimed_at, outcome, reason) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (script, scheduled_at) DO NOTHING",
        )
        .bind(run.script)
        .bind(stamp(at))
        .bind(instance)
        .bind(stamp(Utc::now()))
        .bind(outcome.as_str())
        .bind(reason)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() != 1 {
            return Ok(None);
        }
        let id = insert_run(&mut tx, run, status, reason).await?;
        set_occurrence_run(&mut tx, run.script, at, id).await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Records occurrences that passed while no instance ran them, with the
    /// reason, and no run (catch-up runs only the latest). Occurrences
    /// already claimed are left as they are.
    pub async fn record_missed(
        &self,
        script: &str,
        at: &[DateTime<Utc>],
        instance: &str,
        reason: &str,
    ) -> Result<(), StateError> {
        let mut tx = self.pool.begin().await?;
        for t in at {
            sqlx::query(
                "INSERT INTO occurrences (script, scheduled_at, instance, claimed_at, outcome, reason) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (script, scheduled_at) DO NOTHING",
            )
            .bind(script)
            .bind(stamp(*t))
            .bind(instance)
            .bind(stamp(Utc::now()))
            .bind(OccurrenceOutcome::Missed.as_str())
            .bind(reason)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Takes an interrupted occurrence for its one recovery run, in one
    /// transaction with the run: `None` when another instance took it or it
    /// was settled meanwhile.
    pub async fn claim_recovery(&self, run: &NewRun<'_>, instance: &str) -> Result<Option<i64>, StateError> {
        let at = run
            .occurrence
            .ok_or_else(|| StateError::Invalid("a recovery run needs an occurrence".into()))?;
        let mut tx = self.pool.begin().await?;
        let taken = sqlx::query(
            "UPDATE occurrences SET outcome = $1, instance = $2, claimed_at = $3 \
             WHERE script = $4 AND scheduled_at = $5 AND (outcome = $6 OR (outcome = $7 AND run_id IS NULL))",
        )
        .bind(OccurrenceOutcome::Running.as_str())
        .bind(instance)
        .bind(stamp(Utc::now()))
        .bind(run.script)
        .bind(stamp(at))
        .bind(OccurrenceOutcome::Interrupted.as_str())
        .bind(OccurrenceOutcome::Claimed.as_str())
        .execute(&mut *tx)
        .await?;
        if taken.rows_affected() != 1 {
            return Ok(None);
        }
        let id = insert_run(&mut tx, run, RunStatus::Running, None).await?;
        set_occurrence_run(&mut tx, run.script, at, id).await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Settles an interrupted occurrence without running it again.
    pub async fn occurrence_missed(&self, script: &str, at: DateTime<Utc>, reason: &str) -> Result<(), StateError> {
        sqlx::query(
            "UPDATE occurrences SET outcome = $1, reason = $2 WHERE script = $3 AND scheduled_at = $4 \
             AND outcome IN ($5, $6)",
        )
        .bind(OccurrenceOutcome::Missed.as_str())
        .bind(reason)
        .bind(script)
        .bind(stamp(at))
        .bind(OccurrenceOutcome::Interrupted.as_str())
        .bind(OccurrenceOutcome::Claimed.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records how a run ended: its status (only a `running` run changes;
    /// one already marked interrupted keeps that), the files that had no
    /// delivery recorded as it happened, what was kept, the log, and its
    /// occurrence's outcome, in one transaction.
    pub async fn finish_run(&self, id: i64, o: &Outcome<'_>) -> Result<(), StateError> {
        let (rows, bytes) = super::record::totals(o.files);
        // Read before the transaction: only this run's own task writes its
        // deliveries, and a SQLite transaction that reads before it writes
        // fails at once ("database is locked") when another connection is
        // writing, where one that writes first waits its turn.
        let recorded: Vec<(String, Option<String>)> =
            sqlx::query("SELECT name, destination FROM run_files WHERE run_id = $1")
                .bind(id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()?;
        let mut dests: Vec<String> = recorded.iter().filter_map(|(_, d)| d.clone()).collect();
        dests.extend(o.deliveries.iter().map(|d| d.destination.clone()));
        dests.dedup();
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE runs SET ended_at = $1, status = $2, rows = $3, bytes = $4, destination = $5, error = $6 \
             WHERE id = $7 AND status = $8",
        )
        .bind(stamp(Utc::now()))
        .bind(o.status.as_str())
        .bind(rows as i64)
        .bind(bytes as i64)
        .bind(Some(dests.join(", ")).filter(|d| !d.is_empty()))
        .bind(o.error)
        .bind(id)
        .bind(RunStatus::Running.as_str())
        .execute(&mut *tx)
        .await?;
        for f in o.files {
            // A transient file (the photo zip) is kept only while a guard holds it.
            let held = o
                .deliveries
                .iter()
                .any(|d| d.file == f.name && d.state == DeliveryState::Held);
            let local = (o.kept && (!f.transient || held)).then(|| f.path.display().to_string());
            let extra: Vec<&Delivery> = o.deliveries.iter().filter(|d| d.file == f.name).collect();
            let any_recorded = recorded.iter().any(|(n, _)| *n == f.name);
            if extra.is_empty() && !any_recorded {
                insert_file(&mut tx, id, f, local.as_deref(), None).await?;
            }
            for d in extra {
                insert_file(&mut tx, id, f, local.as_deref(), Some(d)).await?;
            }
            sqlx::query("UPDATE run_files SET local_path = $1 WHERE run_id = $2 AND name = $3")
                .bind(local.as_deref())
                .bind(id)
                .bind(&f.name)
                .execute(&mut *tx)
                .await?;
        }
        for z in o.files {
            for part in &z.parts {
                sqlx::query("UPDATE run_files SET bundled_in = $1 WHERE run_id = $2 AND name = $3")
                    .bind(&z.name)
                    .bind(id)
                    .bind(part)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for (seq, line) in o.log.iter().enumerate() {
            sqlx::query("INSERT INTO run_log (run_id, seq, at, level, message) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(seq as i64)
                .bind(stamp(line.at))
                .bind(line.level.as_str())
                .bind(&line.message)
                .execute(&mut *tx)
                .await?;
        }
        if changed.rows_affected() == 1 {
            let outcome = if o.status == RunStatus::Interrupted {
                OccurrenceOutcome::Interrupted
            } else {
                OccurrenceOutcome::Ran
            };
            settle_occurrence_of(&mut tx, id, outcome).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records a delivery's intent before its first byte moves; returns the
    /// delivery's id for the next steps.
    pub async fn delivery_sending(&self, d: &DeliveryIntent<'_>) -> Result<String, StateError> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        sqlx::query(
            "INSERT INTO run_files (run_id, name, rows, bytes, sha256, destination, file_key, header, state, \
             delivery_id, target_path, temp_path, marker_path, instance, attempts, transient) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 0, $15)",
        )
        .bind(d.run)
        .bind(&d.file.name)
        .bind(d.file.rows as i64)
        .bind(d.file.bytes as i64)
        .bind(&d.file.sha256)
        .bind(d.destination)
        .bind(d.file.stable_key())
        .bind(Some(d.file.columns.join(",")).filter(|_| !d.file.columns.is_empty()))
        .bind(DeliveryState::Sending.as_str())
        .bind(&id)
        .bind(d.target)
        .bind(d.temp)
        .bind(d.marker)
        .bind(d.instance)
        .bind(i64::from(d.file.transient))
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// The whole file is on the server; the commit (rename, marker) is next.
    pub async fn delivery_committing(&self, id: &str) -> Result<(), StateError> {
        self.delivery_state(
            id,
            DeliveryState::Committing,
            &[DeliveryState::Sending, DeliveryState::Committing],
        )
        .await
    }

    /// The commit succeeded: the vendor has the file.
    pub async fn delivery_delivered(&self, id: &str, d: &Delivery) -> Result<(), StateError> {
        sqlx::query(
            "UPDATE run_files SET state = $1, remote_path = target_path, server_identity = $2, auth_method = $3, \
             attempts = $4 WHERE delivery_id = $5",
        )
        .bind(DeliveryState::Delivered.as_str())
        .bind(d.server_identity.as_deref())
        .bind(d.auth_method.as_deref())
        .bind(d.attempts as i64)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every attempt failed; the destination holds what it held before.
    pub async fn delivery_failed(&self, id: &str, attempts: u32) -> Result<(), StateError> {
        sqlx::query("UPDATE run_files SET state = $1, attempts = $2 WHERE delivery_id = $3")
            .bind(DeliveryState::Failed.as_str())
            .bind(attempts as i64)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Recovery's verdict on an open delivery: `recovered` (the final name
    /// holds the file), `abandoned` or `unknown`. Only an open delivery changes.
    pub async fn delivery_settled(&self, id: &str, state: DeliveryState) -> Result<(), StateError> {
        if state.arrived() {
            sqlx::query(&format!(
                "UPDATE run_files SET state = $1, remote_path = target_path WHERE delivery_id = $2 \
                 AND state IN ({})",
                open_states()
            ))
            .bind(state.as_str())
            .bind(id)
            .execute(&self.pool)
            .await?;
            Ok(())
        } else {
            self.delivery_state(id, state, DeliveryState::OPEN).await
        }
    }

    async fn delivery_state(&self, id: &str, state: DeliveryState, from: &[DeliveryState]) -> Result<(), StateError> {
        sqlx::query(&format!(
            "UPDATE run_files SET state = $1 WHERE delivery_id = $2 AND state IN ({})",
            sql_list(from)
        ))
        .bind(state.as_str())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Temporaries some live delivery may still be writing at `destination`:
    /// a sweep of stale temporaries spares these.
    pub async fn temporaries_in_flight(&self, destination: &str) -> Result<Vec<String>, StateError> {
        let rows = sqlx::query(&format!(
            "SELECT temp_path FROM run_files WHERE destination = $1 AND state IN ({}) AND temp_path IS NOT NULL",
            open_states()
        ))
        .bind(destination)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Deliveries left open by instances that are gone.
    pub async fn open_deliveries(&self) -> Result<Vec<OpenDelivery>, StateError> {
        let rows = sqlx::query(&format!(
            "SELECT delivery_id, run_id, name, destination, state, target_path, temp_path, marker_path, bytes, \
             sha256 FROM run_files WHERE state IN ({}) AND {DEAD} ORDER BY run_id",
            open_states()
        ))
        .bind(cutoff())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get(4)?;
                Ok(OpenDelivery {
                    id: r.try_get::<Option<String>, _>(0)?.unwrap_or_default(),
                    run: r.try_get(1)?,
                    name: r.try_get(2)?,
                    destination: r.try_get::<Option<String>, _>(3)?.unwrap_or_default(),
                    state: DeliveryState::parse(&state).unwrap_or(DeliveryState::Sending),
                    target: r.try_get::<Option<String>, _>(5)?.unwrap_or_default(),
                    temp: r.try_get(6)?,
                    marker: r.try_get(7)?,
                    bytes: r.try_get::<i64, _>(8)? as u64,
                    sha256: r.try_get(9)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Marks runs left `running` by instances that stopped or whose
    /// heartbeat is stale as interrupted, and their occurrences with them;
    /// returns their ids. An interrupted recovery run's occurrence is
    /// settled `missed`: an occurrence is run again once, not forever.
    pub async fn interrupt_orphans(&self, reason: &str) -> Result<Vec<i64>, StateError> {
        self.interrupt_where(reason, DEAD, cutoff()).await
    }

    /// Marks this instance's own running runs interrupted (at shutdown,
    /// after the grace period).
    pub async fn interrupt_own(&self, instance: &super::Instance, reason: &str) -> Result<Vec<i64>, StateError> {
        self.interrupt_where(reason, "instance = $1", instance.id.clone()).await
    }

    async fn interrupt_where(&self, reason: &str, cond: &str, arg: String) -> Result<Vec<i64>, StateError> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(&format!(
            "UPDATE runs SET status = $2, ended_at = $3, error = $4 WHERE status = $5 AND {cond} RETURNING id, trigger"
        ))
        .bind(arg)
        .bind(RunStatus::Interrupted.as_str())
        .bind(stamp(Utc::now()))
        .bind(reason)
        .bind(RunStatus::Running.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let mut ids = Vec::new();
        for r in &rows {
            let (id, trigger): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
            if trigger == Trigger::Recovery.as_str() {
                sqlx::query("UPDATE occurrences SET outcome = $1, reason = $2 WHERE run_id = $3")
                    .bind(OccurrenceOutcome::Missed.as_str())
                    .bind(format!(
                        "its recovery run {id} was interrupted too; it is not run a third time"
                    ))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            } else {
                settle_occurrence_of(&mut tx, id, OccurrenceOutcome::Interrupted).await?;
            }
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Occurrences waiting for recovery's decision: their run was
    /// interrupted, or (rows from before the ledger) they were claimed by a
    /// dead instance and never got a run.
    pub async fn interrupted_occurrences(&self) -> Result<Vec<InterruptedOccurrence>, StateError> {
        let rows = sqlx::query(&format!(
            "SELECT script, scheduled_at, run_id FROM occurrences WHERE outcome = $2 \
             OR (outcome = $3 AND run_id IS NULL AND {DEAD}) ORDER BY scheduled_at"
        ))
        .bind(cutoff())
        .bind(OccurrenceOutcome::Interrupted.as_str())
        .bind(OccurrenceOutcome::Claimed.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let run: Option<i64> = r.try_get(2)?;
            let delivered = match run {
                None => Vec::new(),
                Some(id) => sqlx::query("SELECT name FROM run_files WHERE run_id = $1 AND state IN ($2, $3)")
                    .bind(id)
                    .bind(DeliveryState::Delivered.as_str())
                    .bind(DeliveryState::Recovered.as_str())
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<_, _>>()?,
            };
            out.push(InterruptedOccurrence {
                script: r.try_get(0)?,
                at: time(r.try_get(1)?).unwrap_or_default(),
                run,
                delivered,
            });
        }
        Ok(out)
    }

    /// The newest occurrence of `script` after `at` that was claimed to run.
    pub async fn newer_occurrence(&self, script: &str, at: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StateError> {
        let row = sqlx::query(
            "SELECT MAX(scheduled_at) FROM occurrences WHERE script = $1 AND scheduled_at > $2 \
             AND outcome IN ($3, $4, $5)",
        )
        .bind(script)
        .bind(stamp(at))
        .bind(OccurrenceOutcome::Running.as_str())
        .bind(OccurrenceOutcome::Ran.as_str())
        .bind(OccurrenceOutcome::Claimed.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(time(row.try_get(0)?))
    }

    /// Rows that do not fit the state machine: a run status or delivery
    /// state this version does not know, or a file row whose run does not
    /// exist. Unknown run statuses are marked `failed` and their error says
    /// what was there; orphan file rows are left alone (history never shows
    /// them) and reported.
    pub async fn audit(&self) -> Result<Vec<Anomaly>, StateError> {
        let mut found = Vec::new();
        let rows = sqlx::query(&format!(
            "SELECT id, status FROM runs WHERE status NOT IN ({})",
            sql_list(RunStatus::ALL)
        ))
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let (id, status): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
            sqlx::query("UPDATE runs SET status = $1, error = $2, ended_at = COALESCE(ended_at, $3) WHERE id = $4")
                .bind(RunStatus::Failed.as_str())
                .bind(format!(
                    "the state store held the unknown status '{status}'; marked failed at start"
                ))
                .bind(stamp(Utc::now()))
                .bind(id)
                .execute(&self.pool)
                .await?;
            found.push(Anomaly {
                row: format!("run {id}"),
                message: format!("unknown status '{status}': marked failed"),
            });
        }
        let rows = sqlx::query(&format!(
            "SELECT run_id, name, state FROM run_files WHERE state IS NOT NULL AND state NOT IN ({})",
            sql_list(DeliveryState::ALL)
        ))
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let (run, name, state): (i64, String, String) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            sqlx::query("UPDATE run_files SET state = $1 WHERE run_id = $2 AND name = $3 AND state = $4")
                .bind(DeliveryState::Unknown.as_str())
                .bind(run)
                .bind(&name)
                .bind(&state)
                .execute(&self.pool)
                .await?;
            found.push(Anomaly {
                row: format!("delivery of {name} in run {run}"),
                message: format!("unknown delivery state '{state}': marked unknown"),
            });
        }
        let rows = sqlx::query("SELECT DISTINCT run_id FROM run_files WHERE run_id NOT IN (SELECT id FROM runs)")
            .fetch_all(&self.pool)
            .await?;
        for r in rows {
            let run: i64 = r.try_get(0)?;
            found.push(Anomaly {
                row: format!("files of run {run}"),
                message: "they belong to no run in history; left as they are, never shown".into(),
            });
        }
        Ok(found)
    }

    /// Marks older held runs of `script` superseded by run `by`; returns them.
    pub async fn supersede_held(&self, script: &str, by: i64) -> Result<Vec<i64>, StateError> {
        let rows = sqlx::query(
            "UPDATE runs SET status = $1, error = $2 WHERE script = $3 AND status = $4 AND id < $5 RETURNING id",
        )
        .bind(RunStatus::Superseded.as_str())
        .bind(format!("held, then superseded by run {by}"))
        .bind(script)
        .bind(RunStatus::Held.as_str())
        .bind(by)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Ends a held run: `released` (by whom) or `discarded`.
    pub async fn settle_held(&self, id: i64, status: RunStatus, by: &str) -> Result<(), StateError> {
        if !RunStatus::Held.can_become(status) {
            return Err(StateError::Invalid(format!("a held run cannot become {status}")));
        }
        sqlx::query("UPDATE runs SET status = $1, released_by = $2 WHERE id = $3 AND status = $4")
            .bind(status.as_str())
            .bind(by)
            .bind(id)
            .bind(RunStatus::Held.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

async fn set_occurrence_run(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    script: &str,
    at: DateTime<Utc>,
    run: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE occurrences SET run_id = $1 WHERE script = $2 AND scheduled_at = $3")
        .bind(run)
        .bind(script)
        .bind(stamp(at))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn settle_occurrence_of(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    run: i64,
    outcome: OccurrenceOutcome,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE occurrences SET outcome = $1 WHERE run_id = $2 AND outcome IN ($3, $4)")
        .bind(outcome.as_str())
        .bind(run)
        .bind(OccurrenceOutcome::Running.as_str())
        .bind(OccurrenceOutcome::Claimed.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_file(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    f: &Artifact,
    local: Option<&str>,
    d: Option<&Delivery>,
) -> Result<(), sqlx::Error> {
    let state = d.map(|d| d.state);
    sqlx::query(
        "INSERT INTO run_files (run_id, name, local_path, rows, bytes, sha256, destination, remote_path, \
         server_identity, auth_method, attempts, file_key, header, state, target_path, transient) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(id)
    .bind(&f.name)
    .bind(local)
    .bind(f.rows as i64)
    .bind(f.bytes as i64)
    .bind(&f.sha256)
    .bind(d.map(|d| d.destination.as_str()))
    .bind(d.filter(|d| d.state.arrived()).map(|d| d.remote_path.as_str()))
    .bind(d.and_then(|d| d.server_identity.as_deref()))
    .bind(d.and_then(|d| d.auth_method.as_deref()))
    .bind(d.map(|d| d.attempts as i64).unwrap_or(0))
    .bind(f.stable_key())
    .bind(Some(f.columns.join(",")).filter(|_| !f.columns.is_empty()))
    .bind(state.map(super::status::DeliveryState::as_str))
    .bind(d.map(|d| d.remote_path.as_str()).filter(|p| !p.is_empty()))
    .bind(i64::from(f.transient))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
