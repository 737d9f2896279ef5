//! SMB 2/3 delivery through the `ferry-smb` helper program.
//!
//! The `smb` crate cannot be linked into ferry: it pulls sspi → picky, which
//! pin RustCrypto release candidates with `=` that conflict with russh (our
//! SFTP client). So SMB lives in a small program with its own lockfile
//! (`smb-helper/`, binary `ferry-smb`), and this module runs it and speaks a
//! line protocol with it: one JSON request per line on its stdin, one JSON
//! reply per line on its stdout, mirroring [`Session`]. The password goes
//! only down the pipe, never on a command line or into the environment.
//!
//! Deadlines: the helper bounds every SMB request itself (connect stages,
//! each open/close, each upload block with the `deadline` `upload` gets), so
//! its time-out messages say exactly what was slow. This side adds a
//! backstop around each reply (the framework's `within()`, and for uploads
//! `deadline` × the number of blocks), so a stuck helper cannot hang ferry.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::{Destination, FailureKind, OpError, ServerInfo, Session};
use crate::config::DestinationSettings;

/// The environment variable naming the helper program, when it is not next
/// to `ferry` or on PATH.
pub const HELPER_ENV: &str = "FERRY_SMB_HELPER";
/// The helper program's file name.
pub const HELPER_NAME: &str = "ferry-smb";
/// The block size the backstop deadline of an upload counts in when the
/// helper did not say which it uses.
const BACKSTOP_BLOCK: u64 = 1024 * 1024;
/// How much of the helper's stderr is kept for messages (a crash's last words).
const STDERR_TAIL: usize = 4096;

/// An SMB share: `path` is `/SHARE/folder...`.
pub struct Smb {
    settings: DestinationSettings,
}

impl Smb {
    /// The destination `settings` describes.
    pub fn new(settings: &DestinationSettings) -> Self {
        Smb {
            settings: settings.clone(),
        }
    }
}

/// A request line. No `Debug`: `Connect` carries the password.
#[derive(Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Request<'a> {
    Connect {
        server: &'a str,
        port: u16,
        username: &'a str,
        password: &'a str,
        domain: Option<&'a str>,
        share: &'a str,
        timeout_ms: u64,
    },
    MkdirAll {
        path: &'a str,
    },
    Upload {
        local: &'a str,
        remote: &'a str,
        block_timeout_ms: u64,
    },
    Size {
        path: &'a str,
    },
    Rename {
        from: &'a str,
        to: &'a str,
    },
    Remove {
        path: &'a str,
    },
    List {
        path: &'a str,
    },
    Close,
}

/// The line for request `id`.
fn encode(id: u64, request: &Request) -> String {
    let mut value = serde_json::to_value(request).expect("requests are plain data");
    value["id"] = id.into();
    let mut line = value.to_string();
    line.push('\n');
    line
}

/// A reply line: its request id and the result.
fn decode(line: &str) -> Result<(u64, Result<Value, OpError>), String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON ({e})"))?;
    let id = value["id"].as_u64().ok_or("no request id")?;
    if let Some(error) = value.get("error") {
        let kind = error["kind"]
            .as_str()
            .map(kind_from_name)
            .unwrap_or(FailureKind::Refused);
        let message = error["message"]
            .as_str()
            .unwrap_or("the SMB helper gave no reason")
            .to_string();
        return Ok((id, Err(OpError::new(kind, message))));
    }
    match value.get("ok") {
        Some(ok) => Ok((id, Ok(ok.clone()))),
        None => Err("neither ok nor error".into()),
    }
}

/// A `FailureKind` from its protocol name (unknown names: `Refused`).
fn kind_from_name(name: &str) -> FailureKind {
    match name {
        "network" => FailureKind::Network,
        "timeout" => FailureKind::Timeout,
        "busy" => FailureKind::Busy,
        "auth" => FailureKind::Auth,
        "permission" => FailureKind::Permission,
        "not_found" => FailureKind::NotFound,
        "disk_full" => FailureKind::DiskFull,
        "trust" => FailureKind::Trust,
        "algorithms" => FailureKind::Algorithms,
        "local" => FailureKind::Local,
        _ => FailureKind::Refused,
    }
}

/// The share of an SMB `path` (`/SHARE/folder` → `SHARE`).
fn share_of(path: &str) -> Option<&str> {
    path.split('/').find(|p| !p.is_empty())
}

