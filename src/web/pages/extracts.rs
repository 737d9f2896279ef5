//! The extract list, an extract's page with its buttons, the editor and
//! the job page that long actions land on.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use serde::Deserialize;

use super::history::runs_table;
use super::layout::layout;
use super::trends;
use super::{csrf_field, encode, error_page, post_button, Csrf, OrPage, PageResult, Viewer};
use crate::catalog::Extract;
use crate::state::ToolRight;
use crate::web::{extracts, Problem, Shared};

/// The extract pages' routes.
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(list))
        .route("/extracts/new", get(new_page).post(new_save))
        .route("/extracts/{id}", get(extract_page))
        .route("/extracts/{id}/edit", get(edit_page).post(edit_save))
        .route("/extracts/{id}/delete", get(confirm_delete).post(delete))
        .route("/extracts/{id}/stop", get(confirm_stop).post(stop))
        .route("/extracts/{id}/{action}", post(action))
        .route("/jobs/{id}", get(job_page))
}

/// The list's query: search text and sort column.
#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    sort: Option<String>,
    #[serde(default)]
    desc: bool,
}

const COLUMNS: [(&str, &str); 9] = [
    ("name", "Name"),
    ("id", "Script"),
    ("delivery_mode", "Delivery mode"),
    ("server", "Server"),
    ("frequency", "Frequency"),
    ("extract_mode", "Extract mode"),
    ("stopped", "Stopped"),
    ("last_run", "Last run"),
    ("next_run", "Next run"),
];

fn sort_key(e: &Extract, column: &str) -> String {
    match column {
        "id" => e.id.to_lowercase(),
        "delivery_mode" => e.delivery_mode.to_lowercase(),
        "server" => e.server.to_lowercase(),
        "frequency" => e.frequency.to_lowercase(),
        "extract_mode" => e.extract_mode.to_lowercase(),
        "stopped" => e.stopped_text(),
        "last_run" => e
            .last_run
            .as_ref()
            .map(|r| r.started_at.to_rfc3339())
            .unwrap_or_default(),
        "next_run" => e.next_run.map(|t| t.to_rfc3339()).unwrap_or_default(),
        _ => e.name.to_lowercase(),
    }
}

async fn list(State(c): State<Shared>, v: Viewer, Query(q): Query<ListQuery>) -> PageResult {
    v.caller.need(ToolRight::Read).or_page(&v)?;
    let mut all = crate::catalog::list_cached(&c.app(), &c.catalog).await.or_page(&v)?;
    let search = q.q.clone().unwrap_or_default();
    let needle = search.to_lowercase();
    if !needle.is_empty() {
        all.retain(|e| {
            [&e.id, &e.name, &e.server, &e.delivery_mode, &e.frequency]
                .iter()
                .any(|f| f.to_lowercase().contains(&needle))
        });
    }
    let sort = q.sort.clone().unwrap_or_else(|| "name".into());
    all.sort_by_cached_key(|e| sort_key(e, &sort));
    if q.desc {
        all.reverse();
    }
    let store = c.app().store.clone();
    let mut sparks = Vec::with_capacity(all.len());
    for e in &all {
        sparks.push(c.sparklines.of(&store, e).await.or_page(&v)?);
    }
    let link = |col: &str| {
        let desc = col == sort && !q.desc;
        format!("/?sort={col}&desc={desc}&q={}", encode(&search))
    };
    let body = html! {
        h1 { "Extracts" }
        form .search method="get" action="/" {
            input type="search" name="q" value=(search) placeholder="Search name, script, server…" aria-label="Search";
            input type="hidden" name="sort" value=(sort);
            button type="submit" { "Search" }
            @if v.caller.may(ToolRight::Add) { " " a .button #new-extract href="/extracts/new" { "New extract" } }
        }
        table #extracts {
            thead { tr {
                @for (col, label) in COLUMNS {
                    th { a href=(link(col)) { (label) @if col == sort { (if q.desc { " ▼" } else { " ▲" }) } } }
                }
                th { "Recent rows" }
                @if v.caller.may(ToolRight::Run) { th { "Actions" } }
            } }
            tbody {
                @for (e, spark) in all.iter().zip(&sparks) {
                    tr {
                        td { a href={"/extracts/" (e.id)} { (e.name) } }
                        td { (e.id) }
                        td { (e.delivery_mode) }
                        td { (e.server) }
                        td { (e.frequency) }
                        td { (e.extract_mode) }
                        td { @if e.error.is_some() { span .error { "does not load" } } @else { (e.stopped_text()) } }
                        td { @match &e.last_run {
                            Some(r) => { a href={"/runs/" (r.id)} { (v.when(r.started_at)) } " " span class={"status " (r.status)} { (r.status) } }
                            None => { "never" }
                        } }
                        td { (next_run(&v, e)) }
                        td .spark { (spark) }
                        @if v.caller.may(ToolRight::Run) {
                            td .actions {
                                (post_button(&v, &format!("/extracts/{}/test", e.id), &format!("test-{}", e.id), "Test"))
                                (post_button(&v, &format!("/extracts/{}/run", e.id), &format!("run-{}", e.id), "Run"))
                            }
                        }
                    }
                }
            }
        }
        @if all.is_empty() { p { "No extracts match." } }
    };
    Ok(layout("Extracts", Some(&v), body).into_response())
}

