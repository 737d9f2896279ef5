//! `ferry serve`: keeps the scripts folder loaded, reloads what changes,
//! and runs each script when its schedule says, with a stated policy for
//! occurrences missed while ferry was down.
//!
//! The loop: wait for the earliest due time, a file-system signal, a run
//! finishing or shutdown. Occurrences are claimed in the state store before
//! they run, so several instances sharing a PostgreSQL store run each once.

mod clock;
#[cfg(test)]
mod clock_tests;
pub(crate) mod metrics;
mod registry;
mod watcher;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

pub(crate) use registry::{Change, Registry};

use clock::Clock;

use crate::app::App;
use crate::config::{ConsoleSettings, Settings, CONFIG_FILE};
use crate::run::context::Progress;
use crate::run::{DaemonHandle, RunError, RunNow, RunReport, RunRequest};
use crate::script::{CatchUp, Recovery, Script, ScriptsDir};
use crate::state::{NewRun, Outcome, RunStatus, StartedBy, StateError, Trigger};

/// How the daemon runs.
#[derive(Clone, Debug)]
pub(crate) struct ServeOptions {
    /// The configuration file given on the command line, if any.
    pub config: Option<PathBuf>,
    /// Run what is due now, wait for it, and exit (for cron-driven setups).
    pub once: bool,
    /// Poll the folders at this interval instead of using change events.
    pub poll: Option<Duration>,
    /// Runs at the same time, at most.
    pub max_concurrent: usize,
    /// How long running extracts may take to finish after a stop signal.
    pub grace: Duration,
    /// The web console and API, when on.
    pub console: Option<ConsoleSettings>,
}

/// Starts the console with the daemon's handle, once the daemon has
/// recovered interrupted runs, and gives back how to stop it. The caller
/// (`ferry serve`) supplies it so that the daemon does not depend on the web
/// layer above it; the error is the console's own message.
pub(crate) type StartConsole = Box<dyn FnOnce(DaemonHandle) -> BoxFuture<'static, Result<StopConsole, String>> + Send>;

/// Stops the console: no new requests, those in flight may end.
pub(crate) type StopConsole = Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>;

/// A failure that stops the daemon.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DaemonError {
    /// The state store failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The console could not start (its address is taken, its certificate unreadable).
    #[error("{0}")]
    Console(String),
    /// `[metrics]` could not start (its address is taken).
    #[error(transparent)]
    Metrics(#[from] metrics::MetricsError),
}

/// One occurrence to run.
struct Due {
    id: String,
    at: DateTime<Utc>,
    trigger: Trigger,
    /// Set for a console run: no occurrence is claimed, and the asker is told.
    asked: Option<Asked>,
    /// For a recovery run: the interrupted run it stands in for.
    recovers: Option<i64>,
    /// Due while its script was running and an earlier occurrence of it was
    /// still waiting: it is skipped once that one has started, not before
    /// (see [`Daemon::fire_due`]).
    skip_when_started: bool,
}

/// Who asked for a run outside the schedule, and how to tell them.
struct Asked {
    by: StartedBy,
    progress: Option<Progress>,
    done: oneshot::Sender<Result<(i64, RunStatus), String>>,
}

impl Due {
    fn scheduled(id: String, at: DateTime<Utc>, trigger: Trigger) -> Due {
        Due {
            id,
            at,
            trigger,
            asked: None,
            recovers: None,
            skip_when_started: false,
        }
    }
}

/// A run that ended: script and report (none when it could not start).
type Finished = (String, Option<RunReport>);

/// Quiet time after the last file-system event before the folder is read.
const QUIET: Duration = Duration::from_millis(150);

struct Daemon {
    app: Arc<App>,
    /// The time of day the schedule is read against.
    clock: Clock,
    /// The console's view of `app`, replaced on every reload.
    published: watch::Sender<Arc<App>>,
    opts: ServeOptions,
    /// The configuration file's text in effect.
    config_text: String,
    /// The text last read, loaded or not (a broken file is reported once).
    config_seen: String,
    /// The load error last reported for each script, so each distinct
    /// error is told once, not on every rescan.
    reported: HashMap<String, String>,
    registry: Registry,
    running: HashMap<String, Arc<AtomicBool>>,
    pending: VecDeque<Due>,
    tasks: JoinSet<Finished>,
}

