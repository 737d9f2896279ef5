//! FTPS: FTP over TLS, explicit (`AUTH TLS` on port 21) or implicit (TLS
//! from the first byte, port 990), through suppaftp's async client on rustls.
//!
//! Lessons from real servers (see the project's protocol notes) shape it:
//! the async client keeps TLS session tickets, so data connections resume
//! the control connection's session as vsftpd's `require_ssl_reuse` demands;
//! transfers are always binary (ASCII mode rewrites line ends); every
//! transfer stream is `finish()`ed, since a dropped one leaves a truncated
//! file and the server's verdict unread; the size is checked after every
//! upload; and refusals are read from the reply text.

mod replies;
mod trust;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use suppaftp::tokio::{AsyncRustlsStream, AsyncTlsConnector, ImplAsyncFtpStream};
use suppaftp::tokio_rustls::rustls::{self, ClientConfig};
use suppaftp::tokio_rustls::TlsConnector;
use suppaftp::types::FileType;
use suppaftp::{FtpError, FtpResult, Mode, Status};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use self::replies::{command_error, Reply};
use self::trust::{CertFacts, Verifier};
use super::{within, Destination, FailureKind, OpError, ServerInfo, Session};
use crate::config::{DeliveryMode, DestinationSettings, TlsTrust};

/// suppaftp's async client over rustls.
type Client = ImplAsyncFtpStream<AsyncRustlsStream>;

/// The size of each block sent; each gets the whole per-block deadline.
const BLOCK: usize = 256 * 1024;

/// An FTPS server, explicit or implicit by the destination's mode.
pub(super) struct Ftps {
    settings: DestinationSettings,
}

impl Ftps {
    /// The destination `settings` describes.
    pub(super) fn new(settings: &DestinationSettings) -> Self {
        Ftps {
            settings: settings.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Destination for Ftps {
    async fn connect(&self) -> Result<Box<dyn Session>, OpError> {
        Ok(Box::new(open(&self.settings).await?))
    }
}

/// What the TLS handshakes showed: the control connection's version and
/// cipher suite, and why a handshake failed (suppaftp keeps only its text).
#[derive(Default)]
struct Handshake {
    version: Option<String>,
    cipher: Option<String>,
    error: Option<rustls::Error>,
}

/// rustls for suppaftp, remembering what each handshake showed. The same
/// connector (one `ClientConfig`, one session cache) serves the control and
/// every data connection, which is what lets data connections resume.
struct Connector {
    tls: TlsConnector,
    handshake: Arc<Mutex<Handshake>>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connector")
    }
}

#[async_trait::async_trait]
impl AsyncTlsConnector for Connector {
    type Stream = AsyncRustlsStream;

    async fn connect(&self, domain: &str, stream: TcpStream) -> FtpResult<AsyncRustlsStream> {
        let name = rustls::pki_types::ServerName::try_from(domain.to_string())
            .map_err(|e| FtpError::SecureError(format!("'{domain}' is not a host name: {e}")))?;
        match self.tls.connect(name, stream).await {
            Ok(tls) => {
                let conn = tls.get_ref().1;
                let mut seen = self.handshake.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if seen.version.is_none() {
                    seen.version = conn.protocol_version().map(|v| match v {
                        rustls::ProtocolVersion::TLSv1_3 => "TLS 1.3".to_string(),
                        rustls::ProtocolVersion::TLSv1_2 => "TLS 1.2".to_string(),
                        other => format!("{other:?}"),
                    });
                    seen.cipher = conn.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite()));
                }
                Ok(AsyncRustlsStream::from(tls))
            }
            Err(e) => {
                if let Some(r) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    self.handshake
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .error = Some(r.clone());
                }
                Err(FtpError::SecureError(e.to_string()))
            }
        }
    }
}

/// A connection-level failure (before any FTP exchange) as an error naming
/// the server and what to check.
fn connect_error(at: &str, e: &std::io::Error, mode: DeliveryMode) -> OpError {
    let hint = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => format!(
            ": nothing listens there; check server and port ({} usually uses {})",
            mode,
            mode.default_port()
        ),
        _ => String::new(),
    };
    OpError::new(FailureKind::Network, format!("cannot connect to {at}: {e}{hint}"))
}

