//! What a certificate (an OpenPGP public key and its signatures) says at a
//! given moment: who it names, whether its owner revoked it, when it
//! expires, and which of its keys ferry can encrypt to.
//!
//! rpgp parses the packets and checks each signature; which signature is
//! current is decided here, as GnuPG decides it in the cases vendors meet:
//! only self-signatures that verify count (a third party's certification or
//! a corrupted signature is ignored), the newest binding of a key wins, and
//! any valid revocation revokes. Among usable encryption keys the newest is
//! chosen, as `gpg --encrypt` does.

use chrono::{DateTime, TimeZone, Utc};
use pgp::composed::{SignedPublicKey, SignedPublicSubKey};
use pgp::crypto::public_key::PublicKeyAlgorithm;
use pgp::packet::{Signature, SignatureType, SubpacketData};
use pgp::types::{EcdhPublicParams, KeyDetails, PublicParams, Tag, Timestamp};

/// A time in a certificate as a date.
pub(crate) fn time(t: Timestamp) -> DateTime<Utc> {
    Utc.timestamp_opt(i64::from(t.as_secs()), 0)
        .single()
        .unwrap_or_default()
}

/// The key's fingerprint as GnuPG prints it (upper-case hex, no spaces).
pub(crate) fn fingerprint(key: &impl KeyDetails) -> String {
    format!("{:X}", key.fingerprint())
}

/// An algorithm's usual name, for messages about which key was chosen or refused.
pub(crate) fn algorithm_name(alg: PublicKeyAlgorithm) -> &'static str {
    use PublicKeyAlgorithm::*;
    match alg {
        RSA | RSAEncrypt | RSASign => "RSA",
        ElgamalEncrypt | Elgamal => "ElGamal",
        DSA => "DSA",
        ECDH => "ECDH",
        ECDSA => "ECDSA",
        DiffieHellman => "Diffie-Hellman",
        EdDSALegacy | Ed25519 => "Ed25519",
        Ed448 => "Ed448",
        X25519 => "X25519",
        X448 => "X448",
        _ => "an unknown algorithm",
    }
}

/// Which key of the certificate a message is encrypted to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target<'a> {
    /// The primary key itself (an RSA key made for both uses).
    Primary(&'a SignedPublicKey),
    /// An encryption subkey (the usual shape).
    Subkey(&'a SignedPublicSubKey),
}

/// Why a certificate cannot be encrypted to now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its owner revoked the key (with the reason they gave, if any).
    Revoked(Option<String>),
    /// The key, or every key of it that could encrypt, expired at this time.
    Expired(DateTime<Utc>),
    /// No key in it is meant for encryption: a signing-only key. The text
    /// says what it has ("an Ed25519 key for signing").
    SignOnly(String),
    /// Its encryption keys use an algorithm ferry cannot encrypt with.
    Unsupported(String),
    /// None of its self-signatures verifies: damaged or forged.
    Unsigned,
}

/// What ferry reads from a certificate.
#[derive(Clone, Debug)]
pub(crate) struct Summary {
    /// The primary key's fingerprint.
    pub fingerprint: String,
    /// The user IDs ("Acme Rostering <sftp@acme.example>").
    pub user_ids: Vec<String>,
    /// The primary key's algorithm.
    pub algorithm: &'static str,
    /// When the primary key was made.
    pub created: DateTime<Utc>,
    /// When the primary key expires, if it does.
    pub expires: Option<DateTime<Utc>>,
    /// Whether its primary key may sign (the district's own key).
    pub can_sign: bool,
}

/// A key and its current, valid self-signature.
struct Bound<'s> {
    created: DateTime<Utc>,
    signature: &'s Signature,
}

fn newest<'s>(current: Option<Bound<'s>>, sig: &'s Signature) -> Option<Bound<'s>> {
    let created = sig.created().map(time).unwrap_or_default();
    match current {
        Some(c) if c.created > created => Some(c),
        _ => Some(Bound {
            created,
            signature: sig,
        }),
    }
}

fn expiry(key_created: Timestamp, sig: &Signature) -> Option<DateTime<Utc>> {
    sig.key_expiration_time()
        .filter(|d| d.as_secs() > 0)
        .map(|d| time(key_created) + chrono::Duration::seconds(i64::from(d.as_secs())))
}

fn revocation_reason(sig: &Signature) -> Option<String> {
    sig.revocation_reason_string()
        .map(|r| String::from_utf8_lossy(&r[..]).trim().to_string())
        .filter(|r| !r.is_empty())
}

/// Whether the signature carries a key-flags subpacket (old keys have none,
/// and then the algorithm says what the key is for).
fn has_flags(sig: &Signature) -> bool {
    sig.config().is_some_and(|c| {
        c.hashed_subpackets()
            .any(|p| matches!(p.data, SubpacketData::KeyFlags(_)))
    })
}

fn for_encryption(sig: &Signature, alg: PublicKeyAlgorithm) -> bool {
    if has_flags(sig) {
        let f = sig.key_flags();
        f.encrypt_comms() || f.encrypt_storage()
    } else {
        alg.can_encrypt()
    }
}

fn for_signing(sig: &Signature, alg: PublicKeyAlgorithm) -> bool {
    if has_flags(sig) {
        sig.key_flags().sign()
    } else {
        !matches!(
            alg,
            PublicKeyAlgorithm::ECDH
                | PublicKeyAlgorithm::X25519
                | PublicKeyAlgorithm::X448
                | PublicKeyAlgorithm::ElgamalEncrypt
                | PublicKeyAlgorithm::RSAEncrypt
        )
    }
}

