//! SFTP delivery against the in-process server (tests/harness/sftp_server.rs):
//! the conformance suite, every login method, trust, keys, negotiation and an
//! upload cut off half-way. The same paths run against real OpenSSH servers
//! in tests/servers/sftp.rs.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use ferry::config::{DestinationSettings, RawDestination};
use ferry::deliver::{deliver, test_connection, DeliveryEnv, FailureKind};
use ferry::keys::{KeyError, KeyKind, KeyStore};
use ferry::state::Trigger;

use crate::harness::conformance::{self, Served};
use crate::harness::sftp_server::{Options, SftpServer};
use crate::harness::Project;

const USER: &str = "district42";

fn env(dir: &Path) -> DeliveryEnv {
    DeliveryEnv {
        keys_dir: dir.join("keys"),
        known_hosts: dir.join("ssh/known_hosts"),
    }
}

/// A destination for `server`; `extra` adds TOML lines (password, key...).
fn settings(server: &SftpServer, mode: &str, extra: &str) -> DestinationSettings {
    std::fs::create_dir_all(server.path("/in")).unwrap();
    let raw: RawDestination = toml::from_str(&format!(
        "mode = '{mode}'\nserver = '127.0.0.1'\nport = {}\npath = '/in'\nusername = '{USER}'\ntimeout = '20s'\n{extra}",
        server.port
    ))
    .unwrap();
    raw.validate("vendor", Path::new("/")).unwrap()
}

/// A password in a variable of its own (tests run in parallel).
fn password_var(var: &str, value: &str) -> String {
    std::env::set_var(var, value);
    format!("password = 'env:{var}'")
}

