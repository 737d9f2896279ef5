//! A throwaway ferry project for tests: a temporary folder with a
//! `ferry.toml`, scripts and a SQLite database, driven through the library
//! (`App`) or the built binary.

#![allow(dead_code)]

pub mod conformance;
pub mod console;
pub mod daemon;
pub mod ftp_server;
pub mod sftp_server;
pub mod test;
pub mod vsftpd;

// tests/servers.rs shares this harness and runs no CLI tests.
#[allow(unused_imports)]
pub use test::Test;

use std::path::{Path, PathBuf};
use std::process::Command;

use ferry::config::Settings;
use ferry::run::{App, RunReport, RunRequest};
use ferry::state::Trigger;

/// The repository's own folder (for its scripts/ and stdlib/).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `nth` (from 0) block fenced as `kind` (`rhai`, `text`) after the
/// first `after` in docs/scripting.md, so a test runs what the docs show.
pub fn documented(after: &str, kind: &str, nth: usize) -> String {
    let doc = std::fs::read_to_string(repo().join("docs/scripting.md")).unwrap();
    let mut section = &doc[doc.find(after).unwrap_or_else(|| panic!("{after} is in the docs"))..];
    let fence = format!("```{kind}\n");
    for _ in 0..nth {
        section = &section[section.find(&fence).unwrap() + fence.len()..];
    }
    let start = section.find(&fence).unwrap() + fence.len();
    section[start..start + section[start..].find("```").unwrap()].to_string()
}

/// A temporary project.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// A project whose `live` database is `fixture.db` and whose `out`
    /// destination is `out/`.
    pub fn new() -> Self {
        let p = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(p.path("scripts")).unwrap();
        std::fs::create_dir_all(p.path("stdlib")).unwrap();
        p.config(
            r#"timezone = "America/Chicago"
active_year = 2027
[databases.live]
url = "sqlite:fixture.db"
[destinations.out]
mode = "local"
path = "out"
"#,
        );
        p
    }

    /// A folder with copies of the repository's scripts/ and stdlib/ and no
    /// configuration: the embedded default applies, as for a new user.
    pub fn from_repo() -> Self {
        let p = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        for folder in ["scripts", "stdlib", "filters"] {
            copy_dir(&repo().join(folder), &p.path(folder));
        }
        p
    }

    /// A path inside the project.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Puts top-level settings (`key = value` lines) at the head of ferry.toml.
    pub fn settings_head(&self, lines: &str) -> &Self {
        let rest = std::fs::read_to_string(self.path("ferry.toml")).unwrap();
        self.config(&format!("{lines}\n{rest}"))
    }

    /// Replaces ferry.toml.
    pub fn config(&self, toml: &str) -> &Self {
        std::fs::write(self.path("ferry.toml"), toml).unwrap();
        self
    }

    /// Writes scripts/NAME.rhai.
    pub fn script(&self, name: &str, source: &str) -> &Self {
        std::fs::write(self.path(&format!("scripts/{name}.rhai")), source).unwrap();
        self
    }

    /// Runs SQL statements against fixture.db (created if missing).
    pub fn sqlite(&self, sql: &str) -> &Self {
        sqlite_exec(&self.path("fixture.db"), sql);
        self
    }

    /// Settings loaded from the project's ferry.toml.
    pub fn settings(&self) -> Settings {
        Settings::load(Some(&self.path("ferry.toml"))).unwrap()
    }

    /// The library's App for this project.
    pub async fn app(&self) -> App {
        App::open(self.settings(), "cli").await.unwrap()
    }

    /// Runs scripts/NAME.rhai through the library.
    pub async fn run(&self, name: &str, trigger: Trigger, params: &[(&str, &str)]) -> RunReport {
        let app = self.app().await;
        let script = app.load(&app.script_path(name)).unwrap_or_else(|e| panic!("{e}"));
        let req = RunRequest {
            params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..ferry::run::RunRequest::by(ferry::state::StartedBy::cli())
        };
        app.run(&script, trigger, req).await.unwrap()
    }

    /// Runs the ferry binary in the project folder.
    pub fn ferry(&self, args: &[&str]) -> Output {
        self.ferry_with_env(args, &[])
    }

    /// Runs the ferry binary in the project folder with extra environment
    /// variables (the secrets an `env:` reference names).
    pub fn ferry_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("FERRY_CONFIG")
            .env_remove("RUST_LOG")
            // As under systemd and cron: ferry names its user without these.
            .env_remove("USER")
            .env_remove("LOGNAME")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Fails when `secret` is in any file under the project folder `rel`
    /// (`.ferry` holds the state store, logs and kept files; `.` is everything).
    pub fn assert_not_stored(&self, rel: &str, secret: &str) {
        for file in self.all_files(rel) {
            let bytes = std::fs::read(self.path(rel).join(&file)).unwrap();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "the secret is in {rel}/{file}"
            );
        }
    }

    /// Names of the files in a project folder, sorted (empty if missing).
    pub fn files(&self, rel: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path(rel))
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Every file below a folder, recursively, as paths relative to it.
    pub fn all_files(&self, rel: &str) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.path(rel), &self.path(rel), &mut out);
        out.sort();
        out
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
}

