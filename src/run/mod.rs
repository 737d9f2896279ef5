//! Running a script: the run's folder and deadline, the blocking thread the
//! engine runs on, what is kept afterwards, and the history record.

pub(crate) mod context;
pub(crate) mod deliver;
mod due;
mod handle;
pub(crate) mod recovery;
mod resend;
mod retention;
pub(crate) mod send;

pub use due::next_due;
pub use handle::{DaemonHandle, RunNow};
pub use resend::ResendReport;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;

pub use crate::app::App;
use crate::script::{ParamValue, Script, ScriptError};
use crate::state::LogLevel;
use crate::state::{DeliveryState, NewRun, Outcome, RunParam, RunStatus, StartedBy, StateError, Trigger};
use context::{Artifact, Delivery, LogLine, Mode, Progress, RunContext, RunRecord};

/// Problems that stop a run before it starts.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A `--param` that the script does not declare or of the wrong type.
    #[error("{script}: --param {name}: {message}")]
    Param {
        script: String,
        /// The parameter.
        name: String,
        message: String,
    },
    /// History could not be written.
    #[error(transparent)]
    State(#[from] StateError),
    /// `ferry resend`, `release` or `discard` cannot do that to the run.
    #[error("run {id} cannot be {asked}: {message}")]
    Resend {
        /// The run asked for.
        id: i64,
        /// What was asked.
        asked: resend::Asked,
        /// Why, and what to do.
        message: String,
    },
    /// The schedule occurrence was already claimed (by another instance, or
    /// by an earlier start of this one).
    #[error("the occurrence was already claimed")]
    Claimed,
    /// The run folder could not be made.
    #[error("cannot create the run folder {path}: {source}")]
    WorkDir {
        /// The folder.
        path: String,
        source: std::io::Error,
    },
}

/// Options of one run: [`RunRequest::by`] and then the fields that apply.
#[derive(Clone)]
pub struct RunRequest {
    /// Who or what asked for the run, for history.
    pub started_by: StartedBy,
    /// The schedule occurrence the run serves, for scheduled runs.
    pub occurrence: Option<chrono::DateTime<Utc>>,
    /// `name=value` overrides of header parameters.
    pub params: Vec<(String, String)>,
    /// Called as files are written.
    pub progress: Option<Progress>,
    /// Set to stop the run.
    pub cancel: Option<Arc<AtomicBool>>,
    /// For a recovery run: the interrupted run whose occurrence it serves.
    pub recovers: Option<i64>,
}

impl RunRequest {
    /// A run asked for by `started_by`, with the header's parameters.
    pub fn by(started_by: StartedBy) -> RunRequest {
        RunRequest {
            started_by,
            occurrence: None,
            params: Vec::new(),
            progress: None,
            cancel: None,
            recovers: None,
        }
    }
}

/// How a run went.
#[derive(Debug)]
pub struct RunReport {
    /// Its history id, as `ferry history` lists it.
    pub id: i64,
    /// How it ended, as recorded.
    pub status: RunStatus,
    /// The failure, located in the script where possible.
    pub error: Option<String>,
    /// Files produced (in a test, removed after the report is made).
    pub files: Vec<Artifact>,
    /// Deliveries made (in a test: the ones that would have been).
    pub deliveries: Vec<Delivery>,
    /// The run's log, as history stores it.
    pub log: Vec<LogLine>,
    /// Why deliveries were held (a guard failed), if any were.
    pub held: Option<String>,
    /// The folder holding kept files, if any were kept.
    pub kept: Option<PathBuf>,
    /// Set when the run was refused for missing rights.
    pub refusal: Option<String>,
}

impl RunReport {
    /// True when the run did everything the script asked.
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }
}

/// Loading and running scripts: the run layer's half of [`App`].
impl App {
    /// Loads a script against this configuration.
    pub fn load(&self, path: &Path) -> Result<Script, ScriptError> {
        Script::load(path, &self.settings)
    }

    /// Runs `script`, records it in history and returns the report. A
    /// script failure is a report with an error, not an `Err`; an occurrence
    /// another instance already claimed is [`RunError::Claimed`].
    pub async fn run(&self, script: &Script, trigger: Trigger, req: RunRequest) -> Result<RunReport, RunError> {
        let id = self.begin(script, trigger, &req).await?.ok_or(RunError::Claimed)?;
        self.execute(script, trigger, id, req).await
    }

