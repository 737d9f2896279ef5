//! The console's hardening: security headers on every response, a
//! same-origin check on logins and state changes, JSON problems for the
//! framework's own refusals, log lines a user name cannot forge, and a
//! script name given with its `.rhai` ending.

use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, ORIGIN};
use serde_json::{json, Value};

use crate::harness::console::{Auth, Console, PASSWORD, ROSTER};

fn header<'a>(r: &'a reqwest::blocking::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("{} has no {name} header", r.url()))
}

#[test]
fn every_response_carries_the_security_headers() {
    let c = Console::start();
    let admin = c.login("admin");
    let cases: [(&str, &str, &Auth); 20] = [
        ("GET", "/", &Auth::None),
        ("GET", "/login", &Auth::None),
        ("GET", "/", &admin),
        ("GET", "/history", &admin),
        ("GET", "/extracts/roster", &admin),
        ("GET", "/timeline", &admin),
        ("GET", "/console.css", &Auth::None),
        ("GET", "/api/extracts", &admin),
        ("GET", "/api/extracts", &Auth::None),
        ("GET", "/api/no-such-route", &admin),
        ("GET", "/api/openapi.json", &Auth::None),
        ("GET", "/account", &admin),
        ("GET", "/notifications", &admin),
        ("GET", "/users", &admin),
        ("GET", "/users/reader", &admin),
        ("GET", "/users/reader/remove", &admin),
        ("GET", "/extracts/roster/delete", &admin),
        ("GET", "/api/users", &admin),
        ("GET", "/api/changes", &admin),
        ("GET", "/api/me", &admin),
    ];
    for (method, path, auth) in cases {
        let r = c.send(method, path, auth, None);
        let csp = header(&r, "content-security-policy");
        assert!(
            csp.contains("default-src 'none'")
                && csp.contains("frame-ancestors 'none'")
                && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(header(&r, "x-frame-options"), "DENY", "{path}");
        assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&r, "referrer-policy"), "same-origin", "{path}");
        let cache = header(&r, CACHE_CONTROL.as_str());
        if path == "/console.css" {
            assert!(cache.starts_with("public"), "{path}: {cache}");
            assert!(header(&r, CONTENT_TYPE.as_str()).starts_with("text/css"));
        } else {
            assert_eq!(cache, "no-store", "{path}");
        }
        assert!(
            r.headers().get("strict-transport-security").is_none(),
            "no HSTS over plain HTTP"
        );
    }
    // The pages need no inline style: the sheet is linked.
    let (_, page) = c.page("/login", &Auth::None);
    assert!(
        page.contains("<link rel=\"stylesheet\" href=\"/console.css\">") && !page.contains("<style"),
        "{page}"
    );
}

#[test]
fn a_cross_site_login_or_change_is_refused() {
    let c = Console::start();
    let client = c.client();
    let login = |origin: Option<&str>, site: Option<&str>| {
        let mut r = client
            .post(format!("{}/login", c.url))
            .form(&[("user", "admin"), ("password", PASSWORD)]);
        if let Some(o) = origin {
            r = r.header(ORIGIN, o);
        }
        if let Some(s) = site {
            r = r.header("sec-fetch-site", s);
        }
        r.send().unwrap()
    };
    for (origin, site) in [
        (Some("https://evil.example"), None),
        (None, Some("cross-site")),
        (Some("null"), None),
    ] {
        let r = login(origin, site);
        assert_eq!(r.status(), 403, "{origin:?} {site:?}");
        assert!(
            r.headers().get("set-cookie").is_none(),
            "no session for a cross-site login"
        );
    }
    let r = login(Some(&c.url), Some("same-origin"));
    assert_eq!(r.status(), 303, "the console's own login form logs in");

    let Auth::Session { cookie, csrf } = c.login("admin") else {
        unreachable!()
    };
    let run = |origin: &str| {
        client
            .post(format!("{}/api/extracts/roster/stop", c.url))
            .header(COOKIE, cookie.as_str())
            .header("x-csrf-token", csrf.clone().unwrap())
            .header(ORIGIN, origin)
            .send()
            .unwrap()
    };
    let refused = run("https://evil.example");
    assert_eq!(refused.status(), 403);
    let v: Value = refused.json().unwrap();
    assert!(v["error"].as_str().unwrap().contains("another site"), "{v}");
    assert_eq!(run(&c.url).status(), 200, "from the console itself");
}

