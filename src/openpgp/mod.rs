//! The OpenPGP keyring ferry manages (`ferry keys pgp ...`): vendors'
//! public keys that files are encrypted to, and the district's own signing
//! key. OpenPGP itself is rpgp's (the `pgp` crate); this module owns the
//! folder, the names, and the checks that keep a roster from being
//! encrypted to a key its owner can no longer read.
//!
//! Each key is files in the keyring folder, named after the key:
//! `NAME.pub.asc`, the armored public key (a vendor's as imported, or the
//! public half of a generated key, to send to the vendor); and for a key
//! ferry generated, `NAME.sec.asc`, the secret key locked with a passphrase
//! (owner-only), beside `NAME.sec.toml`, which holds the passphrase's secret
//! reference (`env:VAR` or `file:PATH`), never the passphrase.

pub(crate) mod cert;
mod encrypt;
mod error;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use pgp::composed::{
    Deserializable, EncryptionCaps, KeyType, SecretKeyParamsBuilder, SignedPublicKey, SignedSecretKey,
    SubkeyParamsBuilder,
};
use pgp::crypto::ecc_curve::ECCCurve;
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::types::{CompressionAlgorithm, Password};

use crate::config::SecretRef;

pub(crate) use cert::{Refusal, Summary};
pub(crate) use encrypt::{write_message, Recipient, Signer};
pub(crate) use error::PgpError;

/// A recipient key closer than this to its expiry is warned about at every
/// run that encrypts to it, so the vendor has time to send a new one.
pub(crate) const EXPIRY_WARNING_DAYS: i64 = 30;

/// What `ferry keys pgp list` and `show` say about a key.
#[derive(Clone, Debug)]
pub(crate) struct KeyInfo {
    /// The key's name in the keyring.
    pub name: String,
    /// What the certificate says about itself.
    pub summary: Summary,
    /// Whether ferry holds the secret key (a key it generated: it can sign).
    pub secret: bool,
    /// Whether files can be encrypted to it now, and until when; or why not.
    pub encrypt: Result<Option<DateTime<Utc>>, Refusal>,
}

impl KeyInfo {
    /// "usable", "usable until 2027-03-01", "expired 2026-01-01", ...
    pub(crate) fn status(&self) -> String {
        match &self.encrypt {
            Ok(None) => "usable".into(),
            Ok(Some(at)) => format!("usable until {}", at.format("%Y-%m-%d")),
            Err(Refusal::Revoked(_)) => "revoked".into(),
            Err(Refusal::Expired(at)) => format!("expired {}", at.format("%Y-%m-%d")),
            Err(Refusal::SignOnly(_)) => "cannot encrypt (signing only)".into(),
            Err(Refusal::Unsupported(alg)) => format!("cannot encrypt ({alg})"),
            Err(Refusal::Unsigned) => "invalid (no valid self-signature)".into(),
        }
    }
}

/// Who a key is, for messages: its first user ID and fingerprint.
pub(crate) fn describe(s: &Summary) -> String {
    match s.user_ids.first() {
        Some(uid) => format!("{uid}, fingerprint {}", s.fingerprint),
        None => format!("fingerprint {}", s.fingerprint),
    }
}