async fn extract_page(State(c): State<Shared>, v: Viewer, Path(id): Path<String>) -> PageResult {
    v.caller.need(ToolRight::Read).or_page(&v)?;
    let app = c.app();
    let d = extracts::detail(&app, &v.caller, &id).await.or_page(&v)?;
    let e = &d.summary;
    let jobs = c.jobs.of_script(&id, 5);
    let base = format!("/extracts/{}", e.id);
    let suspended = e.suspended.is_some();
    let recent = app.store.runs(Some(&id), trends::PAGE_RUNS).await.or_page(&v)?;
    let guards = app.load(&e.path).map(|s| s.spec.guards).unwrap_or_default();
    let body = html! {
        h1 { (e.name) " " small { "(" (e.id) ".rhai)" } }
        @if let Some(err) = &e.error { p #error .error { (err) } }
        div .actions {
            @if v.caller.may(ToolRight::Run) {
                (post_button(&v, &format!("{base}/test"), "test-extract", "Test Extract"))
                (post_button(&v, &format!("{base}/test-connection"), "test-connection", "Test Connection"))
                (post_button(&v, &format!("{base}/run"), "run-extract", "Run Extract"))
            }
            @if v.caller.may(ToolRight::Write) {
                @if suspended { (post_button(&v, &format!("{base}/start"), "start", "Start automated runs")) }
                @else { a .button #stop href={(base) "/stop"} { "Stop automated runs" } }
                a .button #edit href={(base) "/edit"} { "Edit" }
            }
            @if v.caller.may(ToolRight::Delete) {
                a .button #delete href={(base) "/delete"} { "Delete" }
            }
        }
        table .facts {
            tr { th { "Delivery mode" } td { (e.delivery_mode) } }
            tr { th { "Server" } td { (e.server) } }
            tr { th { "Frequency" } td { (e.frequency) } }
            tr { th { "Extract mode" } td { (e.extract_mode) } }
            tr { th { "Stopped" } td #stopped { (e.stopped_text()) } }
            tr { th { "Next run" } td { (next_run(&v, e)) } }
        }
        @if !d.destinations.is_empty() {
            h2 { "Destinations" }
            table #destinations {
                tr { th { "Name" } th { "Where" } th { "Password" } @if v.caller.may(ToolRight::ManageUsers) { th { "Key" } } }
                @for dest in &d.destinations {
                    tr {
                        td { (dest.name) } td { (dest.describe) } td { (dest.password.clone().unwrap_or_default()) }
                        @if v.caller.may(ToolRight::ManageUsers) { td { (dest.key.clone().unwrap_or_default()) } }
                    }
                }
            }
        }
        @if !jobs.is_empty() {
            h2 { "Recent actions" }
            ul #jobs { @for j in &jobs {
                li { a href={"/jobs/" (j.id)} { (j.kind) " by " (j.by) " at " (v.when(j.started_at)) } " " span class={"status " (j.state)} { (j.state) } }
            } }
        }
        section #trends {
            h2 { "Last " (trends::PAGE_RUNS) " runs" }
            (trends::extract_charts(&v, &e.name, &recent, &guards))
        }
        h2 { "History" }
        (runs_table(&v, &d.runs))
        h2 { "Header" }
        pre .code { (d.header) }
        @if !d.changes.is_empty() {
            h2 { "Changes" }
            table #changes {
                tr { th { "When" } th { "Who" } th { "What" } th { "Version" } }
                @for ch in &d.changes {
                    tr { td { (v.when(ch.at)) } td { (ch.user) } td { (ch.action) }
                         td { code { (ch.new_sha256.as_deref().map(|h| &h[..12.min(h.len())]).unwrap_or("")) } } }
                }
            }
        }
        h2 { "Script" }
        pre .code #source { (d.source) }
    };
    Ok(layout(&e.name, Some(&v), body).into_response())
}

