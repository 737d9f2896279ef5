//! The trusted host keys, in OpenSSH's `known_hosts` format so an
//! administrator can read, diff and edit the file with the usual tools (and
//! copy lines from their own `~/.ssh/known_hosts`).
//!
//! Written here rather than with russh's helper because the messages need
//! the right line number (russh's skips comment lines when counting) and a
//! malformed line must not hide every other entry.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use base64::Engine;
use hmac::{Hmac, Mac};
use russh::keys::PublicKey;

/// A key recorded for a host.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// 1-based line number in the file.
    pub line: usize,
    /// The key recorded on that line, compared with the one the server offers.
    pub key: PublicKey,
}

/// What the file says about a key a server presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The same key is recorded.
    Trusted,
    /// Nothing is recorded for this host and key type.
    Unknown,
    /// A different key of the same type is recorded at `line`.
    Changed {
        /// 1-based line number of the recorded key.
        line: usize,
    },
}

/// How the host is written in the file: `host` on port 22, else `[host]:port`.
pub(crate) fn host_pattern(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len()).any(|i| go(&p[1..], &t[i..])),
            Some('?') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..]),
        }
    }
    go(&p, &t)
}

fn hashed_match(entry: &str, name: &str) -> bool {
    let mut parts = entry.trim_start_matches("|1|").split('|');
    let b64 = base64::engine::general_purpose::STANDARD;
    let (Some(Ok(salt)), Some(Ok(hash))) = (parts.next().map(|s| b64.decode(s)), parts.next().map(|s| b64.decode(s)))
    else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

fn hosts_match(field: &str, name: &str) -> bool {
    let mut matched = false;
    for pattern in field.split(',') {
        if let Some(negated) = pattern.strip_prefix('!') {
            if glob(negated, name) {
                return false;
            }
        } else if pattern.starts_with("|1|") {
            matched |= hashed_match(pattern, name);
        } else {
            matched |= glob(pattern, name);
        }
    }
    matched
}

/// The keys recorded for `host`:`port`, in file order. A missing file is an
/// empty one; lines ferry cannot parse are passed over.
pub(crate) fn entries(path: &Path, host: &str, port: u16) -> Result<Vec<Entry>, String> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read the known hosts file {}: {e}", path.display())),
    };
    let name = host_pattern(host, port);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('@') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(hosts), Some(kind), Some(data)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if !hosts_match(hosts, &name) {
            continue;
        }
        if let Ok(key) = PublicKey::from_openssh(&format!("{kind} {data}")) {
            out.push(Entry { line: i + 1, key });
        }
    }
    Ok(out)
}

/// Checks `key` against the entries for its host.
pub(crate) fn verdict(entries: &[Entry], key: &PublicKey) -> Verdict {
    let same_type: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.key.algorithm() == key.algorithm())
        .collect();
    if same_type.iter().any(|e| e.key.key_data() == key.key_data()) {
        Verdict::Trusted
    } else if let Some(e) = same_type.first() {
        Verdict::Changed { line: e.line }
    } else {
        Verdict::Unknown
    }
}

/// Appends `key` for `host`:`port`, creating the file (and its folder).
pub(crate) fn add(path: &Path, host: &str, port: u16, key: &PublicKey) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create the folder {}: {e}", dir.display()))?;
    }
    let mut key = key.clone();
    key.set_comment("");
    let line = key
        .to_openssh()
        .map_err(|e| format!("cannot write the host key: {e}"))?;
    // A file whose last line lacks a newline would glue the new entry to it.
    let needs_newline = fs::read(path)
        .map(|b| !b.is_empty() && !b.ends_with(b"\n"))
        .unwrap_or(false);
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open the known hosts file {}: {e}", path.display()))?;
    let text = format!(
        "{}{} {}\n",
        if needs_newline { "\n" } else { "" },
        host_pattern(host, port),
        line.trim()
    );
    f.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write the known hosts file {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMxOHMJ7IeWIlXxEyOB4lv1lGwmNsGUK1F+bdA8R2xQ4";
    const ED2: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDCvKZo9ytWx3nocIabivqh5l9YK4DmDPdncupQju4Nd";

    #[test]
    fn lines_are_counted_with_comments_and_ports_bracketed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kh");
        fs::write(
            &path,
            format!("# comment\n\nother.example {ED}\n[sftp.example]:2222 {ED}\nsftp.example {ED2}\n"),
        )
        .unwrap();
        let on_2222 = entries(&path, "sftp.example", 2222).unwrap();
        assert_eq!(on_2222.len(), 1);
        assert_eq!(on_2222[0].line, 4);
        let key = PublicKey::from_openssh(ED).unwrap();
        let other = PublicKey::from_openssh(ED2).unwrap();
        assert_eq!(verdict(&on_2222, &key), Verdict::Trusted);
        assert_eq!(verdict(&on_2222, &other), Verdict::Changed { line: 4 });
        let on_22 = entries(&path, "sftp.example", 22).unwrap();
        assert_eq!(verdict(&on_22, &key), Verdict::Changed { line: 5 });
        assert_eq!(
            verdict(&entries(&path, "new.example", 22).unwrap(), &key),
            Verdict::Unknown
        );
    }

    #[test]
    fn added_entries_are_found_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/kh");
        let key = PublicKey::from_openssh(ED).unwrap();
        add(&path, "127.0.0.1", 2022, &key).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("[127.0.0.1]:2022 ssh-ed25519 AAAA"), "{text}");
        assert_eq!(
            verdict(&entries(&path, "127.0.0.1", 2022).unwrap(), &key),
            Verdict::Trusted
        );
    }

    #[test]
    fn hashed_and_wildcard_hosts_match() {
        // `ssh-keygen -H` of "[h.example]:2222" with a fixed salt.
        let salt = [7u8; 20];
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&salt).unwrap();
        mac.update(b"[h.example]:2222");
        let b64 = base64::engine::general_purpose::STANDARD;
        let hashed = format!("|1|{}|{}", b64.encode(salt), b64.encode(mac.finalize().into_bytes()));
        assert!(hosts_match(&hashed, "[h.example]:2222"));
        assert!(!hosts_match(&hashed, "[h.example]:22"));
        assert!(hosts_match("*.example,!bad.example", "h.example"));
        assert!(!hosts_match("*.example,!bad.example", "bad.example"));
    }
}
