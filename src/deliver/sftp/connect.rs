//! Getting an SSH connection to a vendor's server: the algorithms each mode
//! offers, the host-key check, what the server said about itself, and the
//! login with its key → password → keyboard-interactive fall-over.

use std::borrow::Cow;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use russh::client::{self, AuthResult, KeyboardInteractiveAuthResponse};
use russh::keys::{Algorithm, EcdsaCurve, HashAlg, PrivateKeyWithHashAlg, PublicKey};
use russh::{cipher, kex, mac, AlgorithmKind, MethodKind, MethodSet, Preferred};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::known_hosts::{self, Verdict};
use crate::config::{DeliveryMode, DestinationSettings};
use crate::deliver::{DeliveryEnv, FailureKind, OpError, ServerInfo};
use crate::keys::{fingerprint, KeyStore};

/// What the handler learnt while russh ran the handshake.
#[derive(Default)]
struct Learnt {
    host_key: Option<PublicKey>,
    verdict: Option<Verdict>,
    chosen: Option<(String, String, String, String)>,
}

/// Whether the handler checks the host key or only records it (`ferry trust`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    KnownHosts,
    CaptureOnly,
}

pub(super) struct Handler {
    entries: Vec<known_hosts::Entry>,
    check: Check,
    learnt: Arc<Mutex<Learnt>>,
}

/// The handler's error: russh's, kept whole so the negotiation failure's
/// algorithm lists reach the message.
#[derive(Debug)]
pub(super) struct HandlerError(russh::Error);

impl From<russh::Error> for HandlerError {
    fn from(e: russh::Error) -> Self {
        HandlerError(e)
    }
}

impl client::Handler for Handler {
    type Error = HandlerError;

    async fn check_server_key(&mut self, key: &russh::keys::PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let key = match key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            russh::keys::PublicKeyOrCertificate::Certificate(c) => PublicKey::from(c.public_key().clone()),
        };
        let verdict = known_hosts::verdict(&self.entries, &key);
        let mut learnt = self.learnt.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        learnt.host_key = Some(key);
        learnt.verdict = Some(verdict.clone());
        Ok(self.check == Check::KnownHosts && verdict == Verdict::Trusted)
    }

    async fn kex_done(
        &mut self,
        _secret: Option<&[u8]>,
        names: &russh::Names,
        _session: &mut client::Session,
    ) -> Result<(), Self::Error> {
        let mac = if names.client_mac.as_ref() == "none" {
            "(implied by the cipher)".to_string()
        } else {
            names.client_mac.as_ref().to_string()
        };
        self.learnt
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .chosen = Some((
            names.kex.as_ref().to_string(),
            names.key.to_string(),
            names.cipher.as_ref().to_string(),
            mac,
        ));
        Ok(())
    }
}

/// Records the first bytes the server sends: its version line and its
/// KEXINIT, which carry the banner and the algorithm lists it offers (russh
/// keeps those to itself once negotiation succeeds).
struct Tap {
    inner: TcpStream,
    seen: Arc<Mutex<Vec<u8>>>,
}

const TAP_LIMIT: usize = 64 * 1024;

impl AsyncRead for Tap {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if seen.len() < TAP_LIMIT {
                seen.extend_from_slice(&buf.filled()[before..]);
            }
        }
        r
    }
}

