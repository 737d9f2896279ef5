//! `ferry.toml` → validated [`Settings`]; secret references.
//!
//! Two phases, as everywhere in ferry: the raw TOML is deserialised into
//! `Raw*` structs, then checked and resolved into `Settings`, which the rest of
//! the program can trust. Paths are resolved against the folder holding the
//! configuration file (the working folder for the embedded default).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::location::line_of_offset;

mod console;
mod destination;
mod oidc;
mod school;
mod scripts_dir;
mod sidecars;
mod smtp;
mod url;
pub use console::{ConsoleSettings, TotpRequirement, DEFAULT_LISTEN};
pub use destination::{CommitStrategy, DeliveryMode, DestinationSettings, RawDestination, RetryPolicy, TlsTrust};
pub use oidc::{OidcSettings, UnknownUsers};
pub use school::{school_year_for, DemoOptions};
pub use scripts_dir::{BadScriptName, ScriptsDir};
pub use sidecars::{Checksum, Manifest, Sidecars};
pub use smtp::{SmtpSettings, SmtpTls};
pub use url::{redact_url, url_has_password};

/// The configuration used when there is no `ferry.toml`: the demo district in
/// SQLite and a local `out/` folder. `ferry init` writes this text out.
pub const DEFAULT_CONFIG: &str = include_str!("default_config.toml");

/// The file name ferry looks for in the working folder.
pub const CONFIG_FILE: &str = "ferry.toml";

/// A configuration problem, located in the file where possible.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named on the command line does not exist or cannot be read.
    #[error("cannot read configuration {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// A syntax or value error at a place in the file.
    #[error("{origin}:{line}: {message}")]
    Invalid {
        /// The file (or "embedded default").
        origin: String,
        /// 1-based line.
        line: usize,
        /// What is wrong and what to do.
        message: String,
    },
    /// A problem with a named setting that has no single line.
    #[error("{origin}: {message}")]
    Setting {
        /// The file (or "embedded default").
        origin: String,
        /// What is wrong and what to do.
        message: String,
    },
}

/// The line of the setting a validation message is about: messages start
/// with the key's dotted path (`databases.live.url must ...`,
/// `timezone 'X' is not ...`). A key that is missing is placed at its
/// table, the deepest part of the path that exists.
fn line_of_key(doc: &toml_edit::ImDocument<&str>, text: &str, message: &str) -> Option<usize> {
    let path = message.split([' ', ':', '\'']).next()?;
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    let mut found = None;
    for part in path.split('.') {
        let Some(key) = table.key(part) else { break };
        found = key.span().or(found);
        match table.get(part).and_then(|i| i.as_table_like()) {
            Some(t) => table = t,
            None => break,
        }
    }
    found.map(|span| line_of_offset(text, span.start))
}

/// The variable systemd sets to the folder holding a service's credentials.
pub const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";

/// A reference to a secret kept outside scripts and configuration: the value
/// is looked up only when needed and never printed.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// An environment variable.
    Env(String),
    /// The whole content of a file (trailing newline removed).
    File(PathBuf),
    /// A systemd credential (`LoadCredential=NAME:...` in the unit): the
    /// file `$CREDENTIALS_DIRECTORY/NAME`, which only the service can read
    /// and which never appears in its environment.
    Cred(String),
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(v) => write!(f, "env:{v}"),
            SecretRef::File(p) => write!(f, "file:{}", p.display()),
            SecretRef::Cred(name) => write!(f, "cred:{name}"),
        }
    }
}

