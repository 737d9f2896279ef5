//! What the console does to extracts, shared by the JSON API and the
//! pages: reading one, saving, creating and deleting its script, stopping
//! and starting its automated runs, and starting the long actions.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::StatusCode;
use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use super::auth::Caller;
use super::{Console, Problem};
use crate::app::App;
use crate::catalog::Extract;
use crate::run::context::Progress;
use crate::run::{RunNow, RunRequest};
use crate::script::{Script, ScriptsDir};
use crate::state::{LogLevel, RunRow, RunStatus, ScriptAction, ScriptChange, ToolRight, Trigger};

/// The file of script `id`, refusing anything that is not a plain name —
/// no separators, no `..`, no hidden files — so no request can reach a
/// file outside the scripts folder.
pub(super) fn script_file(app: &App, id: &str) -> Result<PathBuf, Problem> {
    ScriptsDir::of(&app.settings)
        .checked_path_of(id)
        .map_err(|e| Problem::bad(e.to_string()))
}

/// The file of an existing script, or 404.
pub(super) fn existing(app: &App, id: &str) -> Result<PathBuf, Problem> {
    let path = script_file(app, id)?;
    if !path.is_file() {
        return Err(Problem::missing(format!(
            "there is no script '{id}' in {}",
            app.settings.scripts_dir.display()
        )));
    }
    Ok(path)
}

/// An existing script, compiled; one that does not compile is a 422 naming file:line.
fn loaded(app: &App, id: &str) -> Result<Script, Problem> {
    app.load(&existing(app, id)?)
        .map_err(|e| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))
}

/// A destination as the console shows it; the password's secret reference
/// only to administrators, its value to nobody.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub(super) struct DestinationView {
    /// Its name in ferry.toml.
    pub name: String,
    /// Protocol and address, in one line.
    pub describe: String,
    /// The password's reference (`env:NAME`), for administrators; "(hidden)"
    /// for others; absent when there is none.
    pub password: Option<String>,
    /// The key file's name, for administrators.
    pub key: Option<String>,
}

/// One extract in full.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ExtractDetail {
    /// The list's line.
    #[serde(flatten)]
    pub summary: Extract,
    /// The `//!` header, as TOML.
    pub header: String,
    /// The whole script.
    pub source: String,
    /// Where it delivers.
    pub destinations: Vec<DestinationView>,
    /// Recent runs, newest first.
    pub runs: Vec<RunRow>,
    /// Who changed the script or stopped it, newest first.
    pub changes: Vec<ScriptChange>,
}

/// Reads one extract.
pub(super) async fn detail(app: &App, caller: &Caller, id: &str) -> Result<ExtractDetail, Problem> {
    let path = existing(app, id)?;
    let source =
        std::fs::read_to_string(&path).map_err(|e| Problem::missing(format!("cannot read {}: {e}", path.display())))?;
    let summary = crate::catalog::extract(app, path.clone()).await?;
    let admin = caller.may(ToolRight::ManageUsers);
    let destinations = match app.load(&path) {
        Ok(s) => s
            .uses
            .destinations
            .iter()
            .filter_map(|d| app.settings.destinations.get(d))
            .map(|d| DestinationView {
                name: d.name.clone(),
                describe: d.describe(),
                password: d
                    .password
                    .as_ref()
                    .map(|p| if admin { p.to_string() } else { "(hidden)".into() }),
                key: d.key.as_ref().filter(|_| admin).cloned(),
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    Ok(ExtractDetail {
        summary,
        header: crate::script::header::extract(&source).0.trim().to_string(),
        source,
        destinations,
        runs: app.store.runs(Some(id), 20).await?,
        changes: app.store.script_changes(Some(id), 20).await?,
    })
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Compiles `source` as script `id` would be; the refusal names file:line.
fn validate(app: &App, path: &Path, source: &str) -> Result<(), Problem> {
    Script::from_source(path, source, &app.settings)
        .map(|_| ())
        .map_err(|e| {
            // Quote the line, so the editor's user finds it without line numbers.
            let quoted = source
                .lines()
                .nth(e.line - 1)
                .map(|l| format!(" (line {}: {})", e.line, l.trim()))
                .unwrap_or_default();
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, format!("not saved: {e}{quoted}"))
        })
}

/// Writes through a temporary file and a rename, so the watcher (and a run
/// starting now) sees the old script or the new one, never half of it.
fn write_whole(path: &Path, source: &str) -> Result<(), Problem> {
    let fail = |e: std::io::Error| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot write {}: {e}", path.display()),
        )
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(fail)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".console-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    std::io::Write::write_all(&mut tmp, source.as_bytes()).map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Saves a new version of an existing script, after it compiles.
pub(super) async fn save(app: &App, caller: &Caller, id: &str, source: &str) -> Result<(), Problem> {
    caller.need(ToolRight::Write)?;
    let path = existing(app, id)?;
    validate(app, &path, source)?;
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    write_whole(&path, source)?;
    app.store
        .record_script_change(
            id,
            &caller.user,
            ScriptAction::Edited,
            Some(&sha256(&old)),
            Some(&sha256(source)),
        )
        .await?;
    tracing::info!(script = ?id, user = %caller.user, "Script saved from the console.");
    Ok(())
}

/// Creates a script, after it compiles; refuses a name already taken.
/// A name given with its `.rhai` ending means the same script (`a.rhai` is
/// `a`, written to `a.rhai`); the id it was created under is returned.
pub(super) async fn create<'a>(app: &App, caller: &Caller, id: &'a str, source: &str) -> Result<&'a str, Problem> {
    caller.need(ToolRight::Add)?;
    let id = id.strip_suffix(".rhai").unwrap_or(id);
    let path = script_file(app, id)?;
    if path.exists() {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            format!("a script named '{id}' already exists; edit it instead"),
        ));
    }
    validate(app, &path, source)?;
    write_whole(&path, source)?;
    app.store
        .record_script_change(id, &caller.user, ScriptAction::Created, None, Some(&sha256(source)))
        .await?;
    tracing::info!(script = ?id, user = %caller.user, "Script created from the console.");
    Ok(id)
}

