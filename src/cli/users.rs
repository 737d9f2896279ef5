//! `ferry users`: the people notifications are for, and who may log in to
//! the console with which rights.

use std::collections::BTreeMap;

use super::output::{table, Cell, Listing, View};
use super::Failure;
use crate::admin::{Admin, NewUser};
use crate::app::App;
use crate::state::{check_new_password, PeopleError, Right};

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
    /// Add a user (names are letters, digits, '.', '_', '-', '@'). With a
    /// password they can log in to the console; without one they sign in
    /// through single sign-on when [console.oidc] is set, else they are only
    /// told about runs.
    Add {
        /// Unique name, e.g. jsmith.
        name: String,
        /// Email address, used when a group of theirs has no address of its own.
        #[arg(long)]
        email: Option<String>,
        /// Name for people, e.g. "Jane Smith".
        #[arg(long)]
        display: Option<String>,
        /// Put the user in this existing group (repeatable).
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
        /// Grant this right (repeatable); see `ferry users grant --help`.
        #[arg(long = "right", value_name = "RIGHT")]
        rights: Vec<String>,
        /// Read the console password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set or replace a user's console password (at least 8 characters);
    /// their open console sessions end.
    Password {
        /// The user.
        name: String,
        /// Read the password from the first line of standard input instead
        /// of prompting twice on the terminal.
        #[arg(long)]
        stdin: bool,
    },
    /// List users with their email and groups.
    List(super::output::View),
    /// Remove a user and their group memberships (past notifications stay).
    Remove {
        /// The user.
        name: String,
    },
    /// Give a user a right.
    ///
    /// Console (tool) rights: read (see the extract list and history), write
    /// (edit scripts, stop and start automated runs), add (create scripts),
    /// delete (delete scripts), run (Test Extract, Test Connection, Run
    /// Extract), manage_users (users, groups, rights and tokens; see secrets'
    /// names).
    ///
    /// Data rights: adhoc (own and run ad hoc filters) and the rights
    /// sensitive fields of the data model ask for (ssn, birth_date, ...).
    ///
    /// `ferry groups grant` gives a right to every member of a group.
    Grant {
        /// The user.
        name: String,
        /// The right: read, write, add, delete, run, manage_users, adhoc,
        /// ssn, birth_date, ...
        right: String,
    },
    /// Take a right given to the user by name away; scheduled scripts whose
    /// filters need it stop. Rights from a group stay until
    /// `ferry groups revoke` or `ferry groups remove-member`.
    Revoke {
        /// The user.
        name: String,
        /// The right: read, write, add, delete, run, manage_users, adhoc,
        /// ssn, birth_date, ...
        right: String,
    },
    /// Remove a user's second factor and recovery codes (a lost phone):
    /// their next console login asks for the password only, or, with
    /// console.require_totp, has them set up a new factor first.
    TotpReset {
        /// The user.
        name: String,
    },
    /// A user's rights: given by name, and from each of their groups.
    Rights {
        /// The user.
        name: String,
    },
    /// Turn a user off: their console sessions end and their API tokens are
    /// refused; rights, groups and tokens are kept for `enable`.
    Disable {
        /// The user.
        name: String,
    },
    /// Turn a disabled user back on.
    Enable {
        /// The user.
        name: String,
    },
    /// Who changed which user, group, right or token, newest first.
    Changes {
        /// How many changes to show.
        #[arg(long, default_value_t = 50)]
        last: i64,
        /// Table width, or JSON.
        #[command(flatten)]
        view: super::output::View,
    },
}

/// Runs a `ferry users` subcommand.
pub(super) async fn run(args: Args, app: &App) -> Result<(), Failure> {
    match args.command {
        UsersCommand::Add {
            name,
            email,
            display,
            groups,
            rights,
            password_stdin,
        } => {
            let password = if password_stdin {
                Some(password_from_stdin()?)
            } else {
                None
            };
            let user = NewUser {
                name,
                display_name: display,
                email,
                groups,
                rights,
                password,
            };
            add(app, &user).await?;
        }
        UsersCommand::Password { name, stdin } => {
            if app.store.user(&name).await?.is_none() {
                return Err(PeopleError::NoUser(name).into());
            }
            let password = if stdin {
                password_from_stdin()?
            } else {
                password_from_terminal(&name)?
            };
            Admin::cli(app).set_password(&name, &password).await?;
            println!("set the password of {name}; their open console sessions have ended");
        }
        UsersCommand::List(view) => list(app, view).await?,
        UsersCommand::Remove { name } => {
            Admin::cli(app).remove_user(&name).await?;
            println!("removed user {name} (and their rights, console sessions and API tokens)");
        }
        UsersCommand::Grant { name, right } => {
            Admin::cli(app).grant(&name, &right).await?;
            println!("granted {right} to {name}");
        }
        UsersCommand::Revoke { name, right } => {
            if !Admin::cli(app).revoke(&name, &right).await? {
                let hint = through_group(app, &name, &right).await?;
                return Err(anyhow::anyhow!("{name} was not given the right '{right}' by name{hint}").into());
            }
            println!("revoked {right} from {name}");
        }
        UsersCommand::Rights { name } => rights(app, &name).await?,
        UsersCommand::Disable { name } => {
            if Admin::cli(app).set_disabled(&name, true).await? {
                println!("disabled {name}: their console sessions have ended and their API tokens are refused");
            } else {
                println!("{name} was already disabled");
            }
        }
        UsersCommand::Enable { name } => {
            if Admin::cli(app).set_disabled(&name, false).await? {
                println!("enabled {name}: they can sign in and use their API tokens again");
            } else {
                println!("{name} was not disabled");
            }
        }
        UsersCommand::Changes { last, view } => changes(app, last, view).await?,
        UsersCommand::TotpReset { name } => {
            if Admin::cli(app).reset_second_factor(&name).await? {
                println!("removed the second factor of {name}; they set up a new one on their account page");
            } else {
                println!("{name} had no second factor; nothing changed");
            }
        }
    }
    Ok(())
}

