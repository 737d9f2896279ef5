//! `ferry users`: the people notifications are for.

use super::output::table;
use super::Failure;
use crate::run::App;

/// Options of `ferry users`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to do with users.
    #[command(subcommand)]
    pub command: UsersCommand,
}

/// The `ferry users` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum UsersCommand {
    /// Add a user (names are letters, digits, '.', '_', '-', '@').
    Add {
        /// Unique name, e.g. jsmith.
        name: String,
        /// Email address, used when a group of theirs has no address of its own.
        #[arg(long)]
        email: Option<String>,
        /// Name for people, e.g. "Jane Smith".
        #[arg(long)]
        display: Option<String>,
    },
    /// List users with their email and groups.
    List,
    /// Remove a user and their group memberships (past notifications stay).
    Remove {
        /// The user.
        name: String,
    },
    /// Give a user a right: "adhoc" (own and run ad hoc filters) or a right a
    /// sensitive field of the data model asks for ("ssn", "birth_date").
    Grant {
        /// The user.
        name: String,
        /// The right.
        right: String,
    },
    /// Take a right away; scheduled scripts whose filters need it stop.
    Revoke {
        /// The user.
        name: String,
        /// The right.
        right: String,
    },
    /// A user's rights.
    Rights {
        /// The user.
        name: String,
    },
}

/// Runs a `ferry users` subcommand.
pub async fn run(args: Args, app: &App) -> Result<(), Failure> {
    match args.command {
        UsersCommand::Add { name, email, display } => {
            app.store.add_user(&name, display.as_deref(), email.as_deref()).await?;
            println!("added user {name}");
        }
        UsersCommand::List => {
            let users = app.store.users().await?;
            if users.is_empty() {
                println!("no users yet; `ferry users add NAME --email ADDRESS` adds one");
                return Ok(());
            }
            let mut t = table(&["user", "display name", "email", "groups"]);
            for u in users {
                t.add_row(vec![
                    u.name,
                    u.display_name.unwrap_or_default(),
                    u.email.unwrap_or_default(),
                    u.groups.join(", "),
                ]);
            }
            println!("{t}");
        }
        UsersCommand::Remove { name } => {
            app.store.remove_user(&name).await?;
            println!("removed user {name}");
        }
        UsersCommand::Grant { name, right } => {
            app.store.grant(&name, &right).await?;
            println!("granted {right} to {name}");
        }
        UsersCommand::Revoke { name, right } => {
            if !app.store.revoke(&name, &right).await? {
                return Err(anyhow::anyhow!("{name} does not have the right '{right}'").into());
            }
            println!("revoked {right} from {name}");
        }
        UsersCommand::Rights { name } => match app.store.rights_of(&name).await? {
            None => println!("no users are defined: single-administrator mode, filters are not checked"),
            Some(r) if r.is_empty() => println!("{name} has no rights"),
            Some(r) => println!("{}", r.join("\n")),
        },
    }
    Ok(())
}
