//! `zip()` and `photos()`: the zips are opened with Python's `zipfile` (an
//! independent reader) and every entry is compared with its source file.

use std::path::Path;

use ferry::state::Trigger;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::harness::{repo, sqlite_column, Project};

/// What Python's zipfile sees in a zip (see tests/read_zip.py).
fn python_zip(path: &Path) -> Vec<Value> {
    let v: Value = crate::harness::python_json(
        &[repo().join("tests/read_zip.py").as_os_str(), path.as_os_str()],
        &format!("python zipfile could not read {}", path.display()),
    );
    assert_eq!(v["bad"], Value::Null, "an entry fails its CRC check");
    v["entries"].as_array().unwrap().clone()
}

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

fn names(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

/// A project with a `people` table and a second local destination, `raw`,
/// that receives the bundled files themselves for comparison.
fn project() -> Project {
    let p = Project::new();
    p.config(
        r#"timezone = "America/Chicago"
active_year = 2027
[databases.live]
url = "sqlite:fixture.db"
[destinations.out]
mode = "local"
path = "out"
[destinations.raw]
mode = "local"
path = "raw"
"#,
    );
    let mut sql = String::from("CREATE TABLE people (id INTEGER, name TEXT, note TEXT);");
    for i in 1..=500 {
        sql.push_str(&format!(
            "INSERT INTO people VALUES ({i}, 'Zoë O''Brien {i}', 'a, \"b\"');"
        ));
    }
    p.sqlite(&sql);
    p
}

const BUNDLE: &str = r#"
let rows = query("live", "SELECT id, name, note FROM people ORDER BY id");
let a = csv(rows, #{ name: "roster" });
let b = html(rows, #{ name: "Zoë summary" });
let c = csv(rows, #{ name: "roster", ext: "tab", delimiter: "tab" });
for f in [a, b, c] { deliver(f, "raw"); }
let z = zip([c, a, b], #{ name: "bundle_", append_date: "yyyymmddhhmmssSS", level: 9 });
if z.rows != 1500 { throw `rows: ${z.rows}`; }
deliver(z, "out");
"#;

/// The zip's stamp (the run's start, local time) as zip's even-second time.
fn stamp_time(zip_name: &str) -> Vec<u64> {
    let s = &zip_name["bundle_".len().."bundle_".len() + 14];
    let n = |r: std::ops::Range<usize>| s[r].parse::<u64>().unwrap();
    vec![n(0..4), n(4..6), n(6..8), n(8..10), n(10..12), n(12..14) & !1]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_holds_each_file_byte_for_byte_in_the_order_given() {
    let p = project();
    p.settings_head("keep_delivered = false");
    p.script("bundle", BUNDLE);
    let report = p.run("bundle", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    let out = p.files("out");
    assert_eq!(out.len(), 1, "{out:?}");
    let zip = p.path(&format!("out/{}", out[0]));
    let entries = python_zip(&zip);
    assert_eq!(names(&entries), ["roster.tab", "roster.csv", "Zoë summary.html"]);
    let time = stamp_time(&out[0]);
    for e in &entries {
        let name = e["name"].as_str().unwrap();
        assert_eq!(
            e["sha256"].as_str().unwrap(),
            sha256(&p.path(&format!("raw/{name}"))),
            "{name}"
        );
        assert_eq!(e["compress_type"], 8, "deflated");
        assert_eq!(e["mode"].as_u64().unwrap() & 0o777, 0o644);
        let t: Vec<u64> = e["date_time"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(t, time, "{name}: every entry carries the run's start");
    }
    // The record: rows summed, the zip's hash, nothing kept (the bundled
    // files count as delivered with the zip).
    let z = report.files.iter().find(|f| f.name == out[0]).unwrap();
    assert_eq!((z.rows, z.columns.len()), (1500, 0));
    assert_eq!(z.sha256, sha256(&zip));
    assert_eq!(z.parts, ["roster.tab", "roster.csv", "Zoë summary.html"]);
    assert!(report.kept.is_none());
    assert!(p.all_files(".ferry/work").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn two_runs_give_the_same_bytes_apart_from_the_time() {
    let p = project();
    p.script("bundle", BUNDLE);
    let mut seen = Vec::new();
    for _ in 0..2 {
        assert!(p.run("bundle", Trigger::Manual, &[]).await.succeeded());
        let zips: Vec<String> = p.files("out").into_iter().filter(|n| !seen.contains(n)).collect();
        assert_eq!(zips.len(), 1, "a new dated zip per run: {zips:?}");
        seen.push(zips[0].clone());
    }
    let strip = |name: &str| -> Vec<Value> {
        python_zip(&p.path(&format!("out/{name}")))
            .into_iter()
            .map(|mut e| {
                e.as_object_mut().unwrap().remove("date_time");
                e
            })
            .collect()
    };
    assert_eq!(
        strip(&seen[0]),
        strip(&seen[1]),
        "same order, sizes, CRCs, modes and stored bytes"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn level_zero_stores_and_bad_lists_are_refused() {
    let p = project();
    p.script(
        "stored",
        r#"let a = csv(query("live", "SELECT id FROM people"), #{ name: "ids" });
deliver(zip([a], #{ level: 0 }), "out");"#,
    );
    let report = p.run("stored", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    assert_eq!(p.files("out"), ["stored.zip"]);
    let entries = python_zip(&p.path("out/stored.zip"));
    assert_eq!(
        (names(&entries), entries[0]["compress_type"].as_u64()),
        (vec!["ids.csv".to_string()], Some(0))
    );

    let cases = [
        ("let a = csv(query(\"live\", \"SELECT id FROM people\"));\nzip([a, a]);", "two files are both named \"dup.csv\""),
        ("zip([\"roster.csv\"]);", "item 1 of the list is string, not a file"),
        ("zip([]);", "a zip needs at least one file"),
        ("let a = csv(query(\"live\", \"SELECT id FROM people\"));\nzip([a], #{ level: 12 });", "option level: expected a whole number from 0 (store) to 9"),
        ("let a = csv(query(\"live\", \"SELECT id FROM people\"), #{ name: \"x\", ext: \"zip\" });\nzip([a], #{ name: \"x\" });", "this run already wrote a file named x.zip"),
    ];
    for (source, want) in cases {
        p.script("dup", source);
        let report = p.run("dup", Trigger::Manual, &[]).await;
        let e = report.error.unwrap_or_default();
        assert!(e.contains(want) && e.contains("dup.rhai:"), "{source}: {e}");
    }
    p.script("typo", "zip([], #{ nmae: \"x\" });");
    let out = p.ferry(&["check"]);
    assert!(
        out.stdout
            .contains("typo.rhai:1: zip(): unknown option 'nmae' (options: name, ext, append_date, level)"),
        "{out:?}"
    );
}

/// Students 1..=10 enrolled in 2027 (3 twice, at two schools), 11 and 12 in
/// 2026 only; photos for 1, 2 (.JPG), 3 (.jpeg), 5, 6 (.jpg and .jpeg), 10,
/// 11 (a past student) and a stray file.
fn photo_project() -> Project {
    let p = project();
    let mut sql = String::from("CREATE TABLE enrollment (person_id INTEGER, school_id INTEGER, end_year INTEGER);");
    for id in 1..=10 {
        sql.push_str(&format!("INSERT INTO enrollment VALUES ({id}, 1, 2027);"));
    }
    sql.push_str("INSERT INTO enrollment VALUES (3, 2, 2027), (11, 1, 2026), (12, 1, 2026), (1, 1, 2026);");
    p.sqlite(&sql);
    let dir = p.path("photos");
    std::fs::create_dir(&dir).unwrap();
    for (name, bytes) in [
        ("1.jpg", b"\xff\xd8 one".as_slice()),
        ("2.JPG", b"\xff\xd8 two"),
        ("3.jpeg", b"\xff\xd8 three"),
        ("5.jpg", b"\xff\xd8 five"),
        ("6.jpg", b"\xff\xd8 six"),
        ("6.jpeg", b"\xff\xd8 six, older"),
        ("10.jpg", b"\xff\xd8 ten"),
        ("11.jpg", b"\xff\xd8 eleven, left"),
        ("notes.txt", b"not a photo"),
    ] {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    p
}

fn warnings(report: &ferry::run::RunReport) -> Vec<String> {
    report
        .log
        .iter()
        .filter(|l| l.level == "warn")
        .map(|l| l.message.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_photo_zip_holds_the_active_students_photos_and_is_not_kept() {
    let p = photo_project();
    p.script("student_photos", "deliver(photos(), \"out\");");
    let report = p.run("student_photos", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    assert_eq!(p.files("out"), ["student_photos.zip"]);
    let entries = python_zip(&p.path("out/student_photos.zip"));
    assert_eq!(names(&entries), ["1.jpg", "2.jpg", "3.jpg", "5.jpg", "6.jpg", "10.jpg"]);
    for (e, source) in entries
        .iter()
        .zip(["1.jpg", "2.JPG", "3.jpeg", "5.jpg", "6.jpg", "10.jpg"])
    {
        assert_eq!(
            e["sha256"].as_str().unwrap(),
            sha256(&p.path(&format!("photos/{source}")))
        );
    }
    let warned = warnings(&report);
    assert_eq!(warned.len(), 2, "{warned:?}");
    assert!(
        warned[0].contains("1 students have more than one photo") && warned[0].ends_with(": 6"),
        "{warned:?}"
    );
    assert!(
        warned[1].starts_with("photos(): 4 of 10 students enrolled in 2027 have no photo in ")
            && warned[1].ends_with(": 4, 7, 8, 9"),
        "{warned:?}"
    );
    assert_eq!(report.files[0].rows, 6);
    assert!(report.kept.is_none());
    assert!(p.all_files(".ferry/work").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_failure_the_photo_zip_is_removed_and_other_files_kept() {
    let p = photo_project();
    // A destination folder that is a file: delivery fails.
    std::fs::write(p.path("blocked"), b"").unwrap();
    let mut config = std::fs::read_to_string(p.path("ferry.toml")).unwrap();
    config.push_str("[destinations.broken]\nmode = \"local\"\npath = \"blocked/in\"\n");
    p.config(&config);
    p.script(
        "failing",
        r#"let roster = csv(query("live", "SELECT id FROM people"), #{ name: "roster" });
let z = photos(#{ dir: "photos", name: "pics", append_date: "yyyymmdd", level: 0 });
deliver(z, "broken");"#,
    );
    let report = p.run("failing", Trigger::Manual, &[]).await;
    assert!(!report.succeeded());
    let work = p.all_files(".ferry/work");
    assert_eq!(work.len(), 1, "only the roster is kept: {work:?}");
    assert!(work[0].ends_with("roster.csv"), "{work:?}");
    assert!(p.files("out").is_empty());

    // A failure before delivery removes it too; nothing else to keep, no folder.
    p.script("thrown", "let z = photos(); throw \"stop here\";");
    let report = p.run("thrown", Trigger::Manual, &[]).await;
    assert!(report.error.unwrap().contains("stop here"));
    assert!(report.kept.is_none());
    assert_eq!(p.all_files(".ferry/work"), work, "nothing new under the work folder");
}

#[tokio::test(flavor = "multi_thread")]
async fn photo_options_are_checked() {
    let p = photo_project();
    p.script("a", "photos(#{ folder: \"photos\" });");
    let out = p.ferry(&["check"]);
    assert!(
        out.stdout.contains("a.rhai:1: photos(): unknown option 'folder'"),
        "{out:?}"
    );
    p.script("a", "photos(#{ db: \"sis\" });");
    let out = p.ferry(&["check"]);
    assert!(
        out.stdout.contains("a.rhai:1: photos(): unknown database 'sis'"),
        "{out:?}"
    );
    p.script("a", "photos(#{ dir: \"nowhere\" });");
    let e = p.run("a", Trigger::Manual, &[]).await.error.unwrap();
    assert!(
        e.contains("photos(): cannot read the photo folder") && e.contains("nowhere"),
        "{e}"
    );
    p.sqlite("DELETE FROM enrollment WHERE end_year = 2027;");
    p.script("a", "photos();");
    let e = p.run("a", Trigger::Manual, &[]).await.error.unwrap();
    assert!(
        e.contains("no student is enrolled in the active school year 2027"),
        "{e}"
    );
}

#[test]
fn the_demo_district_has_photos_for_most_active_students() {
    let p = Project::from_repo();
    std::fs::remove_dir_all(p.path("scripts")).unwrap();
    std::fs::create_dir(p.path("scripts")).unwrap();
    std::fs::write(
        p.path("scripts/photos.rhai"),
        "deliver(photos(#{ append_date: \"yyyymmdd\" }), \"out\");\n",
    )
    .unwrap();
    let out = p.ferry(&["run", "photos"]);
    out.ok();
    let db = p.path(".ferry/demo.db");
    let year = &sqlite_column(&db, "SELECT end_year FROM school_year WHERE active = 1")[0];
    // sqlite_column reads one value: the ids come as one comma-separated list.
    let list = &sqlite_column(
        &db,
        &format!(
            "SELECT group_concat(person_id) FROM (SELECT DISTINCT person_id FROM enrollment WHERE end_year = {year})"
        ),
    )[0];
    let mut active: Vec<u64> = list.split(',').map(|s| s.parse().unwrap()).collect();
    active.sort_unstable();
    let all_photos = p.files(".ferry/photos");
    let students = sqlite_column(&db, "SELECT COUNT(*) FROM student")[0]
        .parse::<usize>()
        .unwrap();
    assert!(
        all_photos.len() > students * 8 / 10 && all_photos.len() < students,
        "{}",
        all_photos.len()
    );
    let expected: Vec<String> = active
        .iter()
        .map(|id| format!("{id}.jpg"))
        .filter(|n| all_photos.contains(n))
        .collect();
    assert!(expected.len() < active.len(), "some active students have no photo");
    let zips = p.files("out");
    assert_eq!(zips.len(), 1);
    let entries = python_zip(&p.path(&format!("out/{}", zips[0])));
    assert_eq!(names(&entries), expected);
    for e in entries.iter().take(50) {
        let name = e["name"].as_str().unwrap();
        assert_eq!(
            e["sha256"].as_str().unwrap(),
            sha256(&p.path(&format!(".ferry/photos/{name}")))
        );
    }
    assert!(
        out.stdout.contains("photos.zip") || zips[0].starts_with("photos"),
        "{}",
        out.stdout
    );
    assert!(p.all_files(".ferry/work").is_empty(), "no zip left behind");
    let hist = p.ferry(&["history", "--run", "1"]);
    let missing = active.len() - expected.len();
    assert!(
        hist.ok().contains(&format!(
            "{missing} of {} students enrolled in {year} have no photo",
            active.len()
        )),
        "{}",
        hist.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn include_bundles_other_scripts_files_without_delivering_them() {
    let p = Project::new();
    p.settings_head("keep_delivered = false");
    p.sqlite("CREATE TABLE t (id INTEGER); INSERT INTO t VALUES (1), (2);");
    p.script(
        "a",
        "deliver(csv(query(\"live\", \"SELECT id FROM t\"), #{ name: \"a\" }), \"out\");\n",
    );
    p.script(
        "b",
        "deliver(csv(query(\"live\", \"SELECT id * 10 AS ten FROM t\"), #{ name: \"b\" }), \"out\");\n",
    );
    p.script(
        "bundle",
        "//! include = [\"a\", \"b\"]\nlet files = included();\nif files.len() != 2 { throw \"two files\"; }\ndeliver(zip(files, #{ name: \"bundle\" }), \"out\");\n",
    );
    let r = p.run("bundle", ferry::state::Trigger::Manual, &[]).await;
    assert!(r.succeeded(), "{:?}", r.error);
    assert_eq!(
        p.files("out"),
        ["bundle.zip"],
        "the included scripts' files went only into the bundle"
    );
    let entries = python_zip(&p.path("out/bundle.zip"));
    assert_eq!(names(&entries), ["a.csv", "b.csv"]);
    assert!(
        p.all_files(".ferry/work").is_empty(),
        "{:?}",
        p.all_files(".ferry/work")
    );

    p.script("bad", "//! include = [\"nope\"]\nlet x = 1;\n");
    let e = ferry::script::Script::load(&p.path("scripts/bad.rhai"), &p.settings())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad.rhai:1: header: include: 'nope' is not another script"),
        "{e}"
    );
}

/// `gzip(file)`: one gzip member named after the file, read back by the
/// `gzip` program and Python's gzip module to the file's exact bytes; the
/// original counts as delivered inside it.
#[tokio::test(flavor = "multi_thread")]
async fn gzip_compresses_a_file_that_gzip_and_python_read_back_byte_for_byte() {
    let p = project();
    p.script(
        "gz",
        r#"let rows = query("live", "SELECT id, name, note FROM people ORDER BY id");
let f = csv(rows, #{ name: "roster" });
deliver(f, "raw");
let g = gzip(f, #{ level: 9 });
if g.rows != 500 || g.name != "roster.csv.gz" { throw `${g.name}: ${g.rows}`; }
deliver(g, "out");
"#,
    );
    let r = p.run("gz", Trigger::Manual, &[]).await;
    assert!(r.succeeded(), "{:?}", r.error);
    let gz = p.path("out/roster.csv.gz");
    let t = std::process::Command::new("gzip")
        .arg("-t")
        .arg(&gz)
        .output()
        .expect("gzip is installed");
    assert!(t.status.success(), "gzip -t: {}", String::from_utf8_lossy(&t.stderr));
    let read = std::process::Command::new("python3")
        .args([
            "-c",
            "import gzip, sys\nwith gzip.open(sys.argv[1], 'rb') as f: sys.stdout.buffer.write(f.read())",
        ])
        .arg(&gz)
        .output()
        .expect("python3 is installed");
    assert!(read.status.success(), "{}", String::from_utf8_lossy(&read.stderr));
    assert_eq!(read.stdout, std::fs::read(p.path("raw/roster.csv")).unwrap());
    // The member's header names the original (gzip -l -N shows it).
    let listed = std::process::Command::new("gzip")
        .args(["-l", "-N"])
        .arg(&gz)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("roster.csv"),
        "{listed:?}"
    );
    let hist = sqlite_column(
        &p.path(".ferry/state.db"),
        "SELECT sha256 FROM run_files WHERE name = 'roster.csv.gz'",
    );
    assert_eq!(hist, [sha256(&gz)]);

    // A level out of range and an unknown option are located.
    p.script(
        "bad",
        "let f = csv(query(\"live\", \"SELECT 1 AS x\"));\ngzip(f, #{ level: 12 });\n",
    );
    let e = p.run("bad", Trigger::Manual, &[]).await.error.unwrap();
    assert!(
        e.contains("bad.rhai:2:") && e.contains("gzip(): option level: expected a whole number from 1"),
        "{e}"
    );
    p.script(
        "opt",
        "let f = csv(query(\"live\", \"SELECT 1 AS x\"));\ngzip(f, #{ levl: 1 });\n",
    );
    let settings = p.settings();
    let e = ferry::script::Script::load(&p.path("scripts/opt.rhai"), &settings)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("opt.rhai:2: gzip(): unknown option 'levl' (options: level)"),
        "{e}"
    );
}