impl AsyncWrite for Tap {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The server's version line and the algorithm lists of its KEXINIT.
#[derive(Default, Debug)]
struct ServerHello {
    banner: Option<String>,
    kex: Vec<String>,
    host_key: Vec<String>,
    cipher: Vec<String>,
    mac: Vec<String>,
}

fn parse_hello(bytes: &[u8]) -> ServerHello {
    let mut hello = ServerHello::default();
    // Lines before the version line are allowed (RFC 4253 §4.2).
    let mut rest = bytes;
    loop {
        let Some(end) = rest.iter().position(|b| *b == b'\n') else {
            return hello;
        };
        let line = String::from_utf8_lossy(&rest[..end]).trim_end_matches('\r').to_string();
        rest = &rest[end + 1..];
        if line.starts_with("SSH-") {
            hello.banner = Some(line);
            break;
        }
    }
    // uint32 packet_length, byte padding_length, byte SSH_MSG_KEXINIT (20),
    // byte[16] cookie, then name-lists.
    if rest.len() < 22 || rest[5] != 20 {
        return hello;
    }
    let mut p = &rest[22..];
    let mut lists = Vec::new();
    for _ in 0..6 {
        if p.len() < 4 {
            return hello;
        }
        let n = u32::from_be_bytes([p[0], p[1], p[2], p[3]]) as usize;
        if p.len() < 4 + n {
            return hello;
        }
        let text = String::from_utf8_lossy(&p[4..4 + n]).into_owned();
        lists.push(text.split(',').filter(|s| !s.is_empty()).map(String::from).collect());
        p = &p[4 + n..];
    }
    let mut lists = lists.into_iter();
    hello.kex = lists.next().unwrap_or_default();
    hello.host_key = lists.next().unwrap_or_default();
    hello.cipher = lists.next().unwrap_or_default();
    lists.next();
    hello.mac = lists.next().unwrap_or_default();
    hello
}

/// Drops the pseudo-algorithms that only announce extensions.
fn real_algorithms<S: AsRef<str>>(names: &[S]) -> Vec<String> {
    names
        .iter()
        .map(|s| s.as_ref().to_string())
        .filter(|s| !s.starts_with("ext-info-") && !s.starts_with("kex-strict-"))
        .collect()
}

const MODERN_KEYS: &[Algorithm] = &[
    Algorithm::Ed25519,
    Algorithm::Ecdsa {
        curve: EcdsaCurve::NistP256,
    },
    Algorithm::Ecdsa {
        curve: EcdsaCurve::NistP384,
    },
    Algorithm::Ecdsa {
        curve: EcdsaCurve::NistP521,
    },
    Algorithm::Rsa {
        hash: Some(HashAlg::Sha512),
    },
    Algorithm::Rsa {
        hash: Some(HashAlg::Sha256),
    },
];

/// What legacy mode offers beyond russh's modern defaults.
const LEGACY_KEX: &[kex::Name] = &[
    kex::ECDH_SHA2_NISTP256,
    kex::ECDH_SHA2_NISTP384,
    kex::ECDH_SHA2_NISTP521,
    kex::DH_G14_SHA1,
    kex::DH_GEX_SHA1,
    kex::DH_G1_SHA1,
];
const LEGACY_MAC: &[mac::Name] = &[mac::HMAC_SHA1_ETM, mac::HMAC_SHA1];

/// The algorithms a mode offers; host-key types already recorded in
/// known_hosts for this server come first, as OpenSSH orders them, so a
/// server that also has a newer key type is not taken for an unknown host.
fn preferred(mode: DeliveryMode, recorded: &[known_hosts::Entry]) -> Preferred {
    let legacy = mode == DeliveryMode::SftpLegacy;
    let base = Preferred::DEFAULT;
    let mut kexes: Vec<kex::Name> = base.kex.iter().copied().collect();
    let mut macs: Vec<mac::Name> = base.mac.iter().copied().collect();
    let mut all_keys: Vec<Algorithm> = MODERN_KEYS.to_vec();
    if legacy {
        // Real algorithms before the extension pseudo-names, which russh
        // keeps at the end of its list.
        let at = kexes
            .iter()
            .position(|k| k.as_ref().starts_with("ext-info-"))
            .unwrap_or(kexes.len());
        for (i, k) in LEGACY_KEX.iter().enumerate() {
            kexes.insert(at + i, *k);
        }
        macs.extend_from_slice(LEGACY_MAC);
        all_keys.push(Algorithm::Rsa { hash: None });
    }
    let mut keys: Vec<Algorithm> = Vec::new();
    for e in recorded {
        let algorithm = e.key.algorithm();
        let candidates: Vec<Algorithm> = if algorithm.clone().is_rsa() {
            all_keys.iter().filter(|a| (*a).clone().is_rsa()).cloned().collect()
        } else {
            vec![algorithm]
        };
        for c in candidates {
            if all_keys.contains(&c) && !keys.contains(&c) {
                keys.push(c);
            }
        }
    }
    for a in all_keys {
        if !keys.contains(&a) {
            keys.push(a);
        }
    }
    let ciphers: Vec<cipher::Name> = base.cipher.iter().copied().collect();
    Preferred {
        kex: Cow::Owned(kexes),
        key: Cow::Owned(keys),
        cipher: Cow::Owned(ciphers),
        mac: Cow::Owned(macs),
        ..base
    }
}

/// A connected, not yet authenticated SSH session and what was learnt.
pub(super) struct Connected {
    pub handle: client::Handle<Handler>,
    pub info: ServerInfo,
    pub host_key: PublicKey,
}

fn kind_name(kind: AlgorithmKind) -> &'static str {
    match kind {
        AlgorithmKind::Kex => "key exchange",
        AlgorithmKind::Key => "host key",
        AlgorithmKind::Cipher => "cipher",
        AlgorithmKind::Mac => "MAC",
        AlgorithmKind::Compression => "compression",
    }
}

