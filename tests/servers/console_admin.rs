//! The administrator's console in a real browser: Test and Run from the
//! list, the delete confirmation (cancelled, then confirmed), times shown
//! with their zone, pages that fit a 1280 px window, and users managed end
//! to end — added, granted, given a token, disabled, re-enabled, given a
//! new password — with every change in the "Changes" table under the
//! administrator's name. Screenshots go to
//! `$CARGO_TARGET_TMPDIR/console-admin-screenshots/`.

use fantoccini::Locator;

use crate::browser::Browser;
use crate::console_browser::drive;
use crate::harness::console::{Auth, Console};

/// A script on a schedule read in another zone than the district's
/// (America/Chicago), so the list shows both.
const NIGHTLY: &str = "//! name = \"Nightly attendance\"\n//! schedule = \"daily at 02:30\"\n//! timezone = \"America/New_York\"\nlet f = csv(query(\"live\", \"SELECT id FROM students\"), #{ name: \"attendance\" });\ndeliver(f, \"out\");\n";

/// A script to delete.
const SPARE: &str = "//! name = \"Spare export\"\n//! schedule = \"none\"\nlet f = csv(query(\"live\", \"SELECT id FROM students\"), #{ name: \"spare\" });\ndeliver(f, \"out\");\n";

/// The clerk's password, set by the administrator in the console.
const CLERK_PASSWORD: &str = "clerk-password-2027";

/// Fails unless the page is no wider than the 1280 px window.
async fn fits(b: &Browser, page: &str) {
    let width = b
        .client
        .execute("return document.documentElement.scrollWidth", vec![])
        .await
        .unwrap();
    let inner = b.client.execute("return window.innerWidth", vec![]).await.unwrap();
    let (width, inner) = (width.as_u64().unwrap(), inner.as_u64().unwrap());
    assert!(inner <= 1280, "the window is {inner} px wide");
    assert!(width <= inner, "{page} is {width} px wide in a {inner} px window");
}

/// An API request from the test (a blocking client, so off the browser's
/// async thread).
fn api(
    c: &Console,
    method: &str,
    path: &str,
    auth: &Auth,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    tokio::task::block_in_place(|| c.api(method, path, auth, body))
}

/// Waits until the browser is on `path` (a click's navigation may still be
/// under way when the click returns).
async fn at(b: &Browser, path: &str) {
    b.until(&format!("the browser to be on {path}"), || async {
        (b.path().await == path).then_some(())
    })
    .await;
}

/// Waits for a job page to end and returns its state.
async fn job_ends(b: &Browser) -> String {
    b.find("#job-state").await;
    b.text_until("#job-state", "an end", |s| s != "running" && s != "queued")
        .await
}

/// The rows of table `css`, as cell texts.
async fn rows(b: &Browser, css: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for row in b.find(css).await.find_all(Locator::Css("tr")).await.unwrap() {
        let mut cells = Vec::new();
        for td in row.find_all(Locator::Css("td")).await.unwrap() {
            cells.push(td.text().await.unwrap());
        }
        if !cells.is_empty() {
            out.push(cells);
        }
    }
    out
}

