//! An SFTP server inside the test process, for `cargo test` on machines
//! without sshd: russh's server side for SSH, russh-sftp's server side for
//! SFTP, serving a temporary folder on 127.0.0.1 at a free port. It runs on
//! a thread and runtime of its own, so a test may block (run the `ferry`
//! binary, say) while the server answers.
//!
//! Knobs: which keys, password and methods it accepts, its own host key,
//! whether it offers `posix-rename@openssh.com`, and a one-shot switch that
//! drops the connection after N bytes of upload data.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use russh::keys::{Algorithm, PrivateKey, PublicKey};
use russh::server::{Auth, Msg, Session};
use russh::{Channel, ChannelId, MethodKind, MethodSet};
use russh_sftp::protocol::{
    Attrs, Data, File as SftpFile, FileAttributes, Handle, Name, OpenFlags, Packet, Status, StatusCode, Version,
};
use russh_sftp::server::StatusReply;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How the server lets people in.
#[derive(Clone)]
pub struct Logins {
    /// The one account name.
    pub user: String,
    /// Public keys accepted for it.
    pub keys: Vec<PublicKey>,
    /// Its password (password and keyboard-interactive).
    pub password: Option<String>,
    /// Offer keyboard-interactive only, as PAM-only servers do.
    pub keyboard_interactive_only: bool,
}

/// Settings of a test server.
pub struct Options {
    /// Who may log in.
    pub logins: Logins,
    /// Offer `posix-rename@openssh.com` (and `fsync@openssh.com`).
    pub extensions: bool,
    /// Offer only the SHA-1 key exchange `diffie-hellman-group14-sha1`, as
    /// old appliances do.
    pub sha1_only: bool,
}

impl Options {
    /// A server for `user` accepting `password` by the password method.
    pub fn password(user: &str, password: &str) -> Self {
        Options {
            logins: Logins {
                user: user.into(),
                keys: Vec::new(),
                password: Some(password.into()),
                keyboard_interactive_only: false,
            },
            extensions: true,
            sha1_only: false,
        }
    }
}

struct Shared {
    root: PathBuf,
    logins: Logins,
    extensions: bool,
    /// Drop the connection once this many upload bytes arrived (one-shot).
    drop_after: Mutex<Option<u64>>,
    /// Methods that let someone in, in order.
    successes: Mutex<Vec<String>>,
}

