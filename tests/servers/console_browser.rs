//! The console in a real browser: headless Chromium, driven over WebDriver
//! by `/usr/bin/chromedriver`, walks the acceptance list against a
//! real `ferry serve` — log in, Test Extract's preview (escaped), Run
//! Extract to its run and history, a refused edit, a read-only user who sees
//! no buttons, and the unread count. Every page visited is saved as a PNG
//! under `$CARGO_TARGET_TMPDIR/console-screenshots/` (the docs' images come
//! from there). A missing Chromium or chromedriver fails the test.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::Instant;

use fantoccini::{ClientBuilder, Locator};
use futures::FutureExt;

use crate::browser::{capabilities, Browser, ChromeDriver};
use crate::harness::console::{Console, ROSTER};

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

#[test]
fn the_console_works_in_a_real_browser() {
    let started = Instant::now();
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    let console = Console::start();
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
        let outcome = AssertUnwindSafe(scenario(&mut browser, &console)).catch_unwind().await;
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
}
