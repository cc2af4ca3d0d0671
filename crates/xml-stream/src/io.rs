//! Transport and per-connection I/O.
//!
//! A connection starts as an [`XmlConnection`]: one object that reads events and writes bytes
//! directly, which is what stream negotiation needs (STARTTLS upgrades the very socket; SASL
//! restarts the parser). Once negotiated it is split into a [`StreamReader`] and a writer task
//! fed through an [`Outbox`]: a byte-bounded queue whose contents are coalesced into one
//! socket write.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf, ReadHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::{client, server, TlsAcceptor, TlsConnector};

use crate::parser::{Limits, ParseError, StreamEvent, StreamParser};
use crate::raw::Stanza;
use crate::scan::Wanted;

/// A TCP socket, possibly upgraded to TLS in either role.
pub enum Transport {
    Plain(TcpStream),
    ServerTls(Box<server::TlsStream<TcpStream>>),
    ClientTls(Box<client::TlsStream<TcpStream>>),
}

impl Transport {
    pub fn is_tls(&self) -> bool {
        !matches!(self, Transport::Plain(_))
    }

    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Transport::Plain(s) => s,
            Transport::ServerTls(s) => s.get_ref().0,
            Transport::ClientTls(s) => s.get_ref().0,
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.tcp().peer_addr()
    }

    /// RFC 9266 `tls-exporter` channel-binding data, when TLS is up.
    pub fn tls_exporter(&self) -> Option<Vec<u8>> {
        let label = b"EXPORTER-Channel-Binding";
        // RFC 9266 §2: an empty context. TLS 1.3 treats no context and an empty one alike;
        // TLS 1.2 (RFC 5705) does not, and peers follow the RFC.
        let context = Some(&[][..]);
        let out = [0u8; 32];
        let exported = match self {
            Transport::Plain(_) => return None,
            Transport::ServerTls(s) => s.get_ref().1.export_keying_material(out, label, context),
            Transport::ClientTls(s) => s.get_ref().1.export_keying_material(out, label, context),
        };
        exported.ok().map(|b| b.to_vec())
    }

    /// Performs the server side of a TLS handshake on this socket.
    pub async fn accept_tls(self, acceptor: &TlsAcceptor) -> io::Result<Transport> {
        match self {
            Transport::Plain(tcp) => {
                Ok(Transport::ServerTls(Box::new(acceptor.accept(tcp).await?)))
            }
            _ => Err(io::Error::other("TLS is already active")),
        }
    }

    /// Performs the client side of a TLS handshake on this socket.
    pub async fn connect_tls(
        self,
        connector: &TlsConnector,
        name: ServerName<'static>,
    ) -> io::Result<Transport> {
        match self {
            Transport::Plain(tcp) => Ok(Transport::ClientTls(Box::new(
                connector.connect(name, tcp).await?,
            ))),
            _ => Err(io::Error::other("TLS is already active")),
        }
    }
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            Transport::Plain($s) => $e,
            Transport::ServerTls($s) => $e,
            Transport::ClientTls($s) => $e,
        }
    };
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        delegate!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}

/// Why reading a stream stopped.
#[derive(Debug)]
pub enum ReadError {
    /// The peer sent something the stream rules forbid; answer with the matching stream error.
    Parse(ParseError),
    /// The socket failed.
    Io(io::Error),
    /// The peer closed the connection without closing the stream.
    Closed,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Parse(e) => write!(f, "{e}"),
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Closed => f.write_str("connection closed"),
        }
    }
}

impl std::error::Error for ReadError {}

const READ_CHUNK: usize = 16 * 1024;

/// Bytes read from the socket but not yet parsed, and the parser they go to.
struct Input {
    parser: StreamParser,
    buf: BytesMut,
}

impl Input {
    fn new(limits: Limits) -> Self {
        Input {
            parser: StreamParser::new(limits),
            buf: BytesMut::new(),
        }
    }

    /// Runs `step` (one of the parser's buffer readers) until it gives an event, reading from
    /// `reader` whenever it needs more input.
    async fn next<T, R: AsyncRead + Unpin>(
        &mut self,
        reader: &mut R,
        step: fn(&mut StreamParser, &mut BytesMut) -> Result<Option<T>, ParseError>,
    ) -> Result<T, ReadError> {
        loop {
            if !self.buf.is_empty() {
                if let Some(event) =
                    step(&mut self.parser, &mut self.buf).map_err(ReadError::Parse)?
                {
                    return Ok(event);
                }
            }
            self.buf.reserve(READ_CHUNK);
            match reader.read_buf(&mut self.buf).await {
                Ok(0) => return Err(ReadError::Closed),
                Ok(_) => {}
                Err(e) => return Err(ReadError::Io(e)),
            }
        }
    }
}

/// A connection before it is split: reads and writes on one object.
pub struct XmlConnection {
    transport: Transport,
    input: Input,
}

impl XmlConnection {
    pub fn new(transport: Transport, limits: Limits) -> Self {
        XmlConnection {
            transport,
            input: Input::new(limits),
        }
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    pub fn parser_mut(&mut self) -> &mut StreamParser {
        &mut self.input.parser
    }

    /// Reads until the next stream event.
    pub async fn next_event(&mut self) -> Result<StreamEvent, ReadError> {
        self.input
            .next(&mut self.transport, StreamParser::next_event_in)
            .await
    }

    /// Whether bytes arrived beyond the last event: after `<starttls/>` that is an injection
    /// attempt (pipelined plaintext that would otherwise be read as if it came over TLS).
    pub fn has_pending_input(&self) -> bool {
        !self.input.buf.is_empty()
    }

    /// Writes and flushes bytes.
    pub async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.transport.write_all(bytes).await?;
        self.transport.flush().await
    }

