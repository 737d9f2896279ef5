//! The single sign-on pages: the "Sign in with ..." button's target, which
//! sends the browser to the provider (303), the callback that opens the
//! same ferry session a password login opens, the refusal page, and the
//! provider's sign-out after ferry's own.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use maud::{html, Markup, DOCTYPE};

use super::layout::layout;
use super::{safe_next, Next};
use crate::config::OidcSettings;
use crate::web::oidc::{self, Refusal, CALLBACK_PATH, FLOW_COOKIE};
use crate::web::{auth, Shared};

/// Marks a session that began at the provider, so logging out also ends
/// the provider's session. Not a secret: at worst it sends a browser to
/// the provider's sign-out page.
pub(super) const SSO_COOKIE: &str = "ferry_sso";
/// Where the flow cookie is sent: only to the sign-in's own routes.
const FLOW_PATH: &str = "/login/oidc";

/// The sign-in routes.
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route(FLOW_PATH, get(start))
        .route(CALLBACK_PATH, get(callback))
}

/// The "Sign in with ..." button, when single sign-on is configured. A
/// link, not a form: `form-action 'self'` would stop a form's redirect to
/// the provider.
pub(super) fn button(settings: Option<&OidcSettings>, next: &str) -> Markup {
    html! {
        @if let Some(s) = settings {
            p .sso {
                a #sso .button href={(FLOW_PATH) "?next=" (super::encode(next))} { "Sign in with " (s.label) }
            }
        }
    }
}

/// This console's address as the browser reached it.
fn base_url(c: &Shared, headers: &HeaderMap) -> String {
    let scheme = if c.settings.tls.is_some() { "https" } else { "http" };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains(['/', '\\', '@', ' ']))
        .map(str::to_string)
        .unwrap_or_else(|| c.settings.listen.to_string());
    format!("{scheme}://{host}")
}

fn redirect_url(c: &Shared, settings: &OidcSettings, headers: &HeaderMap) -> String {
    match &settings.redirect_url {
        Some(u) => u.to_string(),
        None => format!("{}{CALLBACK_PATH}", base_url(c, headers)),
    }
}

/// A refusal as a page: what happened, what to do, the way back. It sets
/// no session.
fn refused(status: StatusCode, message: &str) -> Response {
    let body = html! {
        h1 { "Sign-in refused" }
        p #error .error { (message) }
        p { a #back href="/login" { "Back to the login page" } }
    };
    (status, layout("Sign-in refused", None, body)).into_response()
}

fn not_configured() -> Response {
    refused(
        StatusCode::NOT_FOUND,
        "single sign-on is not configured on this console; add [console.oidc] to ferry.toml, or log in with a password",
    )
}

/// Sends the browser to the provider's login (303) with a new flow.
async fn start(State(c): State<Shared>, headers: HeaderMap, Query(n): Query<Next>, jar: CookieJar) -> Response {
    let Some(settings) = c.settings.oidc.as_ref() else {
        return not_configured();
    };
    let redirect = redirect_url(&c, settings, &headers);
    match oidc::begin(&c.sign_ins, settings, redirect, safe_next(&n.next).to_string()).await {
        Ok((url, flow)) => {
            // Lax: the provider sends the browser back with a cross-site
            // top-level GET, which a Strict cookie would miss. The flow
            // itself ends on the server after ten minutes.
            let cookie = Cookie::build((FLOW_COOKIE, flow))
                .path(FLOW_PATH)
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(c.settings.tls.is_some())
                .build();
            (jar.add(cookie), Redirect::to(url.as_str())).into_response()
        }
        Err(r) => {
            tracing::warn!(reason = r.kind(), error = ?r.to_string(), "Single sign-on did not start.");
            refused(r.status(), &r.to_string())
        }
    }
}

/// The provider's answer: a session and the page the person asked for, or
/// a refusal page and no session.
async fn callback(
    State(c): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    Query(answer): Query<oidc::Callback>,
) -> Response {
    let Some(settings) = c.settings.oidc.as_ref() else {
        return not_configured();
    };
    let flow = jar.get(FLOW_COOKIE).map(|k| k.value().to_string());
    let jar = jar.add(Cookie::build((FLOW_COOKIE, "")).path(FLOW_PATH).removal().build());
    let app = c.app();
    let signed_in = match oidc::finish(&c.sign_ins, settings, &app.store, flow.as_deref(), answer).await {
        Ok(s) => s,
        Err(r) => return refusal(&jar, peer, r),
    };
    let ttl = chrono::Duration::from_std(c.settings.session).unwrap_or(chrono::Duration::hours(8));
    let session = match app.store.open_session(&signed_in.user, ttl).await {
        Ok(s) => s,
        Err(e) => return refusal(&jar, peer, Refusal::Store(e.into())),
    };
    tracing::info!(user = ?signed_in.user, email = ?signed_in.email, address = %peer.ip(), "Console login through the identity provider.");
    let marker = Cookie::build((SSO_COOKIE, "1"))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(c.settings.tls.is_some())
        .build();
    let jar = jar.add(auth::session_cookie(&c, session.token)).add(marker);
    (jar, signed_in_page(&signed_in.next)).into_response()
}

fn refusal(jar: &CookieJar, peer: SocketAddr, r: Refusal) -> Response {
    tracing::warn!(reason = r.kind(), error = ?r.to_string(), address = %peer.ip(), "Refused a sign-in through the identity provider.");
    (jar.clone(), refused(r.status(), &r.to_string())).into_response()
}

/// A page that moves on to `to` at once (`meta refresh`, no script), with
/// a link for the same.
fn moving_on(title: &str, to: &str, link: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="refresh" content={"0;url=" (to)};
                title { (title) " — ferry" }
                link rel="stylesheet" href="/console.css";
            }
            body {
                main {
                    h1 { (title) }
                    p { a #continue href=(to) { (link) } }
                }
            }
        }
    }
}

/// After the callback. Not a redirect: the browser came here from the
/// provider's site, and a `SameSite=Strict` session cookie is only sent on
/// a navigation this site starts.
fn signed_in_page(next: &str) -> Markup {
    moving_on("Signed in", next, "Continue to the console")
}

/// After ferry's own log-out: the page that takes the browser on to the
/// provider's sign-out, when the session began there and the provider
/// advertises one. A page rather than a redirect, because the log-out is a
/// form and the CSP's `form-action 'self'` stops a form's redirect to
/// another site.
pub(super) async fn provider_logout(c: &Shared, headers: &HeaderMap, jar: &CookieJar) -> Option<Markup> {
    let settings = c.settings.oidc.as_ref()?;
    jar.get(SSO_COOKIE)?;
    let after = format!("{}/login", base_url(c, headers));
    let url = oidc::end_session_url(settings, after).await?;
    let link = format!("Sign out of {} too", settings.label);
    Some(moving_on("Logged out", url.as_str(), &link))
}

/// Clears the single sign-on marker.
pub(super) fn forget(jar: CookieJar) -> CookieJar {
    jar.add(Cookie::build((SSO_COOKIE, "")).path("/").removal().build())
}

#[cfg(test)]
mod tests {
    use super::super::safe_next;

    #[test]
    fn the_page_after_sign_in_is_on_this_site() {
        assert_eq!(safe_next("/history?script=roster"), "/history?script=roster");
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "https://evil.example",
            "/\\evil.example",
            "",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
    }
}
