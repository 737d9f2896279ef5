//! `ferry resend RUN` and `ferry release RUN`: deliver a run's kept files again without extracting
//! anything (the vendor lost last night's file, or the server was down). The
//! resend is a run of its own in history, pointing at the original.

use std::path::PathBuf;

use chrono::Utc;

use super::context::{Artifact, Delivery, LogLine};
use super::{App, RunError};
use crate::deliver::DeliveryEnv;
use crate::state::{DeliveryState, LogLevel, NewRun, Outcome, RunStatus, StartedBy, Trigger};

/// What a person asked of a run's kept files, for messages that name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asked {
    /// `ferry resend`.
    Resend,
    /// `ferry release`.
    Release,
    /// `ferry discard`.
    Discard,
}

impl std::fmt::Display for Asked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Asked::Resend => "resent",
            Asked::Release => RunStatus::Released.as_str(),
            Asked::Discard => RunStatus::Discarded.as_str(),
        })
    }
}

/// How a resend went.
#[derive(Debug)]
pub struct ResendReport {
    /// The resend's own run id.
    pub id: i64,
    /// Files delivered, with where they landed.
    pub deliveries: Vec<Delivery>,
    /// The first failure, if any (the others are in the log).
    pub error: Option<String>,
    /// The resend's log, as history stores it.
    pub log: Vec<LogLine>,
}

impl App {
    /// Delivers the kept files of run `id` again: each to the destination it
    /// was meant for, or all to `to`. Nothing is re-extracted; the bytes are
    /// the ones the run built (their SHA-256 is checked first).
    pub async fn resend(&self, id: i64, to: Option<&str>, asked: &StartedBy) -> Result<ResendReport, RunError> {
        let (original, _, _) = self.store.run(id).await?;
        let refusal = match original.status {
            RunStatus::Held => Some(format!(
                "it is held by a guard: check the file, then `ferry release {id}` (or `ferry discard {id}`)"
            )),
            RunStatus::Discarded => Some(format!(
                "its files were discarded by {}; nothing is kept",
                original.released_by.as_deref().unwrap_or("someone")
            )),
            _ => None,
        };
        if let Some(message) = refusal {
            return Err(RunError::Resend {
                id,
                asked: Asked::Resend,
                message,
            });
        }
        self.redeliver(id, to, Trigger::Resend, asked).await
    }

    /// Sends a held run's files as they are, recording who released them
    /// (`by`, as they name themselves) and who asked (`asked`).
    pub async fn release(&self, id: i64, by: &str, asked: &StartedBy) -> Result<ResendReport, RunError> {
        let (original, _, _) = self.store.run(id).await?;
        if original.status != RunStatus::Held {
            return Err(RunError::Resend {
                id,
                asked: Asked::Release,
                message: format!("it is {}, not held (`ferry held` lists held runs)", original.status),
            });
        }
        let report = self.redeliver(id, None, Trigger::Release, asked).await?;
        if report.error.is_none() {
            self.store.settle_held(id, RunStatus::Released, by).await?;
            self.remove_transient(id).await;
        }
        Ok(report)
    }

    /// Drops a held run's files: nothing is sent, the kept copies are removed.
    pub async fn discard(&self, id: i64, by: &str) -> Result<(), RunError> {
        let (original, files, _) = self.store.run(id).await?;
        if original.status != RunStatus::Held {
            return Err(RunError::Resend {
                id,
                asked: Asked::Discard,
                message: format!("it is {}, not held (`ferry held` lists held runs)", original.status),
            });
        }
        for f in files.iter().filter_map(|f| f.local_path.as_ref()) {
            let _ = std::fs::remove_file(f);
        }
        let _ = std::fs::remove_dir(self.settings.work_dir.join(format!("run-{id}")));
        self.store.settle_held(id, RunStatus::Discarded, by).await?;
        Ok(())
    }

