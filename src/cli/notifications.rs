//! `ferry notifications`: the in-app list, where failed runs and scripts'
//! `notify()` messages wait until someone marks them read.

use super::output::{Cell, Listing, View};
use super::Failure;
use crate::app::App;

/// Options of `ferry notifications`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Mark notifications read instead of listing them.
    #[command(subcommand)]
    pub command: Option<NotificationsCommand>,
    /// Only this user's notifications (default: everyone's).
    #[arg(long)]
    pub user: Option<String>,
    /// Include notifications already read.
    #[arg(long)]
    pub all: bool,
    /// How many to list, newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    /// Table width, or JSON.
    #[command(flatten)]
    pub view: View,
}

/// The `ferry notifications` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum NotificationsCommand {
    /// Mark one notification, or all unread ones, read.
    Read {
        /// The notification id (first column of the list).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        /// Every unread notification (of --user, when given).
        #[arg(long)]
        all: bool,
        /// Only this user's notifications.
        #[arg(long)]
        user: Option<String>,
    },
}

/// Lists notifications or marks them read.
pub(super) async fn run(args: Args, app: &App) -> Result<(), Failure> {
    match args.command {
        Some(NotificationsCommand::Read { id: Some(id), user, .. }) => {
            if app.store.mark_read(id, user.as_deref()).await? {
                println!("notification {id} marked read");
            } else {
                println!("notification {id} was already read");
            }
        }
        Some(NotificationsCommand::Read { id: None, user, .. }) => {
            let n = app.store.mark_all_read(user.as_deref()).await?;
            let whose = user.map(|u| format!(" of {u}")).unwrap_or_default();
            println!("{n} notification(s){whose} marked read");
        }
        None => list(&args, app).await?,
    }
    Ok(())
}

async fn list(args: &Args, app: &App) -> Result<(), Failure> {
    let rows = app
        .store
        .notifications(args.user.as_deref(), args.all, args.limit)
        .await?;
    let kind = if args.all { "" } else { "unread " };
    let whose = args.user.as_ref().map(|u| format!(" for {u}")).unwrap_or_default();
    let mut columns = vec![
        ("id", "id"),
        ("at", "created_at"),
        ("level", "level"),
        ("group", "group"),
        ("user", "user"),
        ("script", "script"),
        ("run", "run"),
        ("message", "message"),
    ];
    if args.all {
        columns.push(("read", "read_at"));
    }
    let mut listing = Listing::new(args.view, &columns);
    for n in rows {
        let mut row = vec![
            Cell::of(n.id),
            Cell::time(Some(n.created_at), ""),
            Cell::of(n.level.as_str()),
            Cell::of(n.group),
            Cell::shown(n.user.clone().unwrap_or_else(|| "(nobody)".into()), n.user),
            Cell::of(n.script),
            Cell::of(n.run),
            Cell::of(n.message),
        ];
        if args.all {
            row.push(Cell::time(n.read_at, ""));
        }
        listing.row(row);
    }
    listing.print(&format!("no {kind}notifications{whose}"))
}