/// The folder of OpenPGP keys (`pgp_keys_dir`) that scripts name recipients and signers from.
#[derive(Clone, Debug)]
pub(crate) struct Keyring {
    dir: PathBuf,
    root: PathBuf,
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> PgpError {
    let what = what.into();
    move |source| PgpError::Io { what, source }
}

/// The error for a certificate that cannot be encrypted to.
pub(crate) fn refused(name: &str, summary: &Summary, refusal: Refusal) -> PgpError {
    let (name, who) = (name.to_string(), describe(summary));
    match refusal {
        Refusal::Revoked(reason) => PgpError::Revoked {
            name,
            who,
            reason: reason.map(|r| format!(" (reason: {r})")).unwrap_or_default(),
        },
        Refusal::Expired(at) => PgpError::Expired {
            name,
            who,
            on: at.format("%Y-%m-%d %H:%M UTC").to_string(),
        },
        Refusal::SignOnly(has) => PgpError::SignOnly { name, who, has },
        Refusal::Unsupported(algorithm) => PgpError::Unsupported { name, who, algorithm },
        Refusal::Unsigned => PgpError::Unsigned { name, who },
    }
}

/// Reads one public key from armored or binary OpenPGP data. `file` names
/// the source in errors; `name` is the key's name in the keyring.
pub(crate) fn parse_public(file: &str, bytes: &[u8]) -> Result<SignedPublicKey, PgpError> {
    let not_a_key = |message: String| PgpError::NotAKey {
        file: file.to_string(),
        message,
    };
    let parsed = SignedPublicKey::from_reader_many(bytes);
    let mut keys: Vec<SignedPublicKey> = match parsed {
        Ok((iter, _)) => iter.collect::<Result<_, _>>().map_err(|e| not_a_key(e.to_string()))?,
        Err(e) => {
            if SignedSecretKey::from_reader_single(bytes).is_ok() {
                return Err(PgpError::SecretKey { file: file.to_string() });
            }
            return Err(not_a_key(e.to_string()));
        }
    };
    match keys.len() {
        1 => Ok(keys.swap_remove(0)),
        0 => {
            if SignedSecretKey::from_reader_single(bytes).is_ok() {
                return Err(PgpError::SecretKey { file: file.to_string() });
            }
            Err(not_a_key("no public key in it".into()))
        }
        count => Err(PgpError::Several {
            file: file.to_string(),
            count,
        }),
    }
}

impl Keyring {
    /// The keyring in `dir` (created, owner-only, when a key is first
    /// stored); `root` resolves relative `file:` passphrase references.
    pub(crate) fn open(dir: &Path, root: &Path) -> Self {
        Keyring {
            dir: dir.to_path_buf(),
            root: root.to_path_buf(),
        }
    }

    /// The folder.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Refuses names that are not plain file names.
    pub(crate) fn check_name(name: &str) -> Result<(), PgpError> {
        if crate::keys::is_plain_key_name(name) {
            Ok(())
        } else {
            Err(PgpError::BadName(name.to_string()))
        }
    }

    fn public_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.pub.asc"))
    }