fn negotiation_error(mode: DeliveryMode, at: &str, kind: AlgorithmKind, ours: &[String], theirs: &[String]) -> OpError {
    let (ours, theirs) = (real_algorithms(ours), real_algorithms(theirs));
    let legacy = preferred(DeliveryMode::SftpLegacy, &[]);
    let legacy_names: Vec<String> = match kind {
        AlgorithmKind::Kex => legacy.kex.iter().map(|k| k.as_ref().to_string()).collect(),
        AlgorithmKind::Key => legacy.key.iter().map(std::string::ToString::to_string).collect(),
        AlgorithmKind::Mac => legacy.mac.iter().map(|k| k.as_ref().to_string()).collect(),
        _ => Vec::new(),
    };
    let legacy_helps = theirs.iter().any(|t| legacy_names.contains(t));
    let advice = if mode == DeliveryMode::Sftp && legacy_helps {
        "the server offers only older SHA-1 algorithms: set mode = \"sftp-legacy\" for this destination, \
         or ask the vendor to update their server"
    } else if mode == DeliveryMode::Sftp {
        "if the server offers only SHA-1 algorithms, set mode = \"sftp-legacy\" for this destination; \
         otherwise ask the vendor to update their server"
    } else {
        "ferry's sftp-legacy mode already offers every older algorithm it supports: \
         ask the vendor to update their server"
    };
    OpError::new(
        FailureKind::Algorithms,
        format!(
            "Unable to negotiate {} with {at} (client: {} / server: {}); {advice}",
            kind_name(kind),
            ours.join(","),
            theirs.join(",")
        ),
    )
}

fn network_error(at: &str, e: impl std::fmt::Display) -> OpError {
    OpError::new(
        FailureKind::Network,
        format!("cannot reach the SFTP server {at}: {e}; check the server name and port, and that a firewall lets this machine through"),
    )
}

/// `host:port` for messages.
pub fn address(settings: &DestinationSettings) -> String {
    if settings.server.contains(':') {
        format!("[{}]:{}", settings.server, settings.port)
    } else {
        format!("{}:{}", settings.server, settings.port)
    }
}

fn trust_advice(settings: &DestinationSettings) -> String {
    format!("`ferry trust {}`", settings.name)
}

