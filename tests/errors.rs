//! Bad input gets a clear, located error and leaves no partial output file.

use ferry::state::Trigger;

use crate::harness::{Project, Test};

fn with_people() -> Project {
    let p = Project::new();
    p.sqlite("CREATE TABLE people (id INTEGER, name TEXT); INSERT INTO people VALUES (1, 'Ann'), (2, 'Zoë');");
    p
}

/// Nothing reached the destination and no partial file was left behind.
fn assert_nothing_written(p: &Project) {
    assert_eq!(p.files("out"), Vec::<String>::new(), "out/ must stay empty");
    let partial: Vec<String> = p
        .all_files(".ferry/work")
        .into_iter()
        .filter(|f| f.ends_with(".partial"))
        .collect();
    assert!(partial.is_empty(), "partial files left: {partial:?}");
}

fn load_error(p: &Project, name: &str) -> String {
    let settings = p.settings();
    ferry::script::Script::load(&p.path(&format!("scripts/{name}.rhai")), &settings)
        .unwrap_err()
        .to_string()
}

#[test]
fn syntax_error_is_located() {
    let p = with_people();
    p.script(
        "bad",
        "let rows = query(\"live\", \"SELECT 1\");\nlet f = csv(rows, #{ name: \"x\" };\n",
    );
    let e = load_error(&p, "bad");
    assert!(e.contains("bad.rhai:2:"), "{e}");
    assert!(e.contains("syntax error"), "{e}");
}

#[test]
fn bad_header_value_is_located() {
    let p = with_people();
    p.script("h", "//! name = \"x\"\n//! schedule = \"dayly at 02:30\"\nlet a = 1;\n");
    let e = load_error(&p, "h");
    assert!(
        e.contains("h.rhai:2: header: schedule: 'dayly at 02:30' is not a schedule"),
        "{e}"
    );
    p.script("h2", "//! stopped = \"maybe\"\n");
    let e = load_error(&p, "h2");
    assert!(e.contains("h2.rhai:1: header:") && e.contains("boolean"), "{e}");
}

#[test]
fn unknown_database_destination_and_option_are_found_at_load() {
    let p = with_people();
    p.script("db", "// extract\nlet r = query(\"warehose\", \"SELECT 1\");\n");
    let e = load_error(&p, "db");
    assert!(
        e.contains("db.rhai:2: unknown database 'warehose' (configured: live)"),
        "{e}"
    );

    p.script(
        "dest",
        "let f = csv(query(\"live\", \"SELECT 1\"));\n\ndeliver(f, \"acme\");\n",
    );
    let e = load_error(&p, "dest");
    assert!(
        e.contains("dest.rhai:3: unknown destination 'acme' (configured: out)"),
        "{e}"
    );

    p.script(
        "opt",
        "let f = csv(query(\"live\", \"SELECT 1\"), #{\n  name: \"a\",\n  delimeter: \"|\" });\n",
    );
    let e = load_error(&p, "opt");
    assert!(e.contains("opt.rhai:3: csv(): unknown option 'delimeter'"), "{e}");
}

/// A misspelt function or method is found when the script is checked, with
/// the name meant; the script's own functions, Rhai's and a map's function
/// properties are not mistaken for typos.
#[test]
fn check_finds_misspelt_functions_and_methods_and_suggests_the_name_meant() {
    let p = Test::in_project(with_people())
        .script(
            "typo",
            "// roster\nlet rows = qeury(\"live\", \"SELECT id FROM people\");\n",
        )
        .args(&["check", "typo"])
        .code(2)
        .stdout_has("typo.rhai:2: unknown function 'qeury'; did you mean query()?")
        .run()
        .project;
    p.script(
        "method",
        "let rows = query(\"live\", \"SELECT id FROM people\");\nlet m = rows.mapp(|r| r);\n",
    );
    let e = load_error(&p, "method");
    assert!(
        e.contains("method.rhai:2: unknown method 'mapp' (called as value.mapp(...)); did you mean map()?"),
        "{e}"
    );
    p.script("own", "fn band(g) { g }\nlet x = bnad(3);\n");
    assert!(load_error(&p, "own").contains("own.rhai:2: unknown function 'bnad'; did you mean band()?"));
    p.script("far", "let x = frobnicate(3);\n");
    assert!(load_error(&p, "far").contains("unknown function 'frobnicate': neither a ferry primitive"));
    Test::in_project(p)
        .script(
            "fine",
            "fn band(g) { if g > 8 { \"high\" } else { \"low\" } }\n\
             let m = #{ a: 1, twice: |x| x * 2 };\nlet n = m.twice(band(3).len());\n\
             let s = \"abc\".to_upper().sub_string(1);\nlet f = Fn(\"band\");\nprint(f.call(9) + s + n);\n\
             deliver(csv(query(\"live\", \"SELECT id FROM people\").map(|r| r), #{ name: \"fine\" }), \"out\");\n",
        )
        .args(&["check", "fine"])
        .stdout_has("ok ")
        .run();
}

