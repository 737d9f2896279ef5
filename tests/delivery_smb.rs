//! SMB delivery without Samba: ferry speaks SMB in its own process, so the
//! password never reaches a child's environment (the real-server suite,
//! `tests/servers/smb.rs`, covers the protocol against smbd).

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::Project;

/// The children of process `pid` (every thread's), from /proc.
fn children(pid: u32) -> Vec<String> {
    let mut found = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
                found.extend(text.split_whitespace().map(str::to_string));
            }
        }
    }
    found
}

#[test]
fn an_smb_delivery_starts_no_other_program() {
    // A server that accepts the connection and never answers: ferry is
    // mid-SMB (negotiating) for the whole `timeout`, which is when a helper
    // program would be running.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let p = Project::new();
    p.config(&format!(
        r#"timezone = "America/Chicago"
[databases.live]
url = "sqlite:fixture.db"
[destinations.vendor]
mode = "smb"
server = "127.0.0.1"
port = {port}
path = "/vendor/in"
username = "ferry"
password = "env:FERRY_TEST_SMB_PASSWORD"
timeout = "4s"
attempts = 1
"#
    ));
    p.sqlite("CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (1);");
    p.script(
        "s",
        "deliver(csv(query(\"live\", \"SELECT x FROM one\"), #{ name: \"s\" }), \"vendor\");\n",
    );
    let mut ferry = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["run", "s"])
        .current_dir(p.dir.path())
        .env_remove("FERRY_CONFIG")
        .env("FERRY_TEST_SMB_PASSWORD", "Pw-shown-nowhere-42")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = ferry.id();
    listener.set_nonblocking(true).unwrap();
    let started = Instant::now();
    let _conn = loop {
        match listener.accept() {
            Ok((c, _)) => break c,
            Err(_) if started.elapsed() < Duration::from_secs(60) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                let _ = ferry.kill();
                panic!("ferry never connected to the SMB port within 60 s: {e}");
            }
        }
    };
    // Connected and waiting for the server: sample ferry's children.
    let mut samples = 0;
    let watch = Instant::now();
    while watch.elapsed() < Duration::from_millis(1500) {
        let kids = children(pid);
        assert!(
            kids.is_empty(),
            "ferry started another program during an SMB delivery: pids {kids:?}"
        );
        samples += 1;
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(
        ferry.try_wait().unwrap().is_none(),
        "ferry ended before the SMB time-out; the sampling proved nothing"
    );
    assert!(samples > 10, "{samples}");
    let status = ferry.wait().unwrap();
    let mut said = String::new();
    ferry.stdout.take().unwrap().read_to_string(&mut said).unwrap();
    ferry.stderr.take().unwrap().read_to_string(&mut said).unwrap();
    assert!(!status.success(), "{said}");
    assert!(said.contains(&format!("127.0.0.1:{port}")), "{said}");
    assert!(!said.contains("Pw-shown-nowhere-42"), "{said}");
}
