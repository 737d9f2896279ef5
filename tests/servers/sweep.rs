//! The sweep of stale ferry temporaries at a destination, against each real
//! server: a temporary of another file's name that no delivery in the
//! ledger is writing (what a killed run leaves) is removed when `ferry run`
//! next delivers there, whatever file it delivers; files that are not
//! ferry's, even ones that look close, are left as they were.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use crate::harness::Project;

/// A stale temporary of a file other than the one delivered.
pub const STALE: &str = ".attendance.csv.ferry-0a1b2c3d4e5f.partial";
/// Files that are not ferry's and must stay: the vendor's own, and one
/// that only resembles a temporary (no 12-digit hex token).
pub const OTHERS: [(&str, &[u8]); 2] = [
    ("vendor-readme.txt", b"do not remove\r\n"),
    (".roster.csv.ferry-notours.partial", b"someone else's\n"),
];

/// Plants the stale temporary and the other files in `folder` (the server's
/// disk), owned like the folder so the server's login could remove them.
pub fn plant(folder: &Path) {
    if !folder.exists() {
        let parent = std::fs::metadata(folder.parent().unwrap()).unwrap();
        std::fs::create_dir(folder).unwrap();
        std::os::unix::fs::chown(folder, Some(parent.uid()), Some(parent.gid())).unwrap();
    }
    let owner = std::fs::metadata(folder).unwrap();
    let mut files = vec![(STALE, &b"half a file"[..])];
    files.extend(OTHERS);
    for (name, bytes) in files {
        let path = folder.join(name);
        std::fs::write(&path, bytes).unwrap();
        std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();
    }
}

/// The script `sweep`, delivering `roster.csv` to destination `vendor`.
pub fn script(p: &Project) {
    p.sqlite("CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (1), (2);");
    p.script(
        "sweep",
        "deliver(csv(query(\"live\", \"SELECT x FROM one\"), #{ name: \"roster\" }), \"vendor\");\n",
    );
}

/// Runs `ferry run sweep` with `env` and checks `folder` afterwards.
pub fn run_and_check(p: &Project, folder: &Path, env: &[(&str, &str)], server_log: impl Fn() -> String) {
    assert!(folder.join(STALE).exists());
    let out = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["run", "sweep"])
        .current_dir(p.dir.path())
        .env_remove("FERRY_CONFIG")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}\nserver:\n{}", server_log());
    assert_eq!(
        std::fs::read(folder.join("roster.csv")).unwrap(),
        b"x\r\n1\r\n2\r\n",
        "the delivery itself arrived"
    );
    assert!(
        !folder.join(STALE).exists(),
        "the stale temporary {STALE} is still in {}",
        folder.display()
    );
    for (name, bytes) in OTHERS {
        assert_eq!(
            std::fs::read(folder.join(name)).ok().as_deref(),
            Some(bytes),
            "{name} is not ferry's and must be left as it was"
        );
    }
    let mut left: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let mut expected = vec!["roster.csv".to_string()];
    expected.extend(OTHERS.iter().map(|(n, _)| n.to_string()));
    expected.sort();
    assert_eq!(left, expected, "no other file is left in the folder");
}
