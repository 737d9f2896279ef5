//! Real vsftpd servers for the server suite: `/usr/sbin/vsftpd` started on
//! 127.0.0.1 with a configuration, key and certificate generated in a
//! temporary folder, TLS forced on logins and data, and vsftpd's default
//! `require_ssl_reuse=YES` left in force. Logins are as a dedicated non-root
//! user, so a folder with mode 000 really is locked.
//!
//! A missing vsftpd (or openssl, useradd, chpasswd) fails the test with the
//! package to install; it never skips.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

/// The login the tests create.
pub const FTP_USER: &str = "ferryftp";
/// Its password, set on every run (tests grep outputs for it).
pub const FTP_PASSWORD: &str = "Vsftpd-Real-Pw-5150";

fn must(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what} ({e}): install it (Debian: see the FTPS tests' packages)"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Creates the login if missing and sets its password; vsftpd's PAM service
/// wants the user's shell listed in /etc/shells (bash is).
fn ensure_user() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let exists = Command::new("id")
            .arg(FTP_USER)
            .output()
            .is_ok_and(|o| o.status.success());
        if !exists {
            must(
                Command::new("useradd").args(["-m", "-s", "/bin/bash", FTP_USER]),
                "useradd (package passwd)",
            );
        }
        let mut child = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chpasswd (package passwd) is installed");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{FTP_USER}:{FTP_PASSWORD}\n").as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "chpasswd failed");
    });
}

