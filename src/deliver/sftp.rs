//! SFTP delivery over russh and russh-sftp: `mode = "sftp"` offers russh's
//! modern algorithms only; `mode = "sftp-legacy"` adds the SHA-1 key
//! exchanges, `ssh-rsa` host keys and the NIST-curve exchanges that older
//! appliances still need.
//!
//! The session speaks the SFTP protocol through russh-sftp's raw client, so
//! it sees the server's extensions: `posix-rename@openssh.com` gives an
//! atomic replace and `fsync@openssh.com` makes an upload durable before it
//! is renamed into place. Trust (`ferry trust`) and keys (`ferry keys`) are
//! the administrator's side of the same connection.

mod connect;
pub(crate) mod known_hosts;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{FuturesOrdered, StreamExt};
use russh::client;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::client::RawSftpSession;
use russh_sftp::protocol::{FileAttributes, OpenFlags, Packet, StatusCode};
use tokio::io::AsyncReadExt;

use super::{within, DeliveryEnv, Destination, FailureKind, OpError, ServerInfo, Session};
use crate::config::DestinationSettings;

pub use connect::address;

const POSIX_RENAME: &str = "posix-rename@openssh.com";
const FSYNC: &str = "fsync@openssh.com";
const LIMITS: &str = "limits@openssh.com";
/// Every SFTP server must accept writes of this size (draft-ietf-secsh-filexfer §3).
const SAFE_WRITE: usize = 32 * 1024;
/// The largest write ferry sends even when a server allows more.
const MAX_WRITE: usize = 255 * 1024;
/// Writes in flight at once: enough to keep a long link busy.
const IN_FLIGHT: usize = 64;

/// An SFTP destination (modern or legacy).
pub struct Sftp {
    settings: DestinationSettings,
    env: DeliveryEnv,
}

