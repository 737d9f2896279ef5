//! Saved ad hoc filters end to end: operators on real rows, parameters as
//! data, active-year scoping, the time limit, rights and load-time checks.

use std::time::Duration;

use ferry::state::Trigger;

use crate::harness::daemon::{eventually, runs, Serve};
use crate::harness::{python_csv, sqlite_column, Project};

const MODEL: &str = r#"
root = "student"
scope = "enrollment.endYear"
[entities.student]
table = "student"
[entities.student.fields]
id = { column = "id", type = "integer" }
name = { column = "name" }
nick = { column = "nick" }
born = { column = "born", type = "date" }
ssn = { column = "ssn", right = "ssn" }
[entities.enrollment]
table = "enrollment"
join = "enrollment.id = student.id"
[entities.enrollment.fields]
endYear = { column = "end_year", type = "integer" }
grade = { column = "grade" }
"#;

fn project() -> Project {
    let p = Project::new();
    std::fs::create_dir_all(p.path("filters")).unwrap();
    std::fs::write(p.path("filters/model.toml"), MODEL).unwrap();
    p.sqlite(
        "CREATE TABLE student (id INTEGER, name TEXT, nick TEXT, born DATE, ssn TEXT);
         INSERT INTO student VALUES (1, 'Lee', NULL, '2010-01-05', '900-00-0001'), (2, 'McKay', '', '2011-03-01', '900-00-0002'),
           (3, 'Ng', 'Nee', '2012-07-09', '900-00-0003'), (4, '50%_off', 'x', '2013-01-01', '900-00-0004'), (5, 'Old', 'o', '2000-01-01', '900-00-0005');
         CREATE TABLE enrollment (id INTEGER, end_year INTEGER, grade TEXT);
         INSERT INTO enrollment VALUES (1, 2027, '09'), (2, 2027, '10'), (3, 2027, '11'), (4, 2027, '12'), (5, 2020, '12');",
    );
    p
}

fn save_filter(p: &Project, name: &str, body: &str) {
    std::fs::write(
        p.path(&format!("filters/{name}.toml")),
        format!("owner = \"ann\"\nfields = [\"student.id\"]\nsort = [\"student.id\"]\n{body}"),
    )
    .unwrap();
}

async fn ids(p: &Project, filter: &str, params: &str) -> Vec<String> {
    p.script(
        "f",
        &format!("deliver(csv(filter(\"{filter}\", #{{ {params} }}), #{{ name: \"f\" }}), \"out\");\n"),
    );
    let r = p.run("f", Trigger::Manual, &[]).await;
    assert!(r.succeeded(), "{filter}: {:?}", r.error);
    python_csv(&p.path("out/f.csv"), ',', "utf-8")
        .into_iter()
        .skip(1)
        .map(|r| r[0].clone())
        .collect()
}

