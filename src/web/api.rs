//! The JSON API under `/api/`: the console's data and actions for
//! automation. Every route but login and the OpenAPI document needs a
//! session or an API token (401 without), and each names the right it
//! needs (403 without, and nothing changes). Each handler carries its
//! OpenAPI description; [`super::openapi`] gathers them.

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{self, Caller};
use super::extracts::ExtractDetail;
use super::jobs::Job;
use super::problem::ProblemBody;
use super::{extracts, Problem, Shared};
use crate::admin::Admin;
use crate::catalog::Extract;
use crate::run::context::LogLine;
use crate::state::{ApiToken, FileRow, Notification, Right, RunFilter, RunRow, ToolRight};

/// Every API route, relative to `/api`.
pub(super) fn routes() -> Router<Shared> {
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
        .route("/users/{name}/disabled", put(set_disabled))
        .route("/users/{name}/password", put(set_password))
        .route("/changes", get(changes))
        .route("/tokens", get(tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
        .fallback(|| async { Problem::missing("there is no such API route; GET /api/openapi.json lists them") })
}

/// This document
#[utoipa::path(get, path = "/api/openapi.json", responses((status = 200, description = "The OpenAPI 3.1 document")))]
async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], super::openapi::document())
}

/// The caller, their rights and CSRF token.
#[derive(Serialize, ToSchema)]
struct Me {
    user: String,
    rights: BTreeSet<String>,
    /// Send it as `X-CSRF-Token`; absent for an API token.
    csrf: Option<String>,
}

/// The caller, their rights and CSRF token
#[utoipa::path(get, path = "/api/me", responses((status = 200, body = Me)))]
async fn me(caller: Caller) -> Json<Me> {
    Json(Me {
        user: caller.user,
        rights: Right::words(&caller.rights).into_iter().collect(),
        csrf: caller.csrf,
    })
}

/// The extract list: what `GET /api/extracts` answers.
#[derive(Serialize, ToSchema)]
struct ExtractList {
    extracts: Vec<Extract>,
}

/// The extract list: name, delivery mode, server, frequency, extract mode, stopped, last run, next run
///
/// Needs the right `read`.
#[utoipa::path(get, path = "/api/extracts", responses((status = 200, body = ExtractList), (status = 403, description = "Without the right")))]
async fn list(State(c): State<Shared>, caller: Caller) -> Result<Json<ExtractList>, Problem> {
    caller.need(ToolRight::Read)?;
    Ok(Json(ExtractList {
        extracts: crate::catalog::list_cached(&c.app(), &c.catalog).await?,
    }))
}

/// One extract: header, source, destinations, recent runs, changes
///
/// Needs the right `read`.
#[utoipa::path(get, path = "/api/extracts/{id}", params(("id" = String, Path, description = "The script id")),
    responses((status = 200, body = ExtractDetail), (status = 403, description = "Without the right")))]
async fn one(State(c): State<Shared>, caller: Caller, Path(id): Path<String>) -> Result<Json<ExtractDetail>, Problem> {
    caller.need(ToolRight::Read)?;
    Ok(Json(extracts::detail(&c.app(), &caller, &id).await?))
}

#[derive(Deserialize, ToSchema)]
struct NewScript {
    /// Its id: the file name without `.rhai`.
    id: String,
    source: String,
}

/// A script's new text.
#[derive(Deserialize, ToSchema)]
struct Source {
    source: String,
}

/// The script a request made or changed.
#[derive(Serialize, ToSchema)]
struct Created {
    id: String,
}

/// Create a script (it must compile)
///
/// Needs the right `add`.
#[utoipa::path(post, path = "/api/extracts", request_body = NewScript,
    responses((status = 201, body = Created), (status = 403, description = "Without the right")))]
async fn create(
    State(c): State<Shared>,
    caller: Caller,
    Json(s): Json<NewScript>,
) -> Result<(StatusCode, Json<Created>), Problem> {
    let id = extracts::create(&c.app(), &caller, &s.id, &s.source).await?;
    Ok((StatusCode::CREATED, Json(Created { id: id.to_string() })))
}

#[derive(Serialize, ToSchema)]
struct Saved {
    id: String,
    saved: bool,
}

/// Save a new version (refused with file:line when it does not compile; 422)
///
/// Needs the right `write`.
#[utoipa::path(put, path = "/api/extracts/{id}", params(("id" = String, Path, description = "The script id")), request_body = Source,
    responses((status = 200, body = Saved), (status = 403, description = "Without the right")))]
