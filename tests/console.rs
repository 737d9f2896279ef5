//! The console's JSON API and pages, against a real `ferry serve`: every
//! endpoint refuses without a login (401) and without its right (403,
//! changing nothing); CSRF, path traversal, HTML escaping, the login rate
//! limit, API tokens, and the long actions end to end.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::console::{session_cookie, Auth, Console, PASSWORD, RIGHTS, ROSTER};
use crate::harness::daemon::eventually;

/// What a refused request must not change: scripts, stopped states, runs, users, tokens.
fn snapshot(c: &Console, admin: &Auth) -> Value {
    let mut scripts: Vec<(String, String)> = std::fs::read_dir(c.project.path("scripts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap_or_default()))
        .collect();
    scripts.sort();
    let (_, list) = c.api("GET", "/api/extracts", admin, None);
    let stopped: Vec<Value> = list["extracts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["suspended"].clone())
        .collect();
    let (_, runs) = c.api("GET", "/api/runs?limit=1000", admin, None);
    let (_, users) = c.api("GET", "/api/users", admin, None);
    let (_, tokens) = c.api("GET", "/api/tokens", admin, None);
    json!({ "scripts": scripts, "stopped": stopped, "runs": runs["runs"].as_array().unwrap().len(),
            "users": users, "tokens": tokens })
}

fn job_of(v: &Value) -> u64 {
    v["job"].as_u64().unwrap_or_else(|| panic!("no job in {v}"))
}

#[test]
fn every_endpoint_needs_a_login_and_its_right() {
    let c = Console::start();
    let admin = c.login("admin");
    let edited = ROSTER.replace("Nightly roster", "Nightly roster v2");
    // (method, path, body, right, success status)
    let cases: Vec<(&str, String, Option<Value>, &str, u16)> = vec![
        ("GET", "/api/extracts".into(), None, "read", 200),
        ("GET", "/api/extracts/roster".into(), None, "read", 200),
        (
            "POST",
            "/api/extracts".into(),
            Some(json!({"id": "made", "source": ROSTER})),
            "add",
            201,
        ),
        (
            "PUT",
            "/api/extracts/roster".into(),
            Some(json!({"source": edited})),
            "write",
            200,
        ),
        ("POST", "/api/extracts/roster/stop".into(), None, "write", 200),
        ("POST", "/api/extracts/roster/start".into(), None, "write", 200),
        ("POST", "/api/extracts/roster/test".into(), None, "run", 202),
        ("POST", "/api/extracts/roster/test-connection".into(), None, "run", 202),
        ("POST", "/api/extracts/roster/run".into(), None, "run", 202),
        ("GET", "/api/runs".into(), None, "read", 200),
        ("GET", "/api/users".into(), None, "manage_users", 200),
        (
            "POST",
            "/api/users".into(),
            Some(json!({"name": "newbie", "password": PASSWORD, "rights": ["read"]})),
            "manage_users",
            201,
        ),
        (
            "PUT",
            "/api/users/newbie/rights".into(),
            Some(json!({"rights": ["read", "run"]})),
            "manage_users",
            200,
        ),
        ("DELETE", "/api/users/newbie".into(), None, "manage_users", 200),
        ("DELETE", "/api/extracts/made".into(), None, "delete", 200),
    ];
    let lacking: std::collections::HashMap<&str, Auth> =
        RIGHTS.iter().map(|r| (*r, c.login(&format!("no_{r}")))).collect();
    let mut last_job = None;
    for (method, path, body, right, ok) in &cases {
        let (s, v) = c.api(method, path, &Auth::None, body.clone());
        assert_eq!(s, 401, "{method} {path} without a login: {v}");
        assert!(v["error"].as_str().unwrap().contains("log in"), "{v}");
        let before = snapshot(&c, &admin);
        let (s, v) = c.api(method, path, &lacking[right], body.clone());
        assert_eq!(s, 403, "{method} {path} without '{right}': {v}");
        assert!(v["error"].as_str().unwrap().contains(&format!("'{right}'")), "{v}");
        assert_eq!(
            snapshot(&c, &admin),
            before,
            "{method} {path} refused, yet something changed"
        );
        let (s, v) = c.api(method, path, &admin, body.clone());
        assert_eq!(s, *ok, "{method} {path} as admin: {v}");
        if s == 202 {
            let job = c.wait_job(&admin, job_of(&v));
            last_job = Some(job["id"].as_u64().unwrap());
        }
    }
    // The read-only endpoints that take an id.
    let job = last_job.unwrap();
    let (_, runs) = c.api("GET", "/api/runs", &admin, None);
    let run = runs["runs"][0]["id"].as_i64().unwrap();
    for (path, right) in [
        (format!("/api/jobs/{job}"), "read"),
        (format!("/api/runs/{run}"), "read"),
    ] {
        assert_eq!(c.api("GET", &path, &Auth::None, None).0, 401, "{path}");
        assert_eq!(c.api("GET", &path, &lacking[right], None).0, 403, "{path}");
        assert_eq!(c.api("GET", &path, &admin, None).0, 200, "{path}");
    }
    // What needs a login but no right.
    for (method, path) in [
        ("GET", "/api/me"),
        ("GET", "/api/notifications"),
        ("GET", "/api/tokens"),
        ("POST", "/api/logout"),
    ] {
        assert_eq!(c.api(method, path, &Auth::None, None).0, 401, "{method} {path}");
        let reader = c.login("reader");
        let (s, _) = c.api(method, path, &reader, None);
        assert!(s == 200 || s == 204, "{method} {path} as reader: {s}");
    }
    // The edit was saved and recorded with who made it.
    let (_, d) = c.api("GET", "/api/extracts/roster", &admin, None);
    assert!(d["source"].as_str().unwrap().contains("Nightly roster v2"));
    let actions: Vec<(&str, &str)> = d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ch| (ch["action"].as_str().unwrap(), ch["user"].as_str().unwrap()))
        .collect();
    for a in ["edited", "stopped", "started"] {
        assert!(actions.contains(&(a, "admin")), "{a} by admin in {actions:?}");
    }
    assert!(!c.project.path("scripts/made.rhai").exists());
    assert_eq!(
        std::fs::read_dir(c.project.path(".ferry/work/deleted-scripts"))
            .unwrap()
            .count(),
        1,
        "the deleted script is kept"
    );
}

#[test]
fn openapi_documents_every_route_and_every_documented_route_answers() {
    let c = Console::start();
    let (s, doc) = c.api("GET", "/api/openapi.json", &Auth::None, None);
    assert_eq!(s, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let source = std::fs::read_to_string(crate::harness::repo().join("src/web/api.rs")).unwrap();
    let routes: Vec<&str> = source
        .split(".route(\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap())
        .collect();
    assert!(routes.len() >= 15, "{routes:?}");
    for r in &routes {
        assert!(
            paths.contains_key(&format!("/api{r}")),
            "route /api{r} is not in openapi.json"
        );
    }
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let concrete = path.replace("{id}", "1").replace("{name}", "someone");
            let body = (method != "get").then(|| json!({}));
            let (s, v) = c.api(&method.to_uppercase(), &concrete, &Auth::None, body);
            let public = ops[method]["security"] == json!([]);
            if public {
                assert_ne!(s, 404, "{method} {path}: {v}");
            } else {
                assert_eq!(s, 401, "{method} {path} without a login: {v}");
            }
        }
    }
}

/// The check every console test's answers go through (see the harness)
/// does catch an answer that breaks its schema, a status the document does
/// not list, and a body where none is documented.
#[test]
fn the_api_answer_check_catches_answers_that_break_the_document() {
    let c = Console::start();
    let reader = c.login("reader");
    let (s, list) = c.api("GET", "/api/extracts", &reader, None);
    assert_eq!(s, 200);
    let good = json!({ "method": "get", "path": "/api/extracts", "status": 200, "body": list });
    assert_eq!(c.check_answers(vec![good.clone()]), Ok(()));
    let mut no_name = list.clone();
    no_name["extracts"][0].as_object_mut().unwrap().remove("name");
    let mut bad_status = list.clone();
    bad_status["extracts"][0]["last_run"] =
        json!({ "id": 1, "status": "exploded", "started_at": "2026-12-01T02:30:00Z" });
    let cases = [
        (
            json!({ "method": "get", "path": "/api/extracts", "status": 200, "body": no_name }),
            "'name' is a required property",
        ),
        (
            json!({ "method": "get", "path": "/api/extracts", "status": 200, "body": bad_status }),
            "'exploded'",
        ),
        (
            json!({ "method": "get", "path": "/api/runs/7", "status": 200, "body": { "runs": [] } }),
            "'run' is a required property",
        ),
        (
            json!({ "method": "post", "path": "/api/logout", "status": 204, "body": { "ok": true } }),
            "documented without a body",
        ),
        (
            json!({ "method": "get", "path": "/api/nowhere", "status": 404, "body": { "message": "x" } }),
            "'error' is a required property",
        ),
    ];
    for (answer, want) in cases {
        let err = c
            .check_answers(vec![good.clone(), answer.clone()])
            .expect_err(&answer.to_string());
        assert!(err.contains(want), "{answer}: {err}");
    }
}

#[test]
fn csrf_is_required_on_every_state_changing_request_made_with_a_cookie() {
    let c = Console::start();
    let Auth::Session { cookie, .. } = c.login("admin") else {
        unreachable!()
    };
    let no_csrf = Auth::Session {
        cookie: cookie.clone(),
        csrf: None,
    };
    let wrong = Auth::Session {
        cookie,
        csrf: Some("forged".into()),
    };
    let before = std::fs::read_to_string(c.project.path("scripts/roster.rhai")).unwrap();
    for auth in [&no_csrf, &wrong] {
        for (method, path, body) in [
            (
                "PUT",
                "/api/extracts/roster",
                Some(json!({"source": "//! name = \"x\"\n"})),
            ),
            ("POST", "/api/extracts/roster/run", None),
            ("POST", "/api/extracts/roster/stop", None),
            ("DELETE", "/api/extracts/roster", None),
            ("POST", "/api/users", Some(json!({"name": "evil"}))),
        ] {
            let (s, v) = c.api(method, path, auth, body);
            assert_eq!(s, 403, "{method} {path}: {v}");
            assert!(v["error"].as_str().unwrap().contains("CSRF"), "{v}");
        }
    }
    assert_eq!(
        std::fs::read_to_string(c.project.path("scripts/roster.rhai")).unwrap(),
        before
    );
    // Page forms: the token is a hidden field; without it, refused.
    let admin = c.login("admin");
    for path in [
        "/extracts/roster/run",
        "/extracts/roster/test",
        "/extracts/roster/test-connection",
        "/extracts/roster/stop",
        "/extracts/roster/start",
        "/extracts/roster/delete",
        "/extracts/roster/edit",
        "/extracts/new",
        "/notifications/read",
        "/notifications/1/read",
        "/logout",
    ] {
        let r = c.form(path, &admin, &[("source", "x"), ("id", "y")], false);
        assert_eq!(r.status(), 403, "{path} without the csrf field");
        assert!(r.text().unwrap().contains("CSRF"), "{path}");
    }
    assert_eq!(
        std::fs::read_to_string(c.project.path("scripts/roster.rhai")).unwrap(),
        before
    );
    assert!(!c.project.path("scripts/y.rhai").exists());
    let (_, runs) = c.api("GET", "/api/runs", &admin, None);
    assert!(runs["runs"].as_array().unwrap().is_empty(), "nothing ran: {runs}");
    // An API token needs no CSRF token: a browser never sends it on its own.
    let (s, t) = c.api("POST", "/api/tokens", &admin, Some(json!({"label": "ci"})));
    assert_eq!(s, 201, "{t}");
    let token = Auth::Token(t["token"].as_str().unwrap().into());
    assert_eq!(c.api("POST", "/api/extracts/roster/stop", &token, None).0, 200);
}

#[test]
fn path_traversal_in_script_names_is_refused() {
    let c = Console::start();
    let admin = c.login("admin");
    std::fs::write(c.project.path("secret.rhai"), "//! name = \"outside\"\n").unwrap();
    for bad in [
        "..%2Fsecret",
        "..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        ".hidden",
        "a%00b",
        "a%5C..%5Cb",
    ] {
        let (s, v) = c.api("GET", &format!("/api/extracts/{bad}"), &admin, None);
        assert_eq!(s, 400, "GET {bad}: {v}");
        assert!(v["error"].as_str().unwrap().contains("is not a script name"), "{v}");
        let (s, _) = c.api(
            "PUT",
            &format!("/api/extracts/{bad}"),
            &admin,
            Some(json!({"source": ROSTER})),
        );
        assert_eq!(s, 400, "PUT {bad}");
        let (s, _) = c.api("DELETE", &format!("/api/extracts/{bad}"), &admin, None);
        assert_eq!(s, 400, "DELETE {bad}");
        let (s, page) = c.page(&format!("/extracts/{bad}"), &admin);
        assert_eq!(s, 400, "page {bad}");
        assert!(page.contains("is not a script name"));
    }
    for bad in ["../evil", "/tmp/evil", "a/b", "..\\evil"] {
        let (s, v) = c.api(
            "POST",
            "/api/extracts",
            &admin,
            Some(json!({"id": bad, "source": ROSTER})),
        );
        assert_eq!(s, 400, "create {bad}: {v}");
    }
    assert!(c.project.path("secret.rhai").exists());
    assert!(!c.project.path("evil.rhai").exists() && !std::path::Path::new("/tmp/evil.rhai").exists());
}

#[test]
fn names_source_and_logs_are_escaped() {
    let c = Console::start();
    c.project.script(
        "xss",
        "//! name = \"<script>alert(1)</script>\"\n//! schedule = \"none\"\n// </pre><img src=x onerror=alert(2)>\nlet f = csv(query(\"live\", \"SELECT name FROM students\"), #{ name: \"x<i>\" });\ndeliver(f, \"out\");\n",
    );
    let admin = c.login("admin");
    eventually(Duration::from_secs(20), "the script to load", || {
        c.page("/", &admin).1.contains("alert(1)")
    });
    for page in ["/", "/extracts/xss"] {
        let (s, html) = c.page(page, &admin);
        assert_eq!(s, 200);
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{page}");
        assert!(!html.contains("<script>alert(1)"), "{page} holds raw script");
        assert!(!html.contains("<img src=x"), "{page} holds raw img");
    }
    // A failing test: its error (which quotes the bad name) and the run log are escaped.
    let (_, v) = c.api("POST", "/api/extracts/xss/test", &admin, None);
    let job = c.wait_job(&admin, job_of(&v));
    assert_eq!(job["state"], "failed", "{job}");
    let (_, html) = c.page(&format!("/jobs/{}", job["id"]), &admin);
    assert!(
        html.contains("x&lt;i&gt;") && !html.contains("x<i>"),
        "job page: {html}"
    );
    let (_, html) = c.page(&format!("/runs/{}", job["result"]["run"]), &admin);
    assert!(
        html.contains("x&lt;i&gt;") && !html.contains("x<i>"),
        "run page: {html}"
    );
    // A preview of data holding markup.
    let fixed = std::fs::read_to_string(c.project.path("scripts/xss.rhai"))
        .unwrap()
        .replace("x<i>", "x");
    assert_eq!(
        c.api("PUT", "/api/extracts/xss", &admin, Some(json!({ "source": fixed })))
            .0,
        200
    );
    let (_, v) = c.api("POST", "/api/extracts/xss/test", &admin, None);
    let job = c.wait_job(&admin, job_of(&v));
    assert_eq!(job["state"], "succeeded", "{job}");
    let (_, html) = c.page(&format!("/jobs/{}", job["id"]), &admin);
    assert!(html.contains("Ana &lt;b&gt;Núñez&lt;/b&gt;"), "preview escaped: {html}");
    assert!(!html.contains("<b>Núñez"));
}

#[test]
fn logins_are_rate_limited_and_sessions_end() {
    let c = Console::start();
    for _ in 0..ferry::web::LOGIN_LIMIT {
        let (s, v) = c.api(
            "POST",
            "/api/login",
            &Auth::None,
            Some(json!({"user": "reader", "password": "wrong password"})),
        );
        assert_eq!(s, 401, "{v}");
        assert!(
            !v.to_string().contains("wrong password\""),
            "the password is not echoed"
        );
    }
    let (s, v) = c.api(
        "POST",
        "/api/login",
        &Auth::None,
        Some(json!({"user": "reader", "password": PASSWORD})),
    );
    assert_eq!(s, 429, "even the right password waits: {v}");
    assert!(v["error"].as_str().unwrap().contains("try again in"), "{v}");
    assert!(
        !c.serve.log().contains("wrong password"),
        "passwords stay out of the log"
    );
    // Other users from the same address may still log in, up to the address's own limit.
    let admin = c.login("admin");
    for i in ferry::web::LOGIN_LIMIT..ferry::web::ADDRESS_LIMIT {
        let (s, _) = c.api(
            "POST",
            "/api/login",
            &Auth::None,
            Some(json!({"user": format!("nobody{i}"), "password": "x"})),
        );
        assert_eq!(s, 401);
    }
    let (s, _) = c.api(
        "POST",
        "/api/login",
        &Auth::None,
        Some(json!({"user": "admin", "password": PASSWORD})),
    );
    assert_eq!(s, 429, "the address is now blocked too");
    assert_eq!(
        c.api("GET", "/api/me", &admin, None).0,
        200,
        "sessions already open still work"
    );
    // Log out ends the session.
    assert_eq!(c.api("GET", "/api/me", &admin, None).0, 200);
    let r = c.send("POST", "/api/logout", &admin, None);
    assert_eq!(r.status(), 204);
    assert_eq!(c.api("GET", "/api/me", &admin, None).0, 401);
}

#[test]
fn the_session_cookie_is_http_only_and_same_site() {
    let c = Console::start();
    let r = c.send(
        "POST",
        "/api/login",
        &Auth::None,
        Some(json!({"user": "admin", "password": PASSWORD})),
    );
    let set = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    assert!(session_cookie(r.headers()).is_some());
}

#[test]
fn api_tokens_work_until_revoked_and_are_never_listed() {
    let c = Console::start();
    let reader = c.login("reader");
    let (s, t) = c.api("POST", "/api/tokens", &reader, Some(json!({"label": "nightly report"})));
    assert_eq!(s, 201);
    let text = t["token"].as_str().unwrap().to_string();
    let token = Auth::Token(text.clone());
    let (s, list) = c.api("GET", "/api/extracts", &token, None);
    assert_eq!(s, 200, "{list}");
    assert_eq!(
        c.api("POST", "/api/extracts/roster/run", &token, None).0,
        403,
        "the token has the reader's rights"
    );
    let (_, tokens) = c.api("GET", "/api/tokens", &reader, None);
    assert!(!tokens.to_string().contains(&text), "token text listed: {tokens}");
    assert!(!c.serve.log().contains(&text), "token text logged");
    let id = t["id"].as_i64().unwrap();
    assert_eq!(c.api("DELETE", &format!("/api/tokens/{id}"), &reader, None).0, 200);
    let (s, v) = c.api("GET", "/api/extracts", &token, None);
    assert_eq!(s, 401, "{v}");
    assert_eq!(
        c.api("GET", "/api/extracts", &Auth::Token("ferry_made_up".into()), None)
            .0,
        401
    );
}

#[test]
fn test_extract_previews_run_extract_delivers_and_a_broken_edit_is_refused() {
    let c = Console::start();
    let admin = c.login("admin");
    // Test Extract: columns, rows and count; nothing delivered.
    let (s, v) = c.api("POST", "/api/extracts/roster/test", &admin, None);
    assert_eq!(s, 202, "{v}");
    let job = c.wait_job(&admin, job_of(&v));
    assert_eq!(job["state"], "succeeded", "{job}");
    let file = &job["result"]["files"][0];
    assert_eq!(file["columns"], json!(["id", "name"]));
    assert_eq!(file["rows"], 3);
    assert_eq!(file["preview"][1], json!(["2", "Bo \"Li\""]));
    assert_eq!(
        file["lines"][2],
        json!("2,\"Bo \"\"Li\"\"\"␍"),
        "the file as written: {file}"
    );
    assert!(!c.project.path("out/roster.csv").exists(), "a test delivers nothing");
    // Run Extract: through the daemon, to history, delivered.
    let (s, v) = c.api("POST", "/api/extracts/roster/run", &admin, None);
    assert_eq!(s, 202, "{v}");
    let job = c.wait_job(&admin, job_of(&v));
    assert_eq!(job["state"], "succeeded", "{job}");
    let run = job["result"]["run"].as_i64().unwrap();
    let (_, r) = c.api("GET", &format!("/api/runs/{run}"), &admin, None);
    assert_eq!(r["run"]["status"], "succeeded");
    assert_eq!(r["run"]["trigger"], "manual");
    assert_eq!(
        r["run"]["started_by"],
        json!({"by": "person", "user": "admin", "via": "console"})
    );
    let (_, page) = c.page(&format!("/runs/{run}"), &admin);
    assert!(page.contains("<th>Started by</th><td>admin (console)</td>"), "{page}");
    assert!(!r["log"].as_array().unwrap().is_empty());
    let csv = std::fs::read_to_string(c.project.path("out/roster.csv")).unwrap();
    assert!(csv.contains("Cy, Jr."), "{csv}");
    let (_, list) = c.api("GET", "/api/runs?script=roster&status=succeeded", &admin, None);
    let listed: Vec<(i64, &str)> = list["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), r["trigger"].as_str().unwrap()))
        .collect();
    assert!(
        listed.contains(&(run, "manual")) && listed.len() == 2,
        "the test and the run: {list}"
    );
    let (_, none) = c.api("GET", "/api/runs?script=roster&status=failed", &admin, None);
    assert!(none["runs"].as_array().unwrap().is_empty());
    // Through the API, a token's runs are its user's.
    let (_, t) = c.api("POST", "/api/tokens", &admin, Some(json!({"label": "ci"})));
    let token = Auth::Token(t["token"].as_str().unwrap().to_string());
    let (s, v) = c.api("POST", "/api/extracts/roster/test", &token, None);
    assert_eq!(s, 202, "{v}");
    let tested = c.wait_job(&token, job_of(&v))["result"]["run"].as_i64().unwrap();
    let (_, r) = c.api("GET", &format!("/api/runs/{tested}"), &admin, None);
    assert_eq!(
        r["run"]["started_by"],
        json!({"by": "person", "user": "admin", "via": "api"})
    );
    let (s, v) = c.api("GET", "/api/runs?from=yesterday", &admin, None);
    assert_eq!(s, 400, "{v}");
    // A broken edit: refused with file:line, the file unchanged.
    let before = std::fs::read_to_string(c.project.path("scripts/roster.rhai")).unwrap();
    let broken = ROSTER.replace("deliver(f, \"out\");", "deliver(f, \"out\";");
    let (s, v) = c.api("PUT", "/api/extracts/roster", &admin, Some(json!({ "source": broken })));
    assert_eq!(s, 422, "{v}");
    let e = v["error"].as_str().unwrap();
    assert!(
        e.contains("roster.rhai:4") && e.contains("(line 4: deliver(f, \"out\";)"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_to_string(c.project.path("scripts/roster.rhai")).unwrap(),
        before
    );
    // A good edit is hot-reloaded like a file edit.
    let good = ROSTER.replace("ORDER BY id", "ORDER BY id DESC");
    assert_eq!(
        c.api("PUT", "/api/extracts/roster", &admin, Some(json!({ "source": good })))
            .0,
        200
    );
    eventually(Duration::from_secs(20), "the reload", || {
        c.serve.log().contains("Script reloaded")
    });
    // A run while one is going is refused, not queued twice.
    c.project.script(
        "slow",
        "//! schedule = \"none\"\nlet f = csv(query(\"live\", \"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) AS n FROM c\"), #{ name: \"slow\" });\ndeliver(f, \"out\");\n",
    );
    let (s, first) = c.api("POST", "/api/extracts/slow/run", &admin, None);
    assert_eq!(s, 202, "{first}");
    let (s, v) = c.api("POST", "/api/extracts/slow/run", &admin, None);
    assert_eq!(s, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("already running"), "{v}");
    c.wait_job(&admin, job_of(&first));
}

#[test]
fn pages_show_buttons_by_right_and_send_visitors_to_log_in() {
    let c = Console::start();
    let r = c.send("GET", "/extracts/roster", &Auth::None, None);
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?next=/extracts/roster");
    let reader = c.login("reader");
    let (s, html) = c.page("/extracts/roster", &reader);
    assert_eq!(s, 200);
    assert!(html.contains("Nightly roster"));
    for id in [
        "id=\"run-extract\"",
        "id=\"test-extract\"",
        "id=\"edit\"",
        "id=\"delete\"",
        "id=\"stop\"",
    ] {
        assert!(!html.contains(id), "reader sees {id}");
    }
    let admin = c.login("admin");
    let (_, html) = c.page("/extracts/roster", &admin);
    for id in [
        "id=\"run-extract\"",
        "id=\"test-extract\"",
        "id=\"test-connection\"",
        "id=\"edit\"",
        "id=\"delete\"",
        "id=\"stop\"",
    ] {
        assert!(html.contains(id), "admin lacks {id}");
    }
    assert_eq!(c.page("/users", &reader).0, 403);
    assert_eq!(c.page("/extracts/roster/edit", &reader).0, 403);
    // The form login sets the cookie and goes back where the visitor was going.
    let r = c
        .client()
        .post(format!("{}/login", c.url))
        .form(&[("user", "reader"), ("password", PASSWORD), ("next", "/history")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/history");
    let r = c
        .client()
        .post(format!("{}/login", c.url))
        .form(&[("user", "reader"), ("password", PASSWORD), ("next", "//evil.example/")])
        .send()
        .unwrap();
    assert_eq!(r.headers()["location"], "/", "no open redirect");
    // Sorting and searching the list.
    c.project
        .script("attendance", &ROSTER.replace("Nightly roster", "Attendance"));
    eventually(Duration::from_secs(20), "the second script", || {
        c.page("/", &admin).1.contains("Attendance")
    });
    let (_, html) = c.page("/?sort=name&desc=true", &admin);
    assert!(html.find("Nightly roster").unwrap() < html.find("Attendance").unwrap());
    let (_, html) = c.page("/?sort=name", &admin);
    assert!(html.find("Attendance").unwrap() < html.find("Nightly roster").unwrap());
    let (_, html) = c.page("/?q=attend", &admin);
    assert!(html.contains("Attendance") && !html.contains("Nightly roster"));
}

#[test]
fn with_a_certificate_the_console_serves_tls_and_marks_the_cookie_secure() {
    let c = Console::start_with(|p| {
        let certs = crate::harness::ftp_server::Certs::generate(p.dir.path());
        let toml = std::fs::read_to_string(p.path("ferry.toml")).unwrap();
        p.config(&format!(
            "{toml}\n[console]\ntls_certificate = \"server.pem\"\ntls_key = \"server.key\"\n"
        ));
        Some(certs.ca)
    });
    assert!(c.url.starts_with("https://127.0.0.1:"), "{}", c.url);
    let r = c.send(
        "POST",
        "/api/login",
        &Auth::None,
        Some(json!({"user": "reader", "password": PASSWORD})),
    );
    assert_eq!(r.status(), 200);
    let set = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(set.contains("Secure"), "{set}");
    assert_eq!(
        r.headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap()),
        Some("max-age=31536000"),
        "HSTS under TLS"
    );
    let reader = c.login("reader");
    assert_eq!(c.api("GET", "/api/extracts", &reader, None).0, 200);
    let plain = c.url.replace("https://", "http://");
    let r = c.client().get(format!("{plain}/api/extracts")).send();
    assert!(r.map(|r| r.status() != 200).unwrap_or(true), "plain HTTP is not served");
}

#[test]
fn a_taken_port_or_a_bad_certificate_stops_serve_with_the_setting_named() {
    let p = crate::harness::Project::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut serve = crate::harness::daemon::Serve::start(&p, &["--listen", &addr]);
    let code = serve.wait(Duration::from_secs(30));
    assert!(matches!(code, Some(c) if c != 0), "{code:?}: {}", serve.log());
    let log = serve.log();
    assert!(log.matches("Address already in use").count() == 1, "said once: {log}");
    assert!(
        log.contains(&format!("cannot listen on {addr}")) && log.contains("console.listen"),
        "{log}"
    );
    let toml = std::fs::read_to_string(p.path("ferry.toml")).unwrap();
    p.config(&format!(
        "{toml}\n[console]\nlisten = \"127.0.0.1:0\"\ntls_certificate = \"none.pem\"\ntls_key = \"none.key\"\n"
    ));
    let mut serve = crate::harness::daemon::Serve::start(&p, &[]);
    let code = serve.wait(Duration::from_secs(30));
    assert!(matches!(code, Some(c) if c != 0), "{code:?}: {}", serve.log());
    let log = serve.log();
    assert!(
        log.contains("none.pem") && log.contains("console.tls_certificate"),
        "{log}"
    );
}

#[test]
fn only_administrators_see_secret_names_and_nobody_sees_values() {
    let c = Console::start_with(|p| {
        let toml = std::fs::read_to_string(p.path("ferry.toml")).unwrap();
        p.config(&format!(
            "{toml}\n[destinations.vendor]\nmode = \"sftp\"\nserver = \"sftp.vendor.example\"\nusername = \"district\"\npassword = \"env:FERRY_VENDOR_PASSWORD\"\npath = \"/in\"\n"
        ));
        p.script("vendor", &ROSTER.replace("\"out\"", "\"vendor\""));
        None
    });
    let admin = c.login("admin");
    let (s, d) = c.api("GET", "/api/extracts/vendor", &admin, None);
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["destinations"][0]["password"], "env:FERRY_VENDOR_PASSWORD", "{d}");
    let (_, html) = c.page("/extracts/vendor", &admin);
    assert!(html.contains("env:FERRY_VENDOR_PASSWORD"));
    for user in ["reader", "no_manage_users"] {
        let who = c.login(user);
        let (_, d) = c.api("GET", "/api/extracts/vendor", &who, None);
        assert_eq!(d["destinations"][0]["password"], "(hidden)", "{user}: {d}");
        assert!(!d.to_string().contains("FERRY_VENDOR_PASSWORD"), "{user}: {d}");
        let (_, html) = c.page("/extracts/vendor", &who);
        assert!(!html.contains("FERRY_VENDOR_PASSWORD"), "{user} page");
    }
}

/// Every time the console shows carries its zone: the district's by
/// default, the person's own once they choose one on their account page;
/// a schedule read in another zone shows that zone beside it.
#[test]
fn times_carry_their_zone_and_each_person_chooses_theirs() {
    let c = Console::start_with(|p| {
        let toml = std::fs::read_to_string(p.path("ferry.toml")).unwrap();
        p.config(&toml.replace("America/Chicago", "America/New_York"));
        p.script(
            "chicago",
            "//! name = \"Chicago nightly\"\n//! schedule = \"daily at 02:30\"\n//! timezone = \"America/Chicago\"\n\
             let f = csv(query(\"live\", \"SELECT id FROM students\"), #{ name: \"c\" });\ndeliver(f, \"out\");\n",
        );
        None
    });
    let admin = c.login("admin");
    let next_in = |auth: &Auth| {
        let (s, html) = c.page("/extracts/chicago", auth);
        assert_eq!(s, 200, "{html}");
        let row = html
            .split("Next run")
            .nth(1)
            .unwrap()
            .split("</tr>")
            .next()
            .unwrap()
            .to_string();
        row
    };
    // 02:30 in Chicago (CST, UTC-6) is 03:30 in New York (EST) in December.
    let row = next_in(&admin);
    assert!(
        row.contains(" 03:30:00 EST (") && row.contains(" 02:30:00 CST, the schedule's zone)"),
        "{row}"
    );
    let r = c.form("/account/timezone", &admin, &[("timezone", "UTC")], true);
    assert_eq!(r.status(), 303);
    let row = next_in(&admin);
    assert!(
        row.contains(" 08:30:00 UTC (") && row.contains(" 02:30:00 CST, the schedule's zone)"),
        "{row}"
    );
    let (_, account) = c.page("/account", &admin);
    assert!(account.contains("UTC — now "), "{account}");
    // Another person still reads the district's zone.
    let reader = c.login("reader");
    assert!(next_in(&reader).contains(" 03:30:00 EST ("));
    let r = c.form("/account/timezone", &admin, &[("timezone", "Mars/Olympus")], true);
    assert_eq!(r.status(), 400);
    let text = r.text().unwrap();
    assert!(
        text.contains("&#39;Mars/Olympus&#39; is not an IANA time zone name")
            || text.contains("'Mars/Olympus' is not an IANA time zone name"),
        "{text}"
    );
    // Empty goes back to the district's zone.
    assert_eq!(
        c.form("/account/timezone", &admin, &[("timezone", "")], true).status(),
        303
    );
    assert!(next_in(&admin).contains(" 03:30:00 EST ("));
}

/// Delete and Stop ask first, on a page of their own (the console runs no
/// script); the list has Test and Run for those who may run.
#[test]
fn delete_and_stop_ask_first_and_the_list_has_test_and_run() {
    let c = Console::start();
    let admin = c.login("admin");
    let reader = c.login("reader");
    let (_, list) = c.page("/", &admin);
    assert!(
        list.contains("id=\"test-roster\"") && list.contains("id=\"run-roster\""),
        "{list}"
    );
    assert!(list.contains("action=\"/extracts/roster/run\""), "{list}");
    let (_, list) = c.page("/", &reader);
    assert!(
        !list.contains("id=\"run-roster\"") && !list.contains("Actions"),
        "{list}"
    );
    // The list's Run goes to the job, as the extract page's does.
    let r = c.form("/extracts/roster/run", &admin, &[], true);
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"].to_str().unwrap().starts_with("/jobs/"));
    // Delete: the extract page links to a question; asking changes nothing.
    let (_, page) = c.page("/extracts/roster", &admin);
    assert!(page.contains("href=\"/extracts/roster/delete\""), "{page}");
    let (s, ask) = c.page("/extracts/roster/delete", &admin);
    assert_eq!(s, 200);
    assert!(
        ask.contains("Delete Nightly roster?") && ask.contains("id=\"confirm-delete\""),
        "{ask}"
    );
    assert!(ask.contains("a copy is kept"), "{ask}");
    assert!(c.project.path("scripts/roster.rhai").exists());
    assert_eq!(c.page("/extracts/roster/delete", &reader).0, 403);
    // Stop: the same.
    let (s, ask) = c.page("/extracts/roster/stop", &admin);
    assert_eq!(s, 200);
    assert!(ask.contains("Stop the automated runs of Nightly roster?"), "{ask}");
    let (_, one) = c.api("GET", "/api/extracts/roster", &admin, None);
    assert_eq!(one["suspended"], Value::Null, "asking did not stop it: {one}");
    assert_eq!(c.form("/extracts/roster/stop", &admin, &[], true).status(), 303);
    let (_, one) = c.api("GET", "/api/extracts/roster", &admin, None);
    assert_ne!(one["suspended"], Value::Null, "confirmed, it stopped: {one}");
    // Confirmed, the script goes.
    assert_eq!(c.form("/extracts/roster/delete", &admin, &[], true).status(), 303);
    assert!(!c.project.path("scripts/roster.rhai").exists());
}

#[test]
fn the_list_shows_a_script_edited_on_disk_at_once() {
    let c = Console::start();
    let admin = c.login("admin");
    let names = |c: &Console| -> Vec<String> {
        let (status, list) = c.api("GET", "/api/extracts", &admin, None);
        assert_eq!(status, 200, "{list}");
        list["extracts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&c), ["Nightly roster"]);
    // The list compiles each script once per change: a second request is
    // served from what the first compiled, an edit is seen by the next.
    assert_eq!(names(&c), ["Nightly roster"]);
    c.project.script("roster", &ROSTER.replace("Nightly roster", "Roster"));
    assert_eq!(names(&c), ["Roster"], "the edited name, not the cached one");
    c.project.script("roster", "//! name = \"Broken\"\nlet f = csv(;\n");
    let (_, list) = c.api("GET", "/api/extracts", &admin, None);
    assert!(
        list["extracts"][0]["error"]
            .as_str()
            .unwrap_or("")
            .contains("roster.rhai"),
        "{list}"
    );
}

#[test]
fn the_list_sparkline_follows_each_new_run() {
    let c = Console::start();
    let admin = c.login("admin");
    let page = |c: &Console| c.page("/", &admin).1;
    assert!(page(&c).contains("no runs"));
    for n in 1..=2 {
        c.project.ferry(&["run", "roster"]).ok();
        let shown = page(&c);
        assert!(
            shown.contains(&format!("roster: rows of the last {n} runs, latest 3")),
            "after run {n}: {shown}"
        );
        // Asked again with nothing new: the same drawing.
        assert_eq!(page(&c), shown);
    }
    // A test extract is not drawn and does not change the line.
    c.project.ferry(&["test-extract", "roster"]).ok();
    assert!(page(&c).contains("roster: rows of the last 2 runs"));
}
