//! The console in a real browser: headless Chromium, driven over WebDriver
//! by `/usr/bin/chromedriver`, walks the issue's acceptance list against a
//! real `ferry serve` — log in, Test Extract's preview (escaped), Run
//! Extract to its run and history, a refused edit, a read-only user who sees
//! no buttons, and the unread count. Every page visited is saved as a PNG
//! under `$CARGO_TARGET_TMPDIR/console-screenshots/` (the docs' images come
//! from there). A missing Chromium or chromedriver fails the test.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::Instant;

use fantoccini::{ClientBuilder, Locator};
use futures::FutureExt;

use crate::browser::{capabilities, Browser, ChromeDriver};
use crate::harness::console::{Console, PASSWORD, ROSTER};

/// The roster with a syntax error on its third line: `csv(` is never closed.
fn broken_roster() -> String {
    let broken = ROSTER.replace("ORDER BY id\"), #{", "ORDER BY id\", #{");
    assert_ne!(broken, ROSTER);
    broken
}

async fn scenario(b: &mut Browser, c: &Console) {
    // A notification for admin, so the header has an unread count.
    let settings = c.project.settings();
    let store = ferry::state::Store::open(&settings.state).await.unwrap();
    store.add_group("office", None, None).await.unwrap();
    store.add_member("office", "admin").await.unwrap();
    store
        .add_notification(&ferry::state::NewNotification {
            group: "office",
            script: Some("roster"),
            run: None,
            level: ferry::state::Level::Info,
            message: "The vendor asked for the roster by Friday.",
        })
        .await
        .unwrap();

    // Without a session every page leads to the login form.
    b.goto("/history").await;
    b.find("#login").await;
    assert_eq!(b.path().await, "/login");
    b.shot("login").await;

    // Log in and land on the list.
    b.log_in("admin").await;
    let list = b.text("table#extracts").await;
    assert!(list.contains("Nightly roster") && list.contains("roster"), "{list}");
    assert_eq!(b.text("#unread").await, "1", "the unread count in the header");
    b.shot("list").await;

    // The extract's page.
    b.find("table#extracts")
        .await
        .find(Locator::LinkText("Nightly roster"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.find("#test-extract").await;
    assert_eq!(b.path().await, "/extracts/roster");
    assert!(b.text("h1").await.contains("Nightly roster"));
    assert!(b.text("pre#source").await.contains("SELECT id, name FROM students"));
    b.shot("extract").await;

    // Test Extract: a job page that refreshes itself until it ends, then
    // the preview, with the HTML in a name shown as text.
    b.click("#test-extract").await;
    b.find("#job-state").await;
    assert!(b.path().await.starts_with("/jobs/"), "{}", b.path().await);
    let state = b
        .text_until("#job-state", "an end", |s| s != "running" && s != "queued")
        .await;
    assert_eq!(state, "succeeded", "Test Extract: {:?}", b.client.source().await);
    let preview = b.text("table#preview-0").await;
    for want in ["id", "name", "Ana <b>Núñez</b>", "Bo \"Li\"", "Cy, Jr."] {
        assert!(preview.contains(want), "{want:?} in the preview:\n{preview}");
    }
    assert_eq!(
        b.count("table#preview-0 b").await,
        0,
        "the name's <b> is text, not markup"
    );
    assert!(b.text("main").await.contains("Nothing was delivered"));
    assert!(
        !c.project.path("out/roster.csv").exists(),
        "Test Extract delivered nothing"
    );
    b.shot("test-extract").await;

    // Run Extract, from the extract's page, to its run and history.
    b.find("h1")
        .await
        .find(Locator::LinkText("roster"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.click("#run-extract").await;
    b.find("#job-state").await;
    let state = b
        .text_until("#job-state", "an end", |s| s != "running" && s != "queued")
        .await;
    assert_eq!(state, "succeeded", "Run Extract: {:?}", b.client.source().await);
    let run = b.text("#run-link").await;
    let run_id = run.strip_prefix("run ").unwrap_or_else(|| panic!("{run}")).to_string();
    b.shot("run-extract").await;
    b.click("#run-link").await;
    assert_eq!(b.text("#run-status").await, "succeeded");
    assert_eq!(b.path().await, format!("/runs/{run_id}"));
    assert!(b.text("table#files").await.contains("roster.csv"));
    let facts = b.text("table.facts").await;
    let at = |label: &str| facts.find(label).unwrap_or_else(|| panic!("{label} in {facts}"));
    assert!(
        at("Trigger") < at("Started") && at("Started") < at("Ended"),
        "the run's facts in reading order: {facts}"
    );
    assert!(c.project.path("out/roster.csv").exists(), "Run Extract delivered");
    b.shot("run").await;

    b.goto("/history").await;
    let mut found = false;
    for row in b
        .find("table#history")
        .await
        .find_all(Locator::Css("tr"))
        .await
        .unwrap()
    {
        let cells: Vec<String> = {
            let mut v = Vec::new();
            for td in row.find_all(Locator::Css("td")).await.unwrap() {
                v.push(td.text().await.unwrap());
            }
            v
        };
        if cells.first() == Some(&run_id) {
            assert_eq!(cells[1], "roster", "{cells:?}");
            assert_eq!(cells[4], "succeeded", "{cells:?}");
            found = true;
        }
    }
    assert!(found, "run {run_id} in the history table");
    b.shot("history").await;

    // The list and the extract's page again, now with a last run.
    b.goto("/").await;
    assert!(b.text("table#extracts").await.contains("succeeded"));
    b.shot("list-after-run").await;
    b.goto("/extracts/roster").await;
    assert!(b.text("ul#jobs").await.contains("run by admin"));
    b.shot("extract-after-run").await;

    // A script that does not compile is refused, kept in the editor, and
    // not written.
    b.click("#edit").await;
    assert_eq!(b.path().await, "/extracts/roster/edit");
    let broken = broken_roster();
    b.fill("textarea#source", &broken).await;
    b.click("#save").await;
    let error = b.text("#error").await;
    assert!(error.contains("not saved"), "{error}");
    assert!(
        error.contains("roster.rhai:3:"),
        "the refusal names the file and line: {error}"
    );
    let kept = b.find("textarea#source").await.prop("value").await.unwrap();
    assert_eq!(
        kept.as_deref(),
        Some(broken.as_str()),
        "the typed text stays in the editor"
    );
    assert_eq!(
        std::fs::read_to_string(c.project.path("scripts/roster.rhai")).unwrap(),
        ROSTER,
        "the file on disk is unchanged"
    );
    b.shot("edit-refused").await;

    // Notifications: the list, then marked read, and the count is gone.
    b.goto("/notifications").await;
    assert!(b.text("table#notifications").await.contains("by Friday"));
    b.shot("notifications").await;
    b.click("#read-all").await;
    // The click navigates; wait for the new page rather than reading the old one.
    b.until("the unread count to go", || async {
        (b.count("#unread").await == 0).then_some(())
    })
    .await;
    assert!(
        b.text("table#notifications").await.contains("by Friday"),
        "still listed, as read"
    );

    // Log out; a read-only user sees the page without a single button.
    b.click("#logout").await;
    b.find("#login").await;
    assert_eq!(b.path().await, "/login");
    b.log_in("reader").await;
    b.goto("/extracts/roster").await;
    assert!(b.text("h1").await.contains("Nightly roster"));
    assert!(b.text("pre#source").await.contains("SELECT id, name"));
    for id in [
        "#run-extract",
        "#test-extract",
        "#test-connection",
        "#edit",
        "#delete",
        "#stop",
        "#start",
    ] {
        assert_eq!(b.count(id).await, 0, "{id} shown to a read-only user");
    }
    assert_eq!(b.count("#new-extract").await, 0);
    b.shot("extract-read-only").await;
}

/// Opens headless Chromium on `console`, runs `scenario` in it and
/// returns how many screenshots it saved under
/// `$CARGO_TARGET_TMPDIR/SHOTS/` (emptied first).
pub(crate) fn drive(
    console: &Console,
    shots: &str,
    scenario: impl for<'a> FnOnce(&'a mut Browser, &'a Console) -> std::pin::Pin<Box<dyn Future<Output = ()> + 'a>>,
) -> usize {
    let started = Instant::now();
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(shots);
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    let driver = ChromeDriver::start(console.project.dir.path());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let taken = runtime.block_on(async {
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities())
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("Chromium does not start through chromedriver: {e}\n{}", driver.log()));
        let mut browser = Browser {
            client: client.clone(),
            base: console.url.clone(),
            shots: shots.clone(),
            taken: 0,
        };
        let outcome = AssertUnwindSafe(scenario(&mut browser, console)).catch_unwind().await;
        let _ = client.close().await;
        match outcome {
            Ok(()) => browser.taken,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    drop(driver);
    let saved = std::fs::read_dir(&shots).unwrap().count();
    assert_eq!(saved, taken);
    println!(
        "{taken} screenshots in {} ({:.1} s)",
        shots.display(),
        started.elapsed().as_secs_f64()
    );
    taken
}

#[test]
fn the_console_works_in_a_real_browser() {
    let console = Console::start();
    drive(&console, "console-screenshots", |b, c| Box::pin(scenario(b, c)));
}

/// A scheduled script with row-count guards: its runs make the charts.
const ENROLLMENT: &str = r#"//! name = "Daily enrollment"
//! schedule = "daily at 06:00"
//! catch_up = "none"
//! [guards]
//! min_rows = 2
//! max_change = 60
let f = csv(query("live", "SELECT id, name FROM students ORDER BY id"), #{ name: "enrollment" });
deliver(f, "out");
"#;

/// Every three hours: eight runs in any 24 hours.
const ATTENDANCE: &str = "//! name = \"Attendance\"\n//! schedule = 'cron \"0 0 */3 * * *\"'\n//! catch_up = \"none\"\nlet f = csv(query(\"live\", \"SELECT id FROM students\"), #{ name: \"attendance\" });\ndeliver(f, \"out\");\n";

/// Nine runs of the enrollment script, the fifth failed (its table renamed
/// away) and the last held by `min_rows` (one student left): their ids and
/// statuses, oldest first, as the store recorded them.
async fn nine_runs(c: &Console) -> Vec<(i64, String)> {
    let run = || {
        c.project.ferry(&["run", "enrollment"]);
    };
    for _ in 0..4 {
        run();
    }
    c.project.sqlite("ALTER TABLE students RENAME TO pupils;");
    run();
    c.project.sqlite("ALTER TABLE pupils RENAME TO students;");
    for _ in 0..3 {
        run();
    }
    c.project.sqlite("DELETE FROM students WHERE id > 1;");
    run();
    let store = ferry::state::Store::open(&c.project.settings().state).await.unwrap();
    let mut runs: Vec<(i64, String)> = store
        .runs(Some("enrollment"), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.status.to_string()))
        .collect();
    runs.reverse();
    let statuses: Vec<&str> = runs.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "succeeded",
            "succeeded",
            "succeeded",
            "succeeded",
            "failed",
            "succeeded",
            "succeeded",
            "succeeded",
            "held"
        ],
        "the fixture's runs"
    );
    runs
}

/// The values of attribute `name` of every element `css` matches.
async fn attributes(b: &Browser, css: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in b.client.find_all(Locator::Css(css)).await.unwrap() {
        out.push(e.attr(name).await.unwrap().unwrap_or_default());
    }
    out
}

async fn charts(b: &mut Browser, c: &Console) {
    c.project
        .script("enrollment", ENROLLMENT)
        .script("attendance", ATTENDANCE);
    let runs = nine_runs(c).await;
    let ids: Vec<String> = runs.iter().map(|(id, _)| id.to_string()).collect();
    let held = runs.iter().find(|(_, s)| s == "held").unwrap().0.to_string();

    // The list: a sparkline per script that has runs, the held run marked.
    b.log_in("admin").await;
    let row = "table#extracts tr:has(a[href='/extracts/enrollment'])";
    b.find(&format!("{row} svg.spark")).await;
    assert_eq!(b.count(&format!("{row} svg.spark .point.held")).await, 1);
    assert_eq!(b.count(&format!("{row} svg.spark .point.failed")).await, 1);
    let title = b
        .find(&format!("{row} svg.spark title"))
        .await
        .prop("textContent")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(title.contains("last 9 runs") && title.contains("1 held"), "{title}");
    b.shot("list-sparklines").await;

    // The extract's page: one point per run, oldest first, the held and
    // failed runs in their own shapes, the guards drawn, coloured by the
    // style sheet (the CSP allows no inline style).
    b.goto("/extracts/enrollment").await;
    b.find("svg#rows-chart").await;
    assert_eq!(
        attributes(b, "svg#rows-chart .point", "data-run").await,
        ids,
        "one point per run"
    );
    assert_eq!(attributes(b, "svg#duration-chart .point", "data-run").await, ids);
    assert_eq!(attributes(b, "svg#rows-chart .point.held", "data-run").await, [held]);
    assert_eq!(
        b.count("svg#rows-chart rect.point.held").await,
        1,
        "held runs are squares"
    );
    assert_eq!(
        b.count("svg#rows-chart path.point.failed").await,
        1,
        "failed runs are triangles"
    );
    assert_eq!(b.count("svg#rows-chart .guard.floor").await, 1, "min_rows");
    assert_eq!(b.count("svg#rows-chart .guard.band").await, 1, "max_change");
    let fill = b
        .find("svg#rows-chart .point.held")
        .await
        .css_value("fill")
        .await
        .unwrap();
    assert_eq!(fill, "rgb(201, 138, 0)", "the held colour from console.css");
    let title = b
        .find("svg#rows-chart > title")
        .await
        .prop("textContent")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(title, "Rows per run of Daily enrollment");
    let desc = b
        .find("svg#rows-chart > desc")
        .await
        .prop("textContent")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        desc.contains("9 runs") && desc.contains("1 held") && desc.contains("min_rows 2"),
        "{desc}"
    );
    // The same numbers as a table.
    b.click("details#chart-numbers summary").await;
    assert_eq!(b.count("table#chart-table tr").await, 10, "a header and a row per run");
    assert!(b.text("table#chart-table").await.contains("held"));
    b.click("details#chart-numbers summary").await;
    b.shot_of("#trends", "extract-charts").await;

    // The next 24 hours, from the navigation: eight attendance runs and
    // one enrollment run, in the reader's zone.
    b.click("#timeline-link").await;
    b.find("svg#timeline-chart").await;
    assert_eq!(b.path().await, "/timeline");
    assert_eq!(b.count("svg#timeline-chart .point.scheduled").await, 9);
    let table = b.text("table#timeline-table").await;
    assert!(
        table.contains("Attendance") && table.contains("Daily enrollment"),
        "{table}"
    );
    assert!(table.contains("CST"), "times labelled with the zone: {table}");
    assert!(!table.contains("Nightly roster"), "unscheduled scripts are left out");
    b.shot("timeline").await;

    // Setting up a second factor shows the QR code as inline SVG.
    b.goto("/account").await;
    b.click("#totp-start").await;
    b.find("svg#qr").await;
    assert_eq!(b.path().await, "/account/totp");
    let secret = b.text("#totp-secret").await;
    assert!(secret.len() >= 26, "{secret}");
    b.shot("totp-setup").await;
    // A QR reader (zbar, independent of the crate that drew it) reads the
    // key and the account from the picture as the browser shows it.
    let qr = b.shot_of("svg#qr", "totp-qr").await;
    let out = std::process::Command::new("zbarimg")
        .args(["-q", "--raw"])
        .arg(&qr)
        .output()
        .unwrap_or_else(|e| panic!("zbarimg does not run ({e}): the test needs `apt-get install zbar-tools`"));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("otpauth://totp/ferry:admin?secret={secret}&issuer=ferry"),
        "the QR code as zbarimg reads it ({})",
        String::from_utf8_lossy(&out.stderr)
    );

    // Turn it on with the app's code, keep the recovery codes, and log in
    // again: the code step comes after the password.
    let bytes = totp_rs::Secret::Encoded(secret).to_bytes().unwrap();
    let app = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        Some("ferry".into()),
        "admin".into(),
    )
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    b.fill("#totp-code", &app.generate(now)).await;
    b.click("#totp-confirm").await;
    b.find("ul#recovery-codes").await;
    assert_eq!(b.count("ul#recovery-codes li").await, 10);
    b.shot("totp-recovery-codes").await;
    b.click("#logout").await;
    b.goto("/login").await;
    b.fill("#user", "admin").await;
    b.fill("#password", PASSWORD).await;
    b.click("#login").await;
    b.find("input#code").await;
    assert_eq!(b.path().await, "/login");
    b.shot("totp-login-code").await;
    b.fill("#code", &app.generate(now + 30)).await;
    b.click("#verify").await;
    b.find("table#extracts").await;
    assert_eq!(b.text("#whoami").await, "admin");
}

#[test]
fn charts_the_next_day_and_a_second_factor_in_a_real_browser() {
    let console = Console::start();
    drive(&console, "chart-screenshots", |b, c| Box::pin(charts(b, c)));
}
