//! SMB 2/3 delivery on Samba's own client library, libsmbclient (through
//! the `pavao` binding), in ferry's own process.
//!
//! Why libsmbclient: it is the client `smbclient` is built on, maintained
//! with the server, and it keeps SMB credits and large writes right where
//! the young pure-Rust client stalled under disk load. Its calls block, so
//! each runs on tokio's blocking pool; libsmbclient's own per-request
//! timeout (the destination's `timeout`) makes a stuck call return, and the
//! framework's deadlines bound each operation from outside as for every
//! protocol. No child process is started, so the password exists only in
//! this process's memory (and in libsmbclient's authentication callback).

use std::io::{ErrorKind, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pavao::{SmbClient, SmbCredentials, SmbDialect, SmbError, SmbMode, SmbOpenOptions, SmbOptions};

use super::{Destination, FailureKind, OpError, ServerInfo, Session};
use crate::config::DestinationSettings;

/// The size of each write handed to libsmbclient. Large writes let it
/// fill the large MTU it negotiates (Samba offers 8 MiB) and keep several
/// requests in flight, as `smbclient put` does.
const WRITE_CHUNK: usize = 8 * 1024 * 1024;

/// The lowest dialect ferry offers: SMB1 is off everywhere that matters.
const MIN_DIALECT: SmbDialect = SmbDialect::Smb202;

/// An SMB share: `path` is `/SHARE/folder...`.
pub(super) struct Smb {
    settings: DestinationSettings,
}

impl Smb {
    /// The destination `settings` describes.
    pub(super) fn new(settings: &DestinationSettings) -> Self {
        Smb {
            settings: settings.clone(),
        }
    }
}

/// The share of an SMB `path` (`/SHARE/folder` → `SHARE`).
fn share_of(path: &str) -> Option<&str> {
    path.split('/').find(|p| !p.is_empty())
}

/// Percent-encodes one path for an `smb://` URL: libsmbclient decodes
/// `%XX` and reads `?` as the start of options, so every byte outside the
/// unreserved set (and `/`) is encoded.
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where the session is, for messages.
#[derive(Clone)]
struct Place {
    server: String,
    port: u16,
    share: String,
    who: String,
}

impl Place {
    fn at(&self) -> String {
        format!("{}:{}", self.server, self.port)
    }

    fn unc(&self) -> String {
        format!("\\\\{}\\{} (port {})", self.server, self.share, self.port)
    }

    /// `/SHARE/a/b` as the URL path libsmbclient wants after the share
    /// (`/a/b`, encoded).
    fn relative(&self, path: &str) -> Result<String, OpError> {
        let mut parts = path.split('/').filter(|p| !p.is_empty());
        match parts.next() {
            Some(first) if first.eq_ignore_ascii_case(&self.share) => {
                let rest: Vec<&str> = parts.collect();
                Ok(encode(&format!("/{}", rest.join("/"))))
            }
            _ => Err(OpError::new(
                FailureKind::Local,
                format!("{path} is not on share '{}': SMB paths are /SHARE/folder", self.share),
            )),
        }
    }

    /// A failed operation, `what` on `path`, with its kind and advice.
    fn fail(&self, what: &str, path: &str, e: &std::io::Error) -> OpError {
        let kind = kind_of(e);
        let tip = match kind {
            FailureKind::Permission => {
                format!(
                    "; give the account write access to this folder on share '{}'",
                    self.share
                )
            }
            FailureKind::NotFound => "; check the folder in `path`".to_string(),
            FailureKind::DiskFull => "; the share has no room: ask the vendor to free space or raise the quota".into(),
            FailureKind::Busy => "; the server is busy or the file is in use".into(),
            FailureKind::Timeout => "; raise `timeout` if the server is just slow".into(),
            _ => String::new(),
        };
        OpError::new(kind, format!("{what} {path} on {} failed: {e}{tip}", self.unc()))
    }

    /// A failure while connecting, logging in and opening the share.
    fn connect_failed(&self, e: &std::io::Error) -> OpError {
        let at = self.at();
        match e.raw_os_error() {
            Some(libc::EACCES | libc::EPERM) => OpError::new(
                FailureKind::Auth,
                format!(
                    "the server refused the login of '{}' (NTLM) at {at}: check the username, password and \
                     domain; an account may also be locked or its password expired",
                    self.who
                ),
            ),
            Some(libc::ENOENT | libc::ENODEV | libc::ENXIO) => OpError::new(
                FailureKind::NotFound,
                format!(
                    "the server at {at} has no share named '{}'; check the first part of `path` (/SHARE/folder) \
                     against the shares `smbclient -L //{} -p {}` lists",
                    self.share, self.server, self.port
                ),
            ),
            _ => {
                let kind = match kind_of(e) {
                    FailureKind::Timeout => FailureKind::Timeout,
                    FailureKind::Busy => FailureKind::Busy,
                    FailureKind::Auth | FailureKind::Trust | FailureKind::Algorithms | FailureKind::Local => kind_of(e),
                    // Anything else before the share is open: the server
                    // could not be reached or dropped the connection.
                    _ => FailureKind::Network,
                };
                OpError::new(
                    kind,
                    format!("cannot connect to SMB server {at} (share '{}'): {e}", self.share),
                )
            }
        }
    }
}

/// The failure kind of an errno from libsmbclient (it maps NTSTATUS codes
/// to errno values).
fn kind_of(e: &std::io::Error) -> FailureKind {
    match e.raw_os_error() {
        Some(libc::EACCES | libc::EPERM | libc::EROFS) => FailureKind::Permission,
        Some(libc::ENOENT | libc::ENOTDIR) => FailureKind::NotFound,
        Some(libc::ENOSPC | libc::EDQUOT | libc::EFBIG) => FailureKind::DiskFull,
        Some(libc::EBUSY | libc::EAGAIN | libc::ETXTBSY | libc::ENOMEM) => FailureKind::Busy,
        Some(libc::ETIMEDOUT) => FailureKind::Timeout,
        Some(
            libc::ECONNREFUSED
            | libc::ECONNRESET
            | libc::ECONNABORTED
            | libc::EPIPE
            | libc::ENOTCONN
            | libc::ENETUNREACH
            | libc::EHOSTUNREACH
            | libc::ENETDOWN
            | libc::EHOSTDOWN
            | libc::EIO,
        ) => FailureKind::Network,
        _ => match e.kind() {
            ErrorKind::TimedOut => FailureKind::Timeout,
            ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset | ErrorKind::BrokenPipe => FailureKind::Network,
            _ => FailureKind::Refused,
        },
    }
}

/// The I/O error inside a pavao error (other errors are libsmbclient
/// refusing its configuration: reported as they are).
fn io_of(e: SmbError) -> std::io::Error {
    match e {
        SmbError::Io(io) => io,
        other => std::io::Error::other(other.to_string()),
    }
}

/// Runs a blocking libsmbclient call on tokio's blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, OpError> + Send + 'static) -> Result<T, OpError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        OpError::new(
            FailureKind::Local,
            format!("the SMB client stopped unexpectedly ({e}); please report this with the run's log"),
        )
    })?
}

