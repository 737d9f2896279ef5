//! Who is asking: a session cookie (browsers) or an API token
//! (automation), the tool rights that come with the user, the CSRF check
//! on every state-changing request made with a cookie, and the login
//! rate limit.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::Json;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::{Deserialize, Serialize};

use super::{Problem, Shared};
use crate::state::{FactorCheck, Right, StartedBy, ToolRight, Via};

/// The session cookie's name (HttpOnly, SameSite=Strict).
pub(super) const COOKIE: &str = "ferry_session";
/// The header an API client sends its CSRF token in.
pub(super) const CSRF_HEADER: &str = "x-csrf-token";
/// Failed logins allowed per user name in [`WINDOW`].
pub const LOGIN_LIMIT: usize = 5;
/// Failed logins allowed per address in [`WINDOW`]: higher, because a
/// school's office shares one address.
pub const ADDRESS_LIMIT: usize = 4 * LOGIN_LIMIT;
/// The window failed logins are counted in.
const WINDOW: Duration = Duration::from_secs(300);

/// A logged-in user and what they may do.
#[derive(Clone, Debug)]
pub(super) struct Caller {
    pub user: String,
    /// Rights, direct and through groups.
    pub rights: BTreeSet<Right>,
    /// The session's CSRF token; `None` for an API token, which a browser
    /// never sends on its own and so needs none.
    pub csrf: Option<String>,
}

impl Caller {
    /// The caller as history records who started a run.
    pub(super) fn started_by(&self) -> StartedBy {
        StartedBy::Person {
            user: self.user.clone(),
            via: if self.csrf.is_some() { Via::Console } else { Via::Api },
        }
    }

    /// True when the user holds `right`.
    pub(super) fn may(&self, right: ToolRight) -> bool {
        self.rights.contains(&Right::Tool(right))
    }

    /// Refuses with 403 unless the user holds `right`.
    pub(super) fn need(&self, right: ToolRight) -> Result<(), Problem> {
        if self.may(right) {
            Ok(())
        } else {
            Err(Problem::forbidden(&self.user, right.as_str()))
        }
    }

    /// Refuses with 403 unless `sent` is the session's CSRF token.
    pub(super) fn check_csrf(&self, sent: Option<&str>) -> Result<(), Problem> {
        match (&self.csrf, sent) {
            (None, _) => Ok(()),
            (Some(ours), Some(sent)) if constant_eq(ours.as_bytes(), sent.as_bytes()) => Ok(()),
            _ => Err(Problem::new(
                StatusCode::FORBIDDEN,
                "the request has no valid CSRF token; reload the page (API clients: send the X-CSRF-Token header that POST /api/login returned)",
            )),
        }
    }
}

/// Compares without stopping at the first difference.
fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Finds the caller from the `Authorization: Bearer` header or the session cookie.
pub(super) async fn authenticate(parts: &Parts, console: &Shared) -> Result<Caller, Problem> {
    let app = console.app();
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(token) = bearer {
        let Some(user) = app.store.token_user(token.trim()).await? else {
            return Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "the API token is not valid (revoked, or its user was removed); `ferry tokens create USER` makes a new one",
            ));
        };
        let rights = app.store.tool_rights(&user).await?;
        return Ok(Caller {
            user,
            rights,
            csrf: None,
        });
    }
    let jar = CookieJar::from_headers(&parts.headers);
    let Some(token) = jar.get(COOKIE).map(|c| c.value().to_string()) else {
        return Err(Problem::unauthenticated());
    };
    let Some(session) = app.store.session(&token).await? else {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "your session has ended (logged out, expired or the user was removed); log in again",
        ));
    };
    let rights = app.store.tool_rights(&session.user).await?;
    Ok(Caller {
        user: session.user,
        rights,
        csrf: Some(session.csrf),
    })
}

/// The API's caller: a state-changing request made with a session cookie
/// must carry the session's CSRF token in `X-CSRF-Token`.
impl FromRequestParts<Shared> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, console: &Shared) -> Result<Self, Problem> {
        let caller = authenticate(parts, console).await?;
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            caller.check_csrf(sent)?;
        }
        Ok(caller)
    }
}