async fn action(
    State(c): State<Shared>,
    v: Viewer,
    Path((id, what)): Path<(String, String)>,
    Form(f): Form<Csrf>,
) -> PageResult {
    v.caller.check_csrf(Some(&f.csrf)).or_page(&v)?;
    let job = match what.as_str() {
        "test" => extracts::start_test(&c, &v.caller, &id),
        "test-connection" => extracts::start_connection(&c, &v.caller, &id),
        "run" => extracts::start_run(&c, &v.caller, &id).await,
        "start" => {
            extracts::stop_start(&c.app(), &v.caller, &id, false)
                .await
                .or_page(&v)?;
            return Ok(Redirect::to(&format!("/extracts/{id}")).into_response());
        }
        _ => {
            let missing = Problem::missing(format!("there is no action '{what}'"));
            return Err(error_page(Some(&v), missing).into());
        }
    }
    .or_page(&v)?;
    Ok(Redirect::to(&format!("/jobs/{job}")).into_response())
}

/// A change that is hard to take back, asked about on its own page first
/// (the console runs no script, so the question is a page, not a dialog).
struct Ask {
    need: ToolRight,
    /// The action the confirming button posts to.
    action: &'static str,
    /// The question, before the extract's name.
    question: &'static str,
    /// The confirming button's label.
    button: &'static str,
    /// What happens next.
    follows: &'static str,
}

async fn confirm(c: &Shared, v: Viewer, id: &str, ask: Ask) -> PageResult {
    v.caller.need(ask.need).or_page(&v)?;
    let app = c.app();
    let e = crate::catalog::extract(&app, extracts::existing(&app, id).or_page(&v)?)
        .await
        .or_page(&v)?;
    let base = format!("/extracts/{id}");
    let body = html! {
        h1 { (ask.question) " " (e.name) "?" }
        p #consequence { (ask.follows) }
        form .inline method="post" action={(base) "/" (ask.action)} {
            (csrf_field(&v))
            button #{"confirm-" (ask.action)} type="submit" { (ask.button) }
        }
        " " a .button #cancel href=(base) { "Cancel" }
    };
    Ok(layout(ask.button, Some(&v), body).into_response())
}

async fn confirm_delete(State(c): State<Shared>, v: Viewer, Path(id): Path<String>) -> PageResult {
    let ask = Ask {
        need: ToolRight::Delete,
        action: "delete",
        question: "Delete",
        button: "Delete",
        follows: "The script file is removed and its schedule ends; a copy is kept in the work folder's \
                  deleted-scripts, and its history stays.",
    };
    confirm(&c, v, &id, ask).await
}

async fn confirm_stop(State(c): State<Shared>, v: Viewer, Path(id): Path<String>) -> PageResult {
    let ask = Ask {
        need: ToolRight::Write,
        action: "stop",
        question: "Stop the automated runs of",
        button: "Stop automated runs",
        follows: "Its scheduled runs stop until someone starts them again; Run Extract and Test Extract still work.",
    };
    confirm(&c, v, &id, ask).await
}

async fn stop(State(c): State<Shared>, v: Viewer, Path(id): Path<String>, Form(f): Form<Csrf>) -> PageResult {
    v.caller.check_csrf(Some(&f.csrf)).or_page(&v)?;
    extracts::stop_start(&c.app(), &v.caller, &id, true).await.or_page(&v)?;
    Ok(Redirect::to(&format!("/extracts/{id}")).into_response())
}