/// A running server; stops when dropped.
pub struct SftpServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The folder served as `/`.
    pub root: tempfile::TempDir,
    host_key: PublicKey,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SftpServer {
    /// Starts a server with a fresh ed25519 host key.
    pub fn start(options: Options) -> Self {
        let key = PrivateKey::random(&mut russh::keys::key::safe_rng(), Algorithm::Ed25519).unwrap();
        Self::start_with_key(options, key)
    }

    /// Starts a server with the given host key.
    pub fn start_with_key(options: Options, host_key: PrivateKey) -> Self {
        let root = tempfile::tempdir().unwrap();
        let shared = Arc::new(Shared {
            root: root.path().to_path_buf(),
            logins: options.logins.clone(),
            extensions: options.extensions,
            drop_after: Mutex::new(None),
            successes: Mutex::new(Vec::new()),
        });
        let methods: Vec<MethodKind> = if options.logins.keyboard_interactive_only {
            vec![MethodKind::KeyboardInteractive]
        } else {
            let mut m = vec![MethodKind::PublicKey];
            if options.logins.password.is_some() {
                m.push(MethodKind::Password);
                m.push(MethodKind::KeyboardInteractive);
            }
            m
        };
        let config = Arc::new(russh::server::Config {
            methods: MethodSet::from(&methods[..]),
            auth_rejection_time: Duration::from_millis(10),
            auth_rejection_time_initial: Some(Duration::ZERO),
            keys: vec![host_key.clone()],
            inactivity_timeout: Some(Duration::from_secs(120)),
            preferred: if options.sha1_only {
                russh::Preferred {
                    kex: vec![
                        russh::kex::DH_G14_SHA1,
                        russh::kex::EXTENSION_OPENSSH_STRICT_KEX_AS_SERVER,
                    ]
                    .into(),
                    ..Default::default()
                }
            } else {
                russh::Preferred::default()
            },
            ..Default::default()
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = shared.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let killed = Arc::new(AtomicBool::new(false));
                            let handler = SshHandler {
                                shared: serving.clone(),
                                killed: killed.clone(),
                                channels: HashMap::new(),
                            };
                            let config = config.clone();
                            tokio::spawn(async move {
                                let stream = Killable { inner: stream, killed };
                                if let Ok(running) = russh::server::run_stream(config, stream, handler).await {
                                    let _ = running.await;
                                }
                            });
                        }
                    }
                }
            });
            rt.shutdown_timeout(Duration::from_secs(1));
        });
        SftpServer {
            port,
            root,
            host_key: host_key.public_key().clone(),
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The server's public host key.
    pub fn host_key(&self) -> &PublicKey {
        &self.host_key
    }

    /// Records the host key in `known_hosts` as `ferry trust` would.
    pub fn trust(&self, known_hosts: &Path) {
        if let Some(dir) = known_hosts.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        let mut f = OpenOptions::new().create(true).append(true).open(known_hosts).unwrap();
        writeln!(
            f,
            "[127.0.0.1]:{} {}",
            self.port,
            self.host_key.to_openssh().unwrap().trim()
        )
        .unwrap();
    }

    /// The next connection to receive `bytes` of upload data is dropped.
    pub fn drop_after(&self, bytes: u64) {
        *self.shared.drop_after.lock().unwrap() = Some(bytes);
    }

    /// The methods that let someone in so far, in order.
    pub fn successes(&self) -> Vec<String> {
        self.shared.successes.lock().unwrap().clone()
    }

    /// A path in the served folder.
    pub fn path(&self, remote: &str) -> PathBuf {
        self.root.path().join(remote.trim_start_matches('/'))
    }
}

impl Drop for SftpServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The TCP stream of one connection, which the test can cut.
struct Killable {
    inner: tokio::net::TcpStream,
    killed: Arc<AtomicBool>,
}

fn cut() -> std::io::Error {
    std::io::Error::new(ErrorKind::ConnectionReset, "dropped by the test")
}

