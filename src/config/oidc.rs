//! `[console.oidc]`: signing in to the console with the district's
//! identity provider (Google, Microsoft Entra, any OpenID Connect
//! provider). Checked when ferry.toml loads, so a typo in the issuer or a
//! literal client secret stops `ferry serve` at start rather than at the
//! first person's sign-in.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::check_person_name;
use super::SecretRef;

/// What a first sign-in of a person with no ferry user does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownUsers {
    /// Nothing is created; the person is refused and told to ask an
    /// administrator (the default: the provider knows every staff member,
    /// ferry should know only those who run extracts).
    Refuse,
    /// A user named by the email address is created, with rights only from
    /// the mapped groups.
    Create,
}

/// The validated `[console.oidc]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcSettings {
    /// The provider's issuer URL; discovery reads
    /// `ISSUER/.well-known/openid-configuration`.
    pub issuer: reqwest::Url,
    /// What the button says: "Sign in with {label}".
    pub label: String,
    /// The client id the provider gave ferry.
    pub client_id: String,
    /// The client secret, as a reference; resolved at each sign-in.
    pub client_secret: SecretRef,
    /// Where the provider sends the browser back; `None`: this console's
    /// own address as the browser reached it, plus `/login/oidc/callback`.
    pub redirect_url: Option<reqwest::Url>,
    /// Email domains whose people may sign in, lowercase.
    pub allowed_domains: Vec<String>,
    /// Scopes asked for besides `openid` and `email`.
    pub scopes: Vec<String>,
    /// The ID token claim holding the person's groups at the provider.
    pub groups_claim: String,
    /// Provider group (a value of `groups_claim`) → ferry group, whose
    /// rights the person then has. Membership of these ferry groups follows
    /// the provider at every sign-in.
    pub groups: BTreeMap<String, String>,
    /// Whether ferry's own passwords still log in.
    pub local_passwords: bool,
    /// What a first sign-in of an unknown person does.
    pub unknown_users: UnknownUsers,
}

/// `[console.oidc]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOidc {
    issuer: Option<String>,
    label: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    redirect_url: Option<String>,
    allowed_domains: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    groups_claim: Option<String>,
    groups: Option<BTreeMap<String, String>>,
    local_passwords: Option<bool>,
    unknown_users: Option<String>,
}

/// Only a provider on this host may be reached without TLS (a test or a
/// provider behind a local proxy): tokens cross that connection.
fn loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn web_url(key: &str, text: &str, example: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text)
        .map_err(|e| format!("console.oidc.{key} '{text}' is not a URL ({e}); write it like \"{example}\""))?;
    let ok = match url.scheme() {
        "https" => url.host().is_some(),
        "http" => loopback(&url),
        _ => false,
    };
    if !ok {
        return Err(format!(
            "console.oidc.{key} '{text}' must be an https:// URL (plain http:// only on this host), like \"{example}\""
        ));
    }
    Ok(url)
}

