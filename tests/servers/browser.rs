//! Headless Chromium for the console's browser tests: `chromedriver` on a
//! free port and a WebDriver session with helpers that wait for what a
//! person would see. Shared by the console's and the single sign-on tests.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, Locator};

use crate::harness::console::PASSWORD;

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// How long any one thing may take to appear in the browser.
pub const PATIENCE: Duration = Duration::from_secs(60);
/// The first bytes of every PNG file.
pub const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// `chromedriver` on a free 127.0.0.1 port, in a process group of its own;
/// the group (chromedriver and any Chromium it started) is killed on drop.
pub struct ChromeDriver {
    child: Child,
    /// Where WebDriver answers.
    pub url: String,
    log: PathBuf,
}

impl ChromeDriver {
    /// Starts chromedriver and waits until it answers `/status`.
    pub fn start(log_dir: &Path) -> ChromeDriver {
        use std::os::unix::process::CommandExt;
        for program in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                Path::new(program).exists(),
                "{program} is missing: the browser tests need `apt-get install chromium chromium-driver`"
            );
        }
        let port = crate::harness::free_port();
        let log = log_dir.join("chromedriver.log");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{CHROMEDRIVER} does not start: {e}"));
        let mut driver = ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = driver.child.try_wait().unwrap() {
                panic!("chromedriver exited ({status}) before answering:\n{}", driver.log());
            }
            let ready = http
                .get(format!("{}/status", driver.url))
                .send()
                .ok()
                .and_then(|r| r.json::<serde_json::Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                return driver;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "chromedriver did not answer on {} within 30 s:\n{}",
                driver.url,
                driver.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What chromedriver logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The whole group: Chromium outlives a killed chromedriver. The `--`
        // matters: procps' kill reads `kill -KILL -PGID` as kill(-1, KILL),
        // every process on the machine.
        let group = self.child.id();
        assert!(group > 1, "chromedriver's process group {group}");
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{group}")])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Headless Chromium's capabilities.
pub fn capabilities() -> serde_json::Map<String, serde_json::Value> {
    let caps = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
            ],
        },
    });
    caps.as_object().unwrap().clone()
}

/// A browser session on the console, numbering its screenshots.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    /// The console's address.
    pub base: String,
    /// Where screenshots go.
    pub shots: PathBuf,
    /// Screenshots taken so far.
    pub taken: usize,
}

impl Browser {
    /// Opens a path on the console.
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("opening {path}: {e}"));
    }

    /// The path of the page shown.
    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    /// Polls until `check` gives a value, or fails with what the page shows.
    pub async fn until<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let start = Instant::now();
        loop {
            if let Some(v) = check().await {
                return v;
            }
            if start.elapsed() > PATIENCE {
                let url = self.client.current_url().await.map(|u| u.to_string());
                let source = self.client.source().await.unwrap_or_default();
                panic!("timed out waiting for {what}; the browser is on {url:?}:\n{source}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The element `css` matches, once it is there.
    pub async fn find(&self, css: &str) -> Element {
        let c = &self.client;
        self.until(
            &format!("`{css}`"),
            || async move { c.find(Locator::Css(css)).await.ok() },
        )
        .await
    }

    /// The text of the element `css` matches, once `ok` accepts it. Reads
    /// again after a refresh replaces the element.
    pub async fn text_until(&self, css: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let c = &self.client;
        let ok = &ok;
        self.until(&format!("`{css}` to show {what}"), || async move {
            let t = c.find(Locator::Css(css)).await.ok()?.text().await.ok()?;
            ok(&t).then_some(t)
        })
        .await
    }

    /// The text of the element `css` matches.
    pub async fn text(&self, css: &str) -> String {
        self.text_until(css, "anything", |_| true).await
    }

    /// Clicks the element `css` matches.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking `{css}`: {e}"));
    }

    /// How many elements `css` matches now.
    pub async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.unwrap().len()
    }

    /// Types into a field, replacing what it held.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Logs in through the form and waits for the extract list.
    pub async fn log_in(&self, user: &str) {
        self.log_in_with(user, PASSWORD).await;
    }

    /// Logs in with `password` and waits for the extract list.
    pub async fn log_in_with(&self, user: &str, password: &str) {
        self.goto("/login").await;
        self.fill("#user", user).await;
        self.fill("#password", password).await;
        self.click("#login").await;
        self.find("table#extracts").await;
        assert_eq!(self.path().await, "/", "{user} lands on the extract list");
        assert_eq!(self.text("#whoami").await, user);
    }

    /// Saves a screenshot of the window as `NN-name.png`; checks it is a PNG.
    pub async fn shot(&mut self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        self.save(name, png)
    }

    /// Saves a screenshot of just the element `css` matches (scrolled into
    /// view by the browser), as [`Browser::shot`] does the window.
    pub async fn shot_of(&mut self, css: &str, name: &str) -> PathBuf {
        let png = self.find(css).await.screenshot().await.unwrap();
        self.save(name, png)
    }

    fn save(&mut self, name: &str, png: Vec<u8>) -> PathBuf {
        assert!(
            png.len() > 1000 && png.starts_with(PNG_SIGNATURE),
            "the screenshot of {name} is not a PNG ({} bytes)",
            png.len()
        );
        self.taken += 1;
        let path = self.shots.join(format!("{:02}-{name}.png", self.taken));
        std::fs::write(&path, &png).unwrap();
        path
    }
}
