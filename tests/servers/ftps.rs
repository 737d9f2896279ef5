//! FTPS against real vsftpd servers, explicit (AUTH TLS) and implicit, with
//! vsftpd's default `require_ssl_reuse=YES`: the conformance suite with a
//! really locked folder, extracts read back byte for byte with curl, the
//! certificate pin, and a refused login that leaks no password.

use std::process::Command;

use ferry::deliver::{test_connection, DeliveryEnv, FailureKind};

use crate::harness::conformance::{self, Served};
use crate::harness::vsftpd::{Vsftpd, FTP_PASSWORD, FTP_USER};
use crate::harness::Project;

fn env(dir: &std::path::Path) -> DeliveryEnv {
    DeliveryEnv {
        keys_dir: dir.join("keys"),
        known_hosts: dir.join("known_hosts"),
    }
}

async fn conformance_on(implicit: bool) {
    let server = Vsftpd::start(implicit);
    let s = server.destination(&server.writable);
    // vsftpd serves the real file system: remote paths are local paths.
    conformance::run(
        &s,
        &env(server.dir.path()),
        &Served {
            root: std::path::Path::new("/"),
        },
        Some(&server.locked.display().to_string()),
    )
    .await;
    let log = server.log();
    assert!(!log.contains(FTP_PASSWORD), "vsftpd's log holds the password");
}

