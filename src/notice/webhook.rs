//! Group webhooks: a JSON POST that chat tools and ticket systems accept.
//! Webhook URLs often carry their token in the path, so only the scheme and
//! host are ever logged.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::SecretRef;
use crate::state::NewNotification;

/// The whole request, connect to last byte, must finish within this.
const TIMEOUT: Duration = Duration::from_secs(10);

/// One client for the process: it holds the TLS roots and connection pool,
/// and is made only when a group first has a webhook.
fn client() -> Result<&'static reqwest::Client, String> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    let c = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| super::chain(&e))?;
    Ok(CLIENT.get_or_init(|| c))
}

/// The JSON body: `{group, script, run, level, message, at}`; `script` and
/// `run` are null when no script or run raised the notification.
pub(super) fn payload(n: &NewNotification<'_>, at: DateTime<Utc>) -> serde_json::Value {
    serde_json::json!({
        "group": n.group,
        "script": n.script,
        "run": n.run,
        "level": n.level.as_str(),
        "message": n.message,
        "at": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

/// How a webhook may be shown: a secret reference as written, a URL as
/// `scheme://host[:port]/…` (the path may be the token).
pub(crate) fn redact(hook: &str) -> String {
    if hook.starts_with("env:") || hook.starts_with("file:") {
        return hook.to_string();
    }
    match reqwest::Url::parse(hook) {
        Ok(u) => {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let rest = if u.path().len() > 1 || u.query().is_some() {
                "/…"
            } else {
                ""
            };
            format!("{}://{}{port}{rest}", u.scheme(), u.host_str().unwrap_or(""))
        }
        Err(_) => "(not a URL)".to_string(),
    }
}

/// POSTs the notification; on success says where (redacted). The error
/// says why without the URL's path or any secret.
pub(super) async fn post(hook: &str, n: &NewNotification<'_>, at: DateTime<Utc>) -> Result<String, String> {
    let shown = redact(hook);
    let fail = |e: String| format!("webhook {shown}: {e}");
    let url = if hook.starts_with("env:") || hook.starts_with("file:") {
        SecretRef::parse(hook, Path::new("/"))
            .and_then(|r| r.resolve())
            .map_err(fail)?
    } else {
        hook.to_string()
    };
    let url = reqwest::Url::parse(&url).map_err(|_| fail("the webhook is not a valid URL".to_string()))?;
    let response = client()
        .map_err(fail)?
        .post(url)
        .json(&payload(n, at))
        .send()
        .await
        .map_err(|e| fail(super::chain(&e.without_url())))?;
    let status = response.status();
    if !status.is_success() {
        return Err(fail(format!("the server answered {status}")));
    }
    Ok(format!("{shown} answered {status}"))
}
