//! `xml_stream::io` over real loopback TCP: plain and STARTTLS connections, the split reader
//! and the coalescing, bounded writer.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use xml_stream::io::{spawn_writer, QueueError, ReadError, Transport, XmlConnection};
use xml_stream::writer::{stanza_bytes, write_header, FOOTER};
use xml_stream::{ns, Element, Limits, ParseError, StreamEvent, StreamHeader};

const CLIENT_HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";

const LIMIT: Duration = Duration::from_secs(20);

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (client.unwrap(), accepted.unwrap().0)
}

fn conn(tcp: TcpStream) -> XmlConnection {
    XmlConnection::new(Transport::Plain(tcp), Limits::default())
}

fn server_header() -> Bytes {
    let mut out = BytesMut::new();
    write_header(
        &StreamHeader {
            default_ns: Some(ns::CLIENT.into()),
            from: Some("localhost".into()),
            id: Some("s1".into()),
            version: Some("1.0".into()),
            ..StreamHeader::default()
        },
        &mut out,
    );
    out.freeze()
}

fn message(body: &str) -> Element {
    Element::builder("message", ns::CLIENT)
        .append(Element::builder("body", ns::CLIENT).append(body).build())
        .build()
}

fn bytes_of(el: &Element) -> Bytes {
    stanza_bytes(el, Some(ns::CLIENT))
}

async fn next_stanza(conn: &mut XmlConnection) -> Element {
    match timeout(LIMIT, conn.next_event()).await.unwrap() {
        Ok(StreamEvent::Stanza(el)) => el,
        other => panic!("expected a stanza, got {other:?}"),
    }
}

async fn next_header(conn: &mut XmlConnection) -> StreamHeader {
    match timeout(LIMIT, conn.next_event()).await.unwrap() {
        Ok(StreamEvent::Header(h)) => h,
        other => panic!("expected a header, got {other:?}"),
    }
}

