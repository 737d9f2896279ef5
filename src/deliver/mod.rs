//! Destinations: getting a finished file to where the vendor reads it.
//!
//! Two traits split the work. A [`Destination`] knows one protocol's
//! connection and login; the [`Session`] it opens offers the handful of file
//! operations every protocol has (make a folder, upload, size, rename,
//! remove, list). Everything that must behave the same on every server lives
//! here, written once over those operations: the commit strategies that make
//! arrival atomic ([`commit`]), orphan clean-up, the size check, deadlines on
//! every operation, retries with backoff, and the 1-byte connection test.

pub mod commit;
mod ftps;
mod local;
pub mod sftp;
mod smb;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use local::LocalFolder;

use crate::config::{DeliveryMode, DestinationSettings, Settings};

/// What kind of failure an operation met: decides whether trying again can
/// help, and words the advice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// DNS, refused or dropped connection: try again.
    Network,
    /// No answer within the deadline: try again.
    Timeout,
    /// The server said it is busy or over its limits (FTP 421/450, SMB
    /// "insufficient resources"): try again.
    Busy,
    /// The login was refused.
    Auth,
    /// The server refused the operation on the path.
    Permission,
    /// The folder or file does not exist.
    NotFound,
    /// The server has no room.
    DiskFull,
    /// The SSH host key is unknown or changed, or the TLS certificate is not
    /// trusted.
    Trust,
    /// No algorithm both sides support.
    Algorithms,
    /// Anything else the server refused.
    Refused,
    /// The local file could not be read.
    Local,
}

impl FailureKind {
    /// The failure class as a label (metrics, alert rules): stable words.
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::Network => "network",
            FailureKind::Timeout => "timeout",
            FailureKind::Busy => "busy",
            FailureKind::Auth => "auth",
            FailureKind::Permission => "permission",
            FailureKind::NotFound => "not_found",
            FailureKind::DiskFull => "disk_full",
            FailureKind::Trust => "trust",
            FailureKind::Algorithms => "algorithms",
            FailureKind::Refused => "refused",
            FailureKind::Local => "local",
        }
    }

    /// Whether a later attempt may succeed without anyone changing anything.
    pub fn retryable(self) -> bool {
        matches!(self, FailureKind::Network | FailureKind::Timeout | FailureKind::Busy)
    }
}

/// A failed operation: its kind and a message a person can act on (it names
/// the server, the path or the method; never a secret).
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct OpError {
    /// Decides whether a later attempt may succeed, hence retries and the exit code.
    pub kind: FailureKind,
    /// What happened and what to do.
    pub message: String,
}

impl OpError {
    /// A failure of `kind`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        OpError {
            kind,
            message: message.into(),
        }
    }
}

/// What a server told us about itself while connecting: shown by
/// `ferry test-connection`, and its identity is recorded with each delivery.
#[derive(Clone, Debug, Default)]
pub struct ServerInfo {
    /// Labelled facts in the order learnt (banner, algorithms offered and
    /// chosen, TLS version, certificate, dialect...).
    pub details: Vec<(String, String)>,
    /// The server's identity: SSH host-key fingerprint or TLS certificate
    /// fingerprint.
    pub identity: Option<String>,
    /// The login method that worked (`publickey`, `password`,
    /// `keyboard-interactive`, `NTLM`...).
    pub auth_method: Option<String>,
}

impl ServerInfo {
    /// Adds a labelled fact.
    pub fn add(&mut self, label: &str, value: impl Into<String>) {
        self.details.push((label.to_string(), value.into()));
    }
}

