//! The console's second factor end to end, over HTTP against a real
//! `ferry serve`: setting it up from the account page (the key read from
//! the page, codes computed here from it with an independent TOTP), the
//! login's code step, refusal of a reused and a wrong code, recovery codes
//! (each once), the rate limit, `require_totp` making a group's members
//! set one up at their first login, and `ferry users totp-reset`.

use reqwest::blocking::Response;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::harness::console::{session_cookie, Auth, Console, PASSWORD};

/// What an authenticator app given `secret` computes.
fn app(secret: &str, user: &str) -> TOTP {
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().unwrap();
    TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes, Some("ferry".into()), user.into()).unwrap()
}

/// The app's code `steps` time steps from now.
fn code(totp: &TOTP, steps: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    totp.generate((now + 30 * steps) as u64)
}

/// A 6-digit code that is none of the app's codes near now.
fn wrong(totp: &TOTP) -> String {
    let near: Vec<String> = (-2..=2).map(|s| code(totp, s)).collect();
    (0..1000u32)
        .map(|n| format!("{:06}", 123_457 + n))
        .find(|c| !near.contains(c))
        .unwrap()
}

/// The text of the element whose `id` is given (the first text after it).
fn text_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in:\n{html}"));
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest[start..].find('<').unwrap();
    rest[start..start + end].to_string()
}

/// The value of the hidden field `name`.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in:\n{html}"))
        + marker.len();
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

/// The recovery codes of the page that shows them once.
fn recovery_codes(html: &str) -> Vec<String> {
    let list = &html[html.find("id=\"recovery-codes\"").expect("the recovery codes")..];
    let list = &list[..list.find("</ul>").unwrap()];
    list.split("<code>")
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].to_string())
        .collect()
}

fn post(c: &Console, path: &str, fields: &[(&str, &str)]) -> Response {
    c.client().post(format!("{}{path}", c.url)).form(fields).send().unwrap()
}

/// The login form's password step; the code form's page.
fn password_step(c: &Console, user: &str) -> String {
    let r = post(
        c,
        "/login",
        &[("user", user), ("password", PASSWORD), ("next", "/history")],
    );
    assert_eq!(r.status(), 200, "the password step of {user}");
    assert_eq!(session_cookie(r.headers()), None, "no session before the code");
    let page = r.text().unwrap();
    assert!(!page.contains(PASSWORD), "the code form does not carry the password");
    page
}

/// Sends a code for a pending login; the response.
fn code_step(c: &Console, token: &str, code: &str) -> Response {
    post(
        c,
        "/login/code",
        &[("token", token), ("next", "/history"), ("code", code)],
    )
}

/// A session cookie from a response that redirects to `/history`, working.
fn signed_in(c: &Console, r: Response, user: &str) -> Auth {
    assert_eq!(r.status(), 303, "signed in: {}", r.text().unwrap_or_default());
    assert_eq!(r.headers()["location"], "/history", "back where the login was going");
    let auth = Auth::Session {
        cookie: session_cookie(r.headers()).expect("a session cookie"),
        csrf: None,
    };
    let (s, page) = c.page("/account", &auth);
    assert_eq!(s, 200);
    assert_eq!(text_of(&page, "whoami"), user);
    auth
}

fn refused(r: Response, status: u16, words: &str) {
    assert_eq!(r.status(), status);
    let page = r.text().unwrap();
    assert!(
        text_of(&page, "error").contains(words),
        "{words:?} in the refusal:\n{page}"
    );
}

