//! The shipped OneRoster 1.1 and 1.2 bundles (and the Clever files) checked
//! by an independent validator: Python `frictionless` (5.18.1, installed by
//! `.ci/run`) validates the files ferry delivered against the same
//! `stdlib/schemas/` data packages ferry's schema guard uses. frictionless
//! missing fails the test. A corrupted copy must fail frictionless too, so a
//! pass means the validator really checked the references.

use std::path::Path;

use super::harness::{python_json, repo};
use super::Project;

#[derive(serde::Deserialize, Debug)]
struct Report {
    version: String,
    valid: bool,
    errors: Vec<String>,
}

const VALIDATE: &str = r#"
import json, sys
try:
    import frictionless
except ImportError as e:
    sys.exit("Python frictionless is not installed (pip install frictionless==5.18.1, as .ci/run does): %s" % e)
report = frictionless.validate(sys.argv[1])
errors = ["%s: %s: %s" % (task.name, e.type, e.message) for task in report.tasks for e in task.errors]
errors += [e.message for e in report.errors]
json.dump({"version": frictionless.__version__, "valid": report.valid, "errors": errors[:20]}, sys.stdout)
"#;

/// Validates `dir/datapackage.json` (a copy of the shipped schema beside
/// the delivered files) with frictionless.
fn frictionless(dir: &Path, schema: &str) -> Report {
    std::fs::copy(
        repo().join(format!("stdlib/schemas/{schema}/datapackage.json")),
        dir.join("datapackage.json"),
    )
    .unwrap();
    let package = dir.join("datapackage.json");
    let report: Report = python_json(
        &["-c".as_ref(), VALIDATE.as_ref(), package.as_os_str()],
        &format!("frictionless could not validate {}", package.display()),
    );
    assert_eq!(report.version, "5.18.1", "the pinned frictionless");
    report
}

/// Unzips with Python's zipfile into `to`.
fn unzip(zip: &Path, to: &Path) {
    let code = "import sys, zipfile, json; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2]); print('[]')";
    let _: Vec<String> = python_json(
        &["-c".as_ref(), code.as_ref(), zip.as_os_str(), to.as_os_str()],
        &format!("python zipfile could not read {}", zip.display()),
    );
}

/// Replaces the class of the first student enrolment in enrollments.csv
/// with one that classes.csv does not have.
fn dangle(dir: &Path, column: &str, value: &str) {
    let path = dir.join("enrollments.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.split("\r\n").map(str::to_string).collect();
    let i = lines[0].split(',').position(|c| c == column).unwrap();
    let mut cells: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    cells[i] = value.to_string();
    lines[1] = cells.join(",");
    std::fs::write(&path, lines.join("\r\n")).unwrap();
}

fn bundle_passes(template: &str, schema: &str) {
    let p = Project::from_repo();
    let out = p.ferry(&["run", &format!("scripts/templates/{template}.rhai")]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let dir = p.path("checked");
    std::fs::create_dir_all(&dir).unwrap();
    unzip(&p.path("out/oneroster.zip"), &dir);
    let report = frictionless(&dir, schema);
    assert!(report.valid, "{template}: {:?}", report.errors);

    dangle(&dir, "classSourcedId", "cls-0");
    let report = frictionless(&dir, schema);
    assert!(!report.valid);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(
        report.errors[0].starts_with("enrollments: foreign-key: ") && report.errors[0].contains("cls-0"),
        "{:?}",
        report.errors
    );
}

#[test]
fn oneroster_1_1_bundle_passes_frictionless() {
    bundle_passes("oneroster", "oneroster-1.1");
}

#[test]
fn oneroster_1_2_bundle_passes_frictionless() {
    bundle_passes("oneroster_1_2", "oneroster-1.2");
}

#[test]
fn clever_files_pass_frictionless() {
    let p = Project::from_repo();
    let out = p.ferry(&["run", "scripts/templates/clever.rhai"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let dir = p.path("out");
    let report = frictionless(&dir, "clever");
    assert!(report.valid, "{:?}", report.errors);
    dangle(&dir, "Section_id", "999999");
    let report = frictionless(&dir, "clever");
    assert!(!report.valid);
    assert!(
        report.errors[0].starts_with("enrollments: foreign-key: "),
        "{:?}",
        report.errors
    );
}
