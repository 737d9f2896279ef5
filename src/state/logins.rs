//! Console logins: passwords, sessions, API tokens, group rights and the
//! record of who changed which script.
//!
//! Nothing secret is stored as given: passwords are kept as argon2id PHC
//! strings, and session and API tokens only as the SHA-256 of their text,
//! so a copy of the state store lets nobody log in. Token text exists only
//! in the value returned when it is made.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng as SaltRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::people::check_name;
use super::{stamp, time, PeopleError, Right, ScriptAction, StateError, Store};

/// Shorter passwords are refused: argon2 slows guessing down, but cannot
/// save a password that is guessed in a handful of tries.
const MIN_PASSWORD_CHARS: usize = 8;

/// Longer passwords are refused so a login form cannot be used to make the
/// server hash megabytes.
const MAX_PASSWORD_CHARS: usize = 1024;

/// A session just opened: the only moment its token is known in clear, so
/// the console can put it in the cookie. Its `Debug` leaves the tokens out,
/// so a logged value cannot leak them.
#[derive(Clone)]
pub struct NewSession {
    /// The cookie's value; only its SHA-256 is stored.
    pub token: String,
    /// The token every state-changing request must echo back.
    pub csrf: String,
    /// When the session stops working.
    pub expires_at: DateTime<Utc>,
}

/// A live session, as a request's cookie finds it. Its `Debug` leaves the
/// CSRF token out.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Who is logged in.
    pub user: String,
    /// The CSRF token requests of this session must carry.
    pub csrf: String,
    /// When the session stops working.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("token", &"(hidden)")
            .field("csrf", &"(hidden)")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl std::fmt::Debug for SessionInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionInfo")
            .field("user", &self.user)
            .field("csrf", &"(hidden)")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// An API token as listed: never its text, which is not stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    /// The number `ferry tokens revoke` takes.
    pub id: i64,
    /// The user the token acts as.
    pub user: String,
    /// What it is for, so people know which one to revoke.
    pub label: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last authenticated a request, to spot unused tokens.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// One recorded change to a script made through the console, so a script's
/// history says who changed it and which versions were involved.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ScriptChange {
    /// Order of recording.
    pub id: i64,
    /// Script id (file name without `.rhai`).
    pub script: String,
    /// Who made the change.
    pub user: String,
    /// What was done.
    pub action: ScriptAction,
    /// SHA-256 of the source before, when there was one.
    pub old_sha256: Option<String>,
    /// SHA-256 of the source after, when there is one.
    pub new_sha256: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Checks a new password before anything is changed, so a command that
/// makes a user and sets a password can refuse a bad password first.
pub fn check_new_password(password: &str) -> Result<(), PeopleError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PeopleError::Invalid(format!(
            "a password must be at least {MIN_PASSWORD_CHARS} characters long; choose a longer one"
        )));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PeopleError::Invalid(format!(
            "a password must be at most {MAX_PASSWORD_CHARS} characters long; choose a shorter one"
        )));
    }
    Ok(())
}

/// 32 random bytes from the operating system, as URL-safe text: what
/// cookies, headers and forms carry without escaping.
pub(super) fn random_text() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a token: SHA-256 suffices because tokens are random
/// and long, unlike passwords.
pub(super) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A hash checked when there is no real one, so a login for a user who does
/// not exist (or has no password) costs as long as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut SaltRng);
        Argon2::default()
            .hash_password(b"ferry: no such user", &salt)
            .expect("argon2 hashes a short fixed password")
            .to_string()
    })
}

/// Verifies on a blocking thread: argon2 takes tens of milliseconds of CPU,
/// which must not stall the console's other requests.
async fn verify(hash: String, password: String) -> bool {
    tokio::task::spawn_blocking(move || match PasswordHash::new(&hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    })
    .await
    // A verification that panicked or was cancelled did not verify.
    .unwrap_or(false)
}

fn token_row(r: &AnyRow) -> Result<ApiToken, sqlx::Error> {
    Ok(ApiToken {
        id: r.try_get("id")?,
        user: r.try_get("user_name")?,
        label: r.try_get("label")?,
        created_at: time(r.try_get("created_at")?).unwrap_or_default(),
        last_used_at: time(r.try_get("last_used_at")?),
    })
}

fn change_row(r: &AnyRow) -> Result<ScriptChange, sqlx::Error> {
    Ok(ScriptChange {
        id: r.try_get("id")?,
        script: r.try_get("script")?,
        user: r.try_get("user_name")?,
        action: {
            let word: String = r.try_get("action")?;
            ScriptAction::parse(&word)
                .ok_or_else(|| sqlx::Error::Decode(format!("script change '{word}' is unknown").into()))?
        },
        old_sha256: r.try_get("old_sha256")?,
        new_sha256: r.try_get("new_sha256")?,
        at: time(r.try_get("at")?).unwrap_or_default(),
    })
}