impl SecretRef {
    /// Parses `env:NAME`, `file:PATH` or `cred:NAME`; a literal secret is
    /// refused so it cannot end up in a file that is shared or committed.
    pub fn parse(text: &str, root: &Path) -> Result<Self, String> {
        if let Some(var) = text.strip_prefix("env:") {
            if var.is_empty() {
                return Err("'env:' needs a variable name, e.g. env:FERRY_DB_PASSWORD".into());
            }
            Ok(SecretRef::Env(var.to_string()))
        } else if let Some(path) = text.strip_prefix("file:") {
            Ok(SecretRef::File(root.join(path)))
        } else if let Some(name) = text.strip_prefix("cred:") {
            // systemd refuses these names too; checking here keeps a
            // reference from leaving the credentials folder.
            if name.is_empty() || name == "." || name == ".." || name.contains('/') {
                return Err(format!(
                    "'cred:{name}' needs a credential name without '/', e.g. cred:db_password \
                     (the NAME of LoadCredential=NAME:/etc/ferry/secrets/db_password in ferry.service)"
                ));
            }
            Ok(SecretRef::Cred(name.to_string()))
        } else {
            Err("secrets are references, not literals: write env:VARIABLE, file:PATH or cred:NAME".into())
        }
    }

    /// Reads the secret's value; the error names the reference, never a value.
    pub fn resolve(&self) -> Result<String, String> {
        match self {
            SecretRef::Env(var) => {
                std::env::var(var).map_err(|_| format!("secret {self} is not set: export the variable {var}"))
            }
            SecretRef::File(path) => std::fs::read_to_string(path)
                .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                .map_err(|e| format!("secret {self} cannot be read: {e}")),
            SecretRef::Cred(name) => self.read_credential(name, std::env::var_os(CREDENTIALS_DIRECTORY)),
        }
    }
}

impl SecretRef {
    /// `cred:NAME` read from `dir`, systemd's credentials folder of this
    /// process (apart from [`SecretRef::resolve`] so tests need not change
    /// the process's environment).
    fn read_credential(&self, name: &str, dir: Option<std::ffi::OsString>) -> Result<String, String> {
        let Some(dir) = dir.filter(|d| !d.is_empty()) else {
            return Err(format!(
                "secret {self} cannot be read: {CREDENTIALS_DIRECTORY} is not set, so ferry is not \
                 running as a systemd service with credentials; add LoadCredential={name}:/path/to/file \
                 to ferry.service, or use env: or file: when running ferry by hand"
            ));
        };
        let path = Path::new(&dir).join(name);
        std::fs::read_to_string(&path)
            .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
            .map_err(|e| {
                format!(
                    "secret {self} cannot be read from {}: {e}; add LoadCredential={name}:/path/to/file \
                     to ferry.service (systemctl edit ferry) and restart the service",
                    path.display()
                )
            })
    }
}

