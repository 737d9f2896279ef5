//! `[destinations.NAME]` (and the inline map `deliver(file, #{...})` takes):
//! where a file goes and how it gets there. Checked when ferry starts, so a
//! missing server or a literal password is reported at once, not at 2 a.m.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::SecretRef;
use super::{Checksum, Manifest, Sidecars};

/// How files reach a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryMode {
    /// A folder on this machine (or a mounted share).
    Local,
    /// SFTP with modern algorithms only.
    Sftp,
    /// SFTP that also offers SHA-1 key exchanges and `ssh-rsa` host keys, for
    /// servers that offer nothing newer.
    SftpLegacy,
    /// FTP upgraded with `AUTH TLS` (port 21).
    FtpsExplicit,
    /// FTP inside TLS from the first byte (port 990).
    FtpsImplicit,
    /// A Windows / Samba share over SMB 2 or 3.
    Smb,
}

impl DeliveryMode {
    /// Every mode, as written in `mode = "..."`.
    pub const ALL: [DeliveryMode; 6] = [
        DeliveryMode::Local,
        DeliveryMode::Sftp,
        DeliveryMode::SftpLegacy,
        DeliveryMode::FtpsExplicit,
        DeliveryMode::FtpsImplicit,
        DeliveryMode::Smb,
    ];

    /// The name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryMode::Local => "local",
            DeliveryMode::Sftp => "sftp",
            DeliveryMode::SftpLegacy => "sftp-legacy",
            DeliveryMode::FtpsExplicit => "ftps-explicit",
            DeliveryMode::FtpsImplicit => "ftps-implicit",
            DeliveryMode::Smb => "smb",
        }
    }

    /// The port used when none is configured.
    pub fn default_port(self) -> u16 {
        match self {
            DeliveryMode::Local => 0,
            DeliveryMode::Sftp | DeliveryMode::SftpLegacy => 22,
            DeliveryMode::FtpsExplicit => 21,
            DeliveryMode::FtpsImplicit => 990,
            DeliveryMode::Smb => 445,
        }
    }

    /// SFTP in either flavour.
    pub fn is_sftp(self) -> bool {
        matches!(self, DeliveryMode::Sftp | DeliveryMode::SftpLegacy)
    }
}

impl fmt::Display for DeliveryMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an uploaded file becomes visible under its final name. Servers differ
/// (some refuse renames, Windows OpenSSH refuses to rename over a file), so
/// each destination picks one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitStrategy {
    /// Upload as `.NAME.ferry-ID.partial` in the target folder, check the
    /// size, rename over the final name (delete-then-rename where the server
    /// refuses to rename over a file). The default.
    Rename,
    /// Upload into `.ferry-upload/` under the target folder, check the size,
    /// move into the target folder: for pollers that pick up any file,
    /// hidden or not.
    Folder,
    /// Upload under the final name, check the size, then write an empty
    /// `NAME.done` marker the vendor's poller waits for.
    Marker,
    /// Upload under the final name: only for servers that allow nothing else.
    Direct,
}

impl CommitStrategy {
    /// The name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            CommitStrategy::Rename => "rename",
            CommitStrategy::Folder => "folder",
            CommitStrategy::Marker => "marker",
            CommitStrategy::Direct => "direct",
        }
    }
}

/// How often and how patiently a failed delivery is tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all (1 = no retry).
    pub attempts: u32,
    /// The wait before the second try; doubled before each further one.
    pub delay: Duration,
    /// The longest wait between tries.
    pub max_delay: Duration,
}

/// How an FTPS server's certificate is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsTrust {
    /// The system's root certificates (the default).
    SystemRoots,
    /// A CA certificate file (PEM), for a vendor with a private CA.
    CaFile(PathBuf),
    /// Exactly this certificate: its SHA-256 fingerprint, hex.
    Pinned(String),
    /// No check at all: an explicit, logged opt-in for test servers only.
    InsecureSkipVerify,
}

