//! An in-process FTPS server for `cargo test`: libunftp serving a temporary
//! folder on 127.0.0.1 with explicit TLS required on control and data
//! connections (libunftp has no implicit mode), a certificate generated for
//! the run and signed by a generated CA, and one fixed login.
//!
//! The server runs on a runtime of its own, so a test can kill it outright
//! (every connection dropped mid-whatever) and start it again on the same
//! port, and it can be told to stall an upload part-way so the kill lands
//! mid-upload every time.

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use libunftp::options::FtpsRequired;
use sha2::{Digest, Sha256};
use unftp_core::auth::{AuthenticationError, Authenticator, Credentials, DefaultUser, Principal};
use unftp_core::storage::{Fileinfo, Result as StorageResult, StorageBackend};
use unftp_sbe_fs::{Filesystem, Meta};

/// The one login the server accepts.
pub const USER: &str = "ferry";
/// Its password (tests grep outputs for it).
pub const PASSWORD: &str = "Tr0ub4dor-ftps-7x!";

/// A generated CA and a server certificate it signed, valid for
/// `localhost` and `127.0.0.1`.
pub struct Certs {
    /// The CA certificate (PEM): what `ca_file` points at.
    pub ca: PathBuf,
    /// The server's certificate (PEM).
    pub cert: PathBuf,
    /// The server's private key (PEM).
    pub key: PathBuf,
    /// SHA-256 of the server certificate's DER, lowercase hex.
    pub fingerprint: String,
}

impl Certs {
    /// Generates both into `dir`.
    pub fn generate(dir: &Path) -> Certs {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "ferry test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, "ferry test server");
        let cert = params.signed_by(&key, &issuer).unwrap();
        let c = Certs {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
            fingerprint: hex::encode(Sha256::digest(cert.der())),
        };
        std::fs::write(&c.ca, ca_cert.pem()).unwrap();
        std::fs::write(&c.cert, format!("{}{}", cert.pem(), ca_cert.pem())).unwrap();
        std::fs::write(&c.key, key.serialize_pem()).unwrap();
        c
    }
}

#[derive(Debug)]
struct OneLogin;

#[async_trait::async_trait]
impl Authenticator for OneLogin {
    async fn authenticate(&self, username: &str, creds: &Credentials) -> Result<Principal, AuthenticationError> {
        if username == USER && creds.password.as_deref() == Some(PASSWORD) {
            Ok(Principal {
                username: username.to_string(),
            })
        } else {
            Err(AuthenticationError::BadPassword)
        }
    }
}

/// Stalls the next upload after a number of bytes, and says when it has.
#[derive(Debug, Default)]
pub struct Stall {
    /// Bytes to let through; 0 = disarmed.
    after: AtomicU64,
    /// Set once an upload has stalled.
    reached: AtomicBool,
}

/// An upload's input that passes `left` bytes, then never yields again.
struct Stalling<R> {
    inner: R,
    left: u64,
    stall: Arc<Stall>,
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Stalling<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.left == 0 {
            self.stall.reached.store(true, Ordering::SeqCst);
            // Never woken: the test kills the server while this waits.
            return Poll::Pending;
        }
        let room = buf.remaining().min(self.left as usize);
        let mut part = tokio::io::ReadBuf::new(buf.initialize_unfilled_to(room));
        let r = Pin::new(&mut self.inner).poll_read(cx, &mut part);
        let n = part.filled().len();
        if let Poll::Ready(Ok(())) = &r {
            buf.advance(n);
            self.left -= n as u64;
        }
        r
    }
}

/// The folder back-end, with the stall switch on uploads.
#[derive(Debug)]
struct Folder {
    fs: Filesystem,
    stall: Arc<Stall>,
}

#[async_trait::async_trait]
impl StorageBackend<DefaultUser> for Folder {
    type Metadata = Meta;

    fn supported_features(&self) -> u32 {
        StorageBackend::<DefaultUser>::supported_features(&self.fs)
    }

    async fn metadata<P: AsRef<Path> + Send + Debug>(&self, user: &DefaultUser, path: P) -> StorageResult<Meta> {
        self.fs.metadata(user, path).await
    }

    async fn list<P: AsRef<Path> + Send + Debug>(
        &self,
        user: &DefaultUser,
        path: P,
    ) -> StorageResult<Vec<Fileinfo<PathBuf, Meta>>> {
        self.fs.list(user, path).await
    }

    async fn get<P: AsRef<Path> + Send + Debug>(
        &self,
        user: &DefaultUser,
        path: P,
        start_pos: u64,
    ) -> StorageResult<Box<dyn tokio::io::AsyncRead + Send + Sync + Unpin>> {
        self.fs.get(user, path, start_pos).await
    }

