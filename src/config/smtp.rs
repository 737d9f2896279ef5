//! The `[smtp]` table: the mail server group notifications are sent through.
//! Checked at load time, so a bad sender or a literal password is reported
//! when ferry starts, not when the first run fails at night.

use std::path::Path;

use serde::Deserialize;

use super::SecretRef;

/// How the connection to the mail server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text: only for a relay on the same host, or a test sink.
    None,
    /// A plain connection upgraded with STARTTLS, which is then required
    /// (port 587); the default.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// Where notification email goes out: validated `[smtp]`. The password is a
/// secret reference, resolved only when a message is sent.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    /// Server host name (also the name its certificate must carry).
    pub host: String,
    /// Server port (default from `tls`: 25, 587 or 465).
    pub port: u16,
    /// The sender, `ferry@district.org` or `ferry <ferry@district.org>`.
    pub from: String,
    /// Login name, when the server wants one.
    pub username: Option<String>,
    /// The login's password, as a reference.
    pub password: Option<SecretRef>,
    /// Connection protection.
    pub tls: SmtpTls,
}

/// `[smtp]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    host: String,
    port: Option<u16>,
    from: String,
    username: Option<String>,
    password: Option<String>,
    tls: Option<String>,
}

impl RawSmtp {
    /// Checks the table: a host, a sender that parses, a login with both
    /// halves, a known protection.
    pub(super) fn validate(self, root: &Path) -> Result<SmtpSettings, String> {
        let tls = match self.tls.as_deref().unwrap_or("starttls") {
            "none" => SmtpTls::None,
            "starttls" => SmtpTls::StartTls,
            "tls" => SmtpTls::Tls,
            other => return Err(format!("smtp.tls '{other}' must be \"none\", \"starttls\" or \"tls\"")),
        };
        if self.host.trim().is_empty() {
            return Err("smtp.host is empty: name the mail server, e.g. host = \"smtp.district.org\"".into());
        }
        self.from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("smtp.from '{}' is not an email address: {e}", self.from))?;
        let password = self
            .password
            .map(|p| SecretRef::parse(&p, root))
            .transpose()
            .map_err(|e| format!("smtp.password: {e}"))?;
        if self.username.is_some() != password.is_some() {
            return Err("smtp.username and smtp.password go together: set both or neither".into());
        }
        let port = self.port.unwrap_or(match tls {
            SmtpTls::None => 25,
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
        });
        Ok(SmtpSettings {
            host: self.host,
            port,
            from: self.from,
            username: self.username,
            password,
            tls,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::SmtpTls;
    use crate::config::Settings;

    fn parse(smtp: &str) -> Result<Settings, String> {
        Settings::parse(&format!("[smtp]\n{smtp}"), "f.toml", Path::new("/p")).map_err(|e| e.to_string())
    }

    #[test]
    fn smtp_defaults_to_starttls_on_587_and_keeps_the_password_a_reference() {
        let s = parse("host = \"smtp.district.org\"\nfrom = \"ferry <ferry@district.org>\"\nusername = \"ferry\"\npassword = \"file:smtp.pw\"\n").unwrap();
        let m = s.smtp.unwrap();
        assert_eq!(
            (m.host.as_str(), m.port, m.tls),
            ("smtp.district.org", 587, SmtpTls::StartTls)
        );
        assert_eq!(m.password.unwrap().to_string(), "file:/p/smtp.pw");
        let m = parse("host = \"h\"\nfrom = \"a@b.org\"\ntls = \"tls\"\n")
            .unwrap()
            .smtp
            .unwrap();
        assert_eq!((m.port, m.tls), (465, SmtpTls::Tls));
        let m = parse("host = \"h\"\nfrom = \"a@b.org\"\ntls = \"none\"\nport = 2525\n")
            .unwrap()
            .smtp
            .unwrap();
        assert_eq!((m.port, m.tls, m.username), (2525, SmtpTls::None, None));
        assert!(Settings::parse("", "f", Path::new("/")).unwrap().smtp.is_none());
    }

    #[test]
    fn smtp_mistakes_are_named() {
        let e = parse("host = \"h\"\nfrom = \"a@b.org\"\nusername = \"u\"\npassword = \"hunter2\"\n").unwrap_err();
        assert!(
            e.contains("smtp.password: secrets are references") && !e.contains("hunter2"),
            "{e}"
        );
        let e = parse("host = \"h\"\nfrom = \"a@b.org\"\nusername = \"u\"\n").unwrap_err();
        assert!(e.contains("set both or neither"), "{e}");
        let e = parse("host = \"h\"\nfrom = \"not an address\"\n").unwrap_err();
        assert!(e.contains("smtp.from 'not an address' is not an email address"), "{e}");
        let e = parse("host = \"h\"\nfrom = \"a@b.org\"\ntls = \"ssl\"\n").unwrap_err();
        assert!(e.contains("smtp.tls 'ssl' must be"), "{e}");
        let e = parse("host = \"h\"\nfrom = \"a@b.org\"\nuser = \"u\"\n").unwrap_err();
        assert!(e.starts_with("f.toml:4: unknown field `user`"), "{e}");
    }
}