/// A `[destinations.NAME]` table once validated at load: deliveries read only this form, never the raw TOML.
#[derive(Clone, Debug)]
pub struct DestinationSettings {
    /// The name scripts use (`inline` for an inline map).
    pub name: String,
    /// The protocol.
    pub mode: DeliveryMode,
    /// Server host name or address (empty for local).
    pub server: String,
    /// Server port (the mode's default unless set).
    pub port: u16,
    /// The folder files are written to: absolute on the server; for SMB,
    /// `/SHARE/folder`; for local, resolved against the configuration folder.
    pub path: String,
    /// Login name.
    pub username: Option<String>,
    /// The login's password, as a reference.
    pub password: Option<SecretRef>,
    /// SFTP: the name of a key made with `ferry keys generate`.
    pub key: Option<String>,
    /// SFTP: the key's passphrase, as a reference.
    pub key_passphrase: Option<SecretRef>,
    /// How arrival is made atomic.
    pub commit: CommitStrategy,
    /// Retries after a network failure.
    pub retry: RetryPolicy,
    /// Deadline for every network operation (connect, each command, each
    /// block of an upload).
    pub timeout: Duration,
    /// FTPS: certificate checking.
    pub tls: TlsTrust,
    /// SMB: the Windows domain of the login, when the server wants one.
    pub domain: Option<String>,
    /// Checksum and manifest files sent after each data file commits.
    pub sidecars: Sidecars,
    /// Local: deliver a hard link to the file the run keeps (no second copy
    /// of the bytes) where both are on one file system. Off when a program
    /// at the folder edits delivered files in place, which would change
    /// the kept file too.
    pub link: bool,
}

impl DestinationSettings {
    /// `mode://user@server:port/path`, for messages (never a secret).
    pub fn describe(&self) -> String {
        match self.mode {
            DeliveryMode::Local => format!("local folder {}", self.path),
            _ => format!(
                "{}://{}{}:{}{}",
                self.mode,
                self.username.as_deref().map(|u| format!("{u}@")).unwrap_or_default(),
                self.server,
                self.port,
                self.path
            ),
        }
    }

    /// The local folder of a `local` destination.
    pub fn local_dir(&self) -> PathBuf {
        PathBuf::from(&self.path)
    }
}

/// A destination as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawDestination {
    mode: String,
    server: Option<String>,
    port: Option<u16>,
    path: String,
    username: Option<String>,
    password: Option<String>,
    key: Option<String>,
    key_passphrase: Option<String>,
    commit: Option<String>,
    attempts: Option<u32>,
    retry_delay: Option<String>,
    max_retry_delay: Option<String>,
    timeout: Option<String>,
    ca_file: Option<String>,
    pinned_certificate: Option<String>,
    insecure_skip_verify: Option<bool>,
    domain: Option<String>,
    checksum: Option<OneOrMany>,
    manifest: Option<String>,
    link: Option<bool>,
}

/// `checksum = "sha256"` or `checksum = ["sha256", "md5"]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// The longest server name the original tool accepted.
const MAX_SERVER_LEN: usize = 100;

/// `destinations.NAME.KEY`: every message names the setting to change.
fn key_at(name: &str, key: &str) -> String {
    format!("destinations.{name}.{key}")
}

/// `commit`, `rename` when unset.
fn commit_strategy(name: &str, text: Option<&str>) -> Result<CommitStrategy, String> {
    match text.unwrap_or("rename") {
        "rename" => Ok(CommitStrategy::Rename),
        "folder" => Ok(CommitStrategy::Folder),
        "marker" => Ok(CommitStrategy::Marker),
        "direct" => Ok(CommitStrategy::Direct),
        other => Err(format!(
            "{} '{other}' must be \"rename\", \"folder\", \"marker\" or \"direct\"",
            key_at(name, "commit")
        )),
    }
}

