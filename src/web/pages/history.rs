//! History, one run and notifications.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};

use super::layout::layout;
use super::{post_button, Csrf, OrPage, PageResult, Viewer};
use crate::state::{RunStatus, ToolRight};
use crate::web::api::HistoryQuery;
use crate::web::Shared;

/// The history and notification pages' routes.
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/history", get(history))
        .route("/runs/{id}", get(run_page))
        .route("/notifications", get(notifications))
        .route("/notifications/read", post(read_all))
        .route("/notifications/{id}/read", post(read_one))
}

pub(super) fn runs_table(v: &Viewer, runs: &[crate::state::RunRow]) -> Markup {
    html! {
        table #history {
            tr { th { "Run" } th { "Script" } th { "Trigger" } th { "Started" } th { "Status" } th { "Rows" } th { "Destination" } th { "Error" } }
            @for r in runs {
                tr {
                    td { a href={"/runs/" (r.id)} { (r.id) } }
                    td { a href={"/extracts/" (r.script)} { (r.script) } }
                    td { (r.trigger) }
                    td { (v.when(r.started_at)) }
                    td { span class={"status " (r.status)} { (r.status) } }
                    td .num { (crate::format::thousands(r.rows.max(0) as u64)) }
                    td { (r.destination.clone().unwrap_or_default()) }
                    td .error { (r.error.clone().unwrap_or_default()) }
                }
            }
        }
        @if runs.is_empty() { p { "No runs yet." } }
    }
}

async fn history(State(c): State<Shared>, v: Viewer, Query(q): Query<HistoryQuery>) -> PageResult {
    v.caller.need(ToolRight::Read).or_page(&v)?;
    let filter = q.filter().or_page(&v)?;
    let runs = c.app().store.runs_matching(&filter).await.or_page(&v)?;
    let val = |o: &Option<String>| o.clone().unwrap_or_default();
    let body = html! {
        h1 { "History" }
        form .search method="get" action="/history" {
            label { "Script " input type="text" name="script" value=(val(&q.script)); }
            label { "Status " select name="status" {
                option value="" { "any" }
                @for s in RunStatus::ALL { option value=(s) selected[q.status.as_deref() == Some(s.as_str())] { (s) } }
            } }
            label { "From " input type="date" name="from" value=(val(&q.from)); }
            label { "To " input type="date" name="to" value=(val(&q.to)); }
            button type="submit" { "Filter" }
        }
        (runs_table(&v, &runs))
    };
    Ok(layout("History", Some(&v), body).into_response())
}

async fn run_page(State(c): State<Shared>, v: Viewer, Path(id): Path<i64>) -> PageResult {
    v.caller.need(ToolRight::Read).or_page(&v)?;
    let (r, files, log) = c.app().store.run(id).await.or_page(&v)?;
    let params: Vec<String> = r.params.iter().map(ToString::to_string).collect();
    let facts = [
        ("Trigger", r.trigger.clone()),
        (
            "Started by",
            r.started_by.as_ref().map(ToString::to_string).unwrap_or_default(),
        ),
        ("Parameters", params.join(", ")),
        ("Started", v.when(r.started_at)),
        ("Ended", r.ended_at.map(|t| v.when(t)).unwrap_or_default()),
        ("Script hash", r.script_hash.clone()),
    ];
    let body = html! {
        h1 { "Run " (r.id) ": " a href={"/extracts/" (r.script)} { (r.script) } " " span #run-status class={"status " (r.status)} { (r.status) } }
        @if r.status == RunStatus::Running { p .hint { "Still running; reload for the outcome." } }
        table .facts { @for (k, val) in &facts { tr { th { (k) } td { (val) } } } }
        @if let Some(e) = &r.error { p #error .error { (e) } }
        @if let Some(by) = &r.released_by { p { "Released or discarded by " (by) } }
        h2 { "Files" }
        table #files {
            tr { th { "File" } th { "Rows" } th { "Bytes" } th { "SHA-256" } th { "Destination" } th { "Remote path" } }
            @for f in &files {
                tr { td { (f.name) } td .num { (crate::format::thousands(f.rows.max(0) as u64)) } td .num { (crate::format::thousands(f.bytes.max(0) as u64)) } td { code { (f.sha256) } }
                     td { (f.destination.clone().or_else(|| f.bundled_in.as_ref().map(|z| format!("in {z}"))).unwrap_or_else(|| "NOT DELIVERED".into())) } td { (f.remote_path.clone().unwrap_or_default()) } }
            }
        }
        h2 { "Log" }
        pre .code #log { @for l in &log { (v.when(l.at)) " " (l.level) " " (l.message) "\n" } }
    };
    Ok(layout(&format!("Run {id}"), Some(&v), body).into_response())
}

async fn notifications(State(c): State<Shared>, v: Viewer) -> PageResult {
    let list = c
        .app()
        .store
        .notifications(Some(&v.caller.user), true, 200)
        .await
        .or_page(&v)?;
    let body = html! {
        h1 { "Notifications" }
        @if v.unread > 0 { (post_button(&v, "/notifications/read", "read-all", "Mark all read")) }
        table #notifications {
            tr { th { "When" } th { "Level" } th { "Script" } th { "Message" } th {} }
            @for n in &list {
                tr class=(if n.read_at.is_none() { "unread" } else { "read" }) {
                    td { (v.when(n.created_at)) }
                    td { (n.level.as_str()) }
                    td { @if let Some(s) = &n.script { a href={"/extracts/" (s)} { (s) } } }
                    td { (n.message) @if let Some(run) = n.run { " " a href={"/runs/" (run)} { "run " (run) } } }
                    td { @if n.read_at.is_none() { (post_button(&v, &format!("/notifications/{}/read", n.id), &format!("read-{}", n.id), "Mark read")) } }
                }
            }
        }
        @if list.is_empty() { p { "Nothing yet." } }
    };
    Ok(layout("Notifications", Some(&v), body).into_response())
}

async fn read_one(State(c): State<Shared>, v: Viewer, Path(id): Path<i64>, Form(f): Form<Csrf>) -> PageResult {
    v.caller.check_csrf(Some(&f.csrf)).or_page(&v)?;
    c.app().store.mark_read(id, Some(&v.caller.user)).await.or_page(&v)?;
    Ok(Redirect::to("/notifications").into_response())
}

async fn read_all(State(c): State<Shared>, v: Viewer, Form(f): Form<Csrf>) -> PageResult {
    v.caller.check_csrf(Some(&f.csrf)).or_page(&v)?;
    c.app().store.mark_all_read(Some(&v.caller.user)).await.or_page(&v)?;
    Ok(Redirect::to("/notifications").into_response())
}