/// Whether rpgp can encrypt a session key to these parameters (it has no
/// ElGamal encryption, for one).
fn supported(params: &PublicParams) -> bool {
    match params {
        PublicParams::RSA(_) | PublicParams::X25519(_) | PublicParams::X448(_) => true,
        PublicParams::ECDH(p) => !matches!(p, EcdhPublicParams::Unsupported { .. }),
        _ => false,
    }
}

/// The primary key's current self-signature (from a user ID or a direct key
/// signature), if any verifies.
fn primary_binding(cert: &SignedPublicKey) -> Option<Bound<'_>> {
    let primary = &cert.primary_key;
    let mut current = None;
    for user in &cert.details.users {
        for sig in &user.signatures {
            if sig.typ() != Some(SignatureType::CertRevocation)
                && sig.verify_certification(primary, Tag::UserId, &user.id).is_ok()
            {
                current = newest(current, sig);
            }
        }
    }
    for sig in &cert.details.direct_signatures {
        if sig.typ() == Some(SignatureType::Key) && sig.verify_key(primary).is_ok() {
            current = newest(current, sig);
        }
    }
    current
}

/// The owner's revocation of the whole key, if one verifies.
pub(crate) fn revoked(cert: &SignedPublicKey) -> Option<Option<String>> {
    cert.details
        .revocation_signatures
        .iter()
        .find(|s| s.typ() == Some(SignatureType::KeyRevocation) && s.verify_key(&cert.primary_key).is_ok())
        .map(revocation_reason)
}

/// What a certificate says about itself.
pub(crate) fn summary(cert: &SignedPublicKey) -> Summary {
    let primary = &cert.primary_key;
    let binding = primary_binding(cert);
    let user_ids = cert
        .details
        .users
        .iter()
        .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
        .collect();
    Summary {
        fingerprint: fingerprint(primary),
        user_ids,
        algorithm: algorithm_name(primary.algorithm()),
        created: time(primary.created_at()),
        expires: binding.as_ref().and_then(|b| expiry(primary.created_at(), b.signature)),
        can_sign: binding.is_some_and(|b| for_signing(b.signature, primary.algorithm())),
    }
}

/// The key to encrypt to at `now`, and when encrypting to it stops being
/// possible (the earlier of the primary key's and the chosen key's expiry);
/// or why there is none.
pub(crate) fn encryption_key(
    cert: &SignedPublicKey,
    now: DateTime<Utc>,
) -> Result<(Target<'_>, Option<DateTime<Utc>>), Refusal> {
    if let Some(reason) = revoked(cert) {
        return Err(Refusal::Revoked(reason));
    }
    let primary = &cert.primary_key;
    let Some(binding) = primary_binding(cert) else {
        return Err(Refusal::Unsigned);
    };
    let primary_expiry = expiry(primary.created_at(), binding.signature);
    if let Some(at) = primary_expiry.filter(|at| *at <= now) {
        return Err(Refusal::Expired(at));
    }

    // (key, created, expiry) for every key meant for encryption and not revoked.
    let mut meant = Vec::new();
    let mut uses = Vec::new();
    let alg = primary.algorithm();
    if for_encryption(binding.signature, alg) {
        meant.push((
            Target::Primary(cert),
            primary.public_params(),
            time(primary.created_at()),
            None,
        ));
    } else {
        let what = if for_signing(binding.signature, alg) {
            "signing"
        } else {
            "certifying"
        };
        uses.push(format!("a primary {} key for {what}", algorithm_name(alg)));
    }
    for sub in &cert.public_subkeys {
        let key = &sub.key;
        let revoked = sub
            .signatures
            .iter()
            .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation) && s.verify_subkey_binding(primary, key).is_ok());
        let mut current = None;
        for sig in &sub.signatures {
            if sig.typ() == Some(SignatureType::SubkeyBinding) && sig.verify_subkey_binding(primary, key).is_ok() {
                current = newest(current, sig);
            }
        }
        let (Some(b), false) = (current, revoked) else {
            continue;
        };
        if for_encryption(b.signature, key.algorithm()) {
            let until = expiry(key.created_at(), b.signature);
            meant.push((Target::Subkey(sub), key.public_params(), time(key.created_at()), until));
        } else {
            let what = if for_signing(b.signature, key.algorithm()) {
                "signing"
            } else {
                "authentication"
            };
            uses.push(format!("a {} subkey for {what}", algorithm_name(key.algorithm())));
        }
    }
    if meant.is_empty() {
        return Err(Refusal::SignOnly(if uses.is_empty() {
            "no key for encryption".into()
        } else {
            uses.join(" and ")
        }));
    }
    let unsupported: Vec<&str> = meant
        .iter()
        .filter(|(_, params, _, _)| !supported(params))
        .map(|(k, ..)| match k {
            Target::Primary(c) => algorithm_name(c.primary_key.algorithm()),
            Target::Subkey(s) => algorithm_name(s.key.algorithm()),
        })
        .collect();
    let usable: Vec<_> = meant.iter().filter(|(_, params, _, _)| supported(params)).collect();
    if usable.is_empty() {
        let mut names = unsupported;
        names.dedup();
        return Err(Refusal::Unsupported(names.join(", ")));
    }
    let live = usable
        .iter()
        .filter(|(_, _, _, until)| until.is_none_or(|at| at > now))
        .max_by_key(|(_, _, created, _)| *created);
    match live {
        Some((key, _, _, until)) => {
            let until = match (primary_expiry, *until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            Ok((*key, until))
        }
        None => Err(Refusal::Expired(
            usable.iter().filter_map(|(_, _, _, until)| *until).max().unwrap_or(now),
        )),
    }
}