/// An open connection offering the file operations the commit strategies are
/// built from. Paths are absolute on the server, `/`-separated.
#[async_trait::async_trait]
pub trait Session: Send {
    /// Facts learnt while connecting.
    fn info(&self) -> &ServerInfo;
    /// Creates `dir` and any missing parents; an existing folder is fine.
    async fn mkdir_all(&mut self, dir: &str) -> Result<(), OpError>;
    /// Writes the local `file` to `remote`, replacing it if present; returns
    /// the bytes sent. Each block is sent within `deadline`.
    async fn upload(&mut self, file: &Path, remote: &str, deadline: Duration) -> Result<u64, OpError>;
    /// The size of `remote`, or `None` if it does not exist.
    async fn size(&mut self, remote: &str) -> Result<Option<u64>, OpError>;
    /// Renames `from` to `to`, replacing `to` atomically where the protocol
    /// allows. A server that refuses to replace may return an error: the
    /// caller then removes `to` and renames again.
    async fn rename(&mut self, from: &str, to: &str) -> Result<(), OpError>;
    /// Removes the file `remote`.
    async fn remove(&mut self, remote: &str) -> Result<(), OpError>;
    /// The names (not paths) of the entries in `dir`.
    async fn list(&mut self, dir: &str) -> Result<Vec<String>, OpError>;
    /// Says goodbye politely; errors are of no interest by then.
    async fn close(&mut self);
}

/// One protocol's way of connecting and logging in.
#[async_trait::async_trait]
pub trait Destination: Send + Sync {
    /// Connects and logs in, within the destination's deadline.
    async fn connect(&self) -> Result<Box<dyn Session>, OpError>;
}

/// Where delivery finds what is not in a destination's own settings.
#[derive(Clone, Debug)]
pub struct DeliveryEnv {
    /// SFTP private keys (`ferry keys`).
    pub keys_dir: PathBuf,
    /// Trusted SSH host keys (`ferry trust`).
    pub known_hosts: PathBuf,
}

impl DeliveryEnv {
    /// The folders named in the configuration.
    pub fn from_settings(settings: &Settings) -> Self {
        DeliveryEnv {
            keys_dir: settings.keys_dir.clone(),
            known_hosts: settings.known_hosts.clone(),
        }
    }
}

/// Builds the destination a configuration entry describes.
pub fn connector(settings: &DestinationSettings, env: &DeliveryEnv) -> Box<dyn Destination> {
    match settings.mode {
        DeliveryMode::Local => Box::new(LocalFolder::new(settings)),
        DeliveryMode::Sftp | DeliveryMode::SftpLegacy => Box::new(sftp::Sftp::new(settings, env)),
        DeliveryMode::FtpsExplicit | DeliveryMode::FtpsImplicit => Box::new(ftps::Ftps::new(settings)),
        DeliveryMode::Smb => Box::new(smb::Smb::new(settings)),
    }
}

/// One try at a delivery.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// When it started.
    pub at: DateTime<Utc>,
    /// Why it failed; `None` for the one that succeeded.
    pub error: Option<String>,
}

/// Where a file ended up, and how.
#[derive(Clone, Debug)]
pub struct Delivered {
    /// The full remote path of the file.
    pub remote_path: String,
    /// The server's identity (host-key or certificate fingerprint).
    pub server_identity: Option<String>,
    /// The login method that worked.
    pub auth_method: Option<String>,
    /// Every try, the successful one last.
    pub attempts: Vec<Attempt>,
}

/// Why a delivery failed, after every try it was worth. The text says
/// which attempt it was, whether ferry tries again, and where the file is
/// kept, so whoever reads it knows what is left to do.
#[derive(Debug, thiserror::Error)]
#[error("delivery to '{destination}' ({target}) failed{tries}: {message}{outlook}", tries = tries(self.attempts.len()), outlook = self.outlook())]
pub struct DeliveryError {
    pub destination: String,
    /// `mode://user@server:port/path`.
    pub target: String,
    /// What went wrong and what to do.
    pub message: String,
    /// The last failure's kind.
    pub kind: FailureKind,
    /// Every try.
    pub attempts: Vec<Attempt>,
    /// How many tries the destination allows (`attempts`); `None` where
    /// nothing is retried (`test-connection`).
    pub allowed: Option<u32>,
    /// The local file that was being sent, kept for a later try.
    pub kept: Option<PathBuf>,
}

