//! SFTP login keys (`ferry keys`): ferry makes its own key pairs, so a
//! district never has to copy a personal SSH key onto a scheduled service,
//! and the vendor receives only the public half (`ferry keys show NAME`).
//!
//! Each key is two files in the keys folder: `NAME`, the private key in
//! OpenSSH format readable by the owner only (optionally encrypted with a
//! passphrase), and `NAME.pub`, the one-line public key to send out.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::{self, LineEnding};
use russh::keys::{Algorithm, HashAlg, PrivateKey, PublicKey};

/// The kind of key to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// Ed25519: small, fast and accepted by every OpenSSH since 6.5 (2014).
    Ed25519,
    /// RSA, for vendors whose servers accept nothing else.
    Rsa {
        /// Modulus size in bits (at least 2048).
        bits: usize,
    },
}

/// What `ferry keys list` shows about a key: enough to match it with what a
/// vendor has on file, without reading the secret part.
#[derive(Clone, Debug)]
pub struct KeyInfo {
    /// The key's name (its file name).
    pub name: String,
    /// `ssh-ed25519`, `ssh-rsa`...
    pub algorithm: String,
    /// `SHA256:...`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// Whether the private key needs a passphrase.
    pub encrypted: bool,
}

/// Why a key operation failed; the message names the key and what to do,
/// never a passphrase.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The name cannot be a file name in the keys folder.
    #[error("'{0}' is not a key name: use letters, digits, '.', '_' and '-' (not starting with '.')")]
    BadName(String),
    /// `generate` would overwrite a key a vendor may already trust.
    #[error("a key named '{name}' already exists in {dir}; choose another name or remove its files first")]
    Exists { name: String, dir: String },
    /// No such key.
    #[error("there is no key named '{name}' in {dir}; `ferry keys list` shows the keys, `ferry keys generate {name}` makes one")]
    Missing { name: String, dir: String },
    /// The key is encrypted and no passphrase was given.
    #[error("key '{0}' is protected by a passphrase: set key_passphrase = \"env:VARIABLE\" for this destination")]
    NeedsPassphrase(String),
    /// The passphrase does not open the key.
    #[error("key '{0}' could not be decrypted: the passphrase is wrong; check the secret key_passphrase refers to")]
    WrongPassphrase(String),
    /// RSA below 2048 bits is refused by current servers.
    #[error("RSA keys must have at least 2048 bits (asked for {0}); 3072 or 4096 is usual")]
    WeakRsa(usize),
    /// A file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        source: std::io::Error,
    },
    /// The key file is not a key ferry can use.
    #[error("key '{name}': {message}")]
    Format { name: String, message: String },
}

/// The folder of SSH keys that destinations name with `key = "NAME"` (made by `ferry keys generate`).
#[derive(Clone, Debug)]
pub struct KeyStore {
    dir: PathBuf,
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> KeyError {
    let what = what.into();
    move |source| KeyError::Io { what, source }
}

/// The SHA-256 fingerprint of a public key, as OpenSSH prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Whether `name` can name a key file in a keyring folder: a plain file
/// name that cannot climb out of the folder, hide itself, or grow past what
/// a listing can show. Shared by the SSH and OpenPGP keyrings.
pub fn is_plain_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

impl KeyStore {
    /// The key store in `dir` (created, owner-only, on the first `generate`).
    pub fn open(dir: &Path) -> Self {
        KeyStore { dir: dir.to_path_buf() }
    }

    /// The folder holding the keys.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn check_name(name: &str) -> Result<(), KeyError> {
        if is_plain_key_name(name) && !name.ends_with(".pub") {
            Ok(())
        } else {
            Err(KeyError::BadName(name.to_string()))
        }
    }