/// `checksum` (one or a list; repeats written once) and `manifest`.
fn sidecars(name: &str, checksum: Option<OneOrMany>, manifest: Option<&str>) -> Result<Sidecars, String> {
    let checksums = match checksum {
        None => Vec::new(),
        Some(OneOrMany::One(c)) => vec![c],
        Some(OneOrMany::Many(c)) => c,
    };
    let mut sidecars = Sidecars {
        checksums: Vec::new(),
        manifest: manifest
            .map(str::parse::<Manifest>)
            .transpose()
            .map_err(|e| format!("{}: {e}", key_at(name, "manifest")))?,
    };
    for c in checksums {
        let c = c
            .parse::<Checksum>()
            .map_err(|e| format!("{}: {e}", key_at(name, "checksum")))?;
        if !sidecars.checksums.contains(&c) {
            sidecars.checksums.push(c);
        }
    }
    Ok(sidecars)
}

/// The certificate trust of an FTPS destination: at most one of `ca_file`,
/// `pinned_certificate` (normalised to lowercase hex without colons, as the
/// check compares it) and `insecure_skip_verify`.
fn tls_trust(
    name: &str,
    root: &Path,
    ca_file: Option<String>,
    pinned: Option<String>,
    insecure: bool,
) -> Result<TlsTrust, String> {
    match (ca_file, pinned, insecure) {
        (None, None, false) => Ok(TlsTrust::SystemRoots),
        (Some(f), None, false) => Ok(TlsTrust::CaFile(root.join(f))),
        (None, Some(p), false) => {
            let hex: String = p
                .trim_start_matches("sha256:")
                .chars()
                .filter(|c| *c != ':')
                .collect::<String>()
                .to_ascii_lowercase();
            if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!(
                    "{} must be the certificate's SHA-256 fingerprint (64 hex digits, colons allowed); \
                     `ferry test-connection {name}` prints it",
                    key_at(name, "pinned_certificate")
                ));
            }
            Ok(TlsTrust::Pinned(hex))
        }
        (None, None, true) => Ok(TlsTrust::InsecureSkipVerify),
        _ => Err(format!(
            "{name}: choose one of ca_file, pinned_certificate and insecure_skip_verify"
        )),
    }
}

/// `mode`, which decides every other check.
fn delivery_mode(name: &str, text: &str) -> Result<DeliveryMode, String> {
    DeliveryMode::ALL
        .into_iter()
        .find(|m| m.as_str() == text)
        .ok_or_else(|| {
            let all: Vec<_> = DeliveryMode::ALL.iter().map(|m| m.as_str()).collect();
            format!(
                "{} '{text}' is not a delivery mode (one of: {})",
                key_at(name, "mode"),
                all.join(", ")
            )
        })
}

/// How a remote destination logs in: a password for every mode, a key only
/// for SFTP, and certificate settings only for FTPS (SFTP trusts host keys
/// instead), so a setting that would be silently ignored is refused.
fn check_login(
    name: &str,
    mode: DeliveryMode,
    has_password: bool,
    has_key: bool,
    tls: &TlsTrust,
) -> Result<(), String> {
    if has_key && !mode.is_sftp() {
        return Err(format!(
            "{}: keys are for SFTP; {mode} logs in with a password",
            key_at(name, "key")
        ));
    }
    if !has_password && !has_key {
        return Err(format!(
            "{name}: set password = \"env:VARIABLE\"{}",
            if mode.is_sftp() {
                " or key = \"NAME\" (see `ferry keys generate`)"
            } else {
                ""
            }
        ));
    }
    if *tls != TlsTrust::SystemRoots && !matches!(mode, DeliveryMode::FtpsExplicit | DeliveryMode::FtpsImplicit) {
        return Err(format!(
            "{name}: ca_file, pinned_certificate and insecure_skip_verify are for FTPS; \
             SFTP trusts host keys with `ferry trust {name}`"
        ));
    }
    Ok(())
}

