//! Turning FTP replies into [`OpError`]s a person can act on.
//!
//! suppaftp reports a refusal as the raw reply, and codes it does not know
//! print as `[0]`, so the code and the server's own words are read from the
//! reply text. The text also decides between cases one code covers: 550 is
//! both "no such file" and "permission denied".

use suppaftp::FtpError;

use crate::deliver::{FailureKind, OpError};

/// A server reply: its code and its text, lines joined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Reply {
    /// The three-digit code (0 when the reply had none).
    pub code: u32,
    /// The text as the server sent it, line breaks turned into ` / `.
    pub text: String,
}

impl Reply {
    /// Reads the reply suppaftp rejected.
    pub(super) fn of(response: &suppaftp::types::Response) -> Self {
        let raw = String::from_utf8_lossy(&response.body);
        let text = raw
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" / ");
        let code = text
            .get(..3)
            .and_then(|c| c.parse().ok())
            .unwrap_or(response.status as u32);
        Reply { code, text }
    }

    fn says(&self, words: &[&str]) -> bool {
        let lower = self.text.to_ascii_lowercase();
        words.iter().any(|w| lower.contains(w))
    }

    /// The kind of failure this reply reports.
    pub(super) fn kind(&self) -> FailureKind {
        if self.says(&[
            "disk full",
            "quota",
            "no space",
            "not enough space",
            "insufficient storage",
        ]) {
            return FailureKind::DiskFull;
        }
        match self.code {
            530 | 532 => FailureKind::Auth,
            552 | 452 => FailureKind::DiskFull,
            421 | 450 | 451 => FailureKind::Busy,
            425 | 426 => FailureKind::Network,
            550 | 553 | 450..=459 if self.says(&["permission", "access denied", "not allowed", "denied"]) => {
                FailureKind::Permission
            }
            550 | 553 if self.says(&["no such", "not found", "not exist", "doesn't exist", "cannot find"]) => {
                FailureKind::NotFound
            }
            550 | 553 => FailureKind::Permission,
            400..=499 => FailureKind::Busy,
            _ => FailureKind::Refused,
        }
    }
}

/// Advice for a failure of `kind` while doing `what` as `user`.
fn advice(kind: FailureKind, user: &str) -> String {
    match kind {
        FailureKind::Permission => {
            format!("; check that the login {user} may write to that folder on the server (ask the vendor)")
        }
        FailureKind::NotFound => "; check the destination's path".into(),
        FailureKind::DiskFull => "; the server is out of space or over its quota: ask the vendor".into(),
        FailureKind::Busy => "; the server is busy or limiting connections: ferry tries again".into(),
        FailureKind::Auth => "; check username and password".into(),
        _ => String::new(),
    }
}

/// Describes a failed command: `what` says what was being done (and names
/// the path), `at` is `host:port`, `user` the login.
pub(super) fn command_error(what: &str, at: &str, user: &str, err: FtpError) -> OpError {
    match err {
        FtpError::UnexpectedResponse(response) => {
            let reply = Reply::of(&response);
            let kind = reply.kind();
            let extra = if reply.code == 522 || reply.says(&["ssl", "tls"]) {
                "; the server insists on something about TLS ferry did not do: send this message to the \
                 ferry maintainers and the vendor"
                    .to_string()
            } else {
                advice(kind, user)
            };
            OpError::new(kind, format!("{what} on {at} refused ({}){extra}", reply.text))
        }
        FtpError::ConnectionError(e) => OpError::new(
            FailureKind::Network,
            format!("the connection to {at} was lost while {what}: {e}"),
        ),
        FtpError::SecureError(e) => OpError::new(FailureKind::Network, format!("TLS failed on {at} while {what}: {e}")),
        FtpError::BadResponse => OpError::new(
            FailureKind::Network,
            format!("{at} sent a reply that is not FTP while {what}"),
        ),
        other => OpError::new(FailureKind::Refused, format!("{what} on {at} failed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(text: &str) -> Reply {
        Reply {
            code: text[..3].parse().unwrap(),
            text: text.into(),
        }
    }

    #[test]
    fn codes_and_words_decide_the_kind() {
        let cases = [
            ("530 Login incorrect.", FailureKind::Auth),
            ("550 Permission denied.", FailureKind::Permission),
            ("550 Create directory operation failed.", FailureKind::Permission),
            ("550 /x: No such file or directory", FailureKind::NotFound),
            ("553 Could not create file.", FailureKind::Permission),
            ("552 Requested file action aborted.", FailureKind::DiskFull),
            ("452 Insufficient storage space", FailureKind::DiskFull),
            ("451 Failure writing to local file: disk full", FailureKind::DiskFull),
            ("421 Too many users", FailureKind::Busy),
            ("450 File busy", FailureKind::Busy),
            ("425 Security: Bad IP connecting.", FailureKind::Network),
            ("426 Failure writing network stream.", FailureKind::Network),
            ("500 Unknown command.", FailureKind::Refused),
        ];
        for (text, kind) in cases {
            assert_eq!(reply(text).kind(), kind, "{text}");
        }
    }
}