async fn scenario(b: &mut Browser, c: &Console) {
    b.log_in("admin").await;

    // Times carry their zone: the district's (Chicago) everywhere, and the
    // schedule's own zone beside it where the script's differs.
    let list = rows(b, "table#extracts").await;
    let nightly = list
        .iter()
        .find(|r| r[1] == "nightly")
        .unwrap_or_else(|| panic!("{list:?}"));
    let next = nightly
        .iter()
        .find(|c| c.contains("schedule's zone"))
        .unwrap_or_else(|| panic!("{nightly:?}"));
    assert!(
        (next.contains("CST") || next.contains("CDT")) && (next.contains("EST") || next.contains("EDT")),
        "the next run in the viewer's zone and the schedule's: {next}"
    );
    assert!(next.contains("02:30:00 E"), "02:30 in New York: {next}");
    fits(b, "the extract list").await;
    b.shot("list-actions").await;

    // Test and Run straight from the list.
    b.click("#test-roster").await;
    assert_eq!(job_ends(b).await, "succeeded", "Test from the list");
    assert!(b.text("main").await.contains("Nothing was delivered"));
    b.goto("/").await;
    b.click("#run-roster").await;
    assert_eq!(job_ends(b).await, "succeeded", "Run from the list");
    assert!(c.project.path("out/roster.csv").exists(), "Run from the list delivered");
    let started = b.text("main").await;
    assert!(
        started.contains("CST") || started.contains("CDT"),
        "the job's start time has its zone: {started}"
    );
    b.click("#run-link").await;
    assert_eq!(b.text("#run-status").await, "succeeded");
    fits(b, "a run's page").await;
    b.shot("run-fits").await;
    b.goto("/history").await;
    fits(b, "the history").await;

    // Delete asks first; Cancel keeps the script, confirming removes it.
    b.goto("/extracts/spare").await;
    b.click("#delete").await;
    at(b, "/extracts/spare/delete").await;
    assert!(b.text("h1").await.contains("Spare export"));
    b.shot("delete-confirmation").await;
    b.click("#cancel").await;
    at(b, "/extracts/spare").await;
    assert!(c.project.path("scripts/spare.rhai").exists(), "Cancel deletes nothing");
    b.click("#delete").await;
    b.click("#confirm-delete").await;
    b.until("the script file to go", || async {
        (!c.project.path("scripts/spare.rhai").exists()).then_some(())
    })
    .await;

    // Users: add a clerk who may read, from the form on the users page.
    b.goto("/users").await;
    b.click("#add-user-form summary").await;
    b.fill("#new-name", "clerk").await;
    b.fill("#new-display", "Casey Clerk").await;
    b.fill("#new-email", "clerk@district.example").await;
    b.click("#right-read").await;
    b.shot("add-user").await;
    b.click("#add-user").await;
    at(b, "/users/clerk").await;
    assert_eq!(b.text("#all-rights").await, "read");
    assert_eq!(b.text("#user-state").await, "no password (notified only)");

    // Grant run as well, then a token, which works on the API.
    b.click("#right-run").await;
    b.click("#save-rights").await;
    b.text_until("#all-rights", "read and run", |t| t == "read, run").await;
    b.fill("#token-label", "attendance sync").await;
    b.click("#create-token").await;
    let token = b.text("#token").await;
    assert!(token.starts_with("ferry_"), "{token}");
    let auth = Auth::Token(token.clone());
    let (status, me) = api(c, "GET", "/api/me", &auth, None);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"], "clerk");

    // Disabled: the token is refused; enabled again: it works.
    b.goto("/users/clerk").await;
    b.click("#disable").await;
    b.text_until("#user-state", "disabled", |t| t == "disabled").await;
    assert_eq!(api(c, "GET", "/api/me", &auth, None).0, 401, "a disabled user's token");
    b.shot("user-disabled").await;
    b.click("#enable").await;
    b.text_until("#user-state", "enabled", |t| t != "disabled").await;
    assert_eq!(api(c, "GET", "/api/me", &auth, None).0, 200, "enabled again");

    // A password set by the administrator lets the clerk sign in; they
    // see no Users link and the users page refuses them.
    b.fill("#reset-password", CLERK_PASSWORD).await;
    b.click("#set-password").await;
    assert!(b.text("#done").await.contains("clerk"));
    b.goto("/users/clerk").await;
    assert_eq!(b.text("#user-state").await, "active");
    fits(b, "a user's page").await;
    b.shot("user").await;

    // The token is revoked from the user's page.
    let id = api(c, "GET", "/api/tokens", &Auth::Token(token.clone()), None).1["tokens"][0]["id"]
        .as_i64()
        .unwrap();
    b.click(&format!("#revoke-{id}")).await;
    b.until("the token to go", || async {
        (b.count(&format!("#revoke-{id}")).await == 0).then_some(())
    })
    .await;
    assert_eq!(api(c, "GET", "/api/me", &auth, None).0, 401, "a revoked token");

    // Every change, in order, under the administrator's name.
    b.goto("/users").await;
    let changes = rows(b, "table#changes").await;
    let mine: Vec<(String, String, String)> = changes
        .iter()
        .filter(|r| r[3] == "clerk")
        .map(|r| (r[1].clone(), r[2].clone(), r[4].clone()))
        .rev()
        .collect();
    let by = "admin (console)".to_string();
    let want = [
        ("user added", ""),
        ("right granted", "read"),
        ("right granted", "run"),
        ("token created", "attendance sync"),
        ("user disabled", ""),
        ("user enabled", ""),
        ("password set", ""),
        ("token revoked", "attendance sync"),
    ];
    assert_eq!(mine.len(), want.len(), "{changes:?}");
    for ((who, what, detail), (action, about)) in mine.iter().zip(want) {
        assert_eq!(who, &by, "{changes:?}");
        assert_eq!(what, action, "{changes:?}");
        assert!(detail.contains(about), "{detail} should name {about}: {changes:?}");
    }
    assert!(
        changes[0][0].contains("CST") || changes[0][0].contains("CDT"),
        "change times carry their zone: {changes:?}"
    );
    fits(b, "the users page").await;
    b.shot("users-and-changes").await;
    b.client
        .execute(
            "document.getElementById('changes').previousElementSibling.scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    b.shot("changes").await;

    // The clerk signs in with the new password and cannot manage users.
    b.click("#logout").await;
    b.find("#login").await;
    b.log_in_with("clerk", CLERK_PASSWORD).await;
    assert_eq!(
        b.count("header a[href='/users']").await,
        0,
        "no Users link for the clerk"
    );
    b.goto("/users").await;
    assert!(b.text("#error").await.contains("manage_users"));
}

#[test]
fn the_administrator_manages_the_console_in_a_real_browser() {
    let console = Console::start_with(|p| {
        p.script("nightly", NIGHTLY);
        p.script("spare", SPARE);
        None
    });
    drive(&console, "console-admin-screenshots", |b, c| Box::pin(scenario(b, c)));
}
