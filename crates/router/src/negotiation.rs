//! Everything that happens on a component connection before it may route: the stream header,
//! STARTTLS, SASL (native protocol) or the XEP-0114 handshake.
//!
//! Every read has the same deadline (`limits.auth_timeout`), so a peer that connects and says
//! nothing costs a socket for a bounded time only.

use base64::Engine;
use bytes::BytesMut;
use minidom::Element;
use sasl_server::{
    ChannelBindings, Credentials, DigestMd5Params, Failure, Mechanism, ServerSession, Step,
};
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;
use tokio::time::Instant;
use xml_stream::io::{ReadError, XmlConnection};
use xml_stream::writer::{stanza_bytes, write_header, FOOTER};
use xml_stream::{ns, StreamError, StreamErrorCondition, StreamEvent, StreamHeader};

use crate::link::Protocol;
use crate::server::Settings;

/// A connection that authenticated.
pub struct Negotiated {
    pub conn: XmlConnection,
    pub account: String,
    pub protocol: Protocol,
}

/// Why negotiation ended without an authenticated connection (the peer was already told).
#[derive(Debug)]
pub enum Refused {
    /// A stream error was sent; the text is for the log.
    StreamError(StreamErrorCondition, String),
    /// The connection broke.
    Gone(String),
}

/// SASL failures tolerated on one connection before it is closed.
const MAX_AUTH_FAILURES: u32 = 3;

/// DIGEST-MD5 as jabberd2's components expect it (`router/main.c`).
const JABBERD2_REALM: &str = "jabberd-router";

struct Negotiation<'a> {
    conn: XmlConnection,
    settings: &'a Settings,
    deadline: Instant,
    header_sent: bool,
}

/// Runs the negotiation on a fresh connection.
pub async fn negotiate(conn: XmlConnection, settings: &Settings) -> Result<Negotiated, Refused> {
    let deadline =
        Instant::now() + std::time::Duration::from_secs(settings.config.limits.auth_timeout);
    let mut n = Negotiation {
        conn,
        settings,
        deadline,
        header_sent: false,
    };
    let header = n.read_header().await?;
    match header.default_ns.as_deref() {
        Some(ns::COMPONENT_ACCEPT) => n.accept(header).await,
        None => n.native().await,
        Some(other) => {
            let text = format!("{other} is not a component namespace");
            n.fail(StreamErrorCondition::InvalidNamespace, text).await
        }
    }
}

fn new_stream_id() -> String {
    let mut bytes = [0u8; 12];
    // An id that cannot be predicted keeps XEP-0114 handshakes from being replayed.
    getrandom::fill(&mut bytes).unwrap_or_else(|_| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes.copy_from_slice(&nanos.to_le_bytes()[..12]);
    });
    hex::encode(bytes)
}

fn sasl(name: &str, data: Option<&[u8]>) -> Element {
    let mut el = Element::bare(name, ns::SASL);
    if let Some(data) = data {
        el.append_text_node(base64::engine::general_purpose::STANDARD.encode(data));
    }
    el
}

fn sasl_failure(failure: Failure) -> Element {
    let mut el = Element::bare("failure", ns::SASL);
    el.append_child(Element::bare(failure.as_str(), ns::SASL));
    el
}

/// The data of `<auth/>` or `<response/>`: absent, empty (`=`), or base64.
fn sasl_data(el: &Element) -> Result<Option<Vec<u8>>, Failure> {
    let text = el.text();
    match text.trim() {
        "" => Ok(None),
        "=" => Ok(Some(Vec::new())),
        data => base64::engine::general_purpose::STANDARD
            .decode(data)
            .map(Some)
            .map_err(|_| Failure::IncorrectEncoding),
    }
}

