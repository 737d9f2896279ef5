//! Passwords, sessions, API tokens, group rights and script changes against
//! a real SQLite store.

use std::collections::BTreeSet;

use sqlx::Row;

use crate::state::{PeopleError, Right, ScriptAction, StateError, Store, ToolRight};

const PASSWORD: &str = "correct horse battery";

use crate::state::temp_store as store;

/// ann (with a password) in editors, bob (notification-only) in nothing.
async fn people(store: &Store) {
    store.add_user("ann", None, None).await.unwrap();
    store.add_user("bob", None, None).await.unwrap();
    store.add_group("editors", None, None).await.unwrap();
    store.add_member("editors", "ann").await.unwrap();
    store.set_password("ann", PASSWORD).await.unwrap();
}

async fn column(store: &Store, sql: &str) -> Vec<String> {
    sqlx::query(sql)
        .fetch_all(&store.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<Right> {
    items.iter().map(|s| Right::parse(s)).collect()
}

#[tokio::test]
async fn passwords_are_checked_and_stored_only_as_argon2id() {
    let (_d, s) = store().await;
    people(&s).await;
    assert!(s.check_password("ann", PASSWORD).await.unwrap());
    assert!(!s.check_password("ann", "correct horse battery!").await.unwrap());
    assert!(!s.check_password("ann", "").await.unwrap());
    // No password: cannot log in, whatever is typed.
    assert!(!s.check_password("bob", PASSWORD).await.unwrap());
    assert!(!s.check_password("nobody", PASSWORD).await.unwrap());
    assert!(s.can_log_in("ann").await.unwrap());
    assert!(!s.can_log_in("bob").await.unwrap());
    assert!(!s.can_log_in("nobody").await.unwrap());

    let stored = column(&s, "SELECT password_hash FROM users WHERE name = 'ann'").await;
    assert_eq!(stored.len(), 1);
    assert!(stored[0].starts_with("$argon2id$"), "a PHC argon2id string");
    assert!(!stored[0].contains(PASSWORD));

    // The same password set again gets a new salt, hence a new hash.
    s.set_password("ann", PASSWORD).await.unwrap();
    let again = column(&s, "SELECT password_hash FROM users WHERE name = 'ann'").await;
    assert_ne!(stored, again);
    assert!(s.check_password("ann", PASSWORD).await.unwrap());
}

#[tokio::test]
async fn short_passwords_and_unknown_users_are_refused_with_what_to_do() {
    let (_d, s) = store().await;
    people(&s).await;
    let err = s.set_password("bob", "seven77").await.unwrap_err();
    assert!(matches!(err, PeopleError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("at least 8 characters"), "{err}");
    assert!(
        !err.to_string().contains("seven77"),
        "the password is not echoed: {err}"
    );
    assert!(!s.can_log_in("bob").await.unwrap(), "nothing was set");

    let err = s.set_password("nobody", PASSWORD).await.unwrap_err();
    assert!(matches!(err, PeopleError::NoUser(ref u) if u == "nobody"), "{err:?}");
    assert!(err.to_string().contains("ferry users list"), "{err}");

    // Eight characters is enough; characters, not bytes, are counted.
    s.set_password("bob", "ééééééé").await.unwrap_err();
    s.set_password("bob", "éééééééé").await.unwrap();
    assert!(s.check_password("bob", "éééééééé").await.unwrap());
}

#[tokio::test]
async fn sessions_open_are_found_by_token_and_end() {
    let (_d, s) = store().await;
    people(&s).await;
    let new = s.open_session("ann", chrono::Duration::hours(8)).await.unwrap();
    assert_eq!(new.token.len(), 43, "32 bytes, base64url without padding");
    assert!(new
        .token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    assert_ne!(new.token, new.csrf);
    let left = new.expires_at - chrono::Utc::now();
    assert!(left > chrono::Duration::hours(7) && left <= chrono::Duration::hours(8));

    let shown = format!("{new:?}");
    assert!(!shown.contains(&new.token) && !shown.contains(&new.csrf), "{shown}");
    let found = s.session(&new.token).await.unwrap().expect("the session is live");
    assert!(!format!("{found:?}").contains(&new.csrf));
    assert_eq!(found.user, "ann");
    assert_eq!(found.csrf, new.csrf);
    assert_eq!(found.expires_at, new.expires_at);

    // Only the token's SHA-256 is stored.
    let stored = column(&s, "SELECT token_hash FROM sessions").await;
    assert_eq!(stored, vec![super::token_hash(&new.token)]);
    assert_ne!(stored[0], new.token);

    assert!(s.session("not-a-token").await.unwrap().is_none());
    assert!(
        s.session(&new.csrf).await.unwrap().is_none(),
        "the CSRF token is not a session"
    );

    // A second session is independent of the first.
    let other = s.open_session("ann", chrono::Duration::hours(8)).await.unwrap();
    s.close_session(&new.token).await.unwrap();
    assert!(s.session(&new.token).await.unwrap().is_none());
    assert!(s.session(&other.token).await.unwrap().is_some());
    s.close_session(&new.token).await.unwrap();

    let err = s.open_session("nobody", chrono::Duration::hours(1)).await.unwrap_err();
    assert!(
        matches!(err, StateError::Invalid(ref m) if m.contains("'nobody'")),
        "{err:?}"
    );
}

#[tokio::test]
async fn expired_sessions_are_not_found_and_are_swept_at_the_next_login() {
    let (_d, s) = store().await;
    people(&s).await;
    let short = s.open_session("ann", chrono::Duration::milliseconds(50)).await.unwrap();
    assert!(s.session(&short.token).await.unwrap().is_some());
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    assert!(s.session(&short.token).await.unwrap().is_none(), "expired");
    assert_eq!(column(&s, "SELECT token_hash FROM sessions").await.len(), 1);
    let long = s.open_session("ann", chrono::Duration::hours(1)).await.unwrap();
    assert_eq!(
        column(&s, "SELECT token_hash FROM sessions").await,
        vec![super::token_hash(&long.token)],
        "the expired session was deleted"
    );
    assert!(s.open_session("ann", chrono::Duration::zero()).await.is_err());
}

#[tokio::test]
async fn a_new_password_ends_the_users_sessions() {
    let (_d, s) = store().await;
    people(&s).await;
    let new = s.open_session("ann", chrono::Duration::hours(1)).await.unwrap();
    s.set_password("ann", "another long password").await.unwrap();
    assert!(s.session(&new.token).await.unwrap().is_none());
}

#[tokio::test]
async fn api_tokens_are_made_once_found_listed_and_revoked() {
    let (_d, s) = store().await;
    people(&s).await;
    let (id, token) = s.create_token("ann", "nightly export").await.unwrap();
    assert!(token.starts_with("ferry_") && token.len() == 6 + 43, "{}", token.len());
    let (bob_id, bob_token) = s.create_token("bob", "monitoring").await.unwrap();
    assert_ne!(id, bob_id);
    assert_ne!(token, bob_token);

    let stored = column(&s, "SELECT token_hash FROM api_tokens ORDER BY id").await;
    assert_eq!(stored, vec![super::token_hash(&token), super::token_hash(&bob_token)]);
    assert!(!stored.contains(&token));

    let all = s.tokens(None).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(
        (all[0].id, all[0].user.as_str(), all[0].label.as_str()),
        (id, "ann", "nightly export")
    );
    assert_eq!(all[0].last_used_at, None);
    assert_eq!(s.tokens(Some("bob")).await.unwrap()[0].id, bob_id);
    assert!(s.tokens(Some("nobody")).await.unwrap().is_empty());

    assert_eq!(s.token_user(&token).await.unwrap().as_deref(), Some("ann"));
    assert!(s.tokens(Some("ann")).await.unwrap()[0].last_used_at.is_some());
    assert_eq!(s.token_user("ferry_guess").await.unwrap(), None);

    // Someone else's token cannot be revoked in their own name.
    assert!(!s.revoke_token(id, Some("bob")).await.unwrap());
    assert_eq!(s.token_user(&token).await.unwrap().as_deref(), Some("ann"));
    assert!(s.revoke_token(id, Some("ann")).await.unwrap());
    assert_eq!(s.token_user(&token).await.unwrap(), None);
    assert!(!s.revoke_token(id, None).await.unwrap(), "already revoked");
    assert!(s.revoke_token(bob_id, None).await.unwrap());
    assert!(s.tokens(None).await.unwrap().is_empty());

    let err = s.create_token("nobody", "x").await.unwrap_err();
    assert!(matches!(err, PeopleError::NoUser(_)), "{err:?}");
    let err = s.create_token("ann", "  ").await.unwrap_err();
    assert!(err.to_string().contains("--label"), "{err}");
}

#[tokio::test]
async fn rights_come_from_the_user_and_from_each_of_their_groups() {
    let (_d, s) = store().await;
    assert_eq!(s.rights_of("ann").await.unwrap(), None, "single-administrator mode");
    people(&s).await;
    s.add_group("runners", None, None).await.unwrap();
    s.add_member("runners", "ann").await.unwrap();
    s.grant("ann", "read").await.unwrap();
    s.grant_group("editors", "write").await.unwrap();
    s.grant_group("editors", "ssn").await.unwrap();
    s.grant_group("editors", "write").await.unwrap();
    s.grant_group("runners", "run").await.unwrap();
    s.grant_group("runners", "read").await.unwrap();

    assert_eq!(
        s.tool_rights("ann").await.unwrap(),
        set(&["read", "run", "ssn", "write"])
    );
    assert_eq!(s.direct_rights("ann").await.unwrap(), vec!["read"]);
    assert_eq!(
        s.rights_of("ann").await.unwrap(),
        Some(vec!["read".into(), "run".into(), "ssn".into(), "write".into()]),
        "filter rights include the groups' (ssn through editors)"
    );
    assert!(s.tool_rights("bob").await.unwrap().is_empty());
    assert!(s.tool_rights("nobody").await.unwrap().is_empty());
    assert_eq!(s.rights_of("nobody").await.unwrap(), Some(vec![]));
    assert_eq!(s.group_rights("editors").await.unwrap(), vec!["ssn", "write"]);

    // Leaving a group takes its rights away.
    s.remove_member("runners", "ann").await.unwrap();
    assert_eq!(s.tool_rights("ann").await.unwrap(), set(&["read", "ssn", "write"]));
    assert!(s.revoke_group("editors", "write").await.unwrap());
    assert!(!s.revoke_group("editors", "write").await.unwrap());
    assert_eq!(s.tool_rights("ann").await.unwrap(), set(&["read", "ssn"]));

    // A removed group's rights do not come back with a new group of that name.
    s.remove_group("editors").await.unwrap();
    s.add_group("editors", None, None).await.unwrap();
    assert!(s.group_rights("editors").await.unwrap().is_empty());

    for err in [
        s.grant_group("ghosts", "read").await.unwrap_err(),
        s.revoke_group("ghosts", "read").await.unwrap_err(),
        s.group_rights("ghosts").await.unwrap_err(),
    ] {
        assert!(matches!(err, PeopleError::NoGroup(ref g) if g == "ghosts"), "{err:?}");
    }
    assert!(s.grant_group("editors", "").await.is_err());
    assert_eq!(ToolRight::ALL.len(), 6);
}

#[tokio::test]
async fn removing_a_user_drops_their_sessions_tokens_and_rights() {
    let (_d, s) = store().await;
    people(&s).await;
    let session = s.open_session("ann", chrono::Duration::hours(1)).await.unwrap();
    let (_, token) = s.create_token("ann", "job").await.unwrap();
    let (_, bob_token) = s.create_token("bob", "job").await.unwrap();
    s.grant("ann", "manage_users").await.unwrap();
    s.remove_user("ann").await.unwrap();

    assert!(s.session(&session.token).await.unwrap().is_none());
    assert_eq!(s.token_user(&token).await.unwrap(), None);
    assert!(column(&s, "SELECT token_hash FROM sessions").await.is_empty());
    assert_eq!(column(&s, "SELECT user_name FROM api_tokens").await, vec!["bob"]);
    assert!(column(&s, "SELECT user_name FROM user_rights").await.is_empty());
    assert_eq!(s.token_user(&bob_token).await.unwrap().as_deref(), Some("bob"));

    // A new user of the same name starts with nothing.
    s.add_user("ann", None, None).await.unwrap();
    assert!(s.tool_rights("ann").await.unwrap().is_empty());
    assert!(!s.check_password("ann", PASSWORD).await.unwrap());
    assert!(s.tokens(Some("ann")).await.unwrap().is_empty());
}

#[tokio::test]
async fn script_changes_are_listed_newest_first() {
    let (_d, s) = store().await;
    s.record_script_change("roster", "ann", ScriptAction::Created, None, Some("aaa"))
        .await
        .unwrap();
    s.record_script_change("attendance", "bob", ScriptAction::Created, None, Some("ccc"))
        .await
        .unwrap();
    s.record_script_change("roster", "bob", ScriptAction::Edited, Some("aaa"), Some("bbb"))
        .await
        .unwrap();
    s.record_script_change("roster", "ann", ScriptAction::Stopped, None, None)
        .await
        .unwrap();

    let roster = s.script_changes(Some("roster"), 10).await.unwrap();
    let seen: Vec<(&str, &str)> = roster.iter().map(|c| (c.action.as_str(), c.user.as_str())).collect();
    assert_eq!(seen, vec![("stopped", "ann"), ("edited", "bob"), ("created", "ann")]);
    assert_eq!(roster[1].old_sha256.as_deref(), Some("aaa"));
    assert_eq!(roster[1].new_sha256.as_deref(), Some("bbb"));
    assert!(roster[0].at >= roster[2].at);
    assert!(roster.windows(2).all(|w| w[0].id > w[1].id));

    let all = s.script_changes(None, 2).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!((all[0].script.as_str(), all[1].script.as_str()), ("roster", "roster"));

    // Only the five actions can be recorded: any other word is refused
    // where it is read, naming the ones there are.
    let err = "renamed".parse::<ScriptAction>().unwrap_err();
    assert!(
        err.clone().contains("created, edited, deleted, stopped, started"),
        "{err}"
    );
}
