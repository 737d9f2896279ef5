//! What every response carries and every state change must pass before a
//! handler sees it: security headers (the pages run no script and are
//! never framed, and nothing that carries student rows stays in a shared
//! desktop's browser cache), a same-origin check on every request that
//! changes state with a browser's cookie (login included, so a cross-site
//! form cannot log a victim into an attacker's account), and JSON problems
//! for the API's framework rejections.

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{Problem, Shared};

/// No script, no plugins, no framing; styles and forms only from the
/// console itself.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every response; `Cache-Control: no-store`
/// unless the handler chose a policy (the style sheet may be cached).
pub(super) async fn secure(State(console): State<Shared>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    let set = |h: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "same-origin");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    if console.settings.tls.is_some() {
        set(h, header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    response
}

/// Refuses a state-changing request a browser sent from another site: its
/// `Sec-Fetch-Site` is not `same-origin` (or `none`, typed by the user), or
/// its `Origin` is not this console's host. Requests with neither header
/// (API clients, `curl`) pass; they are checked by their token or CSRF
/// token as before.
pub(super) async fn same_origin(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    if let Some(why) = cross_site(request.headers()) {
        tracing::warn!(path = ?request.uri().path(), why, "Refused a cross-site request.");
        return Problem::new(
            StatusCode::FORBIDDEN,
            format!("the request came from another site ({why}); use the console's own pages or an API token"),
        )
        .into_response();
    }
    next.run(request).await
}

fn cross_site(headers: &HeaderMap) -> Option<&'static str> {
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        if !matches!(site, "same-origin" | "none") {
            return Some("Sec-Fetch-Site is not same-origin");
        }
    }
    if let Some(origin) = text(header::ORIGIN) {
        let host = text(header::HOST).unwrap_or_default();
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if origin == "null" || !origin_host.eq_ignore_ascii_case(host) {
            return Some("Origin is not this console");
        }
    }
    None
}

/// Turns the framework's own refusals on the API (a malformed JSON body, a
/// missing content type, a bad query string, an oversized body, an unknown
/// route or method) into the documented JSON problem, keeping their status
/// and words.
pub(super) async fn json_problems(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = to_bytes(body, 16 * 1024).await.unwrap_or_default();
    let words = String::from_utf8_lossy(&text).trim().to_string();
    let message = match (words.is_empty(), status) {
        (false, _) => words,
        (true, StatusCode::NOT_FOUND) => "there is no such API route; GET /api/openapi.json lists them".into(),
        (true, StatusCode::METHOD_NOT_ALLOWED) => {
            "this API route does not take that method; GET /api/openapi.json lists them".into()
        }
        (true, s) => s.canonical_reason().unwrap_or("request refused").to_string(),
    };
    let mut problem = Problem::new(status, message).into_response();
    for (name, value) in parts.headers.iter().filter(|(n, _)| *n == header::ALLOW) {
        problem.headers_mut().insert(name, value.clone());
    }
    problem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_same_origin_browser_may_change_state() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(header::HeaderName::from_static(k), HeaderValue::from_static(v));
            }
            h
        };
        assert_eq!(cross_site(&headers(&[])), None, "curl and API clients");
        assert_eq!(
            cross_site(&headers(&[
                ("sec-fetch-site", "same-origin"),
                ("origin", "http://c:8080"),
                ("host", "c:8080")
            ])),
            None
        );
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")])).is_some());
        assert!(cross_site(&headers(&[("origin", "https://evil.example"), ("host", "c:8080")])).is_some());
        assert!(cross_site(&headers(&[("origin", "null"), ("host", "c:8080")])).is_some());
    }
}