    async fn put<P: AsRef<Path> + Send + Debug, R: tokio::io::AsyncRead + Send + Sync + Unpin + 'static>(
        &self,
        user: &DefaultUser,
        input: R,
        path: P,
        start_pos: u64,
    ) -> StorageResult<u64> {
        let after = self.stall.after.swap(0, Ordering::SeqCst);
        if after > 0 {
            let input = Stalling {
                inner: input,
                left: after,
                stall: self.stall.clone(),
            };
            return self.fs.put(user, input, path, start_pos).await;
        }
        self.fs.put(user, input, path, start_pos).await
    }

    async fn del<P: AsRef<Path> + Send + Debug>(&self, user: &DefaultUser, path: P) -> StorageResult<()> {
        self.fs.del(user, path).await
    }

    async fn mkd<P: AsRef<Path> + Send + Debug>(&self, user: &DefaultUser, path: P) -> StorageResult<()> {
        self.fs.mkd(user, path).await
    }

    async fn rename<P: AsRef<Path> + Send + Debug>(&self, user: &DefaultUser, from: P, to: P) -> StorageResult<()> {
        self.fs.rename(user, from, to).await
    }

    async fn rmd<P: AsRef<Path> + Send + Debug>(&self, user: &DefaultUser, path: P) -> StorageResult<()> {
        self.fs.rmd(user, path).await
    }

    async fn cwd<P: AsRef<Path> + Send + Debug>(&self, user: &DefaultUser, path: P) -> StorageResult<()> {
        self.fs.cwd(user, path).await
    }
}

/// A running in-process FTPS server; stopped when dropped.
pub struct FtpServer {
    /// Scratch space: the certificates live here.
    pub dir: tempfile::TempDir,
    /// The folder served as `/`.
    pub root: PathBuf,
    /// The control port on 127.0.0.1.
    pub port: u16,
    /// The certificates.
    pub certs: Certs,
    /// Stalls an upload on request.
    pub stall: Arc<Stall>,
    listener: std::net::TcpListener,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FtpServer {
    /// Starts a server on a free port.
    pub fn start() -> FtpServer {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        let certs = Certs::generate(dir.path());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut server = FtpServer {
            dir,
            root,
            port,
            certs,
            stall: Arc::new(Stall::default()),
            listener,
            runtime: None,
        };
        server.run();
        server
    }

    fn run(&mut self) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = self.listener.try_clone().unwrap();
        let (root, cert, key, stall) = (
            self.root.clone(),
            self.certs.cert.clone(),
            self.certs.key.clone(),
            self.stall.clone(),
        );
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let inner_addr = inner.local_addr().unwrap();
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let Ok(upstream) = tokio::net::TcpStream::connect(inner_addr).await else {
                    continue;
                };
                let Ok((socket, _)) = inner.accept().await else {
                    continue;
                };
                let (root, stall) = (root.clone(), stall.clone());
                let server = libunftp::ServerBuilder::with_authenticator(
                    Box::new(move || Folder {
                        fs: Filesystem::new(root.clone()).unwrap(),
                        stall: stall.clone(),
                    }),
                    Arc::new(OneLogin),
                )
                .greeting("ferry test FTPS server")
                .ftps(cert.clone(), key.clone())
                .ftps_required(FtpsRequired::All, FtpsRequired::All)
                .passive_ports(40000..=60000)
                .build()
                .unwrap();
                tokio::spawn(server.service(socket));
                tokio::spawn(relay(client, upstream));
            }
        });
        self.runtime = Some(runtime);
    }

    /// Kills the server with every connection it has, mid-whatever.
    pub fn kill(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }

    /// Kills the server and starts it again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.run();
    }

    /// Makes the next upload stall after `bytes` bytes.
    pub fn stall_next_upload(&self, bytes: u64) {
        self.stall.reached.store(false, Ordering::SeqCst);
        self.stall.after.store(bytes, Ordering::SeqCst);
    }

    /// Waits (up to a minute) for an upload to stall.
    pub async fn wait_for_stall(&self) {
        for _ in 0..6000 {
            if self.stall.reached.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no upload reached the stall point within a minute");
    }

    /// An FTPS destination for this server, as `ferry.toml` would give it
    /// (`extra` lines are added to the entry).
    pub fn destination(&self, mode: &str, path: &str, extra: &str) -> ferry::config::DestinationSettings {
        let text = format!(
            "mode = '{mode}'\nserver = '127.0.0.1'\nport = {}\npath = '{path}'\nusername = '{USER}'\n\
             password = 'env:FERRY_TEST_FTPS_PASSWORD'\ntimeout = '20s'\nretry_delay = '1s'\n{extra}",
            self.port
        );
        std::env::set_var("FERRY_TEST_FTPS_PASSWORD", PASSWORD);
        let raw: ferry::config::RawDestination = toml::from_str(&text).unwrap();
        raw.validate("vendor", self.dir.path()).unwrap()
    }
}

/// Relays a control connection to libunftp, holding the client's first
/// bytes after the `234` reply to `AUTH TLS` back for a moment.
///
/// libunftp switches its control connection to TLS through a message sent
/// from a task it spawns, racing the client's TLS hello: when the hello wins,
/// libunftp reads it as an FTP command and answers in plain text, and the
/// handshake fails ("corrupt message"). The pause lets the switch happen
/// first. It works around the test server only; ferry's client is unchanged.
async fn relay(client: tokio::net::TcpStream, server: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client_in, mut client_out) = client.into_split();
    let (mut server_in, mut server_out) = server.into_split();
    let hold = Arc::new(AtomicBool::new(false));
    let held = hold.clone();
    let to_client = async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut tls = false;
        loop {
            let n = match server_in.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if !tls && buf[..n].starts_with(b"234 ") {
                tls = true;
                held.store(true, Ordering::SeqCst);
            }
            if client_out.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = client_out.shutdown().await;
    };
    let to_server = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_in.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if hold.swap(false, Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            if server_out.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_out.shutdown().await;
    };
    tokio::join!(to_client, to_server);
}

impl Drop for FtpServer {
    fn drop(&mut self) {
        self.kill();
    }
}
