//! OpenPGP against GnuPG: keys are made by `gpg` in a throwaway GNUPGHOME,
//! imported with `ferry keys pgp import`, and what ferry writes is read back
//! by `gpg --decrypt` and `gpg --verify`. The encrypted extract travels over
//! the real OpenSSH server of the SFTP suite and is fetched with `sftp`.
//! A missing `gpg` fails these tests (CI installs Debian's gnupg); they
//! never skip.

use std::path::Path;
use std::process::{Command, Stdio};

use ferry::state::Trigger;

use crate::harness::{sqlite_column, Project};

/// A GnuPG home of its own, so tests never touch a real keyring.
struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    fn new() -> Gpg {
        let home = tempfile::tempdir().unwrap();
        std::fs::set_permissions(home.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        Gpg { home }
    }

    /// Runs gpg with `args`, feeding `stdin`; (success, stdout, stderr).
    fn try_run(&self, args: &[&str], stdin: &[u8]) -> (bool, Vec<u8>, String) {
        let mut child = Command::new("gpg")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--batch", "--no-tty", "--pinentry-mode", "loopback"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run gpg ({e}): install GnuPG (apt-get install -y gnupg); the PGP tests need it")
            });
        use std::io::Write;
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            out.stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn run(&self, args: &[&str]) -> Vec<u8> {
        let (ok, out, err) = self.try_run(args, b"");
        assert!(ok, "gpg {args:?} failed: {err}");
        out
    }

    /// Makes a key with no passphrase; its fingerprint.
    fn generate(&self, user_id: &str, extra: &[&str], args: &[&str]) -> String {
        let mut all = vec!["--passphrase", ""];
        all.extend_from_slice(extra);
        all.extend_from_slice(&["--quick-gen-key", user_id]);
        all.extend_from_slice(args);
        self.run(&all);
        self.fingerprint(user_id)
    }

    fn fingerprint(&self, user_id: &str) -> String {
        let listing = String::from_utf8(self.run(&["--with-colons", "--list-keys", user_id])).unwrap();
        listing
            .lines()
            .find(|l| l.starts_with("fpr:"))
            .and_then(|l| l.split(':').nth(9))
            .expect("a fingerprint")
            .to_string()
    }

    /// Writes the armored public key of `user_id` to `path`.
    fn export(&self, user_id: &str, path: &Path) {
        std::fs::write(path, self.run(&["--armor", "--export", user_id])).unwrap();
    }
}

/// `ferry keys pgp import FILE --name NAME --yes` in the project.
fn import(p: &Project, file: &Path, name: &str) -> crate::harness::Output {
    p.ferry(&["keys", "pgp", "import", file.to_str().unwrap(), "--name", name, "--yes"])
}

/// `gpg --decrypt` of `file` with the status lines: (plain text, status).
fn decrypt(gpg: &Gpg, file: &Path) -> (Vec<u8>, String) {
    let status = tempfile::NamedTempFile::new().unwrap();
    let out = gpg.run(&[
        "--status-file",
        status.path().to_str().unwrap(),
        "--decrypt",
        file.to_str().unwrap(),
    ]);
    (out, std::fs::read_to_string(status.path()).unwrap())
}

