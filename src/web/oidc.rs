//! Sign-in through the district's OpenID Connect provider: the
//! authorization code flow with PKCE and a nonce (the `openidconnect`
//! crate discovers the provider and verifies the ID token), then the person
//! the ID token names is matched to a ferry user by email, and the ferry
//! groups `[console.oidc.groups]` maps follow the provider's groups claim.
//!
//! A sign-in in progress is kept on the server, keyed by a random id in a
//! short-lived cookie of the browser that began it: the callback must come
//! back to that browser with that flow's `state`, and each flow is used
//! once, so a wrong `state`, a replayed callback URL or a callback sent to
//! another browser finds nothing to finish. Codes, tokens and the client
//! secret are never logged or shown.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    RedirectUrl, Scope, TokenResponse,
};
use rand::RngCore;

use crate::config::{OidcSettings, UnknownUsers};
use crate::state::{PeopleError, Store};

/// The cookie naming the browser's sign-in in progress.
pub(super) const FLOW_COOKIE: &str = "ferry_oidc";
/// The path the console's callback lives at.
pub(super) const CALLBACK_PATH: &str = "/login/oidc/callback";
/// How long a person may take at the provider's login form.
pub(super) const FLOW_TTL: Duration = Duration::from_secs(600);
/// Sign-ins in progress kept at most, so a flood of started flows cannot
/// grow memory without bound.
const MAX_FLOWS: usize = 10_000;

/// Why a sign-in through the provider was refused: each says what happened
/// and what to do, and none holds a code, token or secret.
#[derive(Debug, thiserror::Error)]
pub(super) enum Refusal {
    /// The provider cannot be reached or its discovery document is wrong.
    #[error("the identity provider {issuer} cannot be used: {message}; check console.oidc.issuer in ferry.toml and that ferry can reach it")]
    Provider {
        /// console.oidc.issuer.
        issuer: String,
        /// What failed.
        message: String,
    },
    /// The client secret reference does not resolve.
    #[error("console.oidc.client_secret: {0}")]
    Secret(String),
    /// No sign-in of this browser is waiting (none began, it was used, or
    /// it is older than ten minutes).
    #[error("there is no sign-in in progress for this browser (it was already used, took longer than ten minutes, or began elsewhere); start again from the login page")]
    NoFlow,
    /// The callback's `state` is not the one this browser's sign-in sent.
    #[error("the sign-in's state does not match the one this browser started with, so the answer was not for this sign-in; start again from the login page")]
    WrongState,
    /// The provider answered with an error (the person cancelled, or the
    /// client is not allowed).
    #[error("the identity provider refused the sign-in: {0}")]
    Denied(String),
    /// The code could not be exchanged for tokens.
    #[error("the identity provider did not accept the sign-in's code ({0}); start again from the login page")]
    Exchange(String),
    /// The ID token did not verify.
    #[error("the identity provider's ID token is not valid: {0}; start again from the login page")]
    IdToken(String),
    /// The ID token had expired by the time it arrived.
    #[error("the identity provider's ID token had expired when ferry received it; check that the clocks of ferry's host and the provider agree, then start again from the login page")]
    Expired,
    /// The ID token has no email address, or one the provider has not verified.
    #[error("the identity provider did not give a verified email address; ask the provider's administrator to release the `email` claim to ferry")]
    NoEmail,
    /// The email's domain is not allowed.
    #[error("{email} may not sign in to this console: only addresses in {allowed} may (console.oidc.allowed_domains)")]
    Domain {
        /// The address.
        email: String,
        /// The allowed domains, listed for the message.
        allowed: String,
    },
    /// No ferry user has the address, and none is created.
    #[error("{0} has no ferry user; an administrator adds one with `ferry users add NAME --email {0}` (or sets console.oidc.unknown_users = \"create\")")]
    UnknownUser(String),
    /// More than one ferry user has the address.
    #[error(
        "several ferry users have the email {email} ({users}); an administrator gives each user their own address"
    )]
    Ambiguous {
        /// The address.
        email: String,
        /// The ferry users with that address, listed for the message.
        users: String,
    },
    /// The state store failed.
    #[error(transparent)]
    Store(#[from] PeopleError),
}

