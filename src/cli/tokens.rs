//! `ferry tokens`: API tokens, for scripts and monitoring that call the
//! console's JSON API as a user, with that user's rights.

use super::output::{Cell, Listing, View};
use super::Failure;
use crate::admin::Admin;
use crate::app::App;

/// Options of `ferry tokens`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to do with API tokens.
    #[command(subcommand)]
    pub command: TokensCommand,
}

/// The `ferry tokens` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum TokensCommand {
    /// Make a token acting as USER; it is printed once and cannot be shown again.
    Create {
        /// The user the token acts as (with their rights).
        user: String,
        /// What the token is for, e.g. "nightly export job".
        #[arg(long)]
        label: String,
    },
    /// List tokens (never their text, which ferry does not keep).
    List {
        /// Only this user's tokens.
        #[arg(long)]
        user: Option<String>,
        /// Table width, or JSON.
        #[command(flatten)]
        view: View,
    },
    /// Revoke a token by the id `ferry tokens list` shows.
    Revoke {
        /// The id in `ferry tokens list`'s first column.
        id: i64,
    },
}

/// Runs a `ferry tokens` subcommand.
pub(super) async fn run(args: Args, app: &App) -> Result<(), Failure> {
    match args.command {
        TokensCommand::Create { user, label } => {
            let (id, token) = Admin::cli(app).create_token(&user, &label).await?;
            println!("token {id} for {user} ({}):", label.trim());
            println!("{token}");
            println!(
                "Copy it now: ferry keeps only its hash and cannot show it again. \
                 Send it as `Authorization: Bearer TOKEN`; `ferry tokens revoke {id}` ends it."
            );
        }
        TokensCommand::List { user, view } => {
            if let Some(u) = &user {
                if app.store.user(u).await?.is_none() {
                    return Err(crate::state::PeopleError::NoUser(u.clone()).into());
                }
            }
            let tokens = app.store.tokens(user.as_deref()).await?;
            let mut listing = Listing::new(
                view,
                &[
                    ("id", "id"),
                    ("user", "user"),
                    ("label", "label"),
                    ("created", "created_at"),
                    ("last used", "last_used_at"),
                ],
            );
            for k in tokens {
                listing.row(vec![
                    Cell::of(k.id),
                    Cell::of(k.user),
                    Cell::of(k.label),
                    Cell::time(Some(k.created_at), ""),
                    Cell::time(k.last_used_at, "never"),
                ]);
            }
            listing.print("no API tokens; `ferry tokens create USER --label TEXT` makes one")?;
        }
        TokensCommand::Revoke { id } => {
            if !Admin::cli(app).revoke_token(id, None).await? {
                return Err(anyhow::anyhow!("there is no API token {id}; `ferry tokens list` shows the tokens").into());
            }
            println!("revoked API token {id}");
        }
    }
    Ok(())
}