impl Store {
    /// Sets (or replaces) a user's password, making them able to log in.
    /// The user's open sessions are closed, so a password changed because
    /// it leaked also ends whatever the leak let in; API tokens stay.
    pub async fn set_password(&self, user: &str, password: &str) -> Result<(), PeopleError> {
        check_new_password(password)?;
        if !self.user_exists(user).await? {
            return Err(PeopleError::NoUser(user.to_string()));
        }
        let password = password.to_string();
        let hash = tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut SaltRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
        })
        .await
        .map_err(|e| PeopleError::Invalid(format!("cannot hash this password ({e})")))?
        .map_err(|e| PeopleError::Invalid(format!("cannot hash this password ({e}); choose another one")))?;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE name = $2")
            .bind(hash)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(PeopleError::NoUser(user.to_string()));
        }
        sqlx::query("DELETE FROM sessions WHERE user_name = $1")
            .bind(user)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether `password` is the user's. False for an unknown user or one
    /// without a password, after the same work as a wrong password, so the
    /// answer's timing does not tell which users exist.
    pub async fn check_password(&self, user: &str, password: &str) -> Result<bool, StateError> {
        // Made before looking the user up, so making it is not the tell.
        let dummy = dummy_hash();
        let stored: Option<String> =
            sqlx::query("SELECT password_hash FROM users WHERE name = $1 AND disabled_at IS NULL")
                .bind(user)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get::<Option<String>, _>(0))
                .transpose()?
                .flatten();
        if let Some(hash) = stored {
            if PasswordHash::new(&hash).is_err() {
                tracing::warn!(
                    user,
                    "the stored password of this user is unreadable; set a new one with `ferry users password {user}`"
                );
            }
            Ok(verify(hash, password.to_string()).await)
        } else {
            verify(dummy.to_string(), password.to_string()).await;
            Ok(false)
        }
    }

    /// Whether a user has a password, that is, can log in to the console;
    /// users without one are only told about runs.
    pub async fn can_log_in(&self, user: &str) -> Result<bool, StateError> {
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) FROM users WHERE name = $1 AND password_hash IS NOT NULL AND disabled_at IS NULL",
        )
        .bind(user)
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        Ok(n > 0)
    }

    /// Opens a session for `user` lasting `ttl`, and sweeps out expired
    /// ones so the table does not grow with every login.
    pub async fn open_session(&self, user: &str, ttl: chrono::Duration) -> Result<NewSession, StateError> {
        if ttl <= chrono::Duration::zero() {
            return Err(StateError::Invalid(format!(
                "a session must last a positive time, not {ttl}; check the console's session setting"
            )));
        }
        if !self.user_exists(user).await? {
            return Err(StateError::Invalid(format!(
                "there is no user '{user}'; `ferry users list` shows the users"
            )));
        }
        let now = Utc::now();
        let expires = stamp(now + ttl);
        let session = NewSession {
            token: random_text(),
            csrf: random_text(),
            expires_at: time(Some(expires.clone())).unwrap_or(now + ttl),
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(stamp(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_name, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash(&session.token))
        .bind(user)
        .bind(&session.csrf)
        .bind(stamp(now))
        .bind(expires)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(session)
    }

    /// The session a cookie's token opens: `None` when the token is
    /// unknown, the session has expired, or its user has been removed.
    pub async fn session(&self, token: &str) -> Result<Option<SessionInfo>, StateError> {
        let row = sqlx::query(
            "SELECT s.user_name, s.csrf, s.expires_at FROM sessions s JOIN users u ON u.name = s.user_name \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
        )
        .bind(token_hash(token))
        .bind(stamp(Utc::now()))
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(SessionInfo {
            user: r.try_get(0)?,
            csrf: r.try_get(1)?,
            expires_at: time(r.try_get(2)?).unwrap_or_default(),
        }))
    }

    /// Ends a session (logging out); an unknown token is not an error, so
    /// logging out twice is harmless.
    pub async fn close_session(&self, token: &str) -> Result<(), StateError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Makes an API token for `user`; returns its id and its text, which is
    /// not stored and so can be shown only now. The `ferry_` prefix lets
    /// secret scanners and people recognise a leaked one.
    pub async fn create_token(&self, user: &str, label: &str) -> Result<(i64, String), PeopleError> {
        let label = label.trim();
        if label.is_empty() || label.chars().count() > 200 {
            return Err(PeopleError::Invalid(
                "a token's label says what it is for (1 to 200 characters), e.g. --label \"nightly export job\""
                    .to_string(),
            ));
        }
        if !self.user_exists(user).await? {
            return Err(PeopleError::NoUser(user.to_string()));
        }
        let token = format!("ferry_{}", random_text());
        let id: i64 = sqlx::query(
            "INSERT INTO api_tokens (user_name, label, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(user)
        .bind(label)
        .bind(token_hash(&token))
        .bind(stamp(Utc::now()))
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        Ok((id, token))
    }

    /// The user an API token acts as, noting its use; `None` when the
    /// token is unknown (or revoked) or its user has been removed.
    pub async fn token_user(&self, token: &str) -> Result<Option<String>, StateError> {
        let row = sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 \
             AND user_name IN (SELECT name FROM users WHERE disabled_at IS NULL) RETURNING user_name",
        )
        .bind(stamp(Utc::now()))
        .bind(token_hash(token))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// API tokens, oldest first: every user's, or one user's.
    pub async fn tokens(&self, user: Option<&str>) -> Result<Vec<ApiToken>, StateError> {
        let columns = "SELECT id, user_name, label, created_at, last_used_at FROM api_tokens";
        let rows = match user {
            Some(u) => {
                sqlx::query(&format!("{columns} WHERE user_name = $1 ORDER BY id"))
                    .bind(u)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query(&format!("{columns} ORDER BY id"))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        Ok(rows.iter().map(token_row).collect::<Result<_, _>>()?)
    }

    /// Revokes a token; with `Some(user)` only if it is that user's, so
    /// people can manage their own tokens without touching others'. True
    /// when a token was revoked.
    pub async fn revoke_token(&self, id: i64, user: Option<&str>) -> Result<bool, StateError> {
        let done = match user {
            Some(u) => {
                sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_name = $2")
                    .bind(id)
                    .bind(u)
                    .execute(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("DELETE FROM api_tokens WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(done.rows_affected() > 0)
    }

    /// Every right the user holds, directly or through any of their groups
    /// (tool and data rights alike); empty for an unknown user. This is
    /// what the console checks a request against.
    pub async fn tool_rights(&self, user: &str) -> Result<BTreeSet<Right>, StateError> {
        let rows = sqlx::query(
            "SELECT r.right_name FROM user_rights r JOIN users u ON u.name = r.user_name WHERE u.name = $1 \
             UNION \
             SELECT gr.right_name FROM group_rights gr JOIN user_groups g ON g.name = gr.group_name \
             JOIN group_members m ON m.group_id = g.id JOIN users u ON u.id = m.user_id WHERE u.name = $2",
        )
        .bind(user)
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<String, _>(0).map(|w| Right::parse(&w)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// The rights granted to the user by name, without those from groups,
    /// so `ferry users rights` can say where each right comes from.
    pub async fn direct_rights(&self, user: &str) -> Result<Vec<String>, StateError> {
        let rows = sqlx::query(
            "SELECT r.right_name FROM user_rights r JOIN users u ON u.name = r.user_name \
             WHERE u.name = $1 ORDER BY r.right_name",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.try_get(0)).collect::<Result<_, sqlx::Error>>()?)
    }

    /// Grants a right to every member of a group, present and future;
    /// granting it again is not an error.
    pub async fn grant_group(&self, group: &str, right: &str) -> Result<(), PeopleError> {
        check_name("right", right)?;
        self.require_group(group).await?;
        sqlx::query(
            "INSERT INTO group_rights (group_name, right_name, granted_at) VALUES ($1, $2, $3) \
             ON CONFLICT (group_name, right_name) DO NOTHING",
        )
        .bind(group)
        .bind(right)
        .bind(stamp(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes a right away from a group; true when the group had it.
    pub async fn revoke_group(&self, group: &str, right: &str) -> Result<bool, PeopleError> {
        self.require_group(group).await?;
        let done = sqlx::query("DELETE FROM group_rights WHERE group_name = $1 AND right_name = $2")
            .bind(group)
            .bind(right)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The rights a group gives its members, sorted.
    pub async fn group_rights(&self, group: &str) -> Result<Vec<String>, PeopleError> {
        self.require_group(group).await?;
        let rows = sqlx::query("SELECT right_name FROM group_rights WHERE group_name = $1 ORDER BY right_name")
            .bind(group)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.try_get(0)).collect::<Result<_, sqlx::Error>>()?)
    }

    /// Records a change made to a script through the console, so history
    /// can say who changed what.
    pub async fn record_script_change(
        &self,
        script: &str,
        user: &str,
        action: ScriptAction,
        old_sha256: Option<&str>,
        new_sha256: Option<&str>,
    ) -> Result<(), StateError> {
        sqlx::query(
            "INSERT INTO script_changes (script, user_name, action, old_sha256, new_sha256, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(script)
        .bind(user)
        .bind(action.as_str())
        .bind(old_sha256)
        .bind(new_sha256)
        .bind(stamp(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Recorded script changes, newest first, at most `limit`: every
    /// script's, or one script's.
    pub async fn script_changes(&self, script: Option<&str>, limit: i64) -> Result<Vec<ScriptChange>, StateError> {
        let columns = "SELECT id, script, user_name, action, old_sha256, new_sha256, at FROM script_changes";
        let rows = match script {
            Some(s) => {
                sqlx::query(&format!("{columns} WHERE script = $1 ORDER BY id DESC LIMIT $2"))
                    .bind(s)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query(&format!("{columns} ORDER BY id DESC LIMIT $1"))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        Ok(rows.iter().map(change_row).collect::<Result<_, _>>()?)
    }

    pub(super) async fn user_exists(&self, user: &str) -> Result<bool, StateError> {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM users WHERE name = $1")
            .bind(user)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(n > 0)
    }

    async fn require_group(&self, group: &str) -> Result<(), PeopleError> {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM user_groups WHERE name = $1")
            .bind(group)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        match n {
            0 => Err(PeopleError::NoGroup(group.to_string())),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