impl Refusal {
    /// The status of the page that shows it.
    pub(super) fn status(&self) -> StatusCode {
        match self {
            Refusal::Provider { .. } | Refusal::Exchange(_) => StatusCode::BAD_GATEWAY,
            Refusal::Secret(_) | Refusal::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Refusal::NoFlow | Refusal::WrongState => StatusCode::BAD_REQUEST,
            _ => StatusCode::FORBIDDEN,
        }
    }

    /// A short name for the log.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Refusal::Provider { .. } => "provider",
            Refusal::Secret(_) => "secret",
            Refusal::NoFlow => "no_flow",
            Refusal::WrongState => "wrong_state",
            Refusal::Denied(_) => "denied",
            Refusal::Exchange(_) => "exchange",
            Refusal::IdToken(_) => "id_token",
            Refusal::Expired => "expired",
            Refusal::NoEmail => "no_email",
            Refusal::Domain { .. } => "domain",
            Refusal::UnknownUser(_) => "unknown_user",
            Refusal::Ambiguous { .. } => "ambiguous",
            Refusal::Store(_) => "store",
        }
    }
}

/// A sign-in waiting for the provider to send the browser back.
struct Pending {
    state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
    redirect: String,
    next: String,
    began: Instant,
}

/// The sign-ins in progress.
#[derive(Default)]
pub(super) struct Flows {
    pending: Mutex<HashMap<String, Pending>>,
}

impl Flows {
    fn insert(&self, pending: Pending) -> String {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let id = URL_SAFE_NO_PAD.encode(bytes);
        let mut map = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, p| p.began.elapsed() < FLOW_TTL);
        if map.len() >= MAX_FLOWS {
            map.clear();
        }
        map.insert(id.clone(), pending);
        id
    }

    /// Takes the flow out: whatever the callback brings, it is used once.
    fn take(&self, id: &str) -> Option<Pending> {
        let mut map = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.remove(id).filter(|p| p.began.elapsed() < FLOW_TTL)
    }
}

/// An HTTP client that follows no redirects (the crate's advice: a
/// redirect could point discovery or the token request anywhere).
fn http() -> Result<reqwest::Client, Refusal> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .map_err(|e| Refusal::Exchange(e.to_string()))
}

async fn discover(settings: &OidcSettings, http: &reqwest::Client) -> Result<ProviderMetadataWithLogout, Refusal> {
    let provider = |message: String| Refusal::Provider {
        issuer: settings.issuer.to_string(),
        message,
    };
    // The issuer as written, without the slash Url adds to a bare host:
    // the ID token's `iss` must equal it exactly.
    let issuer = IssuerUrl::new(issuer_text(settings)).map_err(|e| provider(e.to_string()))?;
    ProviderMetadataWithLogout::discover_async(issuer, http)
        .await
        .map_err(|e| provider(chain(&e)))
}

fn issuer_text(settings: &OidcSettings) -> String {
    let text = settings.issuer.as_str();
    match settings.issuer.path() {
        "/" => text.trim_end_matches('/').to_string(),
        _ => text.to_string(),
    }
}

/// An error and its causes in one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Begins a sign-in: the provider's authorization URL to send the browser
/// to, and the flow id for the browser's cookie.
pub(super) async fn begin(
    flows: &Flows,
    settings: &OidcSettings,
    redirect: String,
    next: String,
) -> Result<(reqwest::Url, String), Refusal> {
    let http = http()?;
    let metadata = discover(settings, &http).await?;
    let redirect_url = RedirectUrl::new(redirect.clone()).map_err(|e| Refusal::Provider {
        issuer: settings.issuer.to_string(),
        message: format!("the callback address {redirect} is not a URL: {e}; set console.oidc.redirect_url"),
    })?;
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(settings.client_id.clone()), None)
        .set_redirect_uri(redirect_url);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge);
    for scope in &settings.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, state, nonce) = request.url();
    let id = flows.insert(Pending {
        state,
        nonce,
        verifier,
        redirect,
        next,
        began: Instant::now(),
    });
    Ok((url, id))
}