fn cond(field: &str, op: &str, value: &str) -> String {
    format!(
        "[[conditions]]\nfield = \"{field}\"\nop = \"{op}\"\n{}",
        if value.is_empty() {
            String::new()
        } else {
            format!("value = {value}\n")
        }
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operator_selects_the_right_rows_in_the_active_year_only() {
    let p = project();
    let cases: &[(&str, &str, &str, &[&str])] = &[
        ("student.name", "=", "\"Ng\"", &["3"]),
        ("student.name", "<>", "\"Ng\"", &["1", "2", "4"]),
        ("student.id", "<", "3", &["1", "2"]),
        ("student.id", ">", "3", &["4"]),
        ("student.id", "<=", "2", &["1", "2"]),
        ("student.id", ">=", "2", &["2", "3", "4"]),
        (
            "student.born",
            "between",
            "[\"2011-01-01\", \"2012-12-31\"]",
            &["2", "3"],
        ),
        ("enrollment.grade", "in", "[\"09\", \"11\"]", &["1", "3"]),
        ("student.nick", "is empty", "", &["1", "2"]),
        ("student.nick", "is not empty", "", &["3", "4"]),
        ("student.name", "starts with", "\"Mc\"", &["2"]),
        ("student.name", "starts with", "\"50%_\"", &["4"]),
        ("student.name", "contains", "\"e\"", &["1"]),
        ("student.name", "contains", "\"%\"", &["4"]),
    ];
    for (i, (field, op, value, want)) in cases.iter().enumerate() {
        save_filter(&p, &format!("op{i}"), &cond(field, op, value));
        assert_eq!(ids(&p, &format!("op{i}"), "").await, *want, "{field} {op} {value}");
    }
    // Student 5 is enrolled only in 2020: never in a result.
    save_filter(&p, "all", "");
    assert_eq!(ids(&p, "all", "").await, ["1", "2", "3", "4"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn values_with_sql_in_them_are_data() {
    let p = project();
    save_filter(&p, "who", &cond("student.name", "=", "{ param = \"name\" }"));
    assert_eq!(
        ids(&p, "who", "name: \"'; DROP TABLE student; --\"").await,
        Vec::<String>::new()
    );
    assert_eq!(ids(&p, "who", "name: \"Lee\"").await, ["1"]);
    assert_eq!(
        sqlite_column(&p.path("fixture.db"), "SELECT COUNT(*) FROM student"),
        ["5"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_fields_and_operators_are_refused_when_the_script_loads() {
    let p = project();
    save_filter(&p, "bad", &cond("student.shoe", "=", "1"));
    p.script("uses_bad", "csv(filter(\"bad\"));\n");
    let out = p.ferry(&["check", "uses_bad"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stdout.contains("uses_bad.rhai:1: unknown field 'student.shoe'") && out.stdout.contains("student.name"),
        "{}",
        out.stdout
    );
    save_filter(&p, "bad", &cond("student.name", "sounds like", "\"x\""));
    let out = p.ferry(&["check", "uses_bad"]);
    assert!(
        out.stdout.contains("unknown operator 'sounds like'") && out.stdout.contains("starts with"),
        "{}",
        out.stdout
    );
    p.script("uses_none", "csv(filter(\"nope\"));\n");
    assert!(p
        .ferry(&["check", "uses_none"])
        .stdout
        .contains("no filter named 'nope'"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_filter_that_runs_too_long_fails_clearly() {
    let p = project();
    let config = std::fs::read_to_string(p.path("ferry.toml")).unwrap();
    p.config(&format!("filter_timeout = \"1s\"\n{config}"));
    // A "table" that is a slow view: every student joined with a long series.
    p.sqlite("CREATE VIEW slow AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) SELECT s.id, s.name, s.nick, s.born, s.ssn FROM student s, n;");
    std::fs::write(
        p.path("filters/model.toml"),
        MODEL.replace("table = \"student\"", "table = \"slow\""),
    )
    .unwrap();
    save_filter(&p, "big", "");
    p.script("f", "deliver(csv(filter(\"big\"), #{ name: \"big\" }), \"out\");\n");
    let r = p.run("f", Trigger::Manual, &[]).await;
    let e = r.error.unwrap();
    assert!(
        e.contains("f.rhai:1:") && e.contains("filter 'big' did not finish within 1s"),
        "{e}"
    );
    assert!(!p.path("out/big.csv").exists());
}

#[test]
fn rights_are_checked_and_a_revoked_right_stops_the_scheduled_script() {
    let p = project();
    save_filter(&p, "ids", &cond("student.ssn", "is not empty", ""));
    p.ferry(&["users", "add", "ann"]).ok();
    p.ferry(&["groups", "add", "tech"]).ok();
    p.ferry(&["groups", "add-member", "tech", "ann"]).ok();
    // With users defined, the owner needs "adhoc" and the field's "ssn".
    p.script("by_hand", "deliver(csv(filter(\"ids\"), #{ name: \"h\" }), \"out\");\n");
    let out = p.ferry(&["run", "by_hand"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("owner 'ann' does not have the right 'adhoc'"),
        "{}",
        out.stdout
    );
    p.ferry(&["users", "grant", "ann", "adhoc"]).ok();
    let out = p.ferry(&["run", "by_hand"]);
    assert!(
        out.stdout.contains("right 'ssn' needed by student.ssn"),
        "{}",
        out.stdout
    );
    p.ferry(&["users", "grant", "ann", "ssn"]).ok();
    p.ferry(&["run", "by_hand"]).ok();

    p.script("nightly", "//! schedule = 'cron \"* * * * * *\"'\n//! notify = \"tech\"\ndeliver(csv(filter(\"ids\"), #{ name: \"n\" }), \"out\");\n");
    let serve = Serve::start(&p, &[]);
    eventually(Duration::from_secs(30), "scheduled runs", || {
        runs(&p, "nightly").iter().any(|r| r.status == "succeeded")
    });
    p.ferry(&["users", "revoke", "ann", "ssn"]).ok();
    // Under a loaded machine every-second runs queue up; allow a minute and
    // say what the daemon did when it does not come.
    let start = std::time::Instant::now();
    loop {
        let out = p.ferry(&["notifications", "--wide", "--user", "ann"]);
        if out.stdout.contains("nightly is stopped") && out.stdout.contains("right 'ssn'") {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let statuses: Vec<String> = runs(&p, "nightly")
                .iter()
                .take(10)
                .map(|r| format!("{} {:?}", r.status, r.error))
                .collect();
            panic!(
                "no stop notification after 60 s\nnotifications: {}\nlatest runs: {statuses:#?}\nserve log:\n{}",
                out.stdout,
                serve.log()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let n = runs(&p, "nightly").len();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(runs(&p, "nightly").len(), n, "a stopped script does not run");
    assert!(p.ferry(&["list", "--wide"]).stdout.contains("suspended"));
    p.ferry(&["users", "grant", "ann", "ssn"]).ok();
    p.ferry(&["resume", "nightly"]).ok();
    eventually(Duration::from_secs(30), "runs after resume", || {
        runs(&p, "nightly").len() > n
    });
}

#[test]
fn the_shipped_filter_runs_on_the_demo_district() {
    let p = Project::from_repo();
    p.script(
        "ninth",
        "deliver(csv(filter(\"grade_nine\"), #{ name: \"ninth\" }), \"out\");\n",
    );
    p.ferry(&["run", "ninth"]).ok();
    let db = p.path(".ferry/demo.db");
    let year = sqlite_column(&db, "SELECT end_year FROM school_year WHERE active = 1")[0].clone();
    let want = sqlite_column(
        &db,
        &format!("SELECT COUNT(*) FROM enrollment WHERE end_year = {year} AND grade = '09'"),
    )[0]
    .clone();
    let rows = python_csv(&p.path("out/ninth.csv"), ',', "utf-8");
    assert_eq!(rows[0], ["personID", "lastName", "firstName", "grade", "name"]);
    assert_eq!((rows.len() - 1).to_string(), want);
    assert!(rows.iter().skip(1).all(|r| r[3] == "09"));
    let test = p.ferry(&["filters", "test", "grade_nine", "--rows", "3"]);
    assert!(test.ok().contains(&format!("{want} rows")), "{}", test.stdout);
    assert!(p
        .ferry(&["filters", "show", "grade_nine"])
        .ok()
        .contains("WHERE enrollment.end_year = :v1"));
    assert!(p.ferry(&["filters", "list", "--wide"]).ok().contains("Ninth graders"));
}

#[tokio::test(flavor = "multi_thread")]
async fn use_warehouse_sends_live_queries_and_filters_to_the_warehouse() {
    let p = project();
    crate::harness::sqlite_exec(
        &p.path("warehouse.db"),
        "CREATE TABLE student (id INTEGER, name TEXT, nick TEXT, born DATE, ssn TEXT); INSERT INTO student VALUES (42, 'Dw', NULL, NULL, NULL);
         CREATE TABLE enrollment (id INTEGER, end_year INTEGER, grade TEXT); INSERT INTO enrollment VALUES (42, 2027, '09');",
    );
    save_filter(&p, "all", "");
    let script = "//! use_warehouse = true\ndeliver(csv(query(\"live\", \"SELECT id FROM student\"), #{ name: \"q\" }), \"out\");\ndeliver(csv(filter(\"all\"), #{ name: \"f\" }), \"out\");\n";
    p.script("w", script);
    // Found when the script loads: the warehouse it asks for is not configured.
    let out = p.ferry(&["check", "w"]);
    assert!(
        out.stdout.contains("w.rhai:2: unknown database 'warehouse'"),
        "{}",
        out.stdout
    );
    let config = std::fs::read_to_string(p.path("ferry.toml")).unwrap();
    p.config(&format!(
        "{config}[databases.warehouse]\nurl = \"sqlite:warehouse.db\"\n"
    ));
    let r = p.run("w", Trigger::Manual, &[]).await;
    assert!(r.succeeded(), "{:?}", r.error);
    assert_eq!(std::fs::read_to_string(p.path("out/q.csv")).unwrap(), "id\r\n42\r\n");
    assert_eq!(std::fs::read_to_string(p.path("out/f.csv")).unwrap(), "id\r\n42\r\n");
}
