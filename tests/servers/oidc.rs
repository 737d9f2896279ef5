//! Single sign-on against a real OpenID Connect provider: the certified
//! `oidc-provider` package (tests/oidc/, installed by `npm ci` there) run by
//! the machine's Node.js on a free 127.0.0.1 port, with a client for ferry
//! (PKCE required) and test accounts. Headless Chromium signs in through
//! the provider's own login form and lands in the console with the mapped
//! group's rights; a disallowed domain, an unknown person, a wrong `state`,
//! a replayed callback URL and an expired ID token are each refused with a
//! page and no session. A missing Node.js, package or browser fails the test.
//!
//! The expired ID token: the account `late@district.test` gets ID tokens
//! that live one second, and the provider's token endpoint answers that
//! account 2.5 s after making the token (a slow provider or a skewed
//! clock), so the token ferry receives is genuinely expired.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::ClientBuilder;
use futures::FutureExt;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION};

use crate::browser::{capabilities, Browser, ChromeDriver};
use crate::harness::console::Console;
use crate::harness::{free_port, repo, Project};

const NODE: &str = "/usr/bin/node";
/// The client secret the provider and ferry share (ferry reads it through
/// a `file:` reference); the test checks it never reaches ferry's log.
const CLIENT_SECRET: &str = "test-client-secret-5c1e9a";
/// Every provider account's password.
const OP_PASSWORD: &str = "provider pass 1";

/// The provider, in a process of its own; killed when dropped.
struct Provider {
    child: Child,
    log: PathBuf,
    /// `http://127.0.0.1:PORT`, the issuer.
    url: String,
}