/// Counts failed logins per user name and per address.
#[derive(Default)]
pub(super) struct Limiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl Limiter {
    fn keys(user: &str, ip: IpAddr) -> [String; 2] {
        [format!("user:{}", user.to_lowercase()), format!("ip:{ip}")]
    }

    /// `Some(seconds to wait)` when the user name or address has failed too often.
    pub(super) fn blocked(&self, user: &str, ip: IpAddr) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let mut wait = None;
        for (key, limit) in Self::keys(user, ip).into_iter().zip([LOGIN_LIMIT, ADDRESS_LIMIT]) {
            if let Some(v) = map.get_mut(&key) {
                v.retain(|t| now.duration_since(*t) < WINDOW);
                if v.len() >= limit {
                    let free = WINDOW.saturating_sub(now.duration_since(v[0])).as_secs() + 1;
                    wait = Some(wait.map_or(free, |w: u64| w.max(free)));
                }
            }
        }
        wait
    }

    /// Records a failed login.
    pub(super) fn failed(&self, user: &str, ip: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 10_000 {
            map.clear();
        }
        for key in Self::keys(user, ip) {
            map.entry(key).or_default().push(Instant::now());
        }
    }

    /// Forgets the user name's failures after a good login.
    pub(super) fn succeeded(&self, user: &str) {
        let mut map = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.remove(&format!("user:{}", user.to_lowercase()));
    }
}

/// A login request.
#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct Login {
    pub user: String,
    pub password: String,
    /// The current code of the user's authenticator app, or one of their
    /// recovery codes: needed when the user has a second factor.
    #[serde(default)]
    pub code: Option<String>,
}

/// What a good login returns.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct LoggedIn {
    pub user: String,
    /// Their tool rights, so the client can hide what it may not do.
    pub rights: BTreeSet<String>,
    /// Send this in `X-CSRF-Token` with every state-changing request.
    pub csrf: String,
    /// When the session ends.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Refuses with 429 while the user name or address has failed too often.
pub(super) fn not_blocked(console: &Shared, user: &str, ip: IpAddr) -> Result<(), Problem> {
    match console.logins.blocked(user, ip) {
        Some(wait) => Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many failed logins for this user or address; try again in {wait} seconds"),
        )),
        None => Ok(()),
    }
}

/// The password step of every local login, under the rate limit: a wrong
/// password counts against the user name and the address.
pub(super) async fn check_password(console: &Shared, ip: IpAddr, user: &str, password: &str) -> Result<(), Problem> {
    not_blocked(console, user, ip)?;
    if !console.app().store.check_password(user, password).await? {
        console.logins.failed(user, ip);
        // Debug-quoted: a name holding a line break cannot forge a log line.
        tracing::warn!(user = ?user, address = %ip, "Failed console login.");
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "wrong user name or password (an administrator sets passwords with `ferry users password NAME`)",
        ));
    }
    Ok(())
}

/// The second-factor step: a wrong or reused code counts against the same
/// limit as a wrong password, so codes cannot be guessed faster than
/// passwords.
pub(super) async fn check_code(console: &Shared, ip: IpAddr, user: &str, code: &str) -> Result<FactorCheck, Problem> {
    not_blocked(console, user, ip)?;
    let check = console.app().store.totp_check(user, code).await?;
    if !check.passed() {
        console.logins.failed(user, ip);
        tracing::warn!(user = ?user, address = %ip, outcome = ?check, "Failed second-factor code at console login.");
        let why = match check {
            FactorCheck::Reused => "this code was already used; wait for the next one your app shows",
            _ => "wrong code; give the 6-digit code your authenticator app shows now, or one of your recovery codes",
        };
        return Err(Problem::new(StatusCode::UNAUTHORIZED, why));
    }
    if let FactorCheck::Recovery { left } = check {
        tracing::info!(user = ?user, left, "Recovery code used at console login.");
    }
    Ok(check)
}

/// What the console asks for after a right password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NextStep {
    /// Nothing: the session opens.
    Session,
    /// The code of the user's second factor.
    Code,
    /// `require_totp` covers the user, who has no second factor: set one up.
    Enrol,
}

