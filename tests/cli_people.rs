//! The command line for people: tables that fit the terminal, `--json` with
//! every column, times with their zone, zip members in their zip,
//! completions and manual pages, and exit codes 1, 2 and 3 from real
//! situations. Runs the built `ferry` program.

use std::process::Command;

use serde_json::Value;

use crate::harness::{Output, Project, Test};

/// Runs ferry in the project with `COLUMNS` set (or removed).
fn ferry(p: &Project, columns: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    cmd.args(args)
        .current_dir(p.dir.path())
        .env_remove("FERRY_CONFIG")
        .env_remove("RUST_LOG");
    match columns {
        Some(c) => cmd.env("COLUMNS", c),
        None => cmd.env_remove("COLUMNS"),
    };
    let out = cmd.output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

fn json(out: &Output) -> Value {
    serde_json::from_str(out.ok()).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", out.stdout))
}

/// The repository's demo scripts with the embedded default configuration,
/// run once each, plus one run that fails with a long error.
fn demo() -> Project {
    let p = Project::from_repo();
    let all = ferry(&p, None, &["run", "--all"]);
    all.ok();
    p.script(
        "missing_table",
        "let f = csv(query(\"live\", \"SELECT id, name, a_rather_long_column_name FROM a_table_that_is_not_in_the_demo_district_database\"), #{ name: \"missing\" });\ndeliver(f, \"out\");\n",
    );
    assert_eq!(ferry(&p, None, &["run", "missing_table"]).code, 1);
    p
}

#[test]
fn list_and_history_fit_100_columns_on_the_demo_and_wide_shows_everything() {
    let p = demo();
    for args in [&["list"][..], &["history"][..], &["history", "enrollment_roster"][..]] {
        let out = ferry(&p, Some("100"), args);
        assert!(
            widest(out.ok()) <= 100,
            "{args:?} is {} wide:\n{}",
            widest(&out.stdout),
            out.stdout
        );
        // Without COLUMNS, and not at a terminal: 100 as well.
        let out = ferry(&p, None, args);
        assert!(widest(out.ok()) <= 100, "{args:?} without COLUMNS:\n{}", out.stdout);
    }
    let narrow = ferry(&p, Some("80"), &["list"]);
    assert!(widest(narrow.ok()) <= 80, "{}", narrow.stdout);

    // The long values are elided in the fitted table and whole with --wide.
    let list = ferry(&p, Some("100"), &["list"]);
    let wide = ferry(&p, Some("100"), &["list", "--wide"]);
    assert!(widest(wide.ok()) > 100, "{}", wide.stdout);
    let folder = p.path("out").display().to_string();
    assert!(wide.stdout.contains(&folder), "{}", wide.stdout);
    assert!(
        !list.ok().contains(&folder),
        "the local folder is shortened:\n{}",
        list.stdout
    );
    let history = ferry(&p, Some("100"), &["history", "--wide"]);
    assert!(history
        .ok()
        .contains("a_table_that_is_not_in_the_demo_district_database"));

    // Times carry their zone: the default configuration's America/Chicago.
    let zone = |text: &str| text.contains(" CST") || text.contains(" CDT");
    assert!(zone(list.ok()), "{}", list.stdout);
    assert!(zone(ferry(&p, Some("100"), &["history"]).ok()));
    assert!(zone(ferry(&p, Some("100"), &["history", "--run", "1"]).ok()));
}

#[test]
fn json_parses_and_carries_every_column() {
    let p = demo();
    let list = json(&ferry(&p, Some("100"), &["list", "--json"]));
    let scripts = list.as_array().unwrap();
    assert_eq!(scripts.len(), 5, "{list:#}");
    // Every column of the table: script, name, delivery mode, server,
    // frequency, extract mode, stopped, last run, next run; and the zone.
    for key in [
        "id",
        "name",
        "delivery_mode",
        "server",
        "frequency",
        "extract_mode",
        "stopped",
        "suspended",
        "last_run",
        "next_run",
        "error",
        "schedule_zone",
        "path",
    ] {
        assert!(scripts.iter().all(|s| s.get(key).is_some()), "{key} missing: {list:#}");
    }
    let roster = scripts.iter().find(|s| s["id"] == "enrollment_roster").unwrap();
    assert_eq!(roster["server"], p.path("out").display().to_string(), "full values");
    assert_eq!(roster["schedule_zone"], "America/Chicago");
    assert_eq!(roster["last_run"]["status"], "succeeded");
    assert!(roster["next_run"].as_str().unwrap().ends_with('Z'), "UTC: {roster}");
    // What the table shows is what the JSON says.
    let table = ferry(&p, Some("200"), &["list", "--wide"]);
    assert!(table.ok().contains(roster["name"].as_str().unwrap()));
    assert!(table.stdout.contains(roster["frequency"].as_str().unwrap()));

    let history = json(&ferry(&p, Some("100"), &["history", "--json"]));
    let runs = history.as_array().unwrap();
    assert_eq!(runs.len(), 5);
    for key in [
        "id",
        "script",
        "trigger",
        "started_at",
        "status",
        "rows",
        "bytes",
        "destination",
        "error",
    ] {
        assert!(runs.iter().all(|r| r.get(key).is_some()), "{key} missing: {history:#}");
    }
    let failed = &runs[0];
    assert_eq!(failed["script"], "missing_table");
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"]
        .as_str()
        .unwrap()
        .contains("a_table_that_is_not_in_the_demo_district_database"));

    let one = json(&ferry(&p, None, &["history", "--run", "1", "--json"]));
    assert_eq!(one["run"]["id"], 1);
    assert!(!one["files"].as_array().unwrap().is_empty(), "{one:#}");
    assert!(!one["log"].as_array().unwrap().is_empty(), "{one:#}");
    assert_eq!(json(&ferry(&p, None, &["held", "--json"])), serde_json::json!([]));
}