impl Provider {
    /// Starts tests/oidc/provider.mjs on `port` with ferry's client
    /// (`console` is the console's address) and the test accounts.
    fn start(dir: &Path, port: u16, console: &str) -> Provider {
        let folder = repo().join("tests/oidc");
        assert!(
            Path::new(NODE).exists(),
            "{NODE} is missing: the sign-in tests need Node.js (`apt-get install nodejs npm`)"
        );
        assert!(
            folder.join("node_modules/oidc-provider/package.json").exists(),
            "oidc-provider is not installed: run `npm ci` in {}",
            folder.display()
        );
        let account = |id: &str, email: &str, groups: &[&str]| serde_json::json!({"id": id, "email": email, "password": OP_PASSWORD, "groups": groups});
        let mut late = account("late", "late@district.test", &["ferry-readers"]);
        late["id_token_ttl"] = 1.into();
        late["token_delay_ms"] = 2500.into();
        let config = serde_json::json!({
            "port": port,
            "clients": [{
                "client_id": "ferry",
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [format!("{console}/login/oidc/callback")],
                "post_logout_redirect_uris": [format!("{console}/login")],
            }],
            "accounts": [
                account("ann", "ann@district.test", &["ferry-readers", "somebody-elses-group"]),
                account("bob", "bob@elsewhere.test", &["ferry-readers"]),
                account("carl", "carl@district.test", &["ferry-readers"]),
                late,
            ],
        });
        let config_path = dir.join("provider.json");
        std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        let log = dir.join("provider.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(NODE)
            .arg("provider.mjs")
            .arg(&config_path)
            .current_dir(&folder)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("{NODE} does not start: {e}"));
        let mut provider = Provider {
            child,
            log,
            url: format!("http://127.0.0.1:{port}"),
        };
        let start = Instant::now();
        while !provider.log().contains("provider listening on") {
            if let Some(status) = provider.child.try_wait().unwrap() {
                panic!("the provider exited ({status}):\n{}", provider.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the provider did not start in 30 s:\n{}",
                provider.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        provider
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The authorization responses (callback URLs) it sent, oldest first.
    fn callbacks(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|l| l.strip_prefix("authorization response: "))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A console whose `[console.oidc]` points at a provider on `op_port`:
/// `ann` and `late` exist with their provider emails; the group `readers`
/// (right `read`) follows the provider's `ferry-readers`, and `writers`
/// (right `write`), which ann is in beforehand, follows `ferry-writers`.
fn console(op_port: u16, extra: &str) -> Console {
    let extra = extra.to_string();
    let console = Console::start_with(move |p: &Project| {
        std::fs::write(p.path("oidc-secret"), format!("{CLIENT_SECRET}\n")).unwrap();
        let mut toml = std::fs::read_to_string(p.path("ferry.toml")).unwrap();
        toml.push_str(&format!(
            "[console]\n[console.oidc]\nissuer = \"http://127.0.0.1:{op_port}\"\nlabel = \"Test provider\"\n\
             client_id = \"ferry\"\nclient_secret = \"file:oidc-secret\"\nallowed_domains = [\"district.test\"]\n\
             scopes = [\"groups\"]\n{extra}\n\
             [console.oidc.groups]\n\"ferry-readers\" = \"readers\"\n\"ferry-writers\" = \"writers\"\n"
        ));
        p.config(&toml);
        let settings = p.settings();
        crate::harness::on_own_runtime(move || async move {
            let store = ferry::state::Store::open(&settings.state).await.unwrap();
            store
                .add_user("ann", Some("Ann"), Some("Ann@District.test"))
                .await
                .unwrap();
            store.add_user("late", None, Some("late@district.test")).await.unwrap();
            store.add_group("readers", None, None).await.unwrap();
            store.grant_group("readers", "read").await.unwrap();
            store.add_group("writers", None, None).await.unwrap();
            store.grant_group("writers", "write").await.unwrap();
            store.add_member("writers", "ann").await.unwrap();
        });
        None
    });
    console
}

/// The ferry groups `user` is in.
fn groups_of(c: &Console, user: &str) -> Vec<String> {
    let settings = c.project.settings();
    let user = user.to_string();
    crate::harness::on_own_runtime(move || async move {
        let store = ferry::state::Store::open(&settings.state).await.unwrap();
        store.user(&user).await.unwrap().map(|u| u.groups).unwrap_or_default()
    })
}

impl Browser {
    /// Whether the browser holds a ferry session cookie.
    async fn has_session(&self) -> bool {
        self.client.get_named_cookie("ferry_session").await.is_ok()
    }

    /// Signs in at the provider's form, starting from ferry's login page.
    async fn sign_in_at_provider(&self, op: &Provider, email: &str) {
        self.goto("/login").await;
        self.click("#sso").await;
        self.find("#op-login").await;
        let at = self.client.current_url().await.unwrap();
        assert_eq!(
            at.origin().ascii_serialization(),
            op.url,
            "the button leads to the provider's own form"
        );
        self.fill("#op-login", email).await;
        self.fill("#op-password", OP_PASSWORD).await;
        self.click("#op-submit").await;
    }

    /// A refusal: the page says `words`, and there is no session.
    async fn refused(&mut self, words: &str, shot: &str) {
        let error = self.text("#error").await;
        assert!(error.contains(words), "{words:?} in the refusal: {error}");
        assert_eq!(self.text("h1").await, "Sign-in refused");
        self.shot(shot).await;
        assert!(!self.has_session().await, "no session after: {error}");
        self.goto("/").await;
        self.find("#sso").await;
        assert_eq!(self.path().await, "/login", "no session after: {error}");
    }
}

async fn scenario(b: &mut Browser, c: &Console, op: &Provider) {
    // The login page offers the provider beside the password form.
    b.goto("/login").await;
    assert_eq!(b.text("#sso").await, "Sign in with Test provider");
    assert_eq!(b.count("#password").await, 1, "local passwords are still on");
    b.shot("sso-login").await;

    // Ann signs in through the provider's form and lands on the list, with
    // the rights of the group the provider's claim maps to.
    b.sign_in_at_provider(op, "ann@district.test").await;
    b.find("table#extracts").await;
    assert_eq!(b.path().await, "/");
    assert_eq!(b.text("#whoami").await, "ann");
    assert!(b.text("table#extracts").await.contains("Nightly roster"));
    b.shot("sso-signed-in").await;
    assert_eq!(
        groups_of(c, "ann"),
        ["readers"],
        "in the mapped group, and out of the mapped group the provider no longer lists"
    );
    // `read` works: the extract's page and its source.
    b.goto("/extracts/roster").await;
    assert!(b.text("pre#source").await.contains("SELECT id, name"));
    assert_eq!(b.count("#edit").await, 0, "no Edit button without `write`");
    // `write` is refused: the editor needs it.
    b.goto("/extracts/roster/edit").await;
    let refusal = b.text("#error").await;
    assert!(refusal.contains("write"), "{refusal}");
    b.shot("sso-no-write").await;
    let replay = op
        .callbacks()
        .pop()
        .expect("the provider's authorization response for ann");

    // Log out: ferry's session ends and the browser goes on to the
    // provider's sign-out, which returns it to ferry's login page.
    b.goto("/").await;
    b.click("#logout").await;
    b.find("button[name=logout][value=yes]").await;
    let at = b.client.current_url().await.unwrap();
    assert_eq!(at.origin().ascii_serialization(), op.url, "RP-initiated logout");
    assert_eq!(at.path(), "/session/end");
    assert!(!b.has_session().await, "ferry's session ended before the provider's");
    b.click("button[name=logout][value=yes]").await;
    b.find("#sso").await;
    assert_eq!(b.path().await, "/login", "back at ferry after the provider's sign-out");

    // The captured callback URL, replayed: its flow was used once.
    b.client.goto(&replay).await.unwrap();
    b.refused("no sign-in in progress", "sso-replayed").await;

    // A callback whose state is not this browser's: refused even while a
    // real sign-in of this browser is waiting.
    b.goto("/login").await;
    b.click("#sso").await;
    b.find("#op-login").await;
    let code = replay.split("code=").nth(1).unwrap().split('&').next().unwrap();
    b.goto(&format!("/login/oidc/callback?code={code}&state=forged")).await;
    b.refused("state does not match", "sso-wrong-state").await;

    // A person from another domain, one without a ferry user, and an
    // expired ID token. The provider's session is cleared between them.
    for (email, words, shot) in [
        (
            "bob@elsewhere.test",
            "bob@elsewhere.test may not sign in",
            "sso-other-domain",
        ),
        (
            "carl@district.test",
            "carl@district.test has no ferry user",
            "sso-unknown",
        ),
        ("late@district.test", "ID token had expired", "sso-expired"),
    ] {
        b.client.delete_all_cookies().await.unwrap();
        b.sign_in_at_provider(op, email).await;
        b.refused(words, shot).await;
    }
    assert!(groups_of(c, "late").is_empty(), "an expired token changed nothing");
}

#[test]
fn single_sign_on_through_a_real_provider() {
    let dir = tempfile::tempdir().unwrap();
    let op_port = free_port();
    let c = console(op_port, "");
    let op = Provider::start(dir.path(), op_port, &c.url);

    // Without a browser: the button's target answers 303 to the provider's
    // authorization endpoint with PKCE (S256), a nonce and a state, under
    // the console's security headers, and sets no session.
    let http = c.client();
    let r = http.get(format!("{}/login/oidc?next=/history", c.url)).send().unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(to.starts_with(&format!("{}/auth?", op.url)), "{to}");
    for part in [
        "code_challenge_method=S256",
        "code_challenge=",
        "nonce=",
        "state=",
        "response_type=code",
        "scope=openid",
    ] {
        assert!(to.contains(part), "{part} in {to}");
    }
    let secured = |r: &reqwest::blocking::Response| {
        let h = |name: &str| r.headers().get(name).map(|v| v.to_str().unwrap().to_string());
        let csp = h(CONTENT_SECURITY_POLICY.as_str()).unwrap_or_default();
        assert!(
            csp.contains("default-src 'none'")
                && csp.contains("form-action 'self'")
                && csp.contains("frame-ancestors 'none'"),
            "{}: {csp}",
            r.url()
        );
        assert_eq!(h("x-frame-options").as_deref(), Some("DENY"), "{}", r.url());
        assert_eq!(h("x-content-type-options").as_deref(), Some("nosniff"), "{}", r.url());
        assert_eq!(h("cache-control").as_deref(), Some("no-store"), "{}", r.url());
    };
    secured(&r);
    let cookies: Vec<_> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(cookies.iter().all(|k| !k.starts_with("ferry_session=")), "{cookies:?}");
    assert!(
        cookies
            .iter()
            .any(|k| k.starts_with("ferry_oidc=") && k.contains("HttpOnly") && k.contains("SameSite=Lax")),
        "{cookies:?}"
    );

    // A callback this browser never began: a refusal page, no session, the
    // same headers, and no script on it.
    let r = http
        .get(format!("{}/login/oidc/callback?code=made-up&state=made-up", c.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    secured(&r);
    assert!(crate::harness::console::session_cookie(r.headers()).is_none());
    let page = r.text().unwrap();
    assert!(page.contains("Sign-in refused") && !page.contains("<script"), "{page}");

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sso-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    let driver = ChromeDriver::start(dir.path());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities())
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("Chromium does not start through chromedriver: {e}\n{}", driver.log()));
        let mut browser = Browser {
            client: client.clone(),
            base: c.url.clone(),
            shots: shots.clone(),
            taken: 0,
        };
        let outcome = AssertUnwindSafe(scenario(&mut browser, &c, &op)).catch_unwind().await;
        let _ = client.close().await;
        if let Err(panic) = outcome {
            eprintln!("provider log:\n{}\nferry log:\n{}", op.log(), c.serve.log());
            std::panic::resume_unwind(panic);
        }
    });
    drop(driver);

    // ferry's log names who signed in and why others were refused, and
    // holds no code, token or the client secret.
    let log = c.serve.log();
    assert!(log.contains("Console login through the identity provider."), "{log}");
    for reason in ["domain", "unknown_user", "wrong_state", "no_flow", "expired"] {
        assert!(log.contains(&format!("reason=\"{reason}\"")), "{reason} in\n{log}");
    }
    assert!(!log.contains(CLIENT_SECRET), "the client secret in ferry's log");
    for callback in op.callbacks() {
        let code = callback
            .split("code=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .to_string();
        assert!(!log.contains(&code), "an authorization code in ferry's log");
    }
    assert!(!log.contains("eyJ"), "a JWT in ferry's log");
}

#[test]
fn local_passwords_can_be_turned_off() {
    // No provider is needed: nothing here reaches it.
    let c = console(free_port(), "local_passwords = false");
    let http = c.client();
    let (status, page) = c.page("/login", &crate::harness::console::Auth::None);
    assert_eq!(status, 200);
    assert!(
        page.contains("id=\"sso\"") && !page.contains("id=\"password\""),
        "{page}"
    );
    let r = http
        .post(format!("{}/api/login", c.url))
        .json(&serde_json::json!({"user": "admin", "password": crate::harness::console::PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: serde_json::Value = r.json().unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("console.oidc.local_passwords = false"),
        "{body}"
    );
    let r = http
        .post(format!("{}/login", c.url))
        .form(&[("user", "admin"), ("password", crate::harness::console::PASSWORD)])
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(crate::harness::console::session_cookie(r.headers()).is_none());
    assert!(r.text().unwrap().contains("sign in with Test provider instead"));
}
