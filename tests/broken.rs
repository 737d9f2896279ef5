//! The exact messages for broken scripts, as snapshots: one per file in
//! tests/fixtures/broken/. `ferry check NAME` reports the script (a file
//! named `run_*.rhai` breaks only when it runs: `ferry run NAME`), and the
//! snapshot holds its exit code, stdout and stderr with the project's
//! temporary folder written `[PROJECT]`. A changed message fails the test
//! until it is reviewed (see tests/fixtures/broken/README.md).

use crate::harness::{copy_dir, repo, Project};

/// The project every fixture is checked in: two people in `live`, an `out`
/// destination, and the shipped stdlib (for its schemas).
fn project() -> Project {
    let p = Project::new();
    p.sqlite("CREATE TABLE people (id INTEGER, name TEXT); INSERT INTO people VALUES (1, 'Ann'), (2, 'Zoë');");
    copy_dir(&repo().join("stdlib"), &p.path("stdlib"));
    p
}

#[test]
fn broken_scripts_get_these_exact_messages() {
    insta::glob!("fixtures/broken/*.rhai", |fixture| {
        let p = project();
        let name = fixture.file_stem().unwrap().to_str().unwrap();
        std::fs::copy(fixture, p.path(&format!("scripts/{name}.rhai"))).unwrap();
        let command = if name.starts_with("run_") { "run" } else { "check" };
        let out = p.ferry(&[command, name]);
        let shown = format!(
            "$ ferry {command} {name}\nexit code {}\n--- stdout ---\n{}--- stderr ---\n{}",
            out.code, out.stdout, out.stderr
        );
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("fixtures/broken/snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        let dir = p.dir.path().display().to_string();
        settings.add_filter(&regex::escape(&dir), "[PROJECT]");
        settings.bind(|| insta::assert_snapshot!(shown));
        // Nothing a broken script did reached the destination.
        assert_eq!(p.files("out"), Vec::<String>::new(), "{name}");
    });
}
