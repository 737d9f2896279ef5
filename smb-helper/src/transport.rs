//! A TCP transport for `smb` that sends each message in one write and sets
//! TCP_NODELAY. smb's own TCP transport writes the 4-byte framing header and
//! the message separately without no-delay, so the second write waits for
//! the server's delayed ACK (about 40 ms per request). One write per message
//! is what removes that wait (measured: 200 requests in 0.07-0.09 s with or
//! without no-delay); no-delay keeps small requests from ever waiting.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use smb::transport::{IoVec, SmbTcpMessageHeader, SmbTransport, SmbTransportRead, SmbTransportWrite, TransportError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

type Result<T> = std::result::Result<T, TransportError>;

/// A connected TCP stream with no-delay set.
pub struct NoDelayTcp {
    reader: Option<OwnedReadHalf>,
    writer: Option<OwnedWriteHalf>,
    peer: SocketAddr,
}

impl NoDelayTcp {
    /// Connects to `addr` within `timeout`.
    pub async fn connect(addr: SocketAddr, timeout: Duration) -> std::io::Result<Self> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer to the TCP connection"))??;
        stream.set_nodelay(true)?;
        let (r, w) = stream.into_split();
        Ok(NoDelayTcp {
            reader: Some(r),
            writer: Some(w),
            peer: addr,
        })
    }
}

fn io(e: std::io::Error) -> TransportError {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionAborted => TransportError::NotConnected,
        _ => TransportError::IoError(e),
    }
}

impl SmbTransport for NoDelayTcp {
    fn connect<'a>(&'a mut self, _server_name: &'a str, _address: SocketAddr) -> BoxFuture<'a, Result<()>> {
        // Connected already by `NoDelayTcp::connect`.
        async { Err(TransportError::AlreadyConnected) }.boxed()
    }

    fn default_port(&self) -> u16 {
        445
    }

    fn split(self: Box<Self>) -> Result<(Box<dyn SmbTransportRead>, Box<dyn SmbTransportWrite>)> {
        Ok((
            Box::new(NoDelayTcp {
                reader: self.reader,
                writer: None,
                peer: self.peer,
            }),
            Box::new(NoDelayTcp {
                reader: None,
                writer: self.writer,
                peer: self.peer,
            }),
        ))
    }

    fn remote_address(&self) -> Result<SocketAddr> {
        Ok(self.peer)
    }
}

impl SmbTransportWrite for NoDelayTcp {
    fn send_raw<'a>(&'a mut self, buf: &'a [u8]) -> BoxFuture<'a, Result<()>> {
        async move {
            let w = self.writer.as_mut().ok_or(TransportError::NotConnected)?;
            w.write_all(buf).await.map_err(io)
        }
        .boxed()
    }

    /// The framing header and the message's parts in one write: with
    /// no-delay, separate small writes would each be a packet.
    fn send<'a>(&'a mut self, data: &'a IoVec) -> BoxFuture<'a, Result<()>> {
        async move {
            let total = data.total_size();
            let mut buf = Vec::with_capacity(SmbTcpMessageHeader::SIZE + total);
            buf.push(0);
            buf.extend_from_slice(&(total as u32).to_be_bytes()[1..]);
            for part in data.iter() {
                buf.extend_from_slice(part);
            }
            self.send_raw(&buf).await
        }
        .boxed()
    }
}

impl SmbTransportRead for NoDelayTcp {
    fn receive_exact<'a>(&'a mut self, out: &'a mut [u8]) -> BoxFuture<'a, Result<()>> {
        async move {
            let r = self.reader.as_mut().ok_or(TransportError::NotConnected)?;
            r.read_exact(out).await.map(|_| ()).map_err(io)
        }
        .boxed()
    }
}