/// What follows a right password for `user`.
pub(super) async fn next_step(console: &Shared, user: &str) -> Result<NextStep, Problem> {
    let store = console.app().store.clone();
    if store.totp_on(user).await? {
        return Ok(NextStep::Code);
    }
    let groups = store.user(user).await?.map(|u| u.groups).unwrap_or_default();
    if console.settings.require_totp.applies_to(&groups) {
        Ok(NextStep::Enrol)
    } else {
        Ok(NextStep::Session)
    }
}

/// Opens a session for a user who passed every step: the cookie to set and
/// the answer.
pub(super) async fn open_session(
    console: &Shared,
    ip: IpAddr,
    user: &str,
) -> Result<(Cookie<'static>, LoggedIn), Problem> {
    console.logins.succeeded(user);
    let app = console.app();
    let ttl = chrono::Duration::from_std(console.settings.session).unwrap_or(chrono::Duration::hours(8));
    let session = app.store.open_session(user, ttl).await?;
    let rights = app.store.tool_rights(user).await?;
    tracing::info!(user = ?user, address = %ip, "Console login.");
    Ok((
        session_cookie(console, session.token),
        LoggedIn {
            user: user.to_string(),
            rights: Right::words(&rights).into_iter().collect(),
            csrf: session.csrf,
            expires_at: session.expires_at,
        },
    ))
}

/// Checks a login in one request (the API's): the password, then the code
/// when the user has a second factor; opens a session.
pub(super) async fn log_in(
    console: &Shared,
    ip: IpAddr,
    login: &Login,
) -> Result<(Cookie<'static>, LoggedIn), Problem> {
    check_password(console, ip, &login.user, &login.password).await?;
    match next_step(console, &login.user).await? {
        NextStep::Session => {}
        NextStep::Code => match login.code.as_deref() {
            Some(code) => {
                check_code(console, ip, &login.user, code).await?;
            }
            None => {
                return Err(Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "this user signs in with a second factor: send `code` with the 6-digit code of their authenticator app (or a recovery code)",
                ))
            }
        },
        NextStep::Enrol => {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "console.require_totp is on and this user has no second factor yet: log in once on the console's login page to set one up",
            ))
        }
    }
    open_session(console, ip, &login.user).await
}

/// The session cookie for a session just opened: the one a password
/// login sets, which single sign-on sets too.
pub(super) fn session_cookie(console: &Shared, token: String) -> Cookie<'static> {
    Cookie::build((COOKIE, token))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(console.settings.tls.is_some())
        .build()
}

/// Refuses a password login when `[console.oidc] local_passwords = false`.
pub(super) fn passwords_allowed(console: &Shared) -> Result<(), Problem> {
    match &console.settings.oidc {
        Some(o) if !o.local_passwords => Err(Problem::new(
            StatusCode::FORBIDDEN,
            format!(
                "passwords do not log in to this console (console.oidc.local_passwords = false); sign in with {} instead",
                o.label
            ),
        )),
        _ => Ok(()),
    }
}

/// Ends the session the cookie names; the cookie to clear it.
pub(super) async fn log_out(console: &Shared, jar: &CookieJar) -> Result<Cookie<'static>, Problem> {
    if let Some(c) = jar.get(COOKIE) {
        console.app().store.close_session(c.value()).await?;
    }
    Ok(Cookie::build((COOKIE, "")).path("/").removal().build())
}

/// Log in: sets the session cookie and returns the CSRF token
///
/// Five failed logins per user name in five minutes, or twenty per address,
/// are answered 429 until the window passes. A user with a second factor
/// sends `code` too; a wrong or reused code counts as a failed login.
#[utoipa::path(post, path = "/api/login", request_body = Login, responses((status = 200, body = LoggedIn)))]
pub(super) async fn api_login(
    State(console): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    Json(login): Json<Login>,
) -> Result<(CookieJar, Json<LoggedIn>), Problem> {
    passwords_allowed(&console)?;
    let (cookie, answer) = log_in(&console, peer.ip(), &login).await?;
    Ok((jar.add(cookie), Json(answer)))
}

/// Log out: ends the session
#[utoipa::path(post, path = "/api/logout", responses((status = 204, description = "The session ended")))]
pub(super) async fn api_logout(
    State(console): State<Shared>,
    _caller: Caller,
    jar: CookieJar,
) -> Result<(CookieJar, StatusCode), Problem> {
    let gone = log_out(&console, &jar).await?;
    Ok((jar.add(gone), StatusCode::NO_CONTENT))
}
