//! The client side of the component protocol: a task that keeps one connection to a router up.
//!
//! It connects to the first router that answers, starts TLS when configured, authenticates with
//! SASL, binds the configured names, and then hands every packet it reads to the owner as an
//! [`Event`]. When the connection drops it reports [`Event::Offline`], waits (exponential
//! backoff) and does it all again, so a router restart costs a component nothing but the gap.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::BytesMut;
use minidom::Element;
use rxml::xml_ncname;
use sasl_server::{ChannelBindings, ClientSession};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsConnector;
use xml_stream::io::{Outbox, QueueError, ReadError, Transport, XmlConnection};
use xml_stream::writer::{stanza_bytes, write_header};
use xml_stream::{ns, Limits, StreamEvent, StreamHeader};

use crate::wire::{Bind, Packet, Route};

/// TLS towards the router.
#[derive(Clone)]
pub struct TlsSettings {
    pub connector: TlsConnector,
    /// The name the router's certificate must carry.
    pub server_name: rustls_pki_types::ServerName<'static>,
    /// Refuse to authenticate when the router does not offer STARTTLS.
    pub required: bool,
}

/// Everything the connector needs to join a router.
#[derive(Clone)]
pub struct ConnectorConfig {
    /// Router addresses (`host:port`), tried in order on every (re)connection.
    pub routers: Vec<String>,
    /// The SASL account on the router.
    pub user: String,
    pub password: String,
    pub tls: Option<TlsSettings>,
    /// Names bound, in order, after each authentication.
    pub binds: Vec<Bind>,
    pub limits: Limits,
    /// Bytes queued towards the router before [`Component::send`] refuses.
    pub max_queue_bytes: usize,
    /// First and longest wait between connection attempts.
    pub retry_min: Duration,
    pub retry_max: Duration,
}

impl ConnectorConfig {
    /// A configuration with the usual limits and retry times.
    pub fn new(routers: Vec<String>, user: &str, password: &str, binds: Vec<Bind>) -> Self {
        ConnectorConfig {
            routers,
            user: user.to_owned(),
            password: password.to_owned(),
            tls: None,
            binds,
            limits: Limits {
                max_stanza_bytes: 1024 * 1024,
                ..Limits::default()
            },
            max_queue_bytes: 16 * 1024 * 1024,
            retry_min: Duration::from_millis(200),
            retry_max: Duration::from_secs(10),
        }
    }
}

/// What the connector reports to its owner.
#[derive(Debug)]
pub enum Event {
    /// Authenticated and every configured name bound; packets can flow.
    Online,
    /// The connection is gone; the connector is already trying again.
    Offline,
    /// A packet from the router: a route, an advertisement, a bind/unbind reply.
    Packet(Packet),
}

/// Why a packet could not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("not connected to a router")]
    NotConnected,
    #[error("the router is not reading fast enough")]
    QueueFull,
}

/// The handle used to send packets; cheap to clone.
#[derive(Clone, Default)]
pub struct Component {
    outbox: Arc<Mutex<Option<Outbox>>>,
}

impl Component {
    /// Starts the connector task. Events arrive on the returned receiver, which applies
    /// backpressure: while the owner does not read, the connector stops reading the router.
    pub fn spawn(config: ConnectorConfig) -> (Component, mpsc::Receiver<Event>) {
        let component = Component::default();
        let (events, rx) = mpsc::channel(1024);
        tokio::spawn(run(config, events, component.clone()));
        (component, rx)
    }

    /// Queues a packet for the router.
    pub fn send(&self, packet: &Packet) -> Result<(), SendError> {
        self.send_element(&packet.to_element())
    }

    /// Queues a route for the router.
    pub fn send_route(&self, route: Route) -> Result<(), SendError> {
        self.send_element(&route.into_element())
    }

    fn send_element(&self, el: &Element) -> Result<(), SendError> {
        let bytes = stanza_bytes(el, None);
        let guard = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
        let outbox = guard.as_ref().ok_or(SendError::NotConnected)?;
        outbox.send(bytes).map_err(|e| match e {
            QueueError::Full => SendError::QueueFull,
            QueueError::Closed => SendError::NotConnected,
        })
    }

    /// Ends our stream after everything queued so far and waits, up to `limit`, until it is
    /// written: the router handles every packet before the end of the stream, then tells the
    /// other components that our names are gone. For a clean exit; sending fails afterwards.
    pub async fn close(&self, limit: Duration) {
        let outbox = self.outbox.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(outbox) = outbox {
            outbox.close(bytes::Bytes::from_static(xml_stream::writer::FOOTER));
            if tokio::time::timeout(limit, outbox.closed()).await.is_err() {
                tracing::warn!("the router did not take our last packets in time");
            }
        }
    }

