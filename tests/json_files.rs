//! `ndjson()` and `json()` options and edge values on SQLite, read back by
//! Python's `json` module. The documented example runs in the server suite
//! (`tests/servers/json.rs`), on PostgreSQL's exact decimals.

use ferry::state::Trigger;
use serde_json::Value;

use crate::harness::{python_json, Project};

fn project() -> Project {
    let p = Project::new();
    p.sqlite(
        "CREATE TABLE student (id INTEGER, name TEXT, score REAL, active BOOLEAN);
         INSERT INTO student VALUES (1, 'Zoë', 9e999, 1), (2, 'Ann \"A\"', -9e999, 0), (3, 'Bo', 0.5, NULL);",
    );
    p
}

/// Every row of a file as Python's `json` reads it (NDJSON line by line).
fn read_back(path: &std::path::Path, lines: bool) -> Vec<Value> {
    let code = "import json, sys\n\
                text = open(sys.argv[1], encoding='utf-8').read()\n\
                rows = [json.loads(l) for l in text.splitlines()] if sys.argv[2] == 'lines' else json.loads(text)\n\
                print(json.dumps(rows))";
    python_json(
        &[
            "-c".as_ref(),
            code.as_ref(),
            path.as_os_str(),
            if lines { "lines" } else { "array" }.as_ref(),
        ],
        "json files",
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn infinities_are_strings_and_computed_columns_keep_their_type() {
    let p = project();
    p.script(
        "s",
        r#"let rows = query("live", "SELECT id, name, score, active FROM student ORDER BY id")
                .map(|r| { r.double = r.id * 2; r.half = r.id / 2.0; r.first = r.id == 1; r });
           deliver(ndjson(rows, #{ name: "s" }), "out");"#,
    );
    let report = p.run("s", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    let rows = read_back(&p.path("out/s.ndjson"), true);
    assert_eq!(
        rows,
        vec![
            serde_json::json!({"id": 1, "name": "Zoë", "score": "Infinity", "active": true, "double": 2, "half": 0.5, "first": true}),
            serde_json::json!({"id": 2, "name": "Ann \"A\"", "score": "-Infinity", "active": false, "double": 4, "half": 1, "first": false}),
            serde_json::json!({"id": 3, "name": "Bo", "score": 0.5, "active": null, "double": 6, "half": 1.5, "first": false}),
        ]
    );
    // Keys keep the column order, which `Value`'s comparison ignores.
    let text = std::fs::read_to_string(p.path("out/s.ndjson")).unwrap();
    assert!(
        text.starts_with("{\"id\":1,\"name\":\"Zoë\",\"score\":\"Infinity\",\"active\":true,\"double\":2,"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn columns_picks_and_orders_keys() {
    let p = project();
    p.script(
        "s",
        r#"deliver(json(query("live", "SELECT id, name, score FROM student WHERE id = 3"), #{ name: "s", columns: ["name", "id"] }), "out");"#,
    );
    let report = p.run("s", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    assert_eq!(
        std::fs::read_to_string(p.path("out/s.json")).unwrap(),
        "[\n{\"name\":\"Bo\",\"id\":3}\n]\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_result_is_an_empty_array_or_a_clear_error() {
    let p = project();
    let empty = r#"query("live", "SELECT id FROM student WHERE id > 9")"#;
    p.script("array", &format!(r#"deliver(json({empty}, #{{ name: "a" }}), "out");"#));
    p.script(
        "lines",
        &format!(r#"deliver(ndjson({empty}, #{{ name: "l" }}), "out");"#),
    );
    p.script(
        "zero",
        &format!(r#"deliver(ndjson({empty}, #{{ name: "z", on_empty: "zero_bytes" }}), "out");"#),
    );
    let report = p.run("array", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    assert_eq!(read_back(&p.path("out/a.json"), false), Vec::<Value>::new());

    let report = p.run("lines", Trigger::Manual, &[]).await;
    let error = report.error.expect("an empty NDJSON file is refused");
    assert!(
        error.contains("lines.rhai") && error.contains("zero bytes") && error.contains("on_empty: \"zero_bytes\""),
        "{error}"
    );
    assert!(!p.path("out/l.ndjson").exists());

    let report = p.run("zero", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    assert_eq!(std::fs::metadata(p.path("out/z.ndjson")).unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_option_names_the_option_and_the_choices() {
    let p = project();
    p.script(
        "s",
        r#"deliver(ndjson(query("live", "SELECT id FROM student"), #{ decimals: "text" }), "out");"#,
    );
    p.script(
        "h",
        r#"deliver(ndjson(query("live", "SELECT id FROM student"), #{ header: false }), "out");"#,
    );
    let error = p.run("s", Trigger::Manual, &[]).await.error.expect("refused");
    assert!(
        error.contains("decimals") && error.contains("\"number\"") && error.contains("\"string\""),
        "{error}"
    );
    // An option the format does not have is refused when the script loads.
    let app = p.app().await;
    let error = app.load(&app.script_path("h")).expect_err("refused").to_string();
    assert!(
        error.contains("h.rhai:1") && error.contains("unknown option 'header'") && error.contains("decimals"),
        "{error}"
    );
}
