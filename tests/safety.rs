//! Roster safety end to end through the `ferry` binary: guards hold a file
//! instead of sending it, the group hears about it, and `release`, `discard`,
//! a newer run and `resend` each do exactly what they say, checked on the
//! destination folder.

use sha2::{Digest, Sha256};

use crate::harness::Project;

/// A roster script with header guards over `students`; the group
/// `registrars` (user ann) is told about held runs.
fn project(guards: &str) -> Project {
    let p = Project::new();
    p.sqlite("CREATE TABLE students (id INTEGER, name TEXT, grade INTEGER);");
    p.script(
        "roster",
        &format!(
            r#"//! notify = "registrars"
//! [guards]
{guards}
let f = csv(query("live", "SELECT id, name, grade FROM students ORDER BY rowid"), #{{ name: "roster", append_date: "yyyymmdd" }});
deliver(f, "out");
"#
        ),
    );
    p.ferry(&["users", "add", "ann"]).ok();
    p.ferry(&["groups", "add", "registrars"]).ok();
    p.ferry(&["groups", "add-member", "registrars", "ann"]).ok();
    p
}

/// Replaces the students table with ids `1..=n` (names from `name`).
fn students(p: &Project, n: u32, name: impl Fn(u32) -> String) {
    let values: Vec<String> = (1..=n)
        .map(|i| format!("({i}, '{}', {})", name(i).replace('\'', "''"), 9 + i % 4))
        .collect();
    let mut sql = "DELETE FROM students;".to_string();
    if !values.is_empty() {
        sql.push_str(&format!("INSERT INTO students VALUES {};", values.join(",")));
    }
    p.sqlite(&sql);
}

fn delivered(p: &Project) -> Vec<String> {
    p.files("out")
}

fn sha(path: &std::path::Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

fn kept_file(p: &Project, run: u32) -> std::path::PathBuf {
    let dir = p.path(&format!(".ferry/work/run-{run}"));
    let name = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .expect("a kept file")
        .unwrap()
        .file_name();
    dir.join(name)
}

const ALL: &str = r#"//! min_rows = 10
//! max_change = 10
//! expect_header = ["id", "name", "grade"]
//! required = ["name"]
//! unique = ["id"]"#;

#[test]
fn a_first_run_applies_the_guards_it_can_and_says_max_change_had_no_baseline() {
    let p = project(ALL);
    students(&p, 20, |i| format!("Student {i}"));
    let out = p.ferry(&["run", "roster"]);
    assert!(out.ok().contains("succeeded"), "{}", out.stdout);
    assert_eq!(delivered(&p).len(), 1);
    let hist = p.ferry(&["history", "--run", "1"]);
    let text = hist.ok();
    assert!(text.contains("max_change 10% had no baseline"), "{text}");
    assert!(text.contains("passed its guards"), "{text}");
    assert!(text.contains("header id,name,grade"), "{text}");
}

#[test]
fn each_guard_holds_a_bad_file_and_nothing_reaches_the_destination() {
    type Names = Box<dyn Fn(u32) -> String>;
    let cases: [(&str, u32, Names, &str); 4] = [
        (
            "//! min_rows = 10",
            4,
            Box::new(|i| format!("S{i}")),
            "4 rows, fewer than min_rows 10",
        ),
        (
            "//! required = [\"name\"]",
            12,
            Box::new(|i| if i == 7 { String::new() } else { format!("S{i}") }),
            "required column 'name' is empty in 1 row(s), first at data row 7",
        ),
        (
            "//! expect_header = [\"id\", \"name\"]",
            12,
            Box::new(|i| format!("S{i}")),
            "header is [id, name, grade], expect_header is [id, name]",
        ),
        (
            "//! unique = [\"name\"]",
            12,
            Box::new(|i| format!("S{}", i % 11)),
            "unique column 'name' repeats 1 time(s): 'S1' at data rows 1 and 12",
        ),
    ];
    for (guard, n, name, why) in cases {
        let p = project(guard);
        students(&p, n, name);
        let out = p.ferry(&["run", "roster"]);
        assert_eq!(out.code, 1, "{guard}: {out:?}");
        assert!(
            out.stdout.contains("HELD") && out.stdout.contains(why),
            "{guard}: {}",
            out.stdout
        );
        assert!(out.stdout.contains("ferry release 1"), "{}", out.stdout);
        assert_eq!(delivered(&p), Vec::<String>::new(), "{guard}: nothing sent");
        let held = p.ferry(&["held", "--wide"]);
        assert!(held.ok().contains(why), "{guard}: {}", held.stdout);
        let note = p.ferry(&["notifications", "--wide", "--user", "ann"]);
        assert!(
            note.ok().contains("run 1 held, not sent") || note.stdout.contains("held, not sent"),
            "{}",
            note.stdout
        );
    }
}

#[test]
fn max_change_compares_with_the_last_delivered_run_even_under_a_dated_name() {
    let p = project("//! max_change = 10");
    students(&p, 100, |i| format!("S{i}"));
    p.ferry(&["run", "roster"]).ok();
    students(&p, 22, |i| format!("S{i}"));
    let out = p.ferry(&["run", "roster"]);
    assert!(
        out.stdout
            .contains("22 rows, last delivered 100: -78% exceeds max_change 10%"),
        "{}",
        out.stdout
    );
    students(&p, 105, |i| format!("S{i}"));
    let out = p.ferry(&["run", "roster"]);
    assert!(out.ok().contains("succeeded"), "{}", out.stdout);
    // The held run 2 was superseded by run 3, and says so.
    let hist = p.ferry(&["history", "--run", "3"]);
    assert!(hist.ok().contains("supersedes held run 2"), "{}", hist.stdout);
    let two = p.ferry(&["history", "--run", "2"]);
    assert!(two.ok().contains("status       superseded"), "{}", two.stdout);
    assert_eq!(p.ferry(&["held", "--wide"]).ok().trim(), "No held runs.");
    let release = p.ferry(&["release", "2"]);
    assert!(
        release.stderr.contains("it is superseded, not held"),
        "{}",
        release.stderr
    );
}

#[test]
fn release_sends_the_identical_bytes_and_records_who() {
    let p = project("//! min_rows = 10");
    students(&p, 3, |i| format!("Zoë {i}, O'Brien"));
    p.ferry(&["run", "roster"]);
    let kept = kept_file(&p, 1);
    let built = sha(&kept);
    let out = p.ferry(&["release", "1", "--by", "ann"]);
    assert!(out.ok().contains("released run 1 (by ann)"), "{}", out.stdout);
    let names = delivered(&p);
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(
        sha(&p.path("out").join(&names[0])),
        built,
        "the released file is the held one, byte for byte"
    );
    let hist = p.ferry(&["history", "--run", "1"]);
    let text = hist.ok();
    assert!(
        text.contains("status       released") && text.contains("released by  ann"),
        "{text}"
    );
    let hist = p.ferry(&["history", "--run", "2"]);
    assert!(
        hist.ok().contains("trigger      release") && hist.stdout.contains("release of   run 1"),
        "{}",
        hist.stdout
    );
    assert!(p.ferry(&["release", "1"]).stderr.contains("it is released, not held"));
}

#[test]
fn discard_sends_nothing_and_removes_the_kept_file() {
    let p = project("//! min_rows = 10");
    students(&p, 3, |i| format!("S{i}"));
    p.ferry(&["run", "roster"]);
    assert!(kept_file(&p, 1).exists());
    let out = p.ferry(&["discard", "1", "--by", "ann"]);
    assert!(out.ok().contains("discarded (by ann)"), "{}", out.stdout);
    assert_eq!(delivered(&p), Vec::<String>::new());
    assert!(!p.path(".ferry/work/run-1").exists());
    let hist = p.ferry(&["history", "--run", "1"]);
    assert!(
        hist.ok().contains("status       discarded") && hist.stdout.contains("discarded by ann"),
        "{}",
        hist.stdout
    );
    let resend = p.ferry(&["resend", "1"]);
    assert!(
        resend.stderr.contains("its files were discarded by ann"),
        "{}",
        resend.stderr
    );
}

#[test]
fn file_guards_from_the_script_add_to_the_header() {
    let p = project("//! min_rows = 1");
    students(&p, 5, |i| format!("S{}", i % 2));
    p.script(
        "roster",
        r#"let f = csv(query("live", "SELECT id, name FROM students"), #{ name: "roster" });
deliver(f.guard(#{ unique: ["name"] }), "out");
"#,
    );
    let out = p.ferry(&["run", "roster"]);
    assert!(out.stdout.contains("unique column 'name' repeats"), "{}", out.stdout);
    assert_eq!(delivered(&p), Vec::<String>::new());
    p.script("bad", "let f = csv(query(\"live\", \"SELECT id FROM students\"), #{ name: \"b\" });\nf.guard(#{ min_rows: \"ten\" });\n");
    let out = p.ferry(&["run", "bad"]);
    assert!(
        out.stdout.contains("bad.rhai:2") && out.stdout.contains("guard()"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_bad_guards_table_is_a_located_load_error() {
    let p = project("//! max_change = -5");
    let out = p.ferry(&["check"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout.contains("roster.rhai:2") && out.stdout.contains("max_change -5"),
        "{}",
        out.stdout
    );
    let p = project("//! min_rowz = 5");
    let out = p.ferry(&["check"]);
    assert!(out.stdout.contains("unknown field `min_rowz`"), "{}", out.stdout);
}

/// The registrar's night: 2,000 rows delivered, 1,500 held and released,
/// and the next night's 1,500 compared with the released file, which is
/// what the vendor has; a rebound to 2,000 is then compared with it too.
#[test]
fn a_released_file_is_the_baseline_for_the_next_run() {
    let p = project("//! max_change = 10");
    students(&p, 2000, |i| format!("S{i}"));
    p.ferry(&["run", "roster"]).ok();
    students(&p, 1500, |i| format!("S{i}"));
    let held = p.ferry(&["run", "roster"]);
    assert!(
        held.stdout
            .contains("1,500 rows, last delivered 2,000: -25% exceeds max_change 10%"),
        "{}",
        held.stdout
    );
    // No --by, and no USER or LOGNAME (as under systemd): the process's user decides.
    let me = std::process::Command::new("id").arg("-un").output().unwrap();
    let me = String::from_utf8(me.stdout).unwrap().trim().to_string();
    let released = p.ferry(&["release", "2"]);
    assert!(released.ok().contains(&format!("(by {me})")), "{}", released.stdout);
    let release_run = p.ferry(&["history", "--run", "3"]);
    assert!(
        release_run.ok().contains("header id,name,grade"),
        "the released delivery records its header as a normal run does: {}",
        release_run.stdout
    );
    let next = p.ferry(&["run", "roster"]);
    assert!(next.ok().contains("succeeded"), "{}", next.stdout);
    let hist = p.ferry(&["history", "--run", "4"]);
    assert!(hist.ok().contains("passed its guards"), "{}", hist.stdout);
    students(&p, 2000, |i| format!("S{i}"));
    let rebound = p.ferry(&["run", "roster"]);
    assert!(
        rebound
            .stdout
            .contains("2,000 rows, last delivered 1,500: +33% exceeds max_change 10%"),
        "{}",
        rebound.stdout
    );
    // A drop to almost nothing is not shown as all of it.
    students(&p, 7, |i| format!("S{i}"));
    let drop = p.ferry(&["run", "roster"]);
    assert!(
        drop.stdout
            .contains("7 rows, last delivered 1,500: -99.5% exceeds max_change 10%"),
        "{}",
        drop.stdout
    );
}

/// A photo zip a guard holds is kept (it is otherwise removed when the run
/// ends), released whole, and removed once released.
#[test]
fn a_held_photo_zip_is_kept_until_released_whole() {
    let p = project("//! min_rows = 100");
    let mut sql = String::from("CREATE TABLE enrollment (person_id INTEGER, school_id INTEGER, end_year INTEGER);");
    for id in 1..=3 {
        sql.push_str(&format!("INSERT INTO enrollment VALUES ({id}, 1, 2027);"));
    }
    p.sqlite(&sql);
    std::fs::create_dir(p.path("photos")).unwrap();
    for id in 1..=3 {
        std::fs::write(p.path(&format!("photos/{id}.jpg")), format!("\u{ff}\u{d8} photo {id}")).unwrap();
    }
    p.script(
        "photos",
        "//! notify = \"registrars\"\n//! [guards]\n//! min_rows = 100\ndeliver(photos(#{ name: \"pics\" }), \"out\");\n",
    );
    let out = p.ferry(&["run", "photos"]);
    assert!(out.stdout.contains("HELD"), "{}", out.stdout);
    let kept = p.path(".ferry/work/run-1/pics.zip");
    assert!(kept.exists(), "a held photo zip is kept");
    let note = p.ferry(&["notifications", "--wide", "--user", "ann"]);
    assert!(note.ok().contains("ferry release 1"), "{}", note.stdout);
    assert!(note.stdout.contains("warn"), "a held run is a warning: {}", note.stdout);

    // A newer held run supersedes it: the older zip goes, the newer stays.
    p.ferry(&["run", "photos"]);
    assert!(!kept.exists(), "a superseded photo zip does not linger");
    let newer = p.path(".ferry/work/run-2/pics.zip");
    let held_sha = sha(&newer);

    let released = p.ferry(&["release", "2", "--by", "ann"]);
    assert!(released.ok().contains("released run 2 (by ann)"), "{}", released.stdout);
    assert_eq!(sha(&p.path("out/pics.zip")), held_sha, "the held zip, whole");
    assert!(!newer.exists(), "the released photo zip does not linger");
}

#[test]
fn a_release_with_nothing_kept_says_release_and_why() {
    let p = project("//! min_rows = 10");
    students(&p, 3, |i| format!("S{i}"));
    p.ferry(&["run", "roster"]);
    std::fs::remove_dir_all(p.path(".ferry/work/run-1")).unwrap();
    let out = p.ferry(&["release", "1"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("run 1 cannot be released: its kept file")
            && out.stderr.contains("cannot be read: No such file"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_filter_whose_owner_is_not_a_user_says_how_to_fix_it() {
    let p = project("");
    std::fs::create_dir_all(p.path("filters")).unwrap();
    std::fs::copy(
        crate::harness::repo().join("filters/model.toml"),
        p.path("filters/model.toml"),
    )
    .unwrap();
    std::fs::write(
        p.path("filters/ghosts.toml"),
        "owner = \"ghost\"\nfields = [\"student.lastName\"]\n",
    )
    .unwrap();
    let out = p.ferry(&["filters", "test", "ghosts"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("its owner 'ghost' is not a ferry user: add them (ferry users add ghost --right adhoc) or change the filter's owner in")
            && out.stderr.contains("ghosts.toml"),
        "{}",
        out.stderr
    );
}
