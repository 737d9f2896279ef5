//! Users, groups and who is in which group: the people a script's
//! `notify = "group"` and `notify(group, message)` reach.

use chrono::Utc;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{stamp, StateError, Store};

/// A problem with users, groups or notifications that a person can fix:
/// each message names the thing and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    /// A user name that is not in the store.
    #[error("there is no user '{0}'; `ferry users list` shows the users")]
    NoUser(String),
    /// A group name that is not in the store.
    #[error("there is no group '{0}'; `ferry groups list` shows the groups")]
    NoGroup(String),
    /// `users add` with a name already taken.
    #[error("a user named '{0}' already exists; `ferry users remove {0}` first to replace it")]
    UserExists(String),
    /// `groups add` with a name already taken.
    #[error("a group named '{0}' already exists; `ferry groups remove {0}` first to replace it")]
    GroupExists(String),
    /// `add-member` twice.
    #[error("'{user}' is already a member of '{group}'")]
    AlreadyMember { group: String, user: String },
    /// `remove-member` of someone not in the group.
    #[error("'{user}' is not a member of '{group}'")]
    NotMember { group: String, user: String },
    /// A notification id that does not exist (or is not the user's).
    #[error("there is no notification {0}{1}; `ferry notifications --all` lists them")]
    NoNotification(i64, String),
    /// A bad name, address or URL.
    #[error("{0}")]
    Invalid(String),
    /// The store itself failed.
    #[error(transparent)]
    State(#[from] StateError),
}

impl From<sqlx::Error> for PeopleError {
    fn from(e: sqlx::Error) -> Self {
        PeopleError::State(StateError::Query(e))
    }
}

/// A person who can be told about runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Unique login-style name (`jsmith`).
    pub name: String,
    /// Name for people (`Jane Smith`).
    pub display_name: Option<String>,
    /// Where email for this user goes, when the group has no address of its own.
    pub email: Option<String>,
    /// Groups the user is in, sorted.
    pub groups: Vec<String>,
    /// Turned off by an administrator: no sign-in, no tokens.
    pub disabled: bool,
}

/// A group that scripts notify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Unique name, as written in `notify = "..."`.
    pub name: String,
    /// The group's own email address (a list address, typically).
    pub email: Option<String>,
    /// An http(s) URL, or a secret reference (`env:`/`file:`) holding one.
    pub webhook: Option<String>,
    /// Member user names, sorted.
    pub members: Vec<String>,
}

/// Checks a user or group name (the rule is [`crate::config::check_person_name`],
/// which the configuration also applies to the groups it names).
pub fn check_name(kind: &str, name: &str) -> Result<(), PeopleError> {
    crate::config::check_person_name(kind, name).map_err(PeopleError::Invalid)
}

/// Checks an email address now, so a typo is reported when it is entered
/// rather than when the first failure needs reporting.
pub fn check_email(address: &str) -> Result<(), PeopleError> {
    address
        .parse::<lettre::Address>()
        .map(|_| ())
        .map_err(|e| PeopleError::Invalid(format!("'{address}' is not an email address: {e}")))
}

/// Checks a webhook: an http(s) URL, or a reference to a secret holding one
/// (chat webhooks carry their token in the URL).
pub fn check_webhook(hook: &str) -> Result<(), PeopleError> {
    if hook.starts_with("env:") || hook.starts_with("file:") {
        return Ok(());
    }
    match reqwest::Url::parse(hook) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(PeopleError::Invalid(
            "a webhook is an http:// or https:// URL, or a secret reference env:VARIABLE or file:PATH holding one"
                .to_string(),
        )),
    }
}

fn unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn user_row(r: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        name: r.try_get("name")?,
        display_name: r.try_get("display_name")?,
        email: r.try_get("email")?,
        groups: Vec::new(),
        disabled: r.try_get::<Option<String>, _>("disabled_at")?.is_some(),
    })
}

