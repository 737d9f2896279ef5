//! The `[console]` table: where `ferry serve` offers the web console and
//! JSON API. The console is off unless the table is present (or `ferry serve
//! --listen` is given), so a plain scheduler opens no port; when on, it binds
//! to 127.0.0.1 unless told otherwise, and serves TLS when given a
//! certificate.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::oidc::{OidcSettings, RawOidc};

/// The address the console binds to when `listen` is not given: this host only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The validated `[console]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleSettings {
    /// The address and port to bind.
    pub listen: SocketAddr,
    /// PEM certificate chain and private key; plain HTTP without them.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// How long a login lasts.
    pub session: Duration,
    /// Sign-in with the district's identity provider (`[console.oidc]`).
    pub oidc: Option<OidcSettings>,
}

impl ConsoleSettings {
    /// The console on `listen` with the defaults for everything else.
    pub fn on(listen: SocketAddr) -> Self {
        ConsoleSettings {
            listen,
            tls: None,
            session: Duration::from_secs(8 * 3600),
            oidc: None,
        }
    }
}

/// `[console]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConsole {
    listen: Option<String>,
    tls_certificate: Option<String>,
    tls_key: Option<String>,
    session: Option<String>,
    oidc: Option<RawOidc>,
}

impl RawConsole {
    /// Checks the table; messages name the setting.
    pub(super) fn validate(self, root: &Path) -> Result<ConsoleSettings, String> {
        let listen = self.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen: SocketAddr = listen
            .parse()
            .map_err(|_| format!("console.listen '{listen}' is not an address and port like \"127.0.0.1:8080\""))?;
        let tls = match (self.tls_certificate, self.tls_key) {
            (None, None) => None,
            (Some(c), Some(k)) => Some((root.join(c), root.join(k))),
            _ => {
                return Err(
                    "console.tls_certificate and console.tls_key go together: set both (PEM files) or neither".into(),
                )
            }
        };
        let session = match self.session.as_deref() {
            None => Duration::from_secs(8 * 3600),
            Some(t) => humantime::parse_duration(t)
                .map_err(|e| format!("console.session '{t}' is not a duration like \"8h\": {e}"))?,
        };
        let oidc = self.oidc.map(|o| o.validate(root)).transpose()?;
        Ok(ConsoleSettings {
            listen,
            tls,
            session,
            oidc,
        })
    }
}