async fn save(
    State(c): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    Json(s): Json<Source>,
) -> Result<Json<Saved>, Problem> {
    extracts::save(&c.app(), &caller, &id, &s.source).await?;
    Ok(Json(Saved { id, saved: true }))
}

#[derive(Serialize, ToSchema)]
struct Deleted {
    id: String,
    deleted: bool,
    /// Where ferry kept a copy of the deleted script.
    #[schema(value_type = String)]
    copy_kept_at: std::path::PathBuf,
}

/// Delete the script (a copy is kept in the work folder)
///
/// Needs the right `delete`.
#[utoipa::path(delete, path = "/api/extracts/{id}", params(("id" = String, Path, description = "The script id")),
    responses((status = 200, body = Deleted), (status = 403, description = "Without the right")))]
async fn remove(State(c): State<Shared>, caller: Caller, Path(id): Path<String>) -> Result<Json<Deleted>, Problem> {
    let copy_kept_at = extracts::delete(&c.app(), &caller, &id).await?;
    Ok(Json(Deleted {
        id,
        deleted: true,
        copy_kept_at,
    }))
}

/// A long action started; follow it at `status_url`.
#[derive(Serialize, ToSchema)]
struct Accepted {
    job: u64,
    status_url: String,
}

fn accepted(job: u64) -> (StatusCode, Json<Accepted>) {
    (
        StatusCode::ACCEPTED,
        Json(Accepted {
            job,
            status_url: format!("/api/jobs/{job}"),
        }),
    )
}

/// Test Extract: build the files, deliver and keep nothing; returns a job whose result holds columns, first rows and counts
///
/// Needs the right `run`.
#[utoipa::path(post, path = "/api/extracts/{id}/test", params(("id" = String, Path, description = "The script id")),
    responses((status = 202, body = Accepted), (status = 403, description = "Without the right")))]
async fn test(
    State(c): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    Ok(accepted(extracts::start_test(&c, &caller, &id)?))
}

/// Test Connection: the 1-byte file to each destination; returns a job
///
/// Needs the right `run`.
#[utoipa::path(post, path = "/api/extracts/{id}/test-connection", params(("id" = String, Path, description = "The script id")),
    responses((status = 202, body = Accepted), (status = 403, description = "Without the right")))]
async fn test_connection(
    State(c): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    Ok(accepted(extracts::start_connection(&c, &caller, &id)?))
}

/// Run Extract now (409 when it is already running); returns a job whose result holds the run id
///
/// Needs the right `run`.
#[utoipa::path(post, path = "/api/extracts/{id}/run", params(("id" = String, Path, description = "The script id")),
    responses((status = 202, body = Accepted), (status = 403, description = "Without the right")))]
async fn run(
    State(c): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    Ok(accepted(extracts::start_run(&c, &caller, &id).await?))
}

/// Whether a script's automated runs are stopped now.
#[derive(Serialize, ToSchema)]
struct Stopped {
    id: String,
    stopped: bool,
}

/// Stop automated runs
///
/// Needs the right `write`.
#[utoipa::path(post, path = "/api/extracts/{id}/stop", params(("id" = String, Path, description = "The script id")),
    responses((status = 200, body = Stopped), (status = 403, description = "Without the right")))]
async fn stop(State(c): State<Shared>, caller: Caller, Path(id): Path<String>) -> Result<Json<Stopped>, Problem> {
    extracts::stop_start(&c.app(), &caller, &id, true).await?;
    Ok(Json(Stopped { id, stopped: true }))
}

/// Start automated runs again
///
/// Needs the right `write`.
#[utoipa::path(post, path = "/api/extracts/{id}/start", params(("id" = String, Path, description = "The script id")),
    responses((status = 200, body = Stopped), (status = 403, description = "Without the right")))]
async fn start(State(c): State<Shared>, caller: Caller, Path(id): Path<String>) -> Result<Json<Stopped>, Problem> {
    extracts::stop_start(&c.app(), &caller, &id, false).await?;
    Ok(Json(Stopped { id, stopped: false }))
}

/// A long action's state, progress and result
///
/// Needs the right `read`.
#[utoipa::path(get, path = "/api/jobs/{id}", params(("id" = u64, Path, description = "The job id")),
    responses((status = 200, body = Job), (status = 403, description = "Without the right")))]
async fn job(State(c): State<Shared>, caller: Caller, Path(id): Path<u64>) -> Result<Json<Job>, Problem> {
    caller.need(ToolRight::Read)?;
    let job = c.jobs.get(id).ok_or_else(|| {
        Problem::missing(format!(
            "there is no job {id} (jobs are forgotten when ferry serve restarts; history keeps the runs)"
        ))
    })?;
    Ok(Json(job))
}

