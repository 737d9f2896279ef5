//! A `ferry serve` with its console on a free port, users with chosen
//! rights, and an HTTP client that logs in as them: shared by the API tests
//! and the browser tests.

use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};
use reqwest::Method;
use serde_json::Value;

use super::daemon::{eventually, Serve};
use super::Project;

/// Every password in these tests.
pub const PASSWORD: &str = "correct horse 1";
/// The console's tool rights.
pub const RIGHTS: [&str; 6] = ["read", "write", "add", "delete", "run", "manage_users"];

/// A roster with a name that must be escaped, and a script to run.
pub const ROSTER: &str = "//! name = \"Nightly roster\"\n//! schedule = \"none\"\nlet f = csv(query(\"live\", \"SELECT id, name FROM students ORDER BY id\"), #{ name: \"roster\" });\ndeliver(f, \"out\");\n";

/// A running console.
pub struct Console {
    /// The project folder.
    pub project: Project,
    /// The daemon.
    pub serve: Serve,
    /// `http://127.0.0.1:PORT` (https under TLS).
    pub url: String,
    /// The CA to trust, when the console serves TLS.
    pub ca: Option<std::path::PathBuf>,
    /// Every API answer so far: checked against the console's own OpenAPI
    /// document when the console is dropped (see [`validate_api.py`]).
    ///
    /// [`validate_api.py`]: ../validate_api.py
    answers: Mutex<Vec<Value>>,
}

/// How a request authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    /// Nothing.
    None,
    /// A session cookie and its CSRF token (sent unless `csrf` is `None`).
    Session { cookie: String, csrf: Option<String> },
    /// `Authorization: Bearer`.
    Token(String),
}

impl Console {
    /// A project with the roster script, users `admin` (every right),
    /// `reader` (read only) and `no_RIGHT` (every right but one) for each
    /// right, and `ferry serve --listen 127.0.0.1:0` started.
    pub fn start() -> Console {
        Self::start_with(|_| None)
    }

    /// Like [`Console::start`], with `setup` run on the project before
    /// `ferry serve` starts; it returns the CA to trust when it configured TLS.
    pub fn start_with(setup: impl FnOnce(&Project) -> Option<std::path::PathBuf>) -> Console {
        let p = Project::new();
        p.sqlite(
            "CREATE TABLE students (id INTEGER, name TEXT); \
             INSERT INTO students VALUES (1, 'Ana <b>Núñez</b>'), (2, 'Bo \"Li\"'), (3, 'Cy, Jr.');",
        );
        p.script("roster", ROSTER);
        let mut users: Vec<(String, Vec<&str>)> =
            vec![("admin".into(), RIGHTS.to_vec()), ("reader".into(), vec!["read"])];
        for r in RIGHTS {
            users.push((format!("no_{r}"), RIGHTS.iter().copied().filter(|x| *x != r).collect()));
        }
        let settings = p.settings();
        super::on_own_runtime(move || async move {
            let store = ferry::state::Store::open(&settings.state).await.unwrap();
            for (name, rights) in users {
                store.add_user(&name, None, None).await.unwrap();
                store.set_password(&name, PASSWORD).await.unwrap();
                for r in rights {
                    store.grant(&name, r).await.unwrap();
                }
            }
        });
        let ca = setup(&p);
        let serve = Serve::start(&p, &["--listen", "127.0.0.1:0"]);
        let mut url = String::new();
        eventually(Duration::from_secs(30), "the console to listen", || {
            let log = serve.log();
            match log.split("Console listening on ").nth(1) {
                Some(rest) => {
                    url = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .trim_end_matches('/')
                        .to_string();
                    true
                }
                None => false,
            }
        });
        Console {
            project: p,
            serve,
            url,
            ca,
            answers: Mutex::new(Vec::new()),
        }
    }

