//! Delivery through the library: the conformance suite on the local folder,
//! orphan clean-up, and what a failed delivery leaves behind.

use ferry::config::RawDestination;
use ferry::deliver::DeliveryEnv;

use crate::harness::conformance::{self, Served};

fn local(path: &std::path::Path) -> ferry::config::DestinationSettings {
    let raw: RawDestination = toml::from_str(&format!("mode = 'local'\npath = '{}'", path.display())).unwrap();
    raw.validate("out", std::path::Path::new("/")).unwrap()
}

fn env(dir: &std::path::Path) -> DeliveryEnv {
    DeliveryEnv {
        keys_dir: dir.join("keys"),
        known_hosts: dir.join("known_hosts"),
    }
}

#[tokio::test]
async fn local_folder_passes_the_conformance_suite() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("in")).unwrap();
    let s = local(&root.path().join("in"));
    // The suite addresses files by their absolute local path; root runs
    // ignore folder permissions, so no locked-folder case here (the servers'
    // suites have it, logging in as an ordinary user).
    conformance::run(
        &s,
        &env(root.path()),
        &Served {
            root: std::path::Path::new("/"),
        },
        None,
    )
    .await;
}

#[tokio::test]
async fn ferry_temporaries_no_delivery_is_writing_are_swept_whatever_their_name() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("in");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".roster_20261201.csv.ferry-0123456789ab.partial"), b"half").unwrap();
    let live = dir.join(".staff.csv.ferry-0123456789ab.partial");
    std::fs::write(&live, b"someone else's, still going").unwrap();
    let src = root.path().join("src.csv");
    std::fs::write(&src, b"whole\r\n").unwrap();
    let ledger = crate::harness::Ledger(vec![live.display().to_string()]);
    let to = "roster_20261202.csv";
    crate::harness::deliver_swept(&local(&dir), &env(root.path()), &src, to, &ledger, &|_| {})
        .await
        .unwrap();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    // Yesterday's dated temporary is stale; the one the ledger says is live stays.
    assert_eq!(names, [".staff.csv.ferry-0123456789ab.partial", "roster_20261202.csv"]);
}

#[tokio::test]
async fn test_connection_writes_and_removes_one_byte() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("in");
    let probe = ferry::deliver::test_connection(&local(&dir), &env(root.path()))
        .await
        .unwrap();
    assert!(
        probe.test_file.starts_with(&dir.display().to_string()),
        "{}",
        probe.test_file
    );
    assert!(probe.test_file.ends_with(".txt"));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "the test file is removed");
}

fn resend_project() -> crate::harness::Project {
    let p = crate::harness::Project::new();
    p.config(
        r#"[databases.live]
url = "sqlite:fixture.db"
[destinations.out]
mode = "local"
path = "out"
[destinations.spare]
mode = "local"
path = "spare"
"#,
    );
    p.sqlite("CREATE TABLE people (id INTEGER, name TEXT); INSERT INTO people VALUES (1, 'Zoë'), (2, 'O''Brien');");
    p.script(
        "roster",
        "let f = csv(query(\"live\", \"SELECT id, name FROM people ORDER BY id\"), #{ name: \"roster\" });\ndeliver(f, \"out\");\n",
    );
    p
}

