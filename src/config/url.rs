//! Database URLs as written in ferry.toml: whether one carries a password
//! (refused; passwords are secret references) and how to show one safely.
//! Here, with the settings that hold the URLs, so that validating the
//! configuration does not need the database layer; `source` re-exports them.

/// True when a database URL carries a password (`scheme://user:pw@host`).
pub fn url_has_password(url: &str) -> bool {
    url.split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .is_some_and(|(auth, _)| auth.contains(':'))
}

/// The URL with any password replaced, safe for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url
        .split_once("://")
        .and_then(|(s, rest)| rest.split_once('@').map(|(a, h)| (s, a, h)))
    {
        Some((scheme, auth, host)) if auth.contains(':') => {
            let user = auth.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_string(),
    }
}
