//! Group email through the configured SMTP server (lettre, tokio, rustls).

use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{SmtpSettings, SmtpTls};
use crate::state::{Level, NewNotification};

/// Every SMTP command must answer within this, so a dead mail server delays
/// the end of a run by seconds, not minutes.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Builds the email for a notification: a subject that says what failed or
/// who is talking, and a body with the message and where to look next.
pub(super) fn message(
    from: &str,
    to: &[String],
    n: &NewNotification<'_>,
    at: DateTime<Utc>,
) -> Result<Message, String> {
    let from: Mailbox = from.parse().map_err(|e| format!("smtp.from '{from}': {e}"))?;
    let first_line = n.message.lines().next().unwrap_or_default();
    let short: String = first_line.chars().take(90).collect();
    let subject = match (n.level, n.script, n.run) {
        (Level::Error, Some(script), Some(run)) => format!("[ferry] {script}: run {run} failed"),
        (Level::Warning, Some(script), Some(run)) => format!("[ferry] {script}: run {run} held"),
        (_, Some(script), _) => format!("[ferry] {script}: {short}"),
        (_, None, _) => format!("[ferry] {short}"),
    };
    let mut body = format!("{}\n\n", n.message);
    body.push_str(&format!("Group:  {}\n", n.group));
    if let Some(script) = n.script {
        body.push_str(&format!("Script: {script}\n"));
    }
    if let Some(run) = n.run {
        body.push_str(&format!("Run:    {run} (`ferry history --run {run}`)\n"));
    }
    body.push_str(&format!("Level:  {}\n", n.level.as_str()));
    body.push_str(&format!(
        "At:     {}\n",
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ));
    let mut builder = Message::builder().from(from).subject(subject);
    for address in to {
        let mailbox: Mailbox = address.parse().map_err(|e| format!("'{address}': {e}"))?;
        builder = builder.to(mailbox);
    }
    builder
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| format!("cannot build the email: {e}"))
}

/// Sends one notification to `to`; on success says to whom and through
/// which server. Errors name the server and the secret reference, never a
/// password.
pub(super) async fn send(
    smtp: &SmtpSettings,
    to: &[String],
    n: &NewNotification<'_>,
    at: DateTime<Utc>,
) -> Result<String, String> {
    let server = format!("{}:{}", smtp.host, smtp.port);
    let fail = |e: String| format!("email to {} via {server}: {e}", to.join(", "));
    let email = message(&smtp.from, to, n, at).map_err(fail)?;
    let builder = match smtp.tls {
        SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)),
        SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host),
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host),
    }
    .map_err(|e| fail(e.to_string()))?;
    let mut builder = builder.port(smtp.port).timeout(Some(TIMEOUT));
    if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
        let secret = password.resolve().map_err(fail)?;
        builder = builder.credentials(Credentials::new(user.clone(), secret));
    }
    builder.build().send(email).await.map_err(|e| fail(super::chain(&e)))?;
    Ok(format!("to {} via {server}", to.join(", ")))
}
