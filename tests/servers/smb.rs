//! SMB delivery against a real Samba `smbd` started by the test on
//! 127.0.0.1 (a free port, a generated smb.conf, its own passdb, state and
//! lock folders in a temporary folder), through libsmbclient inside ferry.
//! Files are read back from the served folder and with the real
//! `smbclient`. A missing `smbd`/`smbclient` fails these tests.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ferry::config::{DestinationSettings, RawDestination};
use ferry::deliver::{deliver, test_connection, DeliveryEnv, FailureKind};

use crate::harness::conformance::{self, Peek, Served};
use crate::harness::free_port;

/// The local account Samba maps the SMB login to.
const USER: &str = "ferrysmb";
/// The share the tests deliver to.
const SHARE: &str = "vendor";

fn run(program: &str, args: &[&str], input: Option<&str>) -> std::process::Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}): the SMB suite needs Samba; apt-get install -y samba smbclient")
        });
    if let Some(text) = input {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// The uid of the test account, created when missing.
fn account() -> u32 {
    static UID: OnceLock<u32> = OnceLock::new();
    *UID.get_or_init(|| {
        let id = || run("id", &["-u", USER], None);
        let mut out = id();
        if !out.status.success() {
            let made = run("useradd", &["-M", "-s", "/usr/sbin/nologin", USER], None);
            // Another test binary may have made it meanwhile.
            out = id();
            assert!(
                out.status.success(),
                "cannot create the account {USER} (the SMB suite runs as root): {}",
                String::from_utf8_lossy(&made.stderr)
            );
        }
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    })
}

/// A running `smbd` serving `[vendor]` from a temporary folder; killed on drop.
struct Samba {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    password: String,
}

impl Samba {
    fn start() -> Samba {
        let uid = account();
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let root = dir.path();
        for d in ["private", "lock", "state", "pid", "cache", "ncalrpc"] {
            std::fs::create_dir(root.join(d)).unwrap();
        }
        let share = root.join("share");
        std::fs::create_dir_all(share.join("in")).unwrap();
        std::os::unix::fs::chown(&share, Some(uid), None).unwrap();
        std::os::unix::fs::chown(share.join("in"), Some(uid), None).unwrap();
        // Owned by root and read-only: the login may look, not write.
        std::fs::create_dir(share.join("locked")).unwrap();
        std::fs::set_permissions(share.join("locked"), std::fs::Permissions::from_mode(0o555)).unwrap();
        let port = free_port();
        let d = root.display();
        let conf = root.join("smb.conf");
        std::fs::write(
            &conf,
            format!(
                "[global]\n\
                 smb ports = {port}\n\
                 interfaces = 127.0.0.1\n\
                 bind interfaces only = yes\n\
                 private dir = {d}/private\n\
                 lock directory = {d}/lock\n\
                 state directory = {d}/state\n\
                 pid directory = {d}/pid\n\
                 cache directory = {d}/cache\n\
                 ncalrpc dir = {d}/ncalrpc\n\
                 passdb backend = tdbsam:{d}/private/passdb.tdb\n\
                 log file = {d}/smbd.log\n\
                 server role = standalone server\n\
                 server min protocol = SMB2\n\
                 map to guest = never\n\
                 disable netbios = yes\n\
                 load printers = no\n\
                 printing = bsd\n\
                 printcap name = /dev/null\n\
                 disable spoolss = yes\n\
                 [{SHARE}]\n\
                 path = {d}/share\n\
                 read only = no\n"
            ),
        )
        .unwrap();
        let password = format!("Fy-{}", uuid::Uuid::new_v4().simple());
        let conf_arg = conf.display().to_string();
        let added = run(
            "smbpasswd",
            &["-c", &conf_arg, "-a", "-s", USER],
            Some(&format!("{password}\n{password}\n")),
        );
        assert!(
            added.status.success(),
            "smbpasswd -a {USER}: {}",
            String::from_utf8_lossy(&added.stderr)
        );
        let log = std::fs::File::create(root.join("smbd.out")).unwrap();
        let child = Command::new("smbd")
            .args(["--foreground", "--no-process-group", "--debug-stdout", "-s", &conf_arg])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start smbd ({e}): apt-get install -y samba smbclient"));
        let mut samba = Samba {
            child,
            dir,
            port,
            password,
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = samba.child.try_wait() {
                panic!("smbd exited ({status}):\n{}", samba.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "smbd did not listen on 127.0.0.1:{port}:\n{}",
                samba.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        samba
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("smbd.out")).unwrap_or_default()
    }

    /// The processes smbd has forked: its helpers, and one per client
    /// connection while that connection lasts.
    fn children(&self) -> BTreeSet<u32> {
        let master = self.child.id();
        let mut found = BTreeSet::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // "pid (name) state ppid ...": the name may hold spaces.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1));
            if ppid.and_then(|p| p.parse::<u32>().ok()) == Some(master) {
                found.insert(pid);
            }
        }
        found
    }

    /// Waits until every connection process not in `before` has ended:
    /// smbd holds a killed client's open file until the process serving
    /// that connection sees it gone, which can take seconds while that
    /// process is in a write to a busy disk.
    fn wait_for_connections_to_end(&self, before: &BTreeSet<u32>, why: &str) {
        let started = Instant::now();
        loop {
            let now = self.children();
            if now.is_subset(before) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{why}: smbd still serves the killed connection after 60 s (processes {now:?}, before {before:?})\nsmbd:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The served folder.
    fn share_dir(&self) -> PathBuf {
        self.dir.path().join("share")
    }

    /// A destination on this server; the password is read from a file.
    fn destination(&self, path: &str, password: &str) -> DestinationSettings {
        self.destination_with(path, password, "")
    }

    /// A destination on this server with `extra` settings.
    fn destination_with(&self, path: &str, password: &str, extra: &str) -> DestinationSettings {
        let file = self.dir.path().join(format!("pw-{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&file, password).unwrap();
        let raw: RawDestination = toml::from_str(&format!(
            "mode = 'smb'\nserver = '127.0.0.1'\nport = {}\npath = '{path}'\nusername = '{USER}'\n\
             password = 'file:{}'\ntimeout = '20s'\nretry_delay = '1s'\n{extra}",
            self.port,
            file.display()
        ))
        .unwrap();
        raw.validate("vendor", Path::new("/")).unwrap()
    }

    /// The TOML of destination `vendor` for a project, the password in `env:FERRY_TEST_SMB_PW`.
    fn toml(&self, path: &str) -> String {
        format!(
            "[destinations.vendor]\nmode = \"smb\"\nserver = \"127.0.0.1\"\nport = {}\npath = \"{path}\"\n\
             username = \"{USER}\"\npassword = \"env:FERRY_TEST_SMB_PW\"\ntimeout = \"20s\"\n",
            self.port
        )
    }

    /// Reads `remote` (`/vendor/...`) with the real `smbclient`; the login
    /// goes in an authentication file, so no password is on a command line
    /// or in a failure message.
    fn smbclient_get(&self, remote: &str) -> Vec<u8> {
        std::fs::read(self.smbclient_get_file(remote)).unwrap()
    }

    /// Like [`Samba::smbclient_get`], into a local file it returns.
    fn smbclient_get_file(&self, remote: &str) -> PathBuf {
        let auth = self.dir.path().join("smbclient.auth");
        std::fs::write(&auth, format!("username = {USER}\npassword = {}\n", self.password)).unwrap();
        let local = self.dir.path().join(format!("got-{}", uuid::Uuid::new_v4().simple()));
        let inside = remote
            .strip_prefix(&format!("/{SHARE}/"))
            .expect("a path on the share")
            .replace('/', "\\");
        let out = run(
            "smbclient",
            &[
                &format!("//127.0.0.1/{SHARE}"),
                "-p",
                &self.port.to_string(),
                "-A",
                &auth.display().to_string(),
                "-c",
                &format!("get \"{inside}\" \"{}\"", local.display()),
            ],
            None,
        );
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!said.contains(&self.password), "smbclient printed the password");
        assert!(
            out.status.success() && local.is_file(),
            "smbclient get {inside}: {said}"
        );
        local
    }
}

impl Drop for Samba {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The served folder, seen through the share's paths (`/vendor/x`).
struct SharePeek {
    root: PathBuf,
}

impl SharePeek {
    /// The served folder, and the path inside it.
    fn local<'a>(&self, remote: &'a str) -> (Served<'_>, &'a str) {
        let inside = remote.strip_prefix(&format!("/{SHARE}")).expect("a path on the share");
        (Served { root: &self.root }, inside)
    }
}

impl Peek for SharePeek {
    fn read(&self, remote: &str) -> Option<Vec<u8>> {
        let (folder, inside) = self.local(remote);
        folder.read(inside)
    }
    fn names(&self, remote: &str) -> Vec<String> {
        let (folder, inside) = self.local(remote);
        folder.names(inside)
    }
}

/// Delivers a small file to `s`, which must fail.
async fn refused(s: &DestinationSettings) -> ferry::deliver::DeliveryError {
    let local = tempfile::tempdir().unwrap();
    let file = local.path().join("x.csv");
    std::fs::write(&file, b"a\r\n").unwrap();
    deliver(s, &env(local.path()), &file, "x.csv", &|_| {})
        .await
        .unwrap_err()
}

fn env(dir: &Path) -> DeliveryEnv {
    DeliveryEnv {
        keys_dir: dir.join("keys"),
        known_hosts: dir.join("known_hosts"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn smb_passes_the_conformance_suite_against_samba() {
    let samba = Samba::start();
    let s = samba.destination(&format!("/{SHARE}/in"), &samba.password);
    let peek = SharePeek {
        root: samba.share_dir(),
    };
    conformance::run(&s, &env(samba.dir.path()), &peek, Some(&format!("/{SHARE}/locked"))).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivered_extract_reads_back_whole_with_smbclient() {
    let samba = Samba::start();
    let s = samba.destination(&format!("/{SHARE}/in/district 7"), &samba.password);
    // Many 1 MiB write blocks and a short last one, with non-ASCII text and CRLF rows.
    let mut csv = b"id,name,school\r\n".to_vec();
    let mut i = 0u32;
    while csv.len() < 9 * 1024 * 1024 + 12345 {
        csv.extend_from_slice(format!("{i},Zoë Ñandú {i},École {}\r\n", i % 97).as_bytes());
        i += 1;
    }
    let local = tempfile::tempdir().unwrap();
    let file = local.path().join("roster.csv");
    std::fs::write(&file, &csv).unwrap();
    let logged = std::sync::Mutex::new(Vec::new());
    let d = deliver(&s, &env(local.path()), &file, "roster 2026.csv", &|l| {
        logged.lock().unwrap().push(l);
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\nsmbd:\n{}", samba.log()));
    assert_eq!(d.remote_path, format!("/{SHARE}/in/district 7/roster 2026.csv"));
    assert_eq!(d.auth_method.as_deref(), Some("NTLM"));
    let got = samba.smbclient_get(&d.remote_path);
    assert!(
        got == csv,
        "smbclient read {} bytes, {} were delivered",
        got.len(),
        csv.len()
    );
    assert!(
        SharePeek {
            root: samba.share_dir()
        }
        .read(&d.remote_path)
            == Some(csv)
    );
    for line in logged.lock().unwrap().iter() {
        assert!(!line.contains(&samba.password), "a log line holds the password");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_is_its_own_clear_error_and_is_not_retried() {
    let samba = Samba::start();
    let wrong = format!("Wrong-{}", uuid::Uuid::new_v4().simple());
    let s = samba.destination(&format!("/{SHARE}/in"), &wrong);
    let e = refused(&s).await;
    let text = e.to_string();
    assert_eq!(e.kind, FailureKind::Auth, "{text}");
    assert_eq!(e.attempts.len(), 1, "a refused login is not retried: {text}");
    assert!(
        text.contains("refused the login") && text.contains(USER) && text.contains("NTLM"),
        "{text}"
    );
    assert!(text.contains(&format!("127.0.0.1:{}", samba.port)), "{text}");
    for secret in [&wrong, &samba.password] {
        assert!(!text.contains(secret.as_str()), "the error holds a password: {text}");
        assert!(!format!("{e:?}").contains(secret.as_str()), "Debug holds a password");
    }
    assert!(samba.share_dir().join("in").read_dir().unwrap().next().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_share_is_not_found_and_names_the_share() {
    let samba = Samba::start();
    let s = samba.destination("/nosuchshare/in", &samba.password);
    let e = refused(&s).await;
    let text = e.to_string();
    assert_eq!(e.kind, FailureKind::NotFound, "{text}");
    assert_eq!(e.attempts.len(), 1, "{text}");
    assert!(text.contains("no share named 'nosuchshare'"), "{text}");
    assert!(!text.contains(&samba.password), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn test_connection_reports_the_dialect_and_leaves_nothing() {
    let samba = Samba::start();
    let s = samba.destination(&format!("/{SHARE}/in/probe"), &samba.password);
    let probe = test_connection(&s, &env(samba.dir.path()))
        .await
        .unwrap_or_else(|e| panic!("{e}\nsmbd:\n{}", samba.log()));
    let get = |k: &str| probe.info.details.iter().find(|(l, _)| l == k).map(|(_, v)| v.clone());
    let library = get("client library").expect("the client library is reported");
    assert!(library.starts_with("libsmbclient 4."), "{library}");
    let offered = get("dialects offered").expect("the dialects offered are reported");
    assert!(offered.contains("SMB 2.0.2 to SMB 3.1.1"), "{offered}");
    assert_eq!(probe.info.auth_method.as_deref(), Some("NTLM"));
    assert!(probe.test_file.starts_with(&format!("/{SHARE}/in/probe/ferry-test-")));
    assert_eq!(
        SharePeek {
            root: samba.share_dir()
        }
        .names(&format!("/{SHARE}/in/probe")),
        Vec::<String>::new(),
        "the 1-byte file is removed"
    );
    let shown = format!("{:?}", probe.info);
    assert!(!shown.contains(&samba.password), "{shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_is_not_there_is_a_retried_network_error() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), "Secret-never-shown").unwrap();
    let raw: RawDestination = toml::from_str(&format!(
        "mode = 'smb'\nserver = '127.0.0.1'\nport = {port}\npath = '/{SHARE}'\nusername = '{USER}'\n\
         password = 'file:{}/pw'\ntimeout = '5s'\nattempts = 2\nretry_delay = '10ms'\n",
        dir.path().display()
    ))
    .unwrap();
    let s = raw.validate("vendor", Path::new("/")).unwrap();
    let logged = std::sync::Mutex::new(Vec::new());
    let kept = dir.path().join("pw");
    let e = deliver(&s, &env(dir.path()), &kept, "x.csv", &|l| {
        logged.lock().unwrap().push(l);
    })
    .await
    .unwrap_err();
    let text = e.to_string();
    assert_eq!(e.kind, FailureKind::Network, "{text}");
    assert_eq!(e.attempts.len(), 2, "{text}");
    // Each message says where things stand: the retry, then the end.
    let logged = logged.lock().unwrap();
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(
        logged[0].contains("attempt 1 of 2 failed")
            && logged[0].contains("ferry tries again in")
            && logged[0].contains(&format!("the file is kept at {}", kept.display())),
        "{}",
        logged[0]
    );
    assert!(
        text.contains("attempt 2 of 2, the last one; ferry does not try again in this run")
            && text.contains(&format!("the file is kept at {}", kept.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!("127.0.0.1:{port}")) && text.contains("refused"),
        "{text}"
    );
    assert!(!text.contains("Secret-never-shown"), "{text}");
}

/// The SHA-256 of `file`, from coreutils' `sha256sum` (an independent
/// reader, and fast on hundreds of megabytes in a debug build).
fn sha256sum(file: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(file)
        .output()
        .expect("sha256sum (coreutils) runs");
    assert!(out.status.success(), "sha256sum {}", file.display());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// `megabytes` MiB of random bytes in `file`.
fn random_file(file: &Path, megabytes: u32) {
    let out = Command::new("head")
        .args(["-c", &format!("{megabytes}M"), "/dev/urandom"])
        .stdout(std::fs::File::create(file).unwrap())
        .status()
        .unwrap();
    assert!(out.success());
    assert_eq!(std::fs::metadata(file).unwrap().len(), u64::from(megabytes) << 20);
}

/// Writes 200 MB of other data to disk and waits for it to reach the disk,
/// as the heavy writes that made the old client stall did.
fn heavy_disk_write(dir: &Path) {
    let ballast = dir.join("ballast");
    let out = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", ballast.display()))
        .args(["bs=1M", "count=200", "conv=fdatasync", "status=none"])
        .output()
        .expect("dd runs");
    assert!(out.status.success(), "dd: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_file(ballast).unwrap();
}

/// The names in `folder` that are ferry temporaries.
fn temporaries(folder: &Path) -> Vec<String> {
    std::fs::read_dir(folder)
        .map(|d| {
            d.filter_map(std::result::Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".ferry-") && n.ends_with(".partial"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_200_mb_deliveries_after_heavy_disk_writes_all_arrive_whole_with_one_attempt_each() {
    let samba = Samba::start();
    let s = samba.destination_with(&format!("/{SHARE}/in"), &samba.password, "attempts = 1\n");
    assert_eq!(s.retry.attempts, 1);
    let local = tempfile::tempdir().unwrap();
    let file = local.path().join("big.bin");
    random_file(&file, 200);
    let want = sha256sum(&file);
    let started = Instant::now();
    for round in 1..=20 {
        heavy_disk_write(local.path());
        let t = Instant::now();
        let d = deliver(&s, &env(local.path()), &file, "big.bin", &|_| {})
            .await
            .unwrap_or_else(|e| panic!("delivery {round} of 20 failed: {e}\nsmbd:\n{}", samba.log()));
        let took = t.elapsed();
        let got = samba.smbclient_get_file(&d.remote_path);
        assert_eq!(sha256sum(&got), want, "delivery {round}: smbclient read other bytes");
        std::fs::remove_file(got).unwrap();
        eprintln!("SMB 200 MB delivery {round}/20 in {took:?}");
    }
    eprintln!("20 SMB deliveries of 200 MB in {:?}", started.elapsed());
    assert!(temporaries(&samba.share_dir().join("in")).is_empty());
}

/// The child side of the kill test: delivers the file the parent names,
/// until the parent kills it.
const KILL_CHILD: &str = "FERRY_TEST_SMB_KILL_CHILD";

/// A journal for which no delivery is in flight, as the ledger says once
/// the killed process is gone: the sweep may remove its temporary.
struct NothingInFlight;

#[async_trait::async_trait]
impl ferry::deliver::commit::Journal for NothingInFlight {
    async fn in_flight(&self) -> Result<Option<Vec<String>>, String> {
        Ok(Some(Vec::new()))
    }
    async fn committing(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Ten times: a process delivering 100 MB to Samba is SIGKILLed while its
/// temporary is being written; the final name never shows a partial file
/// (absent the first time, the last whole file after), and the next
/// delivery arrives whole (read back with smbclient) and sweeps the
/// killed one's temporary.
#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_smb_upload_ten_times_never_leaves_a_partial_file() {
    if let Ok(spec) = std::env::var(KILL_CHILD) {
        // "port|password file|local file"
        let parts: Vec<&str> = spec.split('|').collect();
        let raw: RawDestination = toml::from_str(&format!(
            "mode = 'smb'\nserver = '127.0.0.1'\nport = {}\npath = '/{SHARE}/in'\nusername = '{USER}'\n\
             password = 'file:{}'\ntimeout = '20s'\nattempts = 1\n",
            parts[0], parts[1]
        ))
        .unwrap();
        let s = raw.validate("vendor", Path::new("/")).unwrap();
        let file = Path::new(parts[2]);
        let _ = deliver(&s, &env(file.parent().unwrap()), file, "big.bin", &|_| {}).await;
        // Only a delivery that outran the kill gets here.
        std::process::exit(3);
    }
    let samba = Samba::start();
    let folder = samba.share_dir().join("in");
    let local = tempfile::tempdir().unwrap();
    let file = local.path().join("big.bin");
    random_file(&file, 100);
    let want = sha256sum(&file);
    let pw = local.path().join("pw");
    std::fs::write(&pw, &samba.password).unwrap();
    let s = samba.destination_with(&format!("/{SHARE}/in"), &samba.password, "attempts = 1\n");
    let mut mid_upload = 0;
    for round in 1..=10 {
        let before = std::fs::read(folder.join("big.bin")).ok();
        let serving = samba.children();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "smb::sigkill_mid_smb_upload_ten_times_never_leaves_a_partial_file",
                "--nocapture",
            ])
            .env(
                KILL_CHILD,
                format!("{}|{}|{}", samba.port, pw.display(), file.display()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill once the temporary holds some of the file, not all of it.
        let started = Instant::now();
        loop {
            let growing = temporaries(&folder)
                .iter()
                .any(|t| std::fs::metadata(folder.join(t)).is_ok_and(|m| m.len() > (8 << 20) && m.len() < (90 << 20)));
            if growing {
                break;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("round {round}: the delivering process ended ({status}) before it could be killed");
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "round {round}: no temporary grew in {} within 120 s\nsmbd:\n{}",
                folder.display(),
                samba.log()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let left = temporaries(&folder);
        if !left.is_empty() {
            mid_upload += 1;
        }
        assert_eq!(
            std::fs::read(folder.join("big.bin")).ok(),
            before,
            "round {round}: the final name changed under a killed upload"
        );
        // The next delivery arrives whole and sweeps what the killed one
        // left, once the server has let go of the killed connection's open
        // file (no client can remove a file another session holds open).
        samba.wait_for_connections_to_end(&serving, &format!("round {round}"));
        let plan = ferry::deliver::commit::plan(&s, "big.bin").unwrap();
        let d = ferry::deliver::deliver_planned(&s, &env(local.path()), &file, &plan, &NothingInFlight, &|_| {})
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "round {round}: the delivery after the kill failed: {e}\nsmbd:\n{}",
                    samba.log()
                )
            });
        let got = samba.smbclient_get_file(&d.remote_path);
        assert_eq!(sha256sum(&got), want, "round {round}: smbclient read other bytes");
        std::fs::remove_file(got).unwrap();
        assert_eq!(
            temporaries(&folder),
            Vec::<String>::new(),
            "round {round}: the killed upload's temporary was not swept (it was {left:?})"
        );
    }
    assert_eq!(mid_upload, 10, "every kill landed mid-upload");
}

#[test]
fn a_stale_temporary_of_another_file_is_swept_at_the_next_smb_delivery() {
    let samba = Samba::start();
    let p = crate::harness::Project::new();
    p.config(&format!(
        "timezone = \"America/Chicago\"\n[databases.live]\nurl = \"sqlite:fixture.db\"\n{}",
        samba.toml(&format!("/{SHARE}/in"))
    ));
    crate::sweep::script(&p);
    let folder = samba.share_dir().join("in");
    crate::sweep::plant(&folder);
    crate::sweep::run_and_check(&p, &folder, &[("FERRY_TEST_SMB_PW", samba.password.as_str())], || {
        samba.log()
    });
}