impl Sftp {
    /// The destination `settings` describes; `env` gives the keys folder and
    /// the known_hosts file.
    pub fn new(settings: &DestinationSettings, env: &DeliveryEnv) -> Self {
        Sftp {
            settings: settings.clone(),
            env: env.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Destination for Sftp {
    async fn connect(&self) -> Result<Box<dyn Session>, OpError> {
        let s = &self.settings;
        let at = address(s);
        let mut c = connect::connect(s, &self.env).await?;
        let method = connect::authenticate(&mut c.handle, s, &self.env).await?;
        let mut info = c.info;
        info.auth_method = Some(method.to_string());
        info.add(
            "authentication",
            format!("{method} as {}", s.username.as_deref().unwrap_or("")),
        );
        let channel = c
            .handle
            .channel_open_session()
            .await
            .map_err(|e| OpError::new(FailureKind::Network, format!("{at}: cannot open an SSH channel: {e}")))?;
        channel.request_subsystem(true, "sftp").await.map_err(|e| {
            OpError::new(
                FailureKind::Refused,
                format!("{at}: the server refused the SFTP subsystem ({e}); ask the vendor whether SFTP is enabled for this account"),
            )
        })?;
        let mut raw = RawSftpSession::new(channel.into_stream());
        raw.set_timeout(s.timeout.as_secs().max(1));
        let version = raw.init().await.map_err(|e| sftp_error(&at, "starting SFTP", e))?;
        let mut extensions: Vec<String> = version.extensions.iter().map(|(k, v)| format!("{k} {v}")).collect();
        extensions.sort();
        let has = |name: &str| version.extensions.contains_key(name);
        let mut write_len = SAFE_WRITE;
        if has(LIMITS) {
            if let Ok(limits) = raw.limits().await {
                if limits.max_write_len > 0 {
                    write_len = (limits.max_write_len as usize).clamp(1024, MAX_WRITE);
                }
                raw.set_limits(limits.into());
            }
        }
        info.add("SFTP version", version.version.to_string());
        info.add(
            "SFTP extensions",
            if extensions.is_empty() {
                "(none)".into()
            } else {
                extensions.join(", ")
            },
        );
        Ok(Box::new(SftpSession {
            at,
            posix_rename: has(POSIX_RENAME),
            fsync: has(FSYNC),
            write_len,
            raw: Arc::new(raw),
            handle: Some(c.handle),
            info,
        }))
    }
}

struct SftpSession {
    at: String,
    raw: Arc<RawSftpSession>,
    handle: Option<client::Handle<connect::Handler>>,
    posix_rename: bool,
    fsync: bool,
    write_len: usize,
    info: ServerInfo,
}

/// Classifies an SFTP failure; the message names the path and what to do.
fn sftp_error(at: &str, what: &str, e: SftpError) -> OpError {
    match e {
        SftpError::Status(status) => {
            let text = status.error_message.trim().to_string();
            let lower = text.to_ascii_lowercase();
            let (kind, advice) = match status.status_code {
                StatusCode::NoSuchFile => (FailureKind::NotFound, "; check the destination's path"),
                StatusCode::PermissionDenied => (
                    FailureKind::Permission,
                    "; ask the vendor to give this login write access to the folder",
                ),
                StatusCode::NoConnection | StatusCode::ConnectionLost => (FailureKind::Network, ""),
                _ if lower.contains("no space") || lower.contains("quota") || lower.contains("disk full") => {
                    (FailureKind::DiskFull, "; the server is out of space: ask the vendor to free some")
                }
                _ => (FailureKind::Refused, ""),
            };
            let reason = if text.is_empty() || text.eq_ignore_ascii_case(&status.status_code.to_string()) {
                status.status_code.to_string().to_lowercase()
            } else {
                format!("{} ({text})", status.status_code.to_string().to_lowercase())
            };
            OpError::new(kind, format!("{what} on {at}: {reason}{advice}"))
        }
        SftpError::Timeout => OpError::new(
            FailureKind::Timeout,
            format!("{what} on {at}: the server did not answer in time; raise `timeout` for this destination if the server is just slow"),
        ),
        SftpError::IO(m) => OpError::new(FailureKind::Network, format!("{what} on {at}: connection lost ({m})")),
        SftpError::UnexpectedBehavior(m) => {
            OpError::new(FailureKind::Network, format!("{what} on {at}: connection lost ({m})"))
        }
        other => OpError::new(FailureKind::Refused, format!("{what} on {at}: {other}")),
    }
}

/// A failed write. OpenSSH answers a write it could not do (ENOSPC, EDQUOT,
/// EIO...) with the bare SSH_FX_FAILURE, so the message says what is known
/// and what usually causes it rather than guessing.
fn write_error(at: &str, what: &str, e: SftpError) -> OpError {
    match e {
        SftpError::Status(status) if status.status_code == StatusCode::Failure => OpError::new(
            FailureKind::Refused,
            format!(
                "{what} on {at}: the server refused the write (OpenSSH does not say why; a full disk is the usual cause); \
                 ask the vendor to check the free space and quota of the folder"
            ),
        ),
        other => sftp_error(at, what, other),
    }
}

fn is_not_found(e: &SftpError) -> bool {
    matches!(e, SftpError::Status(s) if s.status_code == StatusCode::NoSuchFile)
}

/// An SSH string: length then bytes.
fn ssh_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

impl SftpSession {
    async fn stat(&self, path: &str) -> Result<Option<FileAttributes>, OpError> {
        match self.raw.stat(path).await {
            Ok(a) => Ok(Some(a.attrs)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(sftp_error(&self.at, &format!("cannot read {path}"), e)),
        }
    }

    async fn send_file(&self, file: &Path, remote: &str, deadline: Duration) -> Result<u64, OpError> {
        let local = |e: std::io::Error| {
            OpError::new(
                FailureKind::Local,
                format!("cannot read the local file {}: {e}", file.display()),
            )
        };
        let mut source = tokio::fs::File::open(file).await.map_err(local)?;
        let what = format!("cannot write {remote}");
        let handle = self
            .raw
            .open(
                remote,
                OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::TRUNCATE,
                FileAttributes::default(),
            )
            .await
            .map_err(|e| sftp_error(&self.at, &what, e))?
            .handle;
        let block_timeout = |e: tokio::time::error::Elapsed| {
            let _ = e;
            OpError::new(
                FailureKind::Timeout,
                format!(
                    "writing {remote} on {}: no answer within {}; raise `timeout` for this destination if the server is just slow",
                    self.at,
                    humantime::format_duration(deadline)
                ),
            )
        };
        let raw = self.raw.clone();
        let mut offset = 0u64;
        let mut done = false;
        let mut in_flight = FuturesOrdered::new();
        loop {
            while !done && in_flight.len() < IN_FLIGHT {
                let mut block = vec![0u8; self.write_len];
                let mut filled = 0;
                while filled < block.len() {
                    let n = source.read(&mut block[filled..]).await.map_err(local)?;
                    if n == 0 {
                        done = true;
                        break;
                    }
                    filled += n;
                }
                if filled == 0 {
                    break;
                }
                block.truncate(filled);
                let (raw, handle, at) = (raw.clone(), handle.clone(), offset);
                in_flight.push_back(async move { raw.write(handle, at, block).await });
                offset += filled as u64;
            }
            match tokio::time::timeout(deadline, in_flight.next())
                .await
                .map_err(block_timeout)?
            {
                None => break,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(write_error(&self.at, &what, e)),
            }
        }
        if self.fsync {
            tokio::time::timeout(deadline, self.raw.fsync(handle.clone()))
                .await
                .map_err(block_timeout)?
                .map_err(|e| write_error(&self.at, &format!("cannot flush {remote} to disk"), e))?;
        }
        tokio::time::timeout(deadline, self.raw.close(handle))
            .await
            .map_err(block_timeout)?
            .map_err(|e| write_error(&self.at, &format!("cannot finish {remote}"), e))?;
        Ok(offset)
    }
}

#[async_trait::async_trait]
impl Session for SftpSession {
    fn info(&self) -> &ServerInfo {
        &self.info
    }

    async fn mkdir_all(&mut self, dir: &str) -> Result<(), OpError> {
        if let Some(a) = self.stat(dir).await? {
            return if a.is_dir() {
                Ok(())
            } else {
                Err(OpError::new(
                    FailureKind::Refused,
                    format!(
                        "{dir} on {} is a file, not a folder; check the destination's path",
                        self.at
                    ),
                ))
            };
        }
        let mut path = String::new();
        for part in dir.split('/').filter(|p| !p.is_empty()) {
            path.push('/');
            path.push_str(part);
            match self.stat(&path).await? {
                Some(a) if a.is_dir() => continue,
                Some(_) => {
                    return Err(OpError::new(
                        FailureKind::Refused,
                        format!(
                            "{path} on {} is a file, not a folder; check the destination's path",
                            self.at
                        ),
                    ))
                }
                None => {}
            }
            if let Err(e) = self.raw.mkdir(path.clone(), FileAttributes::default()).await {
                // Someone else may have made it meanwhile.
                if !self.stat(&path).await?.is_some_and(|a| a.is_dir()) {
                    return Err(sftp_error(&self.at, &format!("cannot create folder {path}"), e));
                }
            }
        }
        Ok(())
    }

    async fn upload(&mut self, file: &Path, remote: &str, deadline: Duration) -> Result<u64, OpError> {
        self.send_file(file, remote, deadline).await
    }

    async fn size(&mut self, remote: &str) -> Result<Option<u64>, OpError> {
        Ok(self.stat(remote).await?.map(|a| a.size.unwrap_or(0)))
    }

    async fn rename(&mut self, from: &str, to: &str) -> Result<(), OpError> {
        let what = format!("cannot rename {from} to {to}");
        if self.posix_rename {
            let mut data = Vec::new();
            ssh_string(&mut data, from);
            ssh_string(&mut data, to);
            return match self.raw.extended(POSIX_RENAME, data).await {
                Ok(Packet::Status(s)) if s.status_code == StatusCode::Ok => Ok(()),
                Ok(Packet::Status(s)) => Err(sftp_error(&self.at, &what, SftpError::Status(s))),
                Ok(_) => Err(OpError::new(
                    FailureKind::Refused,
                    format!("{what} on {}: unexpected answer to {POSIX_RENAME}", self.at),
                )),
                Err(e) => Err(sftp_error(&self.at, &what, e)),
            };
        }
        self.raw
            .rename(from, to)
            .await
            .map(|_| ())
            .map_err(|e| sftp_error(&self.at, &what, e))
    }

    async fn remove(&mut self, remote: &str) -> Result<(), OpError> {
        self.raw
            .remove(remote)
            .await
            .map(|_| ())
            .map_err(|e| sftp_error(&self.at, &format!("cannot remove {remote}"), e))
    }

    async fn list(&mut self, dir: &str) -> Result<Vec<String>, OpError> {
        let what = format!("cannot list {dir}");
        let handle = self
            .raw
            .opendir(dir)
            .await
            .map_err(|e| sftp_error(&self.at, &what, e))?
            .handle;
        let mut names = Vec::new();
        loop {
            match self.raw.readdir(handle.clone()).await {
                Ok(batch) => names.extend(
                    batch
                        .files
                        .into_iter()
                        .map(|f| f.filename)
                        .filter(|n| n != "." && n != ".."),
                ),
                Err(SftpError::Status(s)) if s.status_code == StatusCode::Eof => break,
                Err(e) => {
                    let _ = self.raw.close(handle).await;
                    return Err(sftp_error(&self.at, &what, e));
                }
            }
        }
        let _ = self.raw.close(handle).await;
        Ok(names)
    }

    async fn close(&mut self) {
        let _ = self.raw.close_session();
        if let Some(handle) = self.handle.take() {
            let _ = tokio::time::timeout(
                Duration::from_secs(5),
                handle.disconnect(russh::Disconnect::ByApplication, "", "en"),
            )
            .await;
        }
    }
}

/// What `ferry trust` found and did.
#[derive(Clone, Debug)]
pub struct Trusted {
    /// `host:port`.
    pub at: String,
    /// The host key's algorithm, e.g. `ssh-ed25519`.
    pub algorithm: String,
    /// `SHA256:...`.
    pub fingerprint: String,
    /// False when the key was already trusted (nothing written).
    pub added: bool,
}

/// Connects to `settings`' server, reads its host key and records it in
/// known_hosts. With `expected` (a `SHA256:...` fingerprint from the
/// vendor) a different key is refused; a different key already recorded for
/// this server is always refused, loudly.
pub async fn trust(
    settings: &DestinationSettings,
    env: &DeliveryEnv,
    expected: Option<&str>,
) -> Result<Trusted, OpError> {
    let at = address(settings);
    let key = within(
        settings.timeout,
        || format!("reading the host key of {at}"),
        connect::host_key(settings, env),
    )
    .await?;
    let fp = crate::keys::fingerprint(&key);
    let algorithm = key.algorithm().to_string();
    if let Some(expected) = expected {
        let want = expected.trim();
        let want = want.strip_prefix("SHA256:").unwrap_or(want).trim_end_matches('=');
        if fp.trim_start_matches("SHA256:").trim_end_matches('=') != want {
            return Err(OpError::new(
                FailureKind::Trust,
                format!(
                    "{at} presents {algorithm} {fp}, not the fingerprint SHA256:{want} you gave; nothing was \
                     trusted. Check the fingerprint with the vendor: someone may be intercepting the connection"
                ),
            ));
        }
    }
    let entries = known_hosts::entries(&env.known_hosts, &settings.server, settings.port)
        .map_err(|e| OpError::new(FailureKind::Trust, e))?;
    match known_hosts::verdict(&entries, &key) {
        known_hosts::Verdict::Trusted => Ok(Trusted {
            at,
            algorithm,
            fingerprint: fp,
            added: false,
        }),
        known_hosts::Verdict::Changed { line } => Err(OpError::new(
            FailureKind::Trust,
            format!(
                "WARNING: THE HOST KEY OF {at} HAS CHANGED! It now presents {algorithm} {fp}, but {} \
                 (known_hosts line {line}) records a different {algorithm} key. Nothing was trusted. Call the \
                 vendor and compare fingerprints; if the vendor confirms the new key, remove that line and run \
                 `ferry trust {}` again",
                env.known_hosts.display(),
                settings.name
            ),
        )),
        known_hosts::Verdict::Unknown => {
            known_hosts::add(&env.known_hosts, &settings.server, settings.port, &key)
                .map_err(|e| OpError::new(FailureKind::Local, e))?;
            Ok(Trusted {
                at,
                algorithm,
                fingerprint: fp,
                added: true,
            })
        }
    }
}