const ROSTER: &str = r#"let rows = query("live", "SELECT id, name FROM student ORDER BY id");
let f = csv(rows, #{ name: "roster" });
deliver(f, "raw");
"#;

fn with_students(p: &Project) {
    p.sqlite(
        "CREATE TABLE student (id INTEGER, name TEXT);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
         INSERT INTO student SELECT i, 'Zoë O''Brien, ' || i FROM n;",
    );
}

/// The acceptance path: a vendor key made by gpg (Curve25519) and a second
/// one (an RSA primary key that also encrypts, as older vendor keys do)
/// imported with `ferry keys pgp import`, which shows the
/// fingerprint gpg reports; an extract encrypted to both, binary and
/// armored, delivered over SFTP to OpenSSH, fetched with `sftp`, and each
/// vendor's `gpg --decrypt` gives back the plain file byte for byte.
#[tokio::test(flavor = "multi_thread")]
async fn gpg_decrypts_what_ferry_encrypted_and_delivered_over_sftp_byte_for_byte() {
    let (p, env, server) =
        crate::sftp::project_on_openssh("vendor", "\n[destinations.raw]\nmode = \"local\"\npath = \"raw\"\n");
    server.trust(&env).await;
    with_students(&p);
    let acme = Gpg::new();
    let acme_fpr = acme.generate(
        "Acme Rostering <sftp@acme.example>",
        &[],
        &["future-default", "default"],
    );
    let bus = Gpg::new();
    let bus_fpr = bus.generate("Bus Co <it@bus.example>", &[], &["rsa2048", "sign,encr"]);
    acme.export("Acme Rostering", &p.path("acme.asc"));
    bus.export("Bus Co", &p.path("bus.asc"));

    let shown = import(&p, &p.path("acme.asc"), "acme");
    let text = shown.ok();
    let spaced: Vec<String> = acme_fpr
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into())
        .collect();
    assert!(
        text.contains(&spaced.join(" ")),
        "the fingerprint gpg reports is shown: {text}"
    );
    assert!(text.contains("Acme Rostering <sftp@acme.example>"), "{text}");
    assert!(text.contains("expires      20"), "gpg's default keys expire: {text}");
    import(&p, &p.path("bus.asc"), "bus").ok();
    let list = p.ferry(&["keys", "pgp", "list", "--wide"]);
    assert!(
        list.ok().contains(&acme_fpr) && list.stdout.contains(&bus_fpr),
        "{}",
        list.stdout
    );

    p.script(
        "roster",
        &format!(
            "{ROSTER}let e = encrypt(f, #{{ to: [\"acme\", \"bus\"] }});\n\
             if e.name != \"roster.csv.pgp\" || e.rows != 2000 {{ throw `${{e.name}} ${{e.rows}}`; }}\n\
             deliver(e, \"vendor\");\n\
             deliver(encrypt(f, #{{ to: \"acme\", armor: true }}), \"vendor\");\n\
             deliver(encrypt(f, #{{ to: \"bus\", ext: \"gpg\" }}), \"vendor\");\n"
        ),
    );
    let r = p.run("roster", Trigger::Manual, &[]).await;
    assert!(r.succeeded(), "{:?}", r.error);
    let plain = std::fs::read(p.path("raw/roster.csv")).unwrap();
    assert!(plain.len() > 40_000);

    let got = tempfile::tempdir().unwrap();
    for name in ["roster.csv.pgp", "roster.csv.asc", "roster.csv.gpg"] {
        let bytes = crate::sftp::sftp_get(&server, &env, "vendor", &format!("{}/{name}", server.data), &[]);
        std::fs::write(got.path().join(name), bytes).unwrap();
    }
    let armored = std::fs::read_to_string(got.path().join("roster.csv.asc")).unwrap();
    assert!(armored.starts_with("-----BEGIN PGP MESSAGE-----"), "{armored:.60}");
    assert!(!std::fs::read(got.path().join("roster.csv.pgp"))
        .unwrap()
        .windows(11)
        .any(|w| w == b"O'Brien, 17"));
    for (gpg, file) in [
        (&acme, "roster.csv.pgp"),
        (&bus, "roster.csv.pgp"),
        (&acme, "roster.csv.asc"),
        (&bus, "roster.csv.gpg"),
    ] {
        let (out, status) = decrypt(gpg, &got.path().join(file));
        assert_eq!(out, plain, "{file}: {status}");
        assert!(
            status.contains("DECRYPTION_OKAY") && status.contains("GOODMDC"),
            "{status}"
        );
    }
    // The one vendor cannot read what was sent to the other only.
    let (ok, _, err) = acme.try_run(&["--decrypt", got.path().join("roster.csv.gpg").to_str().unwrap()], b"");
    assert!(!ok, "{err}");

    // History: the encrypted files were delivered, with the server's bytes.
    let db = p.path(".ferry/state.db");
    let recorded: Vec<String> = sqlite_column(
        &db,
        "SELECT group_concat(r, '|') FROM (SELECT name || ' ' || sha256 AS r FROM run_files \
         WHERE destination = 'vendor' AND state = 'delivered' ORDER BY name)",
    )[0]
    .split('|')
    .map(str::to_string)
    .collect();
    let mut want: Vec<String> = ["roster.csv.asc", "roster.csv.gpg", "roster.csv.pgp"]
        .iter()
        .map(|n| {
            use sha2::Digest;
            format!(
                "{n} {}",
                hex::encode(sha2::Sha256::digest(std::fs::read(got.path().join(n)).unwrap()))
            )
        })
        .collect();
    want.sort();
    assert_eq!(recorded, want);
}