/// Prints each right of a user with where it comes from, so a right that
/// will not go away with `users revoke` shows its group.
/// `ferry users add`, then what the user can do now, so a missing password
/// is noticed before they try to log in.
async fn add(app: &App, user: &NewUser) -> Result<(), Failure> {
    Admin::cli(app).add_user(user).await?;
    let name = &user.name;
    println!("added user {name}");
    if !user.groups.is_empty() {
        println!("  groups: {}", user.groups.join(", "));
    }
    if !user.rights.is_empty() {
        println!("  rights: {}", user.rights.join(", "));
    }
    let sso = app.settings.console.as_ref().is_some_and(|c| c.oidc.is_some());
    match (user.password.is_some(), sso) {
        (true, _) => println!("  can log in to the console"),
        (false, true) => println!("  signs in to the console through single sign-on ([console.oidc])"),
        (false, false) => println!("  cannot log in (no password); `ferry users password {name}` sets one"),
    }
    Ok(())
}

/// `ferry users list`: each user with their groups, whether they can log
/// in and their tool rights (given by name or through a group).
async fn list(app: &App, view: View) -> Result<(), Failure> {
    let users = app.store.users().await?;
    let mut listing = Listing::new(
        view,
        &[
            ("user", "name"),
            ("display name", "display_name"),
            ("email", "email"),
            ("groups", "groups"),
            ("login", "login"),
            ("rights", "rights"),
        ],
    );
    for u in users {
        let login = app.store.can_log_in(&u.name).await?;
        let rights = Right::words(&app.store.tool_rights(&u.name).await?);
        listing.row(vec![
            Cell::of(u.name),
            Cell::of(u.display_name),
            Cell::of(u.email),
            Cell::of(u.groups),
            Cell::of(login),
            Cell::of(rights),
        ]);
    }
    listing.print("no users yet; `ferry users add NAME --email ADDRESS` adds one")?;
    Ok(())
}

/// `ferry users changes`: the people-change log, newest first.
async fn changes(app: &App, last: i64, view: View) -> Result<(), Failure> {
    let mut listing = Listing::new(
        view,
        &[
            ("at", "at"),
            ("by", "by"),
            ("change", "action"),
            ("user or group", "subject"),
            ("detail", "detail"),
        ],
    );
    for c in app.store.people_changes(last).await? {
        listing.row(vec![
            Cell::time(Some(c.at), ""),
            Cell::of(c.by.to_string()),
            Cell::of(c.action.word()),
            Cell::of(c.subject),
            Cell::of(c.detail),
        ]);
    }
    listing.print("no changes to users, groups, rights or tokens recorded yet")?;
    Ok(())
}

/// Why a revoke by name changed nothing when the user still holds the right
/// through a group: the two commands that would take it away.
async fn through_group(app: &App, name: &str, right: &str) -> Result<String, Failure> {
    if let Some(user) = app.store.user(name).await? {
        for group in user.groups {
            if app.store.group_rights(&group).await?.iter().any(|r| r == right) {
                return Ok(format!(
                    "; they have it through group {group}: `ferry groups revoke {group} {right}` or `ferry groups remove-member {group} {name}`"
                ));
            }
        }
    }
    Ok(String::new())
}

async fn rights(app: &App, name: &str) -> Result<(), Failure> {
    if app.store.rights_of(name).await?.is_none() {
        println!("no users are defined: single-administrator mode, filters are not checked");
        return Ok(());
    }
    let Some(user) = app.store.user(name).await? else {
        return Err(PeopleError::NoUser(name.to_string()).into());
    };
    let mut from: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for right in app.store.direct_rights(name).await? {
        from.entry(right).or_default().push("given by name".to_string());
    }
    for group in &user.groups {
        for right in app.store.group_rights(group).await? {
            from.entry(right).or_default().push(format!("group {group}"));
        }
    }
    if from.is_empty() {
        println!("{name} has no rights; `ferry users grant {name} RIGHT` gives one");
        return Ok(());
    }
    let mut t = table(&["right", "from"]);
    for (right, sources) in from {
        t.add_row(vec![right, sources.join(", ")]);
    }
    println!("{t}");
    Ok(())
}

/// One line of standard input, without its line ending: what a script or
/// a secret manager pipes in. Spaces are kept, since they may be part of
/// the password.
fn password_from_stdin() -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| anyhow::anyhow!("cannot read the password from standard input: {e}"))?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(anyhow::anyhow!(
            "no password on standard input; pipe one line, e.g. `printf '%s\\n' \"$PASSWORD\" | ferry ...`"
        )
        .into());
    }
    Ok(password.to_string())
}

/// Asks twice without echo, so a typo is caught before it locks the user
/// out and nothing is left on the screen.
fn password_from_terminal(name: &str) -> Result<String, Failure> {
    let no_terminal =
        |e: std::io::Error| anyhow::anyhow!("cannot prompt for a password ({e}); pipe it in with --stdin instead");
    let first = rpassword::prompt_password(format!("New password for {name}: ")).map_err(no_terminal)?;
    check_new_password(&first)?;
    let second = rpassword::prompt_password("Same password again: ").map_err(no_terminal)?;
    if first != second {
        return Err(anyhow::anyhow!("the two passwords differ; nothing was changed, try again").into());
    }
    Ok(first)
}