/// Where the helper is: `FERRY_SMB_HELPER`, else `ferry-smb` next to the
/// running program (or one folder up, for cargo's `target/debug/deps`
/// layout), else on PATH.
fn find_helper(env: Option<OsString>, exe: Option<PathBuf>, path: Option<OsString>) -> Result<PathBuf, OpError> {
    if let Some(p) = env.filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(OpError::new(
                FailureKind::Local,
                format!(
                    "{HELPER_ENV} names {}, which is not a file; {}",
                    p.display(),
                    build_advice()
                ),
            ))
        };
    }
    let name = format!("{HELPER_NAME}{}", std::env::consts::EXE_SUFFIX);
    let beside = exe
        .as_deref()
        .and_then(Path::parent)
        .into_iter()
        .flat_map(|dir| [Some(dir.to_path_buf()), dir.parent().map(Path::to_path_buf)])
        .flatten();
    let on_path = path.iter().flat_map(std::env::split_paths).collect::<Vec<_>>();
    beside
        .chain(on_path)
        .map(|dir| dir.join(&name))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            OpError::new(
                FailureKind::Local,
                format!(
                    "SMB delivery needs the helper program {HELPER_NAME}, which was not found next to ferry, \
                     on PATH or in {HELPER_ENV}; {}",
                    build_advice()
                ),
            )
        })
}

fn build_advice() -> String {
    format!(
        "build it with `cargo build --release --manifest-path smb-helper/Cargo.toml` and put \
         smb-helper/target/release/{HELPER_NAME} next to the ferry program, or set {HELPER_ENV} to its path"
    )
}

/// What the helper's connect reply says, as `ferry test-connection` shows it.
fn server_info(connected: &Value, server: &str, port: u16, share: &str) -> ServerInfo {
    let mut info = ServerInfo::default();
    info.add("server", format!("{server}:{port}"));
    info.add("share", share.to_string());
    let text = |k: &str| connected[k].as_str().filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(d) = text("dialect") {
        info.add("dialect", format!("SMB {d}"));
    }
    if let Some(g) = text("server_guid") {
        info.add("server GUID", g.clone());
        info.identity = Some(g);
    }
    if let Some(s) = text("signing") {
        info.add("signing algorithm", s);
    }
    if let Some(e) = text("encryption") {
        info.add("encryption cipher", e);
    }
    if let Some(b) = connected["block_size"].as_u64() {
        info.add("write block", format!("{} KiB", b / 1024));
    }
    info.add("authentication", "NTLM");
    info.auth_method = Some("NTLM".into());
    info
}

#[async_trait::async_trait]
impl Destination for Smb {
    async fn connect(&self) -> Result<Box<dyn Session>, OpError> {
        let s = &self.settings;
        let helper = find_helper(
            std::env::var_os(HELPER_ENV),
            std::env::current_exe().ok(),
            std::env::var_os("PATH"),
        )?;
        let target = s.describe();
        let password = match &s.password {
            Some(p) => p.resolve().map_err(|e| OpError::new(FailureKind::Local, e))?,
            None => {
                return Err(OpError::new(
                    FailureKind::Local,
                    format!("{target}: SMB logs in with a password: set password = \"env:VARIABLE\""),
                ))
            }
        };
        let share = share_of(&s.path).ok_or_else(|| {
            OpError::new(
                FailureKind::Local,
                format!("{target}: `path` must name the share: /SHARE/folder"),
            )
        })?;
        let mut helper = Helper::spawn(&helper, &target, &password)?;
        // Slightly under ferry's own deadline, so the helper's message (which
        // stage was slow) wins the race with the framework's.
        let timeout = s.timeout.mul_f64(0.9).max(Duration::from_millis(100));
        let connected = helper
            .call(
                &Request::Connect {
                    server: &s.server,
                    port: s.port,
                    username: s.username.as_deref().unwrap_or_default(),
                    password: &password,
                    domain: s.domain.as_deref(),
                    share,
                    timeout_ms: timeout.as_millis() as u64,
                },
                s.timeout * 4,
            )
            .await?;
        let info = server_info(&connected, &s.server, s.port, share);
        let block = connected["block_size"]
            .as_u64()
            .filter(|b| *b > 0)
            .unwrap_or(BACKSTOP_BLOCK);
        Ok(Box::new(SmbSession {
            helper,
            info,
            timeout: s.timeout,
            block,
        }))
    }
}

/// The running helper program.
struct Helper {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: Arc<Mutex<String>>,
    next_id: u64,
    target: String,
    password: String,
}