/// History filters, as query parameters.
#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct HistoryQuery {
    /// Only this script's runs.
    pub script: Option<String>,
    /// Only runs with this status (`succeeded`, `failed`, `held`, ...).
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
    pub(super) fn filter(&self) -> Result<RunFilter, Problem> {
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

/// Runs, newest first.
#[derive(Serialize, ToSchema)]
struct RunList {
    runs: Vec<RunRow>,
}

/// History, newest first
///
/// `from` and `to` take a day (2026-09-01, `to` inclusive) or an RFC 3339 time. Needs the right `read`.
#[utoipa::path(get, path = "/api/runs", params(HistoryQuery),
    responses((status = 200, body = RunList), (status = 403, description = "Without the right")))]
async fn runs(
    State(c): State<Shared>,
    caller: Caller,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<RunList>, Problem> {
    caller.need(ToolRight::Read)?;
    Ok(Json(RunList {
        runs: c.app().store.runs_matching(&q.filter()?).await?,
    }))
}

/// One run in full.
#[derive(Serialize, ToSchema)]
struct RunDetail {
    run: RunRow,
    files: Vec<FileRow>,
    log: Vec<LogLine>,
}

/// One run: files, destinations, error and full log
///
/// Needs the right `read`.
#[utoipa::path(get, path = "/api/runs/{id}", params(("id" = i64, Path, description = "The run id")),
    responses((status = 200, body = RunDetail), (status = 403, description = "Without the right")))]
async fn run_detail(State(c): State<Shared>, caller: Caller, Path(id): Path<i64>) -> Result<Json<RunDetail>, Problem> {
    caller.need(ToolRight::Read)?;
    let (run, files, log) = c.app().store.run(id).await?;
    Ok(Json(RunDetail { run, files, log }))
}

/// Which notifications to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct NotificationQuery {
    /// Read ones too.
    #[serde(default)]
    all: bool,
}

/// The caller's notifications.
#[derive(Serialize, ToSchema)]
struct NotificationList {
    unread: usize,
    notifications: Vec<Notification>,
}

/// The caller's notifications (unread only unless all=true) and the unread count
#[utoipa::path(get, path = "/api/notifications", params(NotificationQuery), responses((status = 200, body = NotificationList)))]
async fn notifications(
    State(c): State<Shared>,
    caller: Caller,
    Query(q): Query<NotificationQuery>,
) -> Result<Json<NotificationList>, Problem> {
    let notifications = c.app().store.notifications(Some(&caller.user), q.all, 200).await?;
    let unread = notifications.iter().filter(|n| n.read_at.is_none()).count();
    Ok(Json(NotificationList { unread, notifications }))
}

/// A notification marked read.
#[derive(Serialize, ToSchema)]
struct MarkedRead {
    id: i64,
    was_unread: bool,
}

/// Mark one of the caller's notifications read
#[utoipa::path(post, path = "/api/notifications/{id}/read", params(("id" = i64, Path, description = "The notification id")),
    responses((status = 200, body = MarkedRead)))]
async fn read_notification(
    State(c): State<Shared>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<MarkedRead>, Problem> {
    let was_unread = c.app().store.mark_read(id, Some(&caller.user)).await?;
    Ok(Json(MarkedRead { id, was_unread }))
}

/// A user as the users endpoint shows them.
#[derive(Serialize, ToSchema)]
struct UserView {
    name: String,
    display_name: Option<String>,
    email: Option<String>,
    groups: Vec<String>,
    /// Tool rights, direct and through groups.
    rights: Vec<String>,
    /// Turned off: cannot sign in, tokens refused.
    disabled: bool,
}

#[derive(Serialize, ToSchema)]
struct UserList {
    users: Vec<UserView>,
}

/// Users with their groups and rights
///
/// Needs the right `manage_users`.
#[utoipa::path(get, path = "/api/users", responses((status = 200, body = UserList), (status = 403, description = "Without the right")))]
async fn users(State(c): State<Shared>, caller: Caller) -> Result<Json<UserList>, Problem> {
    caller.need(ToolRight::ManageUsers)?;
    let app = c.app();
    let mut users = Vec::new();
    for u in app.store.users().await? {
        let rights = Right::words(&app.store.tool_rights(&u.name).await?);
        users.push(UserView {
            name: u.name,
            display_name: u.display_name,
            email: u.email,
            groups: u.groups,
            rights,
            disabled: u.disabled,
        });
    }
    Ok(Json(UserList { users }))
}

/// A user to add.
#[derive(Deserialize, ToSchema)]
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

/// The user a request made.
#[derive(Serialize, ToSchema)]
struct UserName {
    name: String,
}

/// Add a user
///
/// Needs the right `manage_users`.
#[utoipa::path(post, path = "/api/users", request_body = NewUser,
    responses((status = 201, body = UserName), (status = 403, description = "Without the right")))]
