//! The real-server suite: PostgreSQL and MariaDB on 127.0.0.1, as CI and this
//! machine kind provide them, and the console in headless Chromium. Built
//! only with `--features server-tests`; a missing server (or browser) fails
//! these tests, it never skips them.
//!
//! Fixtures are written with the servers' own clients (`psql`, `mariadb`),
//! and results are compared with what SQLite gives for the same data.

#![allow(clippy::unwrap_used)] // a test that unwraps fails with the error; see clippy.toml
#![allow(unreachable_pub)] // helpers are shared between test modules by `pub`; nothing outside this binary can see them

#[path = "servers/browser.rs"]
mod browser;
#[path = "servers/console_admin.rs"]
mod console_admin;
#[path = "servers/console_browser.rs"]
mod console_browser;
#[path = "servers/crash.rs"]
mod crash;
#[path = "doctor.rs"]
mod doctor;
#[path = "servers/driver_notices.rs"]
mod driver_notices;
#[path = "servers/frictionless.rs"]
mod frictionless;
#[path = "servers/ftps.rs"]
mod ftps;
#[path = "servers/grace.rs"]
mod grace;
mod harness;
#[path = "servers/json.rs"]
mod json;
#[path = "servers/oidc.rs"]
mod oidc;
#[path = "servers/pg_copy.rs"]
mod pg_copy;
#[path = "servers/pgp.rs"]
mod pgp;
#[path = "servers/sftp.rs"]
mod sftp;
#[path = "servers/smb.rs"]
mod smb;
#[path = "servers/sweep.rs"]
mod sweep;
#[path = "servers/values.rs"]
mod values;
#[path = "servers/xlsx.rs"]
mod xlsx;
#[path = "servers/xlsx_sqlite.rs"]
mod xlsx_sqlite;

use std::process::Command;

use ferry::state::Trigger;
use harness::{python_csv, Project};

const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const MARIA_URL: &str = "mysql://root@127.0.0.1:3306/test";

fn psql(sql: &str) -> String {
    psql_on("test", sql)
}

