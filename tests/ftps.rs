//! FTPS delivery against the in-process libunftp server: the conformance
//! suite, every way of trusting the certificate, a refused login that leaks
//! nothing, and an upload killed half-way.

use std::sync::Mutex;

use ferry::deliver::{deliver, test_connection, DeliveryEnv, FailureKind};

use crate::harness::conformance::{self, Served};
use crate::harness::ftp_server::{FtpServer, PASSWORD, USER};
use crate::harness::Project;

fn env(dir: &std::path::Path) -> DeliveryEnv {
    DeliveryEnv {
        keys_dir: dir.join("keys"),
        known_hosts: dir.join("known_hosts"),
    }
}

fn pinned(server: &FtpServer) -> String {
    format!("pinned_certificate = 'sha256:{}'", server.certs.fingerprint)
}

#[tokio::test(flavor = "multi_thread")]
async fn explicit_ftps_passes_the_conformance_suite() {
    let server = FtpServer::start();
    std::fs::create_dir_all(server.root.join("in")).unwrap();
    let s = server.destination("ftps-explicit", "/in", &pinned(&server));
    // The test runs as root, so the served folder ignores permissions: no
    // locked-folder case here (the vsftpd suite has it).
    conformance::run(&s, &env(server.dir.path()), &Served { root: &server.root }, None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn test_connection_reports_tls_and_the_certificate() {
    let server = FtpServer::start();
    let s = server.destination("ftps-explicit", "/probe", &pinned(&server));
    let probe = test_connection(&s, &env(server.dir.path())).await.unwrap();
    let fp = format!("sha256:{}", server.certs.fingerprint);
    assert_eq!(probe.info.identity.as_deref(), Some(fp.as_str()));
    assert_eq!(probe.info.auth_method.as_deref(), Some("password"));
    let details: std::collections::HashMap<_, _> = probe.info.details.iter().cloned().collect();
    assert!(details["banner"].contains("ferry test FTPS server"), "{details:?}");
    assert!(details["TLS version"].starts_with("TLS 1."), "{details:?}");
    assert!(details["cipher suite"].starts_with("TLS"), "{details:?}");
    assert!(
        details["certificate subject"].contains("ferry test server"),
        "{details:?}"
    );
    assert!(details["certificate issuer"].contains("ferry test CA"), "{details:?}");
    assert!(details["certificate names"].contains("127.0.0.1"), "{details:?}");
    assert!(!details["certificate valid until"].is_empty(), "{details:?}");
    assert_eq!(details["certificate SHA-256"], fp);
    assert!(probe.test_file.starts_with("/probe/ferry-test-"), "{}", probe.test_file);
    let left: Vec<_> = std::fs::read_dir(server.root.join("probe")).unwrap().collect();
    assert!(left.is_empty(), "the 1-byte test file is removed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ca_file_trusts_the_certificates_it_signed() {
    let server = FtpServer::start();
    let ca = format!("ca_file = '{}'", server.certs.ca.display());
    let s = server.destination("ftps-explicit", "/ca", &ca);
    let local = server.dir.path().join("roster.csv");
    std::fs::write(&local, b"id\r\n1\r\n").unwrap();
    let d = deliver(&s, &env(server.dir.path()), &local, "roster.csv", &|_| {})
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(server.root.join("ca/roster.csv")).unwrap(),
        b"id\r\n1\r\n"
    );
    assert_eq!(d.server_identity, Some(format!("sha256:{}", server.certs.fingerprint)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_pin_is_refused_naming_the_actual_fingerprint() {
    let server = FtpServer::start();
    let wrong = "ab".repeat(32);
    let s = server.destination("ftps-explicit", "/x", &format!("pinned_certificate = '{wrong}'"));
    let local = server.dir.path().join("f.csv");
    std::fs::write(&local, b"x").unwrap();
    let e = deliver(&s, &env(server.dir.path()), &local, "f.csv", &|_| {})
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Trust, "{e}");
    assert_eq!(e.attempts.len(), 1, "a trust failure is not retried: {e}");
    let text = e.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{}", server.port))
            && text.contains(&format!("sha256:{}", server.certs.fingerprint))
            && text.contains(&wrong)
            && text.contains("update pinned_certificate"),
        "{text}"
    );
    assert!(!server.root.join("x").exists(), "nothing was done on the server");
}

#[tokio::test(flavor = "multi_thread")]
async fn system_roots_refuse_a_private_ca_and_say_how_to_trust_it() {
    let server = FtpServer::start();
    let s = server.destination("ftps-explicit", "/x", "");
    let local = server.dir.path().join("f.csv");
    std::fs::write(&local, b"x").unwrap();
    let e = deliver(&s, &env(server.dir.path()), &local, "f.csv", &|_| {})
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Trust, "{e}");
    let text = e.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{}", server.port))
            && text.contains("not signed by a known certificate authority")
            && text.contains("ca_file")
            && text.contains(&format!("pinned_certificate = \"sha256:{}\"", server.certs.fingerprint))
            && text.contains("ask the vendor"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn implicit_mode_on_an_explicit_port_suggests_the_other_mode() {
    let server = FtpServer::start();
    let s = server.destination("ftps-implicit", "/x", &pinned(&server));
    let local = server.dir.path().join("f.csv");
    std::fs::write(&local, b"x").unwrap();
    let e = deliver(&s, &env(server.dir.path()), &local, "f.csv", &|_| {})
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("TLS handshake") && e.to_string().contains("mode = \"ftps-explicit\""),
        "{e}"
    );
    assert_eq!(e.attempts.len(), 1, "{e}");
}

#[test]
fn a_wrong_password_is_an_auth_error_and_no_output_or_history_holds_a_password() {
    let server = FtpServer::start();
    let p = Project::new();
    let wrong = "Wr0ng-Horse-Battery-9";
    p.config(&format!(
        "timezone = \"America/Chicago\"\n[databases.live]\nurl = \"sqlite:fixture.db\"\n\
         [destinations.vendor]\nmode = \"ftps-explicit\"\nserver = \"127.0.0.1\"\nport = {}\npath = \"/in\"\n\
         username = \"{USER}\"\npassword = \"env:FERRY_TEST_WRONG_FTPS\"\npinned_certificate = \"{}\"\n\
         attempts = 3\nretry_delay = \"1s\"\n",
        server.port, server.certs.fingerprint
    ));
    p.sqlite("CREATE TABLE people (id INTEGER, name TEXT); INSERT INTO people VALUES (1, 'Ann');");
    p.script(
        "up",
        "let f = csv(query(\"live\", \"SELECT id, name FROM people\"), #{ name: \"people\" });\ndeliver(f, \"vendor\");\n",
    );
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(args)
            .current_dir(p.dir.path())
            .env_remove("FERRY_CONFIG")
            .env("FERRY_TEST_WRONG_FTPS", wrong)
            // Everything every crate logs, suppaftp's command trace included.
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&["run", "up"]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let refused = format!("login as {USER} at 127.0.0.1:{} refused (530", server.port);
    assert!(
        stdout.contains(&refused) && stdout.contains("check username and password"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("Signin in with user"),
        "suppaftp's log is on, yet no password in it: {stderr}"
    );
    let (_, history, _) = run(&["history", "--run", "1"]);
    assert!(history.contains(&refused), "{history}");
    assert!(
        !history.contains("attempt 2"),
        "a refused login is not retried: {history}"
    );
    for text in [&stdout, &stderr, &history] {
        assert!(
            !text.contains(wrong) && !text.contains(PASSWORD),
            "a password leaked:\n{text}"
        );
    }
    // Nor in anything ferry stored: the state database, logs and kept files.
    p.assert_not_stored(".ferry", wrong);
    assert!(!server.root.join("in/people.csv").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_killed_half_way_leaves_nothing_under_the_name_and_the_retry_delivers_it_whole() {
    let mut server = FtpServer::start();
    std::fs::create_dir_all(server.root.join("in")).unwrap();
    let mut s = server.destination("ftps-explicit", "/in", &pinned(&server));
    s.retry.attempts = 2;
    let big: Vec<u8> = (0..2_000_000u32).flat_map(u32::to_le_bytes).collect();
    let local = server.dir.path().join("big.csv");
    std::fs::write(&local, &big).unwrap();

    server.stall_next_upload(1_000_000);
    let seen_after_failure = std::sync::Arc::new(Mutex::new(None));
    let delivery = {
        let (s, local, root, seen) = (
            s.clone(),
            local.clone(),
            server.root.clone(),
            seen_after_failure.clone(),
        );
        let dir = server.dir.path().to_path_buf();
        tokio::spawn(async move {
            let log = move |line: String| {
                // Between the attempts: what the vendor could see right now.
                let final_there = root.join("in/big.csv").exists();
                *seen.lock().unwrap() = Some((line, final_there));
            };
            deliver(&s, &env(&dir), &local, "big.csv", &log).await
        })
    };
    server.wait_for_stall().await;
    // Kill it mid-upload (every connection goes), and bring it back for the retry.
    server.restart();
    let d = delivery.await.unwrap().unwrap();

    assert_eq!(d.attempts.len(), 2, "{:?}", d.attempts);
    let (line, final_there) = seen_after_failure.lock().unwrap().clone().expect("attempt 1 failed");
    assert!(!final_there, "a half upload appeared under the final name");
    assert!(
        line.contains("attempt 1 of 2 failed") && line.contains("127.0.0.1"),
        "{line}"
    );
    assert!(d.attempts[0].error.is_some());
    assert_eq!(std::fs::read(&local).unwrap(), big, "the local file is kept as it was");
    assert_eq!(
        std::fs::read(server.root.join("in/big.csv")).unwrap(),
        big,
        "delivered whole"
    );
    let names: Vec<_> = std::fs::read_dir(server.root.join("in"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["big.csv"], "the first attempt's temporary is cleaned up");
}

#[test]
fn insecure_skip_verify_delivers_but_warns_naming_the_destination() {
    let server = FtpServer::start();
    let p = Project::new();
    p.config(&format!(
        "timezone = \"America/Chicago\"\n[databases.live]\nurl = \"sqlite:fixture.db\"\n\
         [destinations.vendor]\nmode = \"ftps-explicit\"\nserver = \"127.0.0.1\"\nport = {}\npath = \"/in\"\n\
         username = \"{USER}\"\npassword = \"env:FERRY_TEST_INSECURE_FTPS\"\ninsecure_skip_verify = true\n",
        server.port
    ));
    p.sqlite("CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (1);");
    p.script(
        "up",
        "deliver(csv(query(\"live\", \"SELECT x FROM one\"), #{ name: \"one\" }), \"vendor\");\n",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["run", "up"])
        .current_dir(p.dir.path())
        .env_remove("FERRY_CONFIG")
        .env_remove("RUST_LOG")
        .env("FERRY_TEST_INSECURE_FTPS", PASSWORD)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{}\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains("WARN")
            && stderr.contains("insecure_skip_verify is set for destination 'vendor'")
            && stderr.contains(&format!("127.0.0.1:{}", server.port)),
        "{stderr}"
    );
    assert!(!stderr.contains(PASSWORD));
    assert_eq!(std::fs::read(server.root.join("in/one.csv")).unwrap(), b"x\r\n1\r\n");
}
