//! Who started a run and with which parameters: recorded when the run is
//! created, so history answers "which runs carried SSNs, and who asked".

use std::fmt;

/// Where a person started a run from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// `ferry run`, `test-extract`, `resend`, `release` in a shell.
    Cli,
    /// The web console, signed in.
    Console,
    /// The JSON API with a token.
    Api,
}

impl Via {
    fn word(self) -> &'static str {
        match self {
            Via::Cli => "cli",
            Via::Console => "console",
            Via::Api => "api",
        }
    }
}

/// Who or what started a run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(tag = "by", rename_all = "lowercase")]
pub enum StartedBy {
    /// `ferry serve`: a schedule occurrence, its catch-up or its recovery.
    Schedule,
    /// A person: the operating-system user for the command line, the
    /// signed-in user for the console, the token's user for the API.
    Person {
        user: String,
        /// Where they asked.
        via: Via,
    },
}

impl StartedBy {
    /// A person at the command line, named by the process's own user.
    pub fn cli() -> StartedBy {
        StartedBy::Person {
            user: os_user(),
            via: Via::Cli,
        }
    }

    /// The stored word: `schedule`, or `via:user`.
    pub fn stored(&self) -> String {
        match self {
            StartedBy::Schedule => "schedule".into(),
            StartedBy::Person { user, via } => format!("{}:{user}", via.word()),
        }
    }

    /// Reads a stored word back; `None` for text no version wrote.
    pub fn parse(s: &str) -> Option<StartedBy> {
        if s == "schedule" {
            return Some(StartedBy::Schedule);
        }
        let (via, user) = s.split_once(':')?;
        let via = [Via::Cli, Via::Console, Via::Api]
            .into_iter()
            .find(|v| v.word() == via)?;
        Some(StartedBy::Person { user: user.into(), via })
    }
}

impl fmt::Display for StartedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartedBy::Schedule => f.write_str("the schedule (ferry serve)"),
            StartedBy::Person { user, via: Via::Cli } => write!(f, "{user} (command line)"),
            StartedBy::Person {
                user,
                via: Via::Console,
            } => write!(f, "{user} (console)"),
            StartedBy::Person { user, via: Via::Api } => write!(f, "{user} (API token)"),
        }
    }
}

/// The name of the user this process runs as, from the user database,
/// not from `USER`/`LOGNAME` (unset under systemd and cron); the numeric
/// id when the database has no entry.
pub fn os_user() -> String {
    let uid = nix::unistd::Uid::current();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(u)) => u.name,
        _ => format!("uid {uid}"),
    }
}

/// One header parameter of a run, as it ran.
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct RunParam {
    /// The parameter's name under `[params]`.
    pub name: String,
    /// Its value (true/false, a number or text).
    pub value: serde_json::Value,
    /// True when `--param` (or the console) set it rather than the header.
    pub overridden: bool,
}

impl fmt::Display for RunParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.value)?;
        if self.overridden {
            f.write_str(" (overridden)")?;
        }
        Ok(())
    }
}

/// The stored columns for a run's parameters: a JSON object of the values
/// and a JSON array of the overridden names.
pub(super) fn params_columns(params: &[RunParam]) -> (String, String) {
    let values: serde_json::Map<String, serde_json::Value> =
        params.iter().map(|p| (p.name.clone(), p.value.clone())).collect();
    let overridden: Vec<&str> = params
        .iter()
        .filter(|p| p.overridden)
        .map(|p| p.name.as_str())
        .collect();
    (
        serde_json::Value::Object(values).to_string(),
        serde_json::to_string(&overridden).expect("names serialize"),
    )
}

/// Reads the stored columns back, by name.
pub(super) fn params_from(values: Option<&str>, overrides: Option<&str>) -> Vec<RunParam> {
    let values: serde_json::Map<String, serde_json::Value> =
        values.and_then(|v| serde_json::from_str(v).ok()).unwrap_or_default();
    let overridden: Vec<String> = overrides.and_then(|o| serde_json::from_str(o).ok()).unwrap_or_default();
    values
        .into_iter()
        .map(|(name, value)| RunParam {
            overridden: overridden.contains(&name),
            name,
            value,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn started_by_reads_back_what_it_stores() {
        for s in [
            StartedBy::Schedule,
            StartedBy::Person {
                user: "ana:b".into(),
                via: Via::Console,
            },
            StartedBy::Person {
                user: "root".into(),
                via: Via::Cli,
            },
        ] {
            assert_eq!(StartedBy::parse(&s.stored()), Some(s));
        }
        assert_eq!(StartedBy::parse("nobody"), None);
    }

    #[test]
    fn params_keep_their_types_and_overrides() {
        let params = vec![
            RunParam {
                name: "school".into(),
                value: "all".into(),
                overridden: false,
            },
            RunParam {
                name: "include_ssn".into(),
                value: true.into(),
                overridden: true,
            },
        ];
        let (v, o) = params_columns(&params);
        assert_eq!(v, r#"{"include_ssn":true,"school":"all"}"#);
        assert_eq!(o, r#"["include_ssn"]"#);
        let back = params_from(Some(&v), Some(&o));
        assert_eq!(back, [params[1].clone(), params[0].clone()]);
        assert_eq!(params[1].to_string(), "include_ssn=true (overridden)");
    }
}