    /// Delivers kept files of run `id` again. A release sends only the files
    /// that were not delivered (held); a resend sends every kept file.
    async fn redeliver(
        &self,
        id: i64,
        to: Option<&str>,
        trigger: Trigger,
        asked: &StartedBy,
    ) -> Result<ResendReport, RunError> {
        let (original, files, _) = self.store.run(id).await?;
        let asked_for = match trigger {
            Trigger::Release => Asked::Release,
            _ => Asked::Resend,
        };
        let refuse = |message: String| RunError::Resend {
            id,
            asked: asked_for,
            message,
        };
        if let Some(name) = to {
            if !self.settings.destinations.contains_key(name) {
                let known: Vec<_> = self.settings.destinations.keys().cloned().collect();
                return Err(refuse(format!(
                    "unknown destination '{name}' (configured: {})",
                    known.join(", ")
                )));
            }
        }
        // One entry per kept file and destination it goes to.
        let mut plan: Vec<(Artifact, String)> = Vec::new();
        for f in &files {
            let Some(local) = &f.local_path else { continue };
            // A sidecar is written and sent again after its data file.
            if crate::format::sidecar::is_sidecar_of(&f.name, files.iter().map(|d| d.name.as_str())) {
                continue;
            }
            if trigger == Trigger::Release && f.state.is_some_and(DeliveryState::arrived) {
                continue;
            }
            let dest = match (to, &f.destination) {
                (Some(t), _) => t.to_string(),
                (None, Some(d)) => d.clone(),
                (None, None) => continue,
            };
            // The key and header as the run recorded them, so the vendor's
            // copy is the baseline for the next run's `max_change`.
            let artifact = Artifact {
                name: f.name.clone(),
                path: PathBuf::from(local),
                rows: f.rows as u64,
                bytes: f.bytes as u64,
                sha256: f.sha256.clone(),
                key: f.key.clone().unwrap_or_default(),
                columns: f
                    .header
                    .as_deref()
                    .map(|h| h.split(',').map(str::to_string).collect())
                    .unwrap_or_default(),
                transient: f.transient,
                ..Artifact::default()
            };
            if !plan.iter().any(|(a, d)| a.name == artifact.name && *d == dest) {
                plan.push((artifact, dest));
            }
        }
        if plan.is_empty() {
            return Err(refuse(if files.iter().any(|f| f.local_path.is_some()) {
                "its kept files have no destination on record: give one with --to DESTINATION".into()
            } else if trigger == Trigger::Release {
                format!(
                    "its held files are no longer in {}; `ferry discard {id}` settles the run",
                    self.settings.work_dir.join(format!("run-{id}")).display()
                )
            } else {
                "it kept no files (keep_delivered is off, or retention removed them)".into()
            }));
        }
        // A kept file that is gone or has another size is refused before
        // anything starts; its SHA-256 is checked while it is sent, and a
        // file that changed is never committed at a destination.
        for (a, _) in &plan {
            let size = std::fs::metadata(&a.path)
                .map_err(|e| refuse(format!("its kept file {} cannot be read: {e}", a.path.display())))?
                .len();
            if size != a.bytes {
                return Err(refuse(format!(
                    "its kept file {} changed since the run ({size} bytes, recorded {}); it is not sent",
                    a.path.display(),
                    a.bytes
                )));
            }
        }
        let verification = super::send::Verification::start(plan.iter().map(|(a, _)| a));
        let run_id = self
            .store
            .start_run(&NewRun {
                script: &original.script,
                path: &original.script_path,
                hash: &original.script_hash,
                trigger,
                occurrence: None,
                instance: Some(&self.instance.id),
                resend_of: Some(id),
                recovers: None,
                started_by: asked,
                params: &original.params,
            })
            .await?;
        let env = DeliveryEnv::from_settings(&self.settings);
        let what = if trigger == Trigger::Release {
            "releasing the held"
        } else {
            "resending the kept"
        };
        let log = std::sync::Mutex::new(vec![line(LogLevel::Info, format!("{what} files of run {id}"))]);
        let mut deliveries = Vec::new();
        let mut sidecars = Vec::new();
        let mut error = None;
        // A resend or release is asked for by a person and not cut short.
        let never = std::sync::atomic::AtomicBool::new(false);
        let warn = |m: String| {
            log.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(line(LogLevel::Warn, m));
        };
        let courier = super::send::Courier {
            store: &self.store,
            instance: &self.instance.id,
            run: run_id,
            env: &env,
            log: &warn,
            cancel: &never,
            verified: Some(&verification),
        };
        for (a, dest) in &plan {
            let Some(settings) = self.settings.destinations.get(dest) else {
                let e = format!("{}: destination '{dest}' is no longer configured; use --to", a.name);
                log.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(line(LogLevel::Error, e.clone()));
                error.get_or_insert(e);
                continue;
            };
            let sent = courier.send_with_sidecars(a, settings).await;
            for d in &sent.deliveries {
                log.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(line(
                    LogLevel::Info,
                    format!("delivered {} to '{dest}' as {}", d.file, d.remote_path),
                ));
            }
            deliveries.extend(sent.deliveries);
            sidecars.extend(sent.sidecars);
            if let Some(e) = sent.failed {
                log.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(line(LogLevel::Error, e.error.clone()));
                deliveries.push(e.delivery);
                error.get_or_insert(e.error);
            }
        }
        let log = log.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut artifacts: Vec<Artifact> = Vec::new();
        for a in plan.into_iter().map(|(a, _)| a).chain(sidecars) {
            if !artifacts.iter().any(|x| x.name == a.name) {
                artifacts.push(a);
            }
        }
        self.store
            .finish_run(
                run_id,
                &Outcome {
                    status: if error.is_some() {
                        RunStatus::Failed
                    } else {
                        RunStatus::Succeeded
                    },
                    error: error.as_deref(),
                    files: &artifacts,
                    kept: true,
                    deliveries: &[],
                    log: &log,
                },
            )
            .await?;
        Ok(ResendReport {
            id: run_id,
            deliveries,
            error,
            log,
        })
    }
}

fn line(level: LogLevel, message: String) -> LogLine {
    LogLine {
        at: Utc::now(),
        level,
        message,
    }
}