fn chown_user(path: &Path) {
    must(Command::new("chown").arg(FTP_USER).arg(path), "chown");
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A running vsftpd; killed (with its session processes) when dropped.
pub struct Vsftpd {
    /// Configuration, certificate, key, log; also holds `srv/`.
    pub dir: tempfile::TempDir,
    /// A folder the login may write to (absolute on the server).
    pub writable: PathBuf,
    /// A folder with mode 000 owned by the login.
    pub locked: PathBuf,
    /// The control port on 127.0.0.1.
    pub port: u16,
    /// The certificate's SHA-256 fingerprint as openssl prints it, lowercase
    /// hex without colons.
    pub fingerprint: String,
    /// Implicit TLS (port 990 style) rather than AUTH TLS.
    pub implicit: bool,
    child: Child,
}

impl Vsftpd {
    /// Starts vsftpd with explicit (`implicit = false`) or implicit TLS.
    pub fn start(implicit: bool) -> Vsftpd {
        let binary = Path::new("/usr/sbin/vsftpd");
        assert!(
            binary.exists(),
            "/usr/sbin/vsftpd is missing: the FTPS server tests need it (apt-get install -y vsftpd)"
        );
        ensure_user();
        let dir = tempfile::Builder::new().prefix("ferry-vsftpd").tempdir().unwrap();
        // The login must be able to walk down to its folders.
        chmod(dir.path(), 0o755);
        let d = dir.path();
        let empty = d.join("empty");
        let srv = d.join("srv");
        let writable = srv.join("in");
        let locked = srv.join("locked");
        for f in [&empty, &srv, &writable, &locked] {
            std::fs::create_dir_all(f).unwrap();
            chmod(f, 0o755);
        }
        chown_user(&writable);
        chown_user(&locked);
        chmod(&locked, 0o000);
        let (cert, key) = (d.join("cert.pem"), d.join("key.pem"));
        must(
            Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=localhost",
                ])
                .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout"])
                .arg(&key)
                .arg("-out")
                .arg(&cert),
            "openssl (package openssl)",
        );
        let printed = must(
            Command::new("openssl")
                .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
                .arg(&cert),
            "openssl",
        );
        let fingerprint = printed
            .trim()
            .rsplit('=')
            .next()
            .unwrap()
            .replace(':', "")
            .to_ascii_lowercase();
        assert_eq!(fingerprint.len(), 64, "{printed}");
        let port = free_port();
        let pasv = free_port().clamp(20000, 60000);
        let config = d.join("vsftpd.conf");
        std::fs::write(
            &config,
            format!(
                "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port={port}\nbackground=NO\n\
                 anonymous_enable=NO\nlocal_enable=YES\nwrite_enable=YES\nlocal_umask=022\n\
                 chroot_local_user=NO\nseccomp_sandbox=NO\nsecure_chroot_dir={empty}\n\
                 pam_service_name=vsftpd\n\
                 ssl_enable=YES\nrsa_cert_file={cert}\nrsa_private_key_file={key}\nssl_ciphers=HIGH\n\
                 force_local_logins_ssl=YES\nforce_local_data_ssl=YES\nallow_anon_ssl=NO\n\
                 implicit_ssl={implicit}\n\
                 pasv_enable=YES\npasv_min_port={pasv}\npasv_max_port={pasv_max}\n\
                 xferlog_enable=YES\nlog_ftp_protocol=YES\nvsftpd_log_file={log}\n",
                empty = empty.display(),
                cert = cert.display(),
                key = key.display(),
                implicit = if implicit { "YES" } else { "NO" },
                pasv_max = pasv + 100,
                log = d.join("vsftpd.log").display(),
            ),
        )
        .unwrap();
        let stderr = std::fs::File::create(d.join("stderr.log")).unwrap();
        let mut child = {
            use std::os::unix::process::CommandExt;
            Command::new(binary)
                .arg(&config)
                .stdout(Stdio::null())
                .stderr(stderr)
                // A group of its own: the session processes it forks die with it.
                .process_group(0)
                .spawn()
                .expect("vsftpd starts")
        };
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "vsftpd exited at once ({status}): {}",
                    std::fs::read_to_string(d.join("stderr.log")).unwrap_or_default()
                );
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "vsftpd did not listen on 127.0.0.1:{port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Vsftpd {
            dir,
            writable,
            locked,
            port,
            fingerprint,
            implicit,
            child,
        }
    }

    /// The destination mode for this server.
    pub fn mode(&self) -> &'static str {
        if self.implicit {
            "ftps-implicit"
        } else {
            "ftps-explicit"
        }
    }

    /// What vsftpd logged (its protocol log and its stderr).
    pub fn log(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
        format!("{}{}", read("vsftpd.log"), read("stderr.log"))
    }

    /// A `[destinations.NAME]` body for this server, pinned to its
    /// certificate, reading the password from `password_var`.
    pub fn toml(&self, path: &Path, password_var: &str) -> String {
        format!(
            "mode = \"{}\"\nserver = \"127.0.0.1\"\nport = {}\npath = \"{}\"\nusername = \"{FTP_USER}\"\n\
             password = \"env:{password_var}\"\npinned_certificate = \"sha256:{}\"\ntimeout = \"30s\"\n\
             retry_delay = \"1s\"\n",
            self.mode(),
            self.port,
            path.display(),
            self.fingerprint
        )
    }

    /// The destination settings for `path`, with the real password.
    pub fn destination(&self, path: &Path) -> ferry::config::DestinationSettings {
        std::env::set_var("FERRY_TEST_VSFTPD_PASSWORD", FTP_PASSWORD);
        let raw: ferry::config::RawDestination =
            toml::from_str(&self.toml(path, "FERRY_TEST_VSFTPD_PASSWORD")).unwrap();
        raw.validate("vendor", self.dir.path()).unwrap()
    }

    /// `remote` read back with curl (`ftp://` + `--ssl-reqd` for explicit,
    /// `ftps://` for implicit), certificate unchecked: curl is the
    /// independent reader here, not the trust test.
    pub fn curl_get(&self, remote: &Path) -> Vec<u8> {
        let scheme = if self.implicit { "ftps" } else { "ftp" };
        let path: String = remote
            .display()
            .to_string()
            .trim_start_matches('/')
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'.' | b'-' | b'_' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let out = Command::new("curl")
            .args(["-sS", "--ssl-reqd", "-k", "-u"])
            .arg(format!("{FTP_USER}:{FTP_PASSWORD}"))
            .arg(format!("{scheme}://127.0.0.1:{}/%2F{path}", self.port))
            .output()
            .expect("curl is installed (apt-get install -y curl)");
        assert!(
            out.status.success(),
            "curl could not read {}: {}\n{}",
            remote.display(),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        out.stdout
    }
}

impl Drop for Vsftpd {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