impl Negotiation<'_> {
    async fn read(&mut self) -> Result<StreamEvent, Refused> {
        let event = tokio::time::timeout_at(self.deadline, self.conn.next_event()).await;
        match event {
            Err(_) => {
                self.fail(
                    StreamErrorCondition::ConnectionTimeout,
                    "authentication took too long".into(),
                )
                .await
            }
            Ok(Ok(event)) => Ok(event),
            Ok(Err(ReadError::Parse(e))) => self.fail(e.condition(), e.to_string()).await,
            Ok(Err(e)) => Err(Refused::Gone(e.to_string())),
        }
    }

    async fn read_header(&mut self) -> Result<StreamHeader, Refused> {
        match self.read().await? {
            StreamEvent::Header(header) => Ok(header),
            _ => {
                self.fail(
                    StreamErrorCondition::NotWellFormed,
                    "expected a stream header".into(),
                )
                .await
            }
        }
    }

    async fn read_element(&mut self) -> Result<Element, Refused> {
        match self.read().await? {
            StreamEvent::Stanza(el) => Ok(el),
            StreamEvent::Footer => {
                let _ = self.conn.send(FOOTER).await;
                Err(Refused::Gone("the component closed its stream".into()))
            }
            StreamEvent::Header(_) => {
                self.fail(
                    StreamErrorCondition::NotWellFormed,
                    "unexpected stream header".into(),
                )
                .await
            }
        }
    }

    async fn send(&mut self, el: &Element, stream_ns: Option<&str>) -> Result<(), Refused> {
        self.conn
            .send(&stanza_bytes(el, stream_ns))
            .await
            .map_err(|e| Refused::Gone(e.to_string()))
    }

    async fn send_header(&mut self, default_ns: Option<&str>, from: &str) -> Result<(), Refused> {
        let header = StreamHeader {
            default_ns: default_ns.map(str::to_owned),
            from: Some(from.to_owned()),
            id: Some(new_stream_id()),
            version: Some("1.0".into()),
            ..StreamHeader::default()
        };
        self.send_built_header(&header).await
    }

    async fn send_built_header(&mut self, header: &StreamHeader) -> Result<(), Refused> {
        let mut out = BytesMut::new();
        write_header(header, &mut out);
        self.header_sent = true;
        self.conn
            .send(&out)
            .await
            .map_err(|e| Refused::Gone(e.to_string()))
    }

    /// Sends a stream error (after a header, if none was sent yet) and closes the stream.
    async fn fail<T>(
        &mut self,
        condition: StreamErrorCondition,
        text: String,
    ) -> Result<T, Refused> {
        let mut out = BytesMut::new();
        if !self.header_sent {
            let header = StreamHeader {
                from: Some(self.settings.config.id.clone()),
                id: Some(new_stream_id()),
                version: Some("1.0".into()),
                ..StreamHeader::default()
            };
            write_header(&header, &mut out);
        }
        let error = StreamError::new(condition);
        out.extend_from_slice(&stanza_bytes(&error.to_element(), None));
        out.extend_from_slice(FOOTER);
        let _ = self.conn.send(&out).await;
        Err(Refused::StreamError(condition, text))
    }

    fn mechanisms(&self) -> Vec<Mechanism> {
        let is_tls = self.conn.transport().is_tls();
        let config = &self.settings.config;
        if config.tls.required && !is_tls {
            return Vec::new();
        }
        let mut offered = Vec::new();
        if is_tls {
            offered.push(Mechanism::ScramSha256Plus);
        }
        offered.push(Mechanism::ScramSha256);
        if is_tls {
            offered.push(Mechanism::Plain);
        }
        if config.jabberd2_compat {
            offered.push(Mechanism::DigestMd5);
        }
        offered
    }

    fn features(&self) -> Element {
        let mut features = Element::bare("features", ns::STREAMS);
        let can_start_tls = self.settings.tls.is_some() && !self.conn.transport().is_tls();
        if can_start_tls {
            let mut starttls = Element::bare("starttls", ns::TLS);
            if self.settings.config.tls.required {
                starttls.append_child(Element::bare("required", ns::TLS));
            }
            features.append_child(starttls);
        }
        let offered = self.mechanisms();
        if !offered.is_empty() {
            let mut mechanisms = Element::bare("mechanisms", ns::SASL);
            for mechanism in offered {
                let mut el = Element::bare("mechanism", ns::SASL);
                el.append_text_node(mechanism.name());
                mechanisms.append_child(el);
            }
            features.append_child(mechanisms);
        }
        features
    }

    /// jabberd2's protocol: STARTTLS if wanted, SASL, stream restart.
    async fn native(mut self) -> Result<Negotiated, Refused> {
        let router_id = self.settings.config.id.clone();
        self.send_header(None, &router_id).await?;
        let features = self.features();
        self.send(&features, None).await?;
        let mut failures = 0;
        loop {
            let el = self.read_element().await?;
            if el.is("starttls", ns::TLS) {
                self = self.start_tls().await?;
                continue;
            }
            if !el.is("auth", ns::SASL) {
                return self
                    .fail(
                        StreamErrorCondition::NotAuthorized,
                        format!("<{}/> before authentication", el.name()),
                    )
                    .await;
            }
            match self.authenticate(&el).await? {
                Ok(account) => {
                    self.conn.restart();
                    self.header_sent = false;
                    self.read_header().await?;
                    self.send_header(None, &router_id).await?;
                    self.send(&Element::bare("features", ns::STREAMS), None)
                        .await?;
                    return Ok(Negotiated {
                        conn: self.conn,
                        account,
                        protocol: Protocol::Native,
                    });
                }
                Err(failure) => {
                    self.send(&sasl_failure(failure), None).await?;
                    failures += 1;
                    if failures >= MAX_AUTH_FAILURES {
                        return self
                            .fail(
                                StreamErrorCondition::NotAuthorized,
                                "too many failed authentication attempts".into(),
                            )
                            .await;
                    }
                }
            }
        }
    }

    async fn start_tls(mut self) -> Result<Self, Refused> {
        let Some(acceptor) = self.settings.tls.clone() else {
            return self
                .fail(
                    StreamErrorCondition::UnsupportedFeature,
                    "STARTTLS is not offered".into(),
                )
                .await;
        };
        if self.conn.transport().is_tls() {
            return self
                .fail(
                    StreamErrorCondition::PolicyViolation,
                    "TLS is already active".into(),
                )
                .await;
        }
        if self.conn.has_pending_input() {
            // RFC 6120 §5.4.3.3: nothing may follow <starttls/> before the handshake.
            return self
                .fail(
                    StreamErrorCondition::PolicyViolation,
                    "data pipelined after <starttls/>".into(),
                )
                .await;
        }
        self.send(&Element::bare("proceed", ns::TLS), None).await?;
        let handshake = self.conn.accept_tls(&acceptor);
        let conn = tokio::time::timeout_at(self.deadline, handshake)
            .await
            .map_err(|_| Refused::Gone("TLS handshake timed out".into()))?
            .map_err(|e| Refused::Gone(format!("TLS handshake failed: {e}")))?;
        let mut upgraded = Negotiation {
            conn,
            settings: self.settings,
            deadline: self.deadline,
            header_sent: false,
        };
        upgraded.read_header().await?;
        let router_id = upgraded.settings.config.id.clone();
        upgraded.send_header(None, &router_id).await?;
        let features = upgraded.features();
        upgraded.send(&features, None).await?;
        Ok(upgraded)
    }

    /// One SASL exchange, from `<auth/>` to success (the account name) or a failure.
    async fn authenticate(&mut self, auth: &Element) -> Result<Result<String, Failure>, Refused> {
        let offered = self.mechanisms();
        let requested = auth.attr("mechanism").and_then(Mechanism::from_name);
        let mechanism = match requested {
            Some(m) if offered.contains(&m) => m,
            Some(Mechanism::Plain) if !self.conn.transport().is_tls() => {
                return Ok(Err(Failure::EncryptionRequired))
            }
            _ if self.settings.config.tls.required && !self.conn.transport().is_tls() => {
                return Ok(Err(Failure::EncryptionRequired))
            }
            _ => return Ok(Err(Failure::InvalidMechanism)),
        };
        let bindings = ChannelBindings {
            tls_exporter: self.conn.transport().tls_exporter(),
            tls_server_end_point: None,
        };
        let digest = DigestMd5Params {
            realm: JABBERD2_REALM.into(),
            service: JABBERD2_REALM.into(),
        };
        let mut session = ServerSession::new(mechanism, bindings, digest);
        let mut step = match sasl_data(auth) {
            Ok(data) => session.step(data.as_deref()),
            Err(failure) => return Ok(Err(failure)),
        };
        loop {
            step = match step {
                Step::Challenge(data) => {
                    self.send(&sasl("challenge", Some(&data)), None).await?;
                    let el = self.read_element().await?;
                    if el.is("abort", ns::SASL) {
                        return Ok(Err(Failure::Aborted));
                    }
                    if !el.is("response", ns::SASL) {
                        return self
                            .fail(
                                StreamErrorCondition::NotAuthorized,
                                format!("<{}/> during SASL", el.name()),
                            )
                            .await;
                    }
                    match sasl_data(&el) {
                        Ok(data) => session.step(Some(data.as_deref().unwrap_or(&[]))),
                        Err(failure) => return Ok(Err(failure)),
                    }
                }
                Step::NeedCredentials { username } => {
                    let credentials = self.credentials(&username, mechanism);
                    session.provide(credentials)
                }
                Step::Success {
                    username,
                    additional_data,
                    ..
                } => {
                    self.send(&sasl("success", additional_data.as_deref()), None)
                        .await?;
                    return Ok(Ok(username));
                }
                Step::Failure(failure) => return Ok(Err(failure)),
            }
        }
    }

    fn credentials(&self, username: &str, mechanism: Mechanism) -> Option<Credentials> {
        let user = self.settings.config.users.get(username)?;
        match mechanism {
            Mechanism::ScramSha256 | Mechanism::ScramSha256Plus => self
                .settings
                .scram
                .get(username)
                .cloned()
                .map(Credentials::Scram),
            _ => Some(Credentials::Password(user.password.clone())),
        }
    }

    /// XEP-0114: the stream names the component; it proves the secret with a handshake.
    async fn accept(mut self, header: StreamHeader) -> Result<Negotiated, Refused> {
        let Some(name) = header.to.map(|to| to.to_ascii_lowercase()) else {
            return self
                .fail(
                    StreamErrorCondition::HostUnknown,
                    "the stream has no 'to'".into(),
                )
                .await;
        };
        let Some(component) = self.settings.config.components.get(&name) else {
            return self
                .fail(
                    StreamErrorCondition::HostUnknown,
                    format!("{name} is not a configured component"),
                )
                .await;
        };
        let secret = component.secret.clone();
        let id = new_stream_id();
        let reply = StreamHeader {
            default_ns: Some(ns::COMPONENT_ACCEPT.into()),
            from: Some(name.clone()),
            id: Some(id.clone()),
            ..StreamHeader::default()
        };
        self.send_built_header(&reply).await?;
        // Inside Starling every stanza is in jabber:client, whatever stream it came on.
        self.conn
            .parser_mut()
            .set_namespace_alias(ns::COMPONENT_ACCEPT, ns::CLIENT);
        let el = self.read_element().await?;
        if !el.is("handshake", ns::CLIENT) {
            return self
                .fail(
                    StreamErrorCondition::NotAuthorized,
                    format!("<{}/> before the handshake", el.name()),
                )
                .await;
        }
        let expected = hex::encode(Sha1::digest(format!("{id}{secret}").as_bytes()));
        let given = el.text().trim().to_ascii_lowercase();
        if !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
            return self
                .fail(
                    StreamErrorCondition::NotAuthorized,
                    format!("wrong secret for {name}"),
                )
                .await;
        }
        self.send(&Element::bare("handshake", ns::CLIENT), Some(ns::CLIENT))
            .await?;
        Ok(Negotiated {
            conn: self.conn,
            account: name,
            protocol: Protocol::Accept,
        })
    }
}