#[tokio::test(flavor = "multi_thread")]
async fn vsftpd_explicit_passes_the_conformance_suite() {
    conformance_on(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn vsftpd_implicit_passes_the_conformance_suite() {
    conformance_on(true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn test_connection_on_vsftpd_shows_the_banner_tls_and_pinned_certificate() {
    for implicit in [false, true] {
        let server = Vsftpd::start(implicit);
        let s = server.destination(&server.writable);
        let probe = test_connection(&s, &env(server.dir.path()))
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
        let fp = format!("sha256:{}", server.fingerprint);
        assert_eq!(probe.info.identity.as_deref(), Some(fp.as_str()));
        let details: std::collections::HashMap<_, _> = probe.info.details.iter().cloned().collect();
        assert!(details["banner"].contains("vsFTPd"), "{details:?}");
        assert!(details["TLS version"].starts_with("TLS 1."), "{details:?}");
        assert!(details["certificate subject"].contains("localhost"), "{details:?}");
        assert_eq!(probe.info.auth_method.as_deref(), Some("password"));
    }
}

/// Delivers a real extract through the ferry binary (trace logging on) to
/// the server and to a local folder, then reads the server's copy back with
/// curl and compares the bytes.
fn extract_reads_back_with_curl(implicit: bool) {
    let server = Vsftpd::start(implicit);
    let p = Project::new();
    p.config(&format!(
        "timezone = \"America/Chicago\"\n[databases.live]\nurl = \"sqlite:fixture.db\"\n\
         [destinations.out]\nmode = \"local\"\npath = \"out\"\n[destinations.vendor]\n{}",
        server.toml(&server.writable.join("district 7"), "FERRY_TEST_VSFTPD_PW")
    ));
    p.sqlite(
        "CREATE TABLE people (id INTEGER, name TEXT, note TEXT);\
         INSERT INTO people VALUES (1, 'Zoë O''Brien', 'line one\nline two'), (2, 'Ñandú, Jr.', 'tab\there');",
    );
    p.script(
        "roster",
        "let f = csv(query(\"live\", \"SELECT id, name, note FROM people ORDER BY id\"), #{ name: \"roster\" });\n\
         deliver(f, \"out\");\ndeliver(f, \"vendor\");\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["run", "roster"])
        .current_dir(p.dir.path())
        .env_remove("FERRY_CONFIG")
        .env("FERRY_TEST_VSFTPD_PW", FTP_PASSWORD)
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}\n{}", server.log());
    for text in [&stdout, &stderr] {
        assert!(!text.contains(FTP_PASSWORD), "the password leaked:\n{text}");
    }
    let local = std::fs::read(p.path("out/roster.csv")).unwrap();
    assert!(String::from_utf8_lossy(&local).contains("Zoë O'Brien"));
    let remote = server.writable.join("district 7/roster.csv");
    assert_eq!(server.curl_get(&remote), local, "curl reads back exactly the extract");
    let history = p.ferry(&["history", "--run", "1"]);
    assert!(!history.stdout.contains(FTP_PASSWORD), "{}", history.stdout);
    let recorded = crate::harness::sqlite_column(
        &p.path(".ferry/state.db"),
        "SELECT server_identity || ' ' || auth_method FROM run_files WHERE destination = 'vendor'",
    );
    assert_eq!(
        recorded,
        [format!("sha256:{} password", server.fingerprint)],
        "the certificate and login method are recorded with the delivery"
    );
}

#[test]
fn an_extract_delivered_by_explicit_ftps_reads_back_with_curl() {
    extract_reads_back_with_curl(false);
}

#[test]
fn an_extract_delivered_by_implicit_ftps_reads_back_with_curl() {
    extract_reads_back_with_curl(true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_pin_on_vsftpd_is_a_trust_error() {
    let server = Vsftpd::start(false);
    let mut s = server.destination(&server.writable);
    s.tls = ferry::config::TlsTrust::Pinned("0".repeat(64));
    let local = server.dir.path().join("x.csv");
    std::fs::write(&local, b"x").unwrap();
    let e = ferry::deliver::deliver(&s, &env(server.dir.path()), &local, "x.csv", &|_| {})
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Trust, "{e}");
    assert!(e.to_string().contains(&format!("sha256:{}", server.fingerprint)), "{e}");
    assert!(!server.writable.join("x.csv").exists());
}

#[test]
fn a_wrong_password_on_vsftpd_says_so_and_leaks_nothing() {
    for implicit in [false, true] {
        let server = Vsftpd::start(implicit);
        let p = Project::new();
        let wrong = "Not-The-Vsftpd-Pw-77";
        p.config(&format!(
            "timezone = \"America/Chicago\"\n[databases.live]\nurl = \"sqlite:fixture.db\"\n[destinations.vendor]\n{}",
            server.toml(&server.writable, "FERRY_TEST_VSFTPD_WRONG")
        ));
        p.sqlite("CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (1);");
        p.script(
            "up",
            "deliver(csv(query(\"live\", \"SELECT x FROM one\"), #{ name: \"up\" }), \"vendor\");\n",
        );
        let out = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(["run", "up"])
            .current_dir(p.dir.path())
            .env_remove("FERRY_CONFIG")
            .env("FERRY_TEST_VSFTPD_WRONG", wrong)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
        let refused = format!(
            "login as {FTP_USER} at 127.0.0.1:{} refused (530 Login incorrect.); check username and password",
            server.port
        );
        assert!(stdout.contains(&refused), "{stdout}\n{stderr}");
        let history = p.ferry(&["history", "--run", "1"]).stdout;
        assert!(history.contains(&refused), "{history}");
        for text in [&stdout, &stderr, &history, &server.log()] {
            assert!(
                !text.contains(wrong) && !text.contains(FTP_PASSWORD),
                "a password leaked:\n{text}"
            );
        }
        p.assert_not_stored(".ferry", wrong);
    }
}

#[test]
fn a_stale_temporary_of_another_file_is_swept_at_the_next_ftps_delivery() {
    let server = Vsftpd::start(false);
    let p = Project::new();
    let folder = server.writable.join("sweep");
    p.config(&format!(
        "timezone = \"America/Chicago\"\n[databases.live]\nurl = \"sqlite:fixture.db\"\n[destinations.vendor]\n{}",
        server.toml(&folder, "FERRY_TEST_VSFTPD_PW")
    ));
    crate::sweep::script(&p);
    crate::sweep::plant(&folder);
    crate::sweep::run_and_check(&p, &folder, &[("FERRY_TEST_VSFTPD_PW", FTP_PASSWORD)], || server.log());
}
