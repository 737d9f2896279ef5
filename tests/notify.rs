//! Notifications end to end through the `ferry` binary: users and groups
//! made with the CLI, a failed run and a script's `notify()` reaching every
//! member in the app, by email (a local SMTP sink) and by webhook (a local
//! HTTP sink), and channels that fail without failing the run.

mod sinks;

use crate::harness::Project;

const PASSWORD: &str = "s3cret-smtp-pw";
const TOKEN: &str = "T0KEN-in-the-path";

/// A project whose `[smtp]` goes to 127.0.0.1:`port` with a login whose
/// password is a file reference.
fn project(smtp_port: u16) -> Project {
    let p = Project::new();
    p.config(&format!(
        r#"timezone = "America/Chicago"
active_year = 2027
[databases.live]
url = "sqlite:fixture.db"
[destinations.out]
mode = "local"
path = "out"
[smtp]
host = "127.0.0.1"
port = {smtp_port}
from = "ferry <ferry@district.org>"
username = "ferry"
password = "file:smtp.pw"
tls = "none"
"#
    ));
    std::fs::write(p.path("smtp.pw"), format!("{PASSWORD}\n")).unwrap();
    p.sqlite("CREATE TABLE people (id INTEGER, name TEXT); INSERT INTO people VALUES (1, 'Ann'), (2, 'Zoë');");
    p
}

/// Users ann and bob in group tech-admins, with `group_args` (email, webhook).
fn admins(p: &Project, group_args: &[&str]) {
    p.ferry(&[
        "users",
        "add",
        "ann",
        "--email",
        "ann@district.org",
        "--display",
        "Ann Lee",
    ])
    .ok();
    p.ferry(&["users", "add", "bob"]).ok();
    let mut add = vec!["groups", "add", "tech-admins"];
    add.extend_from_slice(group_args);
    p.ferry(&add).ok();
    p.ferry(&["groups", "add-member", "tech-admins", "ann"]).ok();
    p.ferry(&["groups", "add-member", "tech-admins", "bob"]).ok();
}

/// Table rows (lines starting with an id) of a `ferry notifications` listing.
fn rows(listing: &str) -> Vec<&str> {
    listing
        .lines()
        .filter(|l| {
            l.strip_prefix("│ ")
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect()
}

/// Log text without terminal colours.
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().take_while(|c| *c != 'm').for_each(drop);
        } else {
            out.push(c);
        }
    }
    out
}

/// The run id in `run N NAME: STATUS`.
fn run_id(stdout: &str) -> String {
    let line = stdout.lines().find(|l| l.starts_with("run ")).expect(stdout);
    line.split_whitespace().nth(1).unwrap().to_string()
}