    /// Whether the connector is online.
    pub fn is_online(&self) -> bool {
        self.outbox
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|o| !o.is_closed())
    }

    fn set_outbox(&self, outbox: Option<Outbox>) {
        *self.outbox.lock().unwrap_or_else(|e| e.into_inner()) = outbox;
    }
}

/// Why a connection attempt or session ended.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("no router reachable: {0}")]
    Unreachable(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Read(#[from] ReadError),
    #[error("router refused authentication: {0}")]
    AuthFailed(String),
    #[error("router refused to bind {name}: error {code}")]
    BindRefused { name: String, code: String },
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("the owner stopped listening")]
    OwnerGone,
}

/// A session that lasted this long resets the backoff: the router was fine, the drop was news.
const STABLE_SESSION: Duration = Duration::from_secs(30);

async fn run(config: ConnectorConfig, events: mpsc::Sender<Event>, component: Component) {
    let mut delay = config.retry_min;
    loop {
        let started = Instant::now();
        let mut online = false;
        let result = session(&config, &events, &component, &mut online).await;
        component.set_outbox(None);
        match result {
            Err(ConnectError::OwnerGone) => return,
            Err(e) => tracing::warn!(user = %config.user, "router connection: {e}"),
            Ok(()) => tracing::info!(user = %config.user, "router closed the connection"),
        }
        if online && events.send(Event::Offline).await.is_err() {
            return;
        }
        if started.elapsed() > STABLE_SESSION {
            delay = config.retry_min;
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = events.closed() => return,
        }
        delay = (delay * 2).min(config.retry_max);
    }
}

async fn connect_any(routers: &[String]) -> Result<TcpStream, ConnectError> {
    let mut errors = Vec::new();
    for address in routers {
        match TcpStream::connect(address).await {
            Ok(tcp) => {
                let _ = tcp.set_nodelay(true);
                return Ok(tcp);
            }
            Err(e) => errors.push(format!("{address}: {e}")),
        }
    }
    Err(ConnectError::Unreachable(errors.join("; ")))
}

async fn session(
    config: &ConnectorConfig,
    events: &mpsc::Sender<Event>,
    component: &Component,
    online: &mut bool,
) -> Result<(), ConnectError> {
    let tcp = connect_any(&config.routers).await?;
    let mut conn = XmlConnection::new(Transport::Plain(tcp), config.limits);
    let mut features = open_stream(&mut conn).await?;
    if let Some(tls) = &config.tls {
        if features.has_child("starttls", ns::TLS) {
            conn.send(&stanza_bytes(&Element::bare("starttls", ns::TLS), None))
                .await?;
            let answer = next_element(&mut conn).await?;
            if !answer.is("proceed", ns::TLS) {
                return Err(ConnectError::Protocol("STARTTLS refused".into()));
            }
            conn = conn
                .connect_tls(&tls.connector, tls.server_name.clone())
                .await?;
            features = open_stream(&mut conn).await?;
        } else if tls.required {
            return Err(ConnectError::Protocol(
                "the router does not offer STARTTLS".into(),
            ));
        }
    }
    authenticate(&mut conn, config, &features).await?;
    open_stream(&mut conn).await?;
    for bind in &config.binds {
        conn.send(&stanza_bytes(
            &Packet::Bind(bind.clone()).to_element(),
            None,
        ))
        .await?;
        wait_for_bind(&mut conn, events, bind).await?;
    }
    let (mut reader, outbox, writer) = conn.split(config.max_queue_bytes);
    component.set_outbox(Some(outbox));
    *online = true;
    tracing::info!(user = %config.user, "online at the router");
    events
        .send(Event::Online)
        .await
        .map_err(|_| ConnectError::OwnerGone)?;
    let result = loop {
        match reader.next_event().await {
            Ok(StreamEvent::Stanza(el)) => match Packet::from_element(el) {
                Ok(packet) => {
                    if events.send(Event::Packet(packet)).await.is_err() {
                        break Err(ConnectError::OwnerGone);
                    }
                }
                Err(e) => tracing::debug!("ignoring {e}"),
            },
            Ok(StreamEvent::Footer) => break Ok(()),
            Ok(StreamEvent::Header(_)) => {
                break Err(ConnectError::Protocol("unexpected stream header".into()))
            }
            Err(e) => break Err(e.into()),
        }
    };
    writer.abort();
    result
}

/// Sends our stream header and reads the router's header and features.
async fn open_stream(conn: &mut XmlConnection) -> Result<Element, ConnectError> {
    conn.restart();
    let header = StreamHeader {
        version: Some("1.0".into()),
        ..StreamHeader::default()
    };
    let mut out = BytesMut::new();
    write_header(&header, &mut out);
    conn.send(&out).await?;
    match conn.next_event().await? {
        StreamEvent::Header(_) => {}
        other => {
            return Err(ConnectError::Protocol(format!(
                "expected a stream header, got {other:?}"
            )))
        }
    }
    let features = next_element(conn).await?;
    if !features.is("features", ns::STREAMS) {
        return Err(ConnectError::Protocol(format!(
            "expected stream features, got <{}/>",
            features.name()
        )));
    }
    Ok(features)
}

