//! `ndjson()` and `json()` on each database, read back by Python's `json`
//! module (decimals parsed exactly) and compared field by field, with its
//! JSON type, to the value the database's own client prints.

use std::process::Command;

use ferry::state::Trigger;
use serde_json::Value;

use super::harness::documented;
use super::{mariadb, project, psql, Project};

/// What a column holds, for the type the JSON value must have.
#[derive(Clone, Copy, PartialEq)]
enum Ty {
    Int,
    Decimal,
    Float,
    Bool,
    Text,
    Json,
}

/// Reads a JSON file (`lines`: NDJSON) with Python's json module and prints
/// every row as `[[type, text], ...]` in the file's key order.
const READ: &str = r#"
import decimal, json, sys
path, lines = sys.argv[1], sys.argv[2] == "lines"
with open(path, encoding="utf-8") as f:
    text = f.read()
rows = [json.loads(l, parse_float=decimal.Decimal) for l in text.splitlines()] if lines \
    else json.loads(text, parse_float=decimal.Decimal)
def cell(v):
    if v is None: return ["null", ""]
    if isinstance(v, bool): return ["bool", "true" if v else "false"]
    if isinstance(v, int): return ["int", str(v)]
    if isinstance(v, decimal.Decimal): return ["decimal", str(v)]
    if isinstance(v, str): return ["str", v]
    return ["json", json.dumps(v, sort_keys=True, separators=(",", ":"), default=float)]
print(json.dumps([[[k] + cell(v) for k, v in r.items()] for r in rows]))
"#;

