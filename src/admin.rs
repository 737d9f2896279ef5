//! Changes to people, groups, rights and tokens, made the same way from the
//! command line, the console and the API: each change is checked, made, and
//! recorded with who made it (the console's "Changes" table), so the three
//! interfaces cannot drift apart in what they allow or what they record.

use crate::app::App;
use crate::state::{AdminAction, PeopleError, StartedBy};

/// A user to add, everything checked before anything is stored so a
/// refusal leaves no half-made user behind.
#[derive(Clone, Debug, Default)]
pub(crate) struct NewUser {
    /// The login-style name.
    pub name: String,
    pub display_name: Option<String>,
    /// Where their email goes.
    pub email: Option<String>,
    /// Groups to join (each must exist).
    pub groups: Vec<String>,
    /// Rights to grant (each must be a known right).
    pub rights: Vec<String>,
    /// A password, when they are to sign in to the console.
    pub password: Option<String>,
}

/// An administrator at work: the application and who is making changes.
pub(crate) struct Admin<'a> {
    app: &'a App,
    by: StartedBy,
}

impl<'a> Admin<'a> {
    /// Changes made by `by` (a person at the command line, console or API).
    pub(crate) fn new(app: &'a App, by: StartedBy) -> Admin<'a> {
        Admin { app, by }
    }

    /// Changes made at this command line, recorded as the operating-system
    /// user.
    pub(crate) fn cli(app: &'a App) -> Admin<'a> {
        Admin::new(app, StartedBy::cli())
    }

    async fn record(&self, action: AdminAction, subject: &str, detail: Option<&str>) -> Result<(), PeopleError> {
        self.app
            .store
            .record_people_change(&self.by, action, subject, detail)
            .await?;
        tracing::info!(
            action = action.word(),
            subject = ?subject,
            detail = ?detail,
            by = %self.by,
            "People changed."
        );
        Ok(())
    }

    /// Refuses a right that is not one of the tool rights or the data
    /// rights of the filter model, naming the valid ones.
    pub(crate) fn check_right(&self, right: &str) -> Result<(), PeopleError> {
        crate::state::check_name("right", right)?;
        self.app.check_right(right).map_err(PeopleError::Invalid)
    }

    /// Adds a user with their groups, rights and password.
    pub(crate) async fn add_user(&self, u: &NewUser) -> Result<(), PeopleError> {
        if let Some(p) = &u.password {
            crate::state::check_new_password(p)?;
        }
        for group in &u.groups {
            if self.app.store.group(group).await?.is_none() {
                return Err(PeopleError::Invalid(format!(
                    "there is no group '{group}'; add it first with `ferry groups add {group}`"
                )));
            }
        }
        for right in &u.rights {
            self.check_right(right)?;
        }
        let store = &self.app.store;
        store
            .add_user(&u.name, u.display_name.as_deref(), u.email.as_deref())
            .await?;
        self.record(AdminAction::UserAdded, &u.name, None).await?;
        for group in &u.groups {
            self.add_member(group, &u.name).await?;
        }
        for right in &u.rights {
            self.grant(&u.name, right).await?;
        }
        if let Some(p) = &u.password {
            self.set_password(&u.name, p).await?;
        }
        Ok(())
    }

    /// Removes a user with their rights, sessions and tokens.
    pub(crate) async fn remove_user(&self, name: &str) -> Result<(), PeopleError> {
        self.app.store.remove_user(name).await?;
        self.record(AdminAction::UserRemoved, name, None).await
    }

    /// Turns a user off (sessions end, tokens refused) or back on. False
    /// when they already were.
    pub(crate) async fn set_disabled(&self, name: &str, disabled: bool) -> Result<bool, PeopleError> {
        if disabled && matches!(&self.by, StartedBy::Person { user, .. } if user == name) {
            return Err(PeopleError::Invalid(format!(
                "you cannot disable yourself ({name}); another user with manage_users can"
            )));
        }
        let changed = self.app.store.set_disabled(name, disabled).await?;
        if changed {
            let action = if disabled {
                AdminAction::UserDisabled
            } else {
                AdminAction::UserEnabled
            };
            self.record(action, name, None).await?;
        }
        Ok(changed)
    }

    /// Sets a user's password (their open sessions end).
    pub(crate) async fn set_password(&self, name: &str, password: &str) -> Result<(), PeopleError> {
        self.app.store.set_password(name, password).await?;
        self.record(AdminAction::PasswordSet, name, None).await
    }

    /// Removes a user's second factor (a lost phone); they set up a new
    /// one at their next sign-in where one is required. False when they had
    /// none.
    pub(crate) async fn reset_second_factor(&self, name: &str) -> Result<bool, PeopleError> {
        let had = self.app.store.totp_reset(name).await?;
        if had {
            self.record(AdminAction::SecondFactorReset, name, None).await?;
        }
        Ok(had)
    }

    /// Grants a known right to a user.
    pub(crate) async fn grant(&self, name: &str, right: &str) -> Result<(), PeopleError> {
        self.check_right(right)?;
        self.app.store.grant(name, right).await?;
        self.record(AdminAction::RightGranted, name, Some(right)).await
    }

    /// Takes a right from a user; false when they did not hold it by name.
    pub(crate) async fn revoke(&self, name: &str, right: &str) -> Result<bool, PeopleError> {
        let had = self.app.store.revoke(name, right).await?;
        if had {
            self.record(AdminAction::RightRevoked, name, Some(right)).await?;
        }
        Ok(had)
    }

    /// Replaces a user's direct rights as a whole; every right is checked
    /// before any is changed.
    pub(crate) async fn set_rights(&self, name: &str, rights: &[String]) -> Result<(), PeopleError> {
        if self.app.store.user(name).await?.is_none() {
            return Err(PeopleError::NoUser(name.to_string()));
        }
        for right in rights {
            self.check_right(right)?;
        }
        let had = self.app.store.direct_rights(name).await?;
        for old in had.iter().filter(|h| !rights.contains(h)) {
            self.revoke(name, old).await?;
        }
        for new in rights.iter().filter(|n| !had.contains(n)) {
            self.grant(name, new).await?;
        }
        Ok(())
    }

    /// Replaces a group's rights as a whole; every right is checked
    /// before any is changed.
    pub(crate) async fn set_group_rights(&self, group: &str, rights: &[String]) -> Result<(), PeopleError> {
        for right in rights {
            self.check_right(right)?;
        }
        let had = self.app.store.group_rights(group).await?;
        for old in had.iter().filter(|h| !rights.contains(h)) {
            self.revoke_group(group, old).await?;
        }
        for new in rights.iter().filter(|n| !had.contains(n)) {
            self.grant_group(group, new).await?;
        }
        Ok(())
    }

    /// Replaces the groups a user is in as a whole.
    pub(crate) async fn set_groups(&self, name: &str, groups: &[String]) -> Result<(), PeopleError> {
        let user = self
            .app
            .store
            .user(name)
            .await?
            .ok_or_else(|| PeopleError::NoUser(name.to_string()))?;
        for old in user.groups.iter().filter(|g| !groups.contains(g)) {
            self.remove_member(old, name).await?;
        }
        for new in groups.iter().filter(|g| !user.groups.contains(g)) {
            self.add_member(new, name).await?;
        }
        Ok(())
    }

    /// Adds a group and records who added it in the people-change log.
    pub(crate) async fn add_group(
        &self,
        name: &str,
        email: Option<&str>,
        webhook: Option<&str>,
    ) -> Result<(), PeopleError> {
        self.app.store.add_group(name, email, webhook).await?;
        self.record(AdminAction::GroupAdded, name, None).await
    }

    /// Removes a group with its memberships and rights.
    pub(crate) async fn remove_group(&self, name: &str) -> Result<(), PeopleError> {
        self.app.store.remove_group(name).await?;
        self.record(AdminAction::GroupRemoved, name, None).await
    }

    /// Puts a user in a group.
    pub(crate) async fn add_member(&self, group: &str, user: &str) -> Result<(), PeopleError> {
        self.app.store.add_member(group, user).await?;
        self.record(AdminAction::MemberAdded, user, Some(group)).await
    }

    /// Takes a user out of a group.
    pub(crate) async fn remove_member(&self, group: &str, user: &str) -> Result<(), PeopleError> {
        self.app.store.remove_member(group, user).await?;
        self.record(AdminAction::MemberRemoved, user, Some(group)).await
    }

    /// Grants a known right to every member of a group.
    pub(crate) async fn grant_group(&self, group: &str, right: &str) -> Result<(), PeopleError> {
        self.check_right(right)?;
        self.app.store.grant_group(group, right).await?;
        self.record(AdminAction::GroupRightGranted, group, Some(right)).await
    }

    /// Takes a right from a group; false when it did not hold it.
    pub(crate) async fn revoke_group(&self, group: &str, right: &str) -> Result<bool, PeopleError> {
        let had = self.app.store.revoke_group(group, right).await?;
        if had {
            self.record(AdminAction::GroupRightRevoked, group, Some(right)).await?;
        }
        Ok(had)
    }

    /// Makes an API token for `user`; its text, returned here, is never
    /// stored or recorded.
    pub(crate) async fn create_token(&self, user: &str, label: &str) -> Result<(i64, String), PeopleError> {
        let (id, token) = self.app.store.create_token(user, label).await?;
        self.record(
            AdminAction::TokenCreated,
            user,
            Some(&format!("{id} ({})", label.trim())),
        )
        .await?;
        Ok((id, token))
    }

    /// Revokes a token; with `Some(user)` only one of theirs. False when
    /// there was no such token.
    pub(crate) async fn revoke_token(&self, id: i64, only_of: Option<&str>) -> Result<bool, PeopleError> {
        let store = &self.app.store;
        let token = store.tokens(only_of).await?.into_iter().find(|t| t.id == id);
        let Some(token) = token else { return Ok(false) };
        if !store.revoke_token(id, only_of).await? {
            return Ok(false);
        }
        self.record(
            AdminAction::TokenRevoked,
            &token.user,
            Some(&format!("{id} ({})", token.label)),
        )
        .await?;
        Ok(true)
    }
}
