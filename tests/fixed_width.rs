//! Fixed-width files and header/trailer records, as state agencies and the
//! Clearinghouse specify them: record lengths, padding, cuts on character
//! boundaries and control totals, read back by an independent Python reader
//! and compared byte for byte.

use ferry::state::Trigger;

use crate::harness::{documented, python_json, Project};

fn today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Chicago)
        .date_naive()
}

/// The run's error, which must exist.
async fn failure(p: &Project, name: &str) -> String {
    let report = p.run(name, Trigger::Manual, &[]).await;
    report.error.unwrap_or_else(|| panic!("{name} succeeded"))
}

const LAST: [&str; 4] = ["Núñez", "Zoë-Müller", "O'Brien", "Ærøskøbing"];
const FIRST: [&str; 3] = ["José", "Renée", "Ann"];

/// The Python reader: every line 80 bytes of windows-1252 and CRLF, the
/// header's and trailer's padding all spaces, every ID digits, and the
/// trailer's counts equal to the lines it read. Prints what it read as JSON.
const CLEARINGHOUSE_READER: &str = r#"
import json, sys
data = open(sys.argv[1], "rb").read()
assert data.endswith(b"\r\n"), "the last record ends with CRLF"
lines = data[:-2].split(b"\r\n")
for n, line in enumerate(lines):
    assert len(line) == 80, (n, len(line), line)
    assert b"\r" not in line and b"\n" not in line, n
head, details, trail = lines[0], lines[1:-1], lines[-1]
assert head[:3] == b"PH3", head
assert head[59:] == b" " * 21, head
rows = []
for line in details:
    assert line[:2] == b"D1", line
    pid = line[2:11]
    assert pid.isdigit(), line
    last, first = line[11:31].decode("cp1252"), line[31:46].decode("cp1252")
    assert last == last.rstrip(" ").ljust(20) and first == first.rstrip(" ").ljust(15), line
    assert line[54:] == b" " * 26, line
    rows.append([pid.decode(), last.rstrip(" "), first.rstrip(" "), line[46:54].decode()])
assert trail[:2] == b"T1", trail
records, every = int(trail[2:10]), int(trail[10:18])
assert records == len(details), (records, len(details))
assert every == len(lines), (every, len(lines))
assert trail[18:] == b" " * 62, trail
print(json.dumps({
    "header": [head[3:9].decode(), head[9:11].decode(), head[11:51].decode("cp1252").rstrip(" "), head[51:59].decode()],
    "rows": rows,
    "trailer": [trail[2:10].decode(), trail[10:18].decode()],
}, ensure_ascii=False))
"#;

