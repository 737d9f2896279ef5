//! Telling people: a notification is stored in the in-app list for every
//! member of its group, then sent to the group's email and webhook.
//!
//! Channels are best effort on purpose. A run's outcome is decided by its
//! extract and delivery; a mail server that is down must never turn a
//! delivered roster into a failed run, so a channel that fails is logged as
//! a warning (without secrets) and reported in [`Sent`], never returned as
//! an error.

mod email;
mod webhook;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::Settings;
use crate::script::Script;
use crate::state::{Level, NewNotification, Store};

#[cfg(test)]
use email::message as email_message;
#[cfg(test)]
use webhook::payload as webhook_payload;
pub(crate) use webhook::redact as redact_webhook;

/// The whole of one email, connect to QUIT, must finish within this (each
/// SMTP command also has its own 10-second limit).
const EMAIL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// What became of one channel, so callers (`ferry groups test`, tests) can
/// say what happened without parsing logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Channel {
    /// The group has nothing to send to on this channel (or, for email,
    /// ferry.toml has no `[smtp]`).
    Off,
    /// Sent; where to, with secrets left out.
    Sent(String),
    /// Failed; why, with secrets left out.
    Failed(String),
}

/// The outcome of [`Notifier::send`] on every channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sent {
    /// Members who got an in-app row (empty: one row with no user was kept).
    pub members: Vec<String>,
    /// The in-app list: `Sent("to ann, bob")` or why the store refused.
    pub stored: Channel,
    /// The group's email: `Off` without an address or without `[smtp]`.
    pub email: Channel,
    /// The group's webhook, `Off` without one.
    pub webhook: Channel,
}

/// Sends notifications; cheap to make, one per run or per daemon.
#[derive(Clone)]
pub(crate) struct Notifier {
    store: Store,
    settings: Arc<Settings>,
}

impl Notifier {
    /// A notifier writing to `store` and mailing through `settings.smtp`.
    pub(crate) fn new(store: Store, settings: Arc<Settings>) -> Notifier {
        Notifier { store, settings }
    }

    /// Stores the notification for each member of its group and sends it to
    /// the group's email and webhook. Never fails: see the module comment.
    pub(crate) async fn send(&self, n: &NewNotification<'_>) -> Sent {
        let at = Utc::now();
        let (members, stored) = match self.store.add_notification(n).await {
            Ok(members) if members.is_empty() => (members, Channel::Sent("with no recipient".into())),
            Ok(members) => {
                let to = format!("to {}", members.join(", "));
                (members, Channel::Sent(to))
            }
            Err(e) => {
                tracing::warn!(group = n.group, error = %e, "Could not store a notification: {}", n.message);
                (Vec::new(), Channel::Failed(e.to_string()))
            }
        };
        let group = match self.store.group(n.group).await {
            Ok(Some(g)) => Some(g),
            Ok(None) => {
                tracing::warn!(
                    group = n.group,
                    "There is no group '{}': the notification is kept with no recipient \
                     (`ferry groups add {}` creates it): {}",
                    n.group,
                    n.group,
                    n.message
                );
                None
            }
            Err(e) => {
                tracing::warn!(group = n.group, error = %e, "Could not read the group of a notification.");
                None
            }
        };
        if group.as_ref().is_some_and(|g| g.members.is_empty()) {
            tracing::warn!(
                group = n.group,
                "Group '{}' has no members: the notification is kept with no recipient \
                 (`ferry groups add-member {} USER` adds one): {}",
                n.group,
                n.group,
                n.message
            );
        }
        let Some(group) = group else {
            return Sent {
                members,
                stored,
                email: Channel::Off,
                webhook: Channel::Off,
            };
        };
        let (email, webhook) = tokio::join!(self.email(&group, n, at), self.webhook(&group, n, at));
        Sent {
            members,
            stored,
            email,
            webhook,
        }
    }

    /// What a finished run asks for: each `notify(group, message)` the script
    /// called, then, if the header names a `notify` group, the run's
    /// `warnings` (a recipient key about to expire), a warning when a guard
    /// held the run's files (`held`: what to tell) or an error notification
    /// naming the script, run and error if it failed.
    pub(crate) async fn after_run(
        &self,
        script: &Script,
        run: i64,
        error: Option<&str>,
        held: Option<&str>,
        requested: &[(String, String)],
        warnings: &[String],
    ) {
        let about = |group, level, message| NewNotification {
            group,
            script: Some(&script.id),
            run: Some(run),
            level,
            message,
        };
        for (group, message) in requested {
            self.send(&about(group, Level::Info, message)).await;
        }
        let Some(group) = &script.spec.notify else {
            return;
        };
        for message in warnings.iter().map(String::as_str).chain(held) {
            self.send(&about(group, Level::Warning, message)).await;
        }
        if let Some(error) = error {
            let message = failure_message(script, run, error);
            self.send(&about(group, Level::Error, &message)).await;
        }
    }

    async fn email(&self, group: &crate::state::Group, n: &NewNotification<'_>, at: DateTime<Utc>) -> Channel {
        let to: Vec<String> = match &group.email {
            Some(address) => vec![address.clone()],
            None => match self.store.members(&group.name).await {
                // A disabled user's mailbox may outlive their job.
                Ok(users) => users
                    .into_iter()
                    .filter(|u| !u.disabled)
                    .filter_map(|u| u.email)
                    .collect(),
                Err(e) => return self.failed("email", &group.name, e.to_string()),
            },
        };
        if to.is_empty() {
            return Channel::Off;
        }
        let Some(smtp) = &self.settings.smtp else {
            if group.email.is_some() {
                tracing::warn!(
                    group = %group.name,
                    "Group '{}' has an email address but ferry.toml has no [smtp] table: no email sent.",
                    group.name
                );
            }
            return Channel::Off;
        };
        let sending = email::send(smtp, &to, n, at);
        let result = match tokio::time::timeout(EMAIL_DEADLINE, sending).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "email to {} via {}:{}: no answer within {}s",
                to.join(", "),
                smtp.host,
                smtp.port,
                EMAIL_DEADLINE.as_secs()
            )),
        };
        match result {
            Ok(done) => {
                tracing::info!(group = %group.name, "Notification emailed: {done}.");
                Channel::Sent(done)
            }
            Err(e) => self.failed("email", &group.name, e),
        }
    }

    async fn webhook(&self, group: &crate::state::Group, n: &NewNotification<'_>, at: DateTime<Utc>) -> Channel {
        let Some(hook) = &group.webhook else {
            return Channel::Off;
        };
        match webhook::post(hook, n, at).await {
            Ok(done) => {
                tracing::info!(group = %group.name, "Notification posted: {done}.");
                Channel::Sent(done)
            }
            Err(e) => self.failed("webhook", &group.name, e),
        }
    }

    fn failed(&self, channel: &str, group: &str, error: String) -> Channel {
        tracing::warn!(group, channel, error = %error, "A notification channel failed; the run is not affected.");
        Channel::Failed(error)
    }
}

/// The text of a failed run's notification: what ran, which run to look at,
/// and the error as the run recorded it (which names file:line already).
pub(crate) fn failure_message(script: &Script, run: i64, error: &str) -> String {
    let what = if script.spec.name == script.id {
        script.id.clone()
    } else {
        format!("{} ({})", script.spec.name, script.id)
    };
    format!("{what} failed in run {run}: {error}\n`ferry history --run {run}` shows the run's log.")
}

/// An error with its causes, so "connection refused" is not hidden behind
/// "network error".
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests;