impl DeliveryError {
    /// The failure `e` at `settings`, after `attempts`.
    fn new(settings: &DestinationSettings, e: OpError, attempts: Vec<Attempt>) -> Self {
        DeliveryError {
            destination: settings.name.clone(),
            target: settings.describe(),
            message: e.message,
            kind: e.kind,
            attempts,
            allowed: None,
            kept: None,
        }
    }

    /// The same failure of a delivery of `file` that `settings` allows
    /// `retry.attempts` tries.
    fn of_delivery(mut self, settings: &DestinationSettings, file: &Path) -> Self {
        self.allowed = Some(settings.retry.attempts.max(1));
        self.kept = Some(file.to_path_buf());
        self
    }

    /// Whether ferry tries again and where the file is.
    fn outlook(&self) -> String {
        let Some(allowed) = self.allowed else {
            return String::new();
        };
        let n = self.attempts.len().max(1);
        let retry = if !self.kind.retryable() {
            format!(
                "attempt {n} of {allowed}; ferry does not try again, as trying again cannot help until this is fixed"
            )
        } else {
            format!("attempt {n} of {allowed}, the last one; ferry does not try again in this run")
        };
        let kept = self
            .kept
            .as_ref()
            .map(|p| format!("; the file is kept at {}", p.display()))
            .unwrap_or_default();
        format!(" ({retry}{kept})")
    }
}

fn tries(n: usize) -> String {
    if n > 1 {
        format!(" after {n} attempts")
    } else {
        String::new()
    }
}

/// Runs `op` within `deadline`, turning silence into a time-out that says
/// what was being waited for.
pub async fn within<T>(
    deadline: Duration,
    what: impl FnOnce() -> String,
    op: impl std::future::Future<Output = Result<T, OpError>>,
) -> Result<T, OpError> {
    match tokio::time::timeout(deadline, op).await {
        Ok(r) => r,
        Err(_) => Err(OpError::new(
            FailureKind::Timeout,
            format!(
                "no answer within {} while {}; raise `timeout` for this destination if the server is just slow",
                humantime::format_duration(deadline),
                what()
            ),
        )),
    }
}

/// Delivers `file` as `name` outside any run, with no ledger to tell: for
/// the protocol conformance suite. Runs send through `run::send`, which
/// records each step.
pub async fn deliver(
    settings: &DestinationSettings,
    env: &DeliveryEnv,
    file: &Path,
    name: &str,
    log: &(dyn Fn(String) + Send + Sync),
) -> Result<Delivered, DeliveryError> {
    let plan = commit::plan(settings, name)
        .map_err(|e| DeliveryError::new(settings, e, vec![]).of_delivery(settings, file))?;
    deliver_planned(settings, env, file, &plan, &commit::NoJournal, log).await
}

