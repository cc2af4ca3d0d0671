//! Joining a component router as a jabberd2-protocol component: TCP, stream header, SASL
//! (SCRAM or DIGEST-MD5), stream restart, `<bind name='…'/>`.
//!
//! Written from the wire protocol only (no Starling component crate), so the same code measures
//! Starling's router and jabberd2's.

use std::net::SocketAddr;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use bytes::{Buf, BytesMut};
use clap::ValueEnum;
use minidom::Element;
use sasl_server::{ChannelBindings, ClientSession, Mechanism, JABBERD_ROUTER};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use xml_stream::writer::write_header;
use xml_stream::{ns, Limits, StreamEvent, StreamHeader, StreamParser};

use crate::Error;

/// The SASL mechanisms the bench can log in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MechanismArg {
    /// Starling's default.
    #[value(name = "scram-sha-256")]
    ScramSha256,
    #[value(name = "scram-sha-512")]
    ScramSha512,
    #[value(name = "scram-sha-1")]
    ScramSha1,
    /// The only mechanism jabberd2's router offers (realm and service `jabberd-router`).
    DigestMd5,
}

impl MechanismArg {
    fn mechanism(self) -> Mechanism {
        match self {
            MechanismArg::ScramSha256 => Mechanism::ScramSha256,
            MechanismArg::ScramSha512 => Mechanism::ScramSha512,
            MechanismArg::ScramSha1 => Mechanism::ScramSha1,
            MechanismArg::DigestMd5 => Mechanism::DigestMd5,
        }
    }
}

/// Who logs in where.
#[derive(Debug, Clone)]
pub struct Login {
    pub router: SocketAddr,
    /// Host part of DIGEST-MD5's `digest-uri` (`jabberd-router/<host>`).
    pub host: String,
    pub mechanism: MechanismArg,
    pub user: String,
    pub password: String,
    /// Bounds the whole connect, authenticate and bind sequence.
    pub timeout: Duration,
}

/// A component stream after a successful bind: the socket, the parser positioned inside the
/// restarted stream, and bytes already read but not yet parsed.
pub struct Bound {
    pub tcp: TcpStream,
    pub parser: StreamParser,
    pub pending: BytesMut,
}

/// Connects, authenticates as `login.user`, binds `bind_name`, and returns the open stream.
pub async fn component(login: &Login, bind_name: &str) -> Result<Bound, Error> {
    let what = format!("{} at {}", login.user, login.router);
    match tokio::time::timeout(login.timeout, negotiate(login, bind_name)).await {
        Ok(Ok(bound)) => Ok(bound),
        Ok(Err(e)) => Err(format!("{what}: {e}").into()),
        Err(_) => Err(format!("{what}: no bound stream after {:?}", login.timeout).into()),
    }
}

async fn negotiate(login: &Login, bind_name: &str) -> Result<Bound, Error> {
    let tcp = TcpStream::connect(login.router).await?;
    tcp.set_nodelay(true)?;
    let mut conn = Bound {
        parser: StreamParser::new(Limits::default()),
        pending: BytesMut::new(),
        tcp,
    };

    let features = open_stream(&mut conn).await?;
    let offered: Vec<String> = features
        .get_child("mechanisms", ns::SASL)
        .map(|m| m.children().map(Element::text).collect())
        .unwrap_or_default();
    let mechanism = login.mechanism.mechanism();
    if !offered.iter().any(|m| m.trim() == mechanism.name()) {
        return Err(format!("the router offers {offered:?}, not {mechanism}").into());
    }
    authenticate(&mut conn, login, mechanism).await?;

    conn.parser.reset();
    open_stream(&mut conn).await?;
    bind(&mut conn, bind_name).await?;
    Ok(conn)
}

impl Bound {
    async fn send(&mut self, bytes: &[u8]) -> Result<(), Error> {
        Ok(self.tcp.write_all(bytes).await?)
    }

    /// Reads until the next stream event.
    async fn next_event(&mut self) -> Result<StreamEvent, Error> {
        loop {
            if !self.pending.is_empty() {
                let mut data: &[u8] = &self.pending;
                let result = self.parser.next_event(&mut data);
                let consumed = self.pending.len() - data.len();
                self.pending.advance(consumed);
                if let Some(event) = result.map_err(|e| format!("from the router: {e}"))? {
                    return Ok(event);
                }
            }
            self.pending.reserve(READ_CHUNK);
            if self.tcp.read_buf(&mut self.pending).await? == 0 {
                return Err("the router closed the connection".into());
            }
        }
    }
}

const READ_CHUNK: usize = 16 * 1024;

