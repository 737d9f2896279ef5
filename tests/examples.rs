//! The shipped scripts/ and stdlib/ on the embedded default: the README's
//! run command, as a new user gets it.

use crate::harness::{python_csv, Project, Test};

fn count(db: &std::path::Path, sql: &str) -> u64 {
    crate::harness::sqlite_column(db, sql)[0].parse().unwrap()
}

#[test]
fn run_all_on_the_embedded_default_produces_every_example_file() {
    let p = Project::from_repo();
    assert!(!p.path("ferry.toml").exists());
    let out = p.ferry(&["run", "--all"]);
    let text = out.ok();
    assert_eq!(text.matches(": succeeded").count(), 4, "{text}");
    let db = p.path(".ferry/demo.db");
    assert!(db.exists(), "the demo district was created");
    let year: i64 = count(&db, "SELECT end_year FROM school_year WHERE active = 1") as i64;

    let files = p.files("out");
    assert_eq!(files.len(), 4, "{files:?}");

    // Pipe-delimited US-ASCII roster, all values quoted, dated name.
    let roster = files
        .iter()
        .find(|f| f.starts_with("enrollment_roster_") && f.ends_with(".txt"))
        .unwrap();
    let bytes = std::fs::read(p.path(&format!("out/{roster}"))).unwrap();
    assert!(bytes.is_ascii());
    let rows = python_csv(&p.path(&format!("out/{roster}")), '|', "ascii");
    assert_eq!(rows[0][..3], ["person_id", "state_id", "last_name"]);
    assert_eq!(
        rows.len() as u64 - 1,
        count(&db, &format!("SELECT COUNT(*) FROM enrollment WHERE end_year = {year}"))
    );
    assert!(
        rows.iter().skip(1).all(|r| r.len() == 12 && r[7].is_empty()),
        "SSNs are off by default"
    );
    assert!(rows.iter().any(|r| r[2].contains('\'')), "apostrophes survive");

    // Tab-delimited attendance with replaced breaks: every line is one record.
    let att = std::fs::read_to_string(p.path("out/attendance.tab")).unwrap();
    let n = count(&db, "SELECT COUNT(*) FROM attendance");
    assert_eq!(att.lines().count() as u64, n + 1);
    assert!(att.lines().all(|l| l.split('\t').count() == 8 && !l.contains('"')));

    // LMS users through a per-row closure and the stdlib names module.
    let users = python_csv(&p.path("out/lms_users.csv"), ',', "utf-8");
    assert_eq!(users[0], ["user_id", "login", "display_name", "email", "grade"]);
    assert!(
        users
            .iter()
            .skip(1)
            .all(|u| !u[1].is_empty() && u[1].chars().all(|c| c.is_ascii_lowercase())),
        "logins"
    );
    assert!(users.iter().skip(1).all(|u| u[2].contains(", ")), "display names");
    assert_eq!(
        users.len() as u64 - 1,
        count(
            &db,
            &format!("SELECT COUNT(*) FROM enrollment WHERE end_year = {year} AND end_date IS NULL")
        )
    );

    // HTML summary.
    let html = std::fs::read_to_string(p.path("out/school_summary.html")).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("<th scope=\"col\">share</th>"),
        "{html}"
    );
    assert!(!html.contains("school_total"));

    // A second run reuses the demo district and history grows.
    p.ferry(&["run", "--all"]).ok();
    let hist = p.ferry(&["history", "--limit", "100"]);
    assert_eq!(hist.ok().matches("succeeded").count(), 8, "{}", hist.stdout);
}

#[test]
fn every_example_checks_and_test_extracts() {
    let mut ran = Test::in_project(Project::from_repo()).args(&["check"]).run();
    for script in ["enrollment_roster", "attendance", "lms_users", "school_summary"] {
        ran = ran
            .then()
            .args(&["test-extract", script])
            .stdout_has("would deliver to 'out'")
            .dir("out", &[])
            .run();
    }
}

/// The README's headline script, as written there: an off `include_ssn`
/// leaves no `ssn` column, an on one adds it.
#[test]
fn the_readme_headline_example_runs_and_include_ssn_decides_the_column() {
    let p = Project::from_repo();
    let readme = std::fs::read_to_string(crate::harness::repo().join("README.md")).unwrap();
    let start = readme.find("```rhai\n").unwrap() + "```rhai\n".len();
    let script = &readme[start..start + readme[start..].find("```").unwrap()];
    std::fs::write(p.path("scripts/headline.rhai"), script).unwrap();
    let header = |p: &Project| {
        let f = p.files("out").into_iter().find(|f| f.starts_with("roster_")).unwrap();
        let rows = python_csv(&p.path(&format!("out/{f}")), '|', "ascii");
        std::fs::remove_file(p.path(&format!("out/{f}"))).unwrap();
        rows[0].clone()
    };
    p.ferry(&["run", "headline"]).ok();
    assert_eq!(header(&p), ["person_id", "last_name", "first_name", "grade"]);
    p.ferry(&["run", "headline", "--param", "include_ssn=true"]).ok();
    assert_eq!(header(&p), ["person_id", "last_name", "first_name", "grade", "ssn"]);
}
