//! NTSTATUS codes and smb errors as ferry's failure kinds, with advice a
//! person can act on. Kept free of the `smb` types where it can be, so the
//! table is unit-tested on its own.

/// The NTSTATUS codes delivery meets, with their names and failure kinds.
const STATUSES: &[(u32, &str, &str)] = &[
    (0xC000_006D, "STATUS_LOGON_FAILURE", "auth"),
    (0xC000_0064, "STATUS_NO_SUCH_USER", "auth"),
    (0xC000_006E, "STATUS_ACCOUNT_RESTRICTION", "auth"),
    (0xC000_0071, "STATUS_PASSWORD_EXPIRED", "auth"),
    (0xC000_0072, "STATUS_ACCOUNT_DISABLED", "auth"),
    (0xC000_0224, "STATUS_PASSWORD_MUST_CHANGE", "auth"),
    (0xC000_0234, "STATUS_ACCOUNT_LOCKED_OUT", "auth"),
    (0xC000_0022, "STATUS_ACCESS_DENIED", "permission"),
    (0xC000_00CA, "STATUS_NETWORK_ACCESS_DENIED", "permission"),
    (0xC000_0034, "STATUS_OBJECT_NAME_NOT_FOUND", "not_found"),
    (0xC000_003A, "STATUS_OBJECT_PATH_NOT_FOUND", "not_found"),
    (0xC000_00CC, "STATUS_BAD_NETWORK_NAME", "not_found"),
    (0xC000_0033, "STATUS_OBJECT_NAME_INVALID", "refused"),
    (0xC000_0035, "STATUS_OBJECT_NAME_COLLISION", "refused"),
    (0xC000_00BA, "STATUS_FILE_IS_A_DIRECTORY", "refused"),
    (0xC000_0101, "STATUS_DIRECTORY_NOT_EMPTY", "refused"),
    (0xC000_007F, "STATUS_DISK_FULL", "disk_full"),
    (0xC000_0044, "STATUS_QUOTA_EXCEEDED", "disk_full"),
    (0xC000_0043, "STATUS_SHARING_VIOLATION", "busy"),
    (0xC000_009A, "STATUS_INSUFFICIENT_RESOURCES", "busy"),
    (0xC000_0205, "STATUS_INSUFF_SERVER_RESOURCES", "busy"),
    (0xC000_00D0, "STATUS_REQUEST_NOT_ACCEPTED", "busy"),
    (0xC000_00B5, "STATUS_IO_TIMEOUT", "timeout"),
    (0xC000_00C9, "STATUS_NETWORK_NAME_DELETED", "network"),
    (0xC000_0203, "STATUS_USER_SESSION_DELETED", "network"),
    (0xC000_035C, "STATUS_NETWORK_SESSION_EXPIRED", "network"),
];

/// The name and failure kind of an NTSTATUS code (`refused` and the hex
/// code when it is not one delivery expects).
pub fn classify(code: u32) -> (String, &'static str) {
    STATUSES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, name, kind)| (name.to_string(), *kind))
        .unwrap_or_else(|| (format!("NTSTATUS {code:#010x}"), "refused"))
}

/// The NTSTATUS code inside an error text: smb reports write failures as
/// text only ("... status: Access Denied." or "... status: 0xc000007f.").
pub fn code_in_text(text: &str) -> Option<u32> {
    let lower = text.to_ascii_lowercase();
    if let Some(at) = lower.find("0xc") {
        let hex: String = lower[at + 2..].chars().take_while(|c| c.is_ascii_hexdigit()).collect();
        if hex.len() == 8 {
            return u32::from_str_radix(&hex, 16).ok();
        }
    }
    // smb's own display names: "Access Denied", "Object Name Not Found"...
    STATUSES
        .iter()
        .find(|(_, name, _)| {
            let words = name
                .trim_start_matches("STATUS_")
                .replace('_', " ")
                .to_ascii_lowercase();
            lower.contains(&words)
        })
        .map(|(c, _, _)| *c)
}

/// What to do about a failure of `kind` while doing `what` on `path`.
pub fn advice(kind: &str, code_name: &str, share: &str, server: &str) -> String {
    match (kind, code_name) {
        (_, "STATUS_BAD_NETWORK_NAME") => format!(
            "the server has no share named '{share}'; check the first part of `path` (/SHARE/folder) \
             against the shares `smbclient -L //{server}` lists"
        ),
        ("auth", _) => "check the username, password and domain (NTLM was tried); \
                        an account may also be locked or its password expired"
            .to_string(),
        ("permission", _) => {
            format!("give the account write access to this folder on share '{share}' (share and file permissions)")
        }
        ("not_found", _) => "check the folder in `path`".to_string(),
        ("disk_full", _) => "the share has no room: ask the vendor to free space or raise the quota".to_string(),
        ("busy", _) => "the server is busy or the file is in use; ferry tries again".to_string(),
        ("network" | "timeout", _) => "the connection was lost; ferry tries again".to_string(),
        _ => String::new(),
    }
}

/// Removes `secret` from `text` (a password never leaves the helper).
pub fn scrub(text: &str, secret: &str) -> String {
    if secret.len() >= 3 {
        text.replace(secret, "***")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(classify(0xC000_006D), ("STATUS_LOGON_FAILURE".into(), "auth"));
        assert_eq!(classify(0xC000_0022).1, "permission");
        assert_eq!(classify(0xC000_00CC).1, "not_found");
        assert_eq!(classify(0xC000_007F).1, "disk_full");
        assert_eq!(classify(0xC000_0123), ("NTSTATUS 0xc0000123".into(), "refused"));
    }

    #[test]
    fn codes_are_found_in_smb_error_texts() {
        assert_eq!(
            code_in_text("Server returned an error message with status: 0xc000007f."),
            Some(0xC000_007F)
        );
        assert_eq!(
            code_in_text("Server returned an error message with status: Access Denied."),
            Some(0xC000_0022)
        );
        assert_eq!(code_in_text("Broken pipe"), None);
    }

    #[test]
    fn secrets_are_scrubbed() {
        assert_eq!(scrub("bad hunter2 here", "hunter2"), "bad *** here");
    }
}