    fn private_path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn public_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.pub"))
    }

    fn missing(&self, name: &str) -> KeyError {
        KeyError::Missing {
            name: name.to_string(),
            dir: self.dir.display().to_string(),
        }
    }

    /// Makes a new key pair `name`; with a passphrase the private key is
    /// encrypted (bcrypt KDF, AES-256), as `ssh-keygen -N` would.
    pub fn generate(&self, name: &str, kind: KeyKind, passphrase: Option<&str>) -> Result<KeyInfo, KeyError> {
        Self::check_name(name)?;
        let (private, public) = (self.private_path(name), self.public_path(name));
        if private.exists() || public.exists() {
            return Err(KeyError::Exists {
                name: name.to_string(),
                dir: self.dir.display().to_string(),
            });
        }
        let mut rng = russh::keys::key::safe_rng();
        let format = |e: ssh_key::Error| KeyError::Format {
            name: name.to_string(),
            message: e.to_string(),
        };
        let mut key = match kind {
            KeyKind::Ed25519 => PrivateKey::random(&mut rng, Algorithm::Ed25519).map_err(format)?,
            KeyKind::Rsa { bits } => {
                if bits < 2048 {
                    return Err(KeyError::WeakRsa(bits));
                }
                let pair = ssh_key::private::RsaKeypair::random(&mut rng, bits).map_err(format)?;
                PrivateKey::from(pair)
            }
        };
        key.set_comment(format!("ferry-{name}"));
        let stored = match passphrase.filter(|p| !p.is_empty()) {
            Some(p) => key.encrypt(&mut rng, p).map_err(format)?,
            None => key.clone(),
        };
        let text = stored.to_openssh(LineEnding::LF).map_err(format)?;
        let public_line = key.public_key().to_openssh().map_err(format)?;

        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(io(format!("cannot create the keys folder {}", self.dir.display())))?;
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
            .map_err(io(format!("cannot make {} owner-only", self.dir.display())))?;
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&private)
            .map_err(io(format!("cannot create {}", private.display())))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(io(format!("cannot write {}", private.display())))?;
        fs::write(&public, format!("{public_line}\n")).map_err(io(format!("cannot write {}", public.display())))?;
        Ok(KeyInfo {
            name: name.to_string(),
            algorithm: key.algorithm().as_str().to_string(),
            fingerprint: fingerprint(key.public_key()),
            encrypted: stored.is_encrypted(),
        })
    }

    fn read_private(&self, name: &str) -> Result<PrivateKey, KeyError> {
        Self::check_name(name)?;
        let path = self.private_path(name);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(self.missing(name)),
            Err(e) => return Err(io(format!("cannot read {}", path.display()))(e)),
        };
        PrivateKey::from_openssh(text.trim()).map_err(|e| KeyError::Format {
            name: name.to_string(),
            message: format!("{} is not an OpenSSH private key ({e})", path.display()),
        })
    }

    /// Every key in the folder, by name.
    pub fn list(&self) -> Result<Vec<KeyInfo>, KeyError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(format!("cannot list {}", self.dir.display()))(e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(std::result::Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| Self::check_name(n).is_ok())
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let key = self.read_private(&name)?;
                Ok(KeyInfo {
                    algorithm: key.algorithm().as_str().to_string(),
                    fingerprint: fingerprint(key.public_key()),
                    encrypted: key.is_encrypted(),
                    name,
                })
            })
            .collect()
    }

    /// The public key in OpenSSH's one-line format (`ssh-ed25519 AAAA...
    /// ferry-NAME`), ready to paste into a vendor's `authorized_keys`.
    pub fn public(&self, name: &str) -> Result<String, KeyError> {
        // The public half is stored unencrypted inside the private key file
        // too: read it from there so a lost `.pub` file does not matter.
        let key = self.read_private(name)?;
        key.public_key().to_openssh().map_err(|e| KeyError::Format {
            name: name.to_string(),
            message: e.to_string(),
        })
    }

    /// The private key, decrypted with `passphrase` when it is encrypted.
    pub fn load(&self, name: &str, passphrase: Option<&str>) -> Result<PrivateKey, KeyError> {
        let key = self.read_private(name)?;
        if !key.is_encrypted() {
            return Ok(key);
        }
        let pass = passphrase
            .filter(|p| !p.is_empty())
            .ok_or_else(|| KeyError::NeedsPassphrase(name.to_string()))?;
        key.decrypt(pass)
            .map_err(|_| KeyError::WrongPassphrase(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_escape_the_folder() {
        for bad in ["", ".hidden", "a/b", "../x", "k.pub", "a b"] {
            assert!(KeyStore::check_name(bad).is_err(), "{bad}");
        }
        for good in ["vendor", "district-42_sftp.v2"] {
            assert!(KeyStore::check_name(good).is_ok(), "{good}");
        }
    }
}
