//! One connected SMB share and the `Session` operations ferry asks for,
//! each bounded by a deadline. Files are opened with explicit access masks:
//! smb's `make_overwrite` asks for GENERIC_ALL, which Samba refuses on an
//! existing 0644 file.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use smb::{
    Connection, ConnectionConfig, CreateDisposition, CreateOptions, Directory, FileAccessMask, FileAttributes,
    FileCreateArgs, FileDispositionInformation, FileNamesInformation, FileRenameInformation, GetLen, Guid, Resource,
    Tree, UncPath,
};
use tokio::io::AsyncReadExt;

use crate::protocol::{Connected, Failure};
use crate::status::{advice, classify, code_in_text, scrub};
use crate::transport::NoDelayTcp;

/// The largest block an upload sends in one write; smaller when the server
/// says so. Not the 8 MiB servers allow: a write that Samba answers
/// asynchronously (an interim STATUS_PENDING, which carries the credits
/// granted) loses those credits in smb 0.12.1, and with 8 MiB writes (128
/// credits each) the connection then starves and stalls (5 of 12 concurrent
/// 100 MB uploads stalled; with 1 MiB, 0 of 24). With no-delay and one write
/// per message, 1 MiB blocks are as fast (100 MB in about 0.4 s).
const MAX_BLOCK: u32 = 1024 * 1024;
/// The credits asked of the server: many blocks' worth, so a lost grant is
/// made up by the next request before the pool runs dry.
const CREDITS: u16 = 512;

/// Where we are connected, for messages.
#[derive(Clone)]
pub struct Place {
    pub server: String,
    pub port: u16,
    pub share: String,
    pub password: String,
}

impl Place {
    fn unc(&self) -> String {
        format!("\\\\{}\\{} (port {})", self.server, self.share, self.port)
    }

    /// A failure of an operation on `path`, with its NTSTATUS name and advice.
    fn fail(&self, what: &str, path: &str, e: smb::Error) -> Failure {
        let text = e.to_string();
        let code = match &e {
            smb::Error::ReceivedErrorMessage(c, _) | smb::Error::UnexpectedMessageStatus(c) => Some(*c),
            _ => code_in_text(&text),
        };
        let (detail, kind) = match code {
            Some(c) => classify(c),
            None => (text.clone(), transport_kind(&e)),
        };
        let tip = match code {
            Some(_) => advice(kind, &detail, &self.share, &self.server),
            None => advice(kind, "", &self.share, &self.server),
        };
        let path = if path.is_empty() {
            String::new()
        } else {
            format!(" {path}")
        };
        let msg = format!(
            "{what}{path} on {} failed: {detail}{}",
            self.unc(),
            if tip.is_empty() {
                String::new()
            } else {
                format!("; {tip}")
            }
        );
        Failure::new(kind, scrub(&msg, &self.password))
    }

    fn late(&self, what: &str, path: &str, deadline: Duration) -> Failure {
        Failure::new(
            "timeout",
            format!(
                "no answer within {} ms while {what} {path} on {}; raise `timeout` if the server is just slow",
                deadline.as_millis(),
                self.unc()
            ),
        )
    }

    /// `/SHARE/a/b` as the share-relative `a\b`.
    pub fn relative(&self, path: &str) -> Result<String, Failure> {
        let mut parts = path.split('/').filter(|p| !p.is_empty());
        match parts.next() {
            Some(first) if first.eq_ignore_ascii_case(&self.share) => Ok(parts.collect::<Vec<_>>().join("\\")),
            _ => Err(Failure::new(
                "local",
                format!("{path} is not on share '{}': SMB paths are /SHARE/folder", self.share),
            )),
        }
    }
}

/// The kind of an error that carries no NTSTATUS.
fn transport_kind(e: &smb::Error) -> &'static str {
    match e {
        smb::Error::OperationTimeout(..) => "timeout",
        smb::Error::TransportError(smb::transport::TransportError::Timeout(_)) => "timeout",
        smb::Error::NegotiationError(_) => "algorithms",
        smb::Error::SspiError(_) => "auth",
        smb::Error::IoError(_)
        | smb::Error::TransportError(_)
        | smb::Error::ConnectionStopped
        | smb::Error::Cancelled(_) => "network",
        _ => "refused",
    }
}

/// A connected share.
pub struct Share {
    place: Place,
    timeout: Duration,
    block: u32,
    conn: Connection,
    session: smb::Session,
    tree: Tree,
}

fn dialect_name(d: smb::Dialect) -> &'static str {
    match d {
        smb::Dialect::Smb0202 => "2.0.2",
        smb::Dialect::Smb021 => "2.1",
        smb::Dialect::Smb030 => "3.0",
        smb::Dialect::Smb0302 => "3.0.2",
        smb::Dialect::Smb0311 => "3.1.1",
    }
}

