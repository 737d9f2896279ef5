//! The second factor's pages: the code step of the login (a second form
//! that carries a short-lived pending-login token, never the password),
//! setting a factor up from the account page or, when `require_totp` is
//! on, during a first login, and the recovery codes shown once.
//!
//! The QR code is drawn here as inline SVG from the `qrcode` crate's
//! modules: the content security policy allows no script and no `data:`
//! images, and inline SVG needs neither.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::CookieJar;
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::layout;
use super::{csrf_field, login_form, post_button, safe_next, Csrf, OrPage, PageResult, Viewer};
use crate::state::{Enrolment, FactorState, Store};
use crate::web::auth::{self, NextStep};
use crate::web::{Problem, Shared};

/// How long the code step may take after the password.
const PENDING_MINUTES: i64 = 5;

/// The second factor's routes.
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/login/code", post(login_code))
        .route("/login/enrol", post(login_enrol))
        .route("/account/totp", get(enrol_page).post(enrol_start))
        .route("/account/totp/confirm", post(enrol_confirm))
}

/// What follows a right password on the login page: the session, the code
/// form, or (under `require_totp`) setting a factor up first.
pub(super) async fn after_password(c: &Shared, ip: IpAddr, jar: CookieJar, user: &str, next: &str) -> Response {
    let step = match auth::next_step(c, user).await {
        Ok(step) => step,
        Err(p) => return refused(c, next, p),
    };
    let pending = |c: Shared, user: String| async move {
        c.app()
            .store
            .open_pending_login(&user, chrono::Duration::minutes(PENDING_MINUTES))
            .await
    };
    match step {
        NextStep::Session => match auth::open_session(c, ip, user).await {
            Ok((cookie, _)) => (jar.add(cookie), Redirect::to(next)).into_response(),
            Err(p) => refused(c, next, p),
        },
        NextStep::Code => match pending(c.clone(), user.to_string()).await {
            Ok(token) => code_page(&token, next, None, StatusCode::OK),
            Err(e) => refused(c, next, e.into()),
        },
        NextStep::Enrol => {
            let store = c.app().store.clone();
            let enrolment = match store.totp_enrolling(user).await {
                Ok(Some(e)) => Ok(e),
                Ok(None) => store.totp_begin(user).await,
                Err(e) => Err(e),
            };
            match (enrolment, pending(c.clone(), user.to_string()).await) {
                (Ok(e), Ok(token)) => enrol_at_login_page(&token, next, &e, None, StatusCode::OK),
                (Err(e), _) | (_, Err(e)) => refused(c, next, e.into()),
            }
        }
    }
}

/// The login form again, with why.
fn refused(c: &Shared, next: &str, p: Problem) -> Response {
    (p.status, layout("Log in", None, login_form(c, next, Some(&p.message)))).into_response()
}

/// The code step's form: the pending token and where to go, never the password.
fn code_page(token: &str, next: &str, error: Option<&str>, status: StatusCode) -> Response {
    let body = html! {
        h1 { "Your code" }
        @if let Some(e) = error { p #error .error { (e) } }
        form method="post" action="/login/code" .login {
            input type="hidden" name="token" value=(token);
            input type="hidden" name="next" value=(next);
            label { "The 6-digit code your authenticator app shows, or a recovery code"
                input #code type="text" name="code" autocomplete="one-time-code" inputmode="text" required autofocus; }
            button #verify type="submit" { "Log in" }
        }
        p .hint { "Lost your phone and your recovery codes? An administrator removes the second factor with "
                  code { "ferry users totp-reset NAME" } "." }
    };
    (status, layout("Your code", None, body)).into_response()
}

/// The fields of the code step.
#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    code: String,
}

/// The user a pending login's token stands for, or the login form again.
async fn pending_user(c: &Shared, f: &CodeForm, next: &str) -> Result<String, Response> {
    match c.app().store.pending_login(&f.token).await {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(refused(
            c,
            next,
            Problem::new(
                StatusCode::UNAUTHORIZED,
                format!("this login took longer than {PENDING_MINUTES} minutes or was already used; log in again"),
            ),
        )),
        Err(e) => Err(refused(c, next, e.into())),
    }
}

async fn login_code(
    State(c): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    Form(f): Form<CodeForm>,
) -> Response {
    let next = safe_next(&f.next).to_string();
    let user = match pending_user(&c, &f, &next).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if let Err(p) = auth::check_code(&c, peer.ip(), &user, &f.code).await {
        return code_page(&f.token, &next, Some(&p.message), p.status);
    }
    if let Err(e) = c.app().store.close_pending_login(&f.token).await {
        return refused(&c, &next, e.into());
    }
    match auth::open_session(&c, peer.ip(), &user).await {
        Ok((cookie, _)) => (jar.add(cookie), Redirect::to(&next)).into_response(),
        Err(p) => refused(&c, &next, p),
    }
}

/// The QR code of an `otpauth://` URL as inline SVG: one path of dark
/// modules on a light square with the four-module quiet zone scanners need.
pub(super) fn qr_svg(url: &str) -> Markup {
    let Ok(code) = qrcode::QrCode::new(url.as_bytes()) else {
        return html! { p .error { "The QR code cannot be drawn; type the key below into your app." } };
    };
    let width = code.width();
    let quiet = 4;
    let mut d = String::new();
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == qrcode::Color::Dark {
            d.push_str(&format!("M{} {}h1v1h-1z", i % width + quiet, i / width + quiet));
        }
    }
    let side = width + 2 * quiet;
    html! {
        svg #qr .qr xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 " (side) " " (side)} role="img"
            aria-labelledby="qr-title" shape-rendering="crispEdges" {
            title #qr-title { "QR code of your second factor's key, for your authenticator app" }
            rect .light width=(side) height=(side) {}
            path .dark d=(d) {}
        }
    }
}