/// Opens the TCP connection and runs the SSH handshake. With
/// `capture_only`, any host key is recorded and the connection is then
/// refused (for `ferry trust`): the key comes back in the error's place.
async fn handshake(
    settings: &DestinationSettings,
    env: &DeliveryEnv,
    check: Check,
) -> Result<Result<Connected, PublicKey>, OpError> {
    let at = address(settings);
    let entries = known_hosts::entries(&env.known_hosts, &settings.server, settings.port)
        .map_err(|e| OpError::new(FailureKind::Trust, e))?;
    let config = client::Config {
        preferred: preferred(settings.mode, &entries),
        gex: client::GexParams::new(2048, 3072, 8192).expect("valid group sizes"),
        nodelay: true,
        inactivity_timeout: Some(settings.timeout.max(Duration::from_secs(5)) * 2),
        keepalive_interval: Some(Duration::from_secs(30)),
        ..Default::default()
    };
    let stream = TcpStream::connect((settings.server.as_str(), settings.port))
        .await
        .map_err(|e| network_error(&at, e))?;
    let _ = stream.set_nodelay(true);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let learnt = Arc::new(Mutex::new(Learnt::default()));
    let handler = Handler {
        entries,
        check,
        learnt: learnt.clone(),
    };
    let tap = Tap {
        inner: stream,
        seen: seen.clone(),
    };
    let result = client::connect_stream(Arc::new(config), tap, handler).await;
    let hello = parse_hello(&seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    let learnt = std::mem::take(&mut *learnt.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    let handle = match result {
        Ok(h) => h,
        Err(HandlerError(russh::Error::NoCommonAlgo { kind, ours, theirs })) => {
            return Err(negotiation_error(settings.mode, &at, kind, &ours, &theirs))
        }
        Err(HandlerError(e)) => {
            let Some(key) = learnt.host_key else {
                return Err(match e {
                    russh::Error::IO(io) => network_error(&at, io),
                    russh::Error::Disconnect | russh::Error::HUP => network_error(
                        &at,
                        "the server closed the connection during the handshake (is it an SSH server?)",
                    ),
                    other => OpError::new(
                        FailureKind::Refused,
                        format!("the SSH handshake with {at} failed: {other}"),
                    ),
                });
            };
            if check == Check::CaptureOnly {
                return Ok(Err(key));
            }
            let fp = fingerprint(&key);
            let algo = key.algorithm().to_string();
            return Err(match learnt.verdict {
                Some(Verdict::Changed { line }) => OpError::new(
                    FailureKind::Trust,
                    format!(
                        "WARNING: THE HOST KEY OF {at} HAS CHANGED! The server now presents {algo} {fp}, \
                         which differs from the key recorded in {} (known_hosts line {line}). Someone may be \
                         intercepting the connection, or the vendor replaced their server. Nothing was sent. \
                         Call the vendor and compare fingerprints; if the vendor confirms the new key, \
                         remove that line and run {}",
                        env.known_hosts.display(),
                        trust_advice(settings)
                    ),
                ),
                Some(Verdict::Unknown) => OpError::new(
                    FailureKind::Trust,
                    format!(
                        "the host key of {at} is not trusted yet: it presented {algo} {fp}; compare this \
                         fingerprint with the one the vendor gives you, then run {} to trust it",
                        trust_advice(settings)
                    ),
                ),
                _ => OpError::new(
                    FailureKind::Refused,
                    format!("the SSH handshake with {at} failed after the host-key check: {e}"),
                ),
            });
        }
    };
    let host_key = learnt.host_key.clone().ok_or_else(|| {
        OpError::new(
            FailureKind::Refused,
            format!("{at} completed the handshake without a host key"),
        )
    })?;
    if check == Check::CaptureOnly {
        // Cannot happen: the handler refuses every key in this mode.
        return Ok(Err(host_key));
    }
    let mut info = ServerInfo::default();
    if let Some(b) = &hello.banner {
        info.add("server banner", b.clone());
    }
    let client_kex: Vec<String> = real_algorithms(&preferred(settings.mode, &[]).kex);
    let pref = preferred(settings.mode, &[]);
    let list = |v: &[String]| {
        if v.is_empty() {
            "(not seen)".to_string()
        } else {
            v.join(",")
        }
    };
    let chosen = learnt.chosen.clone().unwrap_or_default();
    info.add("key exchange offered by ferry", client_kex.join(","));
    info.add("key exchange offered by the server", list(&real_algorithms(&hello.kex)));
    info.add("key exchange chosen", chosen.0.clone());
    info.add(
        "host-key algorithms offered by ferry",
        pref.key
            .iter()
            .map(std::string::ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
    );
    info.add("host-key algorithms offered by the server", list(&hello.host_key));
    info.add("host-key algorithm chosen", chosen.1.clone());
    info.add(
        "ciphers offered by ferry",
        pref.cipher
            .iter()
            .map(std::convert::AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(","),
    );
    info.add("ciphers offered by the server", list(&hello.cipher));
    info.add("cipher chosen", chosen.2.clone());
    info.add(
        "MACs offered by ferry",
        pref.mac
            .iter()
            .map(std::convert::AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(","),
    );
    info.add("MACs offered by the server", list(&hello.mac));
    info.add("MAC chosen", chosen.3.clone());
    let fp = fingerprint(&host_key);
    info.add("host key", format!("{} {fp}", host_key.algorithm()));
    info.identity = Some(fp);
    Ok(Ok(Connected { handle, info, host_key }))
}

/// Connects and checks the host key against known_hosts.
pub(super) async fn connect(settings: &DestinationSettings, env: &DeliveryEnv) -> Result<Connected, OpError> {
    match handshake(settings, env, Check::KnownHosts).await? {
        Ok(c) => Ok(c),
        Err(_) => unreachable!("host keys are only captured for `ferry trust`"),
    }
}

/// The host key `settings`' server presents, without trusting or logging in.
pub(super) async fn host_key(settings: &DestinationSettings, env: &DeliveryEnv) -> Result<PublicKey, OpError> {
    match handshake(settings, env, Check::CaptureOnly).await? {
        Ok(c) => Ok(c.host_key),
        Err(key) => Ok(key),
    }
}

fn allows(methods: &Option<MethodSet>, kind: MethodKind) -> bool {
    methods.as_ref().is_none_or(|m| m.contains(&kind))
}

fn remaining(r: &AuthResult) -> Option<MethodSet> {
    match r {
        AuthResult::Failure { remaining_methods, .. } => Some(remaining_methods.clone()),
        AuthResult::Success => None,
    }
}

fn auth_transport_error(at: &str, e: russh::Error) -> OpError {
    network_error(at, format!("the connection broke during login ({e})"))
}

/// Logs in: the key alone; or the key, then the password, then
/// keyboard-interactive answering every prompt with the password; or the
/// password then keyboard-interactive. Returns the method that worked.
pub(super) async fn authenticate(
    handle: &mut client::Handle<Handler>,
    settings: &DestinationSettings,
    env: &DeliveryEnv,
) -> Result<&'static str, OpError> {
    let at = address(settings);
    let user = settings.username.clone().unwrap_or_default();
    let password = match &settings.password {
        Some(p) => Some(p.resolve().map_err(|e| OpError::new(FailureKind::Auth, e))?),
        None => None,
    };
    let key = match &settings.key {
        Some(name) => {
            let passphrase = match &settings.key_passphrase {
                Some(p) => Some(p.resolve().map_err(|e| OpError::new(FailureKind::Auth, e))?),
                None => None,
            };
            let key = KeyStore::open(&env.keys_dir)
                .load(name, passphrase.as_deref())
                .map_err(|e| OpError::new(FailureKind::Auth, format!("cannot log in to {at}: {e}")))?;
            Some((name.clone(), key))
        }
        None => None,
    };
    // Ask which methods the server takes, so methods it does not offer are
    // neither tried nor listed.
    let none = handle
        .authenticate_none(user.clone())
        .await
        .map_err(|e| auth_transport_error(&at, e))?;
    if none.success() {
        return Ok("none");
    }
    let mut allowed = remaining(&none);
    let mut tried: Vec<String> = Vec::new();
    if let Some((name, key)) = key {
        if allows(&allowed, MethodKind::PublicKey) {
            let hash = if key.algorithm().is_rsa() {
                handle
                    .best_supported_rsa_hash()
                    .await
                    .map_err(|e| auth_transport_error(&at, e))?
                    .flatten()
            } else {
                None
            };
            let r = handle
                .authenticate_publickey(user.clone(), PrivateKeyWithHashAlg::new(Arc::new(key), hash))
                .await
                .map_err(|e| auth_transport_error(&at, e))?;
            if r.success() {
                return Ok("publickey");
            }
            allowed = remaining(&r).or(allowed);
        }
        tried.push(format!("publickey with key '{name}'"));
    }
    if let Some(password) = &password {
        if allows(&allowed, MethodKind::Password) {
            tried.push("password".into());
            let r = handle
                .authenticate_password(user.clone(), password.clone())
                .await
                .map_err(|e| auth_transport_error(&at, e))?;
            if r.success() {
                return Ok("password");
            }
            allowed = remaining(&r).or(allowed);
        }
        if allows(&allowed, MethodKind::KeyboardInteractive) {
            tried.push("keyboard-interactive".into());
            let mut reply = handle
                .authenticate_keyboard_interactive_start(user.clone(), None)
                .await
                .map_err(|e| auth_transport_error(&at, e))?;
            // PAM may ask several rounds (and send empty ones); a bound
            // stops a server that asks forever.
            for _ in 0..8 {
                match reply {
                    KeyboardInteractiveAuthResponse::Success => return Ok("keyboard-interactive"),
                    KeyboardInteractiveAuthResponse::Failure { remaining_methods, .. } => {
                        allowed = Some(remaining_methods);
                        break;
                    }
                    KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                        let answers = prompts.iter().map(|_| password.clone()).collect();
                        reply = handle
                            .authenticate_keyboard_interactive_respond(answers)
                            .await
                            .map_err(|e| auth_transport_error(&at, e))?;
                    }
                }
            }
        }
    }
    let offered = allowed
        .map(|m| m.iter().map(<&str>::from).collect::<Vec<_>>().join(", "))
        .unwrap_or_default();
    let mut advice = Vec::new();
    if password.is_some() {
        advice.push("check the username and password".to_string());
    } else {
        advice.push("check the username".to_string());
    }
    if let Some(name) = &settings.key {
        advice.push(format!("send the public key (`ferry keys show {name}`) to the vendor"));
    }
    let message = if tried.is_empty() {
        format!(
            "authentication as {user} at {at} failed: the server accepts only {offered}, which this destination \
             does not configure; {}",
            if settings.key.is_some() {
                "set password = \"env:VARIABLE\""
            } else {
                "set key = \"NAME\" (see `ferry keys generate`)"
            }
        )
    } else {
        format!(
            "authentication as {user} at {at} failed (tried: {}); {}{}",
            tried.join(", "),
            advice.join(", or "),
            if offered.is_empty() {
                String::new()
            } else {
                format!(" (the server accepts: {offered})")
            }
        )
    };
    Err(OpError::new(FailureKind::Auth, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hello_gives_the_banner_and_the_lists() {
        let mut bytes = b"pre-banner text\r\nSSH-2.0-OpenSSH_9.2p1 Debian-2\r\n".to_vec();
        let mut payload = vec![20u8];
        payload.extend_from_slice(&[0; 16]);
        for list in [
            "curve25519-sha256,kex-strict-s-v00@openssh.com",
            "ssh-ed25519",
            "aes128-ctr",
            "aes128-ctr",
            "hmac-sha2-256",
            "hmac-sha2-256",
        ] {
            payload.extend_from_slice(&(list.len() as u32).to_be_bytes());
            payload.extend_from_slice(list.as_bytes());
        }
        bytes.extend_from_slice(&((payload.len() + 5) as u32).to_be_bytes());
        bytes.push(4);
        bytes.extend_from_slice(&payload);
        let hello = parse_hello(&bytes);
        assert_eq!(hello.banner.as_deref(), Some("SSH-2.0-OpenSSH_9.2p1 Debian-2"));
        assert_eq!(real_algorithms(&hello.kex), ["curve25519-sha256"]);
        assert_eq!(hello.host_key, ["ssh-ed25519"]);
        assert_eq!(hello.mac, ["hmac-sha2-256"]);
    }

    #[test]
    fn legacy_adds_sha1_and_recorded_key_types_come_first() {
        let modern = preferred(DeliveryMode::Sftp, &[]);
        let names = |p: &Preferred| p.kex.iter().map(|k| k.as_ref().to_string()).collect::<Vec<_>>();
        assert!(!names(&modern).iter().any(|k| k.ends_with("sha1")));
        assert!(!modern.key.contains(&Algorithm::Rsa { hash: None }));
        let legacy = preferred(DeliveryMode::SftpLegacy, &[]);
        for k in [
            "diffie-hellman-group14-sha1",
            "diffie-hellman-group-exchange-sha1",
            "diffie-hellman-group1-sha1",
            "ecdh-sha2-nistp256",
        ] {
            assert!(names(&legacy).contains(&k.to_string()), "{k}");
        }
        assert!(legacy.key.contains(&Algorithm::Rsa { hash: None }));
        let rsa = russh::keys::PrivateKey::random(&mut russh::keys::key::safe_rng(), Algorithm::Ed25519).unwrap();
        let entry = known_hosts::Entry {
            line: 1,
            key: rsa.public_key().clone(),
        };
        assert_eq!(preferred(DeliveryMode::Sftp, &[entry]).key[0], Algorithm::Ed25519);
    }

    #[test]
    fn negotiation_failures_list_both_sides_without_pseudo_names() {
        let e = negotiation_error(
            DeliveryMode::Sftp,
            "h:22",
            AlgorithmKind::Kex,
            &["curve25519-sha256".into(), "ext-info-c".into()],
            &[
                "diffie-hellman-group14-sha1".into(),
                "kex-strict-s-v00@openssh.com".into(),
            ],
        );
        assert_eq!(e.kind, FailureKind::Algorithms);
        assert!(
            e.message.starts_with(
                "Unable to negotiate key exchange with h:22 (client: curve25519-sha256 / server: diffie-hellman-group14-sha1); "
            ),
            "{}",
            e.message
        );
        assert!(e.message.contains("sftp-legacy"), "{}", e.message);
    }
}