#[test]
fn a_second_factor_is_set_up_asked_for_and_each_code_works_once() {
    let c = Console::start();
    let admin = c.login("admin");
    let (_, page) = c.page("/account", &admin);
    assert!(text_of(&page, "totp-state").starts_with("Off"), "{page}");

    // Set up: the page shows a QR code (inline SVG) and the key as text.
    let r = c.form("/account/totp", &admin, &[], true);
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/account/totp");
    let (s, page) = c.page("/account/totp", &admin);
    assert_eq!(s, 200);
    assert!(page.contains("<svg") && page.contains("id=\"qr\""), "{page}");
    let secret = text_of(&page, "totp-secret");
    assert!(secret.len() >= 26, "a key of 128 bits or more: {secret}");
    let totp = app(&secret, "admin");
    // Until a code confirms it, the password alone still logs in.
    assert_eq!(
        c.send(
            "POST",
            "/api/login",
            &Auth::None,
            Some(serde_json::json!({"user": "admin", "password": PASSWORD}))
        )
        .status(),
        200
    );

    let r = c.form("/account/totp/confirm", &admin, &[("code", &wrong(&totp))], true);
    refused(r, 401, "not the code");
    let first = code(&totp, 0);
    let r = c.form("/account/totp/confirm", &admin, &[("code", &first)], true);
    assert_eq!(r.status(), 200);
    let page = r.text().unwrap();
    let codes = recovery_codes(&page);
    assert_eq!(codes.len(), 10, "{page}");
    assert!(
        codes.iter().all(|k| k.len() == 11 && k.as_bytes()[5] == b'-'),
        "{codes:?}"
    );
    let (_, page) = c.page("/account", &admin);
    let state = text_of(&page, "totp-state");
    assert!(
        state.starts_with("On since") && state.contains("10 recovery codes left"),
        "{state}"
    );

    // The login asks for the code after the password; the code that
    // confirmed the set-up is used up, a wrong one is refused.
    let page = password_step(&c, "admin");
    assert!(page.contains("action=\"/login/code\""), "{page}");
    let token = hidden(&page, "token");
    refused(code_step(&c, &token, &first), 401, "already used");
    refused(code_step(&c, &token, &wrong(&totp)), 401, "wrong code");
    // The next step's code (an app a little ahead) signs in, once.
    let next = code(&totp, 1);
    signed_in(&c, code_step(&c, &token, &next), "admin");
    refused(code_step(&c, &token, &next), 401, "log in again");
    let token = hidden(&password_step(&c, "admin"), "token");
    refused(code_step(&c, &token, &next), 401, "already used");

    // A recovery code, typed in capitals without its dash, works once.
    let typed = codes[0].replace('-', "").to_uppercase();
    signed_in(&c, code_step(&c, &token, &typed), "admin");
    let token = hidden(&password_step(&c, "admin"), "token");
    refused(code_step(&c, &token, &codes[0]), 401, "wrong code");
    let (_, page) = c.page("/account", &admin);
    assert!(text_of(&page, "totp-state").contains("9 recovery codes left"));

    // The API asks for the code too.
    let login = |code: Option<&str>| {
        let mut body = serde_json::json!({"user": "admin", "password": PASSWORD});
        if let Some(k) = code {
            body["code"] = k.into();
        }
        c.send("POST", "/api/login", &Auth::None, Some(body))
    };
    let r = login(None);
    assert_eq!(r.status(), 401);
    assert!(r.text().unwrap().contains("`code`"));
    let r = login(Some(&codes[1]));
    assert_eq!(r.status(), 200);
    assert!(session_cookie(r.headers()).is_some());

    // Wrong codes count toward the login limit: after five, even a right
    // code waits.
    let token = hidden(&password_step(&c, "admin"), "token");
    for _ in 0..5 {
        refused(code_step(&c, &token, &wrong(&totp)), 401, "wrong code");
    }
    refused(code_step(&c, &token, &codes[2]), 429, "too many failed logins");

    // Neither the key nor a recovery code is in the log or the project's files.
    let log = c.serve.log();
    assert!(log.contains("Failed second-factor code"), "{log}");
    for secret in std::iter::once(&secret).chain(&codes) {
        assert!(!log.contains(secret.as_str()), "{secret} logged");
    }
    for recovery in &codes {
        c.project.assert_not_stored(".", recovery);
    }

    // An administrator removes a lost factor; the password alone logs in again.
    let out = c.project.ferry(&["users", "totp-reset", "admin"]);
    assert!(
        out.ok().contains("removed the second factor of admin"),
        "{}",
        out.stdout
    );
    let out = c.project.ferry(&["users", "totp-reset", "admin"]);
    assert!(out.ok().contains("had no second factor"));
    let out = c.project.ferry(&["users", "totp-reset", "nobody"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("ferry users list"), "{}", out.stderr);
    let r = post(
        &c,
        "/login",
        &[("user", "reader"), ("password", PASSWORD), ("next", "/history")],
    );
    signed_in(&c, r, "reader");
}

#[test]
fn require_totp_has_a_first_login_of_a_member_set_one_up() {
    let c = Console::start_with(|p| {
        p.ferry(&["groups", "add", "office"]).ok();
        p.ferry(&["groups", "add-member", "office", "reader"]).ok();
        let base = std::fs::read_to_string(p.path("ferry.toml")).unwrap();
        p.config(&format!("{base}[console]\nrequire_totp = [\"office\"]\n"));
        None
    });
    let api_login = |user: &str| {
        c.send(
            "POST",
            "/api/login",
            &Auth::None,
            Some(serde_json::json!({"user": user, "password": PASSWORD})),
        )
    };
    // Outside the group the password alone still logs in.
    assert_eq!(api_login("admin").status(), 200);
    // The API cannot set one up: it says where to.
    let r = api_login("reader");
    assert_eq!(r.status(), 403);
    assert!(r.text().unwrap().contains("console.require_totp"));

    // The login page does: the password, then the set-up, then a session.
    let page = password_step(&c, "reader");
    assert!(
        page.contains("action=\"/login/enrol\"") && page.contains("id=\"qr\""),
        "{page}"
    );
    let token = hidden(&page, "token");
    let totp = app(&text_of(&page, "totp-secret"), "reader");
    let enrol = |k: &str| {
        post(
            &c,
            "/login/enrol",
            &[("token", &token), ("next", "/history"), ("code", k)],
        )
    };
    refused(enrol(&wrong(&totp)), 401, "not the code");
    let r = enrol(&code(&totp, 0));
    assert_eq!(r.status(), 200);
    let auth = Auth::Session {
        cookie: session_cookie(r.headers()).expect("a session once the factor is on"),
        csrf: None,
    };
    let page = r.text().unwrap();
    assert_eq!(recovery_codes(&page).len(), 10);
    assert!(
        page.contains("href=\"/history\""),
        "Continue goes where the login was going"
    );
    let (s, page) = c.page("/history", &auth);
    assert_eq!(s, 200);
    assert_eq!(text_of(&page, "whoami"), "reader");

    // From now on the login asks for the code.
    let page = password_step(&c, "reader");
    assert!(page.contains("action=\"/login/code\""));
    let token = hidden(&page, "token");
    signed_in(&c, code_step(&c, &token, &code(&totp, 1)), "reader");
}