fn group_row(r: &AnyRow) -> Result<Group, sqlx::Error> {
    Ok(Group {
        name: r.try_get("name")?,
        email: r.try_get("email")?,
        webhook: r.try_get("webhook")?,
        members: Vec::new(),
    })
}

impl Store {
    /// Adds a user; the name must be new.
    pub async fn add_user(&self, name: &str, display: Option<&str>, email: Option<&str>) -> Result<(), PeopleError> {
        check_name("user", name)?;
        if let Some(e) = email {
            check_email(e)?;
        }
        sqlx::query("INSERT INTO users (name, display_name, email, created_at) VALUES ($1, $2, $3, $4)")
            .bind(name)
            .bind(display)
            .bind(email)
            .bind(stamp(Utc::now()))
            .execute(&self.pool)
            .await
            .map_err(|e| {
                if unique_violation(&e) {
                    PeopleError::UserExists(name.to_string())
                } else {
                    e.into()
                }
            })?;
        Ok(())
    }

    /// Every user with their groups, by name.
    pub async fn users(&self) -> Result<Vec<User>, PeopleError> {
        let mut users: Vec<User> =
            sqlx::query("SELECT name, display_name, email, disabled_at FROM users ORDER BY name")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(user_row)
                .collect::<Result<_, _>>()?;
        for (user, group) in self.memberships().await? {
            if let Some(u) = users.iter_mut().find(|u| u.name == user) {
                u.groups.push(group);
            }
        }
        Ok(users)
    }

    /// One user, if there is one by that name.
    pub async fn user(&self, name: &str) -> Result<Option<User>, PeopleError> {
        Ok(self.users().await?.into_iter().find(|u| u.name == name))
    }