    /// Creates the run's history row: for a schedule occurrence, in the same
    /// transaction that claims it (`None` when it was already claimed), so
    /// no occurrence is ever claimed without a run.
    pub async fn begin(&self, script: &Script, trigger: Trigger, req: &RunRequest) -> Result<Option<i64>, RunError> {
        let params: Vec<RunParam> = self
            .params(script, &req.params)?
            .into_iter()
            .map(|(name, value)| RunParam {
                overridden: req.params.iter().any(|(n, _)| *n == name),
                value: value.to_json(),
                name,
            })
            .collect();
        let path = script.path.display().to_string();
        let new = NewRun {
            script: &script.id,
            path: &path,
            hash: &script.hash,
            trigger,
            occurrence: req.occurrence,
            instance: Some(&self.instance.id),
            resend_of: None,
            recovers: req.recovers,
            started_by: &req.started_by,
            params: &params,
        };
        Ok(match (trigger, req.occurrence) {
            (Trigger::Recovery, _) => self.store.claim_recovery(&new, &self.instance.id).await?,
            (_, Some(_)) => self.store.claim_run(&new, &self.instance.id).await?,
            (_, None) => Some(self.store.start_run(&new).await?),
        })
    }

    /// Runs `script` as the already recorded run `id`.
    pub async fn execute(
        &self,
        script: &Script,
        trigger: Trigger,
        id: i64,
        req: RunRequest,
    ) -> Result<RunReport, RunError> {
        let began = Instant::now();
        let params = self.params(script, &req.params)?;
        let work_dir = self.settings.work_dir.join(format!("run-{id}"));
        std::fs::create_dir_all(&work_dir).map_err(|source| RunError::WorkDir {
            path: work_dir.display().to_string(),
            source,
        })?;
        let (tz, timeout) = (script.zone, script.timeout);
        let mode = if trigger == Trigger::Test {
            Mode::Test
        } else {
            Mode::Run
        };
        let ctx = Arc::new(RunContext {
            settings: self.settings.clone(),
            databases: self.databases.clone(),
            store: self.store.clone(),
            runtime: tokio::runtime::Handle::current(),
            mode,
            script_path: script.path.clone(),
            script_id: script.id.clone(),
            run_id: id,
            instance: self.instance.id.clone(),
            guards: script.spec.guards.clone(),
            work_dir: work_dir.clone(),
            deadline: Instant::now() + timeout,
            timeout_text: humantime::format_duration(timeout).to_string(),
            cancel: req.cancel.clone().unwrap_or_default(),
            started: Utc::now().with_timezone(&tz),
            use_warehouse: script.spec.use_warehouse,
            progress: req.progress,
            record: Mutex::new(RunRecord::default()),
            including: AtomicBool::default(),
            included: AtomicUsize::default(),
        });
        let includes = script
            .spec
            .include
            .iter()
            .map(|id| self.load(&self.script_path(id)))
            .collect::<Result<Vec<Script>, ScriptError>>();
        let (s, c) = (script.clone(), ctx.clone());
        let result = tokio::task::spawn_blocking(move || {
            use std::sync::atomic::Ordering;
            c.including.store(true, Ordering::Relaxed);
            for inc in includes? {
                c.log(LogLevel::Info, format!("building included script {}", inc.id));
                inc.run(c.clone(), inc.spec.params.clone())?;
            }
            c.including.store(false, Ordering::Relaxed);
            c.included.store(c.lock().files.len(), Ordering::Relaxed);
            s.run(c, params)
        })
        .await
        .unwrap_or_else(|e| Err(ScriptError::at(&script.path, 1, format!("the run crashed: {e}"))));
        let error = result.err().map(|e| e.to_string());
        if let Some(e) = &error {
            ctx.log(LogLevel::Error, e.clone());
        }
        let mut record = std::mem::take(&mut *ctx.lock());
        // A newer run of the script makes an older held file stale.
        if mode == Mode::Run {
            let superseded = self.store.supersede_held(&script.id, id).await?;
            for &old in &superseded {
                self.remove_transient(old).await;
            }
            if !superseded.is_empty() {
                let ids: Vec<String> = superseded.iter().map(|i| format!("run {i}")).collect();
                record.log.push(LogLine {
                    at: Utc::now(),
                    level: LogLevel::Info,
                    message: format!(
                        "this run supersedes held {}; its files will not be sent",
                        ids.join(", ")
                    ),
                });
            }
        }
        let held = (!record.holds.is_empty()).then(|| format!("held, not sent: {}", record.holds.join("; ")));
        // A failed or held run keeps its files for inspection and
        // re-delivery; a successful one keeps them too (so `ferry resend` can
        // send last night's file again) unless keep_delivered is off, when it
        // keeps only files it did not deliver anywhere (nor inside a
        // delivered zip). Retention removes them later. Transient files (the
        // photo zip) go either way unless a guard holds them, so that they
        // can be released; a folder left with nothing to keep is not kept.
        let delivered = delivered_names(&record);
        let held_files: std::collections::HashSet<&str> = record
            .deliveries
            .iter()
            .filter(|d| d.state == DeliveryState::Held)
            .map(|d| d.file.as_str())
            .collect();
        let lasting = || {
            record
                .files
                .iter()
                .filter(|f| !f.transient || held_files.contains(f.name.as_str()))
        };
        let keep = mode == Mode::Run
            && lasting().next().is_some()
            && (error.is_some()
                || held.is_some()
                || self.settings.keep_delivered
                || lasting().any(|f| !delivered.contains(f.name.as_str())));
        for f in record.files.iter().filter(|f| f.transient) {
            if !(keep && held_files.contains(f.name.as_str())) {
                let _ = std::fs::remove_file(&f.path);
            }
        }
        let cancelled = ctx.cancel.load(std::sync::atomic::Ordering::Relaxed);
        let status = match (&error, cancelled) {
            (None, _) if held.is_some() => RunStatus::Held,
            (None, _) => RunStatus::Succeeded,
            (Some(_), true) => RunStatus::Interrupted,
            (Some(_), false) => RunStatus::Failed,
        };
        // Deliveries that moved bytes were recorded as they went; a held one is recorded now.
        let held_deliveries: Vec<Delivery> = record
            .deliveries
            .iter()
            .filter(|d| d.state == DeliveryState::Held)
            .cloned()
            .collect();
        self.store
            .finish_run(
                id,
                &Outcome {
                    status,
                    error: error.as_deref().or(held.as_deref()),
                    files: &record.files,
                    kept: keep,
                    deliveries: if mode == Mode::Test { &[] } else { &held_deliveries },
                    log: &record.log,
                },
            )
            .await?;
        if mode == Mode::Run {
            let (rows, bytes) = context::totals(&record.files);
            crate::metrics::run_finished(&script.id, status.as_str(), began.elapsed(), rows, bytes);
            let held_notice = held.as_ref().map(|h| {
                format!(
                    "{}: run {id} {h}. Check the file, then send it with `ferry release {id}` \
                     or drop it with `ferry discard {id}`.",
                    script.spec.name
                )
            });
            crate::notice::Notifier::new(self.store.clone(), self.settings.clone())
                .after_run(
                    script,
                    id,
                    error.as_deref().filter(|_| status == RunStatus::Failed),
                    held_notice.as_deref(),
                    &record.notices,
                    &record.warnings,
                )
                .await;
        }
        if !keep {
            let _ = std::fs::remove_dir_all(&work_dir);
        }
        if mode == Mode::Run {
            self.clean_kept(Some(id)).await;
        }
        Ok(RunReport {
            id,
            status,
            error,
            files: record.files,
            deliveries: record.deliveries,
            log: record.log,
            kept: keep.then_some(work_dir),
            held,
            refusal: record.refusal.clone(),
        })
    }

