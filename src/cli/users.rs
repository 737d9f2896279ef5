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
    }
    Ok(())
}