impl Helper {
    fn spawn(program: &Path, target: &str, password: &str) -> Result<Helper, OpError> {
        let mut child = Command::new(program)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                OpError::new(
                    FailureKind::Local,
                    format!(
                        "cannot run the SMB helper {}: {e}; {}",
                        program.display(),
                        build_advice()
                    ),
                )
            })?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped")).lines();
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut err) = child.stderr.take() {
            let tail = stderr.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = err.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let mut t = tail.lock().unwrap();
                    t.push_str(&String::from_utf8_lossy(&buf[..n]));
                    if t.len() > STDERR_TAIL {
                        let cut = t.len() - STDERR_TAIL;
                        let cut = (cut..t.len()).find(|i| t.is_char_boundary(*i)).unwrap_or(t.len());
                        t.drain(..cut);
                    }
                }
            });
        }
        Ok(Helper {
            child,
            stdin,
            stdout,
            stderr,
            next_id: 1,
            target: target.to_string(),
            password: password.to_string(),
        })
    }

    fn scrub(&self, text: &str) -> String {
        if self.password.len() >= 3 {
            text.replace(&self.password, "***")
        } else {
            text.to_string()
        }
    }

    /// Why the helper stopped answering.
    fn gone(&mut self, what: &str) -> OpError {
        let status = self
            .child
            .try_wait()
            .ok()
            .flatten()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        let said = self.stderr.lock().unwrap().trim().to_string();
        let said = if said.is_empty() {
            String::new()
        } else {
            format!(": {}", self.scrub(&said))
        };
        OpError::new(
            FailureKind::Network,
            format!("the SMB helper stopped while {what} for {}{status}{said}", self.target),
        )
    }

    /// Sends `request` and waits up to `backstop` for its reply; replies to
    /// earlier requests ferry stopped waiting for are skipped.
    async fn call(&mut self, request: &Request<'_>, backstop: Duration) -> Result<Value, OpError> {
        let id = self.next_id;
        self.next_id += 1;
        let line = encode(id, request);
        let what = match request {
            Request::Connect { .. } => "connecting",
            Request::MkdirAll { .. } => "creating a folder",
            Request::Upload { .. } => "uploading",
            Request::Size { .. } => "reading a size",
            Request::Rename { .. } => "renaming",
            Request::Remove { .. } => "removing",
            Request::List { .. } => "listing",
            Request::Close => "closing",
        };
        if self.stdin.write_all(line.as_bytes()).await.is_err() || self.stdin.flush().await.is_err() {
            return Err(self.gone(what));
        }
        let target = self.target.clone();
        let read = async {
            loop {
                match self.stdout.next_line().await {
                    Ok(Some(line)) => match decode(&line) {
                        Ok((got, result)) if got == id => return Some(result),
                        Ok(_) => continue,
                        Err(e) => {
                            return Some(Err(OpError::new(
                                FailureKind::Local,
                                format!("the SMB helper answered something ferry cannot read ({e}); is it from this version of ferry?"),
                            )))
                        }
                    },
                    _ => return None,
                }
            }
        };
        let answer = match tokio::time::timeout(backstop, read).await {
            Ok(a) => a,
            Err(_) => {
                return Err(OpError::new(
                    FailureKind::Timeout,
                    format!(
                        "the SMB helper gave no answer within {} while {what} for {target}",
                        humantime::format_duration(backstop)
                    ),
                ))
            }
        };
        match answer {
            Some(result) => result.map_err(|e| OpError::new(e.kind, self.scrub(&e.message))),
            None => Err(self.gone(what)),
        }
    }
}

/// A connected share, through the helper.
struct SmbSession {
    helper: Helper,
    info: ServerInfo,
    timeout: Duration,
    block: u64,
}

impl SmbSession {
    async fn done(&mut self, request: Request<'_>) -> Result<(), OpError> {
        self.helper.call(&request, self.timeout * 3).await.map(|_| ())
    }
}

#[async_trait::async_trait]
impl Session for SmbSession {
    fn info(&self) -> &ServerInfo {
        &self.info
    }

    async fn mkdir_all(&mut self, dir: &str) -> Result<(), OpError> {
        self.done(Request::MkdirAll { path: dir }).await
    }

