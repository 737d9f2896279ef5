//! `xlsx()` workbooks from SQLite read back by Python's openpyxl: cell
//! values and types, the styled and frozen header, several sheets, Excel's
//! limits and the errors for names Excel refuses. In the server suite
//! because openpyxl is installed by `.ci/run`, not by Python itself.

use ferry::state::Trigger;

use crate::harness::{python_xlsx, Project, XlsxCell, XlsxSheet};

fn project() -> Project {
    let p = Project::new();
    p.sqlite(
        "CREATE TABLE student (id INTEGER, name TEXT, gpa REAL, active BOOLEAN, born DATE, seen DATETIME, ssn_like TEXT, big INTEGER);
         INSERT INTO student VALUES
           (1, 'Zoë O''Brien', 3.5, 1, '2010-01-31', '2026-08-15 07:30:00', '=cmd|'' /C calc''!A0', 1234567890123456789),
           (2, '  José  ', NULL, 0, '1899-12-31', NULL, '007', 42),
           (3, NULL, -0.25, NULL, NULL, '2026-12-01 23:59:59.5', '', NULL);",
    );
    p
}

/// One cell as (type, value).
fn tv(c: &Option<XlsxCell>) -> Option<(&str, &str)> {
    c.as_ref().map(|(t, v, _, _)| (t.as_str(), v.as_str()))
}