/// What the provider sent the browser back with.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct Callback {
    /// The authorization code, exchanged for tokens with the PKCE verifier.
    pub code: Option<String>,
    /// The state sent with the sign-in, which must come back unchanged.
    pub state: Option<String>,
    /// An error code instead of a code.
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// The issuer that answered (RFC 9207), when the provider says.
    pub iss: Option<String>,
}

/// A person the provider vouched for, as a ferry user.
pub(super) struct SignedIn {
    pub user: String,
    /// The verified email address.
    pub email: String,
    /// Where to go now.
    pub next: String,
}

/// Finishes a sign-in: checks the flow and state, exchanges the code with
/// the PKCE verifier, verifies the ID token (signature, issuer, audience,
/// expiry, nonce), then finds or makes the ferry user and brings the
/// mapped groups in line with the provider's.
pub(super) async fn finish(
    flows: &Flows,
    settings: &OidcSettings,
    store: &Store,
    flow: Option<&str>,
    answer: Callback,
) -> Result<SignedIn, Refusal> {
    let pending = flow.and_then(|id| flows.take(id)).ok_or(Refusal::NoFlow)?;
    let sent = answer.state.unwrap_or_default();
    if !constant_eq(sent.as_bytes(), pending.state.secret().as_bytes()) {
        return Err(Refusal::WrongState);
    }
    // An answer naming another issuer came from a different provider
    // (a mix-up): its code is not for this one's token endpoint.
    if let Some(iss) = &answer.iss {
        if *iss != issuer_text(settings) {
            return Err(Refusal::IdToken(format!(
                "the answer came from the issuer {iss:?}, not {}",
                issuer_text(settings)
            )));
        }
    }
    if let Some(error) = answer.error {
        let mut text = error;
        if let Some(d) = answer.error_description {
            text = format!("{text} ({d})");
        }
        return Err(Refusal::Denied(text));
    }
    let code = answer
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Refusal::Denied("the answer has no code".into()))?;
    let secret = settings.client_secret.resolve().map_err(Refusal::Secret)?;
    let http = http()?;
    let metadata = discover(settings, &http).await?;
    let redirect_url = RedirectUrl::new(pending.redirect.clone()).map_err(|e| Refusal::Exchange(e.to_string()))?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(settings.client_id.clone()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(redirect_url);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| Refusal::Exchange(e.to_string()))?
        .set_pkce_verifier(pending.verifier)
        .request_async(&http)
        .await
        .map_err(|e| Refusal::Exchange(exchange_error(&e)))?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| Refusal::IdToken("the token response has no ID token".into()))?;
    let verifier = client.id_token_verifier();
    let claims = id_token.claims(&verifier, &pending.nonce).map_err(|e| match e {
        ClaimsVerificationError::Expired(_) => Refusal::Expired,
        other => Refusal::IdToken(other.to_string()),
    })?;
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token.signing_alg().map_err(|e| Refusal::IdToken(e.to_string()))?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(|e| Refusal::IdToken(e.to_string()))?;
        let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key)
            .map_err(|e| Refusal::IdToken(e.to_string()))?;
        if actual != *expected {
            return Err(Refusal::IdToken("its at_hash does not match the access token".into()));
        }
    }
    if claims.email_verified() == Some(false) {
        return Err(Refusal::NoEmail);
    }
    let email = claims.email().map(|e| e.as_str().to_string()).ok_or(Refusal::NoEmail)?;
    // The verified token's own payload, for the groups claim the standard
    // claims do not carry.
    let groups = groups_claim(&id_token.to_string(), &settings.groups_claim);
    let user = ferry_user(store, settings, &email, &groups).await?;
    Ok(SignedIn {
        user,
        email,
        next: pending.next,
    })
}