    /// The time zone `name` chose to read times in; `None` for the
    /// district's (or when there is no such user).
    pub async fn user_timezone(&self, name: &str) -> Result<Option<String>, PeopleError> {
        let row = sqlx::query("SELECT timezone FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get("timezone")?,
            None => None,
        })
    }

    /// Sets the time zone `name` reads times in (`None`: the district's).
    /// The caller checks the zone's name.
    pub async fn set_user_timezone(&self, name: &str, zone: Option<&str>) -> Result<(), PeopleError> {
        let done = sqlx::query("UPDATE users SET timezone = $1 WHERE name = $2")
            .bind(zone)
            .bind(name)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(PeopleError::NoUser(name.to_string()));
        }
        Ok(())
    }

    /// Removes a user with their memberships, rights, console sessions and
    /// API tokens, so nothing they held outlives them (or passes to a new
    /// user given the same name); their past notifications stay.
    pub async fn remove_user(&self, name: &str) -> Result<(), PeopleError> {
        let mut tx = self.pool.begin().await?;
        for table in [
            "sessions",
            "api_tokens",
            "user_rights",
            "user_totp",
            "totp_recovery",
            "pending_logins",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE user_name = $1"))
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM group_members WHERE user_id IN (SELECT id FROM users WHERE name = $1)")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM users WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(PeopleError::NoUser(name.to_string()));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds a group; the name must be new.
    pub async fn add_group(&self, name: &str, email: Option<&str>, webhook: Option<&str>) -> Result<(), PeopleError> {
        check_name("group", name)?;
        if let Some(e) = email {
            check_email(e)?;
        }
        if let Some(w) = webhook {
            check_webhook(w)?;
        }
        sqlx::query("INSERT INTO user_groups (name, email, webhook, created_at) VALUES ($1, $2, $3, $4)")
            .bind(name)
            .bind(email)
            .bind(webhook)
            .bind(stamp(Utc::now()))
            .execute(&self.pool)
            .await
            .map_err(|e| {
                if unique_violation(&e) {
                    PeopleError::GroupExists(name.to_string())
                } else {
                    e.into()
                }
            })?;
        Ok(())
    }

    /// Every group with its members, by name.
    pub async fn groups(&self) -> Result<Vec<Group>, PeopleError> {
        let mut groups: Vec<Group> = sqlx::query("SELECT name, email, webhook FROM user_groups ORDER BY name")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(group_row)
            .collect::<Result<_, _>>()?;
        for (user, group) in self.memberships().await? {
            if let Some(g) = groups.iter_mut().find(|g| g.name == group) {
                g.members.push(user);
            }
        }
        Ok(groups)
    }

    /// One group with its members, if there is one by that name.
    pub async fn group(&self, name: &str) -> Result<Option<Group>, PeopleError> {
        let Some(row) = sqlx::query("SELECT name, email, webhook FROM user_groups WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let mut group = group_row(&row)?;
        group.members = self.members(name).await?.into_iter().map(|u| u.name).collect();
        Ok(Some(group))
    }

    /// The users in a group, by name (empty for an unknown group).
    pub async fn members(&self, group: &str) -> Result<Vec<User>, PeopleError> {
        let rows = sqlx::query(
            "SELECT u.name, u.display_name, u.email, u.disabled_at FROM group_members m \
             JOIN users u ON u.id = m.user_id JOIN user_groups g ON g.id = m.group_id \
             WHERE g.name = $1 ORDER BY u.name",
        )
        .bind(group)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(user_row).collect::<Result<_, _>>()?)
    }

    /// Removes a group with its memberships and rights, so a new group
    /// given the same name starts with none; its past notifications stay.
    pub async fn remove_group(&self, name: &str) -> Result<(), PeopleError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM group_rights WHERE group_name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM group_members WHERE group_id IN (SELECT id FROM user_groups WHERE name = $1)")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM user_groups WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(PeopleError::NoGroup(name.to_string()));
        }
        tx.commit().await?;
        Ok(())
    }

    /// The users whose email is `address`, compared without case: how a
    /// person signing in through the identity provider is found.
    pub async fn users_with_email(&self, address: &str) -> Result<Vec<String>, PeopleError> {
        let rows = sqlx::query("SELECT name FROM users WHERE LOWER(email) = LOWER($1) ORDER BY name")
            .bind(address)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.try_get(0)).collect::<Result<_, sqlx::Error>>()?)
    }

    /// Puts a user in a group; both must exist.
    pub async fn add_member(&self, group: &str, user: &str) -> Result<(), PeopleError> {
        let (g, u) = self.ids(group, user).await?;
        sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
            .bind(g)
            .bind(u)
            .execute(&self.pool)
            .await
            .map_err(|e| {
                if unique_violation(&e) {
                    PeopleError::AlreadyMember {
                        group: group.to_string(),
                        user: user.to_string(),
                    }
                } else {
                    e.into()
                }
            })?;
        Ok(())
    }

    /// Takes a user out of a group.
    pub async fn remove_member(&self, group: &str, user: &str) -> Result<(), PeopleError> {
        let (g, u) = self.ids(group, user).await?;
        let done = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(g)
            .bind(u)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(PeopleError::NotMember {
                group: group.to_string(),
                user: user.to_string(),
            });
        }
        Ok(())
    }

    async fn ids(&self, group: &str, user: &str) -> Result<(i64, i64), PeopleError> {
        let g: Option<i64> = sqlx::query("SELECT id FROM user_groups WHERE name = $1")
            .bind(group)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        let u: Option<i64> = sqlx::query("SELECT id FROM users WHERE name = $1")
            .bind(user)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        match (g, u) {
            (None, _) => Err(PeopleError::NoGroup(group.to_string())),
            (_, None) => Err(PeopleError::NoUser(user.to_string())),
            (Some(g), Some(u)) => Ok((g, u)),
        }
    }

    /// (user, group) name pairs, sorted, for listings.
    async fn memberships(&self) -> Result<Vec<(String, String)>, PeopleError> {
        let rows = sqlx::query(
            "SELECT u.name, g.name FROM group_members m JOIN users u ON u.id = m.user_id \
             JOIN user_groups g ON g.id = m.group_id ORDER BY g.name, u.name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }
}
