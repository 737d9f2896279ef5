//! Users, groups, membership and notifications against a real SQLite store.

use crate::state::{Level, NewNotification, PeopleError, Store};

use crate::state::temp_store as store;

async fn admins(store: &Store) {
    store
        .add_user("ann", Some("Ann Lee"), Some("ann@district.org"))
        .await
        .unwrap();
    store.add_user("bob", None, None).await.unwrap();
    store
        .add_group(
            "tech-admins",
            Some("tech@district.org"),
            Some("https://hooks.example/x"),
        )
        .await
        .unwrap();
    store.add_member("tech-admins", "ann").await.unwrap();
    store.add_member("tech-admins", "bob").await.unwrap();
}

fn failure(run: i64) -> NewNotification<'static> {
    NewNotification {
        group: "tech-admins",
        script: Some("roster"),
        run: Some(run),
        level: Level::Error,
        message: "roster failed: no such table: students",
    }
}

#[tokio::test]
async fn users_and_groups_round_trip_with_membership() {
    let (_d, s) = store().await;
    admins(&s).await;
    let users = s.users().await.unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0].name, "ann");
    assert_eq!(users[0].display_name.as_deref(), Some("Ann Lee"));
    assert_eq!(users[0].email.as_deref(), Some("ann@district.org"));
    assert_eq!(users[0].groups, vec!["tech-admins"]);
    assert_eq!(users[1].email, None);
    let g = s.group("tech-admins").await.unwrap().unwrap();
    assert_eq!(g.members, vec!["ann", "bob"]);
    assert_eq!(g.email.as_deref(), Some("tech@district.org"));
    assert_eq!(g.webhook.as_deref(), Some("https://hooks.example/x"));
    assert!(s.group("nobody").await.unwrap().is_none());

    s.remove_member("tech-admins", "bob").await.unwrap();
    assert_eq!(s.groups().await.unwrap()[0].members, vec!["ann"]);
    s.remove_user("ann").await.unwrap();
    assert!(s.group("tech-admins").await.unwrap().unwrap().members.is_empty());
    assert_eq!(s.users().await.unwrap().len(), 1);
    s.remove_group("tech-admins").await.unwrap();
    assert!(s.groups().await.unwrap().is_empty());
}

#[tokio::test]
async fn mistakes_are_named() {
    let (_d, s) = store().await;
    admins(&s).await;
    let e = s.add_user("ann", None, None).await.unwrap_err();
    assert!(matches!(e, PeopleError::UserExists(ref n) if n == "ann"), "{e}");
    assert!(e.to_string().contains("a user named 'ann' already exists"));
    let e = s.add_group("tech-admins", None, None).await.unwrap_err();
    assert!(matches!(e, PeopleError::GroupExists(_)), "{e}");
    let e = s.add_member("tech-admins", "ann").await.unwrap_err();
    assert_eq!(e.to_string(), "'ann' is already a member of 'tech-admins'");
    let e = s.add_member("tech-admins", "carol").await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "there is no user 'carol'; `ferry users list` shows the users"
    );
    let e = s.add_member("nurses", "ann").await.unwrap_err();
    assert!(e.to_string().starts_with("there is no group 'nurses'"), "{e}");
    let e = s.remove_member("tech-admins", "ann").await;
    assert!(e.is_ok());
    let e = s.remove_member("tech-admins", "ann").await.unwrap_err();
    assert_eq!(e.to_string(), "'ann' is not a member of 'tech-admins'");
    assert!(matches!(s.remove_user("carol").await, Err(PeopleError::NoUser(_))));
    assert!(matches!(s.remove_group("nurses").await, Err(PeopleError::NoGroup(_))));
    let e = s.add_user("two words", None, None).await.unwrap_err();
    assert!(e.to_string().contains("user name 'two words' must be"), "{e}");
    let e = s.add_user("carol", None, Some("not-an-address")).await.unwrap_err();
    assert!(
        e.to_string().contains("'not-an-address' is not an email address"),
        "{e}"
    );
    let e = s.add_group("g", None, Some("ftp://x")).await.unwrap_err();
    assert!(e.to_string().contains("http:// or https://"), "{e}");
    s.add_group("g", None, Some("env:HOOK_URL")).await.unwrap();
}