/// Deletes a script, keeping a copy under the work folder (nothing is lost).
pub(super) async fn delete(app: &App, caller: &Caller, id: &str) -> Result<PathBuf, Problem> {
    caller.need(ToolRight::Delete)?;
    let path = existing(app, id)?;
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let keep = app
        .settings
        .work_dir
        .join("deleted-scripts")
        .join(format!("{id}-{}.rhai", Utc::now().format("%Y%m%d%H%M%S")));
    write_whole(&keep, &old)?;
    std::fs::remove_file(&path).map_err(|e| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot delete {}: {e}", path.display()),
        )
    })?;
    app.store
        .record_script_change(id, &caller.user, ScriptAction::Deleted, Some(&sha256(&old)), None)
        .await?;
    tracing::info!(script = ?id, user = %caller.user, kept = %keep.display(), "Script deleted from the console.");
    Ok(keep)
}

/// Stops (`stop = true`) or starts a script's automated runs.
pub(super) async fn stop_start(app: &App, caller: &Caller, id: &str, stop: bool) -> Result<(), Problem> {
    caller.need(ToolRight::Write)?;
    existing(app, id)?;
    if stop {
        app.store
            .suspend(id, &format!("stopped by {} in the console", caller.user))
            .await?;
    } else {
        app.store.resume(id).await?;
    }
    let action = if stop {
        ScriptAction::Stopped
    } else {
        ScriptAction::Started
    };
    app.store
        .record_script_change(id, &caller.user, action, None, None)
        .await?;
    Ok(())
}

/// Shows progress as "file: N rows".
fn progress_to(console: &Arc<Console>, job: u64) -> Progress {
    let c = console.clone();
    Arc::new(move |file: &str, rows: u64| {
        c.jobs
            .progress(job, format!("{file}: {} rows", crate::format::thousands(rows)));
    })
}