#[derive(serde::Deserialize)]
struct Read {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    trailer: Vec<String>,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clearinghouse_file_reads_back_record_for_record() {
    let p = Project::new();
    p.sqlite(
        "CREATE TABLE senior (person_id INTEGER, last_name TEXT, first_name TEXT, birth_date DATE);
         INSERT INTO senior
         WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 1000)
         SELECT i * 7,
                CASE i % 4 WHEN 0 THEN 'Núñez' WHEN 1 THEN 'Zoë-Müller' WHEN 2 THEN 'O''Brien' ELSE 'Ærøskøbing' END,
                CASE i % 3 WHEN 0 THEN 'José' WHEN 1 THEN 'Renée' ELSE 'Ann' END,
                date('2008-01-01', '+' || i || ' days')
         FROM g;",
    );
    p.script(
        "nsc",
        r#"
let rows = query("live", `
    SELECT 'D1' AS record, person_id, last_name, first_name,
           strftime('%Y%m%d', birth_date) AS born, '' AS filler
    FROM senior ORDER BY person_id`);
deliver(fixed(rows, #{
    name: "nsc_", append_date: "yyyymmdd", charset: "windows-1252",
    columns: [
        #{ name: "record", width: 2 },
        #{ name: "person_id", width: 9, align: "right", pad: "0" },
        #{ name: "last_name", width: 20 },
        #{ name: "first_name", width: 15 },
        #{ name: "born", width: 8 },
        #{ name: "filler", width: 26 },
    ],
    header_record: [
        #{ text: "PH3", width: 3 }, #{ text: "054321", width: 6 }, #{ text: "00", width: 2 },
        #{ text: "Lincoln High School", width: 40 }, #{ date: "yyyymmdd", width: 8 }, #{ text: "", width: 21 },
    ],
    trailer_record: [
        #{ text: "T1", width: 2 },
        #{ count: "records", width: 8, align: "right", pad: "0" },
        #{ count: "all", width: 8, align: "right", pad: "0" },
        #{ text: "", width: 62 },
    ],
}), "out");
"#,
    );
    let report = p.run("nsc", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    assert_eq!(report.files[0].rows, 1000);
    let name = p.files("out").pop().unwrap();
    let date = &name["nsc_".len().."nsc_".len() + 8];
    let path = p.path(&format!("out/{name}"));
    let read: Read = python_json(
        &["-c".as_ref(), CLEARINGHOUSE_READER.as_ref(), path.as_os_str()],
        "the Clearinghouse reader",
    );
    assert_eq!(read.header, ["054321", "00", "Lincoln High School", date]);
    assert_eq!(read.trailer, ["00001000", "00001002"]);
    assert_eq!(read.rows.len(), 1000);
    for (i, row) in (1..=1000).zip(&read.rows) {
        let born = chrono::NaiveDate::from_ymd_opt(2008, 1, 1).unwrap() + chrono::Days::new(i as u64);
        let want = [
            format!("{:09}", i * 7),
            LAST[i % 4].to_string(),
            FIRST[i % 3].to_string(),
            born.format("%Y%m%d").to_string(),
        ];
        assert_eq!(row[..], want[..], "record {i}");
    }
    // One byte per accented letter: windows-1252, not UTF-8.
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 1002 * 82);
    assert_eq!(
        &bytes[82..164],
        b"D1000000007Zo\xeb-M\xfcller          Ren\xe9e          20080102                          \r\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_value_too_wide_fails_naming_row_and_column_and_leaves_no_file() {
    let p = Project::new();
    p.sqlite("CREATE TABLE t (id INTEGER, name TEXT); INSERT INTO t VALUES (1, 'Ann'), (2, 'Bartholomew'), (3, 'Cy');");
    p.script(
        "long",
        "let rows = query(\"live\", \"SELECT id, name FROM t ORDER BY id\");\n\
         deliver(fixed(rows, #{ name: \"long\", columns: [#{ name: \"id\", width: 2 }, #{ name: \"name\", width: 5 }] }), \"out\");\n",
    );
    let e = failure(&p, "long").await;
    assert!(
        e.contains("long.rhai:2:")
            && e.contains(
                "fixed(): row 2, column \"name\": the value is 11 bytes in utf-8, wider than its width 5; \
                 widen the column, or set overflow: \"truncate\" to cut it"
            ),
        "{e}"
    );
    assert_eq!(p.files("out"), Vec::<String>::new());
    let partial: Vec<String> = p
        .all_files(".ferry/work")
        .into_iter()
        .filter(|f| f.contains("long.txt"))
        .collect();
    assert!(partial.is_empty(), "left behind: {partial:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn truncation_cuts_on_a_character_boundary_in_utf8_and_windows_1252() {
    let p = Project::new();
    p.sqlite("CREATE TABLE t (id INTEGER, name TEXT); INSERT INTO t VALUES (1, 'Renée'), (2, '北京市'), (3, 'Zoë'), (4, NULL), (-42, 'Al');");
    p.script(
        "cut",
        r#"
for cs in ["utf-8", "windows-1252"] {
    deliver(fixed(query("live", "SELECT id, name FROM t ORDER BY rowid"), #{
        name: `cut_${cs}`, charset: cs, line_ending: "lf", overflow: "truncate", terminator: "|",
        columns: [#{ name: "id", width: 4, align: "right", pad: "0", overflow: "fail" }, #{ name: "name", width: 4 }],
    }), "out");
}
"#,
    );
    let report = p.run("cut", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    // UTF-8: "Ren" + the first byte of é would be broken; 北 is three bytes.
    assert_eq!(
        std::fs::read(p.path("out/cut_utf-8.txt")).unwrap(),
        b"0001Ren |\n0002\xe5\x8c\x97 |\n0003Zo\xc3\xab|\n0004    |\n-042Al  |\n"
    );
    // windows-1252: é is one byte and fits; 北京市 is transliterated first.
    assert_eq!(
        std::fs::read(p.path("out/cut_windows-1252.txt")).unwrap(),
        b"0001Ren\xe9|\n0002Bei |\n0003Zo\xeb |\n0004    |\n-042Al  |\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sums_are_exact_and_a_header_may_hold_totals() {
    let p = Project::new();
    p.sqlite("CREATE TABLE fee (id INTEGER, amount TEXT); INSERT INTO fee VALUES (1, '0.10'), (2, '0.10'), (3, NULL), (4, '0.10');");
    p.script(
        "sums",
        r#"
let sql = "SELECT id, amount FROM fee ORDER BY id";
deliver(csv(query("live", sql), #{ name: "trailer", bom: true,
    trailer_record: ["T", #{ count: "records" }, #{ count: "all" }, #{ sum: "amount" }, #{ sum: "id" }] }), "out");
deliver(csv(query("live", sql), #{ name: "header", bom: true, header: false, quotes: true,
    header_record: ["H", #{ sum: "amount", width: 6, align: "right", pad: "0" }, #{ count: "all" }] }), "out");
deliver(fixed(query("live", sql), #{ name: "fixed",
    columns: [#{ name: "id", width: 2 }, #{ name: "amount", width: 5, align: "right" }],
    header_record: [#{ text: "H", width: 1 }, #{ sum: "amount", width: 6, align: "right", pad: "0" }],
    trailer_record: [#{ text: "T", width: 1 }, #{ count: "all", width: 6, align: "right", pad: "0" }] }), "out");
"#,
    );
    let report = p.run("sums", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    let read = |n: &str| std::fs::read(p.path(&format!("out/{n}"))).unwrap();
    assert_eq!(
        read("trailer.csv"),
        b"\xef\xbb\xbfid,amount\r\n1,0.10\r\n2,0.10\r\n3,\r\n4,0.10\r\nT,4,6,0.30,10\r\n"
    );
    // A header with a total is written after the rows are counted; the
    // byte-order mark still comes first.
    assert_eq!(
        read("header.csv"),
        b"\xef\xbb\xbf\"H\",\"000.30\",\"5\"\r\n\"1\",\"0.10\"\r\n\"2\",\"0.10\"\r\n\"3\",\"\"\r\n\"4\",\"0.10\"\r\n"
    );
    assert_eq!(
        read("fixed.txt"),
        b"H000.30\r\n1  0.10\r\n2  0.10\r\n3      \r\n4  0.10\r\nT000006\r\n"
    );
    // The second pass leaves nothing beside the files.
    let work: Vec<String> = p.all_files(".ferry/work");
    assert!(!work.iter().any(|f| f.contains(".body")), "{work:?}");
    assert_eq!(report.files.iter().map(|f| f.rows).collect::<Vec<_>>(), [4, 4, 4]);

    p.sqlite("INSERT INTO fee VALUES (5, 'n/a');");
    let e = failure(&p, "sums").await;
    assert!(
        e.contains("sums.rhai:3:")
            && e.contains("csv(): row 5, column \"amount\": \"n/a\" is not a decimal number, so it cannot be summed for trailer_record"),
        "{e}"
    );
}

#[test]
fn unknown_options_columns_and_missing_widths_are_located() {
    let p = Project::new();
    p.sqlite("CREATE TABLE t (id INTEGER, name TEXT); INSERT INTO t VALUES (1, 'Ann');");
    let check = |name: &str, call: &str| -> String {
        p.script(
            name,
            &format!("let rows = query(\"live\", \"SELECT id, name FROM t\");\ndeliver({call}, \"out\");\n"),
        );
        let out = p.ferry(&["run", name]);
        std::fs::remove_file(p.path(&format!("scripts/{name}.rhai"))).unwrap();
        assert_ne!(out.code, 0, "{name} ran: {out:?}");
        format!("{}{}", out.stdout, out.stderr)
    };
    let e = check("opt", "fixed(rows, #{ colums: [#{ name: \"id\", width: 3 }] })");
    assert!(
        e.contains("opt.rhai:2: fixed(): unknown option 'colums' (options: name, ext,"),
        "{e}"
    );
    let e = check("rec", "csv(rows, #{ trailer_recrod: [\"T\"] })");
    assert!(e.contains("rec.rhai:2: csv(): unknown option 'trailer_recrod'"), "{e}");
    let e = check("col", "fixed(rows, #{ columns: [#{ name: \"nope\", width: 3 }] })");
    assert!(
        e.contains("col.rhai:2:")
            && e.contains("fixed(): columns: the rows have no column \"nope\" (they have: id, name)"),
        "{e}"
    );
    let e = check(
        "width",
        "fixed(rows, #{ columns: [#{ name: \"id\", width: 3 }, #{ name: \"name\" }] })",
    );
    assert!(
        e.contains("width.rhai:2:")
            && e.contains("fixed(): option columns: columns[1] (\"name\") has no width; every column of a fixed-width file needs one"),
        "{e}"
    );
    let e = check("key", "fixed(rows, #{ columns: [#{ name: \"id\", widht: 3 }] })");
    assert!(
        e.contains("key.rhai:2:") && e.contains("fixed(): option columns: columns[0] has the unknown key 'widht'"),
        "{e}"
    );
    let e = check(
        "field",
        "fixed(rows, #{ columns: [#{ name: \"id\", width: 3 }], trailer_record: [\"T\"] })",
    );
    assert!(
        e.contains("field.rhai:2:")
            && e.contains("fixed(): option trailer_record: field 1 (T) has no width; in a fixed-width file write it as #{ text: \"T\", width: N }"),
        "{e}"
    );
    let e = check("count", "csv(rows, #{ trailer_record: [#{ count: \"rows\" }] })");
    assert!(
        e.contains("count.rhai:2:")
            && e.contains("csv(): option trailer_record: field 1: count \"rows\" is not \"records\""),
        "{e}"
    );
    let e = check("sum", "csv(rows, #{ trailer_record: [#{ sum: \"amount\" }] })");
    assert!(
        e.contains("sum.rhai:2:")
            && e.contains("csv(): trailer_record: the rows have no column \"amount\" (they have: id, name)"),
        "{e}"
    );
    assert_eq!(p.files("out"), Vec::<String>::new());
}

/// The examples of docs/scripting.md, as written there, write the bytes the
/// docs show.
#[tokio::test(flavor = "multi_thread")]
async fn the_documented_examples_write_what_the_docs_show() {
    let p = Project::new();
    p.sqlite(
        "CREATE TABLE student (person_id INTEGER, last_name TEXT, first_name TEXT, birth_date DATE);
         INSERT INTO student VALUES (1, 'Núñez', 'José', '2011-02-03'), (2, 'Zoë-Ærøskøbing-Müller', 'Ann', '2010-05-17');
         CREATE TABLE fee (person_id INTEGER, last_name TEXT, amount TEXT);
         INSERT INTO fee VALUES (1, 'Núñez', '0.10'), (2, 'O''Brien', '12.50'), (3, 'Zoë', '-2.5');",
    );
    p.script("fixed_doc", &documented("### `fixed(rows, options)`", "rhai", 0));
    p.script("records_doc", &documented("**Header and trailer records.**", "rhai", 0));
    for name in ["fixed_doc", "records_doc"] {
        let report = p.run(name, Trigger::Manual, &[]).await;
        assert!(report.succeeded(), "{name}: {:?}", report.error);
    }
    let roster = p
        .files("out")
        .into_iter()
        .find(|f| f.starts_with("state_roster_"))
        .unwrap();
    let date = &roster["state_roster_".len().."state_roster_".len() + 8];
    let bytes = std::fs::read(p.path(&format!("out/{roster}"))).unwrap();
    let (text, _, bad) = encoding_rs::WINDOWS_1252.decode(&bytes);
    assert!(!bad);
    let shown = documented("### `fixed(rows, options)`", "text", 0).replace("20261203", date);
    assert_eq!(text, shown.replace('\n', "\r\n"));
    assert!(bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .all(|l| l.len() == 53));

    let fees = std::fs::read_to_string(p.path("out/fees.txt")).unwrap();
    let shown = documented("**Header and trailer records.**", "text", 0)
        .replace("12/03/2026", &today().format("%m/%d/%Y").to_string());
    assert_eq!(fees, shown.replace('\n', "\r\n"));
}

/// The roster guards read the rows of a file with records, not the records:
/// a trailer with no name is not a row with an empty required name.
#[tokio::test(flavor = "multi_thread")]
async fn guards_do_not_take_the_records_for_rows() {
    let p = Project::new();
    p.sqlite("CREATE TABLE t (id INTEGER, name TEXT); INSERT INTO t VALUES (1, 'Ann'), (2, 'Bo');");
    p.script(
        "guarded",
        r#"//! [guards]
//! required = ["name"]
//! unique = ["id"]
deliver(csv(query("live", "SELECT id, name FROM t ORDER BY id"), #{
    name: "guarded", header_record: ["H", "1"], trailer_record: ["T"] }), "out");
"#,
    );
    let report = p.run("guarded", Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    assert_eq!(report.held, None);
    assert_eq!(
        std::fs::read_to_string(p.path("out/guarded.csv")).unwrap(),
        "H,1\r\nid,name\r\n1,Ann\r\n2,Bo\r\nT\r\n"
    );
}