/// The QR code, the key as text, and the confirming form's fields.
fn enrolment_body(e: &Enrolment) -> Markup {
    html! {
        p { "Scan this with an authenticator app (Google Authenticator, Microsoft Authenticator, 1Password, FreeOTP, …), "
            "then type the 6-digit code it shows to turn the second factor on." }
        (qr_svg(&e.url))
        p { "No camera? Type this key into the app (time-based, 6 digits, 30 seconds): " }
        p { code #totp-secret .secret { (e.secret) } }
    }
}

fn enrol_at_login_page(token: &str, next: &str, e: &Enrolment, error: Option<&str>, status: StatusCode) -> Response {
    let body = html! {
        h1 { "Set up your second factor" }
        p { "This console asks every password login for a code from an authenticator app. Set yours up to go on." }
        @if let Some(err) = error { p #error .error { (err) } }
        (enrolment_body(e))
        form method="post" action="/login/enrol" .login {
            input type="hidden" name="token" value=(token);
            input type="hidden" name="next" value=(next);
            label { "Code from the app" input #totp-code type="text" name="code" autocomplete="one-time-code" required; }
            button #totp-confirm type="submit" { "Turn on and log in" }
        }
    };
    (status, layout("Set up your second factor", None, body)).into_response()
}

/// The recovery codes, shown once.
fn recovery_body(codes: &[String], go_on: &str) -> Markup {
    html! {
        h1 { "Your second factor is on" }
        p { "Keep these recovery codes somewhere safe, away from your phone: each one logs you in once "
            "instead of a code. They are shown only now; ferry keeps only their hashes." }
        ul #recovery-codes { @for code in codes { li { code { (code) } } } }
        p { a .button #continue href=(go_on) { "Continue" } }
    }
}

async fn login_enrol(
    State(c): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    Form(f): Form<CodeForm>,
) -> Response {
    let next = safe_next(&f.next).to_string();
    let user = match pending_user(&c, &f, &next).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let store = c.app().store.clone();
    if let Err(p) = auth::not_blocked(&c, &user, peer.ip()) {
        return enrol_again(&c, &user, &f.token, &next, p).await;
    }
    let codes = match store.totp_confirm(&user, &f.code).await {
        Ok(Some(codes)) => codes,
        Ok(None) => {
            c.logins.failed(&user, peer.ip());
            return enrol_again(&c, &user, &f.token, &next, wrong_code()).await;
        }
        Err(e) => return refused(&c, &next, e.into()),
    };
    tracing::info!(user = ?user, "Second factor turned on at login.");
    if let Err(e) = store.close_pending_login(&f.token).await {
        return refused(&c, &next, e.into());
    }
    match auth::open_session(&c, peer.ip(), &user).await {
        Ok((cookie, _)) => (
            jar.add(cookie),
            layout("Recovery codes", None, recovery_body(&codes, &next)),
        )
            .into_response(),
        Err(p) => refused(&c, &next, p),
    }
}

/// The set-up form of the login again, with why.
async fn enrol_again(c: &Shared, user: &str, token: &str, next: &str, p: Problem) -> Response {
    match c.app().store.totp_enrolling(user).await {
        Ok(Some(e)) => enrol_at_login_page(token, next, &e, Some(&p.message), p.status),
        _ => refused(c, next, p),
    }
}

fn wrong_code() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "that is not the code the app shows now; check the phone's clock is set automatically and type the newest code",
    )
}

/// The account page's part: whether the factor is on, and how to set it up.
pub(super) async fn section(c: &Shared, v: &Viewer) -> Result<Markup, Problem> {
    let state = c.app().store.totp_state(&v.caller.user).await?;
    let groups = c
        .app()
        .store
        .user(&v.caller.user)
        .await?
        .map(|u| u.groups)
        .unwrap_or_default();
    let required = c.settings.require_totp.applies_to(&groups);
    Ok(html! {
        h2 { "Second factor" }
        @match state {
            FactorState::On { since, recovery_left } => {
                p #totp-state { "On since " (v.when(since)) ": every password login asks for a code from your authenticator app. "
                    (recovery_left) " recovery codes left." }
                p .hint { "Lost your phone? An administrator removes the factor with " code { "ferry users totp-reset " (v.caller.user) } "; then set it up again here." }
            }
            FactorState::Enrolling => {
                p #totp-state { "Being set up: not asked for until a first code confirms it." }
                p { a .button #totp-continue href="/account/totp" { "Continue setting up" } }
            }
            FactorState::Off => {
                p #totp-state { "Off." @if required { " This console requires one: you set it up at your next login." } }
                (post_button(v, "/account/totp", "totp-start", "Set up a second factor"))
            }
        }
    })
}

async fn enrol_start(State(c): State<Shared>, v: Viewer, Form(f): Form<Csrf>) -> PageResult {
    v.caller.check_csrf(Some(&f.csrf)).or_page(&v)?;
    c.app().store.totp_begin(&v.caller.user).await.or_page(&v)?;
    tracing::info!(user = ?v.caller.user, "Second factor set-up begun.");
    Ok(Redirect::to("/account/totp").into_response())
}

fn enrol_form(v: &Viewer, e: &Enrolment, error: Option<&str>) -> Markup {
    html! {
        h1 { "Set up your second factor" }
        @if let Some(err) = error { p #error .error { (err) } }
        (enrolment_body(e))
        form method="post" action="/account/totp/confirm" .login {
            (csrf_field(v))
            label { "Code from the app" input #totp-code type="text" name="code" autocomplete="one-time-code" required; }
            button #totp-confirm type="submit" { "Turn on" }
        }
        p { a href="/account" { "Back to your account" } }
    }
}

async fn enrol_page(State(c): State<Shared>, v: Viewer) -> PageResult {
    match c.app().store.totp_enrolling(&v.caller.user).await.or_page(&v)? {
        Some(e) => Ok(layout("Second factor", Some(&v), enrol_form(&v, &e, None)).into_response()),
        None => Ok(Redirect::to("/account").into_response()),
    }
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

async fn enrol_confirm(
    State(c): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    v: Viewer,
    Form(f): Form<ConfirmForm>,
) -> PageResult {
    v.caller.check_csrf(Some(&f.csrf)).or_page(&v)?;
    let user = v.caller.user.clone();
    let store = c.app().store.clone();
    if let Err(p) = auth::not_blocked(&c, &user, peer.ip()) {
        return confirm_again(&store, &v, p).await;
    }
    if let Some(codes) = store.totp_confirm(&user, &f.code).await.or_page(&v)? {
        tracing::info!(user = ?user, "Second factor turned on.");
        Ok(layout("Recovery codes", Some(&v), recovery_body(&codes, "/account")).into_response())
    } else {
        c.logins.failed(&user, peer.ip());
        confirm_again(&store, &v, wrong_code()).await
    }
}

/// The account's set-up form again, with why.
async fn confirm_again(store: &Store, v: &Viewer, p: Problem) -> PageResult {
    match store.totp_enrolling(&v.caller.user).await.or_page(v)? {
        Some(e) => Err((
            p.status,
            layout("Second factor", Some(v), enrol_form(v, &e, Some(&p.message))),
        )
            .into_response()
            .into()),
        None => Err(Redirect::to("/account").into_response().into()),
    }
}