/// A `[databases.NAME]` table, its URL resolved and checked at load.
#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    /// Connection URL (`sqlite:`, `postgres://`, `mysql://`), password-free.
    pub url: String,
    /// The password, when not in the URL.
    pub password: Option<SecretRef>,
    /// When set, the SQLite file is created as the demo district if missing.
    pub demo: Option<DemoOptions>,
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where the configuration came from, for messages.
    pub origin: String,
    /// Relative paths are resolved against this folder.
    pub root: PathBuf,
    /// Default time zone of scripts.
    pub timezone: chrono_tz::Tz,
    /// The active school year (named by the year it ends in), if fixed here.
    pub active_year: Option<i32>,
    /// Where the `NAME.rhai` scripts live (`scripts` unless ferry.toml says otherwise).
    pub scripts_dir: PathBuf,
    /// The shipped Rhai modules (`import "oneroster" as or;`).
    pub stdlib_dir: PathBuf,
    /// Saved ad hoc filters and their data model (`model.toml`).
    pub filters_dir: PathBuf,
    /// How long an ad hoc filter may run (the original tool's 5 minutes).
    pub filter_timeout: Duration,
    /// The state store (history, schedule claims).
    pub state: StateLocation,
    /// Where runs build their files; kept files live here too.
    pub work_dir: PathBuf,
    /// Run timeout when a script's header gives none.
    pub default_timeout: Duration,
    /// `ferry serve`: runs at the same time, at most.
    pub max_concurrent_runs: usize,
    /// `ferry serve`: how long running extracts may take to finish after a stop signal.
    pub shutdown_grace: Duration,
    /// The group told about problems no script's own `notify` group can be
    /// told about: a script whose header does not load, a `ferry.toml` that
    /// does not reload.
    pub admin_group: Option<String>,
    /// `[databases.NAME]`, by name: a script's `database` header picks one.
    pub databases: BTreeMap<String, DatabaseSettings>,
    /// `[destinations.NAME]`, by name: `deliver("NAME", ...)` picks one.
    pub destinations: BTreeMap<String, DestinationSettings>,
    /// SFTP private keys made with `ferry keys generate`.
    pub keys_dir: PathBuf,
    /// The OpenPGP keyring (`ferry keys pgp`): vendors' public keys and the
    /// district's signing key.
    pub pgp_keys_dir: PathBuf,
    /// SSH host keys ferry trusts (OpenSSH `known_hosts` format).
    pub known_hosts: PathBuf,
    /// Kept files (failed, held or undelivered runs) are removed after this
    /// many days; held runs stay until released or discarded.
    pub keep_days: u32,
    /// Kept files beyond this many bytes in all are removed oldest first.
    pub keep_max_bytes: u64,
    /// Successful runs keep the files they delivered (for `ferry resend`).
    pub keep_delivered: bool,
    /// The mail server notifications go through; `None` means no email.
    pub smtp: Option<SmtpSettings>,
    /// The web console and JSON API of `ferry serve`; `None` means off.
    pub console: Option<ConsoleSettings>,
    /// Where `ferry serve` offers `GET /metrics` (`[metrics] listen`); `None` means off.
    pub metrics: Option<std::net::SocketAddr>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    timezone: Option<String>,
    active_year: Option<i32>,
    scripts: Option<String>,
    stdlib: Option<String>,
    filters: Option<String>,
    filter_timeout: Option<String>,
    state: Option<String>,
    state_password: Option<String>,
    work: Option<String>,
    default_timeout: Option<String>,
    max_concurrent_runs: Option<usize>,
    shutdown_grace: Option<String>,
    admin_group: Option<String>,
    #[serde(default)]
    databases: BTreeMap<String, RawDatabase>,
    #[serde(default)]
    destinations: BTreeMap<String, RawDestination>,
    smtp: Option<smtp::RawSmtp>,
    keys: Option<String>,
    pgp_keys: Option<String>,
    known_hosts: Option<String>,
    keep_days: Option<u32>,
    keep_max_size: Option<String>,
    keep_delivered: Option<bool>,
    console: Option<console::RawConsole>,
    metrics: Option<RawMetrics>,
}

/// `[metrics]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: Option<String>,
}

/// Where `/metrics` listens when `[metrics]` gives no address: this host
/// only, on the port registered for exporters like this one.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: String,
    password: Option<String>,
    demo: Option<RawDemo>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDemo {
    students: Option<u32>,
    seed: Option<u64>,
}

/// "500MB", "10 GB", "2048": decimal units, as disks are sold.
fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        _ => return None,
    };
    Some((n * mult) as u64)
}

