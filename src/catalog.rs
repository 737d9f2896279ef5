//! The extract list as the original tool's editor showed it — name,
//! delivery mode, server, frequency, extract mode, stopped, last run — plus
//! the next run: computed once here for `ferry list`, the console's list
//! page and `/api/extracts`, so the three never disagree.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::App;
use crate::script::{Script, ScriptsDir};
use crate::state::{RunRow, RunStatus, StateError};

/// The last run of an extract, as the list shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct LastRun {
    /// Its history id, as `ferry history` lists it.
    pub id: i64,
    /// Where it is in its life.
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
}

/// One line of the extract list.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Extract {
    /// The script id (file name without `.rhai`).
    pub id: String,
    /// The header's display name; "(invalid)" when the script does not load.
    pub name: String,
    /// Delivery modes of the named destinations it uses.
    pub delivery_mode: String,
    /// Their servers (or local folders).
    pub server: String,
    /// The schedule, in words.
    pub frequency: String,
    /// Extract methods (SQL, filter, ...).
    pub extract_mode: String,
    /// Stopped in its header (`stopped = true`).
    pub stopped: bool,
    /// Why ferry or a person stopped its automated runs, when they are.
    pub suspended: Option<String>,
    /// The latest run that was not a test.
    pub last_run: Option<LastRun>,
    /// When it runs next on its own; `None` when stopped or unscheduled.
    pub next_run: Option<DateTime<Utc>>,
    /// The IANA zone its schedule is read in: its header's `timezone`,
    /// else the district's.
    pub schedule_zone: String,
    /// Why the script does not load, with file and line.
    pub error: Option<String>,
    /// The script file.
    #[serde(skip)]
    pub path: PathBuf,
}

impl Extract {
    /// "yes", "no" or "suspended: why": the list's stopped column.
    pub(crate) fn stopped_text(&self) -> String {
        match &self.suspended {
            _ if self.stopped => "yes".into(),
            Some(why) => format!("suspended: {why}"),
            None => "no".into(),
        }
    }
}

/// Scripts as last compiled, by file, so a list asked for many times a
/// second compiles each script once per change of the file or of the
/// configuration rather than once per request.
#[derive(Default)]
pub(crate) struct Loaded {
    entries: Mutex<Cached>,
}

#[derive(Default)]
struct Cached {
    /// The configuration the entries were loaded with.
    app: Weak<App>,
    scripts: HashMap<PathBuf, (Stamp, Arc<Result<Script, String>>)>,
}

/// A file's modification time and size: a new stamp means a new load.
type Stamp = (Option<SystemTime>, u64);

impl Loaded {
    /// The script at `path`, loaded with `app`, from the cache while its
    /// file and the configuration are unchanged.
    fn script(&self, app: &Arc<App>, path: &Path) -> Arc<Result<Script, String>> {
        let stamp = std::fs::metadata(path)
            .map(|m| (m.modified().ok(), m.len()))
            .unwrap_or((None, 0));
        {
            let mut c = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if !c.app.upgrade().is_some_and(|a| Arc::ptr_eq(&a, app)) {
                c.app = Arc::downgrade(app);
                c.scripts.clear();
            }
            if let Some((s, script)) = c.scripts.get(path) {
                if *s == stamp {
                    return script.clone();
                }
            }
        }
        let script = Arc::new(app.load(path).map_err(|e| e.to_string()));
        let mut c = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        c.scripts.insert(path.to_path_buf(), (stamp, script.clone()));
        script
    }
}

/// One script's line of the list, from its loaded script (or why it does
/// not load) and what history says.
fn line(
    app: &App,
    path: PathBuf,
    script: Result<&Script, &str>,
    last: Option<RunRow>,
    suspended: Option<String>,
) -> Extract {
    let id = ScriptsDir::id_of(&path).unwrap_or_default();
    let mut e = Extract {
        id,
        name: "(invalid)".into(),
        delivery_mode: String::new(),
        server: String::new(),
        frequency: String::new(),
        extract_mode: String::new(),
        stopped: false,
        suspended,
        last_run: last.map(|r| LastRun {
            id: r.id,
            status: r.status,
            started_at: r.started_at,
        }),
        next_run: None,
        schedule_zone: app.settings.timezone.name().to_string(),
        error: None,
        path,
    };
    match script {
        Ok(s) => {
            let dests: Vec<_> = s
                .uses
                .destinations
                .iter()
                .filter_map(|d| app.settings.destinations.get(d))
                .collect();
            e.name = s.spec.name.clone();
            e.delivery_mode = dests.iter().map(|d| d.mode.to_string()).collect::<Vec<_>>().join(", ");
            e.server = dests
                .iter()
                .map(|d| {
                    if d.server.is_empty() {
                        d.path.clone()
                    } else {
                        d.server.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            e.frequency = s.spec.schedule.to_string();
            e.extract_mode = s.uses.methods.iter().copied().collect::<Vec<_>>().join(", ");
            e.stopped = s.spec.stopped;
            e.schedule_zone = s.zone.name().to_string();
            if e.suspended.is_none() {
                e.next_run = crate::run::next_due(s, Utc::now());
            }
        }
        Err(err) => e.error = Some(err.to_string()),
    }
    e
}

/// One script's line of the list.
pub(crate) async fn extract(app: &App, path: PathBuf) -> Result<Extract, StateError> {
    let id = ScriptsDir::id_of(&path).unwrap_or_default();
    let last = app.store.last_run(&id).await?;
    let suspended = app.store.suspended(&id).await?;
    let script = app.load(&path).map_err(|e| e.to_string());
    Ok(line(
        app,
        path,
        script.as_ref().map_err(String::as_str),
        last,
        suspended,
    ))
}

/// Every script in the scripts folder, sorted by file name, each compiled
/// now (the command line asks once).
pub(crate) async fn list(app: &App) -> Result<Vec<Extract>, StateError> {
    list_with(app, |path| Arc::new(app.load(path).map_err(|e| e.to_string()))).await
}

/// [`list`] for a server asked many times a second: scripts are compiled
/// only when they (or the configuration) changed since `loaded` saw them.
pub(crate) async fn list_cached(app: &Arc<App>, loaded: &Loaded) -> Result<Vec<Extract>, StateError> {
    list_with(app, |path| loaded.script(app, path)).await
}

/// Three queries whatever the number of scripts: one query per script made
/// a list of 50 slow under many parallel requests.
async fn list_with(app: &App, load: impl Fn(&Path) -> Arc<Result<Script, String>>) -> Result<Vec<Extract>, StateError> {
    let mut last = app.store.last_runs().await?;
    let mut suspended = app.store.suspensions().await?;
    let mut out = Vec::new();
    for path in ScriptsDir::of(&app.settings).list() {
        let id = ScriptsDir::id_of(&path).unwrap_or_default();
        let script = load(&path);
        let script = script.as_ref().as_ref().map_err(String::as_str);
        out.push(line(app, path.clone(), script, last.remove(&id), suspended.remove(&id)));
    }
    Ok(out)
}
