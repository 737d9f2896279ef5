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
    /// Whose password logins need a second factor (`require_totp`); a
    /// person without one sets it up before their first session.
    pub require_totp: TotpRequirement,
    /// Sign-in with the district's identity provider (`[console.oidc]`).
    pub oidc: Option<OidcSettings>,
}

/// Who must log in with a second factor besides those who set one up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TotpRequirement {
    /// Nobody is made to (`false`, the default).
    #[default]
    Nobody,
    /// Every user with a password (`true`).
    Everyone,
    /// Members of these groups (`["admins"]`): administrators first, as
    /// the K-12 guidance puts it, while the rest of the district follows.
    Groups(Vec<String>),
}

impl TotpRequirement {
    /// Whether a member of `groups` must have a second factor.
    pub fn applies_to(&self, groups: &[String]) -> bool {
        match self {
            TotpRequirement::Nobody => false,
            TotpRequirement::Everyone => true,
            TotpRequirement::Groups(wanted) => groups.iter().any(|g| wanted.contains(g)),
        }
    }

    /// `console.require_totp` as written: a boolean or a list of group names.
    fn parse(value: Option<&toml::Value>) -> Result<Self, String> {
        let wrong =
            || "console.require_totp must be true, false or a list of group names like [\"admins\"]".to_string();
        match value {
            None | Some(toml::Value::Boolean(false)) => Ok(TotpRequirement::Nobody),
            Some(toml::Value::Boolean(true)) => Ok(TotpRequirement::Everyone),
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .filter(|g| !g.trim().is_empty())
                        .ok_or_else(wrong)
                })
                .collect::<Result<Vec<_>, _>>()
                .map(TotpRequirement::Groups),
            Some(_) => Err(wrong()),
        }
    }
}

impl ConsoleSettings {
    /// The console on `listen` with the defaults for everything else.
    pub fn on(listen: SocketAddr) -> Self {
        ConsoleSettings {
            listen,
            tls: None,
            session: Duration::from_secs(8 * 3600),
            require_totp: TotpRequirement::Nobody,
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
    require_totp: Option<toml::Value>,
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
            require_totp: TotpRequirement::parse(self.require_totp.as_ref())?,
            oidc,
        })
    }
}