/// Connects, secures and logs in, each step under the destination's deadline.
async fn open(s: &DestinationSettings) -> Result<FtpsSession, OpError> {
    let t = s.timeout;
    let at = format!("{}:{}", s.server, s.port);
    let user = s.username.clone().unwrap_or_default();
    let password = s
        .password
        .as_ref()
        .ok_or_else(|| OpError::new(FailureKind::Auth, format!("{}: FTPS needs a password", s.name)))?
        .resolve()
        .map_err(|e| OpError::new(FailureKind::Auth, format!("destination '{}': {e}", s.name)))?;
    let verifier = Verifier::new(&s.tls, &format!("destination '{}'", s.name))?;
    if s.tls == TlsTrust::InsecureSkipVerify {
        tracing::warn!(
            destination = %s.name,
            server = %at,
            "insecure_skip_verify is set for destination '{}': the certificate of {at} is NOT checked, so \
             anyone between ferry and the server could read the files and the password",
            s.name
        );
    }
    let seen_cert = verifier.seen.clone();
    let config = ClientConfig::builder_with_provider(trust::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| OpError::new(FailureKind::Algorithms, format!("cannot set up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    let handshake = Arc::new(Mutex::new(Handshake::default()));
    let connector = Connector {
        tls: TlsConnector::from(Arc::new(config)),
        handshake: handshake.clone(),
    };
    // A failed handshake is described from what rustls said, not suppaftp's text.
    let tls_error = |e: FtpError, what: &str, hint: &str| -> OpError {
        let failed = handshake
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .error
            .take();
        match failed {
            Some(err) => {
                let cert = seen_cert
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                trust::handshake_error(&err, cert.as_deref(), &s.tls, &s.server, &at, hint)
            }
            None => command_error(what, &at, &user, e),
        }
    };

    let addr: SocketAddr = within(t, || format!("looking up {}", s.server), async {
        tokio::net::lookup_host((s.server.as_str(), s.port))
            .await
            .map_err(|e| {
                OpError::new(
                    FailureKind::Network,
                    format!("cannot find the server '{}': {e}; check the server name", s.server),
                )
            })?
            .next()
            .ok_or_else(|| {
                OpError::new(
                    FailureKind::Network,
                    format!("the name '{}' has no address; check the server name", s.server),
                )
            })
    })
    .await?;

    let mut ftp: Client = if s.mode == DeliveryMode::FtpsImplicit {
        let mut ftp = within(t, || format!("connecting to {at} with TLS (implicit FTPS)"), async {
            Client::connect_secure_implicit(addr, connector, &s.server)
                .await
                .map_err(|e| match e {
                    FtpError::ConnectionError(io) => connect_error(&at, &io, s.mode),
                    e => tls_error(
                        e,
                        "starting implicit FTPS",
                        "; if the server expects AUTH TLS (usually on port 21), use mode = \"ftps-explicit\"",
                    ),
                })
        })
        .await?;
        // suppaftp leaves these to the caller in implicit mode; without
        // PROT P, vsftpd refuses data connections ("522").
        for (command, what) in [
            ("PBSZ 0", "setting the protection buffer (PBSZ 0)"),
            ("PROT P", "protecting data connections (PROT P)"),
        ] {
            within(t, || format!("{what} on {at}"), async {
                ftp.custom_command(command, &[Status::CommandOk])
                    .await
                    .map(|_| ())
                    .map_err(|e| command_error(what, &at, &user, e))
            })
            .await?;
        }
        ftp
    } else {
        let tcp = within(t, || format!("connecting to {at}"), async {
            TcpStream::connect(addr)
                .await
                .map_err(|e| connect_error(&at, &e, s.mode))
        })
        .await?;
        let _ = tcp.set_nodelay(true);
        let plain = within(
            t,
            || {
                format!(
                    "waiting for the welcome message of {at} (an implicit-FTPS server says nothing until TLS \
                     starts: if so, use mode = \"ftps-implicit\")"
                )
            },
            async {
                Client::connect_with_stream(tcp)
                    .await
                    .map_err(|e| command_error("waiting for the welcome message", &at, &user, e))
            },
        )
        .await?;
        within(t, || format!("starting TLS (AUTH TLS) with {at}"), async {
            plain.into_secure(connector, &s.server).await.map_err(|e| {
                let e = tls_error(e, "starting TLS (AUTH TLS)", "");
                if e.kind == FailureKind::Trust {
                    e
                } else {
                    OpError::new(
                        e.kind,
                        format!(
                            "{}; the server may not offer explicit FTPS: if the vendor gave port 990, use \
                             mode = \"ftps-implicit\"",
                            e.message
                        ),
                    )
                }
            })
        })
        .await?
    };

    within(t, || format!("logging in to {at} as {user}"), async {
        ftp.login(user.as_str(), password.as_str()).await.map_err(|e| match e {
            FtpError::UnexpectedResponse(r) if Reply::of(&r).kind() == FailureKind::Auth => OpError::new(
                FailureKind::Auth,
                format!(
                    "login as {user} at {at} refused ({}); check username and password",
                    Reply::of(&r).text
                ),
            ),
            e => command_error(&format!("logging in as {user}"), &at, &user, e),
        })
    })
    .await?;
    drop(password);
    within(t, || format!("switching {at} to binary transfers"), async {
        ftp.transfer_type(FileType::Binary)
            .await
            .map_err(|e| command_error("switching to binary transfers (TYPE I)", &at, &user, e))
    })
    .await?;
    // Passive, connecting to the control connection's address whatever the
    // PASV reply says: servers behind NAT often announce a private one.
    ftp.set_mode(Mode::Passive);
    ftp.set_passive_nat_workaround(true);

    let mut info = ServerInfo::default();
    info.add("server", at.clone());
    info.add(
        "mode",
        match s.mode {
            DeliveryMode::FtpsImplicit => "implicit FTPS (TLS from the first byte)",
            _ => "explicit FTPS (AUTH TLS)",
        },
    );
    if let Some(banner) = ftp.get_welcome_msg() {
        // "220 (vsFTPd 3.0.3)" → "(vsFTPd 3.0.3)", line by line.
        let text: Vec<&str> = banner
            .lines()
            .map(str::trim)
            .map(|l| l.strip_prefix("220-").or_else(|| l.strip_prefix("220 ")).unwrap_or(l))
            .filter(|l| !l.is_empty())
            .collect();
        info.add("banner", text.join(" / "));
    }
    {
        let h = handshake.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(v) = &h.version {
            info.add("TLS version", v.clone());
        }
        if let Some(c) = &h.cipher {
            info.add("cipher suite", c.clone());
        }
    }
    info.add(
        "certificate check",
        match &s.tls {
            TlsTrust::SystemRoots => "system root certificates".to_string(),
            TlsTrust::CaFile(p) => format!("CA file {}", p.display()),
            TlsTrust::Pinned(_) => "pinned certificate".to_string(),
            TlsTrust::InsecureSkipVerify => "NONE (insecure_skip_verify)".to_string(),
        },
    );
    if let Some(der) = seen_cert
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
    {
        let cert = CertFacts::of(&der);
        info.add("certificate subject", cert.subject.clone());
        info.add("certificate issuer", cert.issuer.clone());
        info.add("certificate names", cert.names.join(", "));
        info.add("certificate valid until", cert.not_after.clone());
        info.add("certificate SHA-256", cert.fingerprint());
        info.identity = Some(cert.fingerprint());
    }
    info.auth_method = Some("password".into());
    Ok(FtpsSession {
        ftp,
        info,
        at,
        user,
        timeout: t,
        busy: false,
        broken: false,
    })
}

/// A logged-in FTPS connection.
struct FtpsSession {
    ftp: Client,
    info: ServerInfo,
    /// `host:port`, for messages.
    at: String,
    user: String,
    timeout: Duration,
    /// An operation began and never ended: a deadline cancelled it, so the
    /// control connection may be mid-reply.
    busy: bool,
    /// The connection failed; further commands would only misread it.
    broken: bool,
}

impl FtpsSession {
    /// Marks an operation as started, refusing when the connection can no
    /// longer be trusted to be in step.
    fn begin(&mut self) -> Result<(), OpError> {
        if self.busy || self.broken {
            self.broken = true;
            return Err(OpError::new(
                FailureKind::Network,
                format!(
                    "the connection to {} is unusable after an earlier failure or time-out; the next attempt \
                     reconnects",
                    self.at
                ),
            ));
        }
        self.busy = true;
        Ok(())
    }

    /// Marks an operation as ended; a network failure retires the connection.
    fn end<T>(&mut self, r: Result<T, OpError>) -> Result<T, OpError> {
        self.busy = false;
        if let Err(e) = &r {
            if matches!(e.kind, FailureKind::Network | FailureKind::Timeout) {
                self.broken = true;
            }
        }
        r
    }

    fn fail(&self, what: &str, e: FtpError) -> OpError {
        command_error(what, &self.at, &self.user, e)
    }

    async fn make_dirs(&mut self, dir: &str) -> Result<(), OpError> {
        if self.ftp.cwd(dir).await.is_ok() {
            return Ok(());
        }
        let mut path = String::new();
        for part in dir.split('/').filter(|p| !p.is_empty()) {
            path.push('/');
            path.push_str(part);
            match self.ftp.cwd(&path).await {
                Ok(()) => continue,
                Err(FtpError::UnexpectedResponse(_)) => {}
                Err(e) => return Err(self.fail(&format!("opening folder {path}"), e)),
            }
            match self.ftp.mkdir(&path).await {
                Ok(()) => {}
                Err(FtpError::UnexpectedResponse(r)) => {
                    // Someone may have made it meanwhile: a folder is a folder.
                    if self.ftp.cwd(&path).await.is_ok() {
                        continue;
                    }
                    // vsftpd says only "Create directory operation failed"
                    // for a folder that exists but may not be opened.
                    return Err(self.fail(
                        &format!("opening or creating folder {path}"),
                        FtpError::UnexpectedResponse(r),
                    ));
                }
                Err(e) => return Err(self.fail(&format!("creating folder {path}"), e)),
            }
        }
        Ok(())
    }

    async fn send(&mut self, file: &Path, remote: &str, deadline: Duration) -> Result<u64, OpError> {
        let mut local = tokio::fs::File::open(file)
            .await
            .map_err(|e| OpError::new(FailureKind::Local, format!("cannot read {}: {e}", file.display())))?;
        let (at, user) = (self.at.clone(), self.user.clone());
        let what = format!("uploading {remote}");
        let ftp = &mut self.ftp;
        let mut stream = within(deadline, || format!("opening the upload of {remote} on {at}"), async {
            ftp.put_with_stream(remote)
                .await
                .map_err(|e| command_error(&what, &at, &user, e))
        })
        .await?;
        let mut buf = vec![0u8; BLOCK];
        let mut sent = 0u64;
        let sending: Result<(), OpError> = loop {
            let n = match local.read(&mut buf).await {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) => {
                    break Err(OpError::new(
                        FailureKind::Local,
                        format!("cannot read {}: {e}", file.display()),
                    ))
                }
            };
            let block = within(
                deadline,
                || format!("sending {remote} to {at} ({sent} bytes sent so far)"),
                async {
                    stream.write_all(&buf[..n]).await.map_err(|e| {
                        OpError::new(
                            FailureKind::Network,
                            format!("the upload of {remote} to {at} was cut after {sent} bytes: {e}"),
                        )
                    })
                },
            )
            .await;
            match block {
                Ok(()) => sent += n as u64,
                Err(e) => break Err(e),
            }
        };
        // Always finish: it closes the data connection and reads the
        // server's verdict, which names the real reason when sending failed.
        let verdict = within(
            deadline,
            || format!("waiting for {at} to confirm the upload of {remote}"),
            async { stream.finish().await.map_err(|e| command_error(&what, &at, &user, e)) },
        )
        .await;
        match (sending, verdict) {
            (Ok(()), Ok(())) => {}
            (Ok(()), Err(e)) => return Err(e),
            (Err(e), Err(server)) if !matches!(server.kind, FailureKind::Network | FailureKind::Timeout) => {
                return Err(OpError::new(server.kind, format!("{}; {}", server.message, e.message)))
            }
            (Err(e), _) => return Err(e),
        }
        let ftp = &mut self.ftp;
        let seen = within(deadline, || format!("reading the size of {remote} on {at}"), async {
            ftp.size(remote)
                .await
                .map_err(|e| command_error(&format!("reading the size of {remote}"), &at, &user, e))
        })
        .await?;
        if seen as u64 != sent {
            return Err(OpError::new(
                FailureKind::Network,
                format!("{remote} has {seen} bytes on {at} after sending {sent}; the upload was cut short"),
            ));
        }
        Ok(sent)
    }

    async fn names(&mut self, dir: &str) -> Result<Vec<String>, OpError> {
        // `-a` shows dot files on vsftpd and most Unix servers (the
        // temporaries are dot files); a server that takes it for a path
        // answers with an error or nothing, and the plain listing follows.
        let mut lines = match self.ftp.nlst(Some(&format!("-a {dir}"))).await {
            Ok(lines) => lines,
            Err(FtpError::UnexpectedResponse(_)) => Vec::new(),
            Err(e) => return Err(self.fail(&format!("listing {dir}"), e)),
        };
        if lines.is_empty() {
            lines = match self.ftp.nlst(Some(dir)).await {
                Ok(lines) => lines,
                // "450 No files found" and friends: an empty folder.
                Err(FtpError::UnexpectedResponse(r)) if matches!(Reply::of(&r).code, 450 | 550) => Vec::new(),
                Err(e) => return Err(self.fail(&format!("listing {dir}"), e)),
            };
        }
        let mut names: Vec<String> = lines
            .iter()
            .map(|l| l.trim_end_matches(['\r', '\n']))
            .map(|l| l.rsplit('/').next().unwrap_or(l).to_string())
            .filter(|n| !n.is_empty() && n != "." && n != "..")
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }
}

#[async_trait::async_trait]
impl Session for FtpsSession {
    fn info(&self) -> &ServerInfo {
        &self.info
    }

    async fn mkdir_all(&mut self, dir: &str) -> Result<(), OpError> {
        self.begin()?;
        let r = self.make_dirs(dir).await;
        self.end(r)
    }

    async fn upload(&mut self, file: &Path, remote: &str, deadline: Duration) -> Result<u64, OpError> {
        self.begin()?;
        let r = self.send(file, remote, deadline).await;
        self.end(r)
    }

    async fn size(&mut self, remote: &str) -> Result<Option<u64>, OpError> {
        self.begin()?;
        let r = match self.ftp.size(remote).await {
            Ok(n) => Ok(Some(n as u64)),
            Err(FtpError::UnexpectedResponse(r)) if Reply::of(&r).code == 550 => Ok(None),
            Err(e) => Err(self.fail(&format!("reading the size of {remote}"), e)),
        };
        self.end(r)
    }

    async fn rename(&mut self, from: &str, to: &str) -> Result<(), OpError> {
        self.begin()?;
        let r = match self.ftp.rename(from, to).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(&format!("renaming {from} to {to}"), e)),
        };
        self.end(r)
    }

    async fn remove(&mut self, remote: &str) -> Result<(), OpError> {
        self.begin()?;
        let r = match self.ftp.rm(remote).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(&format!("removing {remote}"), e)),
        };
        self.end(r)
    }

    async fn list(&mut self, dir: &str) -> Result<Vec<String>, OpError> {
        self.begin()?;
        let r = self.names(dir).await;
        self.end(r)
    }

    async fn close(&mut self) {
        if !self.busy && !self.broken {
            let _ = tokio::time::timeout(self.timeout.min(Duration::from_secs(10)), self.ftp.quit()).await;
        }
        self.broken = true;
    }
}