    fn secret_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.sec.asc"))
    }

    fn passphrase_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.sec.toml"))
    }

    fn missing(&self, name: &str) -> PgpError {
        PgpError::Missing {
            name: name.to_string(),
            dir: self.dir.display().to_string(),
        }
    }

    fn make_dir(&self) -> Result<(), PgpError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(io(format!(
                "cannot create the PGP keyring folder {}",
                self.dir.display()
            )))?;
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
            .map_err(io(format!("cannot make {} owner-only", self.dir.display())))
    }

    fn write_new(&self, path: &Path, mode: u32, bytes: &[u8]) -> Result<(), PgpError> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
            .map_err(io(format!("cannot create {}", path.display())))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(io(format!("cannot write {}", path.display())))
    }

    fn check_free(&self, name: &str) -> Result<(), PgpError> {
        Self::check_name(name)?;
        if self.public_path(name).exists() || self.secret_path(name).exists() {
            return Err(PgpError::Exists {
                name: name.to_string(),
                dir: self.dir.display().to_string(),
            });
        }
        Ok(())
    }

    /// Checks that `cert` can be encrypted to at `now` (not revoked, not
    /// expired, with a key ferry can encrypt to), naming it `name` in errors.
    pub(crate) fn check_recipient(name: &str, cert: &SignedPublicKey, now: DateTime<Utc>) -> Result<(), PgpError> {
        cert::encryption_key(cert, now)
            .map(drop)
            .map_err(|r| refused(name, &cert::summary(cert), r))
    }

    /// Stores a vendor's public key as `name` once [`Keyring::check_recipient`]
    /// accepts it at `now`.
    pub(crate) fn import(&self, name: &str, cert: &SignedPublicKey, now: DateTime<Utc>) -> Result<KeyInfo, PgpError> {
        self.check_free(name)?;
        Self::check_recipient(name, cert, now)?;
        let armored = cert.to_armored_bytes(None.into()).map_err(|e| PgpError::Format {
            name: name.to_string(),
            message: e.to_string(),
        })?;
        self.make_dir()?;
        self.write_new(&self.public_path(name), 0o644, &armored)?;
        Ok(info(name, cert, false, now))
    }

    /// Makes the district's key `name`: an Ed25519 signing key with a
    /// Curve25519 encryption subkey (what GnuPG 2.2 and later read), its
    /// secret locked with the passphrase `passphrase` refers to. The
    /// reference, not the passphrase, is kept beside it for signing.
    pub(crate) fn generate(
        &self,
        name: &str,
        user_id: &str,
        passphrase: &str,
        now: DateTime<Utc>,
    ) -> Result<KeyInfo, PgpError> {
        self.check_free(name)?;
        let reference = SecretRef::parse(passphrase, &self.root).map_err(|message| PgpError::Passphrase {
            name: name.to_string(),
            message,
        })?;
        let secret = reference.resolve().map_err(|message| PgpError::Passphrase {
            name: name.to_string(),
            message,
        })?;
        if secret.is_empty() {
            return Err(PgpError::Passphrase {
                name: name.to_string(),
                message: format!("the passphrase {reference} is empty; a secret key must be locked"),
            });
        }
        let format = |e: String| PgpError::Format {
            name: name.to_string(),
            message: e,
        };
        let subkey = SubkeyParamsBuilder::default()
            .key_type(KeyType::ECDH(ECCCurve::Curve25519Legacy))
            .can_encrypt(EncryptionCaps::All)
            .passphrase(Some(secret.clone()))
            .build()
            .map_err(|e| format(e.to_string()))?;
        let params = SecretKeyParamsBuilder::default()
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id(user_id.to_string())
            .passphrase(Some(secret))
            .preferred_symmetric_algorithms(
                [
                    SymmetricKeyAlgorithm::AES256,
                    SymmetricKeyAlgorithm::AES192,
                    SymmetricKeyAlgorithm::AES128,
                ]
                .into_iter()
                .collect(),
            )
            .preferred_hash_algorithms(
                [HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512]
                    .into_iter()
                    .collect(),
            )
            .preferred_compression_algorithms(
                [CompressionAlgorithm::ZLIB, CompressionAlgorithm::ZIP]
                    .into_iter()
                    .collect(),
            )
            .subkey(subkey)
            .build()
            .map_err(|e| format(e.to_string()))?;
        let key = params.generate(rand::thread_rng()).map_err(|e| format(e.to_string()))?;
        let public = key.to_public_key();
        let secret_text = key.to_armored_bytes(None.into()).map_err(|e| format(e.to_string()))?;
        let public_text = public
            .to_armored_bytes(None.into())
            .map_err(|e| format(e.to_string()))?;
        let settings = format!(
            "# The secret reference that unlocks {name}.sec.asc (not the passphrase itself).\n\
             passphrase = {}\n",
            toml::Value::String(passphrase.to_string())
        );
        self.make_dir()?;
        self.write_new(&self.passphrase_path(name), 0o600, settings.as_bytes())?;
        self.write_new(&self.secret_path(name), 0o600, &secret_text)?;
        self.write_new(&self.public_path(name), 0o644, &public_text)?;
        Ok(info(name, &public, true, now))
    }

    fn read_public(&self, name: &str) -> Result<SignedPublicKey, PgpError> {
        Self::check_name(name)?;
        let path = self.public_path(name);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(self.missing(name)),
            Err(e) => return Err(io(format!("cannot read {}", path.display()))(e)),
        };
        parse_public(&path.display().to_string(), &bytes)
    }

    /// Every key, by name.
    pub(crate) fn list(&self, now: DateTime<Utc>) -> Result<Vec<KeyInfo>, PgpError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(format!("cannot list {}", self.dir.display()))(e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(std::result::Result::ok)
            .filter_map(|e| {
                e.file_name()
                    .to_string_lossy()
                    .strip_suffix(".pub.asc")
                    .map(str::to_string)
            })
            .filter(|n| Self::check_name(n).is_ok())
            .collect();
        names.sort();
        names.into_iter().map(|n| self.info(&n, now)).collect()
    }

    /// What the keyring knows about `name`.
    pub(crate) fn info(&self, name: &str, now: DateTime<Utc>) -> Result<KeyInfo, PgpError> {
        let cert = self.read_public(name)?;
        Ok(info(name, &cert, self.secret_path(name).exists(), now))
    }

    /// The armored public key, to send to a vendor (a generated key) or to
    /// compare with what the vendor sent (an imported one).
    pub(crate) fn public_armored(&self, name: &str) -> Result<String, PgpError> {
        let cert = self.read_public(name)?;
        cert.to_armored_string(None.into()).map_err(|e| PgpError::Format {
            name: name.to_string(),
            message: e.to_string(),
        })
    }

    /// Removes a key's files.
    pub(crate) fn remove(&self, name: &str) -> Result<(), PgpError> {
        Self::check_name(name)?;
        let paths = [
            self.public_path(name),
            self.secret_path(name),
            self.passphrase_path(name),
        ];
        if !paths.iter().any(|p| p.exists()) {
            return Err(self.missing(name));
        }
        for p in paths.iter().filter(|p| p.exists()) {
            fs::remove_file(p).map_err(io(format!("cannot remove {}", p.display())))?;
        }
        Ok(())
    }

    /// A key to encrypt to, checked at `now`: refused (naming it) when
    /// revoked, expired, or unable to encrypt.
    pub(crate) fn recipient(&self, name: &str, now: DateTime<Utc>) -> Result<Recipient, PgpError> {
        let cert = self.read_public(name)?;
        let summary = cert::summary(&cert);
        let expires = cert::encryption_key(&cert, now)
            .map_err(|r| refused(name, &summary, r))?
            .1;
        Ok(Recipient {
            name: name.to_string(),
            who: describe(&summary),
            expires,
            cert,
        })
    }

    /// The district's key `name`, unlocked with the passphrase its reference
    /// names, to sign with.
    pub(crate) fn signer(&self, name: &str, now: DateTime<Utc>) -> Result<Signer, PgpError> {
        let public = self.read_public(name)?;
        let path = self.secret_path(name);
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(PgpError::NoSecret { name: name.to_string() })
            }
            Err(e) => return Err(io(format!("cannot read {}", path.display()))(e)),
        };
        let format = |message: String| PgpError::Format {
            name: name.to_string(),
            message,
        };
        let (key, _) = SignedSecretKey::from_reader_single(&text[..])
            .map_err(|e| format(format!("{} is not an OpenPGP secret key ({e})", path.display())))?;
        let summary = cert::summary(&public);
        if let Some(reason) = cert::revoked(&public) {
            return Err(refused(name, &summary, Refusal::Revoked(reason)));
        }
        if let Some(at) = summary.expires.filter(|at| *at <= now) {
            return Err(refused(name, &summary, Refusal::Expired(at)));
        }
        if !summary.can_sign {
            return Err(format("its primary key is not a signing key".into()));
        }
        let settings_path = self.passphrase_path(name);
        let settings = fs::read_to_string(&settings_path).map_err(io(format!(
            "cannot read {} (the passphrase reference of key '{name}')",
            settings_path.display()
        )))?;
        let reference = settings
            .parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get("passphrase").and_then(|v| v.as_str()).map(str::to_string))
            .ok_or_else(|| {
                format(format!(
                    "{} has no passphrase = \"env:VAR\" line",
                    settings_path.display()
                ))
            })?;
        let passphrase = SecretRef::parse(&reference, &self.root)
            .and_then(|r| r.resolve())
            .map_err(|message| PgpError::Passphrase {
                name: name.to_string(),
                message,
            })?;
        let password = Password::from(passphrase.as_str());
        let unlocked = key.primary_key.unlock(&password, |_, _| Ok(()));
        if !matches!(unlocked, Ok(Ok(()))) {
            return Err(PgpError::Passphrase {
                name: name.to_string(),
                message: format!("the passphrase {reference} refers to does not unlock it"),
            });
        }
        Ok(Signer {
            name: name.to_string(),
            fingerprint: summary.fingerprint,
            key,
            passphrase,
        })
    }
}

fn info(name: &str, cert: &SignedPublicKey, secret: bool, now: DateTime<Utc>) -> KeyInfo {
    KeyInfo {
        name: name.to_string(),
        summary: cert::summary(cert),
        secret,
        encrypt: cert::encryption_key(cert, now).map(|(_, until)| until),
    }
}
