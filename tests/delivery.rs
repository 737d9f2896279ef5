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
async fn leftovers_of_an_interrupted_delivery_are_cleaned_up() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("in");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".roster.csv.ferry-0123456789ab.partial"), b"half").unwrap();
    std::fs::write(dir.join(".staff.csv.ferry-0123456789ab.partial"), b"someone else's").unwrap();
    let src = root.path().join("src.csv");
    std::fs::write(&src, b"whole\r\n").unwrap();
    ferry::deliver::deliver(&local(&dir), &env(root.path()), &src, "roster.csv", &|_| {})
        .await
        .unwrap();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [".staff.csv.ferry-0123456789ab.partial", "roster.csv"]);
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
