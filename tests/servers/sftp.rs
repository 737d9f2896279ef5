//! SFTP against real OpenSSH servers started by the test: `/usr/sbin/sshd`
//! on 127.0.0.1 at free ports with generated host keys and configs, logging
//! in as a dedicated account (`ferrytest`, created when missing). Three
//! servers: modern (publickey + password), SHA-1 only (old appliances), and
//! PAM keyboard-interactive only. Files are read back with the real `sftp`
//! client. A missing sshd fails these tests; they never skip.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferry::config::{DestinationSettings, RawDestination};
use ferry::deliver::{deliver, test_connection, DeliveryEnv, FailureKind};
use ferry::keys::{KeyKind, KeyStore};

use crate::harness::conformance::{self, Served};

const SSHD: &str = "/usr/sbin/sshd";
const LOGIN: &str = "ferrytest";
/// The test account's password (set with chpasswd on every run).
const PASSWORD: &str = "Ferry-T3st-pw!9";

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (is openssh-server / openssh-client installed?)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The login account, created once; its password is (re)set every time.
fn ensure_login() -> (u32, u32) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let exists = Command::new("id")
            .arg(LOGIN)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !exists {
            run(Command::new("useradd").args(["--create-home", "--shell", "/bin/bash", LOGIN]));
        }
        let mut child = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .expect("chpasswd");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{LOGIN}:{PASSWORD}\n").as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "chpasswd failed");
    });
    let uid = run(Command::new("id").args(["-u", LOGIN])).trim().parse().unwrap();
    let gid = run(Command::new("id").args(["-g", LOGIN])).trim().parse().unwrap();
    (uid, gid)
}

/// Which server to start.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Current defaults, publickey and password.
    Modern,
    /// SHA-1 key exchanges and an ssh-rsa host key only.
    Sha1Only,
    /// PAM keyboard-interactive only.
    KeyboardInteractive,
}

/// A running sshd; killed on drop.
pub(crate) struct Sshd {
    port: u16,
    dir: tempfile::TempDir,
    child: Child,
    /// A folder the login owns and may fill (absolute server path).
    pub(crate) data: String,
    /// A folder under it the login may not write to (mode 000).
    locked: String,
}

impl Sshd {
    fn start(kind: Kind, authorized: &[String]) -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install openssh-server (apt-get install -y openssh-server); \
             the SFTP server tests need a real sshd"
        );
        let (uid, gid) = ensure_login();
        std::fs::create_dir_all("/run/sshd").unwrap();
        let dir = tempfile::tempdir().unwrap();
        // The login must reach its folder through this one.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let locked = data.join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::os::unix::fs::chown(&data, Some(uid), Some(gid)).unwrap();
        std::os::unix::fs::chown(&locked, Some(uid), Some(gid)).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();

        let host_key = dir.path().join(if kind == Kind::Sha1Only {
            "host_rsa"
        } else {
            "host_ed25519"
        });
        let key_type = if kind == Kind::Sha1Only { "rsa" } else { "ed25519" };
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", key_type, "-N", "", "-C", "ferry-test-host", "-f"])
            .arg(&host_key));
        let authorized_keys = dir.path().join("authorized_keys");
        std::fs::write(&authorized_keys, authorized.join("\n") + "\n").unwrap();

        let port = crate::harness::free_port();
        let mut config = format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {}\nPidFile {}\nAuthorizedKeysFile {}\n\
             StrictModes no\nSubsystem sftp internal-sftp\nAllowUsers {LOGIN}\nLogLevel VERBOSE\n\
             PermitRootLogin no\nMaxAuthTries 10\n",
            host_key.display(),
            dir.path().join("sshd.pid").display(),
            authorized_keys.display()
        );
        config.push_str(match kind {
            Kind::Modern => "UsePAM no\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n",
            Kind::Sha1Only => {
                "UsePAM no\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
                 KexAlgorithms diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1\n\
                 HostKeyAlgorithms ssh-rsa\nPubkeyAcceptedAlgorithms +ssh-rsa\n"
            }
            Kind::KeyboardInteractive => {
                "UsePAM yes\nKbdInteractiveAuthentication yes\nPasswordAuthentication no\n\
                 AuthenticationMethods keyboard-interactive\n"
            }
        });
        let config_path = dir.path().join("sshd_config");
        std::fs::write(&config_path, &config).unwrap();
        let log = std::fs::File::create(dir.path().join("sshd.log")).unwrap();
        let mut child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {SSHD}: {e}"));
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "sshd exited ({status}) at start:\n{}\nconfig:\n{config}",
                    std::fs::read_to_string(dir.path().join("sshd.log")).unwrap_or_default()
                );
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "sshd did not listen on 127.0.0.1:{port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Sshd {
            port,
            data: data.display().to_string(),
            locked: locked.display().to_string(),
            dir,
            child,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// Records the server's host key in `known_hosts` (through `ferry trust`'s code).
    pub(crate) async fn trust(&self, env: &DeliveryEnv) {
        let s = self.settings("sftp-legacy", "password = 'env:FERRY_T_SSHD_PW'");
        ferry::deliver::sftp::trust(&s, env, None).await.unwrap();
    }

    fn settings(&self, mode: &str, extra: &str) -> DestinationSettings {
        std::env::set_var("FERRY_T_SSHD_PW", PASSWORD);
        let raw: RawDestination = toml::from_str(&format!(
            "mode = '{mode}'\nserver = '127.0.0.1'\nport = {}\npath = '{}'\nusername = '{LOGIN}'\ntimeout = '30s'\n{extra}",
            self.port, self.data
        ))
        .unwrap();
        raw.validate("vendor", Path::new("/")).unwrap()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The login's files: let the temp dir go.
        let _ = std::fs::set_permissions(&self.locked, std::fs::Permissions::from_mode(0o700));
    }
}