/// What `ferry test-connection` shows about the share: libsmbclient does
/// not tell which dialect, signing or cipher it negotiated, so ferry shows
/// what it asked for and the library's version.
fn server_info(place: &Place, version: Option<String>) -> ServerInfo {
    let mut info = ServerInfo::default();
    info.add("server", place.at());
    info.add("share", place.share.clone());
    if let Some(v) = version {
        info.add("client library", format!("libsmbclient {v}"));
    }
    info.add(
        "dialects offered",
        "SMB 2.0.2 to SMB 3.1.1 (the highest both sides support is used)",
    );
    info.add("signing", "as the server requires (libsmbclient's default)");
    info.add("encryption", "when the share requires it (libsmbclient's default)");
    info.add("write block", format!("{} KiB", WRITE_CHUNK / 1024));
    info.add("authentication", "NTLM");
    info.auth_method = Some("NTLM".into());
    info
}

#[async_trait::async_trait]
impl Destination for Smb {
    async fn connect(&self) -> Result<Box<dyn Session>, OpError> {
        let s = &self.settings;
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
        let share = share_of(&s.path)
            .ok_or_else(|| {
                OpError::new(
                    FailureKind::Local,
                    format!("{target}: `path` must name the share: /SHARE/folder"),
                )
            })?
            .to_string();
        let username = s.username.clone().unwrap_or_default();
        let domain = s.domain.clone().unwrap_or_default();
        let place = Place {
            server: s.server.clone(),
            port: s.port,
            share: share.clone(),
            who: if domain.is_empty() {
                username.clone()
            } else {
                format!("{domain}\\{username}")
            },
        };
        // An IPv6 address goes in brackets in the URL.
        let host = if s.server.contains(':') {
            format!("[{}]", s.server)
        } else {
            s.server.clone()
        };
        let credentials = SmbCredentials::default()
            .server(format!("smb://{host}:{}", s.port))
            .share(encode(&format!("/{share}")))
            .username(username)
            .password(password)
            .workgroup(domain);
        let timeout = s.timeout;
        let p = place.clone();
        let (client, version) = blocking(move || {
            let options = SmbOptions::default()
                .min_protocol(MIN_DIALECT)
                .no_auto_anonymous_login(true)
                .case_sensitive(false);
            let client = SmbClient::new(credentials, options).map_err(|e| {
                OpError::new(
                    FailureKind::Local,
                    format!("cannot start the SMB client library (libsmbclient) for {}: {e}", p.at()),
                )
            })?;
            client
                .set_timeout(timeout.max(Duration::from_millis(100)))
                .map_err(|e| p.connect_failed(&io_of(e)))?;
            // The first request connects, logs in and opens the share.
            client.stat("/").map_err(|e| p.connect_failed(&io_of(e)))?;
            let version = client.get_version().ok();
            Ok((client, version))
        })
        .await?;
        Ok(Box::new(SmbSession {
            client: Some(Arc::new(client)),
            info: server_info(&place, version),
            place,
        }))
    }
}