/// The token endpoint's refusal in words, never its body (which could
/// hold tokens).
fn exchange_error<RE: std::error::Error + 'static, T: openidconnect::ErrorResponse + 'static>(
    e: &openidconnect::RequestTokenError<RE, T>,
) -> String {
    match e {
        openidconnect::RequestTokenError::ServerResponse(r) => r.to_string(),
        openidconnect::RequestTokenError::Request(r) => chain(r),
        openidconnect::RequestTokenError::Parse(_, _) => "its answer could not be read".into(),
        openidconnect::RequestTokenError::Other(o) => o.clone(),
    }
}

/// The values of `claim` in a JWT's payload: a list of strings, or one string.
fn groups_claim(jwt: &str, claim: &str) -> Vec<String> {
    let payload = jwt
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    match payload.as_ref().and_then(|p| p.get(claim)) {
        Some(serde_json::Value::Array(v)) => v.iter().filter_map(|g| g.as_str().map(str::to_string)).collect(),
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Whether `email` is in one of the allowed domains (exactly; a
/// subdomain must be listed itself).
pub(super) fn domain_allowed(settings: &OidcSettings, email: &str) -> bool {
    email
        .rsplit_once('@')
        .is_some_and(|(_, d)| settings.allowed_domains.iter().any(|a| a.eq_ignore_ascii_case(d)))
}

/// The ferry user for a verified address, made when the rule says so; the
/// mapped groups then follow the provider's.
async fn ferry_user(store: &Store, settings: &OidcSettings, email: &str, groups: &[String]) -> Result<String, Refusal> {
    if !domain_allowed(settings, email) {
        return Err(Refusal::Domain {
            email: email.to_string(),
            allowed: settings.allowed_domains.join(", "),
        });
    }
    let mut users = store.users_with_email(email).await?;
    let user = match (users.len(), settings.unknown_users) {
        (1, _) => users.remove(0),
        (0, UnknownUsers::Refuse) => return Err(Refusal::UnknownUser(email.to_string())),
        (0, UnknownUsers::Create) => {
            let name = email.to_ascii_lowercase();
            store.add_user(&name, None, Some(email)).await?;
            tracing::info!(user = ?name, email = ?email, "Created a console user at their first sign-in.");
            name
        }
        _ => {
            return Err(Refusal::Ambiguous {
                email: email.to_string(),
                users: users.join(", "),
            })
        }
    };
    for (claim, group) in &settings.groups {
        let member = store.group(group).await?.map(|g| g.members.contains(&user));
        let Some(member) = member else {
            tracing::warn!(group = ?group, "console.oidc.groups maps to a group that does not exist; add it with `ferry groups add`.");
            continue;
        };
        let should = groups.iter().any(|g| g == claim);
        if should && !member {
            store.add_member(group, &user).await?;
        } else if !should && member {
            store.remove_member(group, &user).await?;
        }
    }
    Ok(user)
}

/// Where to send the browser to end the provider's session too, when the
/// provider advertises `end_session_endpoint`; `None` otherwise, or when
/// the provider cannot be reached (the ferry session is over either way).
pub(super) async fn end_session_url(settings: &OidcSettings, after: String) -> Option<reqwest::Url> {
    let http = http().ok()?;
    let metadata = match discover(settings, &http).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "The provider's session was not ended.");
            return None;
        }
    };
    let endpoint = metadata.additional_metadata().end_session_endpoint.clone()?;
    let mut request =
        openidconnect::LogoutRequest::from(endpoint).set_client_id(ClientId::new(settings.client_id.clone()));
    if let Ok(after) = PostLogoutRedirectUrl::new(after) {
        request = request.set_post_logout_redirect_uri(after);
    }
    Some(request.http_get_url())
}