/// The district's key made by `ferry keys pgp generate` (passphrase from a
/// `file:` reference), exported with `ferry keys pgp show` and imported by
/// gpg: a `sign()`ed file passes `gpg --verify` with that key's
/// fingerprint, an encrypted and signed one decrypts with a good
/// signature, and the passphrase appears in no output, log or history.
#[tokio::test(flavor = "multi_thread")]
async fn files_ferry_signs_verify_with_gpg_against_the_exported_key() {
    const PASSPHRASE: &str = "Pgp-T3st-passphrase!7";
    let p = Project::new();
    p.config(
        "timezone = \"America/Chicago\"\n[databases.live]\nurl = \"sqlite:fixture.db\"\n\
         [destinations.raw]\nmode = \"local\"\npath = \"raw\"\n[destinations.out]\nmode = \"local\"\npath = \"out\"\n",
    );
    with_students(&p);
    std::fs::write(p.path("pgp.pass"), format!("{PASSPHRASE}\n")).unwrap();
    let made = p.ferry(&[
        "keys",
        "pgp",
        "generate",
        "district",
        "--user-id",
        "Springfield SD Data Office <data@springfield.example>",
        "--passphrase",
        "file:pgp.pass",
    ]);
    made.ok();
    let shown = p.ferry(&["keys", "pgp", "show", "district"]);
    let public = shown.ok().to_string();
    assert!(public.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"), "{public}");
    assert!(shown.stderr.contains("secret key   held by ferry"), "{}", shown.stderr);

    let vendor = Gpg::new();
    let (ok, _, err) = vendor.try_run(&["--import"], public.as_bytes());
    assert!(ok, "{err}");
    let district_fpr = vendor.fingerprint("Springfield SD");
    assert!(shown.stderr.contains(&district_fpr[..4]), "{}", shown.stderr);
    vendor.generate(
        "Acme Rostering <sftp@acme.example>",
        &[],
        &["future-default", "default"],
    );
    vendor.export("Acme Rostering", &p.path("acme.asc"));
    import(&p, &p.path("acme.asc"), "acme").ok();

    // The example of docs/scripting.md, as written there.
    let example = crate::harness::documented("### `encrypt(file, options)`", "rhai", 0);
    assert!(example.starts_with(ROSTER), "{example}");
    p.script("signed", &example);
    let r = p.run("signed", Trigger::Manual, &[]).await;
    assert!(r.succeeded(), "{:?}", r.error);
    let plain = std::fs::read(p.path("raw/roster.csv")).unwrap();

    let status = tempfile::NamedTempFile::new().unwrap();
    vendor.run(&[
        "--status-file",
        status.path().to_str().unwrap(),
        "--verify",
        p.path("out/roster.csv.pgp").to_str().unwrap(),
    ]);
    let verified = std::fs::read_to_string(status.path()).unwrap();
    assert!(verified.contains("GOODSIG"), "{verified}");
    assert!(verified.contains(&format!("VALIDSIG {district_fpr}")), "{verified}");
    // The signed message carries the file itself.
    let (inside, _) = decrypt(&vendor, &p.path("out/roster.csv.pgp"));
    assert_eq!(inside, plain);

    let (out, status) = decrypt(&vendor, &p.path("out/roster.csv.asc"));
    assert_eq!(out, plain);
    assert!(status.contains("DECRYPTION_OKAY"), "{status}");
    assert!(status.contains(&format!("VALIDSIG {district_fpr}")), "{status}");

    // A wrong passphrase is refused naming the key and the reference, not the value.
    std::fs::write(p.path("pgp.pass"), "not-it\n").unwrap();
    let e = p.run("signed", Trigger::Manual, &[]).await.error.unwrap();
    assert!(
        e.contains("signed.rhai:4:")
            && e.contains("PGP key 'district': the passphrase file:")
            && e.contains("does not unlock it"),
        "{e}"
    );
    assert!(!e.contains("not-it"), "{e}");
    for text in [&made.stdout, &made.stderr, &shown.stderr, &e] {
        assert!(!text.contains(PASSPHRASE), "{text}");
    }
    p.assert_not_stored(".ferry", PASSPHRASE);
    // The secret key is locked with the passphrase (GnuPG lists its S2K
    // protection), and GnuPG takes it in with that passphrase.
    let sec = std::fs::read(p.path(".ferry/pgp/district.sec.asc")).unwrap();
    let other = Gpg::new();
    let (ok, packets, err) = other.try_run(&["--list-packets"], &sec);
    let packets = String::from_utf8_lossy(&packets);
    assert!(ok && packets.contains("S2K"), "{packets}{err}");
    let (ok, _, err) = other.try_run(&["--passphrase", PASSPHRASE, "--import"], &sec);
    assert!(ok, "{err}");
    let secret = String::from_utf8(other.run(&["--with-colons", "--list-secret-keys"])).unwrap();
    assert!(secret.contains(&district_fpr), "{secret}");
}

/// Each key ferry must not encrypt to is refused at import with its own
/// message naming it: expired (made with a faked clock two years back),
/// revoked (gpg's own revocation certificate imported), signing-only, and
/// ElGamal (an encryption key rpgp cannot encrypt to). A key that expired
/// after it was imported stops the run, naming it.
#[test]
fn expired_revoked_sign_only_and_elgamal_keys_are_each_refused_with_their_own_message() {
    let p = Project::new();
    let gpg = Gpg::new();
    gpg.generate(
        "Expired Vendor <old@vendor.example>",
        &["--faked-system-time", "20200101T000000!"],
        &["future-default", "default", "1y"],
    );
    let revoked_fpr = gpg.generate(
        "Revoked Vendor <rev@vendor.example>",
        &[],
        &["future-default", "default"],
    );
    let cert = std::fs::read_to_string(gpg.home.path().join(format!("openpgp-revocs.d/{revoked_fpr}.rev"))).unwrap();
    let (ok, _, err) = gpg.try_run(&["--import"], cert.replace(":-----BEGIN", "-----BEGIN").as_bytes());
    assert!(ok, "{err}");
    gpg.generate("Signer Only <sig@vendor.example>", &[], &["ed25519", "sign"]);
    let elg = gpg.generate("Old Elgamal <elg@vendor.example>", &[], &["dsa2048", "cert,sign"]);
    gpg.run(&["--passphrase", "", "--quick-add-key", &elg, "elg2048", "encr"]);

    let cases = [
        ("Expired Vendor", "old", "expired on 2020-12-31"),
        ("Revoked Vendor", "revoked", "has been revoked by its owner"),
        (
            "Signer Only",
            "signer",
            "cannot encrypt: it has only a primary Ed25519 key for signing",
        ),
        (
            "Old Elgamal",
            "elgamal",
            "encrypts with ElGamal, which ferry cannot encrypt to",
        ),
    ];
    let mut messages = Vec::new();
    for (uid, name, expected) in cases {
        let file = p.path(&format!("{name}.asc"));
        gpg.export(uid, &file);
        let out = import(&p, &file, name);
        assert_eq!(out.code, 2, "{uid}: {out:?}");
        let fpr = gpg.fingerprint(uid);
        assert!(
            out.stderr.contains(&format!("PGP key '{name}' ({uid} <"))
                && out.stderr.contains(&fpr)
                && out.stderr.contains(expected),
            "{uid}: {}",
            out.stderr
        );
        messages.push(out.stderr.clone());
    }
    messages.dedup();
    assert_eq!(messages.len(), 4);
    assert!(p.ferry(&["keys", "pgp", "list", "--wide"]).ok().contains("no PGP keys"));

    // Time passes after an import: the keyring file is what it was, the
    // key's expiry is now behind it, and the run stops naming the key.
    std::fs::create_dir_all(p.path(".ferry/pgp")).unwrap();
    gpg.export("Expired Vendor", &p.path(".ferry/pgp/old.pub.asc"));
    p.sqlite("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);");
    p.script(
        "late",
        "let f = csv(query(\"live\", \"SELECT x FROM t\"));\ndeliver(encrypt(f, #{ to: \"old\" }), \"out\");\n",
    );
    let listed = p.ferry(&["keys", "pgp", "list", "--wide"]);
    assert!(listed.ok().contains("expired 2020-12-31"), "{}", listed.stdout);
    let run = p.ferry(&["run", "late"]);
    assert_ne!(run.code, 0);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("late.rhai:2:")
            && all.contains("encrypt(): PGP key 'old' (Expired Vendor")
            && all.contains("expired on 2020-12-31"),
        "{all}"
    );
    assert!(p.files("out").is_empty());
}