    /// Starts a new stream on the same connection (RFC 6120 §4.3.3).
    pub fn restart(&mut self) {
        self.input.parser.reset();
    }

    /// Upgrades the socket to TLS as a server, after `<proceed/>` has been sent.
    pub async fn accept_tls(self, acceptor: &TlsAcceptor) -> io::Result<XmlConnection> {
        self.upgrade(|t| t.accept_tls(acceptor)).await
    }

    /// Upgrades the socket to TLS as a client, after `<proceed/>` has been received.
    pub async fn connect_tls(
        self,
        connector: &TlsConnector,
        name: ServerName<'static>,
    ) -> io::Result<XmlConnection> {
        self.upgrade(|t| t.connect_tls(connector, name)).await
    }

    async fn upgrade<F, Fut>(self, handshake: F) -> io::Result<XmlConnection>
    where
        F: FnOnce(Transport) -> Fut,
        Fut: std::future::Future<Output = io::Result<Transport>>,
    {
        if self.has_pending_input() {
            return Err(io::Error::other(
                "data pipelined behind the TLS negotiation",
            ));
        }
        let mut input = self.input;
        input.parser.reset();
        Ok(XmlConnection {
            transport: handshake(self.transport).await?,
            input,
        })
    }

    /// Splits into a reader and a writer task whose queue holds at most `max_queue_bytes`.
    pub fn split(self, max_queue_bytes: usize) -> (StreamReader, Outbox, JoinHandle<()>) {
        let (read, write) = tokio::io::split(self.transport);
        let (outbox, task) = spawn_writer(write, max_queue_bytes);
        (
            StreamReader {
                read,
                input: self.input,
            },
            outbox,
            task,
        )
    }
}

/// The reading half of a negotiated connection.
pub struct StreamReader {
    read: ReadHalf<Transport>,
    input: Input,
}

impl StreamReader {
    pub async fn next_event(&mut self) -> Result<StreamEvent, ReadError> {
        self.input
            .next(&mut self.read, StreamParser::next_event_in)
            .await
    }

    /// Keeps the top-level elements named in `wanted` (namespace, local name) as bytes (see
    /// [`StreamParser::set_capture`]); read them with [`StreamReader::next_frame`].
    pub fn capture(&mut self, wanted: Wanted) {
        self.input.parser.set_capture(wanted);
    }

    /// The next event, with captured elements as bytes where they could be checked quickly.
    pub async fn next_frame(&mut self) -> Result<StreamEvent<Stanza>, ReadError> {
        self.input
            .next(&mut self.read, StreamParser::next_frame)
            .await
    }
}

enum Outgoing {
    Data(Bytes),
    /// Last bytes (a stream error, the footer), then close the socket.
    Close(Bytes),
}

/// The queue in front of a connection's writer task. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<Outgoing>,
    queued: Arc<AtomicUsize>,
    limit: usize,
}

/// Why bytes could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueError {
    /// The peer is not reading fast enough and its queue is at its limit.
    Full,
    /// The connection is gone.
    Closed,
}

impl Outbox {
    /// Queues bytes for writing, refusing when the queue would exceed its limit.
    pub fn send(&self, bytes: Bytes) -> Result<(), QueueError> {
        // A writer that died on a socket error leaves its unwritten bytes counted; say that
        // the connection is gone rather than that the peer is slow.
        if self.tx.is_closed() {
            return Err(QueueError::Closed);
        }
        let len = bytes.len();
        let before = self.queued.fetch_add(len, Ordering::AcqRel);
        if before + len > self.limit && before > 0 {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            return Err(QueueError::Full);
        }
        self.tx.send(Outgoing::Data(bytes)).map_err(|_| {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            QueueError::Closed
        })
    }

    /// Queues final bytes (never refused for size), after which the socket is closed.
    pub fn close(&self, last: Bytes) {
        let _ = self.tx.send(Outgoing::Close(last));
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Whether the writer task has stopped.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Resolves once the writer task has stopped: after [`Outbox::close`], when its last bytes
    /// are written (or the connection failed).
    pub async fn closed(&self) {
        self.tx.closed().await;
    }
}

/// Largest single write the writer assembles from queued frames.
const COALESCE_LIMIT: usize = 256 * 1024;

/// Starts the writer task for `write`: it gathers everything queued into one write.
pub fn spawn_writer<W>(write: W, max_queue_bytes: usize) -> (Outbox, JoinHandle<()>)
where
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn(write_loop(write, rx, queued.clone()));
    (
        Outbox {
            tx,
            queued,
            limit: max_queue_bytes,
        },
        task,
    )
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut write: W,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    queued: Arc<AtomicUsize>,
) {
    let mut batch = BytesMut::with_capacity(8 * 1024);
    while let Some(first) = rx.recv().await {
        let mut closing = false;
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Outgoing::Data(bytes) => batch.extend_from_slice(&bytes),
                Outgoing::Close(bytes) => {
                    batch.extend_from_slice(&bytes);
                    closing = true;
                    break;
                }
            }
            if batch.len() < COALESCE_LIMIT {
                next = rx.try_recv().ok();
            }
        }
        let data_len = batch.len();
        if write.write_all(&batch).await.is_err() || write.flush().await.is_err() {
            return;
        }
        batch.clear();
        // Close frames were never counted; saturate so they cannot underflow the counter.
        let _ = queued.fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
            Some(q.saturating_sub(data_len))
        });
        if closing {
            let _ = write.shutdown().await;
            return;
        }
    }
}