fn env(dir: &Path) -> DeliveryEnv {
    DeliveryEnv {
        keys_dir: dir.join("keys"),
        known_hosts: dir.join("known_hosts"),
    }
}

/// A key made by ferry, and its public line for authorized_keys.
fn key(env: &DeliveryEnv, name: &str) -> String {
    let store = KeyStore::open(&env.keys_dir);
    store.generate(name, KeyKind::Ed25519, None).unwrap();
    store.public(name).unwrap()
}

/// Reads `remote` with the real `sftp` client, logging in with ferry's key
/// and checking the host key against ferry's known_hosts; `options` are
/// extra `-o` settings (the SHA-1 server needs the old algorithms on).
pub(crate) fn sftp_get(server: &Sshd, env: &DeliveryEnv, key: &str, remote: &str, options: &[&str]) -> Vec<u8> {
    let out = tempfile::tempdir().unwrap();
    let local = out.path().join("got");
    sftp_batch(
        server,
        env,
        key,
        &format!("get \"{remote}\" \"{}\"\n", local.display()),
        options,
    );
    std::fs::read(&local).unwrap()
}

/// Runs `commands` in the real `sftp` client as [`sftp_get`] logs in; what it printed.
fn sftp_batch(server: &Sshd, env: &DeliveryEnv, key: &str, commands: &str, options: &[&str]) -> String {
    let out = tempfile::tempdir().unwrap();
    let batch = out.path().join("batch");
    std::fs::write(&batch, commands).unwrap();
    let result = Command::new("sftp")
        .arg("-b")
        .arg(&batch)
        .arg("-i")
        .arg(env.keys_dir.join(key))
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", env.known_hosts.display()))
        .args([
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
        ])
        .args(options.iter().flat_map(|o| ["-o", o]))
        .args(["-P", &server.port.to_string()])
        .arg(format!("{LOGIN}@127.0.0.1"))
        .output()
        .expect("the sftp client (openssh-client) is installed");
    assert!(
        result.status.success(),
        "sftp {commands}: {}{}\nsshd log:\n{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr),
        server.log()
    );
    String::from_utf8_lossy(&result.stdout).into_owned()
}

/// A project whose destination `dest` is a modern OpenSSH server started
/// here, logged in with a ferry key (`extra`: more destination settings);
/// the host key is still to be trusted.
pub(crate) fn project_on_openssh(dest: &str, extra: &str) -> (crate::harness::Project, DeliveryEnv, Sshd) {
    let p = crate::harness::Project::new();
    let settings = p.settings();
    let env = DeliveryEnv {
        keys_dir: settings.keys_dir.clone(),
        known_hosts: settings.known_hosts.clone(),
    };
    let public = key(&env, "vendor");
    let server = Sshd::start(Kind::Modern, &[public]);
    p.config(&format!(
        "timezone = \"America/Chicago\"\n[databases.live]\nurl = \"sqlite:fixture.db\"\n\
         [destinations.{dest}]\nmode = \"sftp\"\nserver = \"127.0.0.1\"\nport = {}\npath = \"{}\"\n\
         username = \"{LOGIN}\"\nkey = \"vendor\"\ntimeout = \"30s\"\n{extra}",
        server.port, server.data
    ));
    (p, env, server)
}

