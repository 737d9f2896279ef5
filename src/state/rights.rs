//! Rights held by users and suspended scripts.
//!
//! Until any user is defined ferry runs in single-administrator mode and
//! filters are not checked against rights; once users exist, a filter's owner
//! must hold the rights it needs.

use chrono::Utc;
use sqlx::Row;

use super::{stamp, StateError, Store};
use crate::filter::OwnerRights;

impl Store {
    /// The rights of a filter's owner, telling a missing user apart from
    /// one without rights, so the refusal can say what to do.
    pub async fn owner_rights(&self, user: &str) -> Result<OwnerRights, StateError> {
        let Some(rights) = self.rights_of(user).await? else {
            return Ok(OwnerRights::Unchecked);
        };
        let exists: i64 = sqlx::query("SELECT COUNT(*) FROM users WHERE name = $1")
            .bind(user)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(match exists {
            0 => OwnerRights::NoSuchUser,
            _ => OwnerRights::Granted(rights),
        })
    }

    /// The rights of `user`, granted directly or through any of their
    /// groups, or `None` when no users are defined at all
    /// (single-administrator mode); an unknown user has no rights.
    pub async fn rights_of(&self, user: &str) -> Result<Option<Vec<String>>, StateError> {
        let users: i64 = sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        if users == 0 {
            return Ok(None);
        }
        Ok(Some(super::Right::words(&self.tool_rights(user).await?)))
    }

    /// Grants a right to an existing user.
    pub async fn grant(&self, user: &str, right: &str) -> Result<(), StateError> {
        if !self.user_exists(user).await? {
            return Err(StateError::Invalid(format!(
                "there is no user '{user}'; add it with ferry users add {user}"
            )));
        }
        sqlx::query(
            "INSERT INTO user_rights (user_name, right_name, granted_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_name, right_name) DO NOTHING",
        )
        .bind(user)
        .bind(right)
        .bind(stamp(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Revokes a right; true when the user had it.
    pub async fn revoke(&self, user: &str, right: &str) -> Result<bool, StateError> {
        let done = sqlx::query("DELETE FROM user_rights WHERE user_name = $1 AND right_name = $2")
            .bind(user)
            .bind(right)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Stops scheduling a script until it is resumed.
    pub async fn suspend(&self, script: &str, reason: &str) -> Result<(), StateError> {
        sqlx::query(
            "INSERT INTO suspensions (script, reason, at) VALUES ($1, $2, $3) \
             ON CONFLICT (script) DO UPDATE SET reason = excluded.reason, at = excluded.at",
        )
        .bind(script)
        .bind(reason)
        .bind(stamp(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Why a script is suspended, if it is.
    pub async fn suspended(&self, script: &str) -> Result<Option<String>, StateError> {
        let row = sqlx::query("SELECT reason FROM suspensions WHERE script = $1")
            .bind(script)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Every suspended script with why, in one query, for the extract list.
    pub async fn suspensions(&self) -> Result<std::collections::HashMap<String, String>, StateError> {
        let rows = sqlx::query("SELECT script, reason FROM suspensions")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Lets a suspended script be scheduled again; true when it was suspended.
    pub async fn resume(&self, script: &str) -> Result<bool, StateError> {
        let done = sqlx::query("DELETE FROM suspensions WHERE script = $1")
            .bind(script)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
