//! The `ferry` program end to end: check, test-extract, run, list, history.

use crate::harness::{sqlite_column, Test};

/// A project with two people and a `roster` script that delivers them to
/// `out` as pipe-separated text, SSNs only when asked.
fn roster() -> Test {
    Test::new()
        .sqlite("CREATE TABLE people (id INTEGER, name TEXT, ssn TEXT); INSERT INTO people VALUES (1, 'Ann', '900-11-2222'), (2, 'Zoë', '900-33-4444');")
        .script(
            "roster",
            r#"//! name     = "Roster"
//! schedule = "daily at 02:30"
//! [params]
//! include_ssn = false
let ssn = if params.include_ssn { "ssn" } else { "NULL AS ssn" };
let f = csv(query("live", `SELECT id, name, ${ssn} FROM people ORDER BY id`), #{ name: "roster", delimiter: "|" });
deliver(f, "out");
"#,
        )
}

#[test]
fn check_reports_ok_and_located_errors_with_exit_codes() {
    roster()
        .args(&["check"])
        .stdout_has("ok     ")
        .stdout_has("schedule: daily at 02:30")
        .run()
        .then()
        .script("broken", "let x = ;\n")
        .args(&["check"])
        .code(2)
        .stdout_has("broken.rhai:1:")
        .stderr_has("1 of 2 scripts have errors")
        .run();
}

#[test]
fn test_extract_previews_and_delivers_nothing() {
    roster()
        .args(&["test-extract", "roster"])
        .stdout_has("roster.csv: 2 rows")
        .stdout_has("Zoë")
        .stdout_has("would deliver to 'out'")
        .stdout_has("nothing was delivered or kept")
        .dir("out", &[])
        .tree(".ferry/work", &[])
        .run()
        .then()
        .args(&["history"])
        .stdout_has("test")
        .run();
}

/// The preview is the file: the bytes `ferry run` delivers, line by line,
/// after charset, transliteration, quoting and line ends; the database's
/// values only when asked for.
#[test]
fn test_extract_shows_the_file_as_the_vendor_reads_it() {
    let shown = roster()
        .sqlite(
            "CREATE TABLE staff (id INTEGER, name TEXT, note TEXT); \
             INSERT INTO staff VALUES (1, 'César Chávez', 'a	tab'), (2, 'Zoë \"Z\" Ng', 'two' || char(10) || 'lines');",
        )
        .script(
            "ascii",
            "deliver(csv(query(\"live\", \"SELECT id, name, note FROM staff ORDER BY id\"), \
             #{ name: \"ascii\", charset: \"us-ascii\", quotes: true, delimiter: \"tab\" }), \"out\");\n",
        )
        .args(&["test-extract", "ascii"])
        .stdout_has("\"Cesar Chavez\"")
        .stdout_lacks("César")
        .run();
    let shown_text = shown.stdout().to_string();
    let ran = shown.then().args(&["run", "ascii"]).run();
    let file = std::fs::read(ran.project.path("out/ascii.csv")).unwrap();
    assert!(file.is_ascii());
    // The file's lines with CR and tab made visible, as documented.
    let expected: Vec<String> = String::from_utf8(file)
        .unwrap()
        .split_terminator('\n')
        .map(|l| format!("  {}", l.replace('\r', "␍").replace('\t', "␉")))
        .collect();
    assert_eq!(expected.len(), 4, "a header, two rows, one of two lines");
    let lines: Vec<&str> = shown_text.lines().skip(2).take(4).collect();
    assert_eq!(lines, expected, "{shown_text}");
    ran.then()
        .args(&["test-extract", "ascii", "--values"])
        .stdout_has("\"Cesar Chavez\"")
        .stdout_has("César Chávez")
        .run();
}

#[test]
fn run_delivers_and_records_history() {
    let ran = roster()
        .args(&["run", "roster", "--param", "include_ssn=true"])
        .stdout_has("run 1 roster: succeeded")
        .file(
            "out/roster.csv",
            "id|name|ssn\r\n1|Ann|900-11-2222\r\n2|Zoë|900-33-4444\r\n",
        )
        .run()
        .then()
        .args(&["run", "scripts/roster.rhai"])
        .file("out/roster.csv", "id|name|ssn\r\n1|Ann|\r\n2|Zoë|\r\n")
        .run()
        .then()
        .args(&["history", "roster"])
        .stdout_has("manual")
        .stdout_has("succeeded")
        .run();
    // Run 2 wrote the same rows without SSNs: its recorded hash is that file's.
    let sha = sha256_hex(&std::fs::read(ran.project.path("out/roster.csv")).unwrap());
    let script_hash = sha256_hex(&std::fs::read(ran.project.path("scripts/roster.rhai")).unwrap());
    // Who started each run and with which parameters: read back as history
    // shows it and as the store holds it (the user is the process's own, as
    // `id -un` names it, even with USER and LOGNAME unset).
    let me = std::process::Command::new("id").arg("-un").output().unwrap();
    let me = String::from_utf8(me.stdout).unwrap().trim().to_string();
    let ran = ran
        .then()
        .args(&["history", "--run", "1"])
        .stdout_has("status       succeeded")
        .stdout_has("roster.csv  2 rows")
        .stdout_has("-> out")
        .stdout_has("wrote roster.csv (2 rows")
        .stdout_has(&format!("started by   {me} (command line)"))
        .stdout_has("params       include_ssn=true (overridden)")
        .run()
        .then()
        .args(&["history", "--run", "2"])
        .stdout_has(&sha)
        .stdout_has("params       include_ssn=false\n")
        .stdout_has(&script_hash)
        .run();
    let carried = sqlite_column(
        &ran.project.path(".ferry/state.db"),
        "SELECT group_concat(id || ' ' || started_by, ', ') FROM runs WHERE json_extract(params, '$.include_ssn') = 1",
    );
    assert_eq!(carried, [format!("1 cli:{me}")]);
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

#[test]
fn failed_run_exits_1_and_keeps_its_files() {
    roster()
        .script("late", "let f = csv(query(\"live\", \"SELECT id FROM people\"), #{ name: \"late\" });\nthrow \"vendor folder not ready\";\n")
        .args(&["run", "late"])
        .code(1)
        .stdout_has("late.rhai:2:")
        .stdout_has("vendor folder not ready")
        .stdout_has("files kept in")
        .tree(".ferry/work", &["run-1/late.csv"])
        .run()
        .then()
        .args(&["history", "--run", "1"])
        .stdout_has("status       failed")
        .stdout_has("kept at")
        .run();
}

#[test]
fn list_shows_the_editor_table() {
    let list = roster().args(&["run", "roster"]).run().then().args(&["list", "--wide"]);
    [
        "roster",
        "Roster",
        "local",
        "daily at 02:30",
        "SQL",
        "no",
        "succeeded (run 1)",
    ]
    .into_iter()
    .fold(list, Test::stdout_has)
    .run();
}

#[test]
fn bad_param_and_missing_script_exit_2() {
    roster()
        .args(&["run", "roster", "--param", "include_ssn=perhaps"])
        .code(2)
        .stderr_has("--param include_ssn: 'perhaps' is not true or false")
        .run()
        .then()
        .args(&["run", "nosuch"])
        .code(2)
        .stderr_has("nosuch.rhai")
        .stderr_has("cannot read")
        .run();
}

#[test]
fn config_errors_name_the_file_and_line() {
    roster()
        .config("timezone = \"America/Chicago\"\n[databases.live]\nurl = \"sqlite:fixture.db\"\npasword = \"env:X\"\n")
        .args(&["list", "--wide"])
        .code(2)
        .stderr_has("ferry.toml:4: unknown field `pasword`")
        .run();
}

/// The builder's own report: one failed expectation shows the command, each
/// expectation that failed, the exit code and both streams.
#[test]
fn a_failed_expectation_shows_the_command_and_everything_it_printed() {
    let failed = std::panic::catch_unwind(|| {
        roster()
            .args(&["check", "roster"])
            .code(3)
            .stdout_has("no such text")
            .stderr_lacks("")
            .file("out/roster.csv", "")
            .run();
    })
    .unwrap_err();
    let message = failed.downcast_ref::<String>().unwrap();
    for want in [
        "`ferry check roster` in ",
        "- exit code 0 (expected 3)\n",
        "- stdout lacks \"no such text\"\n",
        "- stderr has \"\"\n",
        "- out/roster.csv cannot be read",
        "exit code: 0\n--- stdout ---\nok     ",
        "schedule: daily at 02:30",
        "--- stderr ---\n",
    ] {
        assert!(message.contains(want), "{want:?} in {message}");
    }
}