/// `ferry serve` SIGKILLed during SFTP uploads to OpenSSH (and just after a
/// file appears under its final name), then started cleanly and stopped:
/// the server's folder, as the `sftp` client lists it, holds exactly the
/// files history records delivered, with their sizes and SHA-256, and no
/// ferry temporary.
#[test]
fn sigkill_during_sftp_uploads_leaves_the_server_folder_and_history_in_agreement() {
    let (p, env, server) = project_on_openssh("out", "");
    tokio::runtime::Runtime::new().unwrap().block_on(server.trust(&env));
    p.sqlite("CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (1);");
    let plan = crate::crash::Plan {
        scripts: 5,
        rows: 50_000,
        instances: 1,
        at_boundaries: 4,
        during_uploads: 12,
    };
    let db = crate::crash::Db::Sqlite(p.path(".ferry/state.db"));
    let counts = crate::crash::crash_and_check(&p, &db, Path::new(&server.data), &plan);
    eprintln!("crash test, SFTP to OpenSSH: {counts:?}");
    assert_eq!(counts.kills, 16);
    // What OpenSSH's own client lists is what the disk holds.
    let listed: std::collections::BTreeSet<String> =
        sftp_batch(&server, &env, "vendor", &format!("ls -1a \"{}\"\n", server.data), &[])
            .lines()
            .filter(|l| !l.starts_with("sftp>"))
            .filter_map(|l| l.trim().rsplit('/').next().map(str::to_string))
            .filter(|n| !n.is_empty() && n != "." && n != ".." && n != "locked")
            .collect();
    let on_disk: std::collections::BTreeSet<String> = std::fs::read_dir(&server.data)
        .unwrap()
        .filter_map(std::result::Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed, on_disk);
    assert_eq!(on_disk.len(), counts.delivered_files);
}

#[tokio::test(flavor = "multi_thread")]
async fn openssh_passes_the_conformance_suite_and_the_sftp_client_reads_the_extract_back() {
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    let public = key(&env, "vendor");
    let server = Sshd::start(Kind::Modern, &[public]);
    server.trust(&env).await;
    let s = server.settings("sftp", "key = 'vendor'");
    conformance::run(&s, &env, &Served { root: Path::new("/") }, Some(&server.locked)).await;

    // An extract as ferry makes them, read back by OpenSSH's own client.
    let extract = dir.path().join("roster.csv");
    let mut text = String::from("id,name,grade\r\n");
    for i in 0..50_000 {
        text.push_str(&format!("{i},\"Zoë O'Brien, {i}\",{}\r\n", i % 12 + 1));
    }
    std::fs::write(&extract, &text).unwrap();
    let d = deliver(&s, &env, &extract, "roster.csv", &|_| {}).await.unwrap();
    assert_eq!(d.auth_method.as_deref(), Some("publickey"));
    assert_eq!(sftp_get(&server, &env, "vendor", &d.remote_path, &[]), text.as_bytes());

    // The public key ferry shows is what ssh-keygen reads, fingerprint and all.
    let pub_file = env.keys_dir.join("vendor.pub");
    let listed = run(Command::new("ssh-keygen").arg("-l").arg("-f").arg(&pub_file));
    let info = &KeyStore::open(&env.keys_dir).list().unwrap()[0];
    assert!(listed.contains(&info.fingerprint), "{listed} vs {}", info.fingerprint);
    assert!(
        listed.contains("ferry-vendor") && listed.contains("(ED25519)"),
        "{listed}"
    );

    // What the server told ferry about itself.
    let probe = test_connection(&s, &env).await.unwrap();
    let details: std::collections::HashMap<_, _> = probe.info.details.iter().cloned().collect();
    assert!(details["server banner"].starts_with("SSH-2.0-OpenSSH_"), "{details:?}");
    assert!(
        details["SFTP extensions"].contains("posix-rename@openssh.com"),
        "{details:?}"
    );
    assert!(details["SFTP extensions"].contains("fsync@openssh.com"), "{details:?}");
    assert_eq!(details["host-key algorithm chosen"], "ssh-ed25519");
}