#[test]
fn a_failed_run_tells_every_member_in_app_by_email_and_by_webhook() {
    let smtp = sinks::smtp();
    let http = sinks::http();
    let p = project(smtp.port);
    let hook = format!("http://127.0.0.1:{}/hooks/{TOKEN}", http.port);
    admins(&p, &["--email", "tech@district.org", "--webhook", &hook]);
    let groups = p.ferry(&["groups", "list", "--wide"]);
    assert!(groups.ok().contains("ann, bob"), "{}", groups.stdout);
    assert!(!groups.stdout.contains(TOKEN), "{}", groups.stdout);
    p.script(
        "roster",
        r#"//! name   = "Nightly roster"
//! notify = "tech-admins"
let f = csv(query("live", "SELECT id, name FROM no_such_table"), #{ name: "roster" });
deliver(f, "out");
"#,
    );

    let out = p.ferry(&["run", "roster"]);
    assert_eq!(out.code, 1, "{out:?}");
    let run = run_id(&out.stdout);
    assert!(
        !out.stderr.contains(PASSWORD) && !out.stderr.contains(TOKEN),
        "{}",
        out.stderr
    );

    for user in ["ann", "bob"] {
        let list = p.ferry(&["notifications", "--wide", "--user", user]);
        let text = list.ok();
        assert_eq!(rows(text).len(), 1, "one notification for {user}:\n{text}");
        let row = rows(text)[0];
        for want in ["error", "tech-admins", user, "roster", &run] {
            assert!(row.contains(&format!(" {want} ")), "{want} in {row}");
        }
        assert!(
            text.contains(&format!("Nightly roster (roster) failed in run {run}: ")) && text.contains("no_such_table"),
            "{text}"
        );
    }

    let mails = smtp.seen();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert_eq!(mail.auth.as_deref(), Some(format!("\0ferry\0{PASSWORD}").as_str()));
    assert_eq!(mail.from, "ferry@district.org");
    assert_eq!(mail.to, vec!["tech@district.org"]);
    assert!(
        mail.data
            .contains(&format!("Subject: [ferry] roster: run {run} failed\r\n")),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("no_such_table"), "{}", mail.data);
    assert!(
        mail.data.contains(&format!("`ferry history --run {run}`")),
        "{}",
        mail.data
    );

    let posts = http.seen();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].line, format!("POST /hooks/{TOKEN} HTTP/1.1"));
    assert!(posts[0].headers.iter().any(|h| h == "content-type: application/json"));
    let body: serde_json::Value = serde_json::from_str(&posts[0].body).unwrap();
    assert_eq!(body["group"], "tech-admins");
    assert_eq!(body["script"], "roster");
    assert_eq!(body["run"].to_string(), run);
    assert_eq!(body["level"], "error");
    assert!(body["message"].as_str().unwrap().contains("no_such_table"), "{body}");
    assert!(body["at"].as_str().unwrap().ends_with('Z'), "{body}");

    // Marking read: ann's is gone from her unread list, bob's stays.
    let id = rows(p.ferry(&["notifications", "--wide", "--user", "ann"]).ok())[0]
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let e = p.ferry(&["notifications", "read", &id, "--user", "bob"]);
    assert_eq!(e.code, 2, "{e:?}");
    assert!(
        e.stderr.contains(&format!("no notification {id} for 'bob'")),
        "{}",
        e.stderr
    );
    p.ferry(&["notifications", "read", &id, "--user", "ann"]).ok();
    assert!(p
        .ferry(&["notifications", "--wide", "--user", "ann"])
        .ok()
        .contains("no unread notifications for ann"));
    assert_eq!(
        rows(p.ferry(&["notifications", "--wide", "--user", "ann", "--all"]).ok()).len(),
        1
    );
    assert_eq!(
        rows(p.ferry(&["notifications", "--wide", "--user", "bob"]).ok()).len(),
        1
    );
}

#[test]
fn a_scripts_notify_reaches_the_group_and_a_test_extract_only_logs_it() {
    let smtp = sinks::smtp();
    let p = project(smtp.port);
    // No group address: the email goes to the members who have one (ann).
    admins(&p, &[]);
    p.script(
        "sent",
        r#"//! notify = "tech-admins"
let f = csv(query("live", "SELECT id, name FROM people"), #{ name: "people" });
deliver(f, "out");
notify("tech-admins", `Sent ${f.rows} people to Acme`);
"#,
    );
    let test = p.ferry(&["test-extract", "sent"]);
    test.ok();
    let test_run = test.stdout.lines().last().unwrap().split_whitespace().nth(2).unwrap();
    let test_run = test_run.trim_end_matches(':').to_string();
    let log = p.ferry(&["history", "--run", &test_run]);
    assert!(
        log.ok()
            .contains("test extract: would notify tech-admins: Sent 2 people to Acme"),
        "{}",
        log.stdout
    );
    assert!(p
        .ferry(&["notifications", "--wide"])
        .ok()
        .contains("no unread notifications"));
    assert!(smtp.seen().is_empty());

    let out = p.ferry(&["run", "sent"]);
    let run = run_id(out.ok());
    let list = p.ferry(&["notifications", "--wide", "--user", "bob"]);
    let rows = rows(list.ok());
    assert_eq!(rows.len(), 1, "{}", list.stdout);
    for want in ["info", "tech-admins", "bob", "sent", &run, "Sent 2 people to Acme"] {
        assert!(rows[0].contains(&format!(" {want} ")), "{want} in {}", rows[0]);
    }
    let mails = smtp.seen();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, vec!["ann@district.org"]);
    assert!(
        mails[0]
            .data
            .contains("Subject: [ferry] sent: Sent 2 people to Acme\r\n"),
        "{}",
        mails[0].data
    );

    // A disabled member is told nothing, by email or in the app.
    p.ferry(&["users", "disable", "ann"]).ok();
    p.ferry(&["run", "sent"]).ok();
    assert_eq!(smtp.seen().len(), 1, "no email to the disabled ann: {:?}", smtp.seen());
    let list = p.ferry(&["notifications", "--wide", "--user", "ann"]);
    assert_eq!(self::rows(list.ok()).len(), 1, "{}", list.stdout);
    let list = p.ferry(&["notifications", "--wide", "--user", "bob"]);
    assert_eq!(self::rows(list.ok()).len(), 2, "{}", list.stdout);
}

