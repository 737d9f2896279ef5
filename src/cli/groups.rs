//! `ferry groups`: the groups scripts notify (`notify = "group"`), their
//! members, email address and webhook, and the rights they give members.

use super::output::{Cell, Listing};
use super::Failure;
use crate::admin::Admin;
use crate::app::App;
use crate::notice::{redact_webhook, Channel, Notifier};
use crate::state::{Level, NewNotification};

/// Options of `ferry groups`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to do with groups.
    #[command(subcommand)]
    pub command: GroupsCommand,
}

/// The `ferry groups` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum GroupsCommand {
    /// Add a group, optionally with an email address and a webhook.
    Add {
        /// Unique name, as written in a script's `notify = "..."`.
        name: String,
        /// The group's email address (sent through [smtp] in ferry.toml).
        #[arg(long)]
        email: Option<String>,
        /// A URL notifications are POSTed to as JSON, or env:VAR / file:PATH holding it.
        #[arg(long)]
        webhook: Option<String>,
    },
    /// List groups with their members, email, webhook and rights.
    List(super::output::View),
    /// Put a user in a group.
    AddMember {
        /// Group name, as `ferry groups list` shows it.
        group: String,
        /// User name, as `ferry users list` shows it.
        user: String,
    },
    /// Take a user out of a group.
    RemoveMember {
        /// Group name, as `ferry groups list` shows it.
        group: String,
        /// User name, as `ferry users list` shows it.
        user: String,
    },
    /// Remove a group and its memberships (past notifications stay).
    Remove {
        /// Group name, as `ferry groups list` shows it.
        name: String,
    },
    /// Give a right to every member of a group, present and future: a tool
    /// right (read, write, add, delete, run, manage_users) or a data right
    /// (adhoc, ssn, birth_date, ...); `ferry users grant --help` says what
    /// each allows.
    Grant {
        /// Group name, as `ferry groups list` shows it.
        group: String,
        /// A tool or data right, as listed above.
        right: String,
    },
    /// Take a right away from a group; members keep rights given to them by
    /// name or through other groups.
    Revoke {
        /// Group name, as `ferry groups list` shows it.
        group: String,
        /// A tool or data right the group holds.
        right: String,
    },
    /// Send a test notification through every channel of a group and say
    /// what each did.
    Test {
        /// Group name, as `ferry groups list` shows it.
        name: String,
        /// The text to send.
        #[arg(long, default_value = "Test notification from ferry")]
        message: String,
    },
}

/// Runs a `ferry groups` subcommand.
pub(super) async fn run(args: Args, app: &App) -> Result<(), Failure> {
    match args.command {
        GroupsCommand::Add { name, email, webhook } => {
            // A relative file: reference is stored absolute, so it means the
            // same file to the daemon, whatever its working folder.
            let webhook = webhook.map(|w| match w.strip_prefix("file:") {
                Some(path) => format!("file:{}", app.settings.root.join(path).display()),
                None => w,
            });
            Admin::cli(app)
                .add_group(&name, email.as_deref(), webhook.as_deref())
                .await?;
            println!("added group {name}");
        }
        GroupsCommand::List(view) => {
            let groups = app.store.groups().await?;
            let mut listing = Listing::new(
                view,
                &[
                    ("group", "name"),
                    ("members", "members"),
                    ("email", "email"),
                    ("webhook", "webhook"),
                    ("rights", "rights"),
                ],
            );
            for g in groups {
                let rights = app.store.group_rights(&g.name).await?;
                // A webhook URL can carry a token: shown and carried redacted.
                let hook = g.webhook.as_deref().map(redact_webhook);
                listing.row(vec![
                    Cell::of(g.name),
                    Cell::of(g.members),
                    Cell::of(g.email),
                    Cell::of(hook),
                    Cell::of(rights),
                ]);
            }
            listing.print("no groups yet; `ferry groups add NAME --email ADDRESS` adds one")?;
        }
        GroupsCommand::AddMember { group, user } => {
            Admin::cli(app).add_member(&group, &user).await?;
            println!("added {user} to {group}");
        }
        GroupsCommand::RemoveMember { group, user } => {
            Admin::cli(app).remove_member(&group, &user).await?;
            println!("removed {user} from {group}");
        }
        GroupsCommand::Remove { name } => {
            Admin::cli(app).remove_group(&name).await?;
            println!("removed group {name}");
        }
        GroupsCommand::Grant { group, right } => {
            Admin::cli(app).grant_group(&group, &right).await?;
            println!("granted {right} to every member of {group}");
        }
        GroupsCommand::Revoke { group, right } => {
            if !Admin::cli(app).revoke_group(&group, &right).await? {
                return Err(anyhow::anyhow!(
                    "group {group} does not have the right '{right}'; `ferry groups list` shows each group's rights"
                )
                .into());
            }
            println!("revoked {right} from {group}");
        }
        GroupsCommand::Test { name, message } => {
            if app.store.group(&name).await?.is_none() {
                return Err(crate::state::PeopleError::NoGroup(name).into());
            }
            let sent = Notifier::new(app.store.clone(), app.settings.clone())
                .send(&NewNotification {
                    group: &name,
                    script: None,
                    run: None,
                    level: Level::Info,
                    message: &message,
                })
                .await;
            let show = |c: &Channel| match c {
                Channel::Off => "not configured".to_string(),
                Channel::Sent(s) => format!("sent {s}"),
                Channel::Failed(e) => format!("FAILED: {e}"),
            };
            println!("in-app   {}", show(&sent.stored));
            println!("email    {}", show(&sent.email));
            println!("webhook  {}", show(&sent.webhook));
            if [&sent.stored, &sent.email, &sent.webhook]
                .iter()
                .any(|c| matches!(c, Channel::Failed(_)))
            {
                return Err(Failure {
                    code: super::EXIT_RUN_FAILED,
                    error: anyhow::anyhow!("a channel of group {name} failed"),
                });
            }
        }
    }
    Ok(())
}