fn config_path(opts: &ServeOptions) -> Option<PathBuf> {
    opts.config
        .clone()
        .or_else(|| Some(PathBuf::from(CONFIG_FILE)).filter(|p| p.exists()))
}

fn read_config(opts: &ServeOptions) -> String {
    config_path(opts)
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default()
}

/// Runs the daemon until `shutdown` resolves (or, with `once`, until what
/// was due has run).
pub(crate) async fn serve(
    app: App,
    opts: ServeOptions,
    console: Option<StartConsole>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), DaemonError> {
    let started = std::time::Instant::now();
    let config_text = read_config(&opts);
    let app = Arc::new(app);
    let (published, _) = watch::channel(app.clone());
    let mut d = Daemon {
        app,
        clock: Clock::system(),
        published,
        opts,
        config_seen: config_text.clone(),
        config_text,
        reported: HashMap::new(),
        registry: Registry::default(),
        running: HashMap::new(),
        pending: VecDeque::new(),
        tasks: JoinSet::new(),
    };
    for a in d.app.store.audit().await? {
        tracing::warn!(row = %a.row, "State store row does not fit: {}.", a.message);
    }
    d.rescan(true).await;
    d.catch_up().await?;
    d.sweep_orphans().await?;
    if d.opts.once {
        d.launch_pending().await?;
        while let Some(done) = d.tasks.join_next().await {
            d.finished(done).await?;
            d.launch_pending().await?;
        }
        d.app.store.stop_instance(&d.app.instance).await?;
        return Ok(());
    }
    let (asks, mut asked) = mpsc::unbounded_channel::<RunNow>();
    let console = if let Some(start) = console {
        Some(
            start(DaemonHandle {
                app: d.published.subscribe(),
                asks,
            })
            .await
            .map_err(DaemonError::Console)?,
        )
    } else {
        drop(asks);
        None
    };
    let metrics = match d.app.settings.metrics {
        Some(addr) => Some(metrics::start(addr, d.published.subscribe()).await?),
        None => None,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut watch = d.start_watch(&tx);
    tokio::pin!(shutdown);
    let mut sweep = tokio::time::interval(Duration::from_secs(15));
    let mut safety = tokio::time::interval(Duration::from_secs(60));
    let mut settle: Option<(tokio::time::Instant, tokio::time::Instant)> = None;
    let far = tokio::time::Instant::now() + Duration::from_secs(86_400 * 365);
    tracing::info!(
        scripts = d.registry.entries.len(),
        loaded_in_ms = started.elapsed().as_millis() as u64,
        instance = %d.app.instance.id,
        "Serving."
    );
    loop {
        d.launch_pending().await?;
        let wait = d.clock.until(d.registry.earliest());
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep(wait) => d.fire_due().await?,
            Some(signal) = rx.recv() => {
                if let watcher::Signal::Failed(e) = signal {
                    tracing::warn!(error = %e, "The folder watcher failed; recreating it and rescanning.");
                    watch = None;
                    watch = watch.or_else(|| d.start_watch(&tx));
                }
                // Debounce: read the folder once a burst of events (an
                // editor's save, a symlink swap) has been quiet for 150 ms,
                // and at most 1 s after the first, without holding up runs.
                let now = tokio::time::Instant::now();
                let first = settle.map_or(now, |(first, _)| first);
                settle = Some((first, (now + QUIET).min(first + Duration::from_secs(1))));
            }
            () = tokio::time::sleep_until(settle.map_or(far, |(_, at)| at)), if settle.is_some() => {
                settle = None;
                d.rescan(false).await;
            }
            Some(done) = d.tasks.join_next(), if !d.tasks.is_empty() => d.finished(done).await?,
            Some(ask) = asked.recv() => d.run_now(ask).await,
            _ = sweep.tick() => d.sweep_orphans().await?,
            _ = safety.tick() => {
                if watch.is_none() {
                    watch = d.start_watch(&tx);
                }
                d.rescan(false).await;
            }
        }
    }
    drop(watch);
    if let Some(stop) = console {
        stop().await;
    }
    if let Some(m) = metrics {
        m.stop();
    }
    d.shutdown().await
}