async fn add_user(
    State(c): State<Shared>,
    caller: Caller,
    Json(u): Json<NewUser>,
) -> Result<(StatusCode, Json<UserName>), Problem> {
    caller.need(ToolRight::ManageUsers)?;
    let app = c.app();
    let user = crate::admin::NewUser {
        name: u.name.clone(),
        display_name: u.display_name,
        email: u.email,
        groups: u.groups,
        rights: u.rights,
        password: u.password,
    };
    Admin::new(&app, caller.started_by()).add_user(&user).await?;
    Ok((StatusCode::CREATED, Json(UserName { name: u.name })))
}

#[derive(Serialize, ToSchema)]
struct Removed {
    name: String,
    removed: bool,
}

/// Remove a user (their sessions and tokens end)
///
/// Needs the right `manage_users`.
#[utoipa::path(delete, path = "/api/users/{name}", params(("name" = String, Path, description = "The user name")),
    responses((status = 200, body = Removed), (status = 403, description = "Without the right")))]
async fn remove_user(
    State(c): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Removed>, Problem> {
    caller.need(ToolRight::ManageUsers)?;
    Admin::new(&c.app(), caller.started_by()).remove_user(&name).await?;
    Ok(Json(Removed { name, removed: true }))
}

/// A user's direct rights, replaced as a whole.
#[derive(Deserialize, ToSchema)]
struct Rights {
    rights: Vec<String>,
}

/// A user's rights after a change.
#[derive(Serialize, ToSchema)]
struct UserRights {
    name: String,
    /// Tool rights, direct and through groups.
    rights: BTreeSet<String>,
}

/// Replace a user's direct rights
///
/// Needs the right `manage_users`.
#[utoipa::path(put, path = "/api/users/{name}/rights", params(("name" = String, Path, description = "The user name")), request_body = Rights,
    responses((status = 200, body = UserRights), (status = 403, description = "Without the right")))]
async fn set_rights(
    State(c): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
    Json(r): Json<Rights>,
) -> Result<Json<UserRights>, Problem> {
    caller.need(ToolRight::ManageUsers)?;
    let app = c.app();
    Admin::new(&app, caller.started_by())
        .set_rights(&name, &r.rights)
        .await?;
    let rights = Right::words(&app.store.tool_rights(&name).await?).into_iter().collect();
    Ok(Json(UserRights { name, rights }))
}

/// Whether a user is turned off.
#[derive(Deserialize, Serialize, ToSchema)]
struct Disabled {
    disabled: bool,
}

/// A user's state after turning them off or on.
#[derive(Serialize, ToSchema)]
struct UserDisabled {
    name: String,
    disabled: bool,
    /// False when the user already was in that state.
    changed: bool,
}

/// Turn a user off (sessions end, tokens refused) or back on
///
/// Needs the right `manage_users`; nobody can disable themselves.
#[utoipa::path(put, path = "/api/users/{name}/disabled", params(("name" = String, Path, description = "The user name")), request_body = Disabled,
    responses((status = 200, body = UserDisabled), (status = 403, description = "Without the right")))]
async fn set_disabled(
    State(c): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
    Json(d): Json<Disabled>,
) -> Result<Json<UserDisabled>, Problem> {
    caller.need(ToolRight::ManageUsers)?;
    let changed = Admin::new(&c.app(), caller.started_by())
        .set_disabled(&name, d.disabled)
        .await?;
    Ok(Json(UserDisabled {
        name,
        disabled: d.disabled,
        changed,
    }))
}

/// A new password for a user.
#[derive(Deserialize, ToSchema)]
struct NewPassword {
    /// At least 8 characters.
    password: String,
}

#[derive(Serialize, ToSchema)]
struct PasswordSet {
    name: String,
    /// Always true: their open sessions have ended.
    sessions_ended: bool,
}

/// Set or reset a user's password (their open sessions end)
///
/// Needs the right `manage_users`.
#[utoipa::path(put, path = "/api/users/{name}/password", params(("name" = String, Path, description = "The user name")), request_body = NewPassword,
    responses((status = 200, body = PasswordSet), (status = 403, description = "Without the right")))]