impl RawOidc {
    /// Checks the table; every message starts with the setting's name.
    pub(super) fn validate(self, root: &Path) -> Result<OidcSettings, String> {
        let issuer = self.issuer.ok_or(
            "console.oidc.issuer is missing: give the provider's issuer URL, e.g. \"https://accounts.google.com\"",
        )?;
        let issuer = web_url("issuer", &issuer, "https://accounts.google.com")?;
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(format!(
                "console.oidc.issuer '{issuer}' must not have a query or fragment: give the issuer exactly as the provider's discovery document names it"
            ));
        }
        let client_id = self
            .client_id
            .filter(|c| !c.trim().is_empty())
            .ok_or("console.oidc.client_id is missing: give the client id the provider issued for ferry")?;
        let client_secret = self.client_secret.ok_or(
            "console.oidc.client_secret is missing: give a reference to it, e.g. \"cred:oidc_client_secret\" or \"env:FERRY_OIDC_SECRET\"",
        )?;
        let client_secret =
            SecretRef::parse(&client_secret, root).map_err(|e| format!("console.oidc.client_secret: {e}"))?;
        let redirect_url = self
            .redirect_url
            .map(|u| web_url("redirect_url", &u, "https://ferry.district.org/login/oidc/callback"))
            .transpose()?;
        if let Some(u) = &redirect_url {
            if !u.path().ends_with("/login/oidc/callback") {
                return Err(format!(
                    "console.oidc.redirect_url '{u}' must end in /login/oidc/callback, the console's callback"
                ));
            }
        }
        let allowed_domains: Vec<String> = self
            .allowed_domains
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
            .collect();
        if allowed_domains.is_empty() {
            return Err(
                "console.oidc.allowed_domains is empty: list the district's email domains, e.g. [\"district.org\"]"
                    .into(),
            );
        }
        if let Some(bad) = allowed_domains
            .iter()
            .find(|d| d.is_empty() || d.contains(['@', '/', ' ']) || !d.contains('.'))
        {
            return Err(format!(
                "console.oidc.allowed_domains: '{bad}' is not a domain like \"district.org\""
            ));
        }
        let groups = self.groups.unwrap_or_default();
        for (claim, group) in &groups {
            check_person_name("group", group).map_err(|e| format!("console.oidc.groups.\"{claim}\": {e}"))?;
        }
        let unknown_users = match self.unknown_users.as_deref().unwrap_or("refuse") {
            "refuse" => UnknownUsers::Refuse,
            "create" => UnknownUsers::Create,
            other => {
                return Err(format!(
                    "console.oidc.unknown_users '{other}' must be \"refuse\" (the default) or \"create\""
                ))
            }
        };
        let groups_claim = self.groups_claim.unwrap_or_else(|| "groups".into());
        if groups_claim.trim().is_empty() {
            return Err(
                "console.oidc.groups_claim is empty: name the ID token claim with the groups, e.g. \"groups\"".into(),
            );
        }
        let label = self
            .label
            .unwrap_or_else(|| issuer.host_str().unwrap_or("the identity provider").to_string());
        Ok(OidcSettings {
            issuer,
            label,
            client_id,
            client_secret,
            redirect_url,
            allowed_domains,
            scopes: self.scopes.unwrap_or_default(),
            groups_claim,
            groups,
            local_passwords: self.local_passwords.unwrap_or(true),
            unknown_users,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::UnknownUsers;
    use crate::config::Settings;

    const GOOD: &str = "issuer = \"https://login.example.org/tenant\"\nclient_id = \"ferry\"\n\
                        client_secret = \"cred:oidc\"\nallowed_domains = [\"District.org\"]\n";

    fn parse(oidc: &str) -> Result<Settings, String> {
        Settings::parse(&format!("[console]\n[console.oidc]\n{oidc}"), "f.toml", Path::new("/p"))
            .map_err(|e| e.to_string())
    }

    fn refused(oidc: &str, words: &[&str]) {
        let e = parse(oidc).map(|_| ()).expect_err(oidc);
        for w in words {
            assert!(e.contains(w), "{w:?} in {e}");
        }
    }

    #[test]
    fn a_good_table_has_safe_defaults() {
        let s = parse(GOOD).unwrap().console.unwrap().oidc.unwrap();
        assert_eq!(s.issuer.as_str(), "https://login.example.org/tenant");
        assert_eq!(s.client_secret.to_string(), "cred:oidc");
        assert_eq!(s.allowed_domains, ["district.org"]);
        assert_eq!(s.label, "login.example.org");
        assert_eq!(s.groups_claim, "groups");
        assert!(s.local_passwords);
        assert_eq!(s.unknown_users, UnknownUsers::Refuse);
        let s = parse(&format!(
            "{GOOD}local_passwords = false\nunknown_users = \"create\"\nlabel = \"Google\"\n\
             [console.oidc.groups]\n\"ferry-admins\" = \"admins\"\n"
        ))
        .unwrap()
        .console
        .unwrap()
        .oidc
        .unwrap();
        assert!(!s.local_passwords);
        assert_eq!(s.unknown_users, UnknownUsers::Create);
        assert_eq!(s.groups.get("ferry-admins").map(String::as_str), Some("admins"));
        // Plain http only to this host.
        let local = GOOD.replace("https://login.example.org/tenant", "http://127.0.0.1:9000");
        assert!(parse(&local).is_ok());
    }

    #[test]
    fn each_mistake_names_its_setting() {
        let without = |key: &str| {
            GOOD.lines()
                .filter(|l| !l.starts_with(key))
                .collect::<Vec<_>>()
                .join("\n")
        };
        refused(&without("issuer"), &["console.oidc.issuer is missing"]);
        refused(
            &GOOD.replace("https://login.example.org/tenant", "login.example.org"),
            &["console.oidc.issuer 'login.example.org' is not a URL"],
        );
        refused(
            &GOOD.replace("https://login.example.org/tenant", "http://login.example.org"),
            &["console.oidc.issuer", "must be an https:// URL"],
        );
        refused(&without("client_id"), &["console.oidc.client_id is missing"]);
        refused(
            &GOOD.replace("\"ferry\"", "\" \""),
            &["console.oidc.client_id is missing"],
        );
        refused(&without("client_secret"), &["console.oidc.client_secret is missing"]);
        refused(
            &GOOD.replace("cred:oidc", "hunter2"),
            &["console.oidc.client_secret", "not literals"],
        );
        refused(&without("allowed_domains"), &["console.oidc.allowed_domains is empty"]);
        refused(
            &GOOD.replace("District.org", "me@district.org"),
            &["console.oidc.allowed_domains", "not a domain"],
        );
        refused(
            &format!("{GOOD}unknown_users = \"maybe\"\n"),
            &["console.oidc.unknown_users 'maybe'"],
        );
        refused(
            &format!("{GOOD}redirect_url = \"https://ferry.example.org/cb\"\n"),
            &["console.oidc.redirect_url", "/login/oidc/callback"],
        );
        refused(
            &format!("{GOOD}[console.oidc.groups]\n\"admins\" = \"bad group\"\n"),
            &["console.oidc.groups.\"admins\"", "group name 'bad group'"],
        );
        refused(&format!("{GOOD}colour = \"blue\"\n"), &["colour"]);
    }

    /// The first TOML block after `heading` in a document.
    fn example(doc: &str, heading: &str) -> String {
        let after = &doc[doc.find(heading).expect(heading)..];
        let start = after.find("```toml\n").expect("a toml block") + 8;
        after[start..start + after[start..].find("```").unwrap()].to_string()
    }

    #[test]
    fn the_documented_examples_load() {
        let reference = example(
            include_str!("../../docs/configuration.md"),
            "### Single sign-on: `[console.oidc]`",
        );
        let s = Settings::parse(&format!("[console]\n{reference}"), "f.toml", Path::new("/p")).unwrap();
        let o = s.console.unwrap().oidc.unwrap();
        assert_eq!(o.allowed_domains, ["district.org", "staff.district.org"]);
        assert_eq!(o.groups.len(), 2);
        let guide = example(include_str!("../../docs/console.md"), "## Single sign-on");
        let s = Settings::parse(&guide, "f.toml", Path::new("/p")).unwrap();
        assert_eq!(s.console.unwrap().oidc.unwrap().label, "Google");
    }
}