/// A connected share.
struct SmbSession {
    /// `None` once closed.
    client: Option<Arc<SmbClient>>,
    info: ServerInfo,
    place: Place,
}

impl SmbSession {
    /// Runs `op` with the client on the blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        op: impl FnOnce(&SmbClient, &Place) -> Result<T, OpError> + Send + 'static,
    ) -> Result<T, OpError> {
        let client = self.client.clone().ok_or_else(|| {
            OpError::new(
                FailureKind::Local,
                format!("the SMB session to {} was already closed", self.place.unc()),
            )
        })?;
        let place = self.place.clone();
        blocking(move || op(&client, &place)).await
    }
}

/// The size of `rel`, `None` when it does not exist.
fn stat_size(client: &SmbClient, place: &Place, path: &str, rel: &str) -> Result<Option<u64>, OpError> {
    match client.stat(rel) {
        Ok(st) if st.mode.is_dir() => Err(OpError::new(
            FailureKind::Refused,
            format!("{path} on {} is a folder, not a file", place.unc()),
        )),
        Ok(st) => Ok(Some(st.size)),
        Err(e) => {
            let e = io_of(e);
            if e.raw_os_error() == Some(libc::ENOENT) {
                Ok(None)
            } else {
                Err(place.fail("reading the size of", path, &e))
            }
        }
    }
}

#[async_trait::async_trait]
impl Session for SmbSession {
    fn info(&self) -> &ServerInfo {
        &self.info
    }

