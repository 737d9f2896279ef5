//! A tiny SMTP server and a tiny HTTP server on 127.0.0.1 that record what
//! ferry sends them. Each serves a bounded number of connections for a
//! bounded time, then stops by itself.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a sink keeps accepting connections.
const LIFETIME: Duration = Duration::from_secs(120);
/// How many connections a sink serves at most.
const MAX_CONNECTIONS: usize = 20;

/// One message as the SMTP sink received it.
#[derive(Clone, Debug, Default)]
pub struct Mail {
    /// The AUTH PLAIN credentials, decoded (`\0user\0password`).
    pub auth: Option<String>,
    /// MAIL FROM address.
    pub from: String,
    /// RCPT TO addresses.
    pub to: Vec<String>,
    /// The message (headers and body), dot-stuffing removed.
    pub data: String,
}

/// One request as the HTTP sink received it.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// `POST /path HTTP/1.1`.
    pub line: String,
    /// Header lines, lower-cased names.
    pub headers: Vec<String>,
    /// The body.
    pub body: String,
}

/// A running sink: its port and what it has captured.
pub struct Sink<T> {
    /// The port on 127.0.0.1.
    pub port: u16,
    /// Captured messages or requests, in arrival order.
    pub seen: Arc<Mutex<Vec<T>>>,
}

impl<T: Clone> Sink<T> {
    /// What was captured so far.
    pub fn seen(&self) -> Vec<T> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve<T: Send + 'static>(handle: fn(TcpStream, &Mutex<Vec<T>>) -> std::io::Result<()>) -> Sink<T> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = seen.clone();
    std::thread::spawn(move || {
        let start = Instant::now();
        let mut served = 0;
        while start.elapsed() < LIFETIME && served < MAX_CONNECTIONS {
            match listener.accept() {
                Ok((stream, _)) => {
                    served += 1;
                    stream.set_nonblocking(false).unwrap();
                    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    let _ = handle(stream, &store);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    Sink { port, seen }
}

/// An SMTP server speaking just enough of the protocol for one client.
pub fn smtp() -> Sink<Mail> {
    serve(smtp_session)
}

/// An HTTP server that answers every request 200 with an empty body.
pub fn http() -> Sink<Request> {
    serve(http_request)
}

fn smtp_session(stream: TcpStream, seen: &Mutex<Vec<Mail>>) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    let mut mail = Mail::default();
    out.write_all(b"220 sink ESMTP ready\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let verb = command.split([' ', ':']).next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => out.write_all(b"250-sink\r\n250 AUTH PLAIN LOGIN\r\n")?,
            "HELO" => out.write_all(b"250 sink\r\n")?,
            "AUTH" => {
                let mut parts = command.split_whitespace().skip(2);
                let encoded = if let Some(initial) = parts.next() {
                    initial.to_string()
                } else {
                    out.write_all(b"334 \r\n")?;
                    let mut reply = String::new();
                    lines.read_line(&mut reply)?;
                    reply.trim().to_string()
                };
                mail.auth = Some(String::from_utf8_lossy(&base64_decode(&encoded)).into_owned());
                out.write_all(b"235 2.7.0 accepted\r\n")?;
            }
            "MAIL" => {
                mail.from = address(&command);
                out.write_all(b"250 ok\r\n")?;
            }
            "RCPT" => {
                mail.to.push(address(&command));
                out.write_all(b"250 ok\r\n")?;
            }
            "DATA" => {
                out.write_all(b"354 end with .\r\n")?;
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if lines.read_line(&mut l)? == 0 || l == ".\r\n" {
                        break;
                    }
                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                }
                mail.data = data;
                seen.lock().unwrap().push(mail.clone());
                out.write_all(b"250 queued\r\n")?;
            }
            "QUIT" => {
                out.write_all(b"221 bye\r\n")?;
                return Ok(());
            }
            "RSET" | "NOOP" => out.write_all(b"250 ok\r\n")?,
            _ => out.write_all(b"502 not implemented\r\n")?,
        }
    }
}

/// `MAIL FROM:<a@b.org> SIZE=1` -> `a@b.org`.
fn address(command: &str) -> String {
    let start = command.find('<').map(|i| i + 1).unwrap_or(0);
    let end = command[start..].find('>').map(|i| start + i).unwrap_or(command.len());
    command[start..end].to_string()
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=') {
        let Some(v) = ALPHABET.iter().position(|&a| a == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn http_request(stream: TcpStream, seen: &Mutex<Vec<Request>>) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut request = Request::default();
    reader.read_line(&mut request.line)?;
    request.line = request.line.trim_end().to_string();
    let mut length = 0;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        let h = h.trim_end().to_string();
        let lower = h.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        request.headers.push(lower);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    request.body = String::from_utf8_lossy(&body).into_owned();
    seen.lock().unwrap().push(request);
    out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
    Ok(())
}

#[test]
fn base64_decodes_auth_plain() {
    assert_eq!(base64_decode("AGZlcnJ5AHMzY3JldA=="), b"\0ferry\0s3cret");
}