/// A recipient key that expires within 30 days: the run still encrypts
/// (gpg decrypts it), and the script's `notify` group gets a warning that
/// names the key and the date, once per run.
#[tokio::test(flavor = "multi_thread")]
async fn a_recipient_key_expiring_within_30_days_warns_the_scripts_group() {
    let p = Project::new();
    with_students(&p);
    let gpg = Gpg::new();
    let fpr = gpg.generate(
        "Acme Rostering <sftp@acme.example>",
        &[],
        &["future-default", "default", "10d"],
    );
    gpg.export("Acme Rostering", &p.path("acme.asc"));
    import(&p, &p.path("acme.asc"), "acme").ok();
    p.ferry(&["users", "add", "ann"]).ok();
    p.ferry(&["groups", "add", "tech-admins"]).ok();
    p.ferry(&["groups", "add-member", "tech-admins", "ann"]).ok();
    p.script(
        "soon",
        "//! notify = \"tech-admins\"\nlet f = csv(query(\"live\", \"SELECT id FROM student\"), #{ name: \"ids\" });\n\
         deliver(encrypt(f, #{ to: \"acme\" }), \"out\");\ndeliver(encrypt(f, #{ to: \"acme\", armor: true }), \"out\");\n",
    );
    let r = p.run("soon", Trigger::Manual, &[]).await;
    assert!(r.succeeded(), "{:?}", r.error);
    let (out, _) = decrypt(&gpg, &p.path("out/ids.csv.pgp"));
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 2001, "{text:.40}");
    assert_eq!(text.lines().next(), Some("id"));

    let expires: i64 = String::from_utf8(gpg.run(&["--with-colons", "--list-keys", &fpr]))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("pub:"))
        .and_then(|l| l.split(':').nth(6))
        .unwrap()
        .parse()
        .unwrap();
    let date = chrono::DateTime::from_timestamp(expires, 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    let db = p.path(".ferry/state.db");
    let count = sqlite_column(&db, "SELECT COUNT(*) FROM notifications");
    assert_eq!(count, ["1"], "one warning per run, to the group's one member");
    let rows = sqlite_column(
        &db,
        "SELECT user_name || '|' || level || '|' || script || '|' || message FROM notifications",
    );
    assert!(
        rows[0].starts_with("ann|warn|soon|PGP key 'acme' (Acme Rostering <sftp@acme.example>, fingerprint ")
            && rows[0].contains(&fpr)
            && rows[0].contains(&format!("expires on {date} (in 9 days)"))
            && rows[0].contains("ferry keys pgp import"),
        "{rows:?}"
    );
    // The run's log has it too.
    assert!(r
        .log
        .iter()
        .any(|l| l.level == "warn" && l.message.contains("expires on")));
}