impl Daemon {
    fn start_watch(&self, tx: &mpsc::UnboundedSender<watcher::Signal>) -> Option<watcher::FolderWatch> {
        let s = &self.app.settings;
        let canonical = |p: &PathBuf| {
            let _ = std::fs::create_dir_all(p);
            p.canonicalize().unwrap_or_else(|_| p.clone())
        };
        let folders = [canonical(&s.scripts_dir), canonical(&s.stdlib_dir)];
        let config = config_path(&self.opts).and_then(|p| p.canonicalize().ok());
        match watcher::watch(&folders, config, self.opts.poll, tx.clone()) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::error!(error = %e, "Cannot watch the scripts folder; rescanning every minute instead.");
                None
            }
        }
    }

    /// Recovery, at start and every 15 s (so a surviving instance recovers
    /// a dead one's work on PostgreSQL): runs of dead instances are marked
    /// interrupted, their open deliveries settled against the destination,
    /// and their occurrences run again once or recorded missed with the reason.
    async fn sweep_orphans(&mut self) -> Result<(), DaemonError> {
        let store = &self.app.store;
        store.reap_dead_local(&self.app.instance).await?;
        let ids = store
            .interrupt_orphans("ferry stopped while the run was going (crash or kill)")
            .await?;
        if !ids.is_empty() {
            tracing::warn!(runs = ?ids, "Marked runs of a stopped ferry as interrupted.");
        }
        let r = self.app.recover_deliveries().await?;
        for d in &r.recovered {
            tracing::warn!(run = d.run, file = %d.name, destination = %d.destination, path = %d.target,
                "Recovered a delivery: the file is complete under its final name.");
        }
        for d in &r.abandoned {
            tracing::warn!(run = d.run, file = %d.name, destination = %d.destination,
                "A delivery did not complete before ferry stopped; its temporary was removed.");
        }
        for d in &r.unknown {
            tracing::error!(run = d.run, file = %d.name, destination = %d.destination,
                "Cannot tell whether a delivery arrived: the destination is no longer configured.");
        }
        self.plan_recovery().await
    }

    /// Decides, for each interrupted occurrence, whether it runs again.
    async fn plan_recovery(&mut self) -> Result<(), DaemonError> {
        for occ in self.app.store.interrupted_occurrences().await? {
            if self.pending.iter().any(|d| d.id == occ.script && d.at == occ.at) {
                continue;
            }
            let run = occ.run.map(|r| format!("run {r}")).unwrap_or_else(|| "its run".into());
            let why = match self.script(&occ.script) {
                None => Some(format!("{run} was interrupted and the script is not loaded now")),
                Some(s) if s.spec.recovery == Recovery::None => {
                    Some(format!("{run} was interrupted; recovery = \"none\""))
                }
                Some(_) if !occ.delivered.is_empty() => Some(format!(
                    "{run} was interrupted after it delivered {}; it is not run again so the vendor \
                     does not receive it twice (`ferry run {}` sends it by hand)",
                    occ.delivered.join(", "),
                    occ.script
                )),
                Some(_) => None,
            };
            match why {
                Some(why) => {
                    tracing::warn!(script = %occ.script, at = %occ.at, "Not run again: {why}.");
                    self.app.store.occurrence_missed(&occ.script, occ.at, &why).await?;
                }
                None => self.pending.push_back(Due {
                    id: occ.script,
                    at: occ.at,
                    trigger: Trigger::Recovery,
                    asked: None,
                    recovers: occ.run,
                    skip_when_started: false,
                }),
            }
        }
        Ok(())
    }

    /// Re-reads the configuration (when it changed) and the scripts folder.
    async fn rescan(&mut self, first: bool) {
        let text = read_config(&self.opts);
        if text != self.config_seen && !first {
            self.config_seen = text.clone();
            match Settings::load(self.opts.config.as_deref()) {
                Ok(settings) if settings.state != self.app.settings.state => {
                    tracing::warn!("The state store setting changed; restart ferry serve to use it.");
                }
                Ok(settings) => {
                    if settings.console != self.app.settings.console {
                        tracing::warn!("The [console] settings changed; restart ferry serve to apply them.");
                    }
                    tracing::info!("Configuration reloaded.");
                    self.app = Arc::new(self.app.reconfigured(settings));
                    self.published.send_replace(self.app.clone());
                    self.config_text = text.clone();
                }
                Err(e) => {
                    tracing::error!(error = %e, "The configuration does not load; keeping the previous one.");
                    let message = format!("ferry.toml does not load: {e}; ferry keeps the previous configuration");
                    self.tell_admins(None, &message).await;
                }
            }
        }
        // Scripts are checked against the configuration in effect: a
        // configuration that does not load changes none of them.
        let changes = self
            .registry
            .rescan(&self.app.settings, &self.config_text, self.clock.now());
        for c in changes {
            match c {
                Change::Added(id) => {
                    tracing::info!(script = %id, "Script loaded.");
                    self.reported.remove(&id);
                    if !first {
                        if let Err(e) = self.app.store.scheduled_since(&id, self.clock.now()).await {
                            tracing::error!(script = %id, error = %e, "Cannot record when the script was first scheduled.");
                        }
                    }
                }
                Change::Updated(id) => {
                    tracing::info!(script = %id, "Script reloaded; the next run uses the new version.");
                    self.reported.remove(&id);
                }
                Change::Removed(id) => {
                    tracing::info!(script = %id, "Script removed; it is no longer scheduled.");
                    self.reported.remove(&id);
                    if let Err(e) = self.app.store.unschedule(&id).await {
                        tracing::error!(script = %id, error = %e, "Cannot record that the script is no longer scheduled.");
                    }
                }
                Change::Failed { id, error, kept } => {
                    let keeps = if kept {
                        "the previous version stays scheduled"
                    } else {
                        "it is not scheduled"
                    };
                    tracing::error!(script = %id, error = %error, "Script does not load; {keeps}.");
                    self.report_load_error(&id, &error, kept).await;
                }
            }
        }
    }

    /// Tells the script's `notify` group (from the last good version, or
    /// from the new header as far as it can be read), else the configured
    /// `admin_group`, that it no longer loads; once per distinct error.
    async fn report_load_error(&mut self, id: &str, error: &str, kept: bool) {
        if self.reported.get(id).is_some_and(|e| e == error) {
            return;
        }
        self.reported.insert(id.to_string(), error.to_string());
        let previous = self
            .registry
            .entries
            .get(id)
            .and_then(|e| e.script.as_ref())
            .and_then(|s| s.spec.notify.clone());
        let from_header = || {
            let path = ScriptsDir::of(&self.app.settings).path_of(id);
            crate::script::header::notify_group(&std::fs::read_to_string(path).ok()?)
        };
        let keeps = if kept {
            "; the previous version stays scheduled"
        } else {
            "; it is not scheduled"
        };
        let message = format!("{id} does not load: {error}{keeps}");
        match previous.or_else(from_header) {
            Some(group) => self.notify(&group, Some(id), &message).await,
            None => self.tell_admins(Some(id), &message).await,
        }
    }

    /// Tells the configured `admin_group` about a problem no script's own
    /// group can be told about; without one, the log is all there is.
    async fn tell_admins(&self, script: Option<&str>, message: &str) {
        if let Some(group) = self.app.settings.admin_group.clone() {
            self.notify(&group, script, message).await;
        } else {
            tracing::warn!("No group is told (set admin_group in ferry.toml to have one told): {message}");
        }
    }

    async fn notify(&self, group: &str, script: Option<&str>, message: &str) {
        crate::notice::Notifier::new(self.app.store.clone(), self.app.settings.clone())
            .send(&crate::state::NewNotification {
                group,
                script,
                run: None,
                level: crate::state::Level::Error,
                message,
            })
            .await;
    }

    /// Missed occurrences: since the last one any instance claimed.
    async fn catch_up(&mut self) -> Result<(), DaemonError> {
        let now = self.clock.now();
        let ids: Vec<String> = self.registry.entries.keys().cloned().collect();
        for id in ids {
            let Some(script) = self.script(&id) else { continue };
            if script.spec.stopped {
                continue;
            }
            let Some(latest) = script.spec.schedule.latest_at_or_before(now, script.zone) else {
                continue;
            };
            // Counted from the last claimed occurrence, or from when ferry
            // began scheduling the script (an occurrence may have been due
            // and waiting for a slot, unclaimed, when ferry was killed).
            let (since, first) = self.app.store.scheduled_since(&id, now).await?;
            let last = match self.app.store.last_occurrence(&id).await? {
                Some(l) if first => Some(l),
                Some(l) => Some(l.max(since)),
                None if first => None,
                None => Some(since),
            };
            let missed = match last {
                Some(l) => latest > l,
                // Never scheduled before: a first start is not a miss; a
                // cron-driven `--once` runs what fell due in the last day.
                None => self.opts.once && now - latest < chrono::Duration::hours(24),
            };
            if !missed {
                continue;
            }
            let trigger = if self.opts.once {
                Trigger::Scheduled
            } else {
                Trigger::CatchUp
            };
            if let Some(last) = last {
                self.record_passed(&script, last, latest).await?;
            }
            match script.spec.catch_up {
                CatchUp::Latest => self.pending.push_back(Due::scheduled(id, latest, trigger)),
                CatchUp::None => self.record_missed(&script, latest).await?,
            }
        }
        Ok(())
    }

    /// Occurrences strictly between `last` and `latest` passed with no
    /// instance running: each gets its reason (at most 1,000 a script; a
    /// longer outage is summed up in the log).
    async fn record_passed(
        &self,
        script: &Script,
        last: DateTime<Utc>,
        latest: DateTime<Utc>,
    ) -> Result<(), DaemonError> {
        let mut passed = Vec::new();
        let mut t = last;
        while let Some(next) = script.spec.schedule.next_after(t, script.zone) {
            if next >= latest {
                break;
            }
            if passed.len() == 1000 {
                tracing::warn!(script = %script.id, "More than 1,000 occurrences passed while ferry was down; the first 1,000 are recorded missed.");
                break;
            }
            passed.push(next);
            t = next;
        }
        if !passed.is_empty() {
            let why = match script.spec.catch_up {
                CatchUp::Latest => "no ferry was running at the scheduled time; catch_up runs only the latest",
                CatchUp::None => "no ferry was running at the scheduled time; catch_up = \"none\"",
            };
            self.app
                .store
                .record_missed(&script.id, &passed, &self.app.instance.id, why)
                .await?;
        }
        Ok(())
    }

    fn script(&self, id: &str) -> Option<Arc<Script>> {
        self.registry.entries.get(id).and_then(|e| e.script.clone())
    }

    /// Queues every script whose time has come and moves its next time on.
    async fn fire_due(&mut self) -> Result<(), DaemonError> {
        let due = self
            .registry
            .take_due(self.clock.now())
            .into_iter()
            .map(|(id, at)| Due::scheduled(id, at, Trigger::Scheduled));
        // Per script, occurrences get their rows in order: catch-up after a
        // crash counts from the latest row, so a later occurrence recorded
        // skipped while an earlier one still waited for a slot (unclaimed)
        // would leave the earlier one with no row at all if ferry were
        // killed then. Such an occurrence waits behind the earlier one and
        // is skipped when that one starts.
        for mut d in due {
            let earlier_waits = self.pending.iter().any(|p| p.id == d.id);
            match (self.running.contains_key(&d.id), earlier_waits) {
                (true, false) => self.record_skipped(&d).await?,
                (true, true) => {
                    d.skip_when_started = true;
                    self.pending.push_back(d);
                }
                (false, _) => self.pending.push_back(d),
            }
        }
        Ok(())
    }

    /// Queues a console run, or refuses it when the script is not loaded or
    /// is already running or queued. A script the daemon does not know yet
    /// (saved a moment ago) is looked for in the folder first.
    async fn run_now(&mut self, ask: RunNow) {
        if self.script(&ask.script).is_none() {
            self.rescan(false).await;
        }
        let refuse = if self.script(&ask.script).is_none() {
            Some(format!(
                "{} is not loaded: it does not exist in {} or does not compile",
                ask.script,
                self.app.settings.scripts_dir.display()
            ))
        } else if self.running.contains_key(&ask.script) || self.pending.iter().any(|d| d.id == ask.script) {
            Some(format!(
                "{} is already running or queued; wait for it to finish",
                ask.script
            ))
        } else {
            None
        };
        if let Some(why) = refuse {
            let _ = ask.accepted.send(Err(why));
            return;
        }
        let _ = ask.accepted.send(Ok(()));
        self.pending.push_back(Due {
            id: ask.script,
            at: self.clock.now(),
            trigger: Trigger::Manual,
            asked: Some(Asked {
                by: ask.by,
                progress: ask.progress,
                done: ask.done,
            }),
            recovers: None,
            skip_when_started: false,
        });
    }

    /// Starts queued runs while there is room.
    async fn launch_pending(&mut self) -> Result<(), DaemonError> {
        let mut waiting = VecDeque::new();
        while let Some(d) = self.pending.pop_front() {
            if d.skip_when_started && self.running.contains_key(&d.id) && !waiting.iter().any(|w: &Due| w.id == d.id) {
                self.record_skipped(&d).await?;
                continue;
            }
            if self.running.contains_key(&d.id) || self.running.len() >= self.opts.max_concurrent.max(1) {
                waiting.push_back(d);
                continue;
            }
            let Some(script) = self.script(&d.id) else {
                if let Some(a) = d.asked {
                    let _ = a.done.send(Err(format!("{} was removed before it could start", d.id)));
                }
                if d.trigger == Trigger::Recovery {
                    let why = "its run was interrupted and the script was removed";
                    self.app.store.occurrence_missed(&d.id, d.at, why).await?;
                }
                continue;
            };
            let by = d.asked.as_ref().map_or(StartedBy::Schedule, |a| a.by.clone());
            let req = RunRequest {
                occurrence: d.asked.is_none().then_some(d.at),
                recovers: d.recovers,
                ..RunRequest::by(by)
            };
            if d.asked.is_none() {
                if let Some(why) = self.app.store.suspended(&d.id).await? {
                    tracing::debug!(script = %d.id, reason = %why, "Suspended; not started (ferry resume to restart).");
                    continue;
                }
            }
            if d.trigger == Trigger::Recovery {
                if let Some(newer) = self.app.store.newer_occurrence(&d.id, d.at).await? {
                    let why = format!("its run was interrupted and a newer occurrence ({newer}) has run since");
                    self.app.store.occurrence_missed(&d.id, d.at, &why).await?;
                    continue;
                }
            }
            let run = match self.app.begin(&script, d.trigger, &req).await {
                Ok(Some(run)) => run,
                Ok(None) => {
                    tracing::debug!(script = %d.id, at = %d.at, "Occurrence claimed by another instance.");
                    continue;
                }
                Err(RunError::State(e)) => return Err(e.into()),
                Err(e) => {
                    tracing::error!(script = %d.id, error = %e, "The run could not start.");
                    if let Some(a) = d.asked {
                        let _ = a.done.send(Err(format!("the run could not start: {e}")));
                    }
                    continue;
                }
            };
            self.launch(script, d.id, run, req, d.trigger, d.asked);
        }
        self.pending = waiting;
        Ok(())
    }

    /// Starts the recorded run `run` as a task; a console run's asker is
    /// told how it ended.
    fn launch(
        &mut self,
        script: Arc<Script>,
        id: String,
        run: i64,
        mut req: RunRequest,
        trigger: Trigger,
        asked: Option<Asked>,
    ) {
        let cancel = Arc::new(AtomicBool::new(false));
        self.running.insert(id.clone(), cancel.clone());
        let app = self.app.clone();
        tracing::info!(script = %id, run, at = ?req.occurrence, trigger = trigger.as_str(), "Starting run.");
        let (progress, done) = match asked {
            Some(a) => (a.progress, Some(a.done)),
            None => (None, None),
        };
        req.cancel = Some(cancel);
        req.progress = progress;
        self.tasks.spawn(async move {
            let report = match app.execute(&script, trigger, run, req).await {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::error!(script = %id, run, error = %e, "The run could not start.");
                    let why = format!("the run could not start: {e}");
                    let failed = Outcome {
                        status: RunStatus::Failed,
                        error: Some(&why),
                        files: &[],
                        kept: false,
                        deliveries: &[],
                        log: &[],
                    };
                    if let Err(e) = app.store.finish_run(run, &failed).await {
                        tracing::error!(run, error = %e, "Cannot record the run's failure.");
                    }
                    if let Some(done) = done {
                        let _ = done.send(Err(why));
                    }
                    return (id, None);
                }
            };
            if let (Some(done), Some(r)) = (done, &report) {
                let _ = done.send(Ok((r.id, r.status)));
            }
            (id, report)
        });
    }

    async fn finished(&mut self, done: Result<Finished, tokio::task::JoinError>) -> Result<(), DaemonError> {
        let Ok((id, report)) = done else { return Ok(()) };
        self.running.remove(&id);
        if let Some(refusal) = report.as_ref().and_then(|r| r.refusal.clone()) {
            self.suspend(&id, &refusal).await?;
        }
        if let Some(r) = &report {
            match (&r.error, r.status) {
                (None, status) => tracing::info!(script = %id, run = r.id, %status, "Run ended."),
                (Some(e), RunStatus::Interrupted) => {
                    tracing::warn!(script = %id, run = r.id, error = %e, "Run interrupted.");
                }
                (Some(e), _) => tracing::error!(script = %id, run = r.id, error = %e, "Run failed."),
            }
        }
        Ok(())
    }

    /// Stops scheduling a script whose run was refused for missing rights,
    /// and tells its group.
    async fn suspend(&self, id: &str, refusal: &str) -> Result<(), DaemonError> {
        self.app.store.suspend(id, refusal).await?;
        tracing::error!(script = %id, reason = %refusal, "Script stopped: not scheduled until `ferry resume`.");
        let message = format!(
            "{id} is stopped and will not run on schedule: {refusal}. Fix the rights, then run `ferry resume {id}`."
        );
        match self.script(id).and_then(|s| s.spec.notify.clone()) {
            Some(group) => self.notify(&group, Some(id), &message).await,
            None => self.tell_admins(Some(id), &message).await,
        }
        Ok(())
    }

    /// A run still going when its next time came: recorded, not started.
    async fn record_skipped(&self, d: &Due) -> Result<(), DaemonError> {
        let Some(script) = self.script(&d.id) else {
            return Ok(());
        };
        let why = "the previous run was still going";
        if self
            .record(&script, d.at, Trigger::Scheduled, RunStatus::Skipped, why)
            .await?
        {
            tracing::warn!(script = %d.id, at = %d.at, "Skipped: the previous run is still going.");
        }
        Ok(())
    }

    /// An occurrence missed while ferry was down, under `catch_up = "none"`.
    async fn record_missed(&self, script: &Script, at: DateTime<Utc>) -> Result<(), DaemonError> {
        let why = "ferry was not running at the scheduled time; catch_up = \"none\"";
        self.record(script, at, Trigger::CatchUp, RunStatus::Missed, why)
            .await?;
        Ok(())
    }

    /// Claims an occurrence that does not run and records why, in one
    /// transaction; false when another instance had it.
    async fn record(
        &self,
        script: &Script,
        at: DateTime<Utc>,
        trigger: Trigger,
        status: RunStatus,
        why: &str,
    ) -> Result<bool, StateError> {
        let path = script.path.display().to_string();
        let new = NewRun {
            script: &script.id,
            path: &path,
            hash: &script.hash,
            trigger,
            occurrence: Some(at),
            instance: Some(&self.app.instance.id),
            resend_of: None,
            recovers: None,
            started_by: &StartedBy::Schedule,
            params: &[],
        };
        let id = self
            .app
            .store
            .claim_not_run(&new, &self.app.instance.id, status, why)
            .await?;
        Ok(id.is_some())
    }

    /// Stops starting runs, lets running ones finish within the grace
    /// period, then cancels the rest and marks them interrupted.
    async fn shutdown(mut self) -> Result<(), DaemonError> {
        tracing::info!(running = self.running.len(), grace = ?self.opts.grace, "Stopping: no new runs start.");
        self.pending.clear();
        let deadline = tokio::time::Instant::now() + self.opts.grace;
        while !self.tasks.is_empty() {
            match tokio::time::timeout_at(deadline, self.tasks.join_next()).await {
                Ok(Some(done)) => self.finished(done).await?,
                Ok(None) => break,
                Err(_) => {
                    tracing::warn!(
                        running = self.running.len(),
                        "Grace period over; cancelling the remaining runs."
                    );
                    for flag in self.running.values() {
                        flag.store(true, Ordering::Relaxed);
                    }
                    // Cancelled statements and uploads end within a
                    // fraction of a second; what has not ended by then is
                    // recorded interrupted below all the same.
                    let _ = tokio::time::timeout(Duration::from_secs(2), async {
                        while let Some(done) = self.tasks.join_next().await {
                            let _ = self.finished(done).await;
                        }
                    })
                    .await;
                    break;
                }
            }
        }
        let store = &self.app.store;
        store
            .interrupt_own(&self.app.instance, "ferry was stopped before the run finished")
            .await?;
        store.stop_instance(&self.app.instance).await?;
        tracing::info!("Stopped.");
        Ok(())
    }
}
