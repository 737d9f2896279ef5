//! The in-app notification list: one row per member of the group told, read
//! with `ferry notifications` and marked read there.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::people::PeopleError;
use super::{stamp, time, StateError, Store};

/// How serious a notification is; a failed run is an error, a script's own
/// `notify()` message is information.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Something went wrong (a run failed, a script stopped compiling).
    Error,
    /// Something needs a person: a guard held a run's files.
    Warning,
    /// A message a script chose to send.
    Info,
}

impl Level {
    /// Every level, for the round-trip test of stored words.
    pub const ALL: [Level; 3] = [Level::Error, Level::Warning, Level::Info];

    /// The stored word, also used in webhooks and email subjects.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warn",
            Level::Info => "info",
        }
    }

    pub(super) fn parse(text: &str) -> Level {
        match text {
            "error" => Level::Error,
            "warn" => Level::Warning,
            _ => Level::Info,
        }
    }
}

/// A notification to record, before it is fanned out to members.
#[derive(Clone, Copy, Debug)]
pub struct NewNotification<'a> {
    /// The group told; one row is stored per member.
    pub group: &'a str,
    /// The script that raised it, if a script did.
    pub script: Option<&'a str>,
    /// The run that raised it, if a run did.
    pub run: Option<i64>,
    /// Error or information.
    pub level: Level,
    /// The text, already written for a person.
    pub message: &'a str,
}

/// A stored notification, as listed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Notification {
    /// Id, for `ferry notifications read ID`.
    pub id: i64,
    /// The member it is for; `None` when the group had no members.
    pub user: Option<String>,
    pub group: String,
    /// The script that raised it.
    pub script: Option<String>,
    /// The run that raised it.
    pub run: Option<i64>,
    /// Error or information.
    pub level: Level,
    /// The text.
    pub message: String,
    /// When it was raised, UTC.
    pub created_at: DateTime<Utc>,
    /// When it was marked read; `None` while unread.
    pub read_at: Option<DateTime<Utc>>,
}

fn notification_row(r: &AnyRow) -> Result<Notification, sqlx::Error> {
    let level: String = r.try_get("level")?;
    Ok(Notification {
        id: r.try_get("id")?,
        user: r.try_get("user_name")?,
        group: r.try_get("group_name")?,
        script: r.try_get("script")?,
        run: r.try_get("run_id")?,
        level: Level::parse(&level),
        message: r.try_get("message")?,
        created_at: time(r.try_get("created_at")?).unwrap_or_default(),
        read_at: time(r.try_get("read_at")?),
    })
}

const COLUMNS: &str = "id, user_name, group_name, script, run_id, level, message, created_at, read_at";

impl Store {
    /// Records a notification once per current member of its group, in one
    /// transaction, and returns the members told. A disabled member is not
    /// told: they cannot sign in to read it. A group with no (enabled)
    /// members, or no such group, still gets one row with no user, so
    /// nothing is lost.
    pub async fn add_notification(&self, n: &NewNotification<'_>) -> Result<Vec<String>, PeopleError> {
        // Written before anything is read: in SQLite a transaction that reads
        // first cannot become a writer while another connection writes (it
        // fails at once with "database is locked", without the busy wait).
        let mut tx = self.pool.begin().await?;
        let now = stamp(Utc::now());
        let insert = |rows: &'static str| {
            sqlx::query(rows)
                .bind(n.group)
                .bind(n.script)
                .bind(n.run)
                .bind(n.level.as_str())
                .bind(n.message)
                .bind(now.clone())
        };
        let told = insert(
            "INSERT INTO notifications (user_name, group_name, script, run_id, level, message, created_at) \
             SELECT u.name, $1, $2, $3, $4, $5, $6 FROM group_members m JOIN users u ON u.id = m.user_id \
             JOIN user_groups g ON g.id = m.group_id WHERE g.name = $1 AND u.disabled_at IS NULL",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if told == 0 {
            insert(
                "INSERT INTO notifications (user_name, group_name, script, run_id, level, message, created_at) \
                 VALUES (NULL, $1, $2, $3, $4, $5, $6)",
            )
            .execute(&mut *tx)
            .await?;
        }
        let members: Vec<String> = sqlx::query(
            "SELECT u.name FROM group_members m JOIN users u ON u.id = m.user_id \
             JOIN user_groups g ON g.id = m.group_id WHERE g.name = $1 AND u.disabled_at IS NULL \
             ORDER BY u.name",
        )
        .bind(n.group)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
        tx.commit().await?;
        Ok(members)
    }

