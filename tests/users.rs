//! Console logins from the command line: users with passwords, groups and
//! rights, and API tokens, through the built `ferry` program.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::harness::{Output, Project};

const PASSWORD: &str = "Tr0ub4dor & 3 horses";

/// Runs ferry with `input` on its standard input.
fn ferry_with_stdin(p: &Project, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .current_dir(p.dir.path())
        .env_remove("FERRY_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn users_with_passwords_groups_rights_and_tokens() {
    let p = Project::new();
    let mut seen = Vec::new();
    let mut keep = |o: Output| {
        seen.push(format!("{}{}", o.stdout, o.stderr));
        o
    };

    // A missing group is refused before anything is made.
    let out = keep(ferry_with_stdin(
        &p,
        &["users", "add", "ann", "--group", "editors", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    ));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("there is no group 'editors'") && out.stderr.contains("ferry groups add editors"),
        "{}",
        out.stderr
    );
    // A short password is refused, and not echoed.
    keep(p.ferry(&["groups", "add", "editors"])).ok();
    let out = keep(ferry_with_stdin(
        &p,
        &["users", "add", "ann", "--group", "editors", "--password-stdin"],
        "short\n",
    ));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("at least 8 characters"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("short\n") && !out.stderr.contains("'short'"),
        "{}",
        out.stderr
    );
    let list = keep(p.ferry(&["users", "list", "--wide"]));
    assert!(list.ok().contains("no users yet"), "no half-made user: {}", list.stdout);

    keep(p.ferry(&["groups", "grant", "editors", "write"])).ok();
    let out = keep(ferry_with_stdin(
        &p,
        &[
            "users",
            "add",
            "ann",
            "--group",
            "editors",
            "--right",
            "read",
            "--right",
            "run",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\r\n"),
    ));
    assert!(out.ok().contains("added user ann"), "{}", out.stdout);
    assert!(out.stdout.contains("can log in"), "{}", out.stdout);
    keep(p.ferry(&["users", "add", "bob", "--email", "bob@example.org"])).ok();

    let list = keep(p.ferry(&["users", "list", "--wide"]));
    let text = list.ok();
    let ann = text.lines().find(|l| l.contains(" ann ")).expect("ann is listed");
    assert!(ann.contains("yes") && ann.contains("read, run, write"), "{text}");
    let bob = text.lines().find(|l| l.contains(" bob ")).expect("bob is listed");
    assert!(bob.contains(" no "), "{text}");

    let rights = keep(p.ferry(&["users", "rights", "ann"]));
    let text = rights.ok();
    let line = |right: &str| {
        text.lines()
            .find(|l| l.contains(&format!(" {right} ")))
            .unwrap_or_else(|| panic!("{right} in {text}"))
            .to_string()
    };
    assert!(line("read").contains("given by name"), "{text}");
    assert!(line("run").contains("given by name"), "{text}");
    assert!(line("write").contains("group editors"), "{text}");
    // A group's right is not revoked through the user, and the error says where it comes from.
    let out = keep(p.ferry(&["users", "revoke", "ann", "write"]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("ferry groups revoke editors write"),
        "{}",
        out.stderr
    );

    // The password set from stdin, line ending stripped, is the one that works.
    let app_ok = tokio_check(&p, "ann", PASSWORD);
    assert!(app_ok, "the piped password logs in");
    assert!(!tokio_check(&p, "ann", &format!("{PASSWORD}\r")));

    // `users password --stdin` replaces it.
    let out = keep(ferry_with_stdin(
        &p,
        &["users", "password", "bob", "--stdin"],
        "bobs new password\n",
    ));
    out.ok();
    assert!(tokio_check(&p, "bob", "bobs new password"));
    let out = keep(ferry_with_stdin(
        &p,
        &["users", "password", "carol", "--stdin"],
        "whatever123\n",
    ));
    assert!(out.stderr.contains("there is no user 'carol'"), "{}", out.stderr);

    // Tokens: shown once at creation, never in the list.
    let out = keep(p.ferry(&["tokens", "create", "ann", "--label", "nightly export"]));
    let text = out.ok().to_string();
    let token = text
        .lines()
        .find(|l| l.starts_with("ferry_"))
        .unwrap_or_else(|| panic!("the token is printed: {text}"))
        .to_string();
    assert!(text.contains("cannot show it again"), "{text}");
    let list = keep(p.ferry(&["tokens", "list", "--wide"]));
    let listed = list.ok();
    assert!(
        listed.contains("nightly export") && listed.contains("never"),
        "{listed}"
    );
    assert!(!listed.contains(&token) && !listed.contains("ferry_"), "{listed}");
    assert!(keep(p.ferry(&["tokens", "list", "--wide", "--user", "bob"]))
        .ok()
        .contains("no API tokens"));
    let out = keep(p.ferry(&["tokens", "create", "nobody", "--label", "x"]));
    assert!(out.stderr.contains("there is no user 'nobody'"), "{}", out.stderr);

    let id = listed
        .lines()
        .find(|l| l.contains("nightly export"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .to_string();
    assert!(keep(p.ferry(&["tokens", "revoke", &id]))
        .ok()
        .contains(&format!("revoked API token {id}")));
    let out = keep(p.ferry(&["tokens", "revoke", &id]));
    assert!(
        out.stderr.contains(&format!("there is no API token {id}")),
        "{}",
        out.stderr
    );
    assert!(keep(p.ferry(&["tokens", "list", "--wide"]))
        .ok()
        .contains("no API tokens"));

    // The help lists the console's rights beside the data rights.
    let help = keep(p.ferry(&["users", "grant", "--help"]));
    for right in ["read", "write", "add", "delete", "run", "manage_users", "adhoc", "ssn"] {
        assert!(help.ok().contains(right), "{right}: {}", help.stdout);
    }

    for text in &seen {
        assert!(!text.contains(PASSWORD), "the password was printed: {text}");
        assert!(!text.contains("bobs new password"), "the password was printed: {text}");
    }
    // The token was printed once, at creation, and nowhere else.
    assert_eq!(seen.iter().filter(|t| t.contains(&token)).count(), 1);
}

/// Checks a password through the library against the project's store.
fn tokio_check(p: &Project, user: &str, password: &str) -> bool {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let app = p.app().await;
        app.store.check_password(user, password).await.unwrap()
    })
}

#[test]
fn a_user_added_without_a_password_is_told_how_they_will_sign_in() {
    crate::harness::Test::new()
        .args(&["users", "add", "clerk"])
        .stdout_has("cannot log in (no password); `ferry users password clerk` sets one")
        .run()
        .then()
        .config(
            r#"[databases.live]
url = "sqlite:fixture.db"
[console.oidc]
issuer = "http://127.0.0.1:9/"
client_id = "ferry"
client_secret = "env:FERRY_TEST_OIDC_SECRET"
allowed_domains = ["district.org"]
"#,
        )
        .args(&["users", "add", "jsmith"])
        .stdout_has("signs in to the console through single sign-on ([console.oidc])")
        .stdout_lacks("cannot log in")
        .run();
}
