//! `ferry notifications`: the in-app list, where failed runs and scripts'
//! `notify()` messages wait until someone marks them read.

use super::output::{table, when};
use super::Failure;
use crate::run::App;

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
pub async fn run(args: Args, app: &App) -> Result<(), Failure> {
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
    if rows.is_empty() {
        let kind = if args.all { "" } else { "unread " };
        let whose = args.user.as_ref().map(|u| format!(" for {u}")).unwrap_or_default();
        println!("no {kind}notifications{whose}");
        return Ok(());
    }
    let mut header = vec!["id", "at", "level", "group", "user", "script", "run", "message"];
    if args.all {
        header.push("read");
    }
    let mut t = table(&header);
    for n in rows {
        let mut row = vec![
            n.id.to_string(),
            when(n.created_at),
            n.level.as_str().to_string(),
            n.group,
            n.user.unwrap_or_else(|| "(nobody)".into()),
            n.script.unwrap_or_default(),
            n.run.map(|r| r.to_string()).unwrap_or_default(),
            n.message,
        ];
        if args.all {
            row.push(n.read_at.map(when).unwrap_or_default());
        }
        t.add_row(row);
    }
    println!("{t}");
    Ok(())
}