/// Starts Test Extract: builds the files, stores and delivers nothing; the
/// job's result is each file's columns, first rows and row count.
pub(super) fn start_test(console: &Arc<Console>, caller: &Caller, id: &str) -> Result<u64, Problem> {
    caller.need(ToolRight::Run)?;
    let app = console.app();
    let script = loaded(&app, id)?;
    let job = console.jobs.begin("test", id, &caller.user);
    let c = console.clone();
    let by = caller.started_by();
    tokio::spawn(async move {
        let req = RunRequest {
            progress: Some(progress_to(&c, job)),
            ..RunRequest::by(by)
        };
        let result = match app.run(&script, Trigger::Test, req).await {
            Err(e) => Err((e.to_string(), None)),
            Ok(r) => {
                let files: Vec<_> = r
                    .files
                    .iter()
                    .map(|f| {
                        json!({
                            "name": f.name,
                            "rows": f.rows,
                            "bytes": f.bytes,
                            "columns": f.columns,
                            "preview": f.preview.iter().take(20).collect::<Vec<_>>(),
                            "lines": f.lines,
                            "would_deliver_to": r.deliveries.iter().filter(|d| d.file == f.name)
                                .map(|d| d.destination.clone()).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                let notes: Vec<_> = r
                    .log
                    .iter()
                    .filter(|l| l.level != LogLevel::Info)
                    .map(|l| format!("{}: {}", l.level, l.message))
                    .collect();
                let value = json!({ "run": r.id, "files": files, "notes": notes });
                match r.error {
                    None => Ok(value),
                    Some(e) => Err((e, Some(value))),
                }
            }
        };
        c.jobs.finish(job, result);
    });
    Ok(job)
}

/// Starts Test Connection: the 1-byte file to each destination the script uses.
pub(super) fn start_connection(console: &Arc<Console>, caller: &Caller, id: &str) -> Result<u64, Problem> {
    caller.need(ToolRight::Run)?;
    let app = console.app();
    let script = loaded(&app, id)?;
    let dests: Vec<_> = script
        .uses
        .destinations
        .iter()
        .filter_map(|d| app.settings.destinations.get(d).cloned())
        .collect();
    if dests.is_empty() {
        return Err(Problem::bad(format!(
            "{id} names no destination from ferry.toml, so there is nothing to test"
        )));
    }
    let job = console.jobs.begin("connection", id, &caller.user);
    let c = console.clone();
    tokio::spawn(async move {
        let env = crate::deliver::DeliveryEnv::from_settings(&app.settings);
        let mut reports = Vec::new();
        let mut failed = 0;
        for d in &dests {
            c.jobs.progress(job, format!("connecting to {}", d.name));
            match crate::deliver::test_connection(d, &env).await {
                Ok(p) => reports.push(json!({
                    "destination": d.name, "describe": d.describe(), "ok": true,
                    "details": p.info.details, "logged_in_by": p.info.auth_method,
                    "test_file": p.test_file,
                })),
                Err(e) => {
                    failed += 1;
                    reports.push(json!({
                        "destination": d.name, "describe": d.describe(), "ok": false, "error": e.message,
                    }));
                }
            }
        }
        let value = json!({ "destinations": reports });
        c.jobs.finish(
            job,
            if failed == 0 {
                Ok(value)
            } else {
                Err((
                    format!("{failed} destination(s) failed the connection test"),
                    Some(value),
                ))
            },
        );
    });
    Ok(job)
}

/// Starts Run Extract through the daemon's queue.
pub(super) async fn start_run(console: &Arc<Console>, caller: &Caller, id: &str) -> Result<u64, Problem> {
    caller.need(ToolRight::Run)?;
    let app = console.app();
    existing(&app, id)?;
    let job = console.jobs.begin("run", id, &caller.user);
    let (accepted, accept) = oneshot::channel();
    let (done, finish) = oneshot::channel();
    let ask = RunNow {
        script: id.to_string(),
        by: caller.started_by(),
        progress: Some(progress_to(console, job)),
        accepted,
        done,
    };
    let refused = |message: String| {
        console.jobs.finish(job, Err((message.clone(), None)));
        Problem::new(StatusCode::CONFLICT, message)
    };
    if console.asks.send(ask).is_err() {
        return Err(refused("ferry serve is stopping; the run was not started".into()));
    }
    match accept.await {
        Ok(Ok(())) => {}
        Ok(Err(why)) => return Err(refused(why)),
        Err(_) => return Err(refused("ferry serve is stopping; the run was not started".into())),
    }
    tracing::info!(script = ?id, user = %caller.user, "Run started from the console.");
    console.jobs.queued(job);
    let c = console.clone();
    tokio::spawn(async move {
        let result = match finish.await {
            Ok(Ok((run, status))) if status == RunStatus::Succeeded => Ok(json!({ "run": run, "status": status })),
            Ok(Ok((run, status))) => Err((
                format!("run {run} {status}; its page in history says why"),
                Some(json!({ "run": run, "status": status })),
            )),
            Ok(Err(e)) => Err((e, None)),
            Err(_) => Err(("ferry serve stopped before the run ended".into(), None)),
        };
        c.jobs.finish(job, result);
    });
    Ok(job)
}