#[tokio::test(flavor = "multi_thread")]
async fn modern_mode_fails_against_a_sha1_only_server_listing_both_sides_and_legacy_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    let public = key(&env, "vendor");
    let server = Sshd::start(Kind::Sha1Only, &[public]);
    let file = dir.path().join("old.csv");
    std::fs::write(&file, b"id\r\n42\r\n").unwrap();

    let e = deliver(
        &server.settings("sftp", "key = 'vendor'"),
        &env,
        &file,
        "old.csv",
        &|_| {},
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, FailureKind::Algorithms, "{e}");
    assert_eq!(e.attempts.len(), 1, "not retried");
    let at = format!("127.0.0.1:{}", server.port);
    assert!(
        e.message.contains(&format!(
            "Unable to negotiate key exchange with {at} (client: mlkem768x25519-sha256,curve25519-sha256,"
        )),
        "{e}"
    );
    assert!(
        e.message.contains(
            " / server: diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1)"
        ),
        "{e}"
    );
    assert!(
        !e.message.contains("ext-info") && !e.message.contains("kex-strict"),
        "{e}"
    );
    assert!(e.message.contains("mode = \"sftp-legacy\""), "{e}");

    server.trust(&env).await;
    let legacy = server.settings("sftp-legacy", "key = 'vendor'");
    let d = deliver(&legacy, &env, &file, "old.csv", &|_| {}).await.unwrap();
    assert_eq!(d.auth_method.as_deref(), Some("publickey"));
    assert_eq!(
        sftp_get(
            &server,
            &env,
            "vendor",
            &d.remote_path,
            &[
                "KexAlgorithms=+diffie-hellman-group14-sha1",
                "HostKeyAlgorithms=+ssh-rsa"
            ]
        ),
        b"id\r\n42\r\n"
    );
    let probe = test_connection(&legacy, &env).await.unwrap();
    let details: std::collections::HashMap<_, _> = probe.info.details.iter().cloned().collect();
    assert!(details["key exchange chosen"].ends_with("-sha1"), "{details:?}");
    assert_eq!(details["host-key algorithm chosen"], "ssh-rsa");
}

