//! One conformance suite for every destination: the local folder, the
//! in-process test servers and each real server run exactly these checks, so
//! a protocol cannot quietly behave differently from the others.

use std::path::Path;

use ferry::config::{CommitStrategy, DestinationSettings};
use ferry::deliver::{deliver, DeliveryEnv, FailureKind};

/// How a test sees what arrived, independently of ferry's own client: the
/// folder the server serves, or the server's real client program.
pub trait Peek {
    /// The content of `remote` (an absolute path on the server), or `None`.
    fn read(&self, remote: &str) -> Option<Vec<u8>>;
    /// The entry names in the folder `remote`.
    fn names(&self, remote: &str) -> Vec<String>;
}

/// A server that serves a local folder: remote `/x` is `root/x`.
pub struct Served<'a> {
    /// The folder served as `/`.
    pub root: &'a Path,
}

impl Peek for Served<'_> {
    fn read(&self, remote: &str) -> Option<Vec<u8>> {
        std::fs::read(self.root.join(remote.trim_start_matches('/'))).ok()
    }
    fn names(&self, remote: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.root.join(remote.trim_start_matches('/')))
            .map(|d| {
                d.filter_map(std::result::Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

fn file(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Runs the suite against `base` (its `path` must be an existing, writable
/// folder the suite may fill). `locked` is a folder under the server root the
/// login cannot write to (mode 000), when the server honours permissions.
pub async fn run(base: &DestinationSettings, env: &DeliveryEnv, peek: &dyn Peek, locked: Option<&str>) {
    let local = tempfile::tempdir().unwrap();
    let quiet = |_line: String| {};
    let mut s = base.clone();
    s.retry.attempts = 1;

    // Put, then overwrite with different (shorter) content.
    let big: Vec<u8> = (0..300_000u32).flat_map(u32::to_le_bytes).collect();
    let first = file(local.path(), "first", &big);
    let d = deliver(&s, env, &first, "roster.csv", &quiet).await.unwrap();
    assert_eq!(d.remote_path, format!("{}/roster.csv", s.path.trim_end_matches('/')));
    assert_eq!(
        peek.read(&d.remote_path).as_deref(),
        Some(&big[..]),
        "put {}",
        s.describe()
    );
    let second = file(local.path(), "second", b"id,name\r\n1,Zo\xc3\xab\r\n");
    deliver(&s, env, &second, "roster.csv", &quiet).await.unwrap();
    assert_eq!(
        peek.read(&d.remote_path).as_deref(),
        Some(&b"id,name\r\n1,Zo\xc3\xab\r\n"[..]),
        "overwrite"
    );

    // Names with spaces and non-ASCII letters; an empty file.
    for name in ["Roster 2026 final.csv", "élèves_Ñandú.csv"] {
        let d = deliver(&s, env, &second, name, &quiet).await.unwrap();
        assert_eq!(
            peek.read(&d.remote_path).as_deref(),
            Some(&b"id,name\r\n1,Zo\xc3\xab\r\n"[..]),
            "{name}"
        );
    }
    let empty = file(local.path(), "empty", b"");
    let d = deliver(&s, env, &empty, "empty.csv", &quiet).await.unwrap();
    assert_eq!(peek.read(&d.remote_path).as_deref(), Some(&b""[..]), "empty file");

    // A nested folder that does not exist yet is created.
    let mut nested = s.clone();
    nested.path = format!("{}/district 42/å", s.path.trim_end_matches('/'));
    let d = deliver(&nested, env, &second, "nested.csv", &quiet).await.unwrap();
    assert_eq!(d.remote_path, format!("{}/nested.csv", nested.path));
    assert!(peek.read(&d.remote_path).is_some(), "nested path");

    // Each commit strategy ends with the whole file under its name and no
    // temporary left behind.
    for strategy in [
        CommitStrategy::Rename,
        CommitStrategy::Folder,
        CommitStrategy::Marker,
        CommitStrategy::Direct,
    ] {
        let mut c = s.clone();
        c.commit = strategy;
        c.path = format!("{}/{}", s.path.trim_end_matches('/'), strategy.as_str());
        for content in [&big[..], b"short"] {
            let f = file(local.path(), "c", content);
            let d = deliver(&c, env, &f, "c.csv", &quiet).await.unwrap();
            assert_eq!(
                peek.read(&d.remote_path).as_deref(),
                Some(content),
                "{}",
                strategy.as_str()
            );
        }
        let mut names = peek.names(&c.path);
        names.retain(|n| n != ".ferry-upload");
        let expected: Vec<&str> = match strategy {
            CommitStrategy::Marker => vec!["c.csv", "c.csv.done"],
            _ => vec!["c.csv"],
        };
        assert_eq!(names, expected, "{} leaves only the file", strategy.as_str());
        if strategy == CommitStrategy::Folder {
            assert_eq!(peek.names(&format!("{}/.ferry-upload", c.path)), Vec::<String>::new());
        }
    }

    // A folder the login may not write to: a clear, non-retryable refusal.
    if let Some(locked) = locked {
        let mut l = s.clone();
        l.path = locked.to_string();
        let e = deliver(&l, env, &second, "x.csv", &quiet).await.unwrap_err();
        assert_eq!(e.kind, FailureKind::Permission, "{e}");
        assert_eq!(e.attempts.len(), 1, "a refusal is not retried: {e}");
        assert!(e.to_string().contains(locked), "{e}");
    }

    // Nothing but the delivered files in the folder: no temporaries.
    let names = peek.names(&s.path);
    assert!(
        names.iter().all(|n| !n.contains(".ferry-") && !n.ends_with(".partial")),
        "leftovers in {}: {names:?}",
        s.path
    );
}
