//! Which FTPS server certificates ferry accepts, and what it says when it
//! refuses one.
//!
//! rustls does the checking; this module wraps its verifier so that ferry
//! also sees the certificate the server presented. That is what lets a
//! refusal name the certificate's names, expiry and fingerprint (the value to
//! put in `pinned_certificate`), and lets `test-connection` show who the
//! server claims to be.

use std::fmt;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use suppaftp::tokio_rustls::rustls;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::config::TlsTrust;
use crate::deliver::{FailureKind, OpError};

/// The ring provider: the rest of the tree (sqlx, reqwest) uses ring, and
/// naming it here keeps aws-lc out of the build.
pub(super) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// What the server's leaf certificate says about itself.
#[derive(Clone, Debug, Default)]
pub(super) struct CertFacts {
    /// The subject's distinguished name.
    pub subject: String,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// When it stops being valid, `YYYY-MM-DD HH:MM:SS UTC`.
    pub not_after: String,
    /// The DNS names and addresses it is valid for (its CN when it has none).
    pub names: Vec<String>,
    /// SHA-256 of the DER encoding, lowercase hex: what `pinned_certificate` holds.
    pub sha256: String,
}

impl CertFacts {
    /// Reads a DER certificate; a certificate x509-parser cannot read still
    /// has its fingerprint.
    pub(super) fn of(der: &[u8]) -> Self {
        let sha256 = hex::encode(Sha256::digest(der));
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
            return CertFacts {
                subject: "(unreadable certificate)".into(),
                sha256,
                ..Default::default()
            };
        };
        let mut names = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    x509_parser::extensions::GeneralName::DNSName(n) => names.push(n.to_string()),
                    x509_parser::extensions::GeneralName::IPAddress(ip) => {
                        if let Ok(a) = <[u8; 4]>::try_from(*ip) {
                            names.push(std::net::IpAddr::from(a).to_string());
                        } else if let Ok(a) = <[u8; 16]>::try_from(*ip) {
                            names.push(std::net::IpAddr::from(a).to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        if names.is_empty() {
            names.extend(
                cert.subject()
                    .iter_common_name()
                    .filter_map(|cn| cn.as_str().ok())
                    .map(str::to_string),
            );
        }
        let not_after = chrono::DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default();
        CertFacts {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_after,
            names,
            sha256,
        }
    }

    /// `sha256:HEX`, the form ferry records and accepts in `pinned_certificate`.
    pub(super) fn fingerprint(&self) -> String {
        format!("sha256:{}", self.sha256)
    }
}

/// How the certificate is judged.
enum Check {
    /// A chain to these roots, valid for the server name, not expired.
    Chain(Arc<WebPkiServerVerifier>),
    /// Exactly the certificate with this SHA-256 (lowercase hex).
    Pinned(String),
    /// Any certificate (`insecure_skip_verify`): encryption without authentication.
    Anything,
}

/// A certificate verifier that remembers the leaf certificate it was shown,
/// so a refusal can describe it.
pub(super) struct Verifier {
    check: Check,
    provider: Arc<CryptoProvider>,
    /// The leaf certificate of the latest handshake (DER).
    pub seen: Arc<Mutex<Option<Vec<u8>>>>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Verifier")
    }
}

impl Verifier {
    /// The verifier `trust` asks for. `place` names the destination for
    /// errors about the trust settings themselves.
    pub(super) fn new(trust: &TlsTrust, place: &str) -> Result<Self, OpError> {
        let provider = provider();
        let chain = |roots: RootCertStore| {
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map(Check::Chain)
                .map_err(|e| {
                    OpError::new(
                        FailureKind::Trust,
                        format!("{place}: cannot use the trusted roots: {e}"),
                    )
                })
        };
        let check = match trust {
            TlsTrust::SystemRoots => {
                let found = rustls_native_certs::load_native_certs();
                let mut roots = RootCertStore::empty();
                roots.add_parsable_certificates(found.certs);
                if roots.is_empty() {
                    return Err(OpError::new(
                        FailureKind::Trust,
                        format!(
                            "{place}: this machine has no trusted root certificates to check the server's \
                             certificate against; install the system's CA certificates (Debian: ca-certificates), \
                             or set ca_file or pinned_certificate for this destination"
                        ),
                    ));
                }
                chain(roots)?
            }
            TlsTrust::CaFile(path) => {
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                    .and_then(std::iter::Iterator::collect::<Result<Vec<_>, _>>)
                    .map_err(|e| {
                        OpError::new(
                            FailureKind::Local,
                            format!(
                                "{place}: cannot read the CA certificates in ca_file {}: {e}; it must be a PEM file \
                                 (-----BEGIN CERTIFICATE-----)",
                                path.display()
                            ),
                        )
                    })?;
                let mut roots = RootCertStore::empty();
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(OpError::new(
                        FailureKind::Local,
                        format!(
                            "{place}: ca_file {} holds no usable CA certificate; it must be a PEM file \
                             (-----BEGIN CERTIFICATE-----)",
                            path.display()
                        ),
                    ));
                }
                chain(roots)?
            }
            TlsTrust::Pinned(hex) => Check::Pinned(hex.to_ascii_lowercase()),
            TlsTrust::InsecureSkipVerify => Check::Anything,
        };
        Ok(Verifier {
            check,
            provider,
            seen: Arc::new(Mutex::new(None)),
        })
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(end_entity.to_vec());
        match &self.check {
            Check::Chain(webpki) => {
                webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            Check::Pinned(want) => {
                if hex::encode(Sha256::digest(end_entity.as_ref())) == *want {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(rustls::Error::InvalidCertificate(
                        CertificateError::ApplicationVerificationFailure,
                    ))
                }
            }
            Check::Anything => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// The error for a handshake rustls refused: certificate problems become
/// [`FailureKind::Trust`] with the certificate described and the fix named;
/// no common TLS version or cipher is [`FailureKind::Algorithms`]; anything
/// else (usually the wrong FTPS flavour for the port) is refused, with `hint`.
pub(super) fn handshake_error(
    err: &rustls::Error,
    seen: Option<&[u8]>,
    trust: &TlsTrust,
    server: &str,
    at: &str,
    hint: &str,
) -> OpError {
    use rustls::AlertDescription as A;
    let reason = match err {
        rustls::Error::InvalidCertificate(reason) => reason,
        rustls::Error::PeerIncompatible(_)
        | rustls::Error::AlertReceived(A::HandshakeFailure | A::ProtocolVersion | A::InsufficientSecurity) => {
            return OpError::new(
                FailureKind::Algorithms,
                format!(
                    "the TLS handshake with {at} failed: {err}; the server offers no TLS version or cipher                      ferry accepts (TLS 1.2 or 1.3 with modern ciphers): ask the vendor to update the server"
                ),
            )
        }
        _ => {
            return OpError::new(
                FailureKind::Refused,
                format!("the TLS handshake with {at} failed: {err}{hint}"),
            )
        }
    };
    let facts = seen.map(CertFacts::of);
    let described = facts
        .as_ref()
        .map(|f| {
            format!(
                " (subject {}; issuer {}; valid until {}; fingerprint {})",
                f.subject,
                f.issuer,
                f.not_after,
                f.fingerprint()
            )
        })
        .unwrap_or_default();
    let pin = facts
        .as_ref()
        .map(|f| format!("pinned_certificate = \"{}\"", f.fingerprint()))
        .unwrap_or_else(|| "pinned_certificate".into());
    let names = facts.as_ref().map(|f| f.names.join(", ")).unwrap_or_default();
    let fix = format!(
        "if the vendor uses its own certificate authority, set ca_file to its CA certificate (PEM); \
         to trust exactly this certificate, confirm the fingerprint with the vendor and set {pin}; \
         or ask the vendor for a certificate from a public certificate authority"
    );
    let message = match (reason, trust) {
        (CertificateError::ApplicationVerificationFailure, TlsTrust::Pinned(want)) => format!(
            "the certificate of {at} is not the pinned one: the server presented {}{described}, \
             pinned_certificate expects sha256:{want}. If the vendor replaced its certificate, confirm the \
             new fingerprint with them and update pinned_certificate; otherwise something between ferry and \
             the server is answering in its place",
            facts
                .as_ref()
                .map(CertFacts::fingerprint)
                .unwrap_or_else(|| "an unreadable certificate".into()),
        ),
        (CertificateError::UnknownIssuer | CertificateError::BadSignature, TlsTrust::CaFile(path)) => format!(
            "the certificate of {at} is not signed by the CA in ca_file {}{described}: ask the vendor \
             for the CA certificate that issued it, or confirm the fingerprint with the vendor and set {pin}",
            path.display()
        ),
        (CertificateError::UnknownIssuer | CertificateError::BadSignature, _) => format!(
            "the certificate of {at} is not trusted: it is not signed by a known certificate authority \
             (self-signed or a private CA){described}; {fix}"
        ),
        (CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }, _) => format!(
            "the certificate of {at} is not valid for the name '{server}': it names {}{described}; \
             set server to one of those names if it reaches the same machine, or {fix}",
            if names.is_empty() {
                "nothing usable".to_string()
            } else {
                names
            }
        ),
        (CertificateError::Expired | CertificateError::ExpiredContext { .. }, _) => format!(
            "the certificate of {at} has expired{}{described}: ask the vendor to renew it \
             (or, as a stop-gap, confirm the fingerprint with them and set {pin})",
            facts
                .as_ref()
                .map(|f| format!(" on {}", f.not_after))
                .unwrap_or_default()
        ),
        (CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. }, _) => format!(
            "the certificate of {at} is not valid yet{described}: check this machine's clock, or ask the vendor"
        ),
        (other, _) => format!("the certificate of {at} was refused ({other:?}){described}; {fix}"),
    };
    OpError::new(FailureKind::Trust, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(names: &[&str], not_after: (i32, u8, u8)) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p =
            rcgen::CertificateParams::new(names.iter().map(std::string::ToString::to_string).collect::<Vec<_>>())
                .unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "files.vendor.example");
        p.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        p.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn a_name_mismatch_lists_the_certificates_names() {
        let der = cert(&["files.vendor.example", "10.1.2.3"], (2099, 1, 1));
        let err = rustls::Error::InvalidCertificate(CertificateError::NotValidForName);
        let e = handshake_error(
            &err,
            Some(&der),
            &TlsTrust::SystemRoots,
            "ftp.old-name.example",
            "ftp.old-name.example:21",
            "",
        );
        assert_eq!(e.kind, FailureKind::Trust);
        assert!(
            e.message.contains("not valid for the name 'ftp.old-name.example'")
                && e.message.contains("it names files.vendor.example, 10.1.2.3")
                && e.message.contains("ftp.old-name.example:21")
                && e.message
                    .contains(&format!("sha256:{}", hex::encode(Sha256::digest(&der)))),
            "{}",
            e.message
        );
    }

    #[test]
    fn an_expired_certificate_says_when() {
        let der = cert(&["files.vendor.example"], (2020, 6, 30));
        let err = rustls::Error::InvalidCertificate(CertificateError::Expired);
        let e = handshake_error(&err, Some(&der), &TlsTrust::SystemRoots, "h", "h:990", "");
        assert_eq!(e.kind, FailureKind::Trust);
        assert!(
            e.message.contains("has expired on 2020-06-30") && e.message.contains("ask the vendor to renew it"),
            "{}",
            e.message
        );
    }

    #[test]
    fn facts_read_subject_issuer_and_names() {
        let der = cert(&["a.example", "b.example"], (2099, 1, 1));
        let f = CertFacts::of(&der);
        assert_eq!(f.names, ["a.example", "b.example"]);
        assert!(f.subject.contains("files.vendor.example"), "{}", f.subject);
        assert_eq!(f.not_after, "2099-01-01 00:00:00 UTC");
        assert_eq!(f.fingerprint().len(), "sha256:".len() + 64);
    }
}
