//! SMB delivery without Samba: what a machine without the `ferry-smb`
//! helper says (the real-server suite, `tests/servers/smb.rs`, covers the
//! rest against smbd).

use std::process::Command;

use crate::harness::Project;

#[test]
fn a_missing_smb_helper_says_how_to_build_it() {
    let p = Project::new();
    p.config(
        r#"timezone = "America/Chicago"
[databases.live]
url = "sqlite:fixture.db"
[destinations.vendor]
mode = "smb"
server = "127.0.0.1"
port = 1
path = "/vendor/in"
username = "ferry"
password = "env:FERRY_TEST_SMB_PASSWORD"
"#,
    );
    p.sqlite("CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (1);");
    p.script(
        "s",
        "deliver(csv(query(\"live\", \"SELECT x FROM one\"), #{ name: \"s\" }), \"vendor\");\n",
    );
    // Not beside the ferry program (cargo's target/debug), not on PATH, no variable.
    let out = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["run", "s"])
        .current_dir(p.dir.path())
        .env_remove("FERRY_CONFIG")
        .env_remove("FERRY_SMB_HELPER")
        .env("PATH", p.path("no-such-folder"))
        .env("FERRY_TEST_SMB_PASSWORD", "Pw-shown-nowhere-42")
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{said}");
    let helper_beside_ferry = std::path::Path::new(env!("CARGO_BIN_EXE_ferry")).with_file_name("ferry-smb");
    assert!(
        !helper_beside_ferry.exists(),
        "this test needs no ferry-smb beside the test build of ferry ({})",
        helper_beside_ferry.display()
    );
    assert!(
        said.contains("needs the helper program ferry-smb")
            && said.contains("cargo build --release --manifest-path smb-helper/Cargo.toml")
            && said.contains("FERRY_SMB_HELPER"),
        "{said}"
    );
    assert!(!said.contains("Pw-shown-nowhere-42"), "{said}");
}
