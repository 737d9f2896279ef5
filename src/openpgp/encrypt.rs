//! Writing an OpenPGP message: a file encrypted to recipients' keys and
//! optionally signed, or only signed, streamed from a reader to a writer,
//! armored or binary.
//!
//! The shape is the one every OpenPGP reader understands, GnuPG 2.2
//! included: a SEIPD version 1 packet (AES-256 with a modification
//! detection code) around a one-pass signature, the literal data (binary,
//! named after the file) and the signature. Nothing is compressed, so the
//! same file always encrypts to the same size.

use std::io::{Read, Write};

use chrono::{DateTime, Utc};
use pgp::composed::{ArmorOptions, Encryption, MessageBuilder, SignedPublicKey, SignedSecretKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::types::Password;

use super::cert::{self, Target};
use super::error::PgpError;

/// A key to encrypt to, checked when it was loaded.
#[derive(Clone, Debug)]
pub(crate) struct Recipient {
    /// Its name in the keyring.
    pub name: String,
    /// User ID and fingerprint, for messages.
    pub who: String,
    /// When encrypting to it stops being possible, if ever.
    pub expires: Option<DateTime<Utc>>,
    pub(crate) cert: SignedPublicKey,
}

/// The district's key, unlocked, to sign with.
pub(crate) struct Signer {
    /// Its name in the keyring.
    pub name: String,
    /// Its fingerprint, named in the run's log beside the name so the key used can be checked.
    pub fingerprint: String,
    pub(crate) key: SignedSecretKey,
    /// The passphrase (rpgp's `Password` cannot be copied for each message).
    pub(crate) passphrase: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("name", &self.name)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

fn finish<'a, R: Read, E: Encryption>(
    mut builder: MessageBuilder<'a, R, E>,
    signer: Option<&'a Signer>,
    armor: bool,
    out: impl Write,
) -> pgp::errors::Result<()> {
    if let Some(s) = signer {
        builder.sign(
            &s.key.primary_key,
            Password::from(s.passphrase.as_str()),
            HashAlgorithm::Sha256,
        );
    }
    let rng = rand::thread_rng();
    if armor {
        builder.to_armored_writer(rng, ArmorOptions::default(), out)
    } else {
        builder.to_writer(rng, out)
    }
}

/// Writes `input` as an OpenPGP message to `out`: encrypted to every
/// recipient (each checked again at `now`), signed by `signer` when given;
/// with no recipients, a signed (not encrypted) message, as `gpg --sign`
/// makes. `literal_name` is the file name recorded inside.
pub(crate) fn write_message(
    input: impl Read,
    literal_name: &str,
    out: impl Write,
    recipients: &[Recipient],
    signer: Option<&Signer>,
    armor: bool,
    now: DateTime<Utc>,
) -> Result<(), PgpError> {
    let builder = MessageBuilder::from_reader(literal_name.to_string(), input);
    let who = |name: &str| name.to_string();
    let failed = |name: &str, e: pgp::errors::Error| PgpError::Format {
        name: who(name),
        message: e.to_string(),
    };
    if recipients.is_empty() {
        let name = signer.map_or("", |s| s.name.as_str());
        return finish(builder, signer, armor, out).map_err(|e| failed(name, e));
    }
    let mut rng = rand::thread_rng();
    let mut builder = builder.seipd_v1(&mut rng, SymmetricKeyAlgorithm::AES256);
    for r in recipients {
        let (target, _) = cert::encryption_key(&r.cert, now)
            .map_err(|refusal| super::refused(&r.name, &cert::summary(&r.cert), refusal))?;
        let added = match target {
            Target::Primary(c) => builder.encrypt_to_key(&mut rng, c),
            Target::Subkey(s) => builder.encrypt_to_key(&mut rng, s),
        };
        added.map_err(|e| failed(&r.name, e))?;
    }
    let name = recipients
        .iter()
        .map(|r| r.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    finish(builder, signer, armor, out).map_err(|e| failed(&name, e))
}