async fn run(p: &Project, name: &str, script: &str) -> Vec<XlsxSheet> {
    p.script(name, script);
    let report = p.run(name, Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{name}: {:?}", report.error);
    python_xlsx(&p.path(&format!("out/{name}.xlsx")))
}

#[tokio::test(flavor = "multi_thread")]
async fn cells_keep_the_databases_types() {
    let p = project();
    let book = run(
        &p,
        "roster",
        r#"deliver(xlsx(query("live", "SELECT * FROM student ORDER BY id"), #{ sheet: "Students" }), "out");"#,
    )
    .await;
    assert_eq!(book.len(), 1);
    let s = &book[0];
    assert_eq!(s.name, "Students");
    assert_eq!(s.freeze.as_deref(), Some("A2"), "the header row stays in view");
    let header: Vec<(&str, bool)> = s.rows[0]
        .iter()
        .map(|c| {
            let (_, v, _, bold) = c.as_ref().expect("every column is named");
            (v.as_str(), *bold)
        })
        .collect();
    assert_eq!(
        header,
        ["id", "name", "gpa", "active", "born", "seen", "ssn_like", "big"].map(|n| (n, true))
    );
    let rows: Vec<Vec<Option<(&str, &str)>>> = s.rows[1..].iter().map(|r| r.iter().map(tv).collect()).collect();
    assert_eq!(
        rows,
        vec![
            vec![
                Some(("number", "1")),
                Some(("text", "Zoë O'Brien")),
                Some(("number", "3.5")),
                Some(("bool", "true")),
                Some(("datetime", "2010-01-31 00:00:00")),
                Some(("datetime", "2026-08-15 07:30:00")),
                // A formula's text is a string cell: it cannot run.
                Some(("text", "=cmd|' /C calc'!A0")),
                // 19 digits: Excel keeps 15, so it stays text, every digit.
                Some(("text", "1234567890123456789")),
            ],
            vec![
                Some(("number", "2")),
                Some(("text", "  José  ")),
                None,
                Some(("bool", "false")),
                // Before 1900 Excel has no date: the text is kept.
                Some(("text", "1899-12-31")),
                None,
                Some(("text", "007")),
                Some(("number", "42")),
            ],
            vec![
                Some(("number", "3")),
                None,
                Some(("number", "-0.25")),
                None,
                None,
                Some(("datetime", "2026-12-01 23:59:59.500000")),
                // An empty string is an empty cell to openpyxl.
                None,
                None,
            ],
        ]
    );
    let formats: Vec<&str> = s.rows[1][4..6].iter().map(|c| c.as_ref().unwrap().2.as_str()).collect();
    assert_eq!(formats, ["yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"]);
    // Columns are widened to their longest value.
    assert!(s.widths["B"] >= 13.0 && s.widths["E"] >= 12.0, "{:?}", s.widths);
}

#[tokio::test(flavor = "multi_thread")]
async fn several_sheets_in_the_order_given() {
    let p = project();
    let book = run(
        &p,
        "staff",
        r#"let all = query("live", "SELECT id, name FROM student ORDER BY id");
           let active = query("live", "SELECT id FROM student WHERE active ORDER BY id");
           let file = xlsx([sheet("Everyone", all), sheet("Active – Zoë", active.map(|r| { r.twice = r.id * 2; r }))],
                           #{ name: "staff", header: false });
           if file.rows != 4 { throw `rows ${file.rows}`; }
           deliver(file, "out");"#,
    )
    .await;
    let names: Vec<&str> = book.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Everyone", "Active – Zoë"]);
    assert_eq!(book[0].rows.len(), 3, "no header row");
    assert_eq!(book[0].freeze, None);
    let active: Vec<Vec<Option<(&str, &str)>>> = book[1].rows.iter().map(|r| r.iter().map(tv).collect()).collect();
    assert_eq!(active, vec![vec![Some(("number", "1")), Some(("number", "2"))]]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_result_is_a_workbook_with_its_header() {
    let p = project();
    let book = run(
        &p,
        "empty",
        r#"deliver(xlsx(query("live", "SELECT id, name FROM student WHERE id > 9"), #{}), "out");"#,
    )
    .await;
    assert_eq!(book.len(), 1);
    assert_eq!(book[0].name, "Sheet1");
    let header: Vec<Option<(&str, &str)>> = book[0].rows[0].iter().map(tv).collect();
    assert_eq!(header, [Some(("text", "id")), Some(("text", "name"))]);
    assert_eq!(book[0].rows.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn names_excel_refuses_are_errors_naming_the_line() {
    let p = project();
    let q = r#"query("live", "SELECT id FROM student")"#;
    for (script, body, want) in [
        ("slash", format!(r#"deliver(xlsx({q}, #{{ sheet: "Q1/Q2" }}), "out");"#), "option sheet: sheet name \"Q1/Q2\" is not allowed: Excel does not allow any of [ ] : * ? / \\"),
        ("long", format!("let s = sheet(\"{}\", {q});\ndeliver(xlsx([s], #{{}}), \"out\");", "x".repeat(32)), "sheet(): sheet name \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\" is not allowed: Excel allows at most 31 characters"),
        ("twice", format!(r#"deliver(xlsx([sheet("Staff", {q}), sheet("STAFF", {q})], #{{}}), "out");"#), "xlsx(): sheet name \"STAFF\" is not allowed: another sheet has that name (Excel ignores case)"),
        ("mixed", format!(r#"deliver(xlsx([sheet("Staff", {q})], #{{ columns: ["id"] }}), "out");"#), "xlsx(): option columns is for one sheet of rows"),
    ] {
        p.script(script, &body);
        let error = p.run(script, Trigger::Manual, &[]).await.error.expect("refused");
        assert!(
            error.contains(&format!("{script}.rhai:1")) && error.contains(want),
            "{script}: {error}"
        );
        assert!(!p.path(&format!("out/{script}.xlsx")).exists(), "{script}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_value_longer_than_a_cell_names_the_row_and_column() {
    let p = project();
    p.script(
        "long",
        r#"let rows = query("live", "SELECT id, printf('%.40000c', 'x') AS essay FROM student ORDER BY id");
           deliver(xlsx(rows, #{}), "out");"#,
    );
    let error = p.run("long", Trigger::Manual, &[]).await.error.expect("refused");
    assert!(
        error.contains("long.rhai:2") && error.contains("row 1, column \"essay\": the value has 40000 characters"),
        "{error}"
    );
    assert!(!p.path("out/long.xlsx").exists());
}