    async fn upload(&mut self, file: &Path, remote: &str, deadline: Duration) -> Result<u64, OpError> {
        let size = std::fs::metadata(file)
            .map_err(|e| OpError::new(FailureKind::Local, format!("cannot read {}: {e}", file.display())))?
            .len();
        let local = file.to_str().ok_or_else(|| {
            OpError::new(
                FailureKind::Local,
                format!("{} is not a UTF-8 path the SMB helper can be told", file.display()),
            )
        })?;
        // The helper bounds each block by `deadline`; this is the backstop
        // for the whole transfer (open and close count as blocks too).
        let blocks = size.div_ceil(self.block) as u32 + 2;
        let request = Request::Upload {
            local,
            remote,
            block_timeout_ms: deadline.as_millis() as u64,
        };
        let sent = self.helper.call(&request, deadline.saturating_mul(blocks)).await?;
        sent.as_u64()
            .ok_or_else(|| OpError::new(FailureKind::Local, "the SMB helper did not say how many bytes it sent"))
    }

    async fn size(&mut self, remote: &str) -> Result<Option<u64>, OpError> {
        let v = self
            .helper
            .call(&Request::Size { path: remote }, self.timeout * 3)
            .await?;
        Ok(v.as_u64())
    }

    async fn rename(&mut self, from: &str, to: &str) -> Result<(), OpError> {
        self.done(Request::Rename { from, to }).await
    }

    async fn remove(&mut self, remote: &str) -> Result<(), OpError> {
        self.done(Request::Remove { path: remote }).await
    }

    async fn list(&mut self, dir: &str) -> Result<Vec<String>, OpError> {
        let v = self.helper.call(&Request::List { path: dir }, self.timeout * 3).await?;
        Ok(v.as_array()
            .map(|a| a.iter().filter_map(|n| n.as_str().map(str::to_string)).collect())
            .unwrap_or_default())
    }