/// A remote destination's `server` and `path`: a bare host (no scheme, user
/// or path, which people paste from URLs) and an absolute path without `..`,
/// naming the share for SMB.
fn check_remote_place(name: &str, mode: DeliveryMode, server: &str, path: &str) -> Result<(), String> {
    let at = |key: &str| key_at(name, key);
    if server.is_empty() {
        return Err(format!("{} is missing: give the host name or IP address", at("server")));
    }
    if server.len() > MAX_SERVER_LEN || server.contains(['/', ' ', '@']) {
        return Err(format!(
            "{} '{server}' must be a host name or IP address of at most {MAX_SERVER_LEN} characters \
             (no scheme, user or path)",
            at("server")
        ));
    }
    if !path.starts_with('/') {
        return Err(format!(
            "{} '{path}' must be absolute on the server (start with /){}",
            at("path"),
            if mode == DeliveryMode::Smb {
                "; for SMB it is /SHARE/folder"
            } else {
                ""
            }
        ));
    }
    if path.split('/').any(|p| p == "..") {
        return Err(format!("{} '{path}' must not contain '..'", at("path")));
    }
    if mode == DeliveryMode::Smb && path.trim_matches('/').is_empty() {
        return Err(format!("{} must name the share: /SHARE or /SHARE/folder", at("path")));
    }
    Ok(())
}