impl AsyncRead for Killable {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        if self.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(cut()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Killable {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        if self.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(cut()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

struct SshHandler {
    shared: Arc<Shared>,
    killed: Arc<AtomicBool>,
    channels: HashMap<ChannelId, Channel<Msg>>,
}

impl SshHandler {
    fn success(&self, method: &str) -> Auth {
        self.shared.successes.lock().unwrap().push(method.to_string());
        Auth::Accept
    }
}

impl russh::server::Handler for SshHandler {
    type Error = russh::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(Auth::reject())
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: russh::server::PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        let l = &self.shared.logins;
        let known = l.keys.iter().any(|k| k.key_data() == offer.public_key.key_data());
        Ok(if user == l.user && known && !l.keyboard_interactive_only {
            Auth::Accept
        } else {
            Auth::reject()
        })
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: russh::server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let l = &self.shared.logins;
        let known = l.keys.iter().any(|k| k.key_data() == key.public_key.key_data());
        Ok(if user == l.user && known && !l.keyboard_interactive_only {
            self.success("publickey")
        } else {
            Auth::reject()
        })
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        let l = &self.shared.logins;
        Ok(
            if !l.keyboard_interactive_only && user == l.user && l.password.as_deref() == Some(password) {
                self.success("password")
            } else {
                Auth::reject()
            },
        )
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        user: &str,
        _submethods: &str,
        response: Option<russh::server::Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        let l = self.shared.logins.clone();
        let Some(mut response) = response else {
            return Ok(Auth::Partial {
                name: "".into(),
                instructions: "".into(),
                prompts: vec![("Password: ".into(), false)].into(),
            });
        };
        let answer = response.next().map(|b| String::from_utf8_lossy(&b).into_owned());
        Ok(
            if user == l.user && l.password.is_some() && answer.as_deref() == l.password.as_deref() {
                self.success("keyboard-interactive")
            } else {
                Auth::reject()
            },
        )
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn channel_eof(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Self::Error> {
        session.close(channel)?;
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel_id: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match (name, self.channels.remove(&channel_id)) {
            ("sftp", Some(channel)) => {
                session.channel_success(channel_id)?;
                let sftp = SftpHandler {
                    shared: self.shared.clone(),
                    killed: self.killed.clone(),
                    received: AtomicU64::new(0),
                    files: HashMap::new(),
                    dirs: HashMap::new(),
                    next: 0,
                };
                russh_sftp::server::run(channel.into_stream(), sftp).await;
            }
            _ => session.channel_failure(channel_id)?,
        }
        Ok(())
    }
}

struct SftpHandler {
    shared: Arc<Shared>,
    killed: Arc<AtomicBool>,
    received: AtomicU64,
    files: HashMap<String, File>,
    dirs: HashMap<String, Option<Vec<SftpFile>>>,
    next: u64,
}

fn status(id: u32) -> Status {
    Status {
        id,
        status_code: StatusCode::Ok,
        error_message: "Ok".into(),
        language_tag: "en-US".into(),
    }
}

fn io_status(e: std::io::Error) -> StatusReply {
    match e.kind() {
        ErrorKind::NotFound => StatusReply::new(StatusCode::NoSuchFile),
        ErrorKind::PermissionDenied => StatusReply::new(StatusCode::PermissionDenied),
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => {
            StatusCode::Failure.with_message("No space left on device")
        }
        _ => StatusCode::Failure.with_message(e.to_string()),
    }
}

fn ssh_strings(data: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut p = data;
    while p.len() >= 4 {
        let n = u32::from_be_bytes([p[0], p[1], p[2], p[3]]) as usize;
        if p.len() < 4 + n {
            break;
        }
        out.push(String::from_utf8_lossy(&p[4..4 + n]).into_owned());
        p = &p[4 + n..];
    }
    out
}

impl SftpHandler {
    fn local(&self, remote: &str) -> PathBuf {
        self.shared.root.join(remote.trim_start_matches('/'))
    }

    fn handle(&mut self) -> String {
        self.next += 1;
        format!("h{}", self.next)
    }
}

impl russh_sftp::server::Handler for SftpHandler {
    type Error = StatusReply;

    fn unimplemented(&self) -> Self::Error {
        StatusReply::new(StatusCode::OpUnsupported)
    }

    async fn init(&mut self, _version: u32, _ext: HashMap<String, String>) -> Result<Version, Self::Error> {
        let mut v = Version::new();
        if self.shared.extensions {
            v.extensions.insert("posix-rename@openssh.com".into(), "1".into());
            v.extensions.insert("fsync@openssh.com".into(), "1".into());
        }
        Ok(v)
    }

    async fn open(
        &mut self,
        id: u32,
        filename: String,
        pflags: OpenFlags,
        _attrs: FileAttributes,
    ) -> Result<Handle, Self::Error> {
        let f = OpenOptions::new()
            .read(pflags.contains(OpenFlags::READ))
            .write(pflags.contains(OpenFlags::WRITE))
            .create(pflags.contains(OpenFlags::CREATE))
            .truncate(pflags.contains(OpenFlags::TRUNCATE))
            .open(self.local(&filename))
            .map_err(io_status)?;
        let handle = self.handle();
        self.files.insert(handle.clone(), f);
        Ok(Handle { id, handle })
    }

    async fn write(&mut self, id: u32, handle: String, offset: u64, data: Vec<u8>) -> Result<Status, Self::Error> {
        // A cut connection may still hold requests already read: they must
        // neither land nor use up the switch armed for the next connection.
        if self.killed.load(Ordering::SeqCst) {
            return Err(StatusReply::new(StatusCode::ConnectionLost));
        }
        let received = self.received.fetch_add(data.len() as u64, Ordering::SeqCst) + data.len() as u64;
        {
            let mut limit = self.shared.drop_after.lock().unwrap();
            if limit.is_some_and(|n| received >= n) {
                *limit = None;
                self.killed.store(true, Ordering::SeqCst);
                return Err(StatusReply::new(StatusCode::ConnectionLost));
            }
        }
        let f = self
            .files
            .get(&handle)
            .ok_or_else(|| StatusReply::new(StatusCode::Failure))?;
        f.write_all_at(&data, offset).map_err(io_status)?;
        Ok(status(id))
    }

    async fn read(&mut self, _id: u32, _handle: String, _offset: u64, _len: u32) -> Result<Data, Self::Error> {
        Err(StatusReply::new(StatusCode::OpUnsupported))
    }

    async fn close(&mut self, id: u32, handle: String) -> Result<Status, Self::Error> {
        self.files.remove(&handle);
        self.dirs.remove(&handle);
        Ok(status(id))
    }

    async fn stat(&mut self, id: u32, path: String) -> Result<Attrs, Self::Error> {
        let m = std::fs::metadata(self.local(&path)).map_err(io_status)?;
        Ok(Attrs {
            id,
            attrs: FileAttributes::from(&m),
        })
    }

    async fn lstat(&mut self, id: u32, path: String) -> Result<Attrs, Self::Error> {
        self.stat(id, path).await
    }

    async fn mkdir(&mut self, id: u32, path: String, _attrs: FileAttributes) -> Result<Status, Self::Error> {
        std::fs::create_dir(self.local(&path)).map_err(io_status)?;
        Ok(status(id))
    }

    async fn remove(&mut self, id: u32, filename: String) -> Result<Status, Self::Error> {
        std::fs::remove_file(self.local(&filename)).map_err(io_status)?;
        Ok(status(id))
    }

    async fn rename(&mut self, id: u32, oldpath: String, newpath: String) -> Result<Status, Self::Error> {
        // As OpenSSH: plain SFTP rename does not replace.
        if self.local(&newpath).exists() {
            return Err(StatusReply::new(StatusCode::Failure));
        }
        std::fs::rename(self.local(&oldpath), self.local(&newpath)).map_err(io_status)?;
        Ok(status(id))
    }

    async fn opendir(&mut self, id: u32, path: String) -> Result<Handle, Self::Error> {
        let entries = std::fs::read_dir(self.local(&path)).map_err(io_status)?;
        let files = entries
            .filter_map(std::result::Result::ok)
            .map(|e| {
                let attrs = e.metadata().map(|m| FileAttributes::from(&m)).unwrap_or_default();
                SftpFile::new(e.file_name().to_string_lossy().into_owned(), attrs)
            })
            .collect();
        let handle = self.handle();
        self.dirs.insert(handle.clone(), Some(files));
        Ok(Handle { id, handle })
    }

    async fn readdir(&mut self, id: u32, handle: String) -> Result<Name, Self::Error> {
        match self.dirs.get_mut(&handle).and_then(std::option::Option::take) {
            Some(files) => Ok(Name { id, files }),
            None => Err(StatusReply::new(StatusCode::Eof)),
        }
    }

    async fn realpath(&mut self, id: u32, path: String) -> Result<Name, Self::Error> {
        Ok(Name {
            id,
            files: vec![SftpFile::dummy(if path.is_empty() || path == "." {
                "/".into()
            } else {
                path
            })],
        })
    }

    async fn extended(&mut self, id: u32, request: String, data: Vec<u8>) -> Result<Packet, Self::Error> {
        match request.as_str() {
            "posix-rename@openssh.com" if self.shared.extensions => {
                let paths = ssh_strings(&data);
                let [from, to] = &paths[..] else {
                    return Err(StatusReply::new(StatusCode::BadMessage));
                };
                std::fs::rename(self.local(from), self.local(to)).map_err(io_status)?;
                Ok(Packet::Status(status(id)))
            }
            "fsync@openssh.com" if self.shared.extensions => {
                let handle = ssh_strings(&data).into_iter().next().unwrap_or_default();
                if let Some(f) = self.files.get(&handle) {
                    f.sync_all().map_err(io_status)?;
                }
                Ok(Packet::Status(status(id)))
            }
            _ => Err(StatusReply::new(StatusCode::OpUnsupported)),
        }
    }
}
