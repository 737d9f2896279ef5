//! Every combination of delimiter × quotes × header × charset, with values
//! holding delimiters, quotes, line breaks and non-ASCII letters, read back by
//! Python's strict csv reader and compared field by field with the database.

use ferry::state::Trigger;

use crate::harness::{python_csv, Project};

/// The rows inserted, as (id, name, note, born, score, active); None is NULL.
type Person = (i64, &'static str, Option<&'static str>, &'static str, f64, bool);

const PEOPLE: &[Person] = &[
    (
        1,
        "Zoë O'Brien",
        Some("likes, commas | pipes ~ tildes"),
        "2011-02-03",
        3.5,
        true,
    ),
    (
        2,
        "José \"Pepe\" Nuñez",
        Some("line one\nline two"),
        "2010-12-31",
        -0.25,
        false,
    ),
    (
        3,
        "Smith, Jr.",
        Some("tab\there and crlf\r\nthere"),
        "2009-01-01",
        100.0,
        true,
    ),
    (4, "  spaced  ", Some(""), "2012-06-15", 0.1, false),
    (5, "Đặng Thị Łucja", None, "2013-07-04", 12.5, true),
    (
        6,
        "Curly “quotes” and ‚low‘",
        Some("Müller-Søren ß"),
        "2014-08-09",
        7.0,
        false,
    ),
];

fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn fixture(p: &Project) {
    let mut sql =
        String::from("CREATE TABLE people (id INTEGER, name TEXT, note TEXT, born DATE, score REAL, active BOOLEAN);");
    for (id, name, note, born, score, active) in PEOPLE {
        sql.push_str(&format!(
            "INSERT INTO people VALUES ({id}, {}, {}, '{born}', {score}, {});",
            sql_text(name),
            note.map(sql_text).unwrap_or_else(|| "NULL".into()),
            *active as i32
        ));
    }
    p.sqlite(&sql);
}

/// How ferry renders each row (see docs/scripting.md, "How values are written").
fn expected_rows() -> Vec<Vec<String>> {
    PEOPLE
        .iter()
        .map(|(id, name, note, born, score, active)| {
            vec![
                id.to_string(),
                name.to_string(),
                note.unwrap_or("").to_string(),
                born.to_string(),
                format!("{score}"),
                active.to_string(),
            ]
        })
        .collect()
}

/// US-ASCII output transliterates each non-ASCII character.
fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                deunicode::deunicode_char(c).unwrap_or("?").to_string()
            }
        })
        .collect()
}

const DELIMITERS: &[(&str, char)] = &[(",", ','), ("tab", '\t'), ("|", '|'), ("~", '~')];