fn mariadb(sql: &str) -> String {
    let out = Command::new("mariadb")
        .args([
            "-h",
            "127.0.0.1",
            "-P",
            "3306",
            "-u",
            "root",
            "--default-character-set=utf8mb4",
            "-N",
            "-B",
            "test",
            "-e",
        ])
        .arg(format!("SET time_zone = '+00:00'; {sql}"))
        .output()
        .expect("the mariadb program is installed");
    assert!(
        out.status.success(),
        "mariadb (is MariaDB running on 127.0.0.1:3306?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn project() -> Project {
    let p = Project::new();
    p.config(&format!(
        "timezone = \"America/Chicago\"\nactive_year = 2027\n\
         [databases.live]\nurl = \"sqlite:fixture.db\"\n\
         [databases.pg]\nurl = \"{PG_URL}\"\n\
         [databases.maria]\nurl = \"{MARIA_URL}\"\n\
         [destinations.out]\nmode = \"local\"\npath = \"out\"\n"
    ));
    p
}

/// (id, name, born, amount, active, score, note, created, created_tz UTC, data hex)
type Row = (
    i32,
    &'static str,
    &'static str,
    &'static str,
    bool,
    f64,
    Option<&'static str>,
    &'static str,
    &'static str,
    &'static str,
);

const ROWS: &[Row] = &[
    (
        1,
        "Zoë O'Brien",
        "2011-02-03",
        "12.50",
        true,
        0.1,
        Some("likes, commas | pipes ~ tildes"),
        "2026-08-15 07:30:00",
        "2026-08-15 12:30:00",
        "00ff10",
    ),
    (
        2,
        "José \"Pepe\" Nuñez",
        "2010-12-31",
        "-3.00",
        false,
        -2.5,
        Some("line one\nline two"),
        "2026-08-15 07:30:00.123456",
        "2026-01-01 00:00:00.5",
        "",
    ),
    (
        3,
        "Smith, Jr.",
        "2009-01-01",
        "0.00",
        true,
        100.0,
        None,
        "2000-02-29 23:59:59",
        "1999-12-31 23:59:59",
        "41",
    ),
    (
        4,
        "Đặng Thị\ttab",
        "2012-06-15",
        "999999.99",
        false,
        1e-7,
        Some(""),
        "2026-11-28 00:00:00",
        "2026-11-28 06:00:00",
        "deadbeef",
    ),
];

fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Creates the same table in SQLite, PostgreSQL and MariaDB.
fn same_table(p: &Project, table: &str) {
    let mut lite = format!("CREATE TABLE {table} (id INTEGER, name TEXT, born DATE, amount TEXT, active BOOLEAN, score REAL, note TEXT, created TEXT, created_tz TEXT, data BLOB);");
    let mut pg = format!(
        "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id INT, name TEXT, born DATE, amount NUMERIC(8,2), active BOOLEAN, score DOUBLE PRECISION, note TEXT, created TIMESTAMP(6), created_tz TIMESTAMPTZ, data BYTEA);"
    );
    let mut my = format!(
        "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id INT, name VARCHAR(100), born DATE, amount DECIMAL(8,2), active BOOLEAN, score DOUBLE, note TEXT, created DATETIME(6), created_tz TIMESTAMP(6) NULL, data VARBINARY(16)) DEFAULT CHARSET=utf8mb4;"
    );
    for (id, name, born, amount, active, score, note, created, tz, data) in ROWS {
        let note = note.map(q).unwrap_or_else(|| "NULL".into());
        // SQLite keeps text as given: zoned instants are stored already rendered.
        let tz_text = {
            let t = chrono::NaiveDateTime::parse_from_str(tz, "%Y-%m-%d %H:%M:%S%.f")
                .unwrap()
                .and_utc();
            let mut s = String::new();
            ferry::source::render::timestamp_tz(&mut s, t);
            s
        };
        lite.push_str(&format!(
            "INSERT INTO {table} VALUES ({id}, {}, '{born}', '{amount}', {}, {score:e}, {note}, '{created}', '{tz_text}', x'{data}');",
            q(name),
            *active as i32
        ));
        pg.push_str(&format!(
            "INSERT INTO {table} VALUES ({id}, {}, '{born}', {amount}, {active}, {score:e}, {note}, '{created}', '{tz}+00', '\\x{data}');",
            q(name).replace('\\', "\\\\")
        ));
        my.push_str(&format!(
            "INSERT INTO {table} VALUES ({id}, {}, '{born}', {amount}, {active}, {score:e}, {note}, '{created}', '{tz}', x'{data}');",
            q(name).replace('\\', "\\\\")
        ));
    }
    p.sqlite(&lite);
    psql(&pg);
    mariadb(&my);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_query_gives_the_same_bytes_from_all_three_databases() {
    let p = project();
    same_table(&p, "ferry_same");
    p.script(
        "same",
        r#"//! [params]
//! db = "live"
let sql = "SELECT id, name, born, amount, active, score, note, created, created_tz, data FROM ferry_same ORDER BY id";
for d in ["comma", "tab", "pipe", "tilde"] {
    for q in [true, false] {
        for h in [true, false] {
            for cs in ["utf-8", "us-ascii"] {
                deliver(csv(query(params.db, sql), #{ name: `${params.db}_${d}_${q}_${h}_${cs}`, delimiter: d, quotes: q, header: h, charset: cs }), "out");
            }
        }
    }
}
deliver(html(query(params.db, sql), #{ name: `${params.db}`, title: "same" }), "out");
"#,
    );
    for db in ["live", "pg", "maria"] {
        let r = p.run("same", Trigger::Manual, &[("db", db)]).await;
        assert!(r.succeeded(), "{db}: {:?}", r.error);
        assert_eq!(r.files.len(), 33);
    }
    let mut compared = 0;
    let read = |f: &str| std::fs::read(p.path(&format!("out/{f}"))).unwrap();
    for f in p.files("out").iter().filter(|f| f.starts_with("live_")) {
        let lite = read(f);
        for db in ["pg", "maria"] {
            let other = read(&f.replacen("live", db, 1));
            assert!(
                lite == other,
                "{f} differs from {db}:\n{}\n---\n{}",
                String::from_utf8_lossy(&lite),
                String::from_utf8_lossy(&other)
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 64);
    // HTML right-aligns numeric columns by their type, and SQLite has no
    // exact decimal type (the amount is TEXT there), so the HTML matches
    // between the two typed databases.
    assert_eq!(
        String::from_utf8(read("pg.html")).unwrap(),
        String::from_utf8(read("maria.html")).unwrap()
    );
    // And the documented rendering, field by field, read back by Python.
    let rows = python_csv(&p.path("out/pg_comma_false_true_utf-8.csv"), ',', "utf-8");
    assert_eq!(
        rows[0],
        [
            "id",
            "name",
            "born",
            "amount",
            "active",
            "score",
            "note",
            "created",
            "created_tz",
            "data"
        ]
    );
    assert_eq!(
        rows[1],
        [
            "1",
            "Zoë O'Brien",
            "2011-02-03",
            "12.50",
            "true",
            "0.1",
            "likes, commas | pipes ~ tildes",
            "2026-08-15 07:30:00",
            "2026-08-15T12:30:00Z",
            "00ff10"
        ]
    );
    assert_eq!(
        rows[2],
        [
            "2",
            "José \"Pepe\" Nuñez",
            "2010-12-31",
            "-3.00",
            "false",
            "-2.5",
            "line one\nline two",
            "2026-08-15 07:30:00.123456",
            "2026-01-01T00:00:00.500000Z",
            ""
        ]
    );
    assert_eq!(
        rows[3],
        [
            "3",
            "Smith, Jr.",
            "2009-01-01",
            "0.00",
            "true",
            "100",
            "",
            "2000-02-29 23:59:59",
            "1999-12-31T23:59:59Z",
            "41"
        ]
    );
    assert_eq!(
        rows[4],
        [
            "4",
            "Đặng Thị\ttab",
            "2012-06-15",
            "999999.99",
            "false",
            "0.0000001",
            "",
            "2026-11-28 00:00:00",
            "2026-11-28T06:00:00Z",
            "deadbeef"
        ]
    );
}

/// MariaDB text is text in every character set and collation, binary ones
/// included (`utf8mb4_bin` once came out as hexadecimal): each gives the
/// same bytes as the same data in PostgreSQL and SQLite, for every
/// delimiter, quoting, header and charset combination.
#[tokio::test(flavor = "multi_thread")]
async fn mariadb_text_in_every_collation_matches_postgres_and_sqlite_byte_for_byte() {
    let p = project();
    same_table(&p, "ferry_coll");
    // latin1 cannot hold row 4 (Đặng Thị): its tables are compared with a
    // copy of the data without it.
    p.sqlite(
        "CREATE TABLE ferry_coll_l1 (id INTEGER, name TEXT, born DATE, amount TEXT, active BOOLEAN, score REAL, \
         note TEXT, created TEXT, created_tz TEXT, data BLOB); \
         INSERT INTO ferry_coll_l1 SELECT * FROM ferry_coll WHERE id <> 4;",
    );
    psql("DROP TABLE IF EXISTS ferry_coll_l1; CREATE TABLE ferry_coll_l1 AS SELECT * FROM ferry_coll WHERE id <> 4;");
    let collations = [
        ("utf8mb4", "utf8mb4_bin", "ferry_coll"),
        ("utf8mb4", "utf8mb4_unicode_ci", "ferry_coll"),
        ("utf8mb3", "utf8mb3_bin", "ferry_coll"),
        ("latin1", "latin1_swedish_ci", "ferry_coll_l1"),
        ("latin1", "latin1_bin", "ferry_coll_l1"),
    ];
    for (charset, collation, base) in collations {
        let rows = if base == "ferry_coll" { "" } else { " WHERE id <> 4" };
        mariadb(&format!(
            "DROP TABLE IF EXISTS ferry_{collation}; CREATE TABLE ferry_{collation} LIKE ferry_coll; \
             ALTER TABLE ferry_{collation} MODIFY name VARCHAR(100) CHARACTER SET {charset} COLLATE {collation}, \
             MODIFY note TEXT CHARACTER SET {charset} COLLATE {collation}; \
             INSERT INTO ferry_{collation} SELECT * FROM ferry_coll{rows};"
        ));
    }
    p.script(
        "coll",
        r#"//! [params]
//! db = "live"
//! table = "ferry_coll"
//! label = "x"
let sql = `SELECT id, name, born, amount, active, score, note, created, created_tz, data FROM ${params.table} ORDER BY id`;
for d in ["comma", "tab", "pipe", "tilde"] {
    for q in [true, false] {
        for h in [true, false] {
            for cs in ["utf-8", "us-ascii"] {
                deliver(csv(query(params.db, sql), #{ name: `${params.label}_${d}_${q}_${h}_${cs}`, delimiter: d, quotes: q, header: h, charset: cs }), "out");
            }
        }
    }
}
"#,
    );
    for (db, table, label) in [
        ("live", "ferry_coll", "live_all"),
        ("pg", "ferry_coll", "pg_all"),
        ("live", "ferry_coll_l1", "live_l1"),
        ("pg", "ferry_coll_l1", "pg_l1"),
    ] {
        let r = p
            .run(
                "coll",
                Trigger::Manual,
                &[("db", db), ("table", table), ("label", label)],
            )
            .await;
        assert!(r.succeeded(), "{db} {table}: {:?}", r.error);
    }
    let read = |f: &str| std::fs::read(p.path(&format!("out/{f}"))).unwrap();
    let mut compared = 0;
    for (_, collation, base) in collations {
        let table = format!("ferry_{collation}");
        let r = p
            .run(
                "coll",
                Trigger::Manual,
                &[("db", "maria"), ("table", &table), ("label", collation)],
            )
            .await;
        assert!(r.succeeded(), "{collation}: {:?}", r.error);
        let group = if base == "ferry_coll" { "all" } else { "l1" };
        for f in p
            .files("out")
            .iter()
            .filter(|f| f.starts_with(&format!("{collation}_")))
        {
            let maria = read(f);
            for other in ["live", "pg"] {
                let theirs = read(&f.replacen(collation, &format!("{other}_{group}"), 1));
                assert!(
                    maria == theirs,
                    "{f} ({collation}) differs from {other}:\n{}\n---\n{}",
                    String::from_utf8_lossy(&maria),
                    String::from_utf8_lossy(&theirs)
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 5 * 32 * 2);
    // The text really is text: read back by Python, not hexadecimal.
    let rows = python_csv(&p.path("out/latin1_bin_comma_false_true_utf-8.csv"), ',', "utf-8");
    assert_eq!(rows[2][1], "José \"Pepe\" Nuñez");
    assert_eq!(rows[1][9], "00ff10", "binary stays hexadecimal");
}

/// Every kind of write or DDL, on each database, is refused before it is
/// sent (MariaDB commits DDL on its own, so the read-only transaction alone
/// would not stop it); the table is intact, read with the database's own
/// client, the run failed and no file was delivered.
#[tokio::test(flavor = "multi_thread")]
async fn writes_and_ddl_are_refused_before_they_reach_any_database() {
    let p = project();
    let table = "CREATE TABLE ferry_ro (id INT); INSERT INTO ferry_ro VALUES (1), (2);";
    psql(&format!("DROP TABLE IF EXISTS ferry_ro CASCADE; {table}"));
    mariadb(&format!("DROP TABLE IF EXISTS ferry_ro; {table}"));
    p.sqlite(table);
    let statements = [
        ("DROP TABLE ferry_ro", "a DROP TABLE"),
        ("TRUNCATE TABLE ferry_ro", "a TRUNCATE TABLE"),
        ("ALTER TABLE ferry_ro ADD COLUMN x INT", "an ALTER TABLE"),
        ("CREATE INDEX ferry_ro_i ON ferry_ro (id)", "a CREATE INDEX"),
        ("CREATE VIEW ferry_ro_v AS SELECT id FROM ferry_ro", "a CREATE VIEW"),
        ("CREATE TABLE ferry_ro_t (id INT)", "a CREATE TABLE"),
        ("INSERT INTO ferry_ro VALUES (9)", "an INSERT"),
        ("UPDATE ferry_ro SET id = 3", "an UPDATE"),
        ("DELETE FROM ferry_ro", "a DELETE"),
        ("CALL ferry_ro_proc()", "a CALL"),
        ("SELECT 1; DROP TABLE ferry_ro", "2 statements (a SELECT, a DROP TABLE)"),
        ("/* just a comment */ DROP TABLE ferry_ro -- SELECT 1", "a DROP TABLE"),
    ];
    let mut refused = 0;
    for db in ["live", "pg", "maria"] {
        let mut own: Vec<(&str, &str)> = statements.to_vec();
        match db {
            "maria" => own.push(("RENAME TABLE ferry_ro TO ferry_gone", "a RENAME TABLE")),
            "pg" => own.push((
                "WITH gone AS (DELETE FROM ferry_ro RETURNING id) SELECT id FROM gone",
                "a DELETE inside a WITH",
            )),
            _ => own.push(("ALTER TABLE ferry_ro RENAME TO ferry_gone", "an ALTER TABLE")),
        }
        for (stmt, kind) in own {
            p.script(
                "w",
                &format!(
                    "// {db}\nlet f = csv(query(\"{db}\", \"{stmt}\"), #{{ name: \"w\" }});\ndeliver(f, \"out\");\n"
                ),
            );
            let r = p.run("w", Trigger::Manual, &[]).await;
            assert_eq!(r.status, ferry::state::RunStatus::Failed, "{db}: {stmt}");
            let e = r.error.unwrap_or_default();
            assert!(e.contains("w.rhai:2:") && e.contains(kind), "{db} {stmt}: {e}");
            assert!(e.contains("did not send it to the database"), "{db} {stmt}: {e}");
            refused += 1;
        }
    }
    assert_eq!(refused, 3 * 13);
    assert_eq!(
        psql("SELECT string_agg(id::text, ',' ORDER BY id) FROM ferry_ro"),
        "1,2"
    );
    assert_eq!(
        psql("SELECT count(*) FROM pg_class WHERE relname IN ('ferry_ro_i', 'ferry_ro_v', 'ferry_ro_t', 'ferry_gone')"),
        "0"
    );
    assert_eq!(mariadb("SELECT group_concat(id ORDER BY id) FROM ferry_ro"), "1,2");
    assert_eq!(
        mariadb(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'test' \
             AND table_name IN ('ferry_ro_v', 'ferry_ro_t', 'ferry_gone')"
        ),
        "0"
    );
    let lite = std::process::Command::new("sqlite3")
        .arg(p.path("fixture.db"))
        .arg("SELECT group_concat(id) FROM ferry_ro; SELECT count(*) FROM sqlite_master WHERE name IN ('ferry_ro_i', 'ferry_ro_v', 'ferry_ro_t', 'ferry_gone');")
        .output()
        .expect("the sqlite3 program is installed");
    assert_eq!(String::from_utf8_lossy(&lite.stdout), "1,2\n0\n");
    assert!(p.files("out").is_empty());
}

/// The second layer: a write the statement check cannot see (a sequence
/// moved on by a function call) is still refused by the read-only transaction.
#[tokio::test(flavor = "multi_thread")]
async fn a_write_hidden_in_a_function_call_is_refused_by_the_read_only_transaction() {
    let p = project();
    psql("DROP SEQUENCE IF EXISTS ferry_ro_seq; CREATE SEQUENCE ferry_ro_seq;");
    mariadb("DROP SEQUENCE IF EXISTS ferry_ro_seq; CREATE SEQUENCE ferry_ro_seq;");
    for (db, stmt, want) in [
        ("pg", "SELECT nextval('ferry_ro_seq') AS n", "read-only transaction"),
        ("maria", "SELECT NEXTVAL(ferry_ro_seq) AS n", "READ ONLY"),
    ] {
        p.script(
            "w",
            &format!("// {db}\nlet f = csv(query(\"{db}\", \"{stmt}\"));\ndeliver(f, \"out\");\n"),
        );
        let e = p.run("w", Trigger::Manual, &[]).await.error.unwrap_or_default();
        assert!(e.contains("w.rhai:2:") && e.contains(want), "{db} {stmt}: {e}");
    }
    assert_eq!(psql("SELECT last_value FROM ferry_ro_seq"), "1");
    assert_eq!(psql("SELECT is_called FROM ferry_ro_seq"), "f");
    assert_eq!(mariadb("SELECT next_not_cached_value FROM ferry_ro_seq"), "1");
    assert!(p.files("out").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn named_parameters_bind_on_every_database_and_errors_are_located() {
    let p = project();
    same_table(&p, "ferry_params");
    p.script(
        "par",
        r#"//! [params]
//! db = "live"
let rows = query(params.db, "SELECT id, name FROM ferry_params WHERE id >= :low AND (name <> :skip OR id = :low) ORDER BY id", #{ low: 2, skip: "Smith, Jr." });
deliver(csv(rows, #{ name: params.db }), "out");
"#,
    );
    for db in ["live", "pg", "maria"] {
        let r = p.run("par", Trigger::Manual, &[("db", db)]).await;
        assert!(r.succeeded(), "{db}: {:?}", r.error);
        let rows = python_csv(&p.path(&format!("out/{db}.csv")), ',', "utf-8");
        let ids: Vec<&str> = rows.iter().skip(1).map(|r| r[0].as_str()).collect();
        assert_eq!(ids, ["2", "4"], "{db}");
    }
    for (db, want) in [
        ("pg", "column \"nam\" does not exist"),
        ("maria", "Unknown column 'nam'"),
    ] {
        p.script("bad", &format!("// {db}\n\nlet rows = query(\"{db}\", \"SELECT nam FROM ferry_params\");\ndeliver(csv(rows, #{{ name: \"bad\" }}), \"out\");\n"));
        let e = p.run("bad", Trigger::Manual, &[]).await.error.unwrap();
        assert!(e.contains("bad.rhai:3:") && e.contains(want), "{db}: {e}");
        assert!(!p.path("out/bad.csv").exists());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unsupported_types_ask_for_a_cast_and_casts_work() {
    let p = project();
    p.script(
        "iv",
        "let f = csv(query(\"pg\", \"SELECT point '(1,2)' AS gap\"), #{ name: \"iv\" });\ndeliver(f, \"out\");\n",
    );
    let e = p.run("iv", Trigger::Manual, &[]).await.error.unwrap();
    assert!(
        e.contains("iv.rhai:1:") && e.contains("column 'gap' has type POINT") && e.contains("cast it"),
        "{e}"
    );
    p.script("iv2", "let f = csv(query(\"pg\", \"SELECT CAST(interval '1 day' AS TEXT) AS gap, 42::int8 AS n, 'x'::varchar AS v, '{\\\"a\\\": 1}'::jsonb AS j\"), #{ name: \"iv2\" });\ndeliver(f, \"out\");\n");
    let r = p.run("iv2", Trigger::Manual, &[]).await;
    assert!(r.succeeded(), "{:?}", r.error);
    assert_eq!(
        std::fs::read_to_string(p.path("out/iv2.csv")).unwrap(),
        "gap,n,v,j\r\n1 day,42,x,\"{\"\"a\"\": 1}\"\r\n"
    );
}

/// A project whose state store is a new PostgreSQL database `db` of its
/// own, so a suite running at the same time elsewhere on this server cannot
/// mix its instances into the counts.
fn pg_state_project(db: &str) -> Project {
    psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
    psql(&format!("CREATE DATABASE {db}"));
    let p = Project::new();
    p.config(&format!(
        "timezone = \"America/Chicago\"\nstate = \"postgres://postgres@127.0.0.1:5432/{db}\"\n\
         [databases.live]\nurl = \"sqlite:fixture.db\"\n[destinations.out]\nmode = \"local\"\npath = \"out\"\n"
    ));
    p
}

fn psql_on(db: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            db,
            "-v",
            "ON_ERROR_STOP=1",
            "-qAt",
            "-c",
            sql,
        ])
        .output()
        .expect("the psql program is installed");
    assert!(
        out.status.success(),
        "psql (is PostgreSQL running on 127.0.0.1:5432?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn two_instances_on_one_postgres_store_run_each_occurrence_exactly_once() {
    use harness::daemon::Serve;
    use std::time::Duration;
    let db = &format!("ferry_state_two_{}", std::process::id());
    let p = pg_state_project(db);
    p.sqlite("CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (1);");
    for i in 0..20 {
        p.script(
            &format!("s{i:02}"),
            &format!("//! schedule = 'cron \"*/3 * * * * *\"'\ndeliver(csv(query(\"live\", \"SELECT x FROM one\"), #{{ name: \"s{i:02}\" }}), \"out\");\n"),
        );
    }
    let mut a = Serve::start(&p, &[]);
    let mut b = Serve::start(&p, &[]);
    std::thread::sleep(Duration::from_secs(25));
    a.signal("TERM");
    assert_eq!(a.wait(Duration::from_secs(60)), Some(0), "{}", a.log());
    let stopped = chrono::Utc::now();
    std::thread::sleep(Duration::from_secs(25));
    b.signal("TERM");
    assert_eq!(b.wait(Duration::from_secs(60)), Some(0), "{}", b.log());

    let dupes = psql_on(
        db,
        "SELECT script || ' ' || occurrence FROM runs GROUP BY script, occurrence HAVING count(*) > 1",
    );
    assert_eq!(dupes, "", "occurrences run twice");
    let claims = psql_on(db, "SELECT count(*) FROM occurrences");
    let runs = psql_on(db, "SELECT count(*) FROM runs WHERE status = 'succeeded'");
    assert_eq!(claims, runs, "every claimed occurrence ran once");
    let instances = psql_on(db, "SELECT count(DISTINCT instance) FROM runs");
    assert_eq!(instances, "2", "both instances took occurrences");
    for i in 0..20 {
        let script = format!("s{i:02}");
        let n: i64 = psql_on(db, &format!("SELECT count(*) FROM runs WHERE script = '{script}'"))
            .parse()
            .unwrap();
        assert!(n >= 12, "{script}: {n} runs in about 50 seconds at one every 3 seconds");
        let after: i64 = psql_on(
            db,
            &format!(
                "SELECT count(*) FROM runs WHERE script = '{script}' AND occurrence > '{}'",
                ferry::state::stamp(stopped)
            ),
        )
        .parse()
        .unwrap();
        assert!(
            after >= 5,
            "{script}: the schedule went on after one instance stopped ({after} runs)"
        );
    }
    psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
}

#[tokio::test]
async fn console_logins_work_on_a_postgres_state_store() {
    use ferry::state::{StateLocation, Store};
    // A database of its own, so the migrations run from scratch here.
    let db = &format!("ferry_state_logins_{}", std::process::id());
    psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
    psql(&format!("CREATE DATABASE {db}"));
    let store = Store::open(&StateLocation::Postgres {
        url: format!("postgres://postgres@127.0.0.1:5432/{db}"),
        password: None,
    })
    .await
    .unwrap();
    store.add_user("ann", None, None).await.unwrap();
    store.add_group("editors", None, None).await.unwrap();
    store.add_member("editors", "ann").await.unwrap();
    store.grant_group("editors", "write").await.unwrap();
    store.grant("ann", "read").await.unwrap();
    store.set_password("ann", "correct horse battery").await.unwrap();
    assert!(store.check_password("ann", "correct horse battery").await.unwrap());
    assert!(!store.check_password("ann", "wrong horse battery").await.unwrap());
    assert!(psql_on(db, "SELECT password_hash FROM users").starts_with("$argon2id$"));

    let session = store.open_session("ann", chrono::Duration::hours(1)).await.unwrap();
    let found = store.session(&session.token).await.unwrap().unwrap();
    assert_eq!(
        (found.user.as_str(), found.csrf.as_str()),
        ("ann", session.csrf.as_str())
    );
    let (id, token) = store.create_token("ann", "pg check").await.unwrap();
    assert_eq!(store.token_user(&token).await.unwrap().as_deref(), Some("ann"));
    assert_eq!(store.tokens(Some("ann")).await.unwrap()[0].id, id);
    let rights = ferry::state::Right::words(&store.tool_rights("ann").await.unwrap());
    assert_eq!(rights, vec!["read", "write"]);
    store
        .record_script_change(
            "roster",
            "ann",
            ferry::state::ScriptAction::Edited,
            Some("a"),
            Some("b"),
        )
        .await
        .unwrap();
    assert_eq!(store.script_changes(Some("roster"), 5).await.unwrap()[0].user, "ann");

    // Disabled: no session, no token; every change recorded.
    let by = ferry::state::StartedBy::cli();
    assert!(store.set_disabled("ann", true).await.unwrap());
    assert!(store.session(&session.token).await.unwrap().is_none());
    assert_eq!(store.token_user(&token).await.unwrap(), None);
    assert!(!store.check_password("ann", "correct horse battery").await.unwrap());
    assert!(store.set_disabled("ann", false).await.unwrap());
    assert_eq!(store.token_user(&token).await.unwrap().as_deref(), Some("ann"));
    store
        .record_people_change(&by, ferry::state::AdminAction::UserEnabled, "ann", None)
        .await
        .unwrap();
    let changes = store.people_changes(5).await.unwrap();
    assert_eq!(
        (changes[0].action, changes[0].by.clone()),
        (ferry::state::AdminAction::UserEnabled, by)
    );
    // The extract list's one-query lookups run on PostgreSQL too.
    assert!(store.last_runs().await.unwrap().is_empty());
    assert!(store.recent_runs("roster", 20).await.unwrap().is_empty());
    assert!(store.suspensions().await.unwrap().is_empty());
    assert_eq!(store.unread_count("ann").await.unwrap(), 0);
    // Notifications are written before the members are read back, with the
    // same statements on PostgreSQL as on SQLite.
    let told = |group| ferry::state::NewNotification {
        group,
        script: Some("roster"),
        run: None,
        level: ferry::state::Level::Info,
        message: "sent 3 files",
    };
    assert_eq!(store.add_notification(&told("editors")).await.unwrap(), vec!["ann"]);
    assert_eq!(store.unread_count("ann").await.unwrap(), 1);
    assert!(store.add_notification(&told("nobody")).await.unwrap().is_empty());
    assert_eq!(
        psql_on(
            db,
            "SELECT count(*) FROM notifications WHERE user_name IS NULL AND group_name = 'nobody'"
        ),
        "1"
    );

    store.remove_user("ann").await.unwrap();
    assert!(store.session(&session.token).await.unwrap().is_none());
    assert_eq!(store.token_user(&token).await.unwrap(), None);
    drop(store);
    psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
}

/// `ferry test-connection DB` tells an account that could write from one
/// that can only read, on MariaDB by its grants and on PostgreSQL by its
/// privileges, and names what it could change.
#[test]
fn test_connection_warns_about_an_account_that_could_write() {
    for host in ["%", "localhost"] {
        mariadb(&format!(
            "DROP USER IF EXISTS 'ferry_rw'@'{host}', 'ferry_ro'@'{host}'; \
             CREATE USER 'ferry_rw'@'{host}'; GRANT SELECT, INSERT, UPDATE ON test.* TO 'ferry_rw'@'{host}'; \
             CREATE USER 'ferry_ro'@'{host}'; GRANT SELECT, SHOW VIEW ON test.* TO 'ferry_ro'@'{host}';"
        ));
    }
    psql(
        "DROP TABLE IF EXISTS ferry_probe_t; CREATE TABLE ferry_probe_t (id INT); \
         DROP ROLE IF EXISTS ferry_probe_rw; DROP ROLE IF EXISTS ferry_probe_ro; \
         CREATE ROLE ferry_probe_rw LOGIN; GRANT SELECT, INSERT ON ferry_probe_t TO ferry_probe_rw; \
         CREATE ROLE ferry_probe_ro LOGIN; GRANT pg_read_all_data TO ferry_probe_ro;",
    );
    let p = project();
    p.sqlite("CREATE TABLE t (id INTEGER);");
    let toml = std::fs::read_to_string(p.path("ferry.toml")).unwrap();
    p.config(&format!(
        "{toml}[databases.maria_rw]\nurl = \"mysql://ferry_rw@127.0.0.1:3306/test\"\n\
         [databases.maria_ro]\nurl = \"mysql://ferry_ro@127.0.0.1:3306/test\"\n\
         [databases.pg_rw]\nurl = \"postgres://ferry_probe_rw@127.0.0.1:5432/test\"\n\
         [databases.pg_ro]\nurl = \"postgres://ferry_probe_ro@127.0.0.1:5432/test\"\n\
         [databases.down]\nurl = \"postgres://postgres@127.0.0.1:1/test\"\n"
    ));
    let warned = |db: &str| format!("WARNING: this account could change {db}.");
    let only_reads = "could write            nothing: the account can only read";

    let rw = p.ferry(&["test-connection", "maria_rw"]);
    let text = rw.ok();
    assert!(text.contains("server                 MariaDB 10."), "{text}");
    assert!(text.contains("account                ferry_rw@"), "{text}");
    assert!(text.contains("could write            INSERT on test.*"), "{text}");
    assert!(
        text.contains("UPDATE on test.*") && text.contains(&warned("maria_rw")),
        "{text}"
    );
    assert!(text.contains("GRANT SELECT, SHOW VIEW ON sis.*"), "the advice: {text}");
    assert!(!text.contains("SELECT on"), "SELECT is not a write: {text}");

    let ro = p.ferry(&["test-connection", "maria_ro"]);
    let text = ro.ok();
    assert!(text.contains(only_reads) && !text.contains("WARNING"), "{text}");

    let rw = p.ferry(&["test-connection", "pg_rw"]);
    let text = rw.ok();
    assert!(text.contains("server                 PostgreSQL 1"), "{text}");
    assert!(
        text.contains("INSERT on 1 table(s), e.g. ferry_probe_t") && text.contains(&warned("pg_rw")),
        "{text}"
    );
    assert!(text.contains("GRANT pg_read_all_data TO ferry"), "the advice: {text}");
    let text = p.ferry(&["test-connection", "pg_ro"]).ok().to_string();
    assert!(text.contains(only_reads) && !text.contains("WARNING"), "{text}");
    let text = p.ferry(&["test-connection", "pg"]).ok().to_string();
    assert!(text.contains("superuser (can change anything)"), "{text}");

    let text = p.ferry(&["test-connection", "live"]).ok().to_string();
    assert!(
        text.contains("server                 SQLite 3.") && text.contains(only_reads),
        "{text}"
    );

    let down = p.ferry(&["test-connection", "down"]);
    // 3: a server that cannot be reached (docs/operations.md, exit codes).
    assert_eq!(down.code, 3, "{down:?}");
    assert!(
        down.stdout.contains("FAILED: cannot connect to database 'down'"),
        "{}",
        down.stdout
    );
}

#[tokio::test]
async fn the_second_factor_works_on_a_postgres_state_store() {
    use ferry::state::{FactorCheck, FactorState, StateLocation, Store};
    let db = &format!("ferry_state_totp_{}", std::process::id());
    psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
    psql(&format!("CREATE DATABASE {db}"));
    let store = Store::open(&StateLocation::Postgres {
        url: format!("postgres://postgres@127.0.0.1:5432/{db}"),
        password: None,
    })
    .await
    .unwrap();
    store.add_user("ann", None, None).await.unwrap();
    let e = store.totp_begin("ann").await.unwrap();
    let bytes = totp_rs::Secret::Encoded(e.secret.clone()).to_bytes().unwrap();
    let app = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        Some("ferry".into()),
        "ann".into(),
    )
    .unwrap();
    let now = chrono::Utc::now().timestamp() as u64;
    let codes = store.totp_confirm("ann", &app.generate(now)).await.unwrap().unwrap();
    assert!(matches!(
        store.totp_state("ann").await.unwrap(),
        FactorState::On { recovery_left: 10, .. }
    ));
    assert_eq!(
        store.totp_check("ann", &app.generate(now)).await.unwrap(),
        FactorCheck::Reused
    );
    let next = app.generate(now + 30);
    assert_eq!(store.totp_check("ann", &next).await.unwrap(), FactorCheck::Code);
    assert_eq!(store.totp_check("ann", &next).await.unwrap(), FactorCheck::Reused);
    assert_eq!(
        store.totp_check("ann", &codes[0]).await.unwrap(),
        FactorCheck::Recovery { left: 9 }
    );
    assert_eq!(store.totp_check("ann", &codes[0]).await.unwrap(), FactorCheck::Wrong);
    assert!(psql_on(db, "SELECT code_hash FROM totp_recovery LIMIT 1").starts_with("$argon2id$"));
    let token = store
        .open_pending_login("ann", chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(store.pending_login(&token).await.unwrap().as_deref(), Some("ann"));
    store.remove_user("ann").await.unwrap();
    assert_eq!(store.pending_login(&token).await.unwrap(), None);
    assert_eq!(psql_on(db, "SELECT COUNT(*) FROM user_totp").trim(), "0");
    drop(store);
    psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
}