#[test]
fn zip_members_are_shown_in_their_zip_not_as_undelivered() {
    let p = Project::new();
    p.sqlite("CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (1);");
    p.script(
        "bundle",
        "let a = csv(query(\"live\", \"SELECT x FROM one\"), #{ name: \"roster\" });\nlet z = zip([a], #{ name: \"nightly\" });\ndeliver(z, \"out\");\n",
    );
    let run = ferry(&p, None, &["run", "bundle"]);
    assert!(
        run.ok().contains("roster.csv") && run.stdout.contains("in nightly.zip"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("not delivered"), "{}", run.stdout);
    let history = ferry(&p, None, &["history", "--run", "1"]);
    assert!(history.ok().contains("in nightly.zip"), "{}", history.stdout);
    assert!(!history.stdout.contains("NOT DELIVERED"), "{}", history.stdout);
    let files = json(&ferry(&p, None, &["history", "--run", "1", "--json"]))["files"].clone();
    let member = files
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "roster.csv")
        .unwrap();
    assert_eq!(member["bundled_in"], "nightly.zip");
}

#[test]
fn completions_and_manual_pages_are_generated_without_a_configuration() {
    let p = Project::new();
    // A broken configuration must not matter: packaging has none.
    p.config("this is not toml");
    let bash = ferry(&p, None, &["completions", "bash"]);
    assert!(
        bash.ok().contains("_ferry()") && bash.stdout.contains("test-connection"),
        "{}",
        bash.stdout
    );
    let zsh = ferry(&p, None, &["completions", "zsh"]);
    assert!(zsh.ok().starts_with("#compdef ferry"), "{}", zsh.stdout);
    let fish = ferry(&p, None, &["completions", "fish"]);
    assert!(fish.ok().contains("complete -c ferry"), "{}", fish.stdout);
    assert_eq!(ferry(&p, None, &["completions", "tcsh"]).code, 2);

    let out = ferry(&p, None, &["man", "--out", "man"]);
    out.ok();
    for page in [
        "ferry.1",
        "ferry-run.1",
        "ferry-history.1",
        "ferry-keys-pgp-import.1",
        "ferry-man.1",
    ] {
        let text = std::fs::read_to_string(p.path("man").join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}: {text}");
    }
    let run = std::fs::read_to_string(p.path("man/ferry-run.1")).unwrap();
    assert!(run.contains("\\-\\-param") || run.contains("--param"), "{run}");
}

