//! `xlsx()` on PostgreSQL: the documented example's workbook read back by
//! openpyxl, each cell's value, type and number format compared with what
//! `psql` prints for the same rows.

use ferry::state::Trigger;

use super::harness::{documented, python_xlsx, XlsxSheet};
use super::{project, psql, Project};

/// Runs `script` and reads `out/NAME.xlsx`.
async fn workbook(p: &Project, name: &str, script: &str) -> Vec<XlsxSheet> {
    p.script(name, script);
    let report = p.run(name, Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{name}: {:?}", report.error);
    python_xlsx(&p.path(&format!("out/{name}.xlsx")))
}

/// psql's rows, fields split on the unit separator, NULL as `None`.
fn psql_rows(sql: &str) -> Vec<Vec<Option<String>>> {
    psql(&format!("SET TimeZone = 'UTC'; {sql}"))
        .lines()
        .filter(|l| *l != "SET")
        .map(|l| l.split('\u{1f}').map(|f| (f != "\\N").then(|| f.to_string())).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_documented_example_keeps_every_cells_type() {
    psql(
        "DROP TABLE IF EXISTS ferry_xlsx_student; CREATE TABLE ferry_xlsx_student (id integer, name text, \
         gpa numeric(3,2), active boolean, born date, enrolled_at timestamptz, grade integer); \
         INSERT INTO ferry_xlsx_student VALUES \
         (1, 'Zoë O''Brien', 3.50, true, '2010-01-31', '2026-08-15 07:30:00-05', 9), \
         (2, 'José', 0.05, false, '2011-12-01', NULL, 10), \
         (3, '=1+1', NULL, NULL, NULL, '2026-12-01 23:59:59+00', 9);",
    );
    let p = project();
    let after = "### `xlsx(rows, options)`";
    let script = documented(after, "rhai", 0)
        .replace("query(\"live\"", "query(\"pg\"")
        .replace("FROM student ", "FROM ferry_xlsx_student ")
        .replace("\"staff\")", "\"out\")");
    let book = workbook(&p, "counselors", &script).await;
    let names: Vec<&str> = book.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Students", "By grade"]);

    let want = psql_rows(
        "SELECT concat_ws(chr(31), id, name, coalesce(gpa::text, '\\N'), coalesce(active::text, '\\N'), \
         coalesce(born::text, '\\N'), coalesce(to_char(enrolled_at, 'YYYY-MM-DD HH24:MI:SS'), '\\N')) \
         FROM ferry_xlsx_student ORDER BY id",
    );
    let students = &book[0];
    assert_eq!(students.freeze.as_deref(), Some("A2"));
    assert_eq!(students.rows.len(), want.len() + 1, "a header and every row");
    for (r, (got, want)) in students.rows[1..].iter().zip(&want).enumerate() {
        let cell = |c: usize| got[c].as_ref().map(|(t, v, f, _)| (t.as_str(), v.as_str(), f.as_str()));
        let w = |c: usize| want[c].as_deref();
        assert_eq!(cell(0).map(|c| (c.0, c.1)), w(0).map(|v| ("number", v)), "row {r} id");
        assert_eq!(cell(1).map(|c| (c.0, c.1)), w(1).map(|v| ("text", v)), "row {r} name");
        match (cell(2), w(2)) {
            (None, None) => {}
            (Some((t, v, f)), Some(db)) => {
                assert_eq!(t, "number", "row {r} gpa");
                assert_eq!(v.parse::<f64>().unwrap(), db.parse::<f64>().unwrap(), "row {r} gpa");
                assert_eq!(f, "0.00", "row {r}: shown with the database's two places");
            }
            other => panic!("row {r} gpa: {other:?}"),
        }
        let active = w(3).map(|v| ("bool", if v == "true" { "true" } else { "false" }));
        assert_eq!(cell(3).map(|c| (c.0, c.1)), active, "row {r} active");
        let born = w(4).map(|d| format!("{d} 00:00:00"));
        assert_eq!(
            cell(4).map(|c| (c.0, c.1.to_string(), c.2)),
            born.map(|d| ("datetime", d, "yyyy-mm-dd")),
            "row {r} born"
        );
        assert_eq!(
            cell(5).map(|c| (c.0, c.1, c.2)),
            w(5).map(|t| ("datetime", t, "yyyy-mm-dd hh:mm:ss")),
            "row {r} enrolled_at, in UTC"
        );
    }
    let grades: Vec<Vec<Option<(String, String)>>> = book[1]
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| c.as_ref().map(|(t, v, _, _)| (t.clone(), v.clone())))
                .collect()
        })
        .collect();
    let n = |v: &str| Some(("number".to_string(), v.to_string()));
    let t = |v: &str| Some(("text".to_string(), v.to_string()));
    assert_eq!(
        grades,
        vec![
            vec![t("grade"), t("students")],
            vec![n("9"), n("2")],
            vec![n("10"), n("1")]
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn what_excel_cannot_hold_stays_text_on_postgres() {
    psql(
        "DROP TABLE IF EXISTS ferry_xlsx_edge; CREATE TABLE ferry_xlsx_edge (big numeric, score float8, \
         at time, doc jsonb, old date); INSERT INTO ferry_xlsx_edge VALUES \
         (123456789012345678901234.5678, 'NaN', '07:30:15', '{\"a\": [1, 2]}', '1850-06-01'), \
         (-12.5, '-Infinity', '23:59:59.25', 'null', '2026-02-28');",
    );
    let p = project();
    let book = workbook(
        &p,
        "edge",
        r#"deliver(xlsx(query("pg", "SELECT * FROM ferry_xlsx_edge ORDER BY big DESC"), #{}), "out");"#,
    )
    .await;
    let rows: Vec<Vec<Option<(&str, &str)>>> = book[0].rows[1..]
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| c.as_ref().map(|(t, v, _, _)| (t.as_str(), v.as_str())))
                .collect()
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            vec![
                Some(("text", "123456789012345678901234.5678")),
                Some(("text", "NaN")),
                Some(("time", "07:30:15")),
                Some(("text", "{\"a\": [1, 2]}")),
                Some(("text", "1850-06-01")),
            ],
            vec![
                Some(("number", "-12.5")),
                Some(("text", "-Infinity")),
                Some(("time", "23:59:59.250000")),
                Some(("text", "null")),
                Some(("datetime", "2026-02-28 00:00:00")),
            ],
        ]
    );
}