/// Sends a component stream header (no default namespace, no `to`) and reads the router's
/// header and features.
async fn open_stream(conn: &mut Bound) -> Result<Element, Error> {
    let header = StreamHeader {
        version: Some("1.0".into()),
        ..StreamHeader::default()
    };
    let mut out = BytesMut::new();
    write_header(&header, &mut out);
    conn.send(&out).await?;
    match conn.next_event().await? {
        StreamEvent::Header(_) => {}
        other => return Err(format!("expected a stream header, got {other:?}").into()),
    }
    let features = next_element(conn).await?;
    if !features.is("features", ns::STREAMS) {
        return Err(format!("expected stream features, got <{}/>", features.name()).into());
    }
    Ok(features)
}

async fn authenticate(conn: &mut Bound, login: &Login, mechanism: Mechanism) -> Result<(), Error> {
    let mut client = sasl_client(login, mechanism)?;
    let initial = client.initial_response();
    let payload = initial.as_deref().map(sasl_payload).unwrap_or_default();
    let auth = format!(
        "<auth xmlns='{}' mechanism='{}'>{payload}</auth>",
        ns::SASL,
        mechanism.name()
    );
    conn.send(auth.as_bytes()).await?;
    loop {
        let el = next_element(conn).await?;
        if el.ns() != ns::SASL {
            return Err(format!("unexpected <{}/> during SASL", el.name()).into());
        }
        match el.name() {
            "challenge" => {
                let challenge = decode(&el)?;
                let reply = client
                    .step(&challenge)
                    .map_err(|e| format!("SASL step: {}", e.as_str()))?;
                let payload = sasl_payload(reply.as_deref().unwrap_or_default());
                let response = format!("<response xmlns='{}'>{payload}</response>", ns::SASL);
                conn.send(response.as_bytes()).await?;
            }
            "success" => {
                let data = decode(&el)?;
                let data = (!data.is_empty()).then_some(data);
                client
                    .verify_success(data.as_deref())
                    .map_err(|e| format!("the router's success did not verify: {}", e.as_str()))?;
                return Ok(());
            }
            "failure" => {
                let condition = el.children().next().map_or("unknown", Element::name);
                return Err(format!("SASL failure: {condition}").into());
            }
            other => return Err(format!("unexpected <{other}/> during SASL").into()),
        }
    }
}

fn sasl_client(login: &Login, mechanism: Mechanism) -> Result<ClientSession, Error> {
    let client = ClientSession::new(
        mechanism,
        &login.user,
        &login.password,
        None,
        ChannelBindings::none(),
    )
    .map_err(|e| format!("SASL client: {}", e.as_str()))?;
    // jabberd2's components use `jabberd-router/<router host>`; ignored by SCRAM.
    Ok(client.with_digest_uri(JABBERD_ROUTER, &login.host))
}

/// Sends `<bind name='…'/>` and waits for its echo, skipping presence advertisements.
async fn bind(conn: &mut Bound, name: &str) -> Result<(), Error> {
    let bind = format!("<bind xmlns='{}' name='{name}'/>", ns::COMPONENT);
    conn.send(bind.as_bytes()).await?;
    loop {
        let el = next_element(conn).await?;
        if el.is("bind", ns::COMPONENT) {
            return match el.attr("error") {
                None => Ok(()),
                Some(code) => Err(format!("bind {name} refused with error {code}").into()),
            };
        }
    }
}

/// The next top-level element; a stream error or the end of the stream is an error.
async fn next_element(conn: &mut Bound) -> Result<Element, Error> {
    match conn.next_event().await? {
        StreamEvent::Stanza(el) if el.is("error", ns::STREAMS) => {
            let condition = el
                .children()
                .next()
                .map_or("unknown", Element::name)
                .to_owned();
            Err(format!("stream error: {condition}").into())
        }
        StreamEvent::Stanza(el) => Ok(el),
        StreamEvent::Footer => Err("the router closed the stream".into()),
        StreamEvent::Header(_) => Err("unexpected stream header".into()),
    }
}

/// SASL data as element text: base64, with `=` for an empty response (RFC 6120 §6.4.2).
fn sasl_payload(data: &[u8]) -> String {
    if data.is_empty() {
        "=".to_owned()
    } else {
        B64.encode(data)
    }
}

fn decode(el: &Element) -> Result<Vec<u8>, Error> {
    let text = el.text();
    let text = text.trim();
    if text.is_empty() || text == "=" {
        return Ok(Vec::new());
    }
    Ok(B64
        .decode(text)
        .map_err(|_| "the router sent invalid base64")?)
}
