//! `ferry-smb`: ferry's SMB 2/3 delivery helper.
//!
//! ferry cannot link the `smb` crate (its dependencies pin crypto release
//! candidates that conflict with ferry's SSH client), so it runs this
//! program and speaks a line protocol with it: one JSON request per line on
//! stdin, one JSON reply per line on stdout (see `protocol`). The password
//! arrives only on stdin, and no reply or error carries it.

mod protocol;
mod share;
mod status;
mod transport;

use std::time::Duration;

use protocol::{reply, Envelope, Failure, Request};
use share::{Login, Place, Share};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!("ferry-smb {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut out = tokio::io::stdout();
    let mut share: Option<Share> = None;
    let mut password = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        let (id, result, last) = match serde_json::from_str::<Envelope>(&line) {
            Err(e) => (
                0,
                // The line may hold the password: say only where it broke.
                Err(Failure::new(
                    "local",
                    format!("ferry-smb could not read a request (line {}, column {}); ferry and ferry-smb may be from different versions", e.line(), e.column()),
                )),
                false,
            ),
            Ok(Envelope { id, request }) => {
                let last = matches!(request, Request::Close);
                let result = handle(request, &mut share, &mut password).await;
                (id, result.map_err(|f| Failure::new(&f.kind, status::scrub(&f.message, &password))), last)
            }
        };
        let mut text = reply(id, result);
        text.push('\n');
        if out.write_all(text.as_bytes()).await.is_err() || out.flush().await.is_err() {
            break;
        }
        if last {
            break;
        }
    }
    if let Some(s) = share.take() {
        s.close().await;
    }
}

async fn handle(
    request: Request,
    share: &mut Option<Share>,
    password: &mut String,
) -> Result<serde_json::Value, Failure> {
    let json = |v: serde_json::Result<serde_json::Value>| v.map_err(|e| Failure::new("local", e.to_string()));
    if let Request::Connect {
        server,
        port,
        username,
        password: secret,
        domain,
        share: name,
        timeout_ms,
    } = request
    {
        if share.is_some() {
            return Err(Failure::new("local", "already connected"));
        }
        *password = secret.clone();
        let login = Login {
            place: Place {
                server,
                port,
                share: name,
                password: secret,
            },
            username,
            domain,
            timeout: Duration::from_millis(timeout_ms.max(1)),
        };
        let (s, connected) = Share::connect(login).await?;
        *share = Some(s);
        return json(serde_json::to_value(connected));
    }
    if let Request::Close = request {
        if let Some(s) = share.take() {
            s.close().await;
        }
        return Ok(serde_json::Value::Null);
    }
    let s = share
        .as_ref()
        .ok_or_else(|| Failure::new("local", "not connected: the first request must be `connect`"))?;
    match request {
        Request::MkdirAll { path } => s.mkdir_all(&path).await.map(|_| serde_json::Value::Null),
        Request::Upload {
            local,
            remote,
            block_timeout_ms,
        } => s
            .upload(&local, &remote, Duration::from_millis(block_timeout_ms.max(1)))
            .await
            .map(|n| n.into()),
        Request::Size { path } => s.size(&path).await.map(|n| n.into()),
        Request::Rename { from, to } => s.rename(&from, &to).await.map(|_| serde_json::Value::Null),
        Request::Remove { path } => s.remove(&path).await.map(|_| serde_json::Value::Null),
        Request::List { path } => s.list(&path).await.map(|n| n.into()),
        Request::Connect { .. } | Request::Close => unreachable!("handled above"),
    }
}