#[test]
fn framework_rejections_are_json_problems() {
    let c = Console::start();
    let admin = c.login("admin");
    let Auth::Session { cookie, csrf } = &admin else {
        unreachable!()
    };
    let client = c.client();
    let with_session = |r: reqwest::blocking::RequestBuilder| {
        r.header(COOKIE, cookie.as_str())
            .header("x-csrf-token", csrf.clone().unwrap())
            .send()
            .unwrap()
    };
    let cases = [
        (
            "malformed JSON",
            client
                .post(format!("{}/api/login", c.url))
                .header(CONTENT_TYPE, "application/json")
                .body("{not json")
                .send()
                .unwrap(),
        ),
        (
            "no content type",
            client.post(format!("{}/api/login", c.url)).body("{}").send().unwrap(),
        ),
        (
            "a bad query string",
            with_session(client.get(format!("{}/api/runs?limit=many", c.url))),
        ),
        (
            "an unknown route",
            with_session(client.get(format!("{}/api/nothing/here", c.url))),
        ),
        (
            "a wrong method",
            with_session(client.delete(format!("{}/api/me", c.url))),
        ),
    ];
    for (what, r) in cases {
        let status = r.status();
        assert!(status.is_client_error(), "{what}: {status}");
        assert!(
            header(&r, CONTENT_TYPE.as_str()).starts_with("application/json"),
            "{what}: {:?}",
            r.headers()
        );
        let v: Value = r.json().unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
        assert!(!v["error"].as_str().unwrap_or_default().is_empty(), "{what}: {v}");
    }
}

#[test]
fn a_user_name_cannot_forge_a_log_line() {
    let c = Console::start();
    let forged = "x\n2026-12-04T02:00:00Z  INFO ferry::web::auth: Console login. user=admin";
    let (s, _) = c.api(
        "POST",
        "/api/login",
        &Auth::None,
        Some(json!({"user": forged, "password": "nope"})),
    );
    assert_eq!(s, 401);
    let log = c.serve.log();
    assert!(log.contains("Failed console login."), "{log}");
    assert!(
        !log.lines()
            .any(|l| l.contains("Console login. user=admin") && !l.contains("Failed")),
        "a forged line: {log}"
    );
}

#[test]
fn a_script_named_with_its_ending_is_created_once() {
    let c = Console::start();
    let admin = c.login("admin");
    let (s, v) = c.api(
        "POST",
        "/api/extracts",
        &admin,
        Some(json!({"id": "extra.rhai", "source": ROSTER})),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["id"], "extra");
    assert!(c.project.path("scripts/extra.rhai").is_file());
    assert!(!c.project.path("scripts/extra.rhai.rhai").exists());
}

#[test]
fn unknown_rights_are_refused_with_the_known_ones() {
    let c = Console::start();
    let admin = c.login("admin");
    let (s, v) = c.api(
        "PUT",
        "/api/users/reader/rights",
        &admin,
        Some(json!({"rights": ["read", "root"]})),
    );
    assert_eq!(s, 400, "{v}");
    let e = v["error"].as_str().unwrap();
    assert!(
        e.contains("'root' is not a right; the rights are read, write, add, delete, run, manage_users, adhoc"),
        "{e}"
    );
    let (_, me) = c.api("GET", "/api/users", &admin, None);
    assert!(!me.to_string().contains("root"), "nothing was stored: {me}");
    let out = c.project.ferry(&["users", "grant", "reader", "rooot"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("'rooot' is not a right; the rights are read,"),
        "{}",
        out.stderr
    );
    let out = c.project.ferry(&["groups", "grant", "staff", "rooot"]);
    assert!(out.stderr.contains("'rooot' is not a right"), "{}", out.stderr);
}
