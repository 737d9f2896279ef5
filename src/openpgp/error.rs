//! Why a PGP key or message operation failed: each message names the key
//! (its keyring name, user ID and fingerprint where known) and says what to
//! do. None ever contains a passphrase: they name its reference.

/// A keyring or encryption failure.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PgpError {
    /// The name cannot be a file name in the keyring folder.
    #[error("'{0}' is not a PGP key name: use letters, digits, '.', '_' and '-' (not starting with '.')")]
    BadName(String),
    /// A key of that name is already in the keyring.
    #[error(
        "a PGP key named '{name}' already exists in {dir}; choose another name, or `ferry keys pgp remove {name}` first"
    )]
    Exists { name: String, dir: String },
    /// No such key.
    #[error(
        "there is no PGP key named '{name}' in {dir}; `ferry keys pgp list` shows the keys, \
         `ferry keys pgp import FILE --name {name}` adds a vendor's"
    )]
    Missing { name: String, dir: String },
    /// The file is not an OpenPGP public key.
    #[error("{file} is not an OpenPGP public key ({message}); ask the vendor for their public key as `gpg --export --armor` writes it")]
    NotAKey {
        file: String,
        /// What the parser said.
        message: String,
    },
    /// Someone's secret key was offered for import.
    #[error(
        "{file} holds a secret key: import only the vendor's public key (`gpg --export --armor`); \
         ferry makes the district's own key with `ferry keys pgp generate`"
    )]
    SecretKey { file: String },
    /// More than one key in the file: which one is the vendor's?
    #[error("{file} holds {count} keys: import one key per name (`gpg --export --armor FINGERPRINT` exports one)")]
    Several {
        file: String,
        /// How many.
        count: usize,
    },
    /// The owner revoked the key.
    #[error("PGP key '{name}' ({who}) has been revoked by its owner{reason}: ask the vendor for their new public key and import it")]
    Revoked {
        name: String,
        /// User ID and fingerprint.
        who: String,
        /// " (reason: ...)" or empty.
        reason: String,
    },
    /// The key (or every encryption key in it) has expired.
    #[error(
        "PGP key '{name}' ({who}) expired on {on}: ask the vendor for a current key (or this one with its \
         expiry extended) and import it"
    )]
    Expired {
        name: String,
        /// User ID and fingerprint.
        who: String,
        on: String,
    },
    /// A signing-only key: nothing in it can encrypt.
    #[error(
        "PGP key '{name}' ({who}) cannot encrypt: it has only {has}; ask the vendor for their encryption \
         key (a public key with an encryption subkey)"
    )]
    SignOnly {
        name: String,
        /// User ID and fingerprint.
        who: String,
        /// The key uses it has, to set against the use needed.
        has: String,
    },
    /// An encryption key of an algorithm rpgp cannot encrypt with.
    #[error(
        "PGP key '{name}' ({who}) encrypts with {algorithm}, which ferry cannot encrypt to; ask the vendor \
         for an RSA (2048 bits or more) or Curve25519 encryption key"
    )]
    Unsupported {
        name: String,
        /// User ID and fingerprint.
        who: String,
        algorithm: String,
    },
    /// No self-signature verifies.
    #[error("PGP key '{name}' ({who}) has no valid self-signature: it is damaged or was altered; ask the vendor to export it again")]
    Unsigned {
        name: String,
        /// Fingerprint.
        who: String,
    },
    /// Signing needs a secret key ferry made.
    #[error("PGP key '{name}' has no secret part in the keyring, so it cannot sign: sign with a key made by `ferry keys pgp generate`")]
    NoSecret { name: String },
    /// The passphrase reference is unset, unreadable or wrong.
    #[error("PGP key '{name}': {message}")]
    Passphrase {
        name: String,
        /// What is wrong, naming the reference.
        message: String,
    },
    /// The fingerprint the administrator confirmed is not the file's.
    #[error(
        "{file} has fingerprint {actual}, not {expected}: it is not the key the vendor confirmed; nothing was imported"
    )]
    Fingerprint {
        file: String,
        actual: String,
        /// What was given.
        expected: String,
    },
    /// A file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        source: std::io::Error,
    },
    /// rpgp refused an operation.
    #[error("PGP key '{name}': {message}")]
    Format { name: String, message: String },
}