    async fn mkdir_all(&mut self, dir: &str) -> Result<(), OpError> {
        let dir = dir.to_string();
        self.run(move |client, place| {
            place.relative(&dir)?;
            let parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).skip(1).collect();
            for i in 1..=parts.len() {
                let here = format!("/{}/{}", place.share, parts[..i].join("/"));
                let rel = place.relative(&here)?;
                match client.mkdir(&rel, SmbMode::from(0o755)) {
                    Ok(()) => {}
                    Err(e) => {
                        let e = io_of(e);
                        if e.raw_os_error() != Some(libc::EEXIST) {
                            return Err(place.fail("creating folder", &here, &e));
                        }
                        match client.stat(&rel) {
                            Ok(st) if st.mode.is_dir() => {}
                            Ok(_) => {
                                return Err(OpError::new(
                                    FailureKind::Refused,
                                    format!("{here} on {} is a file, not a folder", place.unc()),
                                ))
                            }
                            Err(e) => return Err(place.fail("checking folder", &here, &io_of(e))),
                        }
                    }
                }
            }
            Ok(())
        })
        .await
    }

    async fn upload(&mut self, file: &Path, remote: &str, deadline: Duration) -> Result<u64, OpError> {
        let size = std::fs::metadata(file)
            .map_err(|e| OpError::new(FailureKind::Local, format!("cannot read {}: {e}", file.display())))?
            .len();
        let file = file.to_path_buf();
        let remote = remote.to_string();
        // libsmbclient bounds each request by the timeout set at connect;
        // this is the backstop for the whole transfer (open and close count
        // as blocks too).
        let blocks = size.div_ceil(WRITE_CHUNK as u64) as u32 + 2;
        let backstop = deadline.saturating_mul(blocks);
        let what = format!("uploading {remote}");
        let op = self.run(move |client, place| {
            let rel = place.relative(&remote)?;
            let mut local = std::fs::File::open(&file)
                .map_err(|e| OpError::new(FailureKind::Local, format!("cannot read {}: {e}", file.display())))?;
            let mut out = client
                .open_with(&rel, SmbOpenOptions::default().write(true).create(true).truncate(true))
                .map_err(|e| place.fail("opening", &remote, &io_of(e)))?;
            let mut buf = vec![0u8; WRITE_CHUNK];
            let mut sent = 0u64;
            loop {
                let n = local
                    .read(&mut buf)
                    .map_err(|e| OpError::new(FailureKind::Local, format!("cannot read {}: {e}", file.display())))?;
                if n == 0 {
                    break;
                }
                out.write_all(&buf[..n])
                    .map_err(|e| place.fail(&format!("writing {n} bytes at offset {sent} of"), &remote, &e))?;
                sent += n as u64;
            }
            drop(out);
            Ok(sent)
        });
        super::within(backstop, || what, op).await
    }

    async fn size(&mut self, remote: &str) -> Result<Option<u64>, OpError> {
        let remote = remote.to_string();
        self.run(move |client, place| {
            let rel = place.relative(&remote)?;
            stat_size(client, place, &remote, &rel)
        })
        .await
    }

    /// libsmbclient's rename does not replace an existing target: the
    /// caller (`commit::replace`) then removes the old file and renames
    /// again.
    async fn rename(&mut self, from: &str, to: &str) -> Result<(), OpError> {
        let (from, to) = (from.to_string(), to.to_string());
        self.run(move |client, place| {
            let (a, b) = (place.relative(&from)?, place.relative(&to)?);
            client.rename(&a, &b).map_err(|e| {
                let e = io_of(e);
                let mut f = place.fail(&format!("renaming {from} to"), &to, &e);
                if e.raw_os_error() == Some(libc::EEXIST) {
                    f.kind = FailureKind::Refused;
                }
                f
            })
        })
        .await
    }

    async fn remove(&mut self, remote: &str) -> Result<(), OpError> {
        let remote = remote.to_string();
        self.run(move |client, place| {
            let rel = place.relative(&remote)?;
            client
                .unlink(&rel)
                .map_err(|e| place.fail("removing", &remote, &io_of(e)))
        })
        .await
    }

    async fn list(&mut self, dir: &str) -> Result<Vec<String>, OpError> {
        let dir = dir.to_string();
        self.run(move |client, place| {
            let rel = place.relative(&dir)?;
            match client.list_dir(&rel) {
                Ok(entries) => Ok(entries.iter().map(|e| e.name().to_string()).collect()),
                // pavao drops the reason of a failed opendir: a stat says it.
                Err(_) => match client.stat(&rel) {
                    Err(e) => Err(place.fail("listing", &dir, &io_of(e))),
                    Ok(st) if !st.mode.is_dir() => Err(OpError::new(
                        FailureKind::Refused,
                        format!("{dir} on {} is not a folder", place.unc()),
                    )),
                    Ok(_) => Err(OpError::new(
                        FailureKind::Refused,
                        format!("the server refused to list {dir} on {}", place.unc()),
                    )),
                },
            }
        })
        .await
    }

    async fn close(&mut self) {
        // Dropping the last reference logs off and frees the context, which
        // blocks: on the blocking pool. A call the framework gave up on may
        // still hold a reference until libsmbclient's own timeout returns.
        if let Some(client) = self.client.take() {
            let _ = tokio::task::spawn_blocking(move || drop(client)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> Place {
        Place {
            server: "files.example.org".into(),
            port: 445,
            share: "vendor".into(),
            who: "DISTRICT\\ferry".into(),
        }
    }

    #[test]
    fn the_share_is_the_first_part_of_the_path() {
        assert_eq!(share_of("/vendor/in/2026"), Some("vendor"));
        assert_eq!(share_of("/vendor"), Some("vendor"));
        assert_eq!(share_of("/"), None);
    }

    #[test]
    fn paths_become_encoded_urls_inside_the_share() {
        let p = place();
        assert_eq!(
            p.relative("/vendor/in/district 7/a%b?.csv").unwrap(),
            "/in/district%207/a%25b%3F.csv"
        );
        assert_eq!(p.relative("/VENDOR/é").unwrap(), "/%C3%A9");
        assert_eq!(p.relative("/vendor").unwrap(), "/");
        let e = p.relative("/other/x").unwrap_err();
        assert_eq!(e.kind, FailureKind::Local);
        assert!(e.message.contains("not on share 'vendor'"), "{e}");
    }

    #[test]
    fn errno_values_map_to_failure_kinds() {
        let k = |n| kind_of(&std::io::Error::from_raw_os_error(n));
        assert_eq!(k(libc::EACCES), FailureKind::Permission);
        assert_eq!(k(libc::ENOENT), FailureKind::NotFound);
        assert_eq!(k(libc::ENOSPC), FailureKind::DiskFull);
        assert_eq!(k(libc::ETIMEDOUT), FailureKind::Timeout);
        assert_eq!(k(libc::ECONNRESET), FailureKind::Network);
        assert_eq!(k(libc::EBUSY), FailureKind::Busy);
        assert_eq!(k(libc::EEXIST), FailureKind::Refused);
        assert!(k(libc::ECONNREFUSED).retryable() && !k(libc::EACCES).retryable());
    }

    #[test]
    fn connect_failures_say_what_to_check() {
        let p = place();
        let auth = p.connect_failed(&std::io::Error::from_raw_os_error(libc::EACCES));
        assert_eq!(auth.kind, FailureKind::Auth);
        assert!(
            auth.message.contains("refused the login of 'DISTRICT\\ferry' (NTLM)"),
            "{auth}"
        );
        let share = p.connect_failed(&std::io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(share.kind, FailureKind::NotFound);
        assert!(share.message.contains("no share named 'vendor'"), "{share}");
        let down = p.connect_failed(&std::io::Error::from_raw_os_error(libc::ECONNREFUSED));
        assert_eq!(down.kind, FailureKind::Network);
        assert!(down.message.contains("files.example.org:445"), "{down}");
    }
}