#[test]
fn failing_channels_and_empty_groups_never_fail_the_run() {
    // Nothing listens on these ports.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = project(closed);
    let hook = format!("http://127.0.0.1:{closed}/hooks/{TOKEN}");
    admins(&p, &["--email", "tech@district.org", "--webhook", &hook]);
    p.ferry(&["groups", "add", "nobody-yet"]).ok();
    p.script(
        "ok",
        r#"notify("tech-admins", "hello");
notify("nobody-yet", "anyone there?");
notify("no-such-group", "typo");
"#,
    );
    let out = p.ferry(&["run", "ok"]);
    assert!(out.ok().contains("succeeded"), "{}", out.stdout);
    let stderr = plain(&out.stderr);
    for want in [
        "channel=\"email\"",
        "channel=\"webhook\"",
        &format!("email to tech@district.org via 127.0.0.1:{closed}"),
        &format!("webhook http://127.0.0.1:{closed}/…"),
        "Group 'nobody-yet' has no members",
        "There is no group 'no-such-group'",
    ] {
        assert!(stderr.contains(want), "{want} in:\n{stderr}");
    }
    assert!(!stderr.contains(PASSWORD) && !stderr.contains(TOKEN), "{stderr}");
    let all = p.ferry(&["notifications", "--wide"]);
    let text = all.ok();
    assert_eq!(rows(text).len(), 4, "ann, bob, and one each kept for nobody:\n{text}");
    assert_eq!(text.matches("(nobody)").count(), 2, "{text}");
    let read = p.ferry(&["notifications", "read", "--all"]);
    assert!(read.ok().contains("4 notification(s) marked read"), "{}", read.stdout);

    let e = p.ferry(&["groups", "add-member", "tech-admins", "carol"]);
    assert_eq!(e.code, 2);
    assert!(e.stderr.contains("there is no user 'carol'"), "{}", e.stderr);
    let e = p.ferry(&["users", "add", "ann"]);
    assert!(e.stderr.contains("a user named 'ann' already exists"), "{}", e.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notify_loop_is_capped_per_run() {
    let p = Project::new();
    p.script(
        "chatty",
        r#"for i in 1..=25 { notify("tech-admins", `row ${i}`); }
"#,
    );
    let app = p.app().await;
    app.store.add_user("ann", None, None).await.unwrap();
    app.store.add_group("tech-admins", None, None).await.unwrap();
    app.store.add_member("tech-admins", "ann").await.unwrap();
    let report = p.run("chatty", ferry::state::Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);
    let warned: Vec<_> = report.log.iter().filter(|l| l.level == "warn").collect();
    assert_eq!(warned.len(), 5, "{:?}", report.log);
    assert!(warned[0]
        .message
        .contains("notify tech-admins: not sent, a run sends at most 20 notifications: row 21"));
    let kept = app.store.notifications(Some("ann"), false, 100).await.unwrap();
    assert_eq!(kept.len(), 20);
    assert_eq!(kept[0].message, "row 20");
    assert_eq!(kept[19].message, "row 1");
    assert!(kept
        .iter()
        .all(|n| n.run == Some(report.id) && n.script.as_deref() == Some("chatty")));
}