async fn delete(State(c): State<Shared>, v: Viewer, Path(id): Path<String>, Form(f): Form<Csrf>) -> PageResult {
    v.caller.check_csrf(Some(&f.csrf)).or_page(&v)?;
    extracts::delete(&c.app(), &v.caller, &id).await.or_page(&v)?;
    Ok(Redirect::to("/").into_response())
}

/// The editor's fields.
#[derive(Deserialize)]
struct EditForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    source: String,
}

fn editor(v: &Viewer, action: &str, id: Option<&str>, source: &str, error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error { p #error .error { (e) } }
        form method="post" action=(action) .editor {
            (csrf_field(v))
            @if id.is_none() {
                label { "Script name " input #script-id type="text" name="id" required pattern="[A-Za-z0-9_][A-Za-z0-9_.\\-]*"; }
            }
            textarea #source name="source" spellcheck="false" rows="18" { (source) }
            button #save type="submit" { "Save" }
            @if let Some(id) = id { " " a href={"/extracts/" (id)} { "Cancel" } }
        }
        p .hint { "Saving compiles the script first; a script that does not compile is not saved. ferry serve reloads a saved script as it does a file edit." }
    }
}

async fn edit_page(State(c): State<Shared>, v: Viewer, Path(id): Path<String>) -> PageResult {
    v.caller.need(ToolRight::Write).or_page(&v)?;
    let app = c.app();
    let path = extracts::existing(&app, &id).or_page(&v)?;
    let source = std::fs::read_to_string(&path).unwrap_or_default();
    let body = html! { h1 { "Edit " (id) } (editor(&v, &format!("/extracts/{id}/edit"), Some(&id), &source, None)) };
    Ok(layout(&format!("Edit {id}"), Some(&v), body).into_response())
}

async fn edit_save(State(c): State<Shared>, v: Viewer, Path(id): Path<String>, Form(f): Form<EditForm>) -> PageResult {
    v.caller.check_csrf(Some(&f.csrf)).or_page(&v)?;
    let source = f.source.replace("\r\n", "\n");
    match extracts::save(&c.app(), &v.caller, &id, &source).await {
        Ok(()) => Ok(Redirect::to(&format!("/extracts/{id}")).into_response()),
        Err(p) if p.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let body = html! { h1 { "Edit " (id) } (editor(&v, &format!("/extracts/{id}/edit"), Some(&id), &source, Some(&p.message))) };
            Err((p.status, layout(&format!("Edit {id}"), Some(&v), body))
                .into_response()
                .into())
        }
        Err(p) => Err(error_page(Some(&v), p).into()),
    }
}

const NEW_SCRIPT: &str = "//! name = \"New extract\"\n//! schedule = \"none\"\n\nlet rows = query(\"live\", \"SELECT 1 AS one\", #{});\ndeliver(csv(rows, #{ name: \"new\" }), \"out\");\n";

async fn new_page(v: Viewer) -> PageResult {
    v.caller.need(ToolRight::Add).or_page(&v)?;
    let body = html! { h1 { "New extract" } (editor(&v, "/extracts/new", None, NEW_SCRIPT, None)) };
    Ok(layout("New extract", Some(&v), body).into_response())
}

async fn new_save(State(c): State<Shared>, v: Viewer, Form(f): Form<EditForm>) -> PageResult {
    v.caller.check_csrf(Some(&f.csrf)).or_page(&v)?;
    let source = f.source.replace("\r\n", "\n");
    match extracts::create(&c.app(), &v.caller, f.id.trim(), &source).await {
        Ok(id) => Ok(Redirect::to(&format!("/extracts/{id}")).into_response()),
        Err(p) if p.status != StatusCode::FORBIDDEN => {
            let body = html! { h1 { "New extract" } (editor(&v, "/extracts/new", None, &source, Some(&p.message))) };
            Err((p.status, layout("New extract", Some(&v), body)).into_response().into())
        }
        Err(p) => Err(error_page(Some(&v), p).into()),
    }
}