async fn next_element(conn: &mut XmlConnection) -> Result<Element, ConnectError> {
    match conn.next_event().await? {
        StreamEvent::Stanza(el) if el.is("error", ns::STREAMS) => Err(ConnectError::Protocol(
            format!("stream error: {}", describe_stream_error(&el)),
        )),
        StreamEvent::Stanza(el) => Ok(el),
        StreamEvent::Footer => Err(ConnectError::Protocol(
            "the router closed the stream".into(),
        )),
        StreamEvent::Header(_) => Err(ConnectError::Protocol("unexpected stream header".into())),
    }
}

fn describe_stream_error(el: &Element) -> String {
    xml_stream::StreamError::from_element(el)
        .map(|e| e.condition.as_str().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

fn sasl_element(name: &str, data: Option<&[u8]>) -> Element {
    let mut el = Element::bare(name, ns::SASL);
    if let Some(data) = data {
        let text = if data.is_empty() {
            "=".to_owned()
        } else {
            base64::engine::general_purpose::STANDARD.encode(data)
        };
        el.append_text_node(text);
    }
    el
}

fn decode_sasl(el: &Element) -> Result<Vec<u8>, ConnectError> {
    let text = el.text();
    let text = text.trim();
    if text.is_empty() || text == "=" {
        return Ok(Vec::new());
    }
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| ConnectError::Protocol("router sent invalid base64".into()))
}

async fn authenticate(
    conn: &mut XmlConnection,
    config: &ConnectorConfig,
    features: &Element,
) -> Result<(), ConnectError> {
    let offered: Vec<String> = features
        .get_child("mechanisms", ns::SASL)
        .map(|m| m.children().map(|c| c.text()).collect())
        .unwrap_or_default();
    let offered_refs: Vec<&str> = offered.iter().map(String::as_str).collect();
    let bindings = ChannelBindings {
        tls_exporter: conn.transport().tls_exporter(),
        tls_server_end_point: None,
    };
    let is_tls = conn.transport().is_tls();
    let mechanism = sasl_server::choose_mechanism(&offered_refs, &bindings, is_tls, false)
        .ok_or_else(|| {
            ConnectError::AuthFailed(format!("no usable mechanism among {offered:?}"))
        })?;
    let mut client = ClientSession::new(mechanism, &config.user, &config.password, None, bindings)
        .map_err(|e| ConnectError::AuthFailed(e.as_str().into()))?;
    let mut auth = sasl_element("auth", client.initial_response().as_deref());
    auth.attrs_mut().insert(
        rxml::Namespace::NONE,
        xml_ncname!("mechanism").to_owned(),
        mechanism.name().to_owned(),
    );
    conn.send(&stanza_bytes(&auth, None)).await?;
    loop {
        let el = next_element(conn).await?;
        match el.name() {
            "challenge" if el.ns() == ns::SASL => {
                let challenge = decode_sasl(&el)?;
                let response = client
                    .step(&challenge)
                    .map_err(|e| ConnectError::AuthFailed(e.as_str().into()))?;
                let reply = sasl_element("response", Some(response.as_deref().unwrap_or(&[])));
                conn.send(&stanza_bytes(&reply, None)).await?;
            }
            "success" if el.ns() == ns::SASL => {
                let data = decode_sasl(&el)?;
                let data = (!data.is_empty()).then_some(data);
                client
                    .verify_success(data.as_deref())
                    .map_err(|e| ConnectError::AuthFailed(e.as_str().into()))?;
                return Ok(());
            }
            "failure" if el.ns() == ns::SASL => {
                let condition = el
                    .children()
                    .next()
                    .map_or_else(|| "unknown".to_owned(), |c| c.name().to_owned());
                return Err(ConnectError::AuthFailed(condition));
            }
            other => {
                return Err(ConnectError::Protocol(format!(
                    "unexpected <{other}/> during SASL"
                )))
            }
        }
    }
}

async fn wait_for_bind(
    conn: &mut XmlConnection,
    events: &mpsc::Sender<Event>,
    bind: &Bind,
) -> Result<(), ConnectError> {
    loop {
        let el = next_element(conn).await?;
        match Packet::from_element(el) {
            Ok(Packet::Bind(reply)) => {
                return match reply.error {
                    None => Ok(()),
                    Some(code) => Err(ConnectError::BindRefused {
                        name: bind.name.clone().unwrap_or_default(),
                        code,
                    }),
                };
            }
            // Advertisements and early routes are the owner's business even before it is online.
            Ok(packet) => events
                .send(Event::Packet(packet))
                .await
                .map_err(|_| ConnectError::OwnerGone)?,
            Err(e) => tracing::debug!("ignoring {e}"),
        }
    }
}