    async fn close(&mut self) {
        let t = self.timeout.min(Duration::from_secs(5));
        let _ = self.helper.call(&Request::Close, t).await;
        if tokio::time::timeout(t, self.helper.child.wait()).await.is_err() {
            let _ = self.helper.child.kill().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_one_json_line_each_with_their_id() {
        let line = encode(
            7,
            &Request::Rename {
                from: "/vendor/.a.partial",
                to: "/vendor/a",
            },
        );
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(v["op"], "rename");
        assert_eq!(
            (v["from"].as_str(), v["to"].as_str()),
            (Some("/vendor/.a.partial"), Some("/vendor/a"))
        );
        let v: Value = serde_json::from_str(&encode(1, &Request::Close)).unwrap();
        assert_eq!(v, serde_json::json!({"id": 1, "op": "close"}));
        let v: Value = serde_json::from_str(&encode(
            2,
            &Request::Upload {
                local: "/tmp/x y.csv",
                remote: "/s/é.csv",
                block_timeout_ms: 1500,
            },
        ))
        .unwrap();
        assert_eq!(v["op"], "upload");
        assert_eq!(v["block_timeout_ms"], 1500);
        assert_eq!(v["remote"], "/s/é.csv");
    }

    #[test]
    fn the_connect_request_carries_the_login_on_the_pipe_only() {
        let line = encode(
            1,
            &Request::Connect {
                server: "files.example.org",
                port: 445,
                username: "ferry",
                password: "s3cr3t!\"",
                domain: Some("DISTRICT"),
                share: "vendor",
                timeout_ms: 54_000,
            },
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["op"], "connect");
        assert_eq!(v["password"], "s3cr3t!\"");
        assert_eq!(v["domain"], "DISTRICT");
        assert_eq!(v["timeout_ms"], 54_000);
    }

    #[test]
    fn replies_decode_to_values_or_classified_errors() {
        let (id, r) = decode(r#"{"id":3,"ok":[".a","b"]}"#).unwrap();
        assert_eq!(id, 3);
        assert_eq!(r.unwrap(), serde_json::json!([".a", "b"]));
        let (_, r) = decode(r#"{"id":4,"ok":null}"#).unwrap();
        assert_eq!(r.unwrap(), Value::Null);
        let (id, r) =
            decode(r#"{"id":5,"error":{"kind":"permission","message":"cannot write /vendor/locked/x"}}"#).unwrap();
        let e = r.unwrap_err();
        assert_eq!((id, e.kind), (5, FailureKind::Permission));
        assert_eq!(e.message, "cannot write /vendor/locked/x");
        assert!(decode("not json").is_err());
        assert!(decode(r#"{"ok":1}"#).is_err(), "no id");
        assert!(decode(r#"{"id":1}"#).is_err(), "neither ok nor error");
    }

    #[test]
    fn every_kind_name_maps_and_unknown_names_are_refusals() {
        let all = [
            ("network", FailureKind::Network),
            ("timeout", FailureKind::Timeout),
            ("busy", FailureKind::Busy),
            ("auth", FailureKind::Auth),
            ("permission", FailureKind::Permission),
            ("not_found", FailureKind::NotFound),
            ("disk_full", FailureKind::DiskFull),
            ("trust", FailureKind::Trust),
            ("algorithms", FailureKind::Algorithms),
            ("refused", FailureKind::Refused),
            ("local", FailureKind::Local),
            ("something new", FailureKind::Refused),
        ];
        for (name, kind) in all {
            assert_eq!(kind_from_name(name), kind, "{name}");
        }
        assert!(kind_from_name("network").retryable() && kind_from_name("busy").retryable());
        assert!(!kind_from_name("auth").retryable() && !kind_from_name("not_found").retryable());
    }

    #[test]
    fn the_share_is_the_first_part_of_the_path() {
        assert_eq!(share_of("/vendor/in/2026"), Some("vendor"));
        assert_eq!(share_of("/vendor"), Some("vendor"));
        assert_eq!(share_of("/"), None);
    }

    #[test]
    fn the_helper_is_found_by_variable_beside_ferry_or_on_path() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        let deps = bin.join("deps");
        let elsewhere = dir.path().join("elsewhere");
        for d in [&deps, &elsewhere] {
            std::fs::create_dir_all(d).unwrap();
        }
        let name = format!("{HELPER_NAME}{}", std::env::consts::EXE_SUFFIX);
        // Beside a test binary in target/debug/deps: one folder up.
        std::fs::write(bin.join(&name), b"").unwrap();
        let found = find_helper(None, Some(deps.join("ferry-test")), None).unwrap();
        assert_eq!(found, bin.join(&name));
        // Right beside the program wins over the folder above.
        std::fs::write(deps.join(&name), b"").unwrap();
        assert_eq!(
            find_helper(None, Some(deps.join("ferry")), None).unwrap(),
            deps.join(&name)
        );
        // On PATH.
        std::fs::write(elsewhere.join(&name), b"").unwrap();
        let path = std::env::join_paths([dir.path().join("nothing"), elsewhere.clone()]).unwrap();
        assert_eq!(
            find_helper(None, Some(dir.path().join("x/ferry")), Some(path.clone())).unwrap(),
            elsewhere.join(&name)
        );
        // The variable wins over everything.
        let chosen = dir.path().join("chosen");
        std::fs::write(&chosen, b"").unwrap();
        assert_eq!(
            find_helper(Some(chosen.clone().into()), Some(deps.join("ferry")), Some(path)).unwrap(),
            chosen
        );
    }

    #[test]
    fn a_missing_helper_says_how_to_build_it() {
        let dir = tempfile::tempdir().unwrap();
        let e = find_helper(
            None,
            Some(dir.path().join("ferry")),
            Some(dir.path().as_os_str().into()),
        )
        .unwrap_err();
        assert_eq!(e.kind, FailureKind::Local);
        assert!(
            e.message
                .contains("cargo build --release --manifest-path smb-helper/Cargo.toml"),
            "{e}"
        );
        assert!(e.message.contains(HELPER_ENV), "{e}");
        let e = find_helper(Some(dir.path().join("nope").into()), None, None).unwrap_err();
        assert_eq!(e.kind, FailureKind::Local);
        assert!(e.message.contains("nope") && e.message.contains("cargo build"), "{e}");
    }

    #[test]
    fn server_info_shows_the_dialect_and_records_the_guid_and_ntlm() {
        let connected = serde_json::json!({
            "dialect": "3.1.1", "server_name": "127.0.0.1", "server_guid": "6d2a8c3e-0000-4000-8000-1234567890ab",
            "signing": "AesGmac", "encryption": null, "max_write_size": 8388608, "block_size": 8388608
        });
        let info = server_info(&connected, "127.0.0.1", 4450, "vendor");
        let get = |k: &str| info.details.iter().find(|(l, _)| l == k).map(|(_, v)| v.as_str());
        assert_eq!(get("dialect"), Some("SMB 3.1.1"));
        assert_eq!(get("server"), Some("127.0.0.1:4450"));
        assert_eq!(get("share"), Some("vendor"));
        assert_eq!(get("write block"), Some("8192 KiB"));
        assert_eq!(get("signing algorithm"), Some("AesGmac"));
        assert_eq!(get("encryption cipher"), None);
        assert_eq!(info.identity.as_deref(), Some("6d2a8c3e-0000-4000-8000-1234567890ab"));
        assert_eq!(info.auth_method.as_deref(), Some("NTLM"));
    }
}
