//! The JSON API under `/api/`: the console's data and actions for
//! automation. Every route but login and the OpenAPI document needs a
//! session or an API token (401 without), and each names the right it
//! needs (403 without, and nothing changes). `openapi.json` describes it.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::auth::{self, Caller};
use super::{extracts, Problem, Shared};
use crate::state::RunFilter;

/// The OpenAPI 3 document, kept by hand beside the routes; a test checks
/// that every route is in it and every path in it answers.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Every API route, relative to `/api`.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/login", post(auth::api_login))
        .route("/logout", post(auth::api_logout))
        .route("/me", get(me))
        .route("/extracts", get(list).post(create))
        .route("/extracts/{id}", get(one).put(save).delete(remove))
        .route("/extracts/{id}/test", post(test))
        .route("/extracts/{id}/test-connection", post(test_connection))
        .route("/extracts/{id}/run", post(run))
        .route("/extracts/{id}/stop", post(stop))
        .route("/extracts/{id}/start", post(start))
        .route("/jobs/{id}", get(job))
        .route("/runs", get(runs))
        .route("/runs/{id}", get(run_detail))
        .route("/notifications", get(notifications))
        .route("/notifications/{id}/read", post(read_notification))
        .route("/users", get(users).post(add_user))
        .route("/users/{name}", delete(remove_user))
        .route("/users/{name}/rights", put(set_rights))
        .route("/tokens", get(tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
        .fallback(|| async { Problem::missing("there is no such API route; GET /api/openapi.json lists them") })
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn me(caller: Caller) -> Json<Value> {
    Json(json!({ "user": caller.user, "rights": caller.rights, "csrf": caller.csrf }))
}

async fn list(State(c): State<Shared>, caller: Caller) -> Result<Json<Value>, Problem> {
    caller.need("read")?;
    Ok(Json(json!({ "extracts": crate::catalog::list(&c.app()).await? })))
}

async fn one(State(c): State<Shared>, caller: Caller, Path(id): Path<String>) -> Result<Json<Value>, Problem> {
    caller.need("read")?;
    Ok(Json(
        serde_json::to_value(extracts::detail(&c.app(), &caller, &id).await?).unwrap_or_default(),
    ))
}

/// A new script.
#[derive(Deserialize)]
struct NewScript {
    id: String,
    source: String,
}

/// A script's new text.
#[derive(Deserialize)]
struct Source {
    source: String,
}

async fn create(
    State(c): State<Shared>,
    caller: Caller,
    Json(s): Json<NewScript>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let id = extracts::create(&c.app(), &caller, &s.id, &s.source).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

async fn save(
    State(c): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    Json(s): Json<Source>,
) -> Result<Json<Value>, Problem> {
    extracts::save(&c.app(), &caller, &id, &s.source).await?;
    Ok(Json(json!({ "id": id, "saved": true })))
}

async fn remove(State(c): State<Shared>, caller: Caller, Path(id): Path<String>) -> Result<Json<Value>, Problem> {
    let kept = extracts::delete(&c.app(), &caller, &id).await?;
    Ok(Json(json!({ "id": id, "deleted": true, "copy_kept_at": kept })))
}

fn accepted(job: u64) -> (StatusCode, Json<Value>) {
    (
        StatusCode::ACCEPTED,
        Json(json!({ "job": job, "status_url": format!("/api/jobs/{job}") })),
    )
}

async fn test(
    State(c): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    Ok(accepted(extracts::start_test(&c, &caller, &id).await?))
}

async fn test_connection(
    State(c): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    Ok(accepted(extracts::start_connection(&c, &caller, &id).await?))
}

async fn run(
    State(c): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    Ok(accepted(extracts::start_run(&c, &caller, &id).await?))
}

async fn stop(State(c): State<Shared>, caller: Caller, Path(id): Path<String>) -> Result<Json<Value>, Problem> {
    extracts::stop_start(&c.app(), &caller, &id, true).await?;
    Ok(Json(json!({ "id": id, "stopped": true })))
}

async fn start(State(c): State<Shared>, caller: Caller, Path(id): Path<String>) -> Result<Json<Value>, Problem> {
    extracts::stop_start(&c.app(), &caller, &id, false).await?;
    Ok(Json(json!({ "id": id, "stopped": false })))
}

async fn job(State(c): State<Shared>, caller: Caller, Path(id): Path<u64>) -> Result<Json<Value>, Problem> {
    caller.need("read")?;
    let job = c.jobs.get(id).ok_or_else(|| {
        Problem::missing(format!(
            "there is no job {id} (jobs are forgotten when ferry serve restarts; history keeps the runs)"
        ))
    })?;
    Ok(Json(serde_json::to_value(job).unwrap_or_default()))
}

/// History filters, as query parameters.
#[derive(Deserialize, Default)]
pub struct HistoryQuery {
    /// One script.
    pub script: Option<String>,
    /// One status.
    pub status: Option<String>,
    /// From this day (YYYY-MM-DD) or instant (RFC 3339).
    pub from: Option<String>,
    /// Up to this day (inclusive) or instant.
    pub to: Option<String>,
    /// At most this many (default 100).
    pub limit: Option<i64>,
}

fn instant(text: &str, name: &str, end_of_day: bool) -> Result<DateTime<Utc>, Problem> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        Problem::bad(format!(
            "{name} '{text}' is not a date like 2026-09-01 or an RFC 3339 time"
        ))
    })?;
    let day = if end_of_day { day.succ_opt().unwrap_or(day) } else { day };
    Ok(day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}

impl HistoryQuery {
    /// The store's filter; empty fields mean "any".
    pub fn filter(&self) -> Result<RunFilter, Problem> {
        let some = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        Ok(RunFilter {
            script: some(&self.script),
            status: some(&self.status),
            from: some(&self.from).map(|t| instant(&t, "from", false)).transpose()?,
            to: some(&self.to).map(|t| instant(&t, "to", true)).transpose()?,
            limit: self.limit.unwrap_or(100).clamp(1, 10_000),
        })
    }
}

async fn runs(State(c): State<Shared>, caller: Caller, Query(q): Query<HistoryQuery>) -> Result<Json<Value>, Problem> {
    caller.need("read")?;
    Ok(Json(
        json!({ "runs": c.app().store.runs_matching(&q.filter()?).await? }),
    ))
}

async fn run_detail(State(c): State<Shared>, caller: Caller, Path(id): Path<i64>) -> Result<Json<Value>, Problem> {
    caller.need("read")?;
    let (run, files, log) = c.app().store.run(id).await?;
    Ok(Json(json!({ "run": run, "files": files, "log": log })))
}

/// Which notifications to list.
#[derive(Deserialize)]
struct NotificationQuery {
    #[serde(default)]
    all: bool,
}

async fn notifications(
    State(c): State<Shared>,
    caller: Caller,
    Query(q): Query<NotificationQuery>,
) -> Result<Json<Value>, Problem> {
    let list = c.app().store.notifications(Some(&caller.user), q.all, 200).await?;
    let unread = list.iter().filter(|n| n.read_at.is_none()).count();
    Ok(Json(json!({ "unread": unread, "notifications": list })))
}

async fn read_notification(
    State(c): State<Shared>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, Problem> {
    let changed = c.app().store.mark_read(id, Some(&caller.user)).await?;
    Ok(Json(json!({ "id": id, "was_unread": changed })))
}

/// A user as the users endpoint shows them.
#[derive(Serialize)]
struct UserView {
    name: String,
    display_name: Option<String>,
    email: Option<String>,
    groups: Vec<String>,
    rights: Vec<String>,
}

async fn users(State(c): State<Shared>, caller: Caller) -> Result<Json<Value>, Problem> {
    caller.need("manage_users")?;
    let app = c.app();
    let mut out = Vec::new();
    for u in app.store.users().await? {
        let rights = app.store.tool_rights(&u.name).await?.into_iter().collect();
        out.push(UserView {
            name: u.name,
            display_name: u.display_name,
            email: u.email,
            groups: u.groups,
            rights,
        });
    }
    Ok(Json(json!({ "users": out })))
}

/// A user to add.
#[derive(Deserialize)]
struct NewUser {
    name: String,
    password: Option<String>,
    email: Option<String>,
    display_name: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    rights: Vec<String>,
}

async fn add_user(
    State(c): State<Shared>,
    caller: Caller,
    Json(u): Json<NewUser>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    caller.need("manage_users")?;
    let store = &c.app().store;
    for g in &u.groups {
        if store.group(g).await?.is_none() {
            return Err(Problem::bad(format!(
                "there is no group '{g}'; add it first with `ferry groups add {g}`"
            )));
        }
    }
    store
        .add_user(&u.name, u.display_name.as_deref(), u.email.as_deref())
        .await?;
    if let Some(p) = &u.password {
        store.set_password(&u.name, p).await?;
    }
    for g in &u.groups {
        store.add_member(g, &u.name).await?;
    }
    for r in &u.rights {
        store.grant(&u.name, r).await?;
    }
    tracing::info!(user = ?u.name, by = %caller.user, "User added from the console.");
    Ok((StatusCode::CREATED, Json(json!({ "name": u.name }))))
}

async fn remove_user(
    State(c): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, Problem> {
    caller.need("manage_users")?;
    c.app().store.remove_user(&name).await?;
    tracing::info!(user = ?name, by = %caller.user, "User removed from the console.");
    Ok(Json(json!({ "name": name, "removed": true })))
}

/// A user's direct rights, replaced as a whole.
#[derive(Deserialize)]
struct Rights {
    rights: Vec<String>,
}

async fn set_rights(
    State(c): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
    Json(r): Json<Rights>,
) -> Result<Json<Value>, Problem> {
    caller.need("manage_users")?;
    let store = &c.app().store;
    if store.user(&name).await?.is_none() {
        return Err(Problem::missing(format!("there is no user '{name}'")));
    }
    for right in &r.rights {
        c.app().check_right(right).map_err(Problem::bad)?;
    }
    let had = store.direct_rights(&name).await?;
    for old in had.iter().filter(|h| !r.rights.contains(h)) {
        store.revoke(&name, old).await?;
    }
    for new in r.rights.iter().filter(|n| !had.contains(n)) {
        store.grant(&name, new).await?;
    }
    tracing::info!(user = ?name, by = %caller.user, rights = ?r.rights, "Rights set from the console.");
    Ok(Json(json!({ "name": name, "rights": store.tool_rights(&name).await? })))
}

async fn tokens(State(c): State<Shared>, caller: Caller) -> Result<Json<Value>, Problem> {
    let whose = if caller.may("manage_users") {
        None
    } else {
        Some(caller.user.as_str())
    };
    let list = c.app().store.tokens(whose).await?;
    Ok(Json(json!({ "tokens": list })))
}

/// A token to make.
#[derive(Deserialize)]
struct NewToken {
    label: String,
}

async fn create_token(
    State(c): State<Shared>,
    caller: Caller,
    Json(t): Json<NewToken>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let (id, token) = c.app().store.create_token(&caller.user, &t.label).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "token": token, "note": "shown once: store it now" })),
    ))
}

async fn revoke_token(State(c): State<Shared>, caller: Caller, Path(id): Path<i64>) -> Result<Json<Value>, Problem> {
    let whose = if caller.may("manage_users") {
        None
    } else {
        Some(caller.user.as_str())
    };
    if !c.app().store.revoke_token(id, whose).await? {
        return Err(Problem::missing(format!(
            "there is no token {id} of yours; GET /api/tokens lists them"
        )));
    }
    Ok(Json(json!({ "id": id, "revoked": true })))
}
