//! Reports (the original tool's "Prism" method): fetch a rendered document
//! over HTTP(S) and keep it as a file to zip or deliver.
//!
//! The body is streamed into the run's partial file with a size limit and a
//! time limit; the status and content type are checked before the file is
//! committed, so a login page or an error page never goes to a vendor
//! dressed as a PDF.

use std::io::Write;
use std::time::Duration;

use crate::config::SecretRef;

/// How to ask for the document.
#[derive(Clone, Debug)]
pub(crate) struct ReportRequest {
    /// `http://` or `https://` address.
    pub url: String,
    /// `GET` or `POST` (any method the server takes).
    pub method: String,
    /// Extra headers; values may be secret references.
    pub headers: Vec<(String, HeaderValue)>,
    /// Request body, for POST.
    pub body: Option<String>,
    /// Authentication.
    pub auth: Option<Auth>,
    /// The whole request's time limit.
    pub timeout: Duration,
    /// Largest body accepted.
    pub max_bytes: u64,
    /// Expected content type (`application/pdf`), checked without parameters.
    pub expect: Option<String>,
}

/// A header value: plain text, or a secret looked up when sent.
#[derive(Clone, Debug)]
pub(crate) enum HeaderValue {
    /// Sent as written.
    Plain(String),
    /// Resolved from the environment or a file; never logged.
    Secret(SecretRef),
}

/// Secret-backed authentication.
#[derive(Clone, Debug)]
pub(crate) enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer(SecretRef),
    /// HTTP basic authentication.
    Basic { user: String, password: SecretRef },
}

/// Why a report could not be fetched, naming the address (without query
/// string, which may carry a token) and what to do.
#[derive(Debug, thiserror::Error)]
#[error("report {url}: {message}")]
pub(crate) struct ReportError {
    /// The address, redacted.
    pub url: String,
    pub message: String,
}

/// What was fetched.
#[derive(Clone, Debug)]
pub(crate) struct Fetched {
    /// The content type the server sent.
    pub content_type: String,
    /// Body size.
    pub bytes: u64,
}

/// The address without its query string or credentials, for messages.
pub(crate) fn redact(url: &str) -> String {
    let no_query = url.split(['?', '#']).next().unwrap_or(url);
    crate::source::redact_url(no_query)
}

/// Fetches `req` into `out`.
pub(crate) async fn fetch(req: &ReportRequest, out: &mut impl Write) -> Result<Fetched, ReportError> {
    let fail = |message: String| ReportError {
        url: redact(&req.url),
        message,
    };
    if !(req.url.starts_with("http://") || req.url.starts_with("https://")) {
        return Err(fail("only http:// and https:// addresses are fetched".into()));
    }
    let client = reqwest::Client::builder()
        .timeout(req.timeout)
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let method = reqwest::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| fail(format!("'{}' is not an HTTP method", req.method)))?;
    let mut r = client.request(method, &req.url);
    for (name, value) in &req.headers {
        let v = match value {
            HeaderValue::Plain(v) => v.clone(),
            HeaderValue::Secret(s) => s.resolve().map_err(fail)?,
        };
        r = r.header(name.as_str(), v);
    }
    match &req.auth {
        Some(Auth::Bearer(token)) => r = r.bearer_auth(token.resolve().map_err(fail)?),
        Some(Auth::Basic { user, password }) => r = r.basic_auth(user, Some(password.resolve().map_err(fail)?)),
        None => {}
    }
    if let Some(body) = &req.body {
        r = r.body(body.clone());
    }
    let mut resp = r.send().await.map_err(|e| {
        fail(if e.is_timeout() {
            format!("no answer within {}", humantime::format_duration(req.timeout))
        } else if e.is_connect() {
            "cannot connect: check the address and that the report server is up".to_string()
        } else {
            // reqwest's text names the URL; ours is already in the message.
            e.without_url().to_string()
        })
    })?;
    let status = resp.status();
    if !status.is_success() {
        return Err(fail(format!("the server answered {status}; nothing was kept")));
    }
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if let Some(want) = &req.expect {
        let got = content_type.split(';').next().unwrap_or("").trim();
        if !got.eq_ignore_ascii_case(want) {
            return Err(fail(format!(
                "expected {want} but the server sent {}; nothing was kept",
                if got.is_empty() { "no content type" } else { got }
            )));
        }
    }
    if resp.content_length().is_some_and(|n| n > req.max_bytes) {
        return Err(fail(format!(
            "the document is larger than the limit of {} bytes",
            req.max_bytes
        )));
    }
    let mut bytes = 0u64;
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| fail(format!("the download broke off: {}", e.without_url())))?
    {
        bytes += chunk.len() as u64;
        if bytes > req.max_bytes {
            return Err(fail(format!(
                "the document is larger than the limit of {} bytes",
                req.max_bytes
            )));
        }
        out.write_all(&chunk)
            .map_err(|e| fail(format!("cannot write the file: {e}")))?;
    }
    Ok(Fetched { content_type, bytes })
}