#[test]
fn exit_codes_tell_bad_input_from_unreachable_from_failed() {
    // 2: a configuration that does not parse, an unknown argument, an unknown run.
    Test::new()
        .sqlite("CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (1);")
        .settings_head("keep_days = \"soon\"")
        .args(&["list"])
        .code(2)
        .stderr_has("ferry.toml:1")
        .run();
    let p = Test::new()
        .sqlite("CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (1);")
        .args(&["list", "--no-such-flag"])
        .code(2)
        .run()
        .then()
        .args(&["history", "--run", "99"])
        .code(2)
        .run()
        // 1: a run that fails.
        .then()
        .script(
            "fails",
            "deliver(csv(query(\"live\", \"SELECT nope FROM missing\"), #{ name: \"f\" }), \"out\");\n",
        )
        .args(&["run", "fails"])
        .code(1)
        .run()
        .project;

    // 3: a server that does not answer (nothing listens on port 1) ...
    std::fs::write(p.path("vendor.pw"), "secret").unwrap();
    let text = std::fs::read_to_string(p.path("ferry.toml")).unwrap();
    p.config(&format!(
        "{text}[destinations.vendor]\nmode = \"ftps-explicit\"\nserver = \"127.0.0.1\"\nport = 1\nusername = \"u\"\npassword = \"file:vendor.pw\"\npath = \"/in\"\n"
    ));
    Test::in_project(p)
        .args(&["test-connection", "vendor"])
        .code(3)
        .run()
        // ... and a state store that cannot be reached.
        .then()
        .settings_head("state = \"postgres://ferry@127.0.0.1:1/ferry_state\"")
        .args(&["list"])
        .code(3)
        .stderr_has("state store")
        .run();
}

#[test]
fn people_changes_made_at_the_command_line_are_recorded_with_the_operating_system_user() {
    let p = Project::new();
    ferry(&p, None, &["groups", "add", "office"]).ok();
    ferry(
        &p,
        None,
        &["users", "add", "ann", "--group", "office", "--right", "read"],
    )
    .ok();
    ferry(&p, None, &["users", "grant", "ann", "run"]).ok();
    let refused = ferry(&p, None, &["users", "grant", "ann", "rooot"]);
    assert_eq!(refused.code, 2, "an unknown right: {}", refused.stderr);
    assert!(
        refused.stderr.contains("manage_users"),
        "names the rights: {}",
        refused.stderr
    );
    let off = ferry(&p, None, &["users", "disable", "ann"]);
    assert!(off.ok().contains("disabled ann"), "{}", off.stdout);
    assert!(ferry(&p, None, &["users", "disable", "ann"])
        .ok()
        .contains("already disabled"));
    ferry(&p, None, &["users", "enable", "ann"]).ok();
    ferry(&p, None, &["tokens", "create", "ann", "--label", "roster sync"]).ok();

    let me = ferry::state::os_user();
    let changes = json(&ferry(&p, None, &["users", "changes", "--json"]));
    let rows: Vec<(String, String, String, String)> = changes
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|c| {
            let text = |k: &str| c[k].as_str().unwrap_or("").to_string();
            (text("by"), text("action"), text("subject"), text("detail"))
        })
        .collect();
    let by = format!("{me} (command line)");
    let want = [
        ("group added", "office", ""),
        ("user added", "ann", ""),
        ("added to group", "ann", "office"),
        ("right granted", "ann", "read"),
        ("right granted", "ann", "run"),
        ("user disabled", "ann", ""),
        ("user enabled", "ann", ""),
        ("token created", "ann", "roster sync"),
    ];
    assert_eq!(rows.len(), want.len(), "{rows:?}");
    for ((who, action, subject, detail), (a, s, d)) in rows.iter().zip(want) {
        assert_eq!(
            (who.as_str(), action.as_str(), subject.as_str()),
            (by.as_str(), a, s),
            "{rows:?}"
        );
        assert!(detail.contains(d), "{detail} names {d}");
    }
    let text = changes.to_string();
    assert!(!text.contains("ferry_"), "no token text in the record: {text}");
}