fn python(path: &std::path::Path, lines: bool) -> Vec<Vec<(String, String, String)>> {
    let out = Command::new("python3")
        .args(["-c", READ])
        .arg(path)
        .arg(if lines { "lines" } else { "array" })
        .output()
        .expect("python3 is installed");
    assert!(
        out.status.success(),
        "python json could not read {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Vec<[String; 3]>> = serde_json::from_slice(&out.stdout).unwrap();
    rows.into_iter()
        .map(|r| r.into_iter().map(|[k, t, v]| (k, t, v)).collect())
        .collect()
}

/// Checks each field against the client's text (`None` for NULL).
fn check(db: &str, cols: &[(&str, Ty)], got: &[Vec<(String, String, String)>], want: &[Vec<Option<String>>]) {
    assert_eq!(got.len(), want.len(), "{db}: rows");
    for (r, (g, w)) in got.iter().zip(want).enumerate() {
        let keys: Vec<&str> = g.iter().map(|(k, _, _)| k.as_str()).collect();
        let names: Vec<&str> = cols.iter().map(|(n, _)| *n).collect();
        assert_eq!(keys, names, "{db} row {r}: keys in column order");
        for (((name, ty), (_, jt, jv)), w) in cols.iter().zip(g).zip(w) {
            let (want_type, want_text) = match (w, ty) {
                (None, _) => ("null", String::new()),
                (Some(v), Ty::Int) => ("int", v.clone()),
                (Some(v), Ty::Decimal | Ty::Float) => ("decimal", v.clone()),
                (Some(v), Ty::Bool) => ("bool", matches!(v.as_str(), "t" | "true" | "1").to_string()),
                (Some(v), Ty::Text) => ("str", v.clone()),
                (Some(v), Ty::Json) => (
                    "json",
                    serde_json::to_string(&serde_json::from_str::<Value>(v).unwrap()).unwrap(),
                ),
            };
            // A decimal with no point (`-1`) is a JSON number Python reads as int.
            let jt = match (ty, jt.as_str()) {
                (Ty::Decimal | Ty::Float, "int") => "decimal",
                (_, t) => t,
            };
            assert_eq!(
                (jt, jv.as_str()),
                (want_type, want_text.as_str()),
                "{db} row {r} column {name}"
            );
        }
    }
}

/// A client's rows: fields ended by the unit separator, rows by the record
/// separator, NULL as `\N`.
fn split(text: &str) -> Vec<Vec<Option<String>>> {
    text.trim_end_matches('\n')
        .split('\u{1e}')
        .map(|l| l.trim_start_matches('\n'))
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\u{1f}').map(|f| (f != "\\N").then(|| f.to_string())).collect())
        .collect()
}

/// Runs a client program and returns what it printed.
fn client(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("the {program} program is installed: {e}"));
    assert!(
        out.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `ndjson` and `json` over `SELECT * FROM ferry_json ORDER BY id`.
async fn extract(p: &Project, db: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    p.script(
        db,
        &format!(
            "let q = \"SELECT * FROM ferry_json ORDER BY id\";\n\
             deliver(ndjson(query(\"{db}\", q), #{{ name: \"{db}\" }}), \"out\");\n\
             deliver(json(query(\"{db}\", q), #{{ name: \"{db}\" }}), \"out\");\n"
        ),
    );
    let r = p.run(db, Trigger::Manual, &[]).await;
    assert!(r.error.is_none(), "{db}: {:?}", r.error);
    (p.path(&format!("out/{db}.ndjson")), p.path(&format!("out/{db}.json")))
}

const COLS: &[(&str, Ty)] = &[
    ("id", Ty::Int),
    ("name", Ty::Text),
    ("gpa", Ty::Decimal),
    ("big", Ty::Decimal),
    ("score", Ty::Float),
    ("active", Ty::Bool),
    ("born", Ty::Text),
    ("seen", Ty::Text),
    ("note", Ty::Text),
];

/// The rows, as SQL value lists.
const ROWS: &[&str] = &[
    "1, 'Zoë O''Brien', 3.50, 123456789012345678901234.5678, 0.1, TRUE, '2010-01-31', '2026-08-15 07:30:00', 'line\none \"q\"'",
    "2, 'José', 0.05, -1, -2.5, FALSE, '2011-12-01', '2026-08-15 23:59:59', NULL",
    "3, '', NULL, NULL, NULL, NULL, NULL, NULL, ''",
];

#[tokio::test(flavor = "multi_thread")]
async fn ndjson_and_json_read_back_typed_on_postgres() {
    let p = project();
    psql(&format!(
        "DROP TABLE IF EXISTS ferry_json; CREATE TABLE ferry_json (id integer, name text, gpa numeric(4,2), \
         big numeric, score double precision, active boolean, born date, seen timestamp, note text, doc jsonb); \
         INSERT INTO ferry_json VALUES ({}, '{{\"b\": [1, 2.5], \"a\": null}}'), ({}, '[]'), ({}, NULL);",
        ROWS[0], ROWS[1], ROWS[2]
    ));
    let (lines, array) = extract(&p, "pg").await;
    let text = client(
        "psql",
        &[
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-At",
            "-F",
            "\u{1f}",
            "-R",
            "\u{1e}",
            "-P",
            "null=\\N",
            "-c",
            "SELECT * FROM ferry_json ORDER BY id",
        ],
    );
    let want = split(&text);
    let mut cols = COLS.to_vec();
    cols.push(("doc", Ty::Json));
    check("postgres ndjson", &cols, &python(&lines, true), &want);
    check("postgres json", &cols, &python(&array, false), &want);
}

#[tokio::test(flavor = "multi_thread")]
async fn ndjson_and_json_read_back_typed_on_mariadb() {
    let p = project();
    mariadb(&format!(
        "DROP TABLE IF EXISTS ferry_json; CREATE TABLE ferry_json (id int, name varchar(40), gpa decimal(4,2), \
         big decimal(32,4), score double, active boolean, born date, seen datetime, note text) \
         DEFAULT CHARSET=utf8mb4; INSERT INTO ferry_json VALUES ({}), ({}), ({});",
        ROWS[0], ROWS[1], ROWS[2]
    ));
    let (lines, array) = extract(&p, "maria").await;
    let text = client(
        "mariadb",
        &[
            "-h",
            "127.0.0.1",
            "-u",
            "root",
            "--default-character-set=utf8mb4",
            "-N",
            "-B",
            "-r",
            "test",
            "-e",
            "SELECT concat_ws(char(31), id, name, coalesce(gpa, '\\\\N'), coalesce(big, '\\\\N'), \
             coalesce(score, '\\\\N'), coalesce(active, '\\\\N'), coalesce(born, '\\\\N'), \
             coalesce(seen, '\\\\N'), coalesce(note, '\\\\N'), char(30)) FROM ferry_json ORDER BY id",
        ],
    );
    let want: Vec<Vec<Option<String>>> = split(&text)
        .into_iter()
        .map(|mut r| {
            r.pop(); // the empty field before the record separator
            r
        })
        .collect();
    check("mariadb ndjson", COLS, &python(&lines, true), &want);
    check("mariadb json", COLS, &python(&array, false), &want);
}

#[tokio::test(flavor = "multi_thread")]
async fn ndjson_and_json_read_back_typed_on_sqlite() {
    let p = project();
    p.sqlite(&format!(
        "CREATE TABLE ferry_json (id INTEGER, name TEXT, gpa DECIMAL(4,2), big TEXT, score REAL, active BOOLEAN, \
         born DATE, seen DATETIME, note TEXT); INSERT INTO ferry_json VALUES ({}), ({}), ({});",
        ROWS[0].replace("123456789012345678901234.5678", "'123456789012345678901234.5678'"),
        ROWS[1].replace("-1,", "'-1',"),
        ROWS[2]
    ));
    let (lines, array) = extract(&p, "live").await;
    let db = p.path("fixture.db");
    let text = client(
        "sqlite3",
        &[
            "-separator",
            "\u{1f}",
            "-newline",
            "\u{1e}",
            "-nullvalue",
            "\\N",
            db.to_str().unwrap(),
            "SELECT * FROM ferry_json ORDER BY id",
        ],
    );
    let want = split(&text);
    // SQLite keeps 3.50 as the REAL-like NUMERIC 3.5; a TEXT column keeps
    // its digits, and is text: `big` is written as a string.
    let mut cols = COLS.to_vec();
    cols[3] = ("big", Ty::Text);
    check("sqlite ndjson", &cols, &python(&lines, true), &want);
    check("sqlite json", &cols, &python(&array, false), &want);
}

/// The example in docs/scripting.md reads a NUMERIC column, which SQLite
/// does not keep digit for digit, so it runs here on PostgreSQL.
#[tokio::test(flavor = "multi_thread")]
async fn the_documented_example_writes_what_the_docs_show() {
    let p = project();
    psql(
        "DROP TABLE IF EXISTS ferry_json_doc; CREATE TABLE ferry_json_doc (id integer, name text, \
         gpa numeric(3,2), active boolean, born date, note text); \
         INSERT INTO ferry_json_doc VALUES (1, 'Zoë O''Brien', 3.50, true, '2010-01-31', E'line\\none'), \
         (2, 'José', NULL, false, NULL, NULL);",
    );
    let after = "### `ndjson(rows, options)`";
    let script = documented(after, "rhai", 0)
        .replace("query(\"live\"", "query(\"pg\"")
        .replace("FROM student ", "FROM ferry_json_doc ");
    p.script("students", &script);
    let report = p.run("students", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    for (nth, file) in [(0, "students.ndjson"), (1, "students.json")] {
        assert_eq!(
            std::fs::read_to_string(p.path(&format!("out/{file}"))).unwrap(),
            documented(after, "text", nth),
            "{file}"
        );
    }
}
