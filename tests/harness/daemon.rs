//! Driving `ferry serve` as a real process from tests.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferry::state::RunRow;

use super::Project;

/// A `ferry serve` child process; killed when dropped.
pub struct Serve {
    child: Child,
    log: std::path::PathBuf,
}

impl Serve {
    /// Starts `ferry serve` in the project with extra arguments (creating
    /// the project's SQLite database if the test did not).
    pub fn start(p: &Project, args: &[&str]) -> Serve {
        if !p.path("fixture.db").exists() {
            p.sqlite("CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (1);");
        }
        let log = p.path(&format!(
            "serve-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .arg("serve")
            .args(args)
            .current_dir(p.dir.path())
            .env_remove("FERRY_CONFIG")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .unwrap();
        Serve { child, log }
    }

    /// What the daemon logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends a signal by name (`TERM`, `KILL`).
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// The process id (the state store's `instances.pid`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit; its exit code.
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it is true or `limit` passes.
pub fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out after {limit:?} waiting for {what}");
}

/// The runs of a script, newest first, read through the library.
pub fn runs(p: &Project, script: &str) -> Vec<RunRow> {
    let settings = p.settings();
    let script = script.to_string();
    super::on_own_runtime(move || async move {
        let store = ferry::state::Store::open(&settings.state).await.unwrap();
        store.runs(Some(&script), 10_000).await.unwrap()
    })
}
