//! `ferry doctor` run as a person would: the demo installation is all OK;
//! a broken destination, an unreadable key and a database account that can
//! write are reported, those three and no more, each with its fix.
//! In the server suite: the write-capable account is PostgreSQL's
//! `postgres` superuser on 127.0.0.1.

use std::os::unix::fs::PermissionsExt;

use crate::harness::{free_port, Project};
use crate::PG_URL;

#[derive(serde::Deserialize, Debug)]
struct Check {
    subject: String,
    ok: bool,
    detail: String,
    fix: Option<String>,
}

#[derive(serde::Deserialize, Debug)]
struct Report {
    checks: Vec<Check>,
}

/// The demo as a new user has it: the embedded default configuration
/// and the repository's scripts.
fn demo() -> Project {
    let p = Project::from_repo();
    p.config(ferry::config::DEFAULT_CONFIG);
    p
}

fn report(p: &Project) -> (i32, Report) {
    let out = p.ferry(&["doctor", "--json"]);
    let report: Report = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor --json is not JSON ({e}):\n{}\n{}", out.stdout, out.stderr));
    (out.code, report)
}

#[test]
fn the_demo_is_all_ok() {
    let p = demo();
    let out = p.ferry(&["doctor"]);
    let text = out.ok();
    for subject in [
        "configuration",
        "secrets",
        "clock",
        "work folder",
        "state store",
        "other instances",
        "scripts",
        "database live",
        "destination out",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("ok ") && l[9..].starts_with(subject)),
            "no OK line for {subject}:\n{text}"
        );
    }
    assert!(!text.contains("PROBLEM"), "{text}");
    assert!(text.contains("4 script(s)"), "{text}");
    assert!(text.contains("read-only"), "{text}");
    let (code, r) = report(&p);
    assert_eq!(code, 0);
    assert!(r.checks.iter().all(|c| c.ok && c.fix.is_none()), "{r:?}");
}

