//! The checks on local files: the work folder and its disk, and the SFTP
//! login keys.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::{Check, Report};
use crate::config::Settings;
use crate::keys::{KeyError, KeyStore};

/// The work folder can be written, and its disk has room for what
/// `keep_max_size` lets kept files grow to: runs that cannot write their
/// files fail, and a full disk takes the rest of the server with it.
pub(super) fn work_folder(settings: &Settings) -> Check {
    let dir = &settings.work_dir;
    let subject = "work folder";
    let writable = std::fs::create_dir_all(dir).and_then(|()| tempfile::tempfile_in(dir).map(drop));
    if let Err(e) = writable {
        return Check::problem(
            subject,
            format!("{} cannot be written: {e}", dir.display()),
            format!(
                "give the user ferry runs as write access to {} (with the Debian package it is \
                 /var/lib/ferry/work, owned by ferry), or change `work` in ferry.toml",
                dir.display()
            ),
        );
    }
    let free = match nix::sys::statvfs::statvfs(dir.as_path()) {
        Ok(s) => s.blocks_available().saturating_mul(s.fragment_size()),
        Err(e) => {
            return Check::problem(
                subject,
                format!("cannot tell the free space of {}: {e}", dir.display()),
                "check that the folder is on a mounted, local file system",
            )
        }
    };
    let kept = size_of(dir);
    let limit = settings.keep_max_bytes;
    let detail = format!(
        "{}: {} kept of keep_max_size {}, {} free on its disk",
        dir.display(),
        human(kept),
        human(limit),
        human(free)
    );
    if free.saturating_add(kept) < limit {
        return Check::problem(
            subject,
            detail,
            format!(
                "kept files may grow to {} but the disk has room for {} more: free space there, or lower \
                 keep_max_size in ferry.toml",
                human(limit),
                human(free)
            ),
        );
    }
    Check::ok(subject, detail)
}

/// Bytes in the files under `dir` (kept files and runs in progress).
fn size_of(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => size_of(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// "1.5 GB": decimal units, as `keep_max_size` is written.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Every private key in the keys folder, and every key a destination
/// names: present, readable as a key (opened with the destination's
/// passphrase when one uses it) and readable by its owner only, as
/// OpenSSH insists for its own keys.
pub(super) fn keys(settings: &Settings, report: &mut Report) {
    let store = KeyStore::open(&settings.keys_dir);
    let mut names: Vec<String> = std::fs::read_dir(&settings.keys_dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.') && !n.ends_with(".pub"))
                .collect()
        })
        .unwrap_or_default();
    for d in settings.destinations.values() {
        if let Some(k) = &d.key {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    names.sort();
    for name in &names {
        let users: Vec<_> = settings
            .destinations
            .values()
            .filter(|d| d.key.as_deref() == Some(name.as_str()))
            .collect();
        report.push(key(&store, name, &users));
    }
}

fn key(store: &KeyStore, name: &str, users: &[&crate::config::DestinationSettings]) -> Check {
    let subject = format!("key {name}");
    let path = store.dir().join(name);
    let used_by = if users.is_empty() {
        "used by no destination".to_string()
    } else {
        format!(
            "used by {}",
            users.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ")
        )
    };
    let regenerate = format!(
        "make it again with `ferry keys generate {name}` and send the vendor the new public key \
         (`ferry keys show {name}`), or restore {} from a backup",
        path.display()
    );
    let passphrase = users
        .iter()
        .find_map(|d| d.key_passphrase.as_ref())
        .and_then(|p| p.resolve().ok());
    match store.load(name, passphrase.as_deref()) {
        Ok(_) => {}
        // Nobody needs it opened: that it parses is enough.
        Err(KeyError::NeedsPassphrase(_)) if users.is_empty() => {}
        Err(e @ (KeyError::NeedsPassphrase(_) | KeyError::WrongPassphrase(_))) => {
            return Check::problem(
                subject,
                format!("{e} ({used_by})"),
                "set key_passphrase of the destination to the reference of the passphrase the key was made with",
            )
        }
        Err(e @ KeyError::Missing { .. }) => {
            return Check::problem(subject, format!("{e} ({used_by})"), regenerate);
        }
        Err(e) => {
            return Check::problem(
                subject,
                format!("{} cannot be read as a key: {e} ({used_by})", path.display()),
                regenerate,
            )
        }
    }
    let mode = match std::fs::metadata(&path) {
        Ok(m) => m.permissions().mode() & 0o777,
        Err(e) => return Check::problem(subject, format!("{}: {e}", path.display()), regenerate),
    };
    if mode & 0o077 != 0 {
        return Check::problem(
            subject,
            format!(
                "{} has permissions {mode:04o}: other users can read it ({used_by})",
                path.display()
            ),
            format!("chmod 600 {}", path.display()),
        );
    }
    Check::ok(
        subject,
        format!("{}, permissions {mode:04o}, {used_by}", path.display()),
    )
}
