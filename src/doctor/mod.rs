//! `ferry doctor`: one pass over a whole installation, so a problem shows up
//! when someone looks, not at 2 a.m. when a roster does not go out.
//!
//! Every check reuses the code a run would use (configuration loading, the
//! state store, database probes, the destinations' test connection, the key
//! store), so a check that passes here means the same step passes in a run.
//! Each problem carries the one thing to do about it.

mod files;

use std::path::Path;

use chrono::Utc;

use crate::app::App;
use crate::config::{SecretRef, Settings};
use crate::deliver::{test_connection, DeliveryEnv, FailureKind};
use crate::script::ScriptsDir;

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Check {
    /// What was checked: `configuration`, `database live`, `key vendor`...
    pub subject: String,
    /// Whether it is in order.
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// What to do, for a problem.
    pub fix: Option<String>,
}

impl Check {
    fn ok(subject: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            subject: subject.into(),
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    fn problem(subject: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            subject: subject.into(),
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// The whole report, in the order the checks ran.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub(crate) struct Report {
    /// Every check, in the order printed.
    pub checks: Vec<Check>,
}

impl Report {
    /// The checks that found a problem.
    pub(crate) fn problems(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.ok)
    }

    fn push(&mut self, check: Check) {
        self.checks.push(check);
    }
}

/// Checks the installation configured by `config` (as `--config` would
/// pick it: `None` is ./ferry.toml or the embedded default).
pub(crate) async fn examine(config: Option<&Path>) -> Report {
    let mut report = Report::default();
    let settings = match Settings::load(config) {
        Ok(s) => s,
        Err(e) => {
            report.push(Check::problem(
                "configuration",
                e.to_string(),
                "correct the file at the place named, then run `ferry doctor` again; \
                 nothing else can be checked until it loads",
            ));
            return report;
        }
    };
    report.push(Check::ok(
        "configuration",
        format!(
            "{} loads: {} database(s), {} destination(s)",
            settings.origin,
            settings.databases.len(),
            settings.destinations.len()
        ),
    ));
    secrets(&settings, &mut report);
    report.push(clock(&settings));
    report.push(files::work_folder(&settings));
    let env = DeliveryEnv::from_settings(&settings);
    files::keys(&settings, &mut report);
    let app = match App::open(settings.clone(), "cli").await {
        Ok(app) => {
            report.push(Check::ok(
                "state store",
                format!("{}: opened, writable, schema current", settings.state),
            ));
            app
        }
        Err(e) => {
            report.push(Check::problem(
                "state store",
                e.to_string(),
                format!(
                    "make {} reachable and writable by the user ferry runs as; scripts, databases and \
                     other instances are not checked until it opens",
                    settings.state
                ),
            ));
            return report;
        }
    };
    instances(&app, &mut report).await;
    scripts(&app, &mut report);
    for name in settings.databases.keys() {
        report.push(database(&app, name).await);
    }
    for d in settings.destinations.values() {
        let subject = format!("destination {}", d.name);
        report.push(match test_connection(d, &env).await {
            Ok(probe) => Check::ok(
                subject,
                format!("{}: wrote and removed {}", d.describe(), probe.test_file),
            ),
            Err(e) => Check::problem(
                subject,
                format!("{}: {}", d.describe(), e.message),
                destination_fix(e.kind, &d.name),
            ),
        });
    }
    report
}

/// Every secret ferry.toml refers to, by the setting that refers to it.
fn secrets(settings: &Settings, report: &mut Report) {
    let mut refs: Vec<(String, &SecretRef)> = Vec::new();
    if let crate::state::StateLocation::Postgres { password: Some(p), .. } = &settings.state {
        refs.push(("state_password".into(), p));
    }
    for (name, db) in &settings.databases {
        if let Some(p) = &db.password {
            refs.push((format!("databases.{name}.password"), p));
        }
    }
    for (name, d) in &settings.destinations {
        if let Some(p) = &d.password {
            refs.push((format!("destinations.{name}.password"), p));
        }
        if let Some(p) = &d.key_passphrase {
            refs.push((format!("destinations.{name}.key_passphrase"), p));
        }
    }
    if let Some(p) = settings.smtp.as_ref().and_then(|s| s.password.as_ref()) {
        refs.push(("smtp.password".into(), p));
    }
    let mut bad = 0;
    for (setting, reference) in &refs {
        if let Err(e) = reference.resolve() {
            bad += 1;
            report.push(Check::problem(
                format!("secret {setting}"),
                e,
                format!("make {reference} available to the user ferry runs as, or change {setting} in ferry.toml"),
            ));
        }
    }
    if bad == 0 {
        report.push(Check::ok(
            "secrets",
            format!("{} reference(s), all readable", refs.len()),
        ));
    }
}

/// The clock and time zones: schedules fire in the configured zone, and
/// history is kept in UTC, so both are shown for a person to compare with
/// a watch. A clock before this release was built is certainly wrong.
fn clock(settings: &Settings) -> Check {
    let now = Utc::now();
    let here = now.with_timezone(&settings.timezone);
    let detail = format!(
        "{} UTC, {} in {} (scripts' default zone)",
        now.format("%Y-%m-%d %H:%M:%S"),
        here.format("%Y-%m-%d %H:%M %Z"),
        settings.timezone
    );
    // 2026-01-01: no ferry release is older, so an earlier clock is wrong.
    if now.timestamp() < 1_767_225_600 {
        return Check::problem(
            "clock",
            detail,
            "set the system clock and keep it synchronised (systemd-timesyncd or chrony); schedules and \
             history depend on it",
        );
    }
    if let Ok(tz) = std::env::var("TZ") {
        let name = tz.trim_start_matches(':');
        if !name.is_empty() && !name.starts_with('/') && name.parse::<chrono_tz::Tz>().is_err() {
            return Check::problem(
                "clock",
                format!("{detail}; the environment's TZ '{tz}' is not a known time zone"),
                "unset TZ or set it to an IANA name such as America/Chicago",
            );
        }
    }
    Check::ok("clock", detail)
}

/// Other `ferry serve` processes using the same state store: several are
/// fine on PostgreSQL, but a SQLite store serves one host's processes.
async fn instances(app: &App, report: &mut Report) {
    let subject = "other instances";
    match app.store.live_servers().await {
        Ok(live) if live.is_empty() => report.push(Check::ok(subject, "no ferry serve is running on this state store")),
        Ok(live) => {
            let hosts: Vec<String> = live.iter().map(|(_, host, _)| host.clone()).collect();
            let sqlite = matches!(app.settings.state, crate::state::StateLocation::Sqlite(_));
            let mut distinct = hosts.clone();
            distinct.dedup();
            let detail = format!("{} ferry serve running (on {})", live.len(), hosts.join(", "));
            if sqlite && distinct.len() > 1 {
                report.push(Check::problem(
                    subject,
                    detail,
                    "a SQLite state store serves one machine: stop the other hosts' services, or move \
                     every instance to a PostgreSQL state store (state = \"postgres://...\")",
                ));
            } else {
                report.push(Check::ok(subject, detail));
            }
        }
        Err(e) => report.push(Check::problem(
            subject,
            e.to_string(),
            "check the state store; `ferry health` reads the same table",
        )),
    }
}

/// Every script in the scripts folder loads as `ferry serve` would load it.
fn scripts(app: &App, report: &mut Report) {
    let paths = ScriptsDir::of(&app.settings).list();
    let mut bad = 0;
    for path in &paths {
        if let Err(e) = app.load(path) {
            bad += 1;
            let name = ScriptsDir::id_of(path).unwrap_or_default();
            report.push(Check::problem(
                format!("script {name}"),
                e.to_string(),
                format!("correct the script at the line named; `ferry check {name}` checks it again"),
            ));
        }
    }
    if bad == 0 {
        report.push(Check::ok(
            "scripts",
            format!(
                "{} script(s) in {} load",
                paths.len(),
                app.settings.scripts_dir.display()
            ),
        ));
    }
}

/// Connects, and asks the server what the account could change: an
/// account that can only read is the safeguard that holds whatever ferry
/// or a script gets wrong.
async fn database(app: &App, name: &str) -> Check {
    let url = &app.settings.databases[name].url;
    let subject = format!("database {name}");
    let probe = match app.databases.get(name).await {
        Ok(source) => source.probe().await,
        Err(e) => Err(e),
    };
    match probe {
        Ok(p) if p.writes.is_empty() => Check::ok(subject, format!("{}: {}, read-only", p.version, p.account)),
        Ok(p) => Check::problem(
            subject,
            format!("{} as {} could write: {}", p.version, p.account, p.writes.join("; ")),
            crate::source::read_only_advice(url),
        ),
        Err(e) => Check::problem(
            subject,
            e.to_string(),
            format!(
                "check databases.{name} in ferry.toml and that the server at {} accepts the login; \
                 `ferry test-connection {name}` tries again",
                crate::source::redact_url(url)
            ),
        ),
    }
}

/// What to do about a destination that failed its test connection.
fn destination_fix(kind: FailureKind, name: &str) -> String {
    match kind {
        FailureKind::Trust => format!(
            "check the fingerprint with the vendor, then `ferry trust {name}` (SFTP) or set \
             destinations.{name}.ca_file or pinned_certificate (FTPS)"
        ),
        FailureKind::Auth => format!(
            "check destinations.{name}.username and its password or key with the vendor; \
             `ferry keys test KEY {name}` tries a key alone"
        ),
        FailureKind::Network | FailureKind::Timeout | FailureKind::Busy => format!(
            "check destinations.{name}.server and port, and that this machine's firewall lets it out; \
             `ferry test-connection {name}` tries again"
        ),
        FailureKind::Permission | FailureKind::NotFound | FailureKind::DiskFull => format!(
            "ask the vendor about destinations.{name}.path: ferry must be able to create and remove files there"
        ),
        FailureKind::Algorithms | FailureKind::Refused | FailureKind::Local => {
            format!("`ferry test-connection {name}` shows the full exchange with the server")
        }
    }
}