/// An engine error reads as a sentence: which call, with what kinds of
/// values, and never the engine's Rust type names.
#[tokio::test(flavor = "multi_thread")]
async fn a_call_with_the_wrong_arguments_is_explained_in_plain_words() {
    let p = with_people();
    p.script(
        "args",
        "let rows = query(\"live\", \"SELECT id FROM people\");\ncsv(rows, \"roster\");\n",
    );
    let e = p.run("args", Trigger::Manual, &[]).await.error.unwrap();
    assert!(
        e.contains("args.rhai:2:") && e.contains("csv() cannot be called with (Rows, text)"),
        "{e}"
    );
    assert!(!e.contains("ImmutableString") && !e.contains("&str"), "{e}");
    assert_nothing_written(&p);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_names_built_at_run_time_are_located_too() {
    let p = with_people();
    p.script("dyn", "let db = \"nope\";\nlet opts = #{ colour: 1 };\nlet f = csv(query(\"live\", \"SELECT id FROM people\"), opts);\n");
    let r = p.run("dyn", Trigger::Manual, &[]).await;
    let e = r.error.unwrap();
    assert!(
        e.contains("dyn.rhai:3:") && e.contains("unknown option 'colour'"),
        "{e}"
    );
    p.script("dyn2", "let db = \"nope\";\n\ncsv(query(db, \"SELECT 1\"));\n");
    let e = p.run("dyn2", Trigger::Manual, &[]).await.error.unwrap();
    assert!(
        e.contains("dyn2.rhai:3:") && e.contains("unknown database 'nope'"),
        "{e}"
    );
    assert_nothing_written(&p);
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_error_shows_the_script_line() {
    let p = with_people();
    p.script("sql", "// roster\n\nlet rows = query(\"live\", \"SELECT id, nam FROM people\");\nlet f = csv(rows);\ndeliver(f, \"out\");\n");
    let r = p.run("sql", Trigger::Manual, &[]).await;
    let e = r.error.unwrap();
    assert!(e.contains("sql.rhai:3:"), "the query() line: {e}");
    assert!(e.contains("no such column: nam"), "{e}");
    assert_nothing_written(&p);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_through_query_is_refused() {
    let p = with_people();
    p.script(
        "w",
        "let f = csv(query(\"live\", \"DELETE FROM people RETURNING id\"));\ndeliver(f, \"out\");\n",
    );
    let e = p.run("w", Trigger::Manual, &[]).await.error.unwrap();
    assert!(e.contains("w.rhai:1:") && e.contains("the SQL is a DELETE"), "{e}");
    assert!(e.contains("ferry did not send it to the database"), "the hint: {e}");
    p.script(
        "w2",
        "let f = csv(query(\"live\", \"SELECT 1; UPDATE people SET name = 'x'\"));\n",
    );
    let e = p.run("w2", Trigger::Manual, &[]).await.error.unwrap();
    assert!(e.contains("2 statements (a SELECT, an UPDATE)"), "{e}");
    // The data is untouched.
    let names = crate::harness::sqlite_column(&p.path("fixture.db"), "SELECT group_concat(name) FROM people");
    assert_eq!(names, ["Ann,Zoë"]);
    assert_nothing_written(&p);
}

#[tokio::test(flavor = "multi_thread")]
async fn unencodable_value_under_fail_policy_names_row_and_column() {
    let p = with_people();
    p.script("a", "let f = csv(query(\"live\", \"SELECT id, name FROM people ORDER BY id\"), #{\n charset: \"us-ascii\", unmappable: \"fail\" });\ndeliver(f, \"out\");\n");
    let r = p.run("a", Trigger::Manual, &[]).await;
    let e = r.error.unwrap();
    assert!(e.contains("a.rhai:1:"), "{e}");
    assert!(
        e.contains("row 2") && e.contains("\"name\"") && e.contains("U+00EB"),
        "{e}"
    );
    assert_nothing_written(&p);
}

#[tokio::test(flavor = "multi_thread")]
async fn unquoted_value_that_would_break_the_file_under_fail_policy() {
    let p = Project::new();
    p.sqlite("CREATE TABLE t (id INTEGER, addr TEXT); INSERT INTO t VALUES (1, '12 Oak St'), (2, '4 Elm St\nApt 2');");
    p.script("q", "deliver(csv(query(\"live\", \"SELECT id, addr FROM t ORDER BY id\"), #{ delimiter: \"|\", unquoted: \"fail\" }), \"out\");\n");
    let e = p.run("q", Trigger::Manual, &[]).await.error.unwrap();
    assert!(
        e.contains("row 2") && e.contains("\"addr\"") && e.contains("line break"),
        "{e}"
    );
    assert_nothing_written(&p);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_option_values_are_explained() {
    let p = with_people();
    for (opts, want) in [
        ("delimiter: \"::\"", "delimiter"),
        ("charset: \"klingon\"", "unknown character set \"klingon\""),
        ("charset: \"utf-16\"", "cannot be used"),
        ("append_date: \"ddmmyyyy\"", "append_date"),
        ("name: \"../etc/passwd\"", "not allowed"),
        ("bom: true, charset: \"us-ascii\"", "byte-order mark"),
        ("quotes: \"yes\"", "expected true or false"),
    ] {
        p.script(
            "o",
            &format!("let f = csv(query(\"live\", \"SELECT id FROM people\"), #{{ {opts} }});\n"),
        );
        let e = p.run("o", Trigger::Manual, &[]).await.error.unwrap();
        assert!(e.contains("o.rhai:1:") && e.contains(want), "{opts}: {e}");
    }
    assert_nothing_written(&p);
}

#[tokio::test(flavor = "multi_thread")]
async fn params_are_typed_and_checked() {
    let p = with_people();
    p.script("p", "//! [params]\n//! min_id = 0\n//! label = \"x\"\nlet f = csv(query(\"live\", \"SELECT id, :label AS label FROM people WHERE id > :min_id ORDER BY id\", #{ min_id: params.min_id, label: params.label }), #{ name: \"p\" });\ndeliver(f, \"out\");\n");
    let r = p
        .run(
            "p",
            Trigger::Manual,
            &[("min_id", "1"), ("label", "it's; DROP TABLE people")],
        )
        .await;
    assert!(r.succeeded(), "{:?}", r.error);
    assert_eq!(
        std::fs::read_to_string(p.path("out/p.csv")).unwrap(),
        "id,label\r\n2,it's; DROP TABLE people\r\n"
    );

    let app = p.app().await;
    let script = app.load(&p.path("scripts/p.rhai")).unwrap();
    for (k, v, want) in [
        ("min_id", "one", "'one' is not a whole number"),
        (
            "max",
            "1",
            "declares no such parameter (declared under [params]: min_id, label)",
        ),
    ] {
        let req = ferry::run::RunRequest {
            params: vec![(k.into(), v.into())],
            ..ferry::run::RunRequest::by(ferry::state::StartedBy::cli())
        };
        let e = app.run(&script, Trigger::Manual, req).await.unwrap_err().to_string();
        assert!(e.contains(&format!("--param {k}")) && e.contains(want), "{e}");
    }
    p.script("miss", "csv(query(\"live\", \"SELECT :x\"));\n");
    let e = p.run("miss", Trigger::Manual, &[]).await.error.unwrap();
    assert!(
        e.contains("miss.rhai:1:") && e.contains("the SQL uses :x but the params map has no 'x'"),
        "{e}"
    );
}