impl Settings {
    /// Loads `path`, or `./ferry.toml` when present, or the embedded default.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let file = match path {
            Some(p) => Some(p.to_path_buf()),
            None => Some(cwd.join(CONFIG_FILE)).filter(|p| p.exists()),
        };
        match file {
            Some(file) => {
                let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
                    path: file.clone(),
                    source,
                })?;
                let root = file
                    .parent()
                    .map(Path::to_path_buf)
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(cwd);
                Settings::parse(&text, &file.display().to_string(), &root)
            }
            None => Settings::parse(DEFAULT_CONFIG, "embedded default configuration", &cwd),
        }
    }

    /// Parses configuration text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str, root: &Path) -> Result<Settings, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            origin: origin.to_string(),
            line: e.span().map(|s| line_of_offset(text, s.start)).unwrap_or(1),
            message: e.message().to_string(),
        })?;
        let keys = toml_edit::ImDocument::parse(text).ok();
        let setting = |message: String| match keys.as_ref().and_then(|d| line_of_key(d, text, &message)) {
            Some(line) => ConfigError::Invalid {
                origin: origin.to_string(),
                line,
                message,
            },
            None => ConfigError::Setting {
                origin: origin.to_string(),
                message,
            },
        };
        let timezone = match raw.timezone.as_deref() {
            None => chrono_tz::UTC,
            Some(tz) => tz.parse().map_err(|_| {
                setting(format!(
                    "timezone '{tz}' is not an IANA time zone name (e.g. America/Chicago)"
                ))
            })?,
        };
        let default_timeout = match raw.default_timeout.as_deref() {
            None => Duration::from_secs(30 * 60),
            Some(t) => humantime::parse_duration(t)
                .map_err(|e| setting(format!("default_timeout '{t}' is not a duration like \"30m\": {e}")))?,
        };
        let filter_timeout = match raw.filter_timeout.as_deref() {
            None => Duration::from_secs(5 * 60),
            Some(t) => humantime::parse_duration(t)
                .map_err(|e| setting(format!("filter_timeout '{t}' is not a duration like \"5m\": {e}")))?,
        };
        let shutdown_grace = match raw.shutdown_grace.as_deref() {
            None => Duration::from_secs(60),
            Some(t) => humantime::parse_duration(t)
                .map_err(|e| setting(format!("shutdown_grace '{t}' is not a duration like \"60s\": {e}")))?,
        };
        let path = |p: Option<String>, default: &str| root.join(p.as_deref().unwrap_or(default));
        let mut databases = BTreeMap::new();
        for (name, db) in raw.databases {
            let scheme_ok = ["sqlite:", "postgres://", "postgresql://", "mysql://", "mariadb://"]
                .iter()
                .any(|s| db.url.starts_with(s));
            if !scheme_ok {
                return Err(setting(format!(
                    "databases.{name}.url must start with sqlite:, postgres:// or mysql://"
                )));
            }
            if url_has_password(&db.url) {
                return Err(setting(format!(
                    "databases.{name}.url holds a password: remove it and set \
                     password = \"env:VARIABLE\" instead"
                )));
            }
            let password = db
                .password
                .map(|p| SecretRef::parse(&p, root))
                .transpose()
                .map_err(|e| setting(format!("databases.{name}.password: {e}")))?;
            let url = match db.url.strip_prefix("sqlite:") {
                Some(file) if !file.starts_with(":memory:") => {
                    let file = file.trim_start_matches("//");
                    format!("sqlite:{}", root.join(file).display())
                }
                _ => db.url,
            };
            if db.demo.is_some() && !url.starts_with("sqlite:") {
                return Err(setting(format!(
                    "databases.{name}.demo is only possible for a sqlite: database"
                )));
            }
            let demo = db.demo.map(|d| {
                let default = DemoOptions::default();
                DemoOptions {
                    students: d.students.unwrap_or(default.students),
                    seed: d.seed.unwrap_or(default.seed),
                    active_year: raw.active_year.unwrap_or(default.active_year),
                }
            });
            databases.insert(name, DatabaseSettings { url, password, demo });
        }
        let state = match raw.state.as_deref() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                if url_has_password(url) {
                    return Err(setting(
                        "state holds a password: remove it and set state_password = \"env:VARIABLE\"".into(),
                    ));
                }
                let password = raw
                    .state_password
                    .as_deref()
                    .map(|p| SecretRef::parse(p, root))
                    .transpose()
                    .map_err(|e| setting(format!("state_password: {e}")))?;
                StateLocation::Postgres {
                    url: url.to_string(),
                    password,
                }
            }
            Some(other) => StateLocation::Sqlite(root.join(other.strip_prefix("sqlite:").unwrap_or(other))),
            None => StateLocation::Sqlite(root.join(".ferry/state.db")),
        };
        let mut destinations = BTreeMap::new();
        for (name, d) in raw.destinations {
            let d = d.validate(&name, root).map_err(setting)?;
            destinations.insert(name, d);
        }
        let smtp = raw.smtp.map(|m| m.validate(root)).transpose().map_err(setting)?;
        let console = raw.console.map(|c| c.validate(root)).transpose().map_err(setting)?;
        let metrics = match raw.metrics {
            None => None,
            Some(m) => {
                let listen = m.listen.as_deref().unwrap_or(DEFAULT_METRICS_LISTEN);
                Some(listen.parse().map_err(|_| {
                    setting(format!(
                        "metrics.listen '{listen}' is not an address and port like \"127.0.0.1:9464\""
                    ))
                })?)
            }
        };
        Ok(Settings {
            origin: origin.to_string(),
            root: root.to_path_buf(),
            timezone,
            active_year: raw.active_year,
            scripts_dir: path(raw.scripts, "scripts"),
            stdlib_dir: path(raw.stdlib, "stdlib"),
            filters_dir: path(raw.filters, "filters"),
            filter_timeout,
            state,
            work_dir: path(raw.work, ".ferry/work"),
            default_timeout,
            max_concurrent_runs: raw.max_concurrent_runs.unwrap_or(4).max(1),
            shutdown_grace,
            admin_group: raw.admin_group,
            databases,
            destinations,
            keys_dir: path(raw.keys, ".ferry/keys"),
            pgp_keys_dir: path(raw.pgp_keys, ".ferry/pgp"),
            known_hosts: path(raw.known_hosts, ".ferry/known_hosts"),
            keep_days: raw.keep_days.unwrap_or(30),
            keep_delivered: raw.keep_delivered.unwrap_or(true),
            keep_max_bytes: match raw.keep_max_size.as_deref() {
                None => 10_000_000_000,
                Some(t) => parse_size(t)
                    .ok_or_else(|| setting(format!("keep_max_size '{t}' is not a size like \"500MB\" or \"10GB\"")))?,
            },
            smtp,
            console,
            metrics,
        })
    }

    /// The active school year: from the configuration, else the school year
    /// today's date falls in (July 1 starts the next one).
    pub fn active_year(&self) -> i32 {
        self.active_year
            .unwrap_or_else(|| school_year_for(chrono::Utc::now().with_timezone(&self.timezone).date_naive()))
    }
}

