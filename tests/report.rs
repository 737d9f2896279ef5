//! `report(url, opts)` against a small HTTP server run by the test: the
//! document arrives whole, secrets stay out of logs, and a wrong answer
//! (error status, wrong type, too large, too slow) keeps nothing.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry::state::Trigger;

use crate::harness::Project;

const PDF: &[u8] = b"%PDF-1.4\n% ferry test document \xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\n%%EOF\n";
const TOKEN: &str = "tok-7f3a-secret";

/// Serves a few paths; records each request's head.
fn server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(30) {
            let Ok(mut s) = stream else { continue };
            let mut buf = vec![0u8; 8192];
            let n = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            log.lock().unwrap().push(head.clone());
            let path = head
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .split('?')
                .next()
                .unwrap_or("/")
                .to_string();
            let (status, ctype, body): (&str, &str, Vec<u8>) = match path.as_str() {
                "/doc.pdf" if head.contains(&format!("Bearer {TOKEN}")) => ("200 OK", "application/pdf", PDF.to_vec()),
                "/doc.pdf" => ("401 Unauthorized", "text/plain", b"who are you".to_vec()),
                "/login" => (
                    "200 OK",
                    "text/html; charset=utf-8",
                    b"<html>Please log in</html>".to_vec(),
                ),
                "/big" => ("200 OK", "application/pdf", vec![b'x'; 200_000]),
                "/slow" => {
                    std::thread::sleep(Duration::from_secs(4));
                    ("200 OK", "application/pdf", PDF.to_vec())
                }
                _ => ("404 Not Found", "text/plain", b"no".to_vec()),
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(&body);
        }
    });
    (port, seen)
}

async fn run_report(p: &Project, url: &str, opts: &str) -> ferry::run::RunReport {
    p.script(
        "r",
        &format!("let f = report(\"{url}\", #{{ {opts} }});\ndeliver(f, \"out\");\n"),
    );
    p.run("r", Trigger::Manual, &[]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_document_arrives_whole_with_secret_backed_auth() {
    let (port, seen) = server();
    let p = Project::new();
    std::fs::write(p.path("token"), format!("{TOKEN}\n")).unwrap();
    let r = run_report(
        &p,
        &format!("http://127.0.0.1:{port}/doc.pdf?key=abc"),
        "auth: #{ bearer: \"file:token\" }, expect: \"application/pdf\", name: \"attendance\"",
    )
    .await;
    assert!(r.succeeded(), "{:?}", r.error);
    assert_eq!(std::fs::read(p.path("out/attendance.pdf")).unwrap(), PDF);
    assert!(seen.lock().unwrap()[0]
        .to_lowercase()
        .contains(&format!("authorization: bearer {TOKEN}")));
    let log: String = r.log.iter().map(|l| l.message.clone()).collect::<Vec<_>>().join("\n");
    assert!(
        log.contains("fetched attendance.pdf (application/pdf") && !log.contains(TOKEN) && !log.contains("key=abc"),
        "{log}"
    );
    let hist = p.ferry(&["history", "--run", &r.id.to_string()]);
    assert!(!hist.ok().contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_answers_keep_nothing_and_say_why() {
    let (port, _) = server();
    let p = Project::new();
    std::fs::write(p.path("token"), "wrong\n").unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let cases = [
        (
            format!("{base}/doc.pdf"),
            "auth: #{ bearer: \"file:token\" }",
            "answered 401 Unauthorized",
        ),
        (
            format!("{base}/login"),
            "expect: \"application/pdf\"",
            "expected application/pdf but the server sent text/html",
        ),
        (
            format!("{base}/big"),
            "max_bytes: 1000",
            "larger than the limit of 1000 bytes",
        ),
        (format!("{base}/nothing"), "", "answered 404"),
        (format!("{base}/slow"), "timeout: \"1s\"", "no answer within 1s"),
        ("http://127.0.0.1:1/x".to_string(), "", "cannot connect"),
        (
            format!("{base}/doc.pdf"),
            "auth: #{ bearer: \"tok-literal\" }",
            "secrets are references",
        ),
        ("ftp://example.org/x".to_string(), "", "only http:// and https://"),
    ];
    for (url, opts, want) in cases {
        let r = run_report(&p, &url, opts).await;
        let e = r.error.unwrap_or_else(|| panic!("{url} {opts}: no error"));
        assert!(e.contains("r.rhai:1:") && e.contains(want), "{url} {opts}: {e}");
        assert!(p.files("out").is_empty());
        assert!(p.all_files(".ferry/work").iter().all(|f| !f.ends_with(".partial")));
    }
}
