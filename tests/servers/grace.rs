//! A stop signal's grace period ends long statements on every database
//! kind: SQLite through its interrupt handle, PostgreSQL through a cancel
//! (`pg_cancel_backend`), MariaDB through `KILL QUERY` on a second
//! connection. `ferry serve --grace 5` must exit within 8 s, record the run
//! interrupted (log and history agreeing), and leave no statement running
//! on the server.

use std::time::{Duration, Instant};

use crate::harness::daemon::{eventually, runs, Serve};

/// Starts a scheduled run of `sql` on `db`, waits until `on_server` (for a
/// database server; SQLite runs inside ferry) says the statement is under
/// way, sends SIGTERM and checks the outcome.
fn stop_during(db: &str, sql: &str, on_server: Option<&dyn Fn() -> bool>) {
    let running = || on_server.is_none_or(|f| f());
    let p = crate::project();
    p.sqlite("CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (1);");
    p.script(
        "long",
        &format!(
            "//! schedule = 'cron \"*/2 * * * * *\"'\n//! catch_up = \"none\"\n\
             deliver(csv(query(\"{db}\", \"{sql}\"), #{{ name: \"long\" }}), \"out\");\n"
        ),
    );
    let mut serve = Serve::start(&p, &["--grace", "5"]);
    eventually(Duration::from_secs(60), "the long statement under way", || {
        runs(&p, "long").iter().any(|r| r.status == "running") && running()
    });
    if on_server.is_none() {
        // Let the statement get deep into its work.
        std::thread::sleep(Duration::from_secs(1));
    }
    let asked = Instant::now();
    serve.signal("TERM");
    let code = serve.wait(Duration::from_secs(30));
    let took = asked.elapsed();
    assert_eq!(code, Some(0), "{}", serve.log());
    assert!(
        took < Duration::from_secs(8),
        "{db}: exited {took:?} after SIGTERM:\n{}",
        serve.log()
    );
    let all = runs(&p, "long");
    let ran: Vec<_> = all
        .iter()
        .filter(|r| !["skipped", "missed"].contains(&r.status.as_str()))
        .collect();
    assert_eq!(ran.len(), 1, "{all:?}");
    assert_eq!(ran[0].status, "interrupted", "{all:?}");
    assert!(
        ran[0].error.as_deref().unwrap_or("").contains("cancelled"),
        "{:?}",
        ran[0]
    );
    let log = serve.log();
    assert!(
        log.contains("Run interrupted.") && !log.contains("Run failed."),
        "{log}"
    );
    assert!(!p.path("out/long.csv").exists());
    if let Some(f) = on_server {
        let asked = Instant::now();
        while f() {
            assert!(
                asked.elapsed() < Duration::from_secs(10),
                "{db}: the statement still runs on the server 10 s after ferry exited:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn sigterm_ends_a_long_sqlite_statement_within_the_grace_period() {
    stop_during(
        "live",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000000000) SELECT count(*) AS c FROM n",
        None,
    );
}

#[test]
fn sigterm_cancels_a_long_postgres_statement_within_the_grace_period() {
    // The alias names this test process, so a statement another run left
    // behind cannot pass for this one.
    let alias = format!("ferry_grace_{}", std::process::id());
    stop_during(
        "pg",
        &format!("SELECT CAST(pg_sleep(120) AS TEXT) AS {alias}"),
        Some(&|| {
            crate::psql(&format!(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' \
                 AND query LIKE '%AS {alias}%' AND pid <> pg_backend_pid()"
            )) != "0"
        }),
    );
}

#[test]
fn sigterm_kills_a_long_mariadb_statement_within_the_grace_period() {
    let alias = format!("ferry_grace_{}", std::process::id());
    stop_during(
        "maria",
        &format!("SELECT SLEEP(120) AS {alias}"),
        Some(&|| {
            crate::mariadb(&format!(
                "SELECT count(*) FROM information_schema.processlist \
                 WHERE info LIKE '%AS {alias}%' AND id <> CONNECTION_ID()"
            )) != "0"
        }),
    );
}
