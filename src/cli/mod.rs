//! The command line: clap definitions and dispatch, one file per subcommand.
//! Each subcommand is a thin layer over the library.

mod check;
mod delivery;
mod demo;
mod doctor;
mod exit;
mod filters;
mod groups;
mod history;
mod init;
mod keys;
mod keys_pgp;
mod list;
mod manual;
mod notifications;
mod output;
mod run;
mod serve;
mod tokens;
mod trust;
mod users;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::app::App;
use crate::config::Settings;

/// ferry: scheduled data extracts for school districts.
#[derive(Parser, Debug)]
#[command(name = "ferry", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (default: ./ferry.toml, else the embedded demo default).
    #[arg(long, global = true, env = "FERRY_CONFIG")]
    pub config: Option<PathBuf>,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Logs as JSON lines (for log collectors) instead of text.
    #[arg(long, global = true)]
    pub log_json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a starter ferry.toml and the scripts/ and stdlib/ folders.
    Init(init::Args),
    /// Validate scripts without running them.
    Check(check::Args),
    /// Generate a script's files and show a preview; deliver and keep nothing.
    TestExtract(run::TestArgs),
    /// Generate a script's files and deliver them; record the run.
    Run(run::RunArgs),
    /// The scripts: name, delivery mode, server, frequency, extract mode, stopped, last run.
    List(list::Args),
    /// Past runs, or one run in full.
    History(history::Args),
    /// Create the demo district database.
    Demo(demo::Args),
    /// Saved ad hoc filters: list, show the SQL, test with a preview.
    Filters(filters::Args),
    /// Schedule a script again after ferry stopped it (a filter owner's rights).
    Resume(filters::ResumeArgs),
    /// Users: the people notifications are for, their console logins and rights.
    Users(users::Args),
    /// User groups: who a script's `notify` reaches, by email and webhook too, and rights for members.
    Groups(groups::Args),
    /// API tokens: console access for automation, acting as a user.
    Tokens(tokens::Args),
    /// The in-app notification list: failed runs and scripts' notify() messages.
    Notifications(notifications::Args),
    /// Load the scripts folder, reload it as it changes, and run scripts on their schedules.
    Serve(serve::Args),
    /// Exit 0 when a `ferry serve` instance is alive (for monitoring).
    Health,
    /// Write and remove a 1-byte file at a destination (or a script's) and show what the server offered.
    TestConnection(delivery::TestConnectionArgs),
    /// Deliver a run's kept files again, without extracting anything.
    Resend(delivery::ResendArgs),
    /// Runs whose files a guard held instead of sending.
    Held(delivery::HeldArgs),
    /// Send a held run's files as they are.
    Release(delivery::SettleArgs),
    /// Drop a held run's files; nothing is sent.
    Discard(delivery::SettleArgs),
    /// SFTP login keys: generate, list, show the public key, test against a destination.
    Keys(keys::Args),
    /// Trust an SFTP server's host key (records it in known_hosts).
    Trust(trust::Args),
    /// Print a shell completion script (bash, zsh or fish) to standard output.
    Completions(manual::CompletionsArgs),
    /// Write the manual pages: ferry.1 and one page per subcommand.
    Man(manual::ManArgs),
    /// Check the whole installation and print a fix for each problem (exit 1 when there is one).
    Doctor(doctor::Args),
}

pub use exit::{EXIT_BAD_INPUT, EXIT_RUN_FAILED, EXIT_UNREACHABLE};

/// A failure with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    /// Process exit code.
    pub code: i32,
    /// The message (already written for a person).
    pub error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        let error = e.into();
        Failure {
            code: exit::code(&error),
            error,
        }
    }
}

/// Runs the parsed command line.
pub async fn dispatch(cli: Cli) -> Result<(), Failure> {
    // Generated from the command line alone: packaging runs these with no configuration.
    match &cli.command {
        Command::Completions(args) => return manual::completions(args),
        Command::Man(args) => return manual::man(args),
        _ => {}
    }
    if let Command::Doctor(args) = cli.command {
        return doctor::run(args, cli.config.as_deref()).await;
    }
    let settings = Settings::load(cli.config.as_deref())?;
    output::show_times_in(settings.timezone);
    match cli.command {
        Command::Init(args) => init::run(args),
        Command::Demo(args) => demo::run(args, &settings).await,
        Command::Serve(args) => serve::run(args, cli.config.clone(), settings).await,
        Command::Keys(args) => keys::run(args, &settings).await,
        Command::Trust(args) => trust::run(args, &settings).await,
        command => {
            let app = App::open(settings, "cli").await?;
            match command {
                Command::Check(args) => check::run(args, &app),
                Command::TestExtract(args) => run::test_extract(args, &app).await,
                Command::Run(args) => run::run(args, &app).await,
                Command::List(args) => list::run(args, &app).await,
                Command::History(args) => history::run(args, &app).await,
                Command::Users(args) => users::run(args, &app).await,
                Command::Filters(args) => filters::run(args, &app).await,
                Command::Resume(args) => filters::resume(args, &app).await,
                Command::Groups(args) => groups::run(args, &app).await,
                Command::Tokens(args) => tokens::run(args, &app).await,
                Command::Notifications(args) => notifications::run(args, &app).await,
                Command::Health => serve::health(&app).await,
                Command::TestConnection(args) => delivery::test(args, &app).await,
                Command::Resend(args) => delivery::resend(args, &app).await,
                Command::Held(args) => delivery::held(args, &app).await,
                Command::Release(args) => delivery::release(args, &app).await,
                Command::Discard(args) => delivery::discard(args, &app).await,
                Command::Init(_)
                | Command::Demo(_)
                | Command::Serve(_)
                | Command::Keys(_)
                | Command::Trust(_)
                | Command::Completions(_)
                | Command::Man(_)
                | Command::Doctor(_) => {
                    unreachable!("handled above")
                }
            }
        }
    }
}
