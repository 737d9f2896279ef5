//! The PGP keyring and the `encrypt()`/`sign()` primitives without GnuPG:
//! the keyring's commands, the load-time checks of options and the
//! messages for missing keys and secrets. What the messages decrypt and
//! verify to is read back by `gpg` in the server suite (tests/servers/pgp.rs).

use ferry::state::Trigger;

use crate::harness::Project;

const PASSPHRASE: &str = "Main-T3st-pgp-pass";

fn keyring(p: &Project) {
    std::fs::write(p.path("pgp.pass"), PASSPHRASE).unwrap();
    p.ferry(&[
        "keys",
        "pgp",
        "generate",
        "district",
        "--user-id",
        "District Data <data@district.example>",
        "--passphrase",
        "file:pgp.pass",
    ])
    .ok();
}

/// generate, list, show, import refusals and remove, through the binary.
#[test]
fn the_pgp_keyring_generates_lists_shows_and_removes_keys() {
    let p = Project::new();
    assert!(p.ferry(&["keys", "pgp", "list", "--wide"]).ok().contains("no PGP keys"));
    keyring(&p);
    let list = p.ferry(&["keys", "pgp", "list", "--wide"]);
    let text = list.ok();
    assert!(
        text.contains("district") && text.contains("District Data <data@district.example>"),
        "{text}"
    );
    assert!(
        text.contains("usable") && text.contains("never") && text.contains("yes"),
        "{text}"
    );
    let show = p.ferry(&["keys", "pgp", "show", "district"]);
    assert!(
        show.ok().starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----")
            && show.stdout.trim_end().ends_with("-----END PGP PUBLIC KEY BLOCK-----"),
        "{}",
        show.stdout
    );
    assert!(!show.stdout.contains("PRIVATE"));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(p.path(".ferry/pgp/district.sec.asc"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // The same name twice, a secret key offered as a vendor's, and a file
    // that is no key are each refused.
    let again = p.ferry(&[
        "keys",
        "pgp",
        "generate",
        "district",
        "--user-id",
        "x",
        "--passphrase",
        "file:pgp.pass",
    ]);
    assert!(
        again.stderr.contains("a PGP key named 'district' already exists"),
        "{again:?}"
    );
    let secret = p.path(".ferry/pgp/district.sec.asc");
    let e = p.ferry(&[
        "keys",
        "pgp",
        "import",
        secret.to_str().unwrap(),
        "--name",
        "v",
        "--yes",
    ]);
    assert!(
        e.stderr
            .contains("holds a secret key: import only the vendor's public key"),
        "{e:?}"
    );
    std::fs::write(p.path("junk.asc"), "hello").unwrap();
    let e = p.ferry(&["keys", "pgp", "import", "junk.asc", "--yes"]);
    assert!(e.stderr.contains("junk.asc is not an OpenPGP public key"), "{e:?}");
    // A fingerprint the vendor did not confirm stops the import.
    std::fs::write(p.path("mine.asc"), &show.stdout).unwrap();
    let e = p.ferry(&["keys", "pgp", "import", "mine.asc", "--fingerprint", "ABCD 1234"]);
    assert!(
        e.stderr
            .contains("not ABCD 1234: it is not the key the vendor confirmed; nothing was imported"),
        "{e:?}"
    );
    // Its public half imports under another name, named after the file.
    let ok = p.ferry(&["keys", "pgp", "import", "mine.asc", "--yes"]);
    assert!(ok.ok().contains("imported 'mine' (usable)"), "{}", ok.stdout);

    p.ferry(&["keys", "pgp", "remove", "mine"]).ok();
    p.ferry(&["keys", "pgp", "remove", "district"]).ok();
    assert!(p.ferry(&["keys", "pgp", "list", "--wide"]).ok().contains("no PGP keys"));
    let e = p.ferry(&["keys", "pgp", "remove", "district"]);
    assert!(e.stderr.contains("there is no PGP key named 'district'"), "{e:?}");
    p.assert_not_stored(".ferry", PASSPHRASE);
}

/// Option names are checked when the script loads; a missing key, an unset
/// passphrase and a public-only signing key stop the run with the line and
/// the key's name, never the passphrase.
#[tokio::test(flavor = "multi_thread")]
async fn encrypt_and_sign_check_options_keys_and_secrets() {
    let p = Project::new();
    p.sqlite("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);");
    keyring(&p);
    let settings = p.settings();
    for (script, expected) in [
        (
            "encrypt(f, #{ to: \"district\", sigh: \"district\" });",
            "opt.rhai:2: encrypt(): unknown option 'sigh' (options: to, sign, armor, ext)",
        ),
        (
            "sign(f, #{ kee: \"district\" });",
            "opt.rhai:2: sign(): unknown option 'kee' (options: key, armor, ext)",
        ),
    ] {
        p.script(
            "opt",
            &format!("let f = csv(query(\"live\", \"SELECT x FROM t\"));\n{script}\n"),
        );
        let e = ferry::script::Script::load(&p.path("scripts/opt.rhai"), &settings)
            .unwrap_err()
            .to_string();
        assert!(e.contains(expected), "{e}");
    }
    for (script, expected) in [
        (
            "encrypt(f, #{ to: \"acme\" });",
            "encrypt(): there is no PGP key named 'acme'",
        ),
        ("encrypt(f, #{ armor: true });", "encrypt(): option to is missing"),
        (
            "encrypt(f, #{ to: \"district\", ext: \"p/gp\" });",
            "option ext: expected letters and digits",
        ),
        ("sign(f, #{ key: \"nobody\" });", "there is no PGP key named 'nobody'"),
    ] {
        p.script(
            "bad",
            &format!("let f = csv(query(\"live\", \"SELECT x FROM t\"));\n{script}\n"),
        );
        let e = p.run("bad", Trigger::Manual, &[]).await.error.unwrap();
        assert!(e.contains("bad.rhai:2:") && e.contains(expected), "{script}: {e}");
    }

    // The passphrase's reference is named when it cannot be read.
    std::fs::remove_file(p.path("pgp.pass")).unwrap();
    p.script(
        "sig",
        "let f = csv(query(\"live\", \"SELECT x FROM t\"));\nsign(f, #{ key: \"district\" });\n",
    );
    let e = p.run("sig", Trigger::Manual, &[]).await.error.unwrap();
    assert!(
        e.contains("sig.rhai:2:")
            && e.contains("sign(): PGP key 'district': secret file:")
            && e.contains("pgp.pass cannot be read"),
        "{e}"
    );
    // A vendor's key (public only) cannot sign.
    std::fs::write(p.path("pgp.pass"), PASSPHRASE).unwrap();
    let public = p.ferry(&["keys", "pgp", "show", "district"]).ok().to_string();
    std::fs::write(p.path("vendor.asc"), public).unwrap();
    p.ferry(&["keys", "pgp", "import", "vendor.asc", "--yes"]).ok();
    p.script(
        "sig",
        "let f = csv(query(\"live\", \"SELECT x FROM t\"));\nsign(f, #{ key: \"vendor\" });\n",
    );
    let e = p.run("sig", Trigger::Manual, &[]).await.error.unwrap();
    assert!(e.contains("PGP key 'vendor' has no secret part in the keyring"), "{e}");
    p.assert_not_stored(".ferry", PASSPHRASE);
}
