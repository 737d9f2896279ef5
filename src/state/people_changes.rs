//! Who changed which user, group, right or token, and from where, so a
//! district can answer "who gave this person `manage_users`, and when"
//! without reading logs that may have rotated away.

use std::fmt;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{stamp, time, StartedBy, StateError, Store};

/// What an administrator changed. Stored as its [`AdminAction::word`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdminAction {
    /// A user was added.
    UserAdded,
    /// A user was removed, with their rights, sessions and tokens.
    UserRemoved,
    /// A user may no longer sign in or use their tokens.
    UserDisabled,
    /// A disabled user may sign in again.
    UserEnabled,
    /// A user's password was set or reset.
    PasswordSet,
    /// A user's second factor was removed by an administrator.
    SecondFactorReset,
    /// A right was granted to a user (detail: the right).
    RightGranted,
    /// A right was taken from a user (detail: the right).
    RightRevoked,
    /// A user joined a group (detail: the group).
    MemberAdded,
    /// A user left a group (detail: the group).
    MemberRemoved,
    /// A group was added.
    GroupAdded,
    /// A group was removed.
    GroupRemoved,
    /// A right was granted to every member of a group (detail: the right).
    GroupRightGranted,
    /// A right was taken from a group (detail: the right).
    GroupRightRevoked,
    /// An API token was made for a user (detail: its label).
    TokenCreated,
    /// An API token was revoked (detail: its label or id).
    TokenRevoked,
}

impl AdminAction {
    /// Every action, for reading stored words back.
    pub const ALL: [AdminAction; 16] = [
        AdminAction::UserAdded,
        AdminAction::UserRemoved,
        AdminAction::UserDisabled,
        AdminAction::UserEnabled,
        AdminAction::PasswordSet,
        AdminAction::SecondFactorReset,
        AdminAction::RightGranted,
        AdminAction::RightRevoked,
        AdminAction::MemberAdded,
        AdminAction::MemberRemoved,
        AdminAction::GroupAdded,
        AdminAction::GroupRemoved,
        AdminAction::GroupRightGranted,
        AdminAction::GroupRightRevoked,
        AdminAction::TokenCreated,
        AdminAction::TokenRevoked,
    ];

    /// The stored and shown words.
    pub fn word(self) -> &'static str {
        match self {
            AdminAction::UserAdded => "user added",
            AdminAction::UserRemoved => "user removed",
            AdminAction::UserDisabled => "user disabled",
            AdminAction::UserEnabled => "user enabled",
            AdminAction::PasswordSet => "password set",
            AdminAction::SecondFactorReset => "second factor reset",
            AdminAction::RightGranted => "right granted",
            AdminAction::RightRevoked => "right revoked",
            AdminAction::MemberAdded => "added to group",
            AdminAction::MemberRemoved => "removed from group",
            AdminAction::GroupAdded => "group added",
            AdminAction::GroupRemoved => "group removed",
            AdminAction::GroupRightGranted => "group right granted",
            AdminAction::GroupRightRevoked => "group right revoked",
            AdminAction::TokenCreated => "token created",
            AdminAction::TokenRevoked => "token revoked",
        }
    }

    /// Reads a stored word back; `None` for text no version wrote.
    pub fn parse(word: &str) -> Option<AdminAction> {
        AdminAction::ALL.into_iter().find(|a| a.word() == word)
    }
}

impl fmt::Display for AdminAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// One recorded change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeopleChange {
    /// Its number, increasing.
    pub id: i64,
    /// When it was made.
    pub at: DateTime<Utc>,
    /// Who made it, and from where.
    pub by: StartedBy,
    /// What was done.
    pub action: AdminAction,
    /// The user or group changed.
    pub subject: String,
    /// The right, group or token label, where the action has one.
    pub detail: Option<String>,
}

impl Store {
    /// Records a change to people or rights. Called after the change
    /// succeeded, by the one place each interface (command line, console,
    /// API) makes it.
    pub async fn record_people_change(
        &self,
        by: &StartedBy,
        action: AdminAction,
        subject: &str,
        detail: Option<&str>,
    ) -> Result<(), StateError> {
        sqlx::query("INSERT INTO people_changes (at, changed_by, action, subject, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind(stamp(Utc::now()))
            .bind(by.stored())
            .bind(action.word())
            .bind(subject)
            .bind(detail)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The latest `limit` changes, newest first.
    pub async fn people_changes(&self, limit: i64) -> Result<Vec<PeopleChange>, StateError> {
        let rows = sqlx::query(
            "SELECT id, at, changed_by, action, subject, detail FROM people_changes ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut changes = Vec::with_capacity(rows.len());
        for r in &rows {
            let by: String = r.try_get("changed_by")?;
            let action: String = r.try_get("action")?;
            changes.push(PeopleChange {
                id: r.try_get("id")?,
                at: time(r.try_get("at")?).unwrap_or_default(),
                by: StartedBy::parse(&by)
                    .ok_or_else(|| StateError::Invalid(format!("people change by '{by}' is not readable")))?,
                action: AdminAction::parse(&action)
                    .ok_or_else(|| StateError::Invalid(format!("people change action '{action}' is not readable")))?,
                subject: r.try_get("subject")?,
                detail: r.try_get("detail")?,
            });
        }
        Ok(changes)
    }

    /// Turns a user off or back on. Turning off ends their sessions at
    /// once; their tokens stay but are refused while they are off. True
    /// when something changed.
    pub async fn set_disabled(&self, user: &str, disabled: bool) -> Result<bool, super::PeopleError> {
        // Writes first: a SQLite transaction that reads before it writes
        // fails at once (no busy wait) when another connection wrote since.
        let mut tx = self.pool.begin().await?;
        let done = if disabled {
            sqlx::query("UPDATE users SET disabled_at = $1 WHERE name = $2 AND disabled_at IS NULL")
                .bind(stamp(Utc::now()))
                .bind(user)
                .execute(&mut *tx)
                .await?
        } else {
            sqlx::query("UPDATE users SET disabled_at = NULL WHERE name = $1 AND disabled_at IS NOT NULL")
                .bind(user)
                .execute(&mut *tx)
                .await?
        };
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_name = $1")
                .bind(user)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        if done.rows_affected() == 0 && !self.user_exists(user).await? {
            return Err(super::PeopleError::NoUser(user.to_string()));
        }
        Ok(done.rows_affected() > 0)
    }

    /// Whether an administrator turned the user off.
    pub async fn is_disabled(&self, user: &str) -> Result<bool, StateError> {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM users WHERE name = $1 AND disabled_at IS NOT NULL")
            .bind(user)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_reads_back_from_its_word() {
        for a in AdminAction::ALL {
            assert_eq!(AdminAction::parse(a.word()), Some(a));
        }
        let words: std::collections::BTreeSet<_> = AdminAction::ALL.iter().map(|a| a.word()).collect();
        assert_eq!(words.len(), AdminAction::ALL.len(), "words are distinct");
        assert_eq!(AdminAction::parse("user deleted"), None);
    }
}