/// Where the state store lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateLocation {
    /// A SQLite file (the default; one `ferry serve`).
    Sqlite(PathBuf),
    /// A PostgreSQL database, shared by several instances.
    Postgres {
        /// Connection URL without a password.
        url: String,
        /// The password's secret reference.
        password: Option<SecretRef>,
    },
}

impl std::fmt::Display for StateLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateLocation::Sqlite(p) => write!(f, "{}", p.display()),
            StateLocation::Postgres { url, .. } => write!(f, "{}", redact_url(url)),
        }
    }
}

/// Checks a user or group name: names are typed on command lines and
/// written in script headers, so they are kept to plain characters. The
/// rule lives with the settings because `[console.oidc] groups` names
/// groups too; the people store applies the same rule.
pub fn check_person_name(kind: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{kind} name '{name}' must be 1 to 64 letters, digits, '.', '_', '-' or '@'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_is_valid_and_local() {
        let s = Settings::parse(DEFAULT_CONFIG, "default", Path::new("/x")).unwrap();
        assert!(s.databases["live"].demo.is_some());
        assert!(s.databases["live"].url.starts_with("sqlite:/x/"));
        assert_eq!(s.destinations["out"].path, "/x/out");
        assert_eq!(s.destinations["out"].mode, DeliveryMode::Local);
    }

    #[test]
    fn errors_name_line_and_setting() {
        let e = Settings::parse("timezone = \"UTC\"\nbogus = 1\n", "f.toml", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("f.toml:2: unknown field `bogus`"), "{e}");
        let e = Settings::parse("[databases.live]\nurl = \"oracle://x\"\n", "f.toml", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("f.toml:2: databases.live.url must start with"), "{e}");
        let text = "active_year = 2027\ntimezone = \"Mars/Olympus\"\nshutdown_grace = \"soon\"\n";
        let e = Settings::parse(text, "f.toml", Path::new("/")).unwrap_err().to_string();
        assert!(e.starts_with("f.toml:2: timezone 'Mars/Olympus'"), "{e}");
        let e = Settings::parse(&text.replace("Mars/Olympus", "UTC"), "f.toml", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("f.toml:3: shutdown_grace 'soon'"), "{e}");
        // A missing key is placed at its table.
        let e = Settings::parse("x = 1\n", "f.toml", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("f.toml:1:"), "{e}");
        let e = Settings::parse(
            "timezone = \"UTC\"\n\n[destinations.v]\nmode = \"sftp\"\npath = \"/in\"\n",
            "f.toml",
            Path::new("/"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("f.toml:3: destinations.v.server is missing"), "{e}");
        let e = Settings::parse(
            "[databases.w]\nurl = \"postgres://u:hunter2@h/db\"\n",
            "f.toml",
            Path::new("/"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("holds a password") && !e.contains("hunter2"), "{e}");
    }

    #[test]
    fn the_console_is_off_by_default_and_binds_to_this_host() {
        let s = Settings::parse(DEFAULT_CONFIG, "default", Path::new("/x")).unwrap();
        assert_eq!(s.console, None);
        let s = Settings::parse("[console]\n", "f.toml", Path::new("/x")).unwrap();
        let c = s.console.unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!((c.tls, c.session.as_secs()), (None, 8 * 3600));
        let e = Settings::parse("[console]\ntls_key = \"k.pem\"\n", "f.toml", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("console.tls_certificate and console.tls_key go together"),
            "{e}"
        );
        let e = Settings::parse("[console]\nlisten = \"localhost\"\n", "f.toml", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("console.listen 'localhost'"), "{e}");
        let require = |v: &str| {
            Settings::parse(&format!("[console]\nrequire_totp = {v}\n"), "f.toml", Path::new("/"))
                .map(|s| s.console.unwrap().require_totp)
                .map_err(|e| e.to_string())
        };
        assert_eq!(require("false").unwrap(), TotpRequirement::Nobody);
        assert_eq!(require("true").unwrap(), TotpRequirement::Everyone);
        let admins = require("[\"admins\"]").unwrap();
        assert_eq!(admins, TotpRequirement::Groups(vec!["admins".into()]));
        assert!(admins.applies_to(&["office".into(), "admins".into()]));
        assert!(!admins.applies_to(&["office".into()]));
        for bad in ["\"yes\"", "[1]", "[\"\"]"] {
            let e = require(bad).unwrap_err();
            assert!(
                e.contains("console.require_totp must be true, false or a list of group names"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn secrets_are_references_only() {
        assert!(SecretRef::parse("hunter2", Path::new("/")).is_err());
        let r = SecretRef::parse("env:FERRY_TEST_UNSET_VAR", Path::new("/")).unwrap();
        let e = r.resolve().unwrap_err();
        assert!(e.contains("FERRY_TEST_UNSET_VAR"));
    }

    #[test]
    fn credentials_come_from_the_systemd_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("db_password"), "s3cret-value\n").unwrap();
        let r = SecretRef::parse("cred:db_password", Path::new("/")).unwrap();
        assert_eq!(r.to_string(), "cred:db_password");
        let read = |dir: Option<&Path>| r.read_credential("db_password", dir.map(|d| d.as_os_str().to_owned()));
        assert_eq!(read(Some(dir.path())).unwrap(), "s3cret-value");

        let e = read(None).unwrap_err();
        assert!(e.contains("CREDENTIALS_DIRECTORY is not set"), "{e}");
        assert!(e.contains("LoadCredential=db_password:"), "{e}");
        std::fs::remove_file(dir.path().join("db_password")).unwrap();
        let e = read(Some(dir.path())).unwrap_err();
        assert!(
            e.contains("cred:db_password") && e.contains("db_password: No such file"),
            "{e}"
        );
        assert!(!e.contains("s3cret"), "{e}");

        for bad in ["cred:", "cred:../x", "cred:a/b", "cred:.."] {
            let e = SecretRef::parse(bad, Path::new("/")).unwrap_err();
            assert!(e.contains("credential name"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_missing_credential_names_the_setting() {
        let text = "[databases.sis]\nurl = \"postgres://ferry@db/sis\"\npassword = \"cred:\"\n";
        let e = Settings::parse(text, "f.toml", Path::new("/x"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("databases.sis.password") && e.contains("credential name"),
            "{e}"
        );
    }
}