/// Compares without stopping at the first difference.
fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_come_from_the_payload_as_a_list_or_one_string() {
        let jwt = |payload: &str| format!("h.{}.s", URL_SAFE_NO_PAD.encode(payload));
        assert_eq!(groups_claim(&jwt(r#"{"groups":["a","b",3]}"#), "groups"), ["a", "b"]);
        assert_eq!(groups_claim(&jwt(r#"{"roles":"admin"}"#), "roles"), ["admin"]);
        assert!(groups_claim(&jwt(r#"{"sub":"x"}"#), "groups").is_empty());
        assert!(groups_claim("not a jwt", "groups").is_empty());
    }

    #[test]
    fn a_flow_is_used_once() {
        let flows = Flows::default();
        let id = flows.insert(Pending {
            state: CsrfToken::new("s".into()),
            nonce: Nonce::new("n".into()),
            verifier: PkceCodeVerifier::new("v".into()),
            redirect: "http://127.0.0.1/login/oidc/callback".into(),
            next: "/".into(),
            began: Instant::now(),
        });
        assert!(flows.take(&id).is_some());
        assert!(flows.take(&id).is_none(), "a replay finds nothing");
    }

    fn settings(unknown: UnknownUsers) -> OidcSettings {
        OidcSettings {
            issuer: reqwest::Url::parse("https://op.example.org").unwrap(),
            label: "Test".into(),
            client_id: "ferry".into(),
            client_secret: crate::config::SecretRef::Env("UNUSED".into()),
            redirect_url: None,
            allowed_domains: vec!["district.org".into()],
            scopes: Vec::new(),
            groups_claim: "groups".into(),
            groups: [
                ("op-readers".into(), "readers".into()),
                ("op-missing".into(), "missing".into()),
            ]
            .into(),
            local_passwords: true,
            unknown_users: unknown,
        }
    }

    #[tokio::test]
    async fn people_are_matched_by_email_and_their_mapped_groups_follow_the_provider() {
        let (_dir, store) = crate::state::temp_store().await;
        store.add_group("readers", None, None).await.unwrap();
        store.add_group("office", None, None).await.unwrap();
        store.add_user("ann", None, Some("Ann@District.org")).await.unwrap();
        store.add_member("office", "ann").await.unwrap();
        let refuse = settings(UnknownUsers::Refuse);
        let readers = vec!["op-readers".to_string()];

        assert!(matches!(
            ferry_user(&store, &refuse, "bob@elsewhere.org", &readers).await,
            Err(Refusal::Domain { .. })
        ));
        assert!(matches!(
            ferry_user(&store, &refuse, "bob@sub.district.org", &readers).await,
            Err(Refusal::Domain { .. })
        ));
        let e = ferry_user(&store, &refuse, "carl@district.org", &readers)
            .await
            .err()
            .unwrap();
        assert!(
            e.to_string().contains("ferry users add NAME --email carl@district.org"),
            "{e}"
        );
        assert!(
            store.user("carl@district.org").await.unwrap().is_none(),
            "nothing created"
        );

        // Found without regard to case; put in the mapped group, left in
        // the unmapped one; a mapped group that does not exist is skipped.
        assert_eq!(
            ferry_user(&store, &refuse, "ann@district.org", &readers).await.unwrap(),
            "ann"
        );
        assert_eq!(store.user("ann").await.unwrap().unwrap().groups, ["office", "readers"]);
        // The provider no longer lists the group: taken out of it.
        assert_eq!(
            ferry_user(&store, &refuse, "ann@district.org", &[]).await.unwrap(),
            "ann"
        );
        assert_eq!(store.user("ann").await.unwrap().unwrap().groups, ["office"]);

        // The rule says create: a user named by the address, in the mapped group.
        let create = settings(UnknownUsers::Create);
        let name = ferry_user(&store, &create, "Carl@district.org", &readers)
            .await
            .unwrap();
        assert_eq!(name, "carl@district.org");
        let carl = store.user(&name).await.unwrap().unwrap();
        assert_eq!(
            (carl.email.as_deref(), carl.groups),
            (Some("Carl@district.org"), vec!["readers".to_string()])
        );

        // Two users with one address: refused rather than guessed.
        store.add_user("ann2", None, Some("ann@district.org")).await.unwrap();
        assert!(matches!(
            ferry_user(&store, &create, "ann@district.org", &readers).await,
            Err(Refusal::Ambiguous { .. })
        ));
    }
}