fn src(dir: &Path, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join("extract.csv");
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The conformance suite against an in-process server started with `options`.
async fn conformance_over(options: Options, var: &str, password: &str) {
    let server = SftpServer::start(options);
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    server.trust(&env.known_hosts);
    let s = settings(&server, "sftp", &password_var(var, password));
    let served = Served {
        root: server.root.path(),
    };
    conformance::run(&s, &env, &served, None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_conformance_suite_passes_over_sftp() {
    conformance_over(
        Options::password(USER, "s3cret-conf"),
        "FERRY_T_SFTP_CONF",
        "s3cret-conf",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_posix_rename_the_plain_rename_and_replace_path_passes_too() {
    let mut options = Options::password(USER, "s3cret-plain");
    options.extensions = false;
    conformance_over(options, "FERRY_T_SFTP_PLAIN", "s3cret-plain").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_login_method_works_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    let store = KeyStore::open(&env.keys_dir);
    store.generate("vendor", KeyKind::Ed25519, None).unwrap();
    store.generate("other", KeyKind::Ed25519, None).unwrap();
    let vendor_key = store.load("vendor", None).unwrap().public_key().clone();
    let file = src(dir.path(), b"id\r\n1\r\n");
    let pw = password_var("FERRY_T_SFTP_METHODS", "s3cret-methods");

    // (server accepts the key?, password?, keyboard-interactive only?, destination lines, method expected)
    let cases = [
        (true, false, false, "key = 'vendor'".to_string(), "publickey"),
        (false, true, false, pw.clone(), "password"),
        (false, true, false, format!("key = 'other'\n{pw}"), "password"),
        (false, true, true, pw.clone(), "keyboard-interactive"),
        (
            false,
            true,
            true,
            format!("key = 'other'\n{pw}"),
            "keyboard-interactive",
        ),
    ];
    for (accepts_key, password, kbd_only, extra, expected) in cases {
        let mut options = Options::password(USER, "s3cret-methods");
        if accepts_key {
            options.logins.keys.push(vendor_key.clone());
        }
        if !password {
            options.logins.password = None;
        }
        options.logins.keyboard_interactive_only = kbd_only;
        let server = SftpServer::start(options);
        server.trust(&env.known_hosts);
        let s = settings(&server, "sftp", &extra);
        let d = deliver(&s, &env, &file, "roster.csv", &|_| {})
            .await
            .unwrap_or_else(|e| panic!("{extra}: {e}"));
        assert_eq!(d.auth_method.as_deref(), Some(expected), "{extra}");
        assert_eq!(server.successes(), [expected], "{extra}");
        assert_eq!(std::fs::read(server.path("/in/roster.csv")).unwrap(), b"id\r\n1\r\n");
        let fp = ferry::keys::fingerprint(server.host_key());
        assert_eq!(d.server_identity.as_deref(), Some(fp.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn test_connection_reports_what_the_server_offered() {
    let server = SftpServer::start(Options::password(USER, "s3cret-probe"));
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    server.trust(&env.known_hosts);
    let s = settings(&server, "sftp", &password_var("FERRY_T_SFTP_PROBE", "s3cret-probe"));
    let probe = test_connection(&s, &env).await.unwrap();
    let details: std::collections::HashMap<_, _> = probe.info.details.iter().cloned().collect();
    assert!(details["server banner"].starts_with("SSH-2.0-"), "{details:?}");
    for label in [
        "key exchange offered by ferry",
        "key exchange offered by the server",
        "host-key algorithms offered by the server",
        "ciphers offered by the server",
        "MACs offered by the server",
    ] {
        assert!(
            !details[label].is_empty() && details[label] != "(not seen)",
            "{label}: {details:?}"
        );
        assert!(
            !details[label].contains("ext-info") && !details[label].contains("kex-strict"),
            "{label}"
        );
    }
    assert!(
        details["key exchange offered by the server"].contains(&details["key exchange chosen"]),
        "{details:?}"
    );
    assert_eq!(details["host-key algorithm chosen"], "ssh-ed25519");
    assert!(
        details["SFTP extensions"].contains("posix-rename@openssh.com"),
        "{details:?}"
    );
    assert_eq!(probe.info.auth_method.as_deref(), Some("password"));
    assert!(probe.info.identity.as_deref().unwrap().starts_with("SHA256:"));
    assert!(
        std::fs::read_dir(server.path("/in")).unwrap().next().is_none(),
        "the test file is removed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_names_the_methods_and_the_password_appears_nowhere() {
    const SECRET: &str = "Wr0ng-Pa55-7q";
    let server = SftpServer::start(Options::password(USER, "the-right-one"));
    let p = Project::new();
    std::env::set_var("FERRY_T_SFTP_WRONG", SECRET);
    p.config(&format!(
        "timezone = \"America/Chicago\"\nactive_year = 2027\n\
         [databases.live]\nurl = \"sqlite:fixture.db\"\n\
         [destinations.vendor]\nmode = \"sftp\"\nserver = \"127.0.0.1\"\nport = {}\npath = \"/in\"\n\
         username = \"{USER}\"\npassword = \"env:FERRY_T_SFTP_WRONG\"\nkey = \"vendor\"\nattempts = 3\nretry_delay = \"10ms\"\n",
        server.port
    ));
    p.sqlite("CREATE TABLE people (id INTEGER); INSERT INTO people VALUES (1);");
    p.script(
        "roster",
        "let f = csv(query(\"live\", \"SELECT id FROM people\"), #{ name: \"roster\" });\ndeliver(f, \"vendor\");\n",
    );
    let settings = p.settings();
    KeyStore::open(&settings.keys_dir)
        .generate("vendor", KeyKind::Ed25519, None)
        .unwrap();
    server.trust(&settings.known_hosts);

    let report = p.run("roster", Trigger::Manual, &[]).await;
    let error = report.error.clone().expect("the run fails");
    assert!(
        error.contains(&format!(
            "authentication as {USER} at 127.0.0.1:{} failed (tried: publickey with key 'vendor', password, keyboard-interactive)",
            server.port
        )),
        "{error}"
    );
    assert!(error.contains("ferry keys show vendor"), "{error}");
    assert_eq!(server.successes(), Vec::<String>::new());

    // Not retried: a refused login does not get better by asking again.
    let d = deliver(
        &p.settings().destinations["vendor"],
        &DeliveryEnv::from_settings(&p.settings()),
        &src(p.dir.path(), b"x"),
        "x.csv",
        &|_| {},
    )
    .await
    .unwrap_err();
    assert_eq!(d.kind, FailureKind::Auth);
    assert_eq!(d.attempts.len(), 1);

    // Nowhere: not in the error, the run log, the CLI's history, or any file
    // ferry wrote (the state database included).
    let mut seen = vec![error, d.to_string(), format!("{:?}", report.log)];
    seen.push(format!("{:?}", report.deliveries));
    let history = p.ferry(&["history"]);
    seen.push(format!("{}{}", history.stdout, history.stderr));
    let one = p.ferry(&["history", "--run", &report.id.to_string()]);
    assert!(one.stdout.contains("authentication as"), "{}{}", one.stdout, one.stderr);
    seen.push(format!("{}{}", one.stdout, one.stderr));
    for text in &seen {
        assert!(!text.contains(SECRET), "the password leaked: {text}");
    }
    p.assert_not_stored(".", SECRET);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_host_is_refused_until_trusted_with_ferry_trust() {
    let server = SftpServer::start(Options::password(USER, "s3cret-trust"));
    let p = Project::new();
    std::env::set_var("FERRY_T_SFTP_TRUST", "s3cret-trust");
    p.config(&format!(
        "[destinations.vendor]\nmode = \"sftp\"\nserver = \"127.0.0.1\"\nport = {}\npath = \"/in\"\n\
         username = \"{USER}\"\npassword = \"env:FERRY_T_SFTP_TRUST\"\nattempts = 1\n",
        server.port
    ));
    let settings = p.settings();
    let env = DeliveryEnv::from_settings(&settings);
    let dest = &settings.destinations["vendor"];
    let fp = ferry::keys::fingerprint(server.host_key());
    let file = src(p.dir.path(), b"a,b\r\n");

    let e = deliver(dest, &env, &file, "r.csv", &|_| {}).await.unwrap_err();
    assert_eq!(e.kind, FailureKind::Trust, "{e}");
    assert!(e.message.contains(&fp), "{e}");
    assert!(e.message.contains("ferry trust vendor"), "{e}");
    assert!(!server.path("/in/r.csv").exists());
    assert_eq!(
        server.successes(),
        Vec::<String>::new(),
        "no login to an untrusted host"
    );

    // --fingerprint that does not match: refused, nothing written.
    let wrong = p.ferry(&[
        "trust",
        "vendor",
        "--fingerprint",
        "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ]);
    assert_ne!(wrong.code, 0);
    assert!(wrong.stderr.contains("not the fingerprint"), "{}", wrong.stderr);
    assert!(!env.known_hosts.exists());

    let ok = p.ferry(&["trust", "vendor", "--fingerprint", &fp]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(ok.stdout.contains(&format!("ssh-ed25519 {fp}")), "{}", ok.stdout);
    let again = p.ferry(&["trust", "vendor"]);
    assert_eq!(again.code, 0);
    assert!(again.stdout.contains("already trusted"), "{}", again.stdout);
    assert_eq!(std::fs::read_to_string(&env.known_hosts).unwrap().lines().count(), 1);

    let d = deliver(dest, &env, &file, "r.csv", &|_| {}).await.unwrap();
    assert_eq!(d.server_identity.as_deref(), Some(fp.as_str()));
    assert_eq!(std::fs::read(server.path("/in/r.csv")).unwrap(), b"a,b\r\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_host_key_is_refused_loudly() {
    let server = SftpServer::start(Options::password(USER, "s3cret-changed"));
    let p = Project::new();
    std::env::set_var("FERRY_T_SFTP_CHANGED", "s3cret-changed");
    p.config(&format!(
        "[destinations.vendor]\nmode = \"sftp\"\nserver = \"127.0.0.1\"\nport = {}\npath = \"/in\"\n\
         username = \"{USER}\"\npassword = \"env:FERRY_T_SFTP_CHANGED\"\nattempts = 1\n",
        server.port
    ));
    let settings = p.settings();
    let env = DeliveryEnv::from_settings(&settings);
    // Another ed25519 key recorded for this host:port, on line 2.
    let old =
        russh::keys::PrivateKey::random(&mut russh::keys::key::safe_rng(), russh::keys::Algorithm::Ed25519).unwrap();
    std::fs::create_dir_all(env.known_hosts.parent().unwrap()).unwrap();
    std::fs::write(
        &env.known_hosts,
        format!(
            "# vendor's server\n[127.0.0.1]:{} {}\n",
            server.port,
            old.public_key().to_openssh().unwrap()
        ),
    )
    .unwrap();
    let file = src(p.dir.path(), b"x");
    let e = deliver(&settings.destinations["vendor"], &env, &file, "r.csv", &|_| {})
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Trust);
    assert_eq!(e.attempts.len(), 1);
    assert!(
        e.message
            .contains(&format!("THE HOST KEY OF 127.0.0.1:{} HAS CHANGED", server.port)),
        "{e}"
    );
    assert!(e.message.contains("known_hosts line 2"), "{e}");
    assert!(
        e.message.contains("remove that line and run `ferry trust vendor`"),
        "{e}"
    );
    assert!(e.message.contains(&ferry::keys::fingerprint(server.host_key())), "{e}");
    assert_eq!(server.successes(), Vec::<String>::new());

    let t = p.ferry(&["trust", "vendor"]);
    assert_ne!(t.code, 0, "trust must not overwrite a different key");
    assert!(
        t.stderr.contains("HAS CHANGED") && t.stderr.contains("line 2"),
        "{}",
        t.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn modern_mode_names_both_sides_against_a_sha1_only_server_and_legacy_connects() {
    let mut options = Options::password(USER, "s3cret-legacy");
    options.sha1_only = true;
    let server = SftpServer::start(options);
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    server.trust(&env.known_hosts);
    let pw = password_var("FERRY_T_SFTP_LEGACY", "s3cret-legacy");
    let file = src(dir.path(), b"legacy\r\n");

    let e = deliver(&settings(&server, "sftp", &pw), &env, &file, "l.csv", &|_| {})
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Algorithms, "{e}");
    let at = format!("127.0.0.1:{}", server.port);
    assert!(
        e.message.starts_with(&format!(
            "Unable to negotiate key exchange with {at} (client: mlkem768x25519-sha256,curve25519-sha256"
        )),
        "{e}"
    );
    assert!(e.message.contains(" / server: diffie-hellman-group14-sha1)"), "{e}");
    assert!(
        !e.message.contains("ext-info") && !e.message.contains("kex-strict"),
        "{e}"
    );
    assert!(e.message.contains("mode = \"sftp-legacy\""), "{e}");

    let d = deliver(&settings(&server, "sftp-legacy", &pw), &env, &file, "l.csv", &|_| {})
        .await
        .unwrap();
    assert_eq!(d.auth_method.as_deref(), Some("password"));
    assert_eq!(std::fs::read(server.path("/in/l.csv")).unwrap(), b"legacy\r\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_cut_off_half_way_leaves_nothing_under_the_final_name_and_the_retry_delivers() {
    let server = SftpServer::start(Options::password(USER, "s3cret-cut"));
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    server.trust(&env.known_hosts);
    let mut s = settings(&server, "sftp", &password_var("FERRY_T_SFTP_CUT", "s3cret-cut"));
    s.retry.delay = Duration::from_millis(50);
    let big: Vec<u8> = (0..1_500_000u32).flat_map(u32::to_be_bytes).collect();
    let file = src(dir.path(), &big);

    // One attempt: the connection drops after 1 MB.
    s.retry.attempts = 1;
    server.drop_after(1_000_000);
    let e = deliver(&s, &env, &file, "big.csv", &|_| {}).await.unwrap_err();
    assert!(e.kind.retryable(), "a dropped connection is worth another try: {e:?}");
    assert!(!server.path("/in/big.csv").exists(), "nothing under the final name");
    assert_eq!(std::fs::read(&file).unwrap(), big, "the local file is kept");

    // Two attempts: the first is cut, the second delivers the whole file and
    // clears the first one's leftover.
    s.retry.attempts = 2;
    server.drop_after(1_000_000);
    let retries = std::sync::Mutex::new(Vec::new());
    // As in a run, where the ledger says no delivery is writing the first
    // call's half temporary, so the sweep removes it.
    let log = |line| retries.lock().unwrap().push(line);
    let d = crate::harness::deliver_swept(&s, &env, &file, "big.csv", &crate::harness::Ledger(vec![]), &log)
        .await
        .unwrap();
    assert_eq!(d.attempts.len(), 2);
    assert!(d.attempts[0].error.is_some());
    assert_eq!(retries.lock().unwrap().len(), 1);
    assert_eq!(std::fs::read(server.path("/in/big.csv")).unwrap(), big);
    let mut names: Vec<_> = std::fs::read_dir(server.path("/in"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["big.csv"]);
}

#[test]
fn keys_are_generated_owner_only_listed_and_shown_in_openssh_format() {
    let p = Project::new();
    let out = p.ferry(&["keys", "generate", "vendor"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    std::env::set_var("FERRY_T_KEY_PASS", "correct horse");
    let out = p.ferry(&[
        "keys",
        "generate",
        "legacy",
        "--rsa",
        "--bits",
        "2048",
        "--passphrase-env",
        "FERRY_T_KEY_PASS",
    ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("correct horse"));
    let again = p.ferry(&["keys", "generate", "vendor"]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);

    let dir = p.path(".ferry/keys");
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("vendor")), 0o600);
    assert_eq!(mode(&dir.join("legacy")), 0o600);
    let private = std::fs::read_to_string(dir.join("vendor")).unwrap();
    assert!(
        private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"),
        "{private}"
    );

    let show = p.ferry(&["keys", "show", "vendor"]);
    assert_eq!(show.code, 0);
    let line = show.stdout.trim();
    let fields: Vec<&str> = line.split(' ').collect();
    assert_eq!(fields.len(), 3, "{line}");
    assert_eq!((fields[0], fields[2]), ("ssh-ed25519", "ferry-vendor"));
    let parsed = russh::keys::PublicKey::from_openssh(line).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("vendor.pub")).unwrap().trim(), line);

    let list = p.ferry(&["keys", "list", "--wide"]);
    assert_eq!(list.code, 0);
    assert!(
        list.stdout.contains("vendor") && list.stdout.contains("ssh-ed25519"),
        "{}",
        list.stdout
    );
    assert!(
        list.stdout.contains(&ferry::keys::fingerprint(&parsed)),
        "{}",
        list.stdout
    );
    assert!(
        list.stdout.contains("legacy") && list.stdout.contains("ssh-rsa"),
        "{}",
        list.stdout
    );

    let store = KeyStore::open(&dir);
    let infos = store.list().unwrap();
    assert_eq!(
        infos.iter().map(|k| (k.name.as_str(), k.encrypted)).collect::<Vec<_>>(),
        [("legacy", true), ("vendor", false)]
    );
    let err = store.load("legacy", None).unwrap_err();
    assert!(matches!(err, KeyError::NeedsPassphrase(_)));
    assert!(
        err.to_string().contains("'legacy'") && err.to_string().contains("key_passphrase"),
        "{err}"
    );
    let err = store.load("legacy", Some("wrong horse")).unwrap_err();
    assert!(matches!(err, KeyError::WrongPassphrase(_)), "{err}");
    assert!(
        err.to_string().contains("'legacy'") && err.to_string().contains("key_passphrase"),
        "{err}"
    );
    assert!(!err.to_string().contains("wrong horse"));
    let key = store.load("legacy", Some("correct horse")).unwrap();
    assert_eq!(key.algorithm(), russh::keys::Algorithm::Rsa { hash: None });
    assert!(store.load("vendor", None).is_ok());
    let missing = p.ferry(&["keys", "show", "nope"]);
    assert!(missing.stderr.contains("no key named 'nope'"), "{}", missing.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passphrase_protected_key_logs_in_with_key_passphrase_and_keys_test_uses_the_key_only() {
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    let store = KeyStore::open(&env.keys_dir);
    store
        .generate("locked", KeyKind::Ed25519, Some("pass phrase 9"))
        .unwrap();
    let mut options = Options::password(USER, "s3cret-kp");
    options.logins.keys.push(
        store
            .load("locked", Some("pass phrase 9"))
            .unwrap()
            .public_key()
            .clone(),
    );
    let server = SftpServer::start(options);
    server.trust(&env.known_hosts);
    std::env::set_var("FERRY_T_SFTP_KP", "pass phrase 9");
    let s = settings(
        &server,
        "sftp",
        "key = 'locked'\nkey_passphrase = 'env:FERRY_T_SFTP_KP'",
    );
    let file = src(dir.path(), b"k");
    let d = deliver(&s, &env, &file, "k.csv", &|_| {}).await.unwrap();
    assert_eq!(d.auth_method.as_deref(), Some("publickey"));

    let mut no_pass = s.clone();
    no_pass.key_passphrase = None;
    let e = deliver(&no_pass, &env, &file, "k.csv", &|_| {}).await.unwrap_err();
    assert_eq!(e.kind, FailureKind::Auth);
    assert!(
        e.message.contains("key 'locked'") && e.message.contains("key_passphrase"),
        "{e}"
    );

    // `ferry keys test`: the key alone, even when the destination has a password.
    let p = Project::new();
    std::env::set_var("FERRY_T_SFTP_KT", "s3cret-kp");
    p.config(&format!(
        "keys = \"{}\"\nknown_hosts = \"{}\"\n[destinations.vendor]\nmode = \"sftp\"\nserver = \"127.0.0.1\"\nport = {}\n\
         path = \"/in\"\nusername = \"{USER}\"\npassword = \"env:FERRY_T_SFTP_KT\"\nkey_passphrase = \"env:FERRY_T_SFTP_KP\"\n",
        env.keys_dir.display(),
        env.known_hosts.display(),
        server.port
    ));
    store.generate("stranger", KeyKind::Ed25519, None).unwrap();
    let ok = p.ferry(&["keys", "test", "locked", "vendor"]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(
        ok.stdout.contains("key 'locked' works") && ok.stdout.contains("publickey"),
        "{}",
        ok.stdout
    );
    let refused = p.ferry(&["keys", "test", "stranger", "vendor"]);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains("tried: publickey with key 'stranger')"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("'stranger', password"), "{}", refused.stderr);
}