#[tokio::test]
async fn reads_header_and_stanzas_over_tcp() {
    let (mut client, server) = tcp_pair().await;
    let mut server = conn(server);
    assert!(!server.transport().is_tls());
    assert_eq!(server.transport().tls_exporter(), None);
    assert_eq!(
        server.transport().peer_addr().unwrap(),
        client.local_addr().unwrap()
    );

    // The header arrives in pieces; so does the stanza.
    let writer = tokio::spawn(async move {
        let input = format!(
            "{CLIENT_HEADER}<message to='a@b'><body>hello</body></message> \n\
             <presence/></stream:stream>"
        );
        for piece in input.as_bytes().chunks(13) {
            client.write_all(piece).await.unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        client
    });
    let header = next_header(&mut server).await;
    assert_eq!(header.default_ns.as_deref(), Some(ns::CLIENT));
    assert_eq!(header.to.as_deref(), Some("localhost"));
    let message = next_stanza(&mut server).await;
    assert!(message.is("message", ns::CLIENT));
    assert_eq!(message.attr("to"), Some("a@b"));
    assert_eq!(
        message.get_child("body", ns::CLIENT).unwrap().text(),
        "hello"
    );
    assert!(next_stanza(&mut server).await.is("presence", ns::CLIENT));
    assert!(matches!(server.next_event().await, Ok(StreamEvent::Footer)));
    // The peer closes the socket: the reader says so.
    drop(writer.await.unwrap());
    assert!(matches!(server.next_event().await, Err(ReadError::Closed)));
}

#[tokio::test]
async fn parse_errors_and_eof_surface() {
    let (mut client, server) = tcp_pair().await;
    let mut server = conn(server);
    client
        .write_all(format!("{CLIENT_HEADER}<message><!-- no --></message>").as_bytes())
        .await
        .unwrap();
    next_header(&mut server).await;
    match server.next_event().await {
        Err(ReadError::Parse(ParseError::RestrictedXml(_))) => {}
        other => panic!("{other:?}"),
    }

    // A stanza cut off by the peer closing the connection.
    let (mut client, server) = tcp_pair().await;
    let mut server = conn(server);
    client
        .write_all(format!("{CLIENT_HEADER}<message><body>half").as_bytes())
        .await
        .unwrap();
    drop(client);
    next_header(&mut server).await;
    let err = server.next_event().await.unwrap_err();
    assert!(matches!(err, ReadError::Closed), "{err:?}");
    assert_eq!(err.to_string(), "connection closed");
}

#[tokio::test]
async fn send_on_an_unsplit_connection() {
    let (client, server) = tcp_pair().await;
    let mut client = conn(client);
    let mut server = conn(server);
    client.send(CLIENT_HEADER.as_bytes()).await.unwrap();
    client.send(&bytes_of(&message("one"))).await.unwrap();
    next_header(&mut server).await;
    assert_eq!(next_stanza(&mut server).await, message("one"));
    server.send(&server_header()).await.unwrap();
    server.send(&bytes_of(&message("two"))).await.unwrap();
    assert_eq!(next_header(&mut client).await.id.as_deref(), Some("s1"));
    assert_eq!(next_stanza(&mut client).await, message("two"));
}

#[tokio::test]
async fn restart_reads_a_new_header() {
    let (mut client, server) = tcp_pair().await;
    let mut server = conn(server);
    client.write_all(CLIENT_HEADER.as_bytes()).await.unwrap();
    next_header(&mut server).await;
    client
        .write_all(
            b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGEAYg==</auth>",
        )
        .await
        .unwrap();
    assert!(next_stanza(&mut server).await.is("auth", ns::SASL));
    server.restart();
    client.write_all(CLIENT_HEADER.as_bytes()).await.unwrap();
    client
        .write_all(&bytes_of(&message("after")))
        .await
        .unwrap();
    next_header(&mut server).await;
    assert_eq!(next_stanza(&mut server).await, message("after"));
}

#[tokio::test]
async fn split_reader_and_coalesced_outbox() {
    let (client, server) = tcp_pair().await;
    let mut client = conn(client);
    let mut server = conn(server);
    client.send(CLIENT_HEADER.as_bytes()).await.unwrap();
    next_header(&mut server).await;
    server.parser_mut(); // still reachable before the split

    let (mut reader, outbox, task) = server.split(1 << 20);
    // Several sends before the writer task gets to run (single-threaded runtime: it runs only
    // when this task yields): they arrive complete and in order.
    outbox.send(server_header()).unwrap();
    for i in 0..50 {
        outbox.send(bytes_of(&message(&format!("m{i}")))).unwrap();
    }
    assert!(outbox.queued_bytes() > 0);
    assert_eq!(
        next_header(&mut client).await.from.as_deref(),
        Some("localhost")
    );
    for i in 0..50 {
        assert_eq!(next_stanza(&mut client).await, message(&format!("m{i}")));
    }
    // Everything written: the queue is empty again.
    timeout(LIMIT, async {
        while outbox.queued_bytes() > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap();

    // The reading half keeps reading the client's stream.
    client.send(&bytes_of(&message("to server"))).await.unwrap();
    match timeout(LIMIT, reader.next_event()).await.unwrap() {
        Ok(StreamEvent::Stanza(el)) => assert_eq!(el, message("to server")),
        other => panic!("{other:?}"),
    }

    // Closing the outbox (every clone) ends the writer task.
    let clone = outbox.clone();
    drop(outbox);
    assert!(!clone.is_closed());
    drop(clone);
    timeout(LIMIT, task).await.unwrap().unwrap();
}

/// An `AsyncWrite` that records each write call.
#[derive(Clone, Default)]
struct Recorder {
    writes: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl AsyncWrite for Recorder {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.writes.lock().unwrap().push(buf.to_vec());
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn queued_frames_go_out_in_one_write() {
    let recorder = Recorder::default();
    let (outbox, task) = spawn_writer(recorder.clone(), 1 << 20);
    for i in 0..10 {
        outbox.send(Bytes::from(format!("<m{i}/>"))).unwrap();
    }
    assert_eq!(outbox.queued_bytes(), 10 * 5);
    outbox.close(Bytes::from_static(FOOTER));
    timeout(LIMIT, task).await.unwrap().unwrap();
    let writes = recorder.writes.lock().unwrap().clone();
    assert_eq!(writes.len(), 1, "{writes:?}");
    let expected: String =
        (0..10).map(|i| format!("<m{i}/>")).collect::<String>() + "</stream:stream>";
    assert_eq!(String::from_utf8(writes[0].clone()).unwrap(), expected);
    assert!(outbox.is_closed());
    assert_eq!(
        outbox.send(Bytes::from_static(b"<late/>")),
        Err(QueueError::Closed)
    );
}

/// An `AsyncWrite` whose socket has failed.
struct Broken;

impl AsyncWrite for Broken {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn failed_writer_reports_closed_not_full() {
    let (outbox, task) = spawn_writer(Broken, 100);
    outbox.send(Bytes::from(vec![b'x'; 80])).unwrap();
    timeout(LIMIT, task).await.unwrap().unwrap();
    assert!(outbox.is_closed());
    // The 80 unwritten bytes are still counted, yet the answer is Closed, not Full.
    assert_eq!(
        outbox.send(Bytes::from(vec![b'y'; 80])),
        Err(QueueError::Closed)
    );
    assert_eq!(
        outbox.send(Bytes::from_static(b"z")),
        Err(QueueError::Closed)
    );
}

#[tokio::test]
async fn outbox_refuses_when_the_peer_does_not_read() {
    let (mut client, server) = tcp_pair().await;
    let server = conn(server);
    let limit = 64 * 1024;
    let (_reader, outbox, _task) = server.split(limit);
    let frame = Bytes::from(vec![b'x'; 16 * 1024]);
    let mut accepted = 0usize;
    let full = timeout(LIMIT, async {
        loop {
            match outbox.send(frame.clone()) {
                Ok(()) => accepted += frame.len(),
                Err(QueueError::Full) => return,
                Err(QueueError::Closed) => panic!("closed"),
            }
            // Memory stays bounded: never more than the limit waits in the queue.
            assert!(outbox.queued_bytes() <= limit);
            assert!(accepted < 512 << 20, "the queue never filled");
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(full.is_ok(), "the queue never filled");
    assert!(outbox.queued_bytes() <= limit);
    assert!(outbox.queued_bytes() + frame.len() > limit);
    // Still full a moment later: nothing drains while the peer does not read.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(outbox.send(frame.clone()), Err(QueueError::Full));

    // Once the peer reads everything, the queue drains and accepts again.
    let mut sink = vec![0; 256 * 1024];
    let mut received = 0;
    timeout(LIMIT, async {
        while received < accepted {
            received += client.read(&mut sink).await.unwrap();
        }
    })
    .await
    .unwrap();
    assert_eq!(received, accepted);
    assert_eq!(outbox.queued_bytes(), 0);
    outbox.send(frame.clone()).unwrap();
}

#[tokio::test]
async fn close_sends_final_bytes_and_closes() {
    let (mut client, server) = tcp_pair().await;
    let (_reader, outbox, task) = conn(server).split(1 << 20);
    let stanza = bytes_of(&message("bye"));
    outbox.send(stanza.clone()).unwrap();
    let error = xml_stream::StreamError::new(xml_stream::StreamErrorCondition::SystemShutdown);
    let mut last = BytesMut::from(&stanza_bytes(&error.to_element(), Some(ns::CLIENT))[..]);
    last.extend_from_slice(FOOTER);
    let last = last.freeze();
    outbox.close(last.clone());
    timeout(LIMIT, task).await.unwrap().unwrap();

    let mut received = Vec::new();
    timeout(LIMIT, client.read_to_end(&mut received))
        .await
        .unwrap()
        .unwrap();
    let mut expected = stanza.to_vec();
    expected.extend_from_slice(&last);
    assert_eq!(received, expected);
    assert!(outbox.is_closed());
    assert_eq!(outbox.send(stanza), Err(QueueError::Closed));
}

#[tokio::test]
async fn close_reaches_an_xml_peer() {
    let (client, server) = tcp_pair().await;
    let mut client = conn(client);
    let (_reader, outbox, _task) = conn(server).split(1 << 20);
    outbox.send(server_header()).unwrap();
    outbox.send(bytes_of(&message("last"))).unwrap();
    outbox.close(Bytes::from_static(FOOTER));
    next_header(&mut client).await;
    assert_eq!(next_stanza(&mut client).await, message("last"));
    assert!(matches!(client.next_event().await, Ok(StreamEvent::Footer)));
    assert!(matches!(client.next_event().await, Err(ReadError::Closed)));
}

#[tokio::test]
async fn writer_task_stops_when_the_peer_goes() {
    let (client, server) = tcp_pair().await;
    let (_reader, outbox, task) = conn(server).split(1 << 20);
    drop(client);
    // Writes fail sooner or later once the peer has closed (RST after the first write).
    timeout(LIMIT, async {
        while outbox.send(Bytes::from_static(b"<message/>")).is_ok() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    assert!(outbox.is_closed());
    timeout(LIMIT, task).await.unwrap().unwrap();
}

// --- TLS -------------------------------------------------------------------------------------

struct Tls {
    acceptor: TlsAcceptor,
    connector: TlsConnector,
}

fn tls(versions: &[&'static rustls::SupportedProtocolVersion]) -> Tls {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Tls {
        acceptor: TlsAcceptor::from(Arc::new(server)),
        connector: TlsConnector::from(Arc::new(client)),
    }
}

fn default_tls() -> Tls {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // The configuration the brief asks for, to make sure it builds with our features.
    let _ = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap();
    tls(rustls::DEFAULT_VERSIONS)
}

fn starttls() -> Bytes {
    stanza_bytes(&Element::bare("starttls", ns::TLS), Some(ns::CLIENT))
}

fn features() -> Bytes {
    let features = Element::builder("features", ns::STREAMS)
        .append(
            Element::builder("starttls", ns::TLS)
                .append(Element::bare("required", ns::TLS))
                .build(),
        )
        .build();
    stanza_bytes(&features, Some(ns::CLIENT))
}

/// The server side of STARTTLS up to the upgraded, restarted stream.
async fn server_side(tcp: TcpStream, acceptor: TlsAcceptor) -> XmlConnection {
    let mut server = conn(tcp);
    next_header(&mut server).await;
    server.send(&server_header()).await.unwrap();
    server.send(&features()).await.unwrap();
    assert!(next_stanza(&mut server).await.is("starttls", ns::TLS));
    assert!(!server.has_pending_input());
    server
        .send(&stanza_bytes(
            &Element::bare("proceed", ns::TLS),
            Some(ns::CLIENT),
        ))
        .await
        .unwrap();
    let mut server = timeout(LIMIT, server.accept_tls(&acceptor))
        .await
        .unwrap()
        .unwrap();
    assert!(server.transport().is_tls());
    let header = next_header(&mut server).await;
    assert_eq!(header.to.as_deref(), Some("localhost"));
    server.send(&server_header()).await.unwrap();
    server
}

async fn client_side(tcp: TcpStream, connector: TlsConnector) -> XmlConnection {
    let mut client = conn(tcp);
    client.send(CLIENT_HEADER.as_bytes()).await.unwrap();
    next_header(&mut client).await;
    let features = next_stanza(&mut client).await;
    assert!(features.is("features", ns::STREAMS));
    assert!(features.has_child("starttls", ns::TLS));
    client.send(&starttls()).await.unwrap();
    assert!(next_stanza(&mut client).await.is("proceed", ns::TLS));
    let name = ServerName::try_from("localhost").unwrap();
    let mut client = timeout(LIMIT, client.connect_tls(&connector, name))
        .await
        .unwrap()
        .unwrap();
    assert!(client.transport().is_tls());
    client.send(CLIENT_HEADER.as_bytes()).await.unwrap();
    next_header(&mut client).await;
    client
}

async fn starttls_exchange(tls: Tls) {
    let (client_tcp, server_tcp) = tcp_pair().await;
    let (mut server, mut client) = tokio::join!(
        server_side(server_tcp, tls.acceptor.clone()),
        client_side(client_tcp, tls.connector.clone()),
    );

    // Stanzas both ways over TLS, after the restart.
    client.send(&bytes_of(&message("secret"))).await.unwrap();
    assert_eq!(next_stanza(&mut server).await, message("secret"));
    server.send(&bytes_of(&message("reply"))).await.unwrap();
    assert_eq!(next_stanza(&mut client).await, message("reply"));

    // Channel binding: both ends derive the same RFC 9266 value.
    let server_cb = server.transport().tls_exporter().expect("server exporter");
    let client_cb = client.transport().tls_exporter().expect("client exporter");
    assert_eq!(server_cb.len(), 32);
    assert_eq!(server_cb, client_cb);

    // The TLS connection splits like a plain one; close ends it with close_notify and FIN.
    let (_reader, outbox, task) = client.split(1 << 20);
    outbox.send(bytes_of(&message("split"))).unwrap();
    outbox.close(Bytes::from_static(FOOTER));
    timeout(LIMIT, task).await.unwrap().unwrap();
    assert_eq!(next_stanza(&mut server).await, message("split"));
    assert!(matches!(server.next_event().await, Ok(StreamEvent::Footer)));
    assert!(matches!(server.next_event().await, Err(ReadError::Closed)));

    // A second upgrade is refused.
    let err = server
        .accept_tls(&tls.acceptor)
        .await
        .err()
        .expect("TLS twice");
    assert!(err.to_string().contains("already"), "{err}");
}

#[tokio::test]
async fn starttls_upgrade_and_restart() {
    starttls_exchange(default_tls()).await;
}

#[tokio::test]
async fn starttls_upgrade_tls12() {
    starttls_exchange(tls(&[&rustls::version::TLS12])).await;
}

#[tokio::test]
async fn pipelined_bytes_after_starttls_refuse_the_upgrade() {
    let tls = default_tls();
    let (mut client, server_tcp) = tcp_pair().await;
    let mut server = conn(server_tcp);
    client.write_all(CLIENT_HEADER.as_bytes()).await.unwrap();
    next_header(&mut server).await;
    // The injection: plaintext that would otherwise be read as if it came over TLS.
    let mut attack = starttls().to_vec();
    attack.extend_from_slice(b"<message to='victim@example.com'><body>injected</body></message>");
    client.write_all(&attack).await.unwrap();
    // Let every byte arrive before the server reads.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(next_stanza(&mut server).await.is("starttls", ns::TLS));
    assert!(server.has_pending_input());
    let err = server
        .accept_tls(&tls.acceptor)
        .await
        .err()
        .expect("the upgrade must fail");
    assert!(err.to_string().contains("pipelined"), "{err}");

    // The same on the client side: bytes behind <proceed/> are refused too.
    let (client_tcp, mut server) = tcp_pair().await;
    let mut client = conn(client_tcp);
    server
        .write_all(b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>\
            <proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><message/>")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    next_header(&mut client).await;
    assert!(next_stanza(&mut client).await.is("proceed", ns::TLS));
    let name = ServerName::try_from("localhost").unwrap();
    assert!(client.connect_tls(&tls.connector, name).await.is_err());
}

#[tokio::test]
async fn failed_handshake_is_an_error() {
    let tls = default_tls();
    let other = default_tls(); // a client that trusts another certificate
    let (client_tcp, server_tcp) = tcp_pair().await;
    let server = async {
        let server = conn(server_tcp);
        timeout(LIMIT, server.accept_tls(&tls.acceptor))
            .await
            .unwrap()
    };
    let client = async {
        let client = conn(client_tcp);
        let name = ServerName::try_from("localhost").unwrap();
        timeout(LIMIT, client.connect_tls(&other.connector, name))
            .await
            .unwrap()
    };
    let (server, client) = tokio::join!(server, client);
    assert!(client.is_err());
    assert!(server.is_err());
}

#[tokio::test]
async fn direct_tls_transport() {
    // XEP-0368: TLS from the first byte, then the XML stream inside it.
    let tls = default_tls();
    let (client_tcp, server_tcp) = tcp_pair().await;
    let name = ServerName::try_from("localhost").unwrap();
    let (server, client) = tokio::join!(
        Transport::Plain(server_tcp).accept_tls(&tls.acceptor),
        Transport::Plain(client_tcp).connect_tls(&tls.connector, name),
    );
    let mut server = XmlConnection::new(server.unwrap(), Limits::default());
    let mut client = XmlConnection::new(client.unwrap(), Limits::default());
    client.send(CLIENT_HEADER.as_bytes()).await.unwrap();
    client.send(&bytes_of(&message("direct"))).await.unwrap();
    next_header(&mut server).await;
    assert_eq!(next_stanza(&mut server).await, message("direct"));
    assert_eq!(
        server.transport().tls_exporter(),
        client.transport().tls_exporter()
    );
}