async fn set_password(
    State(c): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
    Json(p): Json<NewPassword>,
) -> Result<Json<PasswordSet>, Problem> {
    caller.need(ToolRight::ManageUsers)?;
    Admin::new(&c.app(), caller.started_by())
        .set_password(&name, &p.password)
        .await?;
    Ok(Json(PasswordSet {
        name,
        sessions_ended: true,
    }))
}

/// One change to people, groups, rights or tokens.
#[derive(Serialize, ToSchema)]
struct ChangeView {
    id: i64,
    at: DateTime<Utc>,
    /// Who made it and from where.
    by: crate::state::StartedBy,
    action: crate::state::AdminAction,
    /// The user or group changed.
    subject: String,
    /// The right, group or token, where there is one.
    detail: Option<String>,
}

/// Recorded changes, newest first.
#[derive(Serialize, ToSchema)]
struct ChangeList {
    changes: Vec<ChangeView>,
}

/// Who changed which user, group, right or token (the latest 200)
///
/// Needs the right `manage_users`.
#[utoipa::path(get, path = "/api/changes", responses((status = 200, body = ChangeList), (status = 403, description = "Without the right")))]
async fn changes(State(c): State<Shared>, caller: Caller) -> Result<Json<ChangeList>, Problem> {
    caller.need(ToolRight::ManageUsers)?;
    let changes = c
        .app()
        .store
        .people_changes(200)
        .await?
        .into_iter()
        .map(|ch| ChangeView {
            id: ch.id,
            at: ch.at,
            by: ch.by,
            action: ch.action,
            subject: ch.subject,
            detail: ch.detail,
        })
        .collect();
    Ok(Json(ChangeList { changes }))
}

/// API tokens, never their text.
#[derive(Serialize, ToSchema)]
struct TokenList {
    tokens: Vec<ApiToken>,
}

/// API tokens (the caller's; all for manage_users); never their text
#[utoipa::path(get, path = "/api/tokens", responses((status = 200, body = TokenList)))]
async fn tokens(State(c): State<Shared>, caller: Caller) -> Result<Json<TokenList>, Problem> {
    let whose = if caller.may(ToolRight::ManageUsers) {
        None
    } else {
        Some(caller.user.as_str())
    };
    let tokens = c.app().store.tokens(whose).await?;
    Ok(Json(TokenList { tokens }))
}

/// A token to make.
#[derive(Deserialize, ToSchema)]
struct NewToken {
    /// What it is for, so people know which one to revoke.
    label: String,
}

/// A token just made: the only time its text is shown.
#[derive(Serialize, ToSchema)]
struct MadeToken {
    id: i64,
    token: String,
    note: String,
}

/// Create an API token for the caller; its text is returned once
#[utoipa::path(post, path = "/api/tokens", request_body = NewToken, responses((status = 201, body = MadeToken)))]
async fn create_token(
    State(c): State<Shared>,
    caller: Caller,
    Json(t): Json<NewToken>,
) -> Result<(StatusCode, Json<MadeToken>), Problem> {
    let app = c.app();
    let (id, token) = Admin::new(&app, caller.started_by())
        .create_token(&caller.user, &t.label)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(MadeToken {
            id,
            token,
            note: "shown once: store it now".into(),
        }),
    ))
}

#[derive(Serialize, ToSchema)]
struct Revoked {
    id: i64,
    revoked: bool,
}

/// Revoke a token (the caller's own; any for manage_users)
#[utoipa::path(delete, path = "/api/tokens/{id}", params(("id" = i64, Path, description = "The token id")),
    responses((status = 200, body = Revoked)))]
async fn revoke_token(State(c): State<Shared>, caller: Caller, Path(id): Path<i64>) -> Result<Json<Revoked>, Problem> {
    let whose = if caller.may(ToolRight::ManageUsers) {
        None
    } else {
        Some(caller.user.as_str())
    };
    if !Admin::new(&c.app(), caller.started_by())
        .revoke_token(id, whose)
        .await?
    {
        return Err(Problem::missing(format!(
            "there is no token {id} of yours; GET /api/tokens lists them"
        )));
    }
    Ok(Json(Revoked { id, revoked: true }))
}

/// The routes' descriptions, gathered for [`super::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        openapi,
        auth::api_login,
        auth::api_logout,
        me,
        list,
        create,
        one,
        save,
        remove,
        test,
        test_connection,
        run,
        stop,
        start,
        job,
        runs,
        run_detail,
        notifications,
        read_notification,
        users,
        add_user,
        remove_user,
        set_rights,
        set_disabled,
        set_password,
        changes,
        tokens,
        create_token,
        revoke_token
    ),
    components(schemas(ProblemBody))
)]
pub(super) struct Routes;