#[tokio::test(flavor = "multi_thread")]
async fn every_combination_reads_back_field_by_field() {
    let p = Project::new();
    fixture(&p);
    // One script writes all 32 files, so the test runs one extract.
    p.script(
        "combos",
        r#"
let n = 0;
for d in ["comma", "tab", "pipe", "tilde"] {
    for q in [true, false] {
        for h in [true, false] {
            for cs in ["utf-8", "us-ascii"] {
                let rows = query("live", "SELECT id, name, note, born, score, active FROM people ORDER BY id");
                let f = csv(rows, #{ name: `${d}_${q}_${h}_${cs}`, delimiter: d, quotes: q, header: h, charset: cs });
                deliver(f, "out");
                n += 1;
            }
        }
    }
}
if n != 32 { throw "expected 32 files"; }
"#,
    );
    let report = p.run("combos", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    assert_eq!(report.files.len(), 32);
    let header: Vec<String> = ["id", "name", "note", "born", "score", "active"]
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
    let mut checked = 0;
    for (word, ch) in DELIMITERS {
        let word = match *word {
            "," => "comma",
            "|" => "pipe",
            "~" => "tilde",
            w => w,
        };
        for q in [true, false] {
            for h in [true, false] {
                for cs in ["utf-8", "us-ascii"] {
                    let name = format!("{word}_{q}_{h}_{cs}.csv");
                    let path = p.path(&format!("out/{name}"));
                    let got = python_csv(&path, *ch, if cs == "us-ascii" { "ascii" } else { "utf-8" });
                    let mut want = expected_rows();
                    if h {
                        want.insert(0, header.clone());
                    }
                    if cs == "us-ascii" {
                        want = want.into_iter().map(|r| r.iter().map(|v| ascii(v)).collect()).collect();
                    }
                    assert_eq!(got, want, "{name}");
                    let bytes = std::fs::read(&path).unwrap();
                    if cs == "us-ascii" {
                        assert!(bytes.is_ascii(), "{name} is not pure ASCII");
                    }
                    if q {
                        // With quotes on every field is quoted, the header and empty ones too.
                        let text = String::from_utf8(bytes).unwrap();
                        let first = text.split("\r\n").next().unwrap();
                        assert!(first.starts_with('"') && first.ends_with('"'), "{name}: {first}");
                        assert_eq!(first.matches('"').count(), 12, "{name}: {first}");
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 32);
}

#[tokio::test(flavor = "multi_thread")]
async fn exact_bytes_of_a_small_roster() {
    let p = Project::new();
    p.sqlite(
        "CREATE TABLE t (id INTEGER, name TEXT, note TEXT); INSERT INTO t VALUES (1, 'Zoë', NULL), (2, 'a|b', 'x\"y');",
    );
    p.script(
        "s",
        r#"
deliver(csv(query("live", "SELECT id, name, note FROM t ORDER BY id"), #{ name: "q", ext: "txt", delimiter: "|", quotes: true }), "out");
deliver(csv(query("live", "SELECT id, name, note FROM t ORDER BY id"), #{ name: "m", delimiter: "|", line_ending: "lf", charset: "us-ascii" }), "out");
deliver(csv(query("live", "SELECT id, name, note FROM t ORDER BY id"), #{ name: "b", bom: true, header: false }), "out");
deliver(csv(query("live", "SELECT id, name FROM t ORDER BY id"), #{ name: "w", charset: "windows-1252" }), "out");
deliver(csv(query("live", "SELECT id, name, note FROM t ORDER BY id"), #{ name: "r", delimiter: "|", unquoted: "replace", line_ending: "lf" }), "out");
"#,
    );
    let report = p.run("s", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    let read = |n: &str| std::fs::read(p.path(&format!("out/{n}"))).unwrap();
    assert_eq!(
        read("q.txt"),
        b"\"id\"|\"name\"|\"note\"\r\n\"1\"|\"Zo\xc3\xab\"|\"\"\r\n\"2\"|\"a|b\"|\"x\"\"y\"\r\n"
    );
    assert_eq!(read("m.csv"), b"id|name|note\n1|Zoe|\n2|\"a|b\"|\"x\"\"y\"\n");
    assert_eq!(read("b.csv"), b"\xef\xbb\xbf1,Zo\xc3\xab,\r\n2,a|b,\"x\"\"y\"\r\n");
    assert_eq!(read("w.csv"), b"id,name\r\n1,Zo\xeb\r\n2,a|b\r\n");
    assert_eq!(read("r.csv"), b"id|name|note\n1|Zo\xc3\xab|\n2|a b|x'y\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn html_is_a_complete_escaped_document() {
    let p = Project::new();
    p.sqlite("CREATE TABLE t (id INTEGER, name TEXT); INSERT INTO t VALUES (1, '<b>Tom & \"Jerry\"</b>'), (2, 'Zoë'), (3, NULL);");
    p.script("h", r#"deliver(html(query("live", "SELECT id, name FROM t ORDER BY id"), #{ name: "r", title: "A & B", charset: "us-ascii" }), "out");"#);
    let report = p.run("h", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    let text = std::fs::read_to_string(p.path("out/r.html")).unwrap();
    assert!(text.starts_with("<!DOCTYPE html>"), "{text}");
    assert!(text.contains("<title>A &amp; B</title>"));
    assert!(
        text.contains("&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;"),
        "{text}"
    );
    assert!(
        text.contains("Zo&#235;"),
        "non-ASCII letters become references in US-ASCII: {text}"
    );
    assert!(text.is_ascii());
    assert_eq!(
        text.matches("<tr>").count(),
        4,
        "header row and three data rows: {text}"
    );
    assert!(text.trim_end().ends_with("</html>"));
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_result_writes_a_header_only_file_never_zero_bytes() {
    let p = Project::new();
    p.sqlite("CREATE TABLE t (id INTEGER, name TEXT);");
    p.script(
        "e",
        r#"deliver(csv(query("live", "SELECT id, name FROM t"), #{ name: "e" }), "out");"#,
    );
    let report = p.run("e", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    assert_eq!(std::fs::read(p.path("out/e.csv")).unwrap(), b"id,name\r\n");

    p.script(
        "z",
        r#"deliver(csv(query("live", "SELECT id, name FROM t"), #{ name: "z", header: false }), "out");"#,
    );
    let report = p.run("z", Trigger::Manual, &[]).await;
    let e = report.error.unwrap();
    assert!(e.contains("zero bytes") && e.contains("z.rhai:1"), "{e}");
    assert!(!p.path("out/z.csv").exists());

    p.script("ok0", r#"deliver(csv(query("live", "SELECT id, name FROM t"), #{ name: "ok0", header: false, on_empty: "zero_bytes" }), "out");"#);
    assert!(p.run("ok0", Trigger::Manual, &[]).await.succeeded());
    assert_eq!(std::fs::read(p.path("out/ok0.csv")).unwrap(), b"");
}

#[tokio::test(flavor = "multi_thread")]
async fn dated_names_and_custom_extensions() {
    let p = Project::new();
    p.sqlite("CREATE TABLE t (id INTEGER);INSERT INTO t VALUES (1);");
    p.script(
        "d",
        r#"
let a = csv(query("live", "SELECT id FROM t"), #{ name: "roster_", ext: "txt", append_date: "yyyymmdd" });
let b = csv(query("live", "SELECT id FROM t"), #{ name: "roster", ext: "dat", append_date: "yyyymmddhhmmssSS" });
deliver(a, "out"); deliver(b, "out");
"#,
    );
    let report = p.run("d", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    let files = p.files("out");
    assert_eq!(files.len(), 2, "{files:?}");
    let a = files.iter().find(|f| f.starts_with("roster_")).unwrap();
    assert!(
        a.len() == "roster_20261128.txt".len() && a.ends_with(".txt") && a[7..15].chars().all(|c| c.is_ascii_digit()),
        "{a}"
    );
    let b = files.iter().find(|f| f.ends_with(".dat")).unwrap();
    assert_eq!(b.len(), "roster".len() + 16 + 4, "{b}");
    // The date is the run's start in the configured time zone.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Chicago)
        .format("%Y%m%d")
        .to_string();
    assert_eq!(&a[7..15], today);
}

#[tokio::test(flavor = "multi_thread")]
async fn per_row_closures_and_small_arrays() {
    let p = Project::new();
    p.sqlite("CREATE TABLE t (id INTEGER, first TEXT, last TEXT); INSERT INTO t VALUES (1, 'Ann', 'Lee'), (2, 'Bo', 'Ng'), (3, 'Cy', 'Oz');");
    p.script(
        "m",
        r#"
let rows = query("live", "SELECT id, first, last FROM t ORDER BY id");
// Drop odd ids, add a computed column, keep the source order for old columns.
let mapped = rows.map(|r| if r.id % 2 == 1 && r.id != 1 { () } else { r.full = `${r.last}, ${r.first}`; r });
deliver(csv(mapped, #{ name: "mapped" }), "out");
let small = query("live", "SELECT id, first FROM t ORDER BY id").to_array();
if small.len() != 3 || small[2].first != "Cy" || type_of(small[0].id) != "i64" { throw "to_array"; }
deliver(csv(small, #{ name: "arr", columns: ["first", "id"] }), "out");
"#,
    );
    let report = p.run("m", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    assert_eq!(
        std::fs::read_to_string(p.path("out/mapped.csv")).unwrap(),
        "id,first,last,full\r\n1,Ann,Lee,\"Lee, Ann\"\r\n2,Bo,Ng,\"Ng, Bo\"\r\n"
    );
    assert_eq!(
        std::fs::read_to_string(p.path("out/arr.csv")).unwrap(),
        "first,id\r\nAnn,1\r\nBo,2\r\nCy,3\r\n"
    );
}

/// `rows.map` refills the map the closure returned for the next row and
/// overwrites its strings in place when nothing else holds them. What a
/// closure keeps (a whole row, one value) must keep its own values, and the
/// file must be byte for byte what the same closure gives over `to_array()`,
/// which builds a new map for every row. 3,000 rows cross batch boundaries;
/// NULLs, long and short text, and an INTEGER column holding text change
/// what each slot holds from row to row.
#[tokio::test(flavor = "multi_thread")]
async fn mapped_rows_reused_between_rows_keep_their_values() {
    let p = Project::new();
    p.sqlite(
        "CREATE TABLE t (id INTEGER, name TEXT, note TEXT, n INTEGER, score REAL);
         INSERT INTO t
         WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 3000)
         SELECT i,
                CASE WHEN i % 7 = 0 THEN NULL ELSE 'Zoë ' || i || substr('abcdefghijklmnopqrstuvwxyz0123456789', 1, i % 37) END,
                CASE WHEN i % 3 = 0 THEN 'a, \"quoted\"' || char(10) || 'note' WHEN i % 3 = 1 THEN NULL ELSE '' END,
                CASE WHEN i % 5 = 0 THEN 'n/a' WHEN i % 11 = 0 THEN NULL ELSE i * 3 END,
                i / 4.0
         FROM g;",
    );
    let closure = r#"|r| {
    kept.push(r);
    names.push(r.name);
    r.name = if r.name == () { "none" } else { r.name.to_upper() };
    if r.id % 2 == 0 { r.note = `even ${r.id}`; }
    r
}"#;
    p.script(
        "reuse",
        &format!(
            r#"
let kept = [];
let names = [];
let sql = "SELECT id, name, note, n, score FROM t ORDER BY id";
deliver(csv(query("live", sql).map({closure}), #{{ name: "streamed" }}), "out");
// What the closure kept while the file was written is each row's own.
if kept.len() != 3000 {{ throw `kept ${{kept.len()}} rows`; }}
for k in kept {{
    let i = k.id;
    let name = if i % 7 == 0 {{ () }} else {{ `Zoë ${{i}}` + "abcdefghijklmnopqrstuvwxyz0123456789".sub_string(0, i % 37) }};
    if k.name != name || names[i - 1] != name {{ throw `row ${{i}}: kept ${{k.name}} / ${{names[i - 1]}}, expected ${{name}}`; }}
    let n = if i % 5 == 0 {{ "n/a" }} else if i % 11 == 0 {{ () }} else {{ i * 3 }};
    if k.n != n {{ throw `row ${{i}}: kept n ${{k.n}}, expected ${{n}}`; }}
    if i % 2 == 0 && k.note == `even ${{i}}` {{ throw `row ${{i}}: the kept row saw a later change`; }}
}}
// The same closure over maps built one per row.
kept = [];
names = [];
let rows = query("live", sql).to_array().map({closure});
deliver(csv(rows, #{{ name: "arrays", columns: ["id", "name", "note", "n", "score"] }}), "out");
"#
        ),
    );
    let report = p.run("reuse", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    let streamed = std::fs::read(p.path("out/streamed.csv")).unwrap();
    let arrays = std::fs::read(p.path("out/arrays.csv")).unwrap();
    assert!(streamed.len() > 100_000, "{} bytes", streamed.len());
    assert!(
        streamed == arrays,
        "the streamed file differs from the one built from arrays"
    );
    let text = String::from_utf8(streamed).unwrap();
    assert!(
        text.starts_with("id,name,note,n,score\r\n1,ZOË 1A,,3,0.25\r\n2,ZOË 2AB,even 2,6,0.5\r\n"),
        "{}",
        &text[..200]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mapped_rows_with_missing_or_extra_fields() {
    let p = Project::new();
    p.sqlite("CREATE TABLE t (id INTEGER, b TEXT, a TEXT); INSERT INTO t VALUES (1, 'x', 'y'), (2, 'z', 'w'), (3, 'u', 'v');");
    // A field the first row lacked is an error; a field a later row lacks is empty.
    p.script(
        "missing",
        r#"deliver(csv(query("live", "SELECT id, b, a FROM t ORDER BY id").map(|r| { if r.id == 2 { r.remove("b"); } r }), #{ name: "missing" }), "out");"#,
    );
    let report = p.run("missing", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    assert_eq!(
        std::fs::read_to_string(p.path("out/missing.csv")).unwrap(),
        "id,b,a\r\n1,x,y\r\n2,,w\r\n3,u,v\r\n"
    );
    p.script(
        "extra",
        r#"deliver(csv(query("live", "SELECT id, b, a FROM t ORDER BY id").map(|r| { if r.id == 3 { r.c = 1; r.remove("a"); } r }), #{ name: "extra" }), "out");"#,
    );
    let report = p.run("extra", Trigger::Manual, &[]).await;
    let error = report.error.expect("an extra field fails the run");
    assert!(
        error.contains("a row has the field 'c' that the first row did not have"),
        "{error}"
    );
}

/// The `formulas` option, read back by Python's csv module: `keep` writes
/// values as they are, `escape` prefixes what a spreadsheet would run with a
/// single quote (numbers stay numbers), `fail` names the row and column.
#[tokio::test(flavor = "multi_thread")]
async fn formula_injection_is_kept_escaped_or_refused() {
    let p = Project::new();
    p.sqlite(
        "CREATE TABLE cells (id INTEGER, v TEXT); INSERT INTO cells VALUES \
         (1, '=cmd|'' /C calc''!A0'), (2, '@SUM(A1:A9)'), (3, '+A1'), (4, '-2+3'), \
         (5, char(9) || 'tabbed'), (6, '-3.00'), (7, '+1e5'), (8, 'O''Brien = fine');",
    );
    for mode in ["keep", "escape", "fail"] {
        p.script(
            &format!("f_{mode}"),
            &format!(
                "let rows = query(\"live\", \"SELECT id, v FROM cells ORDER BY id\");\n\
                 deliver(csv(rows, #{{ name: \"{mode}\", formulas: \"{mode}\" }}), \"out\");\n"
            ),
        );
    }
    let values = |mode: &str| -> Vec<String> {
        python_csv(&p.path(&format!("out/{mode}.csv")), ',', "utf-8")
            .into_iter()
            .skip(1)
            .map(|r| r[1].clone())
            .collect()
    };
    assert!(p.run("f_keep", Trigger::Manual, &[]).await.succeeded());
    assert_eq!(
        values("keep"),
        [
            "=cmd|' /C calc'!A0",
            "@SUM(A1:A9)",
            "+A1",
            "-2+3",
            "\ttabbed",
            "-3.00",
            "+1e5",
            "O'Brien = fine"
        ]
    );
    assert!(p.run("f_escape", Trigger::Manual, &[]).await.succeeded());
    assert_eq!(
        values("escape"),
        [
            "'=cmd|' /C calc'!A0",
            "'@SUM(A1:A9)",
            "'+A1",
            "'-2+3",
            "'\ttabbed",
            "-3.00",
            "+1e5",
            "O'Brien = fine"
        ]
    );
    let r = p.run("f_fail", Trigger::Manual, &[]).await;
    let e = r.error.unwrap_or_default();
    assert!(
        e.contains("f_fail.rhai:2:") && e.contains("row 1, column \"v\"") && e.contains("formulas: \"escape\""),
        "{e}"
    );
    assert!(!p.path("out/fail.csv").exists());
    let bad = p.ferry(&["check"]);
    assert_eq!(bad.code, 0, "{bad:?}");
    p.script(
        "f_bad",
        "deliver(csv(query(\"live\", \"SELECT 1 AS x\"), #{ formulas: \"strip\" }), \"out\");\n",
    );
    let e = p.run("f_bad", Trigger::Manual, &[]).await.error.unwrap_or_default();
    assert!(e.contains("\"keep\", \"escape\" or \"fail\""), "{e}");
}
