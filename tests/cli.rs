//! The `ferry` program end to end: check, test-extract, run, list, history.

use crate::harness::{sqlite_column, Project};

fn project() -> Project {
    let p = Project::new();
    p.sqlite("CREATE TABLE people (id INTEGER, name TEXT, ssn TEXT); INSERT INTO people VALUES (1, 'Ann', '900-11-2222'), (2, 'Zoë', '900-33-4444');");
    p.script(
        "roster",
        r#"//! name     = "Roster"
//! schedule = "daily at 02:30"
//! [params]
//! include_ssn = false
let ssn = if params.include_ssn { "ssn" } else { "NULL AS ssn" };
let f = csv(query("live", `SELECT id, name, ${ssn} FROM people ORDER BY id`), #{ name: "roster", delimiter: "|" });
deliver(f, "out");
"#,
    );
    p
}

#[test]
fn check_reports_ok_and_located_errors_with_exit_codes() {
    let p = project();
    let out = p.ferry(&["check"]);
    assert!(
        out.ok().contains("ok     ") && out.stdout.contains("schedule: daily at 02:30"),
        "{}",
        out.stdout
    );
    p.script("broken", "let x = ;\n");
    let out = p.ferry(&["check"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("broken.rhai:1:"), "{}", out.stdout);
    assert!(out.stderr.contains("1 of 2 scripts have errors"), "{}", out.stderr);
}

#[test]
fn test_extract_previews_and_delivers_nothing() {
    let p = project();
    let out = p.ferry(&["test-extract", "roster"]);
    let text = out.ok();
    assert!(text.contains("roster.csv: 2 rows"), "{text}");
    assert!(
        text.contains("Zoë") && text.contains("would deliver to 'out'"),
        "{text}"
    );
    assert!(text.contains("nothing was delivered or kept"));
    assert!(p.files("out").is_empty());
    assert!(
        p.all_files(".ferry/work").is_empty(),
        "{:?}",
        p.all_files(".ferry/work")
    );
    let hist = p.ferry(&["history"]);
    assert!(hist.ok().contains("test"), "{}", hist.stdout);
}

/// The preview is the file: the bytes `ferry run` delivers, line by line,
/// after charset, transliteration, quoting and line ends; the database's
/// values only when asked for.
#[test]
fn test_extract_shows_the_file_as_the_vendor_reads_it() {
    let p = project();
    p.sqlite(
        "CREATE TABLE staff (id INTEGER, name TEXT, note TEXT); \
         INSERT INTO staff VALUES (1, 'César Chávez', 'a	tab'), (2, 'Zoë \"Z\" Ng', 'two' || char(10) || 'lines');",
    );
    p.script(
        "ascii",
        "deliver(csv(query(\"live\", \"SELECT id, name, note FROM staff ORDER BY id\"), \
         #{ name: \"ascii\", charset: \"us-ascii\", quotes: true, delimiter: \"tab\" }), \"out\");\n",
    );
    let shown = p.ferry(&["test-extract", "ascii"]).ok().to_string();
    p.ferry(&["run", "ascii"]).ok();
    let file = std::fs::read(p.path("out/ascii.csv")).unwrap();
    assert!(file.is_ascii());
    // The file's lines with CR and tab made visible, as documented.
    let expected: Vec<String> = String::from_utf8(file)
        .unwrap()
        .split_terminator('\n')
        .map(|l| format!("  {}", l.replace('\r', "␍").replace('\t', "␉")))
        .collect();
    assert_eq!(expected.len(), 4, "a header, two rows, one of two lines");
    let lines: Vec<&str> = shown.lines().skip(2).take(4).collect();
    assert_eq!(lines, expected, "{shown}");
    assert!(
        shown.contains("\"Cesar Chavez\"") && !shown.contains("César"),
        "{shown}"
    );
    let both = p.ferry(&["test-extract", "ascii", "--values"]).ok().to_string();
    assert!(
        both.contains("\"Cesar Chavez\"") && both.contains("César Chávez"),
        "{both}"
    );
}

#[test]
fn run_delivers_and_records_history() {
    let p = project();
    let out = p.ferry(&["run", "roster", "--param", "include_ssn=true"]);
    assert!(out.ok().contains("run 1 roster: succeeded"), "{}", out.stdout);
    assert_eq!(
        std::fs::read_to_string(p.path("out/roster.csv")).unwrap(),
        "id|name|ssn\r\n1|Ann|900-11-2222\r\n2|Zoë|900-33-4444\r\n"
    );
    let out = p.ferry(&["run", "scripts/roster.rhai"]);
    out.ok();
    assert_eq!(
        std::fs::read_to_string(p.path("out/roster.csv")).unwrap(),
        "id|name|ssn\r\n1|Ann|\r\n2|Zoë|\r\n"
    );

    let hist = p.ferry(&["history", "roster"]);
    let text = hist.ok();
    assert!(text.contains("manual") && text.contains("succeeded"), "{text}");
    let one = p.ferry(&["history", "--run", "1"]);
    let text = one.ok();
    let sha = sha256_hex(&std::fs::read(p.path("out/roster.csv")).unwrap());
    assert!(text.contains("status       succeeded"), "{text}");
    assert!(text.contains("roster.csv  2 rows"), "{text}");
    assert!(text.contains("-> out"), "{text}");
    assert!(text.contains("wrote roster.csv (2 rows"), "the log: {text}");
    // Run 2 wrote the same rows without SSNs: its recorded hash is that file's.
    // Who started each run and with which parameters: read back as history
    // shows it and as the store holds it (the user is the process's own, as
    // `id -un` names it, even with USER and LOGNAME unset).
    let me = std::process::Command::new("id").arg("-un").output().unwrap();
    let me = String::from_utf8(me.stdout).unwrap().trim().to_string();
    assert!(text.contains(&format!("started by   {me} (command line)")), "{text}");
    assert!(text.contains("params       include_ssn=true (overridden)"), "{text}");
    let two = p.ferry(&["history", "--run", "2"]);
    assert!(two.ok().contains(&sha), "{}", two.stdout);
    assert!(
        two.stdout.contains("params       include_ssn=false\n"),
        "{}",
        two.stdout
    );
    let carried = sqlite_column(
        &p.path(".ferry/state.db"),
        "SELECT group_concat(id || ' ' || started_by, ', ') FROM runs WHERE json_extract(params, '$.include_ssn') = 1",
    );
    assert_eq!(carried, [format!("1 cli:{me}")]);
    let script_hash = sha256_hex(&std::fs::read(p.path("scripts/roster.rhai")).unwrap());
    assert!(two.stdout.contains(&script_hash), "script version recorded");
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

#[test]
fn failed_run_exits_1_and_keeps_its_files() {
    let p = project();
    p.script("late", "let f = csv(query(\"live\", \"SELECT id FROM people\"), #{ name: \"late\" });\nthrow \"vendor folder not ready\";\n");
    let out = p.ferry(&["run", "late"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("late.rhai:2:") && out.stdout.contains("vendor folder not ready"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("files kept in"), "{}", out.stdout);
    assert_eq!(p.all_files(".ferry/work"), vec!["run-1/late.csv".to_string()]);
    let hist = p.ferry(&["history", "--run", "1"]);
    assert!(
        hist.ok().contains("status       failed") && hist.stdout.contains("kept at"),
        "{}",
        hist.stdout
    );
}

#[test]
fn list_shows_the_editor_table() {
    let p = project();
    p.ferry(&["run", "roster"]).ok();
    let out = p.ferry(&["list", "--wide"]);
    let text = out.ok();
    for want in [
        "roster",
        "Roster",
        "local",
        "daily at 02:30",
        "SQL",
        "no",
        "succeeded (run 1)",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
}

#[test]
fn bad_param_and_missing_script_exit_2() {
    let p = project();
    let out = p.ferry(&["run", "roster", "--param", "include_ssn=perhaps"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("--param include_ssn: 'perhaps' is not true or false"),
        "{}",
        out.stderr
    );
    let out = p.ferry(&["run", "nosuch"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("nosuch.rhai") && out.stderr.contains("cannot read"),
        "{}",
        out.stderr
    );
}

#[test]
fn config_errors_name_the_file_and_line() {
    let p = project();
    p.config("timezone = \"America/Chicago\"\n[databases.live]\nurl = \"sqlite:fixture.db\"\npasword = \"env:X\"\n");
    let out = p.ferry(&["list", "--wide"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("ferry.toml:4: unknown field `pasword`"),
        "{}",
        out.stderr
    );
}