/// What `connect` needs.
pub struct Login {
    pub place: Place,
    pub username: String,
    pub domain: Option<String>,
    pub timeout: Duration,
}

async fn bounded<T>(
    deadline: Duration,
    late: impl FnOnce() -> Failure,
    op: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    tokio::time::timeout(deadline, op).await.unwrap_or_else(|_| Err(late()))
}

impl Share {
    /// Connects, negotiates, logs in with NTLM and connects to the share.
    pub async fn connect(login: Login) -> Result<(Share, Connected), Failure> {
        let place = login.place.clone();
        let t = login.timeout;
        let target = format!("{}:{}", place.server, place.port);
        let late = |what: &str| {
            Failure::new(
                "timeout",
                format!("no answer from {target} within {} ms while {what}", t.as_millis()),
            )
        };
        let addr = bounded(t, || late("looking up the address"), async {
            tokio::net::lookup_host(&target)
                .await
                .ok()
                .and_then(|mut a| a.next())
                .ok_or_else(|| {
                    Failure::new(
                        "network",
                        format!("cannot find the address of {}: check `server`", place.server),
                    )
                })
        })
        .await?;
        let tcp = NoDelayTcp::connect(addr, t).await.map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::TimedOut {
                "timeout"
            } else {
                "network"
            };
            Failure::new(
                kind,
                format!(
                    "cannot connect to {target}{}: {e}; check `server` and `port` and that the \
                     firewall lets SMB (TCP {}) through",
                    if addr.to_string() == target {
                        String::new()
                    } else {
                        format!(" ({addr})")
                    },
                    place.port
                ),
            )
        })?;
        let config = ConnectionConfig {
            port: Some(place.port),
            timeout: Some(t),
            // A write costs one credit per 64 KiB; smb's default backlog (128)
            // leaves the pool short after a few large writes, and the next one
            // then waits for credits forever.
            credits_backlog: Some(CREDITS),
            ..Default::default()
        };
        let conn = bounded(t, || late("negotiating SMB"), async {
            Connection::from_transport(Box::new(tcp), &place.server, Guid::generate(), config)
                .await
                .map_err(|e| {
                    let mut f = place.fail("negotiating SMB", "", e);
                    if f.kind == "algorithms" {
                        f.message.push_str(
                            "; the server offers no SMB 2/3 dialect this client speaks (SMB1 is not supported)",
                        );
                    }
                    f
                })
        })
        .await?;
        let info = conn.conn_info().expect("negotiated");
        let n = &info.negotiation;
        let block = n.max_write_size.clamp(64 * 1024, MAX_BLOCK);
        let connected = Connected {
            dialect: dialect_name(n.dialect_rev).to_string(),
            server_name: info.server_name.clone(),
            // smb pads the last group with spaces instead of zeros.
            server_guid: n.server_guid.to_string().replace(' ', "0"),
            signing: n.signing_algo.map(|s| format!("{s:?}")),
            encryption: n.encryption_cipher.map(|c| format!("{c:?}")),
            max_write_size: n.max_write_size,
            block_size: block,
        };
        let username = sspi::Username::new(&login.username, login.domain.as_deref())
            .map_err(|e| Failure::new("auth", format!("the username '{}' is not valid: {e}", login.username)))?;
        let identity = sspi::AuthIdentity {
            username,
            password: place.password.clone().into(),
        };
        let who = match &login.domain {
            Some(d) if !d.is_empty() => format!("{d}\\{}", login.username),
            _ => login.username.clone(),
        };
        let session = bounded(t, || late("logging in"), async {
            conn.authenticate(identity).await.map_err(|e| {
                let mut f = place.fail("logging in as", &who, e);
                if f.kind == "auth" {
                    f.message = format!(
                        "the server refused the login of '{who}' (NTLM) at {target}: {}",
                        f.message.split_once(": ").map(|x| x.1).unwrap_or(&f.message)
                    );
                }
                f
            })
        })
        .await?;
        let unc = UncPath::new(&place.server)
            .and_then(|u| u.with_share(&place.share))
            .map_err(|e| Failure::new("local", format!("bad server or share name: {e}")))?;
        let tree = bounded(t, || late("connecting to the share"), async {
            session
                .tree_connect(&unc)
                .await
                .map_err(|e| place.fail("connecting to share", &format!("'{}'", place.share), e))
        })
        .await?;
        Ok((
            Share {
                place,
                timeout: t,
                block,
                conn,
                session,
                tree,
            },
            connected,
        ))
    }

    async fn open(&self, what: &str, path: &str, rel: &str, args: FileCreateArgs) -> Result<Resource, Failure> {
        bounded(self.timeout, || self.place.late(what, path, self.timeout), async {
            self.tree
                .create(rel, &args)
                .await
                .map_err(|e| self.place.fail(what, path, e))
        })
        .await
    }

    async fn close_resource(&self, r: &smb::ResourceHandle) {
        let _ = tokio::time::timeout(self.timeout, r.close()).await;
    }

    /// Creates `path` and its missing parents (the share itself exists).
    pub async fn mkdir_all(&self, path: &str) -> Result<(), Failure> {
        let rel = self.place.relative(path)?;
        let mut so_far = String::new();
        for part in rel.split('\\').filter(|p| !p.is_empty()) {
            if !so_far.is_empty() {
                so_far.push('\\');
            }
            so_far.push_str(part);
            let args = FileCreateArgs {
                disposition: CreateDisposition::OpenIf,
                attributes: FileAttributes::new().with_directory(true),
                options: CreateOptions::new().with_directory_file(true),
                desired_access: FileAccessMask::new()
                    .with_file_read_attributes(true)
                    .with_synchronize(true),
            };
            let r = self.open("creating folder", path, &so_far, args).await?;
            self.close_handle(r).await;
        }
        Ok(())
    }

    async fn close_handle(&self, r: Resource) {
        match &r {
            Resource::File(f) => self.close_resource(f).await,
            Resource::Directory(d) => self.close_resource(d).await,
            _ => {}
        }
    }

    /// Writes `local` to `remote` in blocks, each within `block_deadline`.
    pub async fn upload(&self, local: &str, remote: &str, block_deadline: Duration) -> Result<u64, Failure> {
        let rel = self.place.relative(remote)?;
        let mut input = tokio::fs::File::open(local)
            .await
            .map_err(|e| Failure::new("local", format!("cannot read {local}: {e}")))?;
        let args = FileCreateArgs {
            disposition: CreateDisposition::OverwriteIf,
            attributes: FileAttributes::new(),
            options: CreateOptions::new().with_non_directory_file(true),
            desired_access: FileAccessMask::new()
                .with_file_read_data(true)
                .with_file_write_data(true)
                .with_file_read_attributes(true)
                .with_file_write_attributes(true)
                .with_synchronize(true),
        };
        let file = match self.open("writing", remote, &rel, args).await? {
            Resource::File(f) => f,
            other => {
                self.close_handle(other).await;
                return Err(Failure::new(
                    "refused",
                    format!("{remote} on {} is a folder", self.place.unc()),
                ));
            }
        };
        let result = self.write_all(&mut input, &file, local, remote, block_deadline).await;
        // Closing is part of the upload: the server may report a late
        // failure (a full disk) only now.
        let closed = bounded(
            self.timeout,
            || self.place.late("closing", remote, self.timeout),
            async { file.close().await.map_err(|e| self.place.fail("finishing", remote, e)) },
        )
        .await;
        let sent = result?;
        closed?;
        Ok(sent)
    }

    async fn write_all(
        &self,
        input: &mut tokio::fs::File,
        file: &smb::File,
        local: &str,
        remote: &str,
        deadline: Duration,
    ) -> Result<u64, Failure> {
        let mut buf = vec![0u8; self.block as usize];
        let mut pos = 0u64;
        loop {
            let mut n = 0;
            while n < buf.len() {
                let got = input
                    .read(&mut buf[n..])
                    .await
                    .map_err(|e| Failure::new("local", format!("cannot read {local}: {e}")))?;
                if got == 0 {
                    break;
                }
                n += got;
            }
            if n == 0 {
                return Ok(pos);
            }
            let mut block: Arc<[u8]> = Arc::from(&buf[..n]);
            loop {
                let len = block.len() as u64;
                let written = bounded(
                    deadline,
                    || {
                        self.place
                            .late(&format!("writing {len} bytes at offset {pos} of"), remote, deadline)
                    },
                    async {
                        file.write_block_zc(block.clone(), pos, None)
                            .await
                            .map_err(|e| self.place.fail("writing", remote, smb::Error::IoError(e)))
                    },
                )
                .await?;
                if written == 0 {
                    return Err(Failure::new(
                        "refused",
                        format!(
                            "the server accepted no bytes at offset {pos} of {remote} on {}",
                            self.place.unc()
                        ),
                    ));
                }
                pos += written as u64;
                if written >= block.len() {
                    break;
                }
                block = Arc::from(&block[written..]);
            }
        }
    }

    /// The size of `path`, or `None` when it does not exist.
    pub async fn size(&self, path: &str) -> Result<Option<u64>, Failure> {
        let rel = self.place.relative(path)?;
        let args = FileCreateArgs::make_open_existing(
            FileAccessMask::new()
                .with_file_read_attributes(true)
                .with_synchronize(true),
        );
        let r = match self.open("reading the size of", path, &rel, args).await {
            Ok(r) => r,
            Err(f) if f.kind == "not_found" => return Ok(None),
            Err(f) => return Err(f),
        };
        let size = match &r {
            Resource::File(f) => {
                bounded(
                    self.timeout,
                    || self.place.late("reading the size of", path, self.timeout),
                    async {
                        f.get_len()
                            .await
                            .map_err(|e| self.place.fail("reading the size of", path, e))
                    },
                )
                .await
            }
            _ => Ok(0),
        };
        self.close_handle(r).await;
        size.map(Some)
    }

    /// Renames `from` to `to`, replacing `to` (FileRenameInformation with
    /// ReplaceIfExists: one step on the server).
    pub async fn rename(&self, from: &str, to: &str) -> Result<(), Failure> {
        let rel_from = self.place.relative(from)?;
        let rel_to = self.place.relative(to)?;
        let what = format!("renaming {from} to");
        let args = FileCreateArgs::make_open_existing(
            FileAccessMask::new()
                .with_delete(true)
                .with_file_read_attributes(true)
                .with_synchronize(true),
        );
        let r = self.open(&what, to, &rel_from, args).await?;
        let done = match &r {
            Resource::File(f) => {
                bounded(self.timeout, || self.place.late(&what, to, self.timeout), async {
                    f.set_info(FileRenameInformation {
                        replace_if_exists: true.into(),
                        root_directory: 0,
                        file_name: rel_to.as_str().into(),
                    })
                    .await
                    .map_err(|e| self.place.fail(&what, to, e))
                })
                .await
            }
            _ => Err(Failure::new("refused", format!("{from} is not a file"))),
        };
        self.close_handle(r).await;
        done
    }

    /// Removes the file `path`.
    pub async fn remove(&self, path: &str) -> Result<(), Failure> {
        let rel = self.place.relative(path)?;
        let args = FileCreateArgs {
            disposition: CreateDisposition::Open,
            attributes: FileAttributes::new(),
            options: CreateOptions::new().with_non_directory_file(true),
            desired_access: FileAccessMask::new().with_delete(true).with_synchronize(true),
        };
        let r = self.open("removing", path, &rel, args).await?;
        let done = match &r {
            Resource::File(f) => {
                bounded(
                    self.timeout,
                    || self.place.late("removing", path, self.timeout),
                    async {
                        f.set_info(FileDispositionInformation::default())
                            .await
                            .map_err(|e| self.place.fail("removing", path, e))
                    },
                )
                .await
            }
            _ => Err(Failure::new("refused", format!("{path} is not a file"))),
        };
        self.close_handle(r).await;
        done
    }

    /// The entry names in the folder `path`.
    pub async fn list(&self, path: &str) -> Result<Vec<String>, Failure> {
        let rel = self.place.relative(path)?;
        let args = FileCreateArgs {
            disposition: CreateDisposition::Open,
            attributes: FileAttributes::new(),
            options: CreateOptions::new().with_directory_file(true),
            desired_access: FileAccessMask::new()
                .with_file_read_data(true)
                .with_file_read_attributes(true)
                .with_synchronize(true),
        };
        let dir = match self.open("listing", path, &rel, args).await? {
            Resource::Directory(d) => Arc::new(d),
            other => {
                self.close_handle(other).await;
                return Err(Failure::new("refused", format!("{path} is not a folder")));
            }
        };
        let names = bounded(self.timeout, || self.place.late("listing", path, self.timeout), async {
            let mut names = Vec::new();
            let mut stream = Directory::query::<FileNamesInformation>(&dir, "*")
                .await
                .map_err(|e| self.place.fail("listing", path, e))?;
            while let Some(entry) = stream.next().await {
                let entry = entry.map_err(|e| self.place.fail("listing", path, e))?;
                let name = entry.file_name.to_string();
                if name != "." && name != ".." {
                    names.push(name);
                }
            }
            Ok(names)
        })
        .await;
        self.close_resource(&dir).await;
        names
    }

    /// Disconnects politely; errors are of no interest by then.
    pub async fn close(self) {
        let t = self.timeout.min(Duration::from_secs(5));
        let _ = tokio::time::timeout(t, self.tree.disconnect()).await;
        let _ = tokio::time::timeout(t, self.session.logoff()).await;
        let _ = tokio::time::timeout(t, self.conn.close()).await;
    }
}
