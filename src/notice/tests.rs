//! The email and webhook a notification becomes, and channels that fail
//! without failing anything else or showing a secret.

use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::{email_message, redact_webhook, webhook_payload, Channel, Notifier};
use crate::config::Settings;
use crate::state::{Level, NewNotification, StateLocation, Store};

fn failure() -> NewNotification<'static> {
    NewNotification {
        group: "tech-admins",
        script: Some("roster"),
        run: Some(42),
        level: Level::Error,
        message: "Roster (scripts/roster.rhai) failed in run 42: no such table: student",
    }
}

fn at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 4, 5, 6, 7).unwrap()
}

#[test]
fn the_email_says_what_failed_and_where_to_look() {
    let to = vec!["tech@district.org".to_string(), "ann@district.org".to_string()];
    let m = email_message("ferry <ferry@district.org>", &to, &failure(), at()).unwrap();
    let text = String::from_utf8(m.formatted()).unwrap();
    assert!(text.contains("Subject: [ferry] roster: run 42 failed\r\n"), "{text}");
    assert!(text.contains("From: ferry <ferry@district.org>\r\n"), "{text}");
    assert!(text.contains("To: tech@district.org, ann@district.org\r\n"), "{text}");
    assert!(text.contains("failed in run 42: no such table: student"), "{text}");
    assert!(text.contains("Run:    42 (`ferry history --run 42`)"), "{text}");
    assert!(text.contains("At:     2027-03-04T05:06:07Z"), "{text}");

    let info = NewNotification {
        level: Level::Info,
        message: "Sent 1,204 students to Acme\nsecond line",
        ..failure()
    };
    let text = String::from_utf8(email_message("a@b.org", &to, &info, at()).unwrap().formatted()).unwrap();
    assert!(
        text.contains("Subject: [ferry] roster: Sent 1,204 students to Acme\r\n"),
        "{text}"
    );
    assert!(email_message("not an address", &to, &info, at()).is_err());
}

#[test]
fn the_webhook_body_has_every_field() {
    let v = webhook_payload(&failure(), at());
    assert_eq!(v["group"], "tech-admins");
    assert_eq!(v["script"], "roster");
    assert_eq!(v["run"], 42);
    assert_eq!(v["level"], "error");
    assert_eq!(v["at"], "2027-03-04T05:06:07Z");
    assert!(v["message"].as_str().unwrap().contains("no such table"));
    let bare = NewNotification {
        script: None,
        run: None,
        ..failure()
    };
    let v = webhook_payload(&bare, at());
    assert!(v["script"].is_null() && v["run"].is_null());
}

#[test]
fn webhook_tokens_are_never_shown() {
    assert_eq!(
        redact_webhook("https://hooks.slack.com/services/T000/B000/XXXXSECRET"),
        "https://hooks.slack.com/…"
    );
    assert_eq!(redact_webhook("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    assert_eq!(redact_webhook("env:TEAMS_HOOK"), "env:TEAMS_HOOK");
}

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn failing_channels_are_reported_and_the_notification_is_still_kept() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("smtp.pw"), "hunter2-smtp\n").unwrap();
    let port = closed_port();
    let config = format!(
        "[smtp]\nhost = \"127.0.0.1\"\nport = {port}\nfrom = \"ferry@district.org\"\ntls = \"none\"\n\
         username = \"ferry\"\npassword = \"file:smtp.pw\"\n"
    );
    let settings = Settings::parse(&config, "t.toml", dir.path()).unwrap();
    let store = Store::open(&StateLocation::Sqlite(dir.path().join("state.db")))
        .await
        .unwrap();
    store.add_user("ann", None, None).await.unwrap();
    let hook = format!("http://127.0.0.1:{port}/hooks/SECRET-TOKEN");
    store
        .add_group("tech-admins", Some("tech@district.org"), Some(&hook))
        .await
        .unwrap();
    store.add_member("tech-admins", "ann").await.unwrap();

    let sent = Notifier::new(store.clone(), Arc::new(settings)).send(&failure()).await;
    assert_eq!(sent.members, vec!["ann"]);
    assert_eq!(sent.stored, Channel::Sent("to ann".into()));
    let Channel::Failed(e) = &sent.email else {
        panic!("{:?}", sent.email)
    };
    assert!(
        e.starts_with(&format!("email to tech@district.org via 127.0.0.1:{port}: ")),
        "{e}"
    );
    assert!(!e.contains("hunter2"), "{e}");
    let Channel::Failed(e) = &sent.webhook else {
        panic!("{:?}", sent.webhook)
    };
    assert!(e.starts_with(&format!("webhook http://127.0.0.1:{port}/…: ")), "{e}");
    assert!(!e.contains("SECRET-TOKEN"), "{e}");
    let kept = store.notifications(Some("ann"), false, 10).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].run, Some(42));
}

#[tokio::test]
async fn a_group_without_smtp_or_members_still_keeps_one_row() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::parse("", "t.toml", dir.path()).unwrap();
    let store = Store::open(&StateLocation::Sqlite(dir.path().join("state.db")))
        .await
        .unwrap();
    store
        .add_group("tech-admins", Some("tech@district.org"), None)
        .await
        .unwrap();
    let sent = Notifier::new(store.clone(), Arc::new(settings)).send(&failure()).await;
    assert!(sent.members.is_empty());
    assert_eq!(sent.stored, Channel::Sent("with no recipient".into()));
    assert_eq!((sent.email, sent.webhook), (Channel::Off, Channel::Off));
    let kept = store.notifications(None, false, 10).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].user, None);
    assert_eq!(kept[0].group, "tech-admins");
}