#[tokio::test(flavor = "multi_thread")]
async fn key_only_password_only_and_key_refused_then_password_against_openssh() {
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    let public = key(&env, "vendor");
    key(&env, "unknown");
    let server = Sshd::start(Kind::Modern, &[public]);
    server.trust(&env).await;
    let file = dir.path().join("m.csv");
    std::fs::write(&file, b"m\r\n").unwrap();
    for (extra, expected) in [
        ("key = 'vendor'", "publickey"),
        ("password = 'env:FERRY_T_SSHD_PW'", "password"),
        ("key = 'unknown'\npassword = 'env:FERRY_T_SSHD_PW'", "password"),
    ] {
        let s = server.settings("sftp", extra);
        let d = deliver(&s, &env, &file, "m.csv", &|_| {})
            .await
            .unwrap_or_else(|e| panic!("{extra}: {e}\n{}", server.log()));
        assert_eq!(d.auth_method.as_deref(), Some(expected), "{extra}");
        assert_eq!(std::fs::read(format!("{}/m.csv", server.data)).unwrap(), b"m\r\n");
    }
    // The login the server saw, in its own log.
    let log = server.log();
    assert!(log.contains(&format!("Accepted publickey for {LOGIN}")), "{log}");
    assert!(log.contains(&format!("Accepted password for {LOGIN}")), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn keyboard_interactive_through_pam() {
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    key(&env, "unknown");
    let server = Sshd::start(Kind::KeyboardInteractive, &[]);
    server.trust(&env).await;
    let file = dir.path().join("k.csv");
    std::fs::write(&file, b"kbd\r\n").unwrap();
    for extra in [
        "password = 'env:FERRY_T_SSHD_PW'",
        "key = 'unknown'\npassword = 'env:FERRY_T_SSHD_PW'",
    ] {
        let d = deliver(&server.settings("sftp", extra), &env, &file, "k.csv", &|_| {})
            .await
            .unwrap_or_else(|e| panic!("{extra}: {e}\n{}", server.log()));
        assert_eq!(d.auth_method.as_deref(), Some("keyboard-interactive"), "{extra}");
        assert_eq!(std::fs::read(format!("{}/k.csv", server.data)).unwrap(), b"kbd\r\n");
    }
    assert!(
        server
            .log()
            .contains(&format!("Accepted keyboard-interactive/pam for {LOGIN}")),
        "{}",
        server.log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_and_an_unknown_host_key_each_say_so_and_no_secret_is_shown() {
    const WRONG: &str = "N0t-the-Pa55word";
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    let server = Sshd::start(Kind::Modern, &[]);
    let file = dir.path().join("w.csv");
    std::fs::write(&file, b"w").unwrap();
    std::env::set_var("FERRY_T_SSHD_WRONG", WRONG);
    let s = server.settings("sftp", "password = 'env:FERRY_T_SSHD_WRONG'");
    let mut lines = Vec::new();
    let log = std::sync::Mutex::new(Vec::new());

    let unknown = deliver(&s, &env, &file, "w.csv", &|l| log.lock().unwrap().push(l))
        .await
        .unwrap_err();
    assert_eq!(unknown.kind, FailureKind::Trust, "{unknown}");
    assert!(
        unknown.message.contains("not trusted yet") && unknown.message.contains("SHA256:"),
        "{unknown}"
    );
    assert!(unknown.message.contains("ferry trust vendor"), "{unknown}");
    lines.push(unknown.to_string());

    server.trust(&env).await;
    let wrong = deliver(&s, &env, &file, "w.csv", &|l| log.lock().unwrap().push(l))
        .await
        .unwrap_err();
    assert_eq!(wrong.kind, FailureKind::Auth, "{wrong}");
    assert_eq!(wrong.attempts.len(), 1);
    assert!(
        wrong.message.contains(&format!(
            "authentication as {LOGIN} at 127.0.0.1:{} failed (tried: password)",
            server.port
        )),
        "{wrong}"
    );
    lines.push(wrong.to_string());
    lines.push(format!("{wrong:?}"));
    lines.extend(log.into_inner().unwrap());
    for line in &lines {
        assert!(
            !line.contains(WRONG) && !line.contains(PASSWORD),
            "a secret leaked: {line}"
        );
    }
    assert!(!std::path::PathBuf::from(format!("{}/w.csv", server.data)).exists());
}

/// A destination's sidecars on OpenSSH: downloaded with the `sftp` client,
/// the checksum files pass `sha256sum -c` and `md5sum -c` against the data
/// file beside them, the manifest's counts match the file, and history
/// records every sidecar after its data file.
#[tokio::test(flavor = "multi_thread")]
async fn sidecars_arrive_after_their_file_and_check_out_with_sha256sum() {
    let (p, env, server) = project_on_openssh("vendor", "checksum = [\"sha256\", \"md5\"]\nmanifest = \"csv\"\n");
    server.trust(&env).await;
    p.sqlite(
        "CREATE TABLE student (id INTEGER, name TEXT);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
         INSERT INTO student SELECT i, 'Zoë, ' || i FROM n;",
    );
    p.script(
        "roster",
        r#"deliver(csv(query("live", "SELECT * FROM student ORDER BY id"), #{ name: "roster" }), "vendor");"#,
    );
    let report = p.run("roster", ferry::state::Trigger::Manual, &[]).await;
    assert!(report.succeeded(), "{:?}", report.error);

    let local = tempfile::tempdir().unwrap();
    let names = [
        "roster.csv",
        "roster.csv.sha256",
        "roster.csv.md5",
        "roster.csv.manifest.csv",
    ];
    let gets: String = names
        .iter()
        .map(|n| format!("get \"{}/{n}\" \"{}\"\n", server.data, local.path().join(n).display()))
        .collect();
    sftp_batch(&server, &env, "vendor", &gets, &[]);
    for tool in ["sha256sum", "md5sum"] {
        let ext = &tool[..tool.len() - 3];
        let checked = run(Command::new(tool)
            .arg("-c")
            .arg(format!("roster.csv.{ext}"))
            .current_dir(local.path()));
        assert_eq!(checked.trim(), "roster.csv: OK", "{tool}");
    }
    let data = std::fs::read(local.path().join("roster.csv")).unwrap();
    let manifest = crate::harness::python_csv(&local.path().join("roster.csv.manifest.csv"), ',', "utf-8");
    assert_eq!(manifest[0], ["file", "bytes", "rows", "sha256", "created"]);
    let rows = crate::harness::python_csv(&local.path().join("roster.csv"), ',', "utf-8").len() - 1;
    let sha = run(Command::new("sha256sum").arg(local.path().join("roster.csv")));
    assert_eq!(manifest[1][0], "roster.csv");
    assert_eq!(manifest[1][1], data.len().to_string());
    assert_eq!((rows, manifest[1][2].as_str()), (1000, "1000"));
    assert_eq!(manifest[1][3], sha.split_whitespace().next().unwrap());
    let created = chrono::DateTime::parse_from_rfc3339(&manifest[1][4]).expect("created is RFC 3339");
    assert!(
        (chrono::Utc::now() - created.with_timezone(&chrono::Utc))
            .num_minutes()
            .abs()
            < 10
    );

    // History: the data file, then each sidecar, all delivered, with the
    // size and SHA-256 of what is on the server.
    let db = p.path(".ferry/state.db");
    let recorded = run(Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT name, state, bytes, sha256 FROM run_files WHERE destination = 'vendor' ORDER BY rowid"));
    let want: Vec<String> = names
        .iter()
        .map(|n| {
            let path = local.path().join(n);
            let bytes = std::fs::metadata(&path).unwrap().len();
            let sha = run(Command::new("sha256sum").arg(&path));
            format!("{n}|delivered|{bytes}|{}", sha.split_whitespace().next().unwrap())
        })
        .collect();
    assert_eq!(recorded.lines().collect::<Vec<_>>(), want);
}

#[test]
fn a_stale_temporary_of_another_file_is_swept_at_the_next_sftp_delivery() {
    let (p, env, server) = project_on_openssh("vendor", "");
    tokio::runtime::Runtime::new().unwrap().block_on(server.trust(&env));
    crate::sweep::script(&p);
    let folder = Path::new(&server.data);
    crate::sweep::plant(folder);
    crate::sweep::run_and_check(&p, folder, &[], || server.log());
}

/// A 1 MiB tmpfs mounted on a folder; unmounted on drop.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(at: &Path, owner: (u32, u32)) -> SmallDisk {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs"])
            .arg(at)
            .output()
            .expect("mount (util-linux) runs");
        assert!(
            out.status.success(),
            "cannot mount a 1 MiB tmpfs on {} (the test runs as root to fill a disk): {}",
            at.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let disk = SmallDisk(at.to_path_buf());
        std::os::unix::fs::chown(at, Some(owner.0), Some(owner.1)).unwrap();
        disk
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// OpenSSH answers a write to a full disk with a bare "failure": the message
/// says the server refused the write and what usually causes it, that ferry
/// does not try again, and where the file is kept; no partial file stays.
#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_on_openssh_is_a_refused_write_with_its_usual_cause() {
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    let public = key(&env, "vendor");
    let server = Sshd::start(Kind::Modern, &[public]);
    server.trust(&env).await;
    let full = Path::new(&server.data).join("full");
    let _disk = SmallDisk::mount(&full, ensure_login());
    let raw: RawDestination = toml::from_str(&format!(
        "mode = 'sftp'\nserver = '127.0.0.1'\nport = {}\npath = '{}'\nusername = '{LOGIN}'\nkey = 'vendor'\n\
         timeout = '30s'\nattempts = 3\nretry_delay = '10ms'\n",
        server.port,
        full.display()
    ))
    .unwrap();
    let s = raw.validate("vendor", Path::new("/")).unwrap();
    let file = dir.path().join("roster.csv");
    std::fs::write(&file, vec![b'x'; 4 << 20]).unwrap();
    let e = deliver(&s, &env, &file, "roster.csv", &|_| {}).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("the server refused the write (OpenSSH does not say why; a full disk is the usual cause)"),
        "{text}"
    );
    assert_eq!(e.attempts.len(), 1, "not retried: {text}");
    assert!(text.contains("attempt 1 of 3; ferry does not try again"), "{text}");
    assert!(
        text.contains(&format!("the file is kept at {}", file.display())),
        "{text}"
    );
    let left: Vec<_> = std::fs::read_dir(&full).unwrap().collect();
    assert!(left.is_empty(), "the partial temporary is removed: {left:?}");
}