    /// A client that does not follow redirects, so tests see them, and
    /// trusts the console's CA under TLS.
    pub fn client(&self) -> Client {
        let mut b = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60));
        if let Some(ca) = &self.ca {
            let pem = std::fs::read(ca).unwrap();
            b = b.add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap());
        }
        b.build().unwrap()
    }

    /// Logs in through the API; the session cookie and CSRF token.
    pub fn login(&self, user: &str) -> Auth {
        let r = self
            .client()
            .post(format!("{}/api/login", self.url))
            .json(&serde_json::json!({ "user": user, "password": PASSWORD }))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "login as {user}");
        let cookie = session_cookie(r.headers()).expect("a session cookie");
        let body: Value = r.json().unwrap();
        Auth::Session {
            cookie,
            csrf: Some(body["csrf"].as_str().unwrap().to_string()),
        }
    }

    /// Sends a request; the status and the JSON body (Null when not JSON).
    pub fn api(&self, method: &str, path: &str, auth: &Auth, body: Option<Value>) -> (u16, Value) {
        let r = self.send(method, path, auth, body);
        let status = r.status().as_u16();
        let body = r.json().unwrap_or(Value::Null);
        if path.starts_with("/api/") && path != "/api/openapi.json" {
            self.answers.lock().unwrap().push(serde_json::json!({
                "method": method.to_lowercase(),
                "path": path,
                "status": status,
                "body": body,
            }));
        }
        (status, body)
    }

    /// Checks every API answer so far against the document the console
    /// serves at `/api/openapi.json`, with Python's `jsonschema` (an
    /// implementation independent of the one that wrote the document).
    pub fn validate_answers(&self) {
        let answers = std::mem::take(&mut *self.answers.lock().unwrap());
        if !answers.is_empty() {
            if let Err(e) = self.check_answers(answers) {
                panic!("API answers that do not match openapi.json:\n{e}");
            }
        }
    }

    /// Checks `answers` (`{method, path, status, body}`) against the
    /// served document; the validator's report when any does not match.
    pub fn check_answers(&self, answers: Vec<Value>) -> Result<(), String> {
        let doc: Value = self.send("GET", "/api/openapi.json", &Auth::None, None).json().unwrap();
        let input = serde_json::json!({ "doc": doc, "answers": answers });
        let mut child = Command::new("python3")
            .arg(super::repo().join("tests/validate_api.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs the API validator");
        serde_json::to_writer(child.stdin.take().unwrap(), &input).unwrap();
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Sends a request and returns the raw response.
    pub fn send(&self, method: &str, path: &str, auth: &Auth, body: Option<Value>) -> Response {
        let mut req = self.client().request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", self.url),
        );
        req = match auth {
            Auth::None => req,
            Auth::Session { cookie, csrf } => {
                let mut h = HeaderMap::new();
                h.insert(COOKIE, HeaderValue::from_str(cookie).unwrap());
                if let Some(c) = csrf {
                    h.insert("x-csrf-token", HeaderValue::from_str(c).unwrap());
                }
                req.headers(h)
            }
            Auth::Token(t) => req.bearer_auth(t),
        };
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().unwrap()
    }

    /// A page's status and HTML, as `auth` sees it.
    pub fn page(&self, path: &str, auth: &Auth) -> (u16, String) {
        let r = self.send("GET", path, auth, None);
        (r.status().as_u16(), r.text().unwrap())
    }

    /// Posts a form (`csrf` added from the session unless `with_csrf` is false).
    pub fn form(&self, path: &str, auth: &Auth, fields: &[(&str, &str)], with_csrf: bool) -> Response {
        let Auth::Session { cookie, csrf } = auth else {
            panic!("forms need a session")
        };
        let mut fields: Vec<(String, String)> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if with_csrf {
            fields.push(("csrf".into(), csrf.clone().unwrap()));
        }
        self.client()
            .post(format!("{}{path}", self.url))
            .header(COOKIE, cookie.as_str())
            .form(&fields)
            .send()
            .unwrap()
    }

    /// Waits for a job to end; its JSON.
    pub fn wait_job(&self, auth: &Auth, job: u64) -> Value {
        let mut last = Value::Null;
        eventually(Duration::from_secs(120), &format!("job {job} to end"), || {
            let (s, v) = self.api("GET", &format!("/api/jobs/{job}"), auth, None);
            assert_eq!(s, 200, "{v}");
            last = v;
            last["ended_at"] != Value::Null
        });
        last
    }
}

/// `ferry_session=...` from a Set-Cookie header.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("ferry_session=") && !v.starts_with("ferry_session=;"))
        .map(|v| v.split(';').next().unwrap().to_string())
}

impl Drop for Console {
    /// Every test's API answers are checked against the document, unless
    /// the test already failed.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.validate_answers();
        }
    }
}
