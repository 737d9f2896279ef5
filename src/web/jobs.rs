//! Long console actions — Test Extract, Test Connection, Run Extract — run
//! as jobs: the request returns at once with a job id, the job records its
//! progress and result here, and a page (or an API client) can leave and
//! come back to it. Jobs live in memory; what a run did is in history.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Jobs kept in memory, newest first beyond this many are forgotten.
const KEEP: usize = 500;

/// Where a long action is. A job is never shown as running while its run
/// still waits for a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum JobState {
    /// A run waiting in the scheduler's queue.
    Queued,
    /// Working.
    Running,
    /// Ended well; `result` holds what it found.
    Succeeded,
    /// Ended badly; `error` says why.
    Failed,
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        })
    }
}

/// One long action, as the API returns it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Job {
    /// Its id, for `GET /api/jobs/{id}` and `/jobs/{id}`.
    pub id: u64,
    /// `test`, `connection` or `run`.
    pub kind: String,
    /// The script it is for.
    pub script: String,
    /// Who started it.
    pub by: String,
    /// When.
    pub started_at: DateTime<Utc>,
    /// When it ended, once it has.
    pub ended_at: Option<DateTime<Utc>>,
    /// Where it is.
    pub state: JobState,
    /// What it is doing now ("roster.csv: 12,000 rows").
    pub progress: Option<String>,
    /// What it found: a preview, connection reports, a run id.
    pub result: Option<serde_json::Value>,
    /// Why it failed, as the CLI would say it.
    pub error: Option<String>,
}

impl Job {
    /// True until it has ended.
    pub(super) fn running(&self) -> bool {
        self.ended_at.is_none()
    }
}

/// The jobs of this console.
#[derive(Default)]
pub(super) struct Jobs {
    next: AtomicU64,
    map: Mutex<BTreeMap<u64, Job>>,
}

impl Jobs {
    /// Records a new job as running; its id.
    pub(super) fn begin(&self, kind: &str, script: &str, by: &str) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut map = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.insert(
            id,
            Job {
                id,
                kind: kind.into(),
                script: script.into(),
                by: by.into(),
                started_at: Utc::now(),
                ended_at: None,
                state: JobState::Running,
                progress: None,
                result: None,
                error: None,
            },
        );
        while map.len() > KEEP {
            map.pop_first();
        }
        id
    }

    /// A run job waits in the scheduler's queue (under its concurrency
    /// limit) until its first progress.
    pub(super) fn queued(&self, id: u64) {
        if let Some(j) = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(&id)
        {
            j.state = JobState::Queued;
        }
    }

    /// Updates what a job is doing; a queued job is running from then on.
    pub(super) fn progress(&self, id: u64, text: String) {
        if let Some(j) = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(&id)
        {
            j.progress = Some(text);
            if j.state == JobState::Queued {
                j.state = JobState::Running;
            }
        }
    }

    /// Ends a job with its result (`Ok`) or failure; a result may still
    /// carry details of a failure (a test's preview with the script error).
    pub(super) fn finish(&self, id: u64, result: Result<serde_json::Value, (String, Option<serde_json::Value>)>) {
        if let Some(j) = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(&id)
        {
            j.ended_at = Some(Utc::now());
            match result {
                Ok(v) => {
                    j.state = JobState::Succeeded;
                    j.result = Some(v);
                }
                Err((e, v)) => {
                    j.state = JobState::Failed;
                    j.error = Some(e);
                    j.result = v;
                }
            }
        }
    }

    /// One job.
    pub(super) fn get(&self, id: u64) -> Option<Job> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    /// A script's jobs, newest first.
    pub(super) fn of_script(&self, script: &str, limit: usize) -> Vec<Job> {
        let map = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.values()
            .rev()
            .filter(|j| j.script == script)
            .take(limit)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_runs_then_ends_with_its_result() {
        let jobs = Jobs::default();
        let a = jobs.begin("test", "roster", "ann");
        let b = jobs.begin("run", "roster", "ann");
        jobs.queued(b);
        assert_eq!(jobs.get(b).unwrap().state, JobState::Queued);
        jobs.progress(a, "roster.csv: 10 rows".into());
        assert!(jobs.get(a).unwrap().running());
        assert_eq!(jobs.get(a).unwrap().state, JobState::Running);
        assert_eq!(jobs.get(a).unwrap().progress.as_deref(), Some("roster.csv: 10 rows"));
        jobs.finish(a, Ok(serde_json::json!({"rows": 10})));
        jobs.finish(b, Err(("no such table".into(), None)));
        let (a, b) = (jobs.get(a).unwrap(), jobs.get(b).unwrap());
        assert_eq!((a.state, b.state), (JobState::Succeeded, JobState::Failed));
        assert_eq!(a.result.unwrap()["rows"], 10);
        assert_eq!(b.error.as_deref(), Some("no such table"));
        let ids: Vec<u64> = jobs.of_script("roster", 10).iter().map(|j| j.id).collect();
        assert_eq!(ids, vec![b.id, a.id]);
        assert!(jobs.of_script("other", 10).is_empty());
    }
}