/// Delivers `file` as `plan` says, retrying network failures with backoff
/// (every attempt under the same temporary name, so the ledger's record of
/// it stays true). `journal` is told before the commit; `log` hears about
/// each failed attempt as it happens.
pub async fn deliver_planned(
    settings: &DestinationSettings,
    env: &DeliveryEnv,
    file: &Path,
    plan: &commit::Plan,
    journal: &dyn commit::Journal,
    log: &(dyn Fn(String) + Send + Sync),
) -> Result<Delivered, DeliveryError> {
    let name = plan.target.rsplit('/').next().unwrap_or(&plan.target);
    let destination = connector(settings, env);
    let mut attempts = Vec::new();
    let mut delay = settings.retry.delay;
    loop {
        let at = Utc::now();
        let result = attempt(destination.as_ref(), settings, file, plan, journal).await;
        crate::metrics::delivery_attempt(
            &settings.name,
            &settings.mode.to_string(),
            result.as_ref().err().map(|e| e.kind.label()),
        );
        match result {
            Ok((remote_path, info)) => {
                attempts.push(Attempt { at, error: None });
                return Ok(Delivered {
                    remote_path,
                    server_identity: info.identity,
                    auth_method: info.auth_method,
                    attempts,
                });
            }
            Err(e) => {
                attempts.push(Attempt {
                    at,
                    error: Some(e.message.clone()),
                });
                let n = attempts.len() as u32;
                if !e.kind.retryable() || n >= settings.retry.attempts {
                    return Err(DeliveryError::new(settings, e, attempts).of_delivery(settings, file));
                }
                log(format!(
                    "delivery of {name} to '{}' attempt {n} of {} failed: {}; ferry tries again in {} \
                     (the file is kept at {})",
                    settings.name,
                    settings.retry.attempts,
                    e.message,
                    humantime::format_duration(delay),
                    file.display()
                ));
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(settings.retry.max_delay);
            }
        }
    }
}

/// Connects and logs in within the destination's deadline.
pub async fn open(destination: &dyn Destination, settings: &DestinationSettings) -> Result<Box<dyn Session>, OpError> {
    within(
        settings.timeout,
        || format!("connecting to {}", settings.describe()),
        destination.connect(),
    )
    .await
}

async fn attempt(
    destination: &dyn Destination,
    settings: &DestinationSettings,
    file: &Path,
    plan: &commit::Plan,
    journal: &dyn commit::Journal,
) -> Result<(String, ServerInfo), OpError> {
    let mut session = open(destination, settings).await?;
    let result = commit::put(session.as_mut(), settings, file, plan, journal).await;
    session.close().await;
    result.map(|path| (path, session.info().clone()))
}

/// What `ferry test-connection` found.
#[derive(Clone, Debug)]
pub struct Probe {
    /// The 1-byte file written and removed.
    pub test_file: String,
    /// What the server said about itself.
    pub info: ServerInfo,
}

/// The original tool's Test Connection: writes a uniquely named 1-byte file
/// into the destination's folder and removes it again.
pub async fn test_connection(settings: &DestinationSettings, env: &DeliveryEnv) -> Result<Probe, DeliveryError> {
    let fail = |e: OpError| {
        let attempt = Attempt {
            at: Utc::now(),
            error: Some(e.message.clone()),
        };
        DeliveryError::new(settings, e, vec![attempt])
    };
    let local = tempfile::NamedTempFile::new()
        .and_then(|mut f| {
            use std::io::Write;
            f.write_all(b"1")?;
            Ok(f)
        })
        .map_err(|e| {
            fail(OpError::new(
                FailureKind::Local,
                format!("cannot write a local test file: {e}"),
            ))
        })?;
    let destination = connector(settings, env);
    let mut session = open(destination.as_ref(), settings).await.map_err(fail)?;
    let name = format!("ferry-test-{}.txt", uuid::Uuid::new_v4().simple());
    let remote = commit::join(&settings.path, &name);
    let result = async {
        // As a delivery would: the folder is created when missing.
        within(
            settings.timeout,
            || format!("creating folder {}", settings.path),
            session.mkdir_all(&settings.path),
        )
        .await?;
        let sent = session.upload(local.path(), &remote, settings.timeout).await?;
        let seen = within(
            settings.timeout,
            || format!("reading the size of {remote}"),
            session.size(&remote),
        )
        .await?;
        if sent != 1 || seen != Some(1) {
            return Err(OpError::new(
                FailureKind::Refused,
                format!("wrote 1 byte to {remote} but the server reports {seen:?}"),
            ));
        }
        within(
            settings.timeout,
            || format!("removing {remote}"),
            session.remove(&remote),
        )
        .await
    }
    .await;
    session.close().await;
    result.map_err(fail)?;
    Ok(Probe {
        test_file: remote,
        info: session.info().clone(),
    })
}