#[test]
fn a_broken_destination_an_unreadable_key_and_a_writing_account_are_the_three_problems() {
    let p = demo();
    p.ferry(&["keys", "generate", "vendor"]).ok();
    // Half a key: what a bad copy between machines leaves.
    let key = p.path(".ferry/keys/vendor");
    let text = std::fs::read_to_string(&key).unwrap();
    std::fs::write(&key, &text[..text.len() / 2]).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(p.path("vendor.pw"), "not-a-real-password\n").unwrap();
    // Nothing listens on this port: the connection is refused.
    let port = free_port();
    p.config(&format!(
        "{}\n[databases.pg]\nurl = \"{PG_URL}\"\n\n\
         [destinations.vendor]\nmode = \"sftp\"\nserver = \"127.0.0.1\"\nport = {port}\npath = \"/in/\"\n\
         username = \"district\"\npassword = \"file:vendor.pw\"\ntimeout = \"10s\"\n",
        ferry::config::DEFAULT_CONFIG
    ));

    let out = p.ferry(&["doctor"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("3 problem(s)"), "{}", out.stdout);
    assert!(!out.stdout.contains("not-a-real-password"), "{}", out.stdout);

    let (code, r) = report(&p);
    assert_eq!(code, 1);
    let problems: Vec<&Check> = r.checks.iter().filter(|c| !c.ok).collect();
    let subjects: Vec<&str> = problems.iter().map(|c| c.subject.as_str()).collect();
    assert_eq!(subjects, ["key vendor", "database pg", "destination vendor"], "{r:?}");
    let fix = |i: usize| problems[i].fix.as_deref().unwrap();

    assert!(
        problems[0].detail.contains("cannot be read as a key"),
        "{:?}",
        problems[0]
    );
    assert!(fix(0).contains("ferry keys generate vendor"), "{}", fix(0));

    assert!(problems[1].detail.contains("could write"), "{:?}", problems[1]);
    assert!(fix(1).contains("GRANT pg_read_all_data TO ferry"), "{}", fix(1));

    assert!(
        problems[2].detail.contains(&format!("127.0.0.1:{port}")),
        "{:?}",
        problems[2]
    );
    assert!(fix(2).contains("destinations.vendor.server"), "{}", fix(2));

    // Everything else still checked, and in order.
    for ok in [
        "configuration",
        "secrets",
        "state store",
        "scripts",
        "database live",
        "destination out",
    ] {
        assert!(r.checks.iter().any(|c| c.ok && c.subject == ok), "{ok} missing: {r:?}");
    }
}

#[test]
fn a_key_others_can_read_and_a_script_that_does_not_load_are_problems() {
    let p = demo();
    p.ferry(&["keys", "generate", "vendor"]).ok();
    let key = p.path(".ferry/keys/vendor");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    p.script(
        "broken",
        "//! name = \"broken\"\n//! schedule = \"daily at 06:00\"\nlet x = ;\n",
    );

    let (code, r) = report(&p);
    assert_eq!(code, 1);
    let problems: Vec<&Check> = r.checks.iter().filter(|c| !c.ok).collect();
    assert_eq!(problems.len(), 2, "{r:?}");
    assert_eq!(problems[0].subject, "key vendor");
    assert!(problems[0].detail.contains("0644"), "{:?}", problems[0]);
    assert_eq!(
        problems[0].fix.as_deref(),
        Some(format!("chmod 600 {}", key.display()).as_str())
    );
    assert_eq!(problems[1].subject, "script broken");
    assert!(problems[1].detail.contains("broken.rhai"), "{:?}", problems[1]);
    assert!(problems[1].fix.as_deref().unwrap().contains("ferry check broken"));
}

#[test]
fn a_configuration_that_does_not_load_is_the_one_problem() {
    let p = demo();
    p.config("timezone = \"Mars/Olympus\"\n");
    let (code, r) = report(&p);
    assert_eq!(code, 1);
    assert_eq!(r.checks.len(), 1, "{r:?}");
    assert_eq!(r.checks[0].subject, "configuration");
    assert!(r.checks[0].detail.contains("ferry.toml:1"), "{:?}", r.checks[0]);
}

/// A `cred:` secret as systemd hands it to the service: readable with
/// `CREDENTIALS_DIRECTORY` set, a problem naming the setting and the
/// `LoadCredential=` line without it. The value never appears.
#[test]
fn a_credential_is_read_from_the_service_credentials_folder() {
    let p = demo();
    p.config(&format!(
        "{}\n[smtp]\nhost = \"smtp.district.org\"\nfrom = \"ferry <ferry@district.org>\"\n\
         username = \"ferry\"\npassword = \"cred:smtp_password\"\n",
        ferry::config::DEFAULT_CONFIG
    ));
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join("smtp_password"), "cred-value-7781\n").unwrap();
    let doctor = |creds: Option<&std::path::Path>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"));
        cmd.args(["doctor", "--json"])
            .current_dir(p.dir.path())
            .env_remove("FERRY_CONFIG")
            .env_remove("CREDENTIALS_DIRECTORY");
        if let Some(dir) = creds {
            cmd.env("CREDENTIALS_DIRECTORY", dir);
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(!text.contains("cred-value-7781"), "{text}");
        let r: Report = serde_json::from_str(&text).unwrap();
        (out.status.code(), r)
    };

    let (code, r) = doctor(Some(creds.path()));
    assert_eq!(code, Some(0), "{r:?}");
    let secrets = r.checks.iter().find(|c| c.subject == "secrets").unwrap();
    assert!(secrets.detail.starts_with("1 reference(s)"), "{secrets:?}");

    let (code, r) = doctor(None);
    assert_eq!(code, Some(1));
    let problems: Vec<&Check> = r.checks.iter().filter(|c| !c.ok).collect();
    assert_eq!(problems.len(), 1, "{r:?}");
    assert_eq!(problems[0].subject, "secret smtp.password");
    assert!(
        problems[0].detail.contains("CREDENTIALS_DIRECTORY is not set"),
        "{:?}",
        problems[0]
    );
    assert!(
        problems[0].detail.contains("LoadCredential=smtp_password:"),
        "{:?}",
        problems[0]
    );
}
