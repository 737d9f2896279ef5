//! The console's pages: server-rendered HTML that works without
//! JavaScript. Forms post with the session's CSRF token in a hidden field;
//! long actions redirect to a job page that refreshes itself until the job
//! ends. maud escapes every interpolated value, so script names, source and
//! logs always render as text.
//!
//! This module holds what every page shares (who is looking, error pages,
//! forms) and the login; `extracts` the list, an extract and its actions;
//! `history` runs and notifications; `people` users, groups, rights and
//! tokens; `account` the person's own settings.

mod account;
mod chart;
mod extracts;
mod factor;
mod history;
mod layout;
mod people;
mod sso;
mod timeline;
mod trends;

pub(crate) use trends::Sparklines;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::CookieJar;
use maud::{html, Markup};
use serde::Deserialize;

use super::auth::{self, Caller};
use super::{Problem, Shared};
use layout::layout;

/// Every page route.
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/console.css", get(style))
        .route("/logout", post(logout))
        .merge(extracts::routes())
        .merge(history::routes())
        .merge(account::routes())
        .merge(people::routes())
        .merge(factor::routes())
        .merge(timeline::routes())
        .merge(sso::routes())
}

/// The style sheet: the same for everyone, so it may be cached.
async fn style() -> impl IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        layout::STYLE,
    )
}

/// A logged-in person looking at pages; without a session, the login page.
pub(super) struct Viewer {
    caller: Caller,
    unread: usize,
    /// The zone times are shown in: the person's choice on their account
    /// page, else the district's `timezone`.
    zone: chrono_tz::Tz,
}

/// Sends a visitor without a session to the login page, then back.
pub(super) struct ToLogin(Response);

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        self.0
    }
}

impl FromRequestParts<Shared> for Viewer {
    type Rejection = ToLogin;

    async fn from_request_parts(parts: &mut Parts, console: &Shared) -> Result<Self, ToLogin> {
        match auth::authenticate(parts, console).await {
            Ok(caller) => {
                let unread = console
                    .app()
                    .store
                    .unread_count(&caller.user)
                    .await
                    .map(|n| n as usize)
                    .unwrap_or(0);
                let zone = console
                    .app()
                    .store
                    .user_timezone(&caller.user)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|z| z.parse().ok())
                    .unwrap_or(console.app().settings.timezone);
                Ok(Viewer { caller, unread, zone })
            }
            Err(p) if p.status == StatusCode::UNAUTHORIZED => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(axum::http::uri::PathAndQuery::as_str)
                    .unwrap_or("/");
                let to = format!("/login?next={}", encode(next));
                Err(ToLogin(Redirect::to(&to).into_response()))
            }
            Err(p) => Err(ToLogin(error_page(None, p))),
        }
    }
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The page a refusal or failure shows: the same sentence as the CLI.
fn error_page(viewer: Option<&Viewer>, p: Problem) -> Response {
    let body = html! {
        h1 { "Not done" }
        p #error .error { (p.message) }
        p { a href="/" { "Back to the extracts" } }
    };
    (p.status, layout("Not done", viewer, body)).into_response()
}

/// A page shown instead of the one asked for (an error, a refused edit).
pub(super) struct Instead(Box<Response>);

impl IntoResponse for Instead {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<Response> for Instead {
    fn from(r: Response) -> Self {
        Instead(Box::new(r))
    }
}

type PageResult = Result<Response, Instead>;

trait OrPage<T> {
    fn or_page(self, v: &Viewer) -> Result<T, Instead>;
}

impl<T, E: Into<Problem>> OrPage<T> for Result<T, E> {
    fn or_page(self, v: &Viewer) -> Result<T, Instead> {
        self.map_err(|e| error_page(Some(v), e.into()).into())
    }
}

/// A form with nothing but the CSRF token.
#[derive(Deserialize)]
struct Csrf {
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
struct LoginForm {
    user: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// Where to go after logging in: only a path on this site. Control
/// characters are refused too: a browser drops a tab or line break from a
/// URL, so `/<TAB>/evil.example` would become `//evil.example`.
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && !next.chars().any(char::is_control) {
        next
    } else {
        "/"
    }
}

fn login_form(c: &Shared, next: &str, error: Option<&str>) -> Markup {
    let oidc = c.settings.oidc.as_ref();
    html! {
        h1 { "Log in to ferry" }
        @if let Some(e) = error { p #error .error { (e) } }
        (sso::button(oidc, next))
        @if oidc.is_none_or(|o| o.local_passwords) {
            form method="post" action="/login" .login {
                input type="hidden" name="next" value=(next);
                label { "User name" input #user type="text" name="user" autocomplete="username" required; }
                label { "Password" input #password type="password" name="password" autocomplete="current-password" required; }
                button #login type="submit" { "Log in" }
            }
            p .hint { "Accounts are made by an administrator: " code { "ferry users add NAME --right read --password-stdin" } "." }
        }
    }
}

#[derive(Deserialize)]
struct Next {
    #[serde(default)]
    next: String,
}

async fn login_page(State(c): State<Shared>, Query(n): Query<Next>) -> Markup {
    layout("Log in", None, login_form(&c, safe_next(&n.next), None))
}

async fn login(
    State(c): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(&f.next).to_string();
    if let Err(p) = auth::passwords_allowed(&c) {
        return (
            p.status,
            layout("Log in", None, login_form(&c, &next, Some(&p.message))),
        )
            .into_response();
    }
    if let Err(p) = auth::check_password(&c, peer.ip(), &f.user, &f.password).await {
        return (
            p.status,
            layout("Log in", None, login_form(&c, &next, Some(&p.message))),
        )
            .into_response();
    }
    // The second factor's step, when the user has one or must set one up.
    factor::after_password(&c, peer.ip(), jar, &f.user, &next).await
}

async fn logout(
    State(c): State<Shared>,
    v: Viewer,
    headers: HeaderMap,
    jar: CookieJar,
    Form(f): Form<Csrf>,
) -> PageResult {
    v.caller.check_csrf(Some(&f.csrf)).or_page(&v)?;
    let gone = auth::log_out(&c, &jar).await.or_page(&v)?;
    // A session that began at the provider ends there too (RP-initiated
    // logout), when the provider offers it.
    let next = sso::provider_logout(&c, &headers, &jar).await;
    let jar = sso::forget(jar.add(gone));
    Ok(match next {
        Some(page) => (jar, page).into_response(),
        None => (jar, Redirect::to("/login")).into_response(),
    })
}

fn csrf_field(v: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(v.caller.csrf.clone().unwrap_or_default()); }
}

/// A button that posts the CSRF token to `action`.
fn post_button(v: &Viewer, action: &str, id: &str, label: &str) -> Markup {
    html! {
        form .inline method="post" action=(action) {
            (csrf_field(v))
            button id=(id) type="submit" { (label) }
        }
    }
}
