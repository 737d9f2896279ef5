//! The extract list as the original tool's editor showed it — name,
//! delivery mode, server, frequency, extract mode, stopped, last run — plus
//! the next run: computed once here for `ferry list`, the console's list
//! page and `/api/extracts`, so the three never disagree.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::App;
use crate::state::{RunStatus, StateError};

/// The last run of an extract, as the list shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct LastRun {
    /// History id.
    pub id: i64,
    /// Where it is in its life.
    pub status: RunStatus,
    /// When it started.
    pub started_at: DateTime<Utc>,
}

/// One line of the extract list.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Extract {
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
    pub fn stopped_text(&self) -> String {
        match &self.suspended {
            _ if self.stopped => "yes".into(),
            Some(why) => format!("suspended: {why}"),
            None => "no".into(),
        }
    }
}

/// One script's line of the list.
pub async fn extract(app: &App, path: PathBuf) -> Result<Extract, StateError> {
    let id = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let last_run = app.store.last_run(&id).await?.map(|r| LastRun {
        id: r.id,
        status: r.status,
        started_at: r.started_at,
    });
    let suspended = app.store.suspended(&id).await?;
    let mut e = Extract {
        id,
        name: "(invalid)".into(),
        delivery_mode: String::new(),
        server: String::new(),
        frequency: String::new(),
        extract_mode: String::new(),
        stopped: false,
        suspended,
        last_run,
        next_run: None,
        schedule_zone: app.settings.timezone.name().to_string(),
        error: None,
        path,
    };
    match app.load(&e.path) {
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
            if let Some(zone) = s.spec.timezone {
                e.schedule_zone = zone.name().to_string();
            }
            if e.suspended.is_none() {
                e.next_run = crate::run::next_due(&s, &app.settings, Utc::now());
            }
        }
        Err(err) => e.error = Some(err.to_string()),
    }
    Ok(e)
}

/// Every script in the scripts folder, sorted by file name.
pub async fn list(app: &App) -> Result<Vec<Extract>, StateError> {
    let mut out = Vec::new();
    for path in app.all_scripts() {
        out.push(extract(app, path).await?);
    }
    Ok(out)
}