#[tokio::test]
async fn a_notification_reaches_every_member_once() {
    let (_d, s) = store().await;
    admins(&s).await;
    let told = s.add_notification(&failure(7)).await.unwrap();
    assert_eq!(told, vec!["ann", "bob"]);
    for user in ["ann", "bob"] {
        let list = s.notifications(Some(user), false, 50).await.unwrap();
        assert_eq!(list.len(), 1, "{user}: {list:?}");
        let n = &list[0];
        assert_eq!(n.user.as_deref(), Some(user));
        assert_eq!(n.group, "tech-admins");
        assert_eq!(n.script.as_deref(), Some("roster"));
        assert_eq!(n.run, Some(7));
        assert_eq!(n.level, Level::Error);
        assert_eq!(n.message, "roster failed: no such table: students");
        assert!(n.read_at.is_none());
    }
    assert_eq!(s.notifications(None, false, 50).await.unwrap().len(), 2);
    let e = s.notifications(Some("carol"), false, 50).await.unwrap_err();
    assert!(matches!(e, PeopleError::NoUser(_)), "{e}");
}

#[tokio::test]
async fn an_empty_or_unknown_group_still_keeps_the_notification() {
    let (_d, s) = store().await;
    s.add_group("empty", None, None).await.unwrap();
    let mut n = failure(1);
    n.group = "empty";
    assert!(s.add_notification(&n).await.unwrap().is_empty());
    n.group = "typo-group";
    n.level = Level::Info;
    n.run = None;
    assert!(s.add_notification(&n).await.unwrap().is_empty());
    let all = s.notifications(None, false, 50).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].group, "typo-group");
    assert_eq!(all[0].user, None);
    assert_eq!(all[0].run, None);
    assert_eq!(all[0].level, Level::Info);
    assert_eq!(all[1].group, "empty");
}

#[tokio::test]
async fn reading_marks_one_or_all_and_respects_the_owner() {
    let (_d, s) = store().await;
    admins(&s).await;
    s.add_notification(&failure(1)).await.unwrap();
    s.add_notification(&failure(2)).await.unwrap();
    let ann = s.notifications(Some("ann"), false, 50).await.unwrap();
    let bob = s.notifications(Some("bob"), false, 50).await.unwrap();
    assert_eq!((ann.len(), bob.len()), (2, 2));
    assert_eq!(ann[0].run, Some(2), "newest first");

    // Bob cannot mark Ann's notification read.
    let e = s.mark_read(ann[0].id, Some("bob")).await.unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("no notification {} for 'bob'", ann[0].id)),
        "{e}"
    );
    assert!(s.mark_read(ann[0].id, Some("ann")).await.unwrap());
    assert!(!s.mark_read(ann[0].id, Some("ann")).await.unwrap(), "already read");
    assert!(matches!(
        s.mark_read(9999, None).await,
        Err(PeopleError::NoNotification(9999, _))
    ));

    let unread = s.notifications(Some("ann"), false, 50).await.unwrap();
    assert_eq!(unread.len(), 1);
    let all = s.notifications(Some("ann"), true, 50).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].read_at.is_some() && all[1].read_at.is_none());

    assert_eq!(s.mark_all_read(Some("bob")).await.unwrap(), 2);
    assert_eq!(s.notifications(Some("ann"), false, 50).await.unwrap().len(), 1);
    assert_eq!(s.mark_all_read(None).await.unwrap(), 1);
    assert!(s.notifications(None, false, 50).await.unwrap().is_empty());
    assert_eq!(s.notifications(None, true, 3).await.unwrap().len(), 3, "limit applies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_beside_a_concurrent_writer_wait_instead_of_failing() {
    let (_d, s) = store().await;
    admins(&s).await;
    // Another connection commits writes all the while. A transaction that
    // read before writing would fail at once with "database is locked"
    // when a write lands between its read and its write.
    let other = s.clone();
    let writer = tokio::spawn(async move {
        for i in 0..200 {
            other.add_user(&format!("writer{i}"), None, None).await.unwrap();
        }
    });
    for run in 0..200 {
        let told = s.add_notification(&failure(run)).await.unwrap();
        assert_eq!(told, vec!["ann", "bob"]);
    }
    writer.await.unwrap();
    assert_eq!(s.unread_count("ann").await.unwrap(), 200);
}