    /// Notifications, newest first: one user's (or everyone's), unread only
    /// unless `include_read`.
    pub async fn notifications(
        &self,
        user: Option<&str>,
        include_read: bool,
        limit: i64,
    ) -> Result<Vec<Notification>, PeopleError> {
        let unread = if include_read { "" } else { " AND read_at IS NULL" };
        let rows = if let Some(u) = user {
            self.require_user(u).await?;
            let sql =
                format!("SELECT {COLUMNS} FROM notifications WHERE user_name = $1{unread} ORDER BY id DESC LIMIT $2");
            sqlx::query(&sql).bind(u).bind(limit).fetch_all(&self.pool).await?
        } else {
            let sql = format!("SELECT {COLUMNS} FROM notifications WHERE 1 = 1{unread} ORDER BY id DESC LIMIT $1");
            sqlx::query(&sql).bind(limit).fetch_all(&self.pool).await?
        };
        Ok(rows.iter().map(notification_row).collect::<Result<_, _>>()?)
    }

    /// How many of `user`'s notifications are unread: the header's count
    /// on every page, so one small query.
    pub async fn unread_count(&self, user: &str) -> Result<i64, StateError> {
        Ok(
            sqlx::query("SELECT COUNT(*) FROM notifications WHERE user_name = $1 AND read_at IS NULL")
                .bind(user)
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?,
        )
    }

    /// Marks one notification read (only if it is `user`'s, when given);
    /// returns false when it already was.
    pub async fn mark_read(&self, id: i64, user: Option<&str>) -> Result<bool, PeopleError> {
        if let Some(u) = user {
            self.require_user(u).await?;
        }
        let row = sqlx::query("SELECT user_name, read_at FROM notifications WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let owner: Option<(Option<String>, Option<String>)> = row
            .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
            .transpose()?;
        let not_found = || PeopleError::NoNotification(id, user.map(|u| format!(" for '{u}'")).unwrap_or_default());
        match owner {
            None => Err(not_found()),
            Some((owner, _)) if user.is_some() && owner.as_deref() != user => Err(not_found()),
            Some((_, Some(_))) => Ok(false),
            Some((_, None)) => {
                sqlx::query("UPDATE notifications SET read_at = $1 WHERE id = $2 AND read_at IS NULL")
                    .bind(stamp(Utc::now()))
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(true)
            }
        }
    }

    /// Marks every unread notification read (one user's, when given);
    /// returns how many were.
    pub async fn mark_all_read(&self, user: Option<&str>) -> Result<u64, PeopleError> {
        let now = stamp(Utc::now());
        let done = match user {
            Some(u) => {
                self.require_user(u).await?;
                sqlx::query("UPDATE notifications SET read_at = $1 WHERE read_at IS NULL AND user_name = $2")
                    .bind(now)
                    .bind(u)
                    .execute(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("UPDATE notifications SET read_at = $1 WHERE read_at IS NULL")
                    .bind(now)
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(done.rows_affected())
    }

    async fn require_user(&self, name: &str) -> Result<(), PeopleError> {
        let found = sqlx::query("SELECT id FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        match found {
            Some(_) => Ok(()),
            None => Err(PeopleError::NoUser(name.to_string())),
        }
    }
}

#[cfg(test)]
mod tests;