    fn params(&self, script: &Script, overrides: &[(String, String)]) -> Result<Vec<(String, ParamValue)>, RunError> {
        let mut values: Vec<(String, ParamValue)> = script.spec.params.clone();
        for (name, text) in overrides {
            let err = |message: String| RunError::Param {
                script: script.path.display().to_string(),
                name: name.clone(),
                message,
            };
            let slot = values.iter_mut().find(|(n, _)| n == name).ok_or_else(|| {
                let declared: Vec<&str> = script.spec.params.iter().map(|(n, _)| n.as_str()).collect();
                err(format!(
                    "the script declares no such parameter (declared under [params]: {})",
                    if declared.is_empty() {
                        "none".to_string()
                    } else {
                        declared.join(", ")
                    }
                ))
            })?;
            slot.1 = slot.1.parse_like(text).map_err(err)?;
        }
        Ok(values)
    }
}

/// Names of the files a run delivered, directly or as parts of a delivered
/// bundle (a zip of zips counts too: bundles come after their parts, so a
/// walk from the newest file down reaches every level).
fn delivered_names(record: &RunRecord) -> std::collections::HashSet<&str> {
    let mut names: std::collections::HashSet<&str> = record
        .deliveries
        .iter()
        .filter(|d| d.state.arrived())
        .map(|d| d.file.as_str())
        .collect();
    for f in record.files.iter().rev() {
        if names.contains(f.name.as_str()) {
            names.extend(f.parts.iter().map(String::as_str));
        }
    }
    names
}