impl RawDestination {
    /// Checks the entry `name`; errors name the setting (`destinations.NAME.KEY`)
    /// and say what to write instead.
    pub fn validate(self, name: &str, root: &Path) -> Result<DestinationSettings, String> {
        let at = |key: &str| key_at(name, key);
        let mode = delivery_mode(name, &self.mode)?;
        let duration = |key: &str, text: &Option<String>, default: Duration| match text {
            None => Ok(default),
            Some(t) => {
                humantime::parse_duration(t).map_err(|e| format!("{} '{t}': {e} (e.g. \"30s\", \"2m\")", at(key)))
            }
        };
        let secret = |key: &str, text: &Option<String>| {
            text.as_deref()
                .map(|t| SecretRef::parse(t, root))
                .transpose()
                .map_err(|e| format!("{}: {e}", at(key)))
        };
        let commit = commit_strategy(name, self.commit.as_deref())?;
        let retry = RetryPolicy {
            attempts: self.attempts.unwrap_or(3).max(1),
            delay: duration("retry_delay", &self.retry_delay, Duration::from_secs(30))?,
            max_delay: duration("max_retry_delay", &self.max_retry_delay, Duration::from_secs(600))?,
        };
        let timeout = duration("timeout", &self.timeout, Duration::from_secs(60))?;
        let sidecars = sidecars(name, self.checksum, self.manifest.as_deref())?;
        let password = secret("password", &self.password)?;
        let key_passphrase = secret("key_passphrase", &self.key_passphrase)?;
        let server = self.server.unwrap_or_default().trim().to_string();
        let tls = tls_trust(
            name,
            root,
            self.ca_file,
            self.pinned_certificate,
            self.insecure_skip_verify.unwrap_or(false),
        )?;
        if mode == DeliveryMode::Local {
            if !server.is_empty() || self.username.is_some() || password.is_some() || self.key.is_some() {
                return Err(format!(
                    "destinations.{name} is a local folder: server, username, password and key do not apply"
                ));
            }
            return Ok(DestinationSettings {
                name: name.to_string(),
                mode,
                server,
                port: 0,
                path: root.join(&self.path).display().to_string(),
                username: None,
                password: None,
                key: None,
                key_passphrase: None,
                commit,
                retry,
                timeout,
                tls,
                domain: None,
                sidecars,
                link: self.link.unwrap_or(true),
            });
        }
        if self.link.is_some() {
            return Err(format!(
                "{}: link is for local folders; {mode} uploads a copy",
                at("link")
            ));
        }
        check_remote_place(name, mode, &server, &self.path)?;
        let username = self.username.filter(|u| !u.is_empty());
        if username.is_none() {
            return Err(format!("{} is missing: the login name at {server}", at("username")));
        }
        check_login(name, mode, password.is_some(), self.key.is_some(), &tls)?;
        Ok(DestinationSettings {
            name: name.to_string(),
            mode,
            server,
            port: self.port.unwrap_or(mode.default_port()),
            path: format!("/{}", self.path.trim_matches('/')),
            username,
            password,
            key: self.key,
            key_passphrase,
            commit,
            retry,
            timeout,
            tls,
            domain: self.domain,
            sidecars,
            link: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DestinationSettings, String> {
        let raw: RawDestination = toml::from_str(text).map_err(|e| e.to_string())?;
        raw.validate("vendor", Path::new("/cfg"))
    }

    #[test]
    fn ports_default_by_mode_and_paths_are_normalised() {
        let d = parse("mode='sftp'\nserver='h'\npath='/in/'\nusername='u'\npassword='env:P'").unwrap();
        assert_eq!((d.port, d.path.as_str()), (22, "/in"));
        assert_eq!(d.describe(), "sftp://u@h:22/in");
        let d = parse("mode='ftps-implicit'\nserver='h'\npath='/'\nusername='u'\npassword='env:P'").unwrap();
        assert_eq!((d.port, d.path.as_str()), (990, "/"));
        let d = parse("mode='ftps-explicit'\nserver='h'\npath='/x'\nusername='u'\npassword='env:P'").unwrap();
        assert_eq!(d.port, 21);
        let d = parse("mode='smb'\nserver='h'\npath='/share/in'\nusername='u'\npassword='env:P'").unwrap();
        assert_eq!(d.port, 445);
        let d = parse("mode='local'\npath='out'").unwrap();
        assert_eq!(d.path, "/cfg/out");
        assert_eq!(d.commit, CommitStrategy::Rename);
        assert_eq!(d.retry.attempts, 3);
    }

    #[test]
    fn bad_entries_name_the_setting_and_the_fix() {
        let cases = [
            (
                "mode='ftp'\npath='/x'",
                "destinations.vendor.mode 'ftp' is not a delivery mode",
            ),
            (
                "mode='sftp'\npath='/x'\nusername='u'\npassword='env:P'",
                "destinations.vendor.server is missing",
            ),
            (
                "mode='sftp'\nserver='sftp://h'\npath='/x'\nusername='u'\npassword='env:P'",
                "must be a host name or IP address",
            ),
            (
                "mode='sftp'\nserver='h'\npath='in'\nusername='u'\npassword='env:P'",
                "must be absolute",
            ),
            (
                "mode='sftp'\nserver='h'\npath='/x'\nusername='u'\npassword='hunter2'",
                "not literals",
            ),
            ("mode='sftp'\nserver='h'\npath='/x'\nusername='u'", "or key = \"NAME\""),
            (
                "mode='smb'\nserver='h'\npath='/'\nusername='u'\npassword='env:P'",
                "must name the share",
            ),
            (
                "mode='sftp'\nserver='h'\npath='/x'\nusername='u'\npassword='env:P'\ncommit='atomic'",
                "commit 'atomic' must be",
            ),
            (
                "mode='ftps-explicit'\nserver='h'\npath='/x'\nusername='u'\npassword='env:P'\npinned_certificate='ab'",
                "64 hex digits",
            ),
            (
                "mode='sftp'\nserver='h'\npath='/x'\nusername='u'\npassword='env:P'\ninsecure_skip_verify=true",
                "are for FTPS",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
        let long = format!(
            "mode='sftp'\nserver='{}'\npath='/x'\nusername='u'\npassword='env:P'",
            "h".repeat(101)
        );
        assert!(parse(&long).unwrap_err().contains("at most 100 characters"));
    }
}