async fn job_page(State(c): State<Shared>, v: Viewer, Path(id): Path<u64>) -> PageResult {
    v.caller.need(ToolRight::Read).or_page(&v)?;
    let Some(j) = c.jobs.get(id) else {
        let missing = Problem::missing(format!(
            "there is no job {id}; jobs are forgotten when ferry serve restarts, history keeps the runs"
        ));
        return Err(error_page(Some(&v), missing).into());
    };
    let title = match j.kind.as_str() {
        "test" => "Test Extract",
        "connection" => "Test Connection",
        _ => "Run Extract",
    };
    let result = j.result.clone().unwrap_or_default();
    let body = html! {
        h1 { (title) ": " a href={"/extracts/" (j.script)} { (j.script) } }
        p { "Started by " (j.by) " at " (v.when(j.started_at)) ". State: " span #job-state class={"status " (j.state)} { (j.state) } }
        @if j.running() {
            p #progress { (j.progress.clone().unwrap_or_else(|| "starting…".into())) }
            p .hint { "This page refreshes itself; you can leave and come back from the extract's page." }
        }
        @if let Some(e) = &j.error { p #error .error { (e) } }
        @if let Some(run) = result.get("run").and_then(serde_json::Value::as_i64) {
            p { "History: " a #run-link href={"/runs/" (run)} { "run " (run) } }
        }
        @if let Some(files) = result.get("files").and_then(|f| f.as_array()) {
            @for (i, f) in files.iter().enumerate() {
                h2 { (f["name"].as_str().unwrap_or("")) " — " (crate::format::thousands(f["rows"].as_u64().unwrap_or(0))) " rows" }
                @if let Some(lines) = f["lines"].as_array().filter(|l| !l.is_empty()) {
                    p .hint { "As the vendor will read it (␍ carriage return, ␉ tab):" }
                    pre .code id={"lines-" (i)} { @for l in lines { (l.as_str().unwrap_or("")) "\n" } }
                    p .hint { "The values as the database gave them:" }
                }
                @if let Some(cols) = f["columns"].as_array().filter(|c| !c.is_empty()) {
                    table .preview id={"preview-" (i)} {
                        tr { @for c in cols { th { (c.as_str().unwrap_or("")) } } }
                        @for row in f["preview"].as_array().into_iter().flatten() {
                            tr { @for cell in row.as_array().into_iter().flatten() { td { (cell.as_str().unwrap_or("")) } } }
                        }
                    }
                }
                @for d in f["would_deliver_to"].as_array().into_iter().flatten() {
                    p { "Would deliver to " (d.as_str().unwrap_or("")) }
                }
            }
            @for n in result["notes"].as_array().into_iter().flatten() { p .note { (n.as_str().unwrap_or("")) } }
            p { "Nothing was delivered or kept." }
        }
        @if let Some(dests) = result.get("destinations").and_then(|d| d.as_array()) {
            @for d in dests {
                h2 { (d["destination"].as_str().unwrap_or("")) ": " (d["describe"].as_str().unwrap_or("")) }
                @if d["ok"].as_bool() == Some(true) {
                    table .facts {
                        @for pair in d["details"].as_array().into_iter().flatten() {
                            tr { th { (pair[0].as_str().unwrap_or("")) } td { (pair[1].as_str().unwrap_or("")) } }
                        }
                        tr { th { "logged in by" } td { (d["logged_in_by"].as_str().unwrap_or("")) } }
                    }
                    p .ok { "OK: wrote and removed " (d["test_file"].as_str().unwrap_or("")) }
                } @else {
                    p .error { "FAILED: " (d["error"].as_str().unwrap_or("")) }
                }
            }
        }
    };
    let mut page = layout(title, Some(&v), body).into_response();
    if j.running() {
        page.headers_mut()
            .insert("refresh", axum::http::HeaderValue::from_static("1"));
    }
    Ok(page)
}

/// When a script runs next, in the reader's zone, and in its schedule's
/// zone too when that differs (a `daily at 02:30` Chicago schedule read
/// from New York).
fn next_run(v: &Viewer, e: &crate::catalog::Extract) -> String {
    let Some(t) = e.next_run else {
        return "—".into();
    };
    match e.schedule_zone.parse::<chrono_tz::Tz>() {
        Ok(zone) if zone != v.zone => format!(
            "{} ({}, the schedule's zone)",
            v.when(t),
            crate::schedule::labelled(t, zone, true)
        ),
        _ => v.when(t),
    }
}
