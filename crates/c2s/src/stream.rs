//! One client connection's socket, before and after it is split.
//!
//! Own read loop rather than `xml_stream::io::XmlConnection`: the idle timer must restart on
//! every byte (whitespace keepalives, RFC 6120 §4.6.1, never produce a parser event), and
//! the negotiation needs the socket itself for the STARTTLS upgrade.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use bytes::BytesMut;
use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadHalf};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use xml_stream::io::{spawn_writer, Outbox, Transport};
use xml_stream::{Limits, ParseError, StreamEvent, StreamParser};

use crate::throttle::Throttle;

/// Why reading stopped.
#[derive(Debug)]
pub enum ReadFail {
    /// Bad input: answer with the parse error's stream error.
    Parse(ParseError),
    /// Nothing arrived for the idle time: `connection-timeout`.
    Idle,
    /// The client went away (EOF or socket error).
    Gone,
}

const READ_CHUNK: usize = 16 * 1024;

/// The parser, the bytes it has not consumed yet, and the client's read rate limits.
struct Input {
    parser: StreamParser,
    buf: BytesMut,
    idle: Duration,
    throttle: Throttle,
}

impl Input {
    async fn next_event<R: AsyncRead + Unpin>(
        &mut self,
        read: &mut R,
    ) -> Result<StreamEvent, ReadFail> {
        self.throttle.pace().await;
        loop {
            if !self.buf.is_empty() {
                let mut data: &[u8] = &self.buf;
                let result = self.parser.next_event(&mut data);
                let consumed = self.buf.len() - data.len();
                let _ = self.buf.split_to(consumed);
                if let Some(event) = result.map_err(ReadFail::Parse)? {
                    self.throttle.stanza();
                    return Ok(event);
                }
            }
            self.throttle.pace().await;
            self.buf.reserve(READ_CHUNK);
            match tokio::time::timeout(self.idle, read.read_buf(&mut self.buf)).await {
                Err(_) => return Err(ReadFail::Idle),
                Ok(Ok(0)) | Ok(Err(_)) => return Err(ReadFail::Gone),
                Ok(Ok(n)) => self.throttle.read(n),
            }
        }
    }
}

/// A connection during negotiation: reads and writes on the socket directly.
pub struct ClientStream {
    transport: Transport,
    input: Input,
}

impl ClientStream {
    pub fn new(transport: Transport, limits: Limits, idle: Duration, throttle: Throttle) -> Self {
        ClientStream {
            transport,
            input: Input {
                parser: StreamParser::new(limits),
                buf: BytesMut::new(),
                idle,
                throttle,
            },
        }
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    pub async fn next_event(&mut self) -> Result<StreamEvent, ReadFail> {
        self.input.next_event(&mut self.transport).await
    }

    pub async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.transport.write_all(bytes).await?;
        self.transport.flush().await
    }

    /// Writes the last bytes and closes the socket.
    pub async fn close(mut self, last: &[u8]) {
        let _ = self.send(last).await;
        let _ = self.transport.shutdown().await;
        drain(&mut self.transport).await;
    }

    /// A new stream on the same connection (after SASL success).
    pub fn restart(&mut self) {
        self.input.parser.reset();
    }

    /// Bytes received after the last complete element.
    pub fn has_pending_input(&self) -> bool {
        !self.input.buf.is_empty()
    }

    /// Upgrades to TLS (after `<proceed/>` went out); the stream restarts.
    pub async fn start_tls(
        self,
        acceptor: &TlsAcceptor,
        limit: Duration,
    ) -> io::Result<ClientStream> {
        let mut input = self.input;
        input.parser.reset();
        input.buf.clear();
        let transport = tokio::time::timeout(limit, self.transport.accept_tls(acceptor))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
        Ok(ClientStream { transport, input })
    }

    /// A second handle on the socket, taken before [`ClientStream::split`].
    pub fn reset_handle(&self) -> ResetHandle {
        ResetHandle(self.transport.tcp().as_fd().try_clone_to_owned().ok())
    }

    /// Splits into the reading half and the queued, coalescing writer.
    pub fn split(self, max_queue_bytes: usize) -> (SessionReader, Outbox, JoinHandle<()>) {
        let (read, write) = tokio::io::split(self.transport);
        let (outbox, task) = spawn_writer(write, max_queue_bytes);
        (
            SessionReader {
                read,
                input: self.input,
            },
            outbox,
            task,
        )
    }
}

/// The reading half of a connection with a session.
pub struct SessionReader {
    read: ReadHalf<Transport>,
    input: Input,
}

impl SessionReader {
    pub async fn next_event(&mut self) -> Result<StreamEvent, ReadFail> {
        self.input.next_event(&mut self.read).await
    }

    /// After our closing bytes are written: see [`drain`].
    pub async fn drain(mut self) {
        drain(&mut self.read).await;
    }
}

/// How long a closed stream keeps reading what the client still sends.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// Reads and discards input until the client closes too, for at most [`DRAIN_LIMIT`]: a socket
/// closed with unread input makes the kernel send a reset, and a reset can destroy the stream
/// error just written before the client reads it (a client in the middle of an oversized
/// stanza, say).
async fn drain<R: AsyncRead + Unpin>(read: &mut R) {
    let mut sink = [0u8; 8192];
    let _ = tokio::time::timeout(DRAIN_LIMIT, async {
        while matches!(read.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// The connection's TLS facts needed for channel binding: (TLS 1.3?, SNI).
pub fn tls_info(transport: &Transport) -> Option<(bool, Option<String>)> {
    match transport {
        Transport::ServerTls(s) => {
            let conn = s.get_ref().1;
            Some((
                conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3),
                conn.server_name().map(str::to_owned),
            ))
        }
        _ => None,
    }
}

/// Resets a connection whose client does not read: a normal close would leave the unread
/// backlog, and the connection with it, to the kernel until the client reads (or forever).
pub struct ResetHandle(Option<OwnedFd>);

impl ResetHandle {
    /// Linger zero: the last close of the socket discards what is unsent and sends a reset.
    pub fn reset_on_close(&self) {
        if let Some(fd) = &self.0 {
            let _ = SockRef::from(fd).set_linger(Some(Duration::ZERO));
        }
    }
}
