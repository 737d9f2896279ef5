//! Checksum and manifest sidecars on a local destination, read back by
//! `sha256sum -c` and Python's `json`; resends send them again after their
//! file; bad settings name the key. The SFTP test in the server suite
//! checks them on OpenSSH.

use std::process::Command;

use crate::harness::{python_json, Project, Test};

fn project(sidecars: &str) -> Project {
    let p = Project::new();
    p.config(&format!(
        "[databases.live]\nurl = \"sqlite:fixture.db\"\n\
         [destinations.out]\nmode = \"local\"\npath = \"out\"\n{sidecars}\n"
    ));
    p.sqlite("CREATE TABLE people (id INTEGER, name TEXT); INSERT INTO people VALUES (1, 'Zoë'), (2, 'O''Brien');");
    p.script(
        "roster",
        "deliver(csv(query(\"live\", \"SELECT id, name FROM people ORDER BY id\"), #{ name: \"roster\" }), \"out\");\n",
    );
    p
}

fn sha256sum_check(dir: &std::path::Path, sidecar: &str) -> String {
    let out = Command::new("sha256sum")
        .arg("-c")
        .arg(sidecar)
        .current_dir(dir)
        .output()
        .expect("sha256sum (coreutils) is installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_json_manifest_and_checksum_arrive_beside_the_file() {
    let p = project("checksum = \"sha256\"\nmanifest = \"json\"");
    let out = p.ferry(&["run", "roster"]);
    let text = out.ok();
    assert!(text.contains("roster.csv"), "{text}");
    let mut files = p.files("out");
    files.sort();
    assert_eq!(files, ["roster.csv", "roster.csv.manifest.json", "roster.csv.sha256"]);
    assert_eq!(sha256sum_check(&p.path("out"), "roster.csv.sha256"), "roster.csv: OK\n");

    let manifest: serde_json::Value = python_json(
        &[
            "-c".as_ref(),
            "import json, sys; print(json.dumps(json.load(open(sys.argv[1], encoding='utf-8'))))".as_ref(),
            p.path("out/roster.csv.manifest.json").as_os_str(),
        ],
        "the manifest is JSON",
    );
    let data = std::fs::read(p.path("out/roster.csv")).unwrap();
    let sha = ferry::format::sha256_file(&p.path("out/roster.csv")).unwrap();
    assert_eq!(manifest["file"], "roster.csv");
    assert_eq!(manifest["bytes"], data.len() as u64);
    assert_eq!(manifest["rows"], 2);
    assert_eq!(manifest["sha256"], sha.as_str());
    let keys: Vec<&str> = manifest.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = vec!["bytes", "created", "file", "rows", "sha256"];
    want.sort_unstable();
    assert_eq!(keys, want, "the documented fields, no more");

    // History shows each sidecar delivered, after its file.
    let hist = p.ferry(&["history", "--run", "1"]);
    let h = hist.ok();
    let at = |n: &str| {
        h.find(&format!("delivered {n} to 'out'"))
            .unwrap_or_else(|| panic!("{n} delivered in {h}"))
    };
    assert!(
        at("roster.csv") < at("roster.csv.sha256") && at("roster.csv.sha256") < at("roster.csv.manifest.json"),
        "{h}"
    );
    for n in ["roster.csv.sha256", "roster.csv.manifest.json"] {
        assert!(
            h.contains(&format!("-> out {}", p.path(&format!("out/{n}")).display())),
            "{h}"
        );
    }
}

#[test]
fn a_resend_sends_the_file_and_its_sidecars_once_each() {
    let p = project("checksum = [\"sha256\", \"md5\"]");
    p.ferry(&["run", "roster"]).ok();
    for f in p.files("out") {
        std::fs::remove_file(p.path(&format!("out/{f}"))).unwrap(); // the vendor lost them
    }
    let again = p.ferry(&["resend", "1"]);
    let text = again.ok();
    for name in ["roster.csv", "roster.csv.sha256", "roster.csv.md5"] {
        assert_eq!(text.matches(&format!("{name} -> out")).count(), 1, "{name}: {text}");
    }
    assert_eq!(sha256sum_check(&p.path("out"), "roster.csv.sha256"), "roster.csv: OK\n");
}

#[test]
fn a_test_extract_names_the_sidecars_and_writes_none() {
    Test::in_project(project("checksum = \"md5\"\nmanifest = \"csv\""))
        .args(&["test-extract", "roster"])
        .stdout_has("would deliver to 'out', then its sidecars roster.csv.md5, roster.csv.manifest.csv")
        .dir("out", &[])
        .run();
}

#[test]
fn an_unknown_checksum_or_manifest_names_the_setting() {
    for (setting, want) in [
        (
            "checksum = \"crc32\"",
            "destinations.out.checksum: checksum \"crc32\" is not valid: \"sha256\" or \"md5\"",
        ),
        (
            "manifest = \"xml\"",
            "destinations.out.manifest: manifest \"xml\" is not valid: \"csv\" or \"json\"",
        ),
    ] {
        Test::in_project(project(setting))
            .args(&["check"])
            .code(2)
            .stderr_has(want)
            .run();
    }
}