/// Copies a folder and everything below it.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A port on 127.0.0.1 that was free a moment ago, for a server a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs async library code (the state store, SQL on a SQLite file) on a
/// thread and runtime of its own, so sync test code can call it, even from
/// inside an async test.
pub fn on_own_runtime<T, F, Fut>(f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f())
    })
    .join()
    .unwrap()
}

async fn connect(path: &Path) -> sqlx::SqliteConnection {
    use sqlx::Connection;
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    sqlx::SqliteConnection::connect_with(&opts).await.unwrap()
}

/// Executes SQL statements on a SQLite file.
pub fn sqlite_exec(path: &Path, sql: &str) {
    let (path, sql) = (path.to_path_buf(), sql.to_string());
    on_own_runtime(move || async move {
        let mut conn = connect(&path).await;
        sqlx::raw_sql(&sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    });
}

/// The value of a scalar query (one row, one column), as text, in a one-item list.
pub fn sqlite_column(path: &Path, sql: &str) -> Vec<String> {
    let (path, sql) = (path.to_path_buf(), sql.to_string());
    on_own_runtime(move || async move {
        let mut conn = connect(&path).await;
        let rows: Vec<(String,)> = sqlx::query_as(&format!("SELECT CAST(({sql}) AS TEXT)"))
            .fetch_all(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.into_iter().map(|r| r.0).collect()
    })
}

/// What the binary printed and returned.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "ferry failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        &self.stdout
    }
}

/// Reads a delimited file with Python's csv module in strict mode and
/// returns its records. Python is an independent parser: it knows nothing
/// of how ferry wrote the file.
pub fn python_csv(path: &Path, delimiter: char, encoding: &str) -> Vec<Vec<String>> {
    let d = delimiter.to_string();
    python_json(
        &[
            repo().join("tests/read_csv.py").as_os_str(),
            path.as_os_str(),
            d.as_ref(),
            encoding.as_ref(),
        ],
        &format!("python csv could not read {}", path.display()),
    )
}

/// A non-empty cell as openpyxl reads it: type (`number`, `text`, `bool`,
/// `datetime` or `time`), value, number format, bold.
pub type XlsxCell = (String, String, String, bool);

/// One sheet of a workbook as openpyxl reads it (`tests/read_xlsx.py`).
#[derive(Debug, serde::Deserialize)]
pub struct XlsxSheet {
    pub name: String,
    pub freeze: Option<String>,
    pub widths: std::collections::BTreeMap<String, f64>,
    /// Each cell, `None` if empty.
    pub rows: Vec<Vec<Option<XlsxCell>>>,
}

/// Reads an XLSX file with Python's openpyxl.
pub fn python_xlsx(path: &Path) -> Vec<XlsxSheet> {
    python_json(
        &[repo().join("tests/read_xlsx.py").as_os_str(), path.as_os_str()],
        &format!("openpyxl could not read {} (is openpyxl installed?)", path.display()),
    )
}

/// Runs `python3 ARGS...` (a script and its arguments, or `-c CODE ...`)
/// and parses the JSON it prints; `what` says what failed if it exits badly.
pub fn python_json<T: serde::de::DeserializeOwned>(args: &[&std::ffi::OsStr], what: &str) -> T {
    let out = Command::new("python3")
        .args(args)
        .output()
        .expect("python3 is installed");
    assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A run ledger for deliveries made outside a run: it reports the given
/// temporaries as still being written, so a delivery's sweep spares those
/// and removes every other ferry temporary it finds.
pub struct Ledger(pub Vec<String>);

#[async_trait::async_trait]
impl ferry::deliver::commit::Journal for Ledger {
    async fn in_flight(&self) -> Result<Option<Vec<String>>, String> {
        Ok(Some(self.0.clone()))
    }
    async fn committing(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Delivers `file` as `name` the way a run does, sweeping stale ferry
/// temporaries, with `ledger` saying which are live.
pub async fn deliver_swept(
    settings: &ferry::config::DestinationSettings,
    env: &ferry::deliver::DeliveryEnv,
    file: &Path,
    name: &str,
    ledger: &Ledger,
    log: &(dyn Fn(String) + Send + Sync),
) -> Result<ferry::deliver::Delivered, ferry::deliver::DeliveryError> {
    let plan = ferry::deliver::commit::plan(settings, name).unwrap();
    ferry::deliver::deliver_planned(settings, env, file, &plan, ledger, log).await
}