#[test]
fn a_failed_delivery_keeps_the_file_and_resend_sends_the_same_bytes() {
    let p = resend_project();
    // `out` is a file, so the folder cannot be created: the delivery fails.
    std::fs::write(p.path("out"), b"in the way").unwrap();
    let out = p.ferry(&["run", "roster"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("delivery to 'out'") && out.stdout.contains("ferry resend"),
        "{}",
        out.stdout
    );
    let kept = p.path(".ferry/work/run-1/roster.csv");
    let built = std::fs::read(&kept).expect("the failed delivery keeps the file");
    let hist = p.ferry(&["history", "--run", "1"]);
    assert!(hist.ok().contains("-> out NOT DELIVERED"), "{}", hist.stdout);

    std::fs::remove_file(p.path("out")).unwrap();
    let again = p.ferry(&["resend", "1"]);
    assert!(again.ok().contains("roster.csv -> out"), "{}", again.stdout);
    assert_eq!(
        std::fs::read(p.path("out/roster.csv")).unwrap(),
        built,
        "the identical bytes arrive"
    );
    let hist = p.ferry(&["history", "--run", "2"]);
    let text = hist.ok();
    assert!(
        text.contains("trigger      resend") && text.contains("resend of    run 1"),
        "{text}"
    );
    assert!(text.contains("status       succeeded"), "{text}");

    // Elsewhere on request; a kept file that changed is not sent.
    p.ferry(&["resend", "1", "--to", "spare"]).ok();
    assert_eq!(std::fs::read(p.path("spare/roster.csv")).unwrap(), built);
    // The delivered file is a link to the kept one: replace the kept file
    // (editing it in place would change the delivered bytes too).
    std::fs::remove_file(&kept).unwrap();
    std::fs::write(&kept, b"tampered").unwrap();
    // Another size: refused before anything starts.
    let refused = p.ferry(&["resend", "1"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("changed since the run"), "{}", refused.stderr);
    // The same size, other bytes: the SHA-256 check runs beside the upload
    // and holds back the commit: the resend fails, history says why, the
    // destination keeps the old file and no temporary is left beside it.
    std::fs::write(&kept, vec![b'x'; built.len()]).unwrap();
    let refused = p.ferry(&["resend", "1"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    let said = format!("{}{}", refused.stdout, refused.stderr);
    assert!(said.contains("changed since the run"), "{said}");
    assert_eq!(std::fs::read(p.path("out/roster.csv")).unwrap(), built);
    let left: Vec<String> = std::fs::read_dir(p.path("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["roster.csv"], "nothing but the delivered file");
    let last = p.ferry(&["history", "--run", "4"]);
    let text = last.ok();
    assert!(
        text.contains("status       failed") && text.contains("changed since the run"),
        "{text}"
    );
}

#[test]
fn a_delivered_file_can_be_resent_unless_keep_delivered_is_off() {
    let p = resend_project();
    p.ferry(&["run", "roster"]).ok();
    let sent = std::fs::read(p.path("out/roster.csv")).unwrap();
    std::fs::remove_file(p.path("out/roster.csv")).unwrap(); // the vendor lost it
    p.ferry(&["resend", "1"]).ok();
    assert_eq!(std::fs::read(p.path("out/roster.csv")).unwrap(), sent);

    p.settings_head("keep_delivered = false");
    p.ferry(&["run", "roster"]).ok();
    let out = p.ferry(&["resend", "3"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("run 3 cannot be resent") && out.stderr.contains("kept no files"),
        "{}",
        out.stderr
    );
    let unknown = p.ferry(&["resend", "1", "--to", "nowhere"]);
    assert!(
        unknown.stderr.contains("unknown destination 'nowhere'"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn test_connection_by_destination_or_script() {
    let p = resend_project();
    let out = p.ferry(&["test-connection", "out"]);
    assert!(
        out.ok().contains("OK: wrote and removed") && out.stdout.contains("ferry-test-"),
        "{}",
        out.stdout
    );
    let out = p.ferry(&["test-connection", "roster"]);
    assert!(out.ok().contains("out: local folder"), "{}", out.stdout);
    std::fs::remove_dir_all(p.path("out")).unwrap();
    std::fs::write(p.path("out"), b"in the way").unwrap();
    let out = p.ferry(&["test-connection", "out"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("FAILED: cannot create folder"), "{}", out.stdout);
    let out = p.ferry(&["test-connection", "nothing"]);
    assert!(out.stderr.contains("neither a destination"), "{}", out.stderr);
}

#[test]
fn a_local_delivery_links_the_kept_file_unless_link_is_off_or_the_folder_is_elsewhere() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let p = crate::harness::Project::new();
    // /dev/shm is a tmpfs: another file system than the project's, where no
    // link can reach.
    let elsewhere = tempfile::tempdir_in("/dev/shm").unwrap();
    assert_ne!(
        std::fs::metadata(elsewhere.path()).unwrap().dev(),
        std::fs::metadata(p.path(".")).unwrap().dev(),
        "the test needs /dev/shm on another file system"
    );
    p.config(&format!(
        r#"[databases.live]
url = "sqlite:fixture.db"
[destinations.out]
mode = "local"
path = "out"
[destinations.copied]
mode = "local"
path = "copied"
link = false
[destinations.far]
mode = "local"
path = "{}"
"#,
        elsewhere.path().display()
    ));
    p.sqlite("CREATE TABLE people (id INTEGER, name TEXT); INSERT INTO people VALUES (1, 'Zoë');");
    p.script(
        "roster",
        "let f = csv(query(\"live\", \"SELECT id, name FROM people\"), #{ name: \"roster\" });\n\
         deliver(f, \"out\");\ndeliver(f, \"copied\");\ndeliver(f, \"far\");\n",
    );
    p.ferry(&["run", "roster"]).ok();
    let kept = std::fs::metadata(p.path(".ferry/work/run-1/roster.csv")).expect("the run keeps its file");
    let meta = |path: &std::path::Path| std::fs::metadata(path).unwrap();
    let linked = meta(&p.path("out/roster.csv"));
    assert_eq!(
        (linked.dev(), linked.ino()),
        (kept.dev(), kept.ino()),
        "out/ shares the kept bytes"
    );
    assert_eq!(kept.nlink(), 2, "the kept file and out/roster.csv, nothing else");
    assert_eq!(kept.permissions().mode() & 0o222, 0, "the shared file is read-only");
    for copy in [p.path("copied/roster.csv"), elsewhere.path().join("roster.csv")] {
        let m = meta(&copy);
        assert_ne!(m.ino(), kept.ino(), "{} is a copy", copy.display());
        assert_ne!(
            m.permissions().mode() & 0o200,
            0,
            "{} is the receiver's to change",
            copy.display()
        );
        assert_eq!(
            std::fs::read(&copy).unwrap(),
            std::fs::read(p.path("out/roster.csv")).unwrap()
        );
    }
    assert_eq!(
        std::fs::read(p.path("out/roster.csv")).unwrap(),
        b"id,name\r\n1,Zo\xc3\xab\r\n"
    );
    // Retention removing the kept file leaves the delivered one whole.
    std::fs::remove_dir_all(p.path(".ferry/work/run-1")).unwrap();
    assert_eq!(
        std::fs::read(p.path("out/roster.csv")).unwrap(),
        b"id,name\r\n1,Zo\xc3\xab\r\n"
    );
}

#[test]
fn link_is_refused_outside_a_local_folder() {
    let raw: RawDestination = toml::from_str(
        "mode = 'sftp'\nserver = 'sftp.vendor.example'\npath = '/in'\nusername = 'd'\npassword = 'env:PW'\nlink = true",
    )
    .unwrap();
    let e = raw.validate("vendor", std::path::Path::new("/")).unwrap_err();
    assert_eq!(
        e,
        "destinations.vendor.link: link is for local folders; sftp uploads a copy"
    );
}
