//! Stream negotiation (RFC 6120 §4–§7): headers, features, STARTTLS, then SASL, registration
//! and binding dispatched to their modules, until a resource is bound and the session starts.

use std::time::Duration;

use bytes::BytesMut;
use jid::{BareJid, Jid};
use minidom::Element;
use tokio::net::TcpStream;
use tokio::time::Instant;
use xml_stream::io::Transport;
use xml_stream::writer::{stanza_bytes, write_header, FOOTER};
use xml_stream::{ns, Limits, StreamError, StreamErrorCondition as C, StreamEvent, StreamHeader};

use crate::config::HostConfig;
use crate::hub::ToConn;
use crate::stream::{ClientStream, ReadFail};
use crate::throttle::Throttle;
use crate::xml::{random_id, stanza_error};
use crate::{bind, register, sasl, session, Conn};

pub const NS_BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
pub const NS_SESSION_IQ: &str = "urn:ietf:params:xml:ns:xmpp-session";
pub const NS_REGISTER: &str = "jabber:iq:register";
const NS_REGISTER_FEATURE: &str = "http://jabber.org/features/iq-register";
/// RFC 6121 §2.6.1: the sm versions rosters, which the server must advertise.
const NS_ROSTERVER: &str = "urn:xmpp:features:rosterver";

/// How a connection ends.
#[derive(Debug)]
pub enum Fail {
    /// Send this stream error, close the stream and the socket.
    Stream(StreamError),
    /// The client closed its stream: close ours.
    Close,
    /// The socket is gone: nothing to say.
    Gone,
}

impl Fail {
    pub fn stream(condition: C, text: &str) -> Fail {
        Fail::Stream(StreamError::with_text(condition, text))
    }
}

impl From<ReadFail> for Fail {
    fn from(e: ReadFail) -> Fail {
        match e {
            ReadFail::Parse(e) => Fail::Stream(e.into()),
            ReadFail::Idle => Fail::stream(C::ConnectionTimeout, "idle for too long"),
            ReadFail::Gone => Fail::Gone,
        }
    }
}

/// What negotiation has established so far.
pub struct Nego {
    /// The domain of the stream (its header's `to`), once accepted.
    pub domain: Option<String>,
    pub host: HostConfig,
    /// TLS is up (STARTTLS done, or direct TLS).
    pub secure: bool,
    /// The domain whose STARTTLS acceptor made TLS: its certificate is the one shown when SNI
    /// names none of ours. `None` for direct TLS, which shows the first domain's.
    pub tls_domain: Option<String>,
    /// The authenticated account.
    pub user: Option<BareJid>,
    /// Failed SASL attempts on this connection.
    pub auth_failures: u32,
    header_sent: bool,
    /// The client's header `from`, echoed as our `to` (RFC 6120 §4.7.1).
    client_from: Option<String>,
    deadline: Instant,
}

impl Nego {
    pub fn domain(&self) -> &str {
        self.domain.as_deref().unwrap_or_default()
    }
}

/// What one stream (between two restarts) ended with.
enum Round {
    StartTls,
    Restart,
    Bound(bind::Bound),
}

/// Serves one client connection from its first byte to its last.
pub async fn serve(mut conn: Conn, tcp: TcpStream, direct_tls: bool) {
    let ctx = conn.ctx.clone();
    let l = &ctx.config.limits;
    let limits = Limits {
        max_stanza_bytes: l.max_stanza_bytes,
        ..Limits::default()
    };
    let deadline = Instant::now() + l.negotiation();
    let transport = if direct_tls {
        match tokio::time::timeout(
            l.negotiation(),
            Transport::Plain(tcp).accept_tls(ctx.tls.direct()),
        )
        .await
        {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => return tracing::debug!(peer = %conn.peer, "TLS handshake failed: {e}"),
            Err(_) => return tracing::debug!(peer = %conn.peer, "TLS handshake timed out"),
        }
    } else {
        Transport::Plain(tcp)
    };
    let mut stream = ClientStream::new(transport, limits, l.idle(), Throttle::new(l));
    let mut nego = Nego {
        domain: None,
        host: HostConfig::default(),
        secure: direct_tls,
        tls_domain: None,
        user: None,
        auth_failures: 0,
        header_sent: false,
        client_from: None,
        deadline,
    };
    loop {
        match round(&mut conn, &mut nego, &mut stream).await {
            Ok(Round::StartTls) => {
                let Some(acceptor) = ctx.tls.starttls(nego.domain()) else {
                    return;
                };
                let left = deadline.saturating_duration_since(Instant::now());
                match stream
                    .start_tls(acceptor, left.max(Duration::from_millis(1)))
                    .await
                {
                    Ok(s) => {
                        stream = s;
                        nego.secure = true;
                        nego.tls_domain = nego.domain.clone();
                    }
                    Err(e) => {
                        return tracing::debug!(peer = %conn.peer, "STARTTLS handshake failed: {e}")
                    }
                }
            }
            Ok(Round::Restart) => stream.restart(),
            Ok(Round::Bound(bound)) => return session::run(conn, nego, stream, bound).await,
            Err(fail) => return close(stream, &nego, fail).await,
        }
    }
}

/// Our stream header for the current stream.
fn our_header(nego: &Nego) -> StreamHeader {
    StreamHeader {
        default_ns: Some(ns::CLIENT.into()),
        prefixes: Vec::new(),
        to: nego.client_from.clone(),
        from: nego.domain.clone(),
        id: Some(random_id()),
        version: Some("1.0".into()),
        lang: Some("en".into()),
    }
}

/// The bytes that end a stream with `fail` (our header first if it was not sent: RFC 6120
/// §4.9.1.1 wants the error inside a stream).
pub fn closing_bytes(fail: &Fail, header: Option<&StreamHeader>) -> BytesMut {
    let mut out = BytesMut::new();
    if matches!(fail, Fail::Gone) {
        return out;
    }
    if let Some(header) = header {
        write_header(header, &mut out);
    }
    if let Fail::Stream(e) = fail {
        tracing::debug!("closing with stream error {e}");
        out.extend_from_slice(&stanza_bytes(&e.to_element(), Some(ns::CLIENT)));
    }
    out.extend_from_slice(FOOTER);
    out
}

async fn close(stream: ClientStream, nego: &Nego, fail: Fail) {
    if matches!(fail, Fail::Gone) {
        return;
    }
    let header = (!nego.header_sent).then(|| our_header(nego));
    let bytes = closing_bytes(&fail, header.as_ref());
    stream.close(&bytes).await;
}

/// Writes a top-level element.
pub async fn send(stream: &mut ClientStream, el: &Element) -> Result<(), Fail> {
    stream
        .send(&stanza_bytes(el, Some(ns::CLIENT)))
        .await
        .map_err(|_| Fail::Gone)
}

/// Answers `request` with a stanza error.
pub async fn send_error(
    stream: &mut ClientStream,
    request: &Element,
    condition: &str,
) -> Result<(), Fail> {
    match stanza_error(request, condition) {
        Some(reply) => send(stream, &reply).await,
        None => Ok(()),
    }
}

/// The next event from the client, bounded by the negotiation deadline, and aware of
/// shutdown and of the sm going away.
pub async fn next(
    conn: &mut Conn,
    nego: &Nego,
    stream: &mut ClientStream,
) -> Result<StreamEvent, Fail> {
    loop {
        tokio::select! {
            ev = tokio::time::timeout_at(nego.deadline, stream.next_event()) => {
                return match ev {
                    Err(_) => Err(Fail::stream(C::ConnectionTimeout, "negotiation took too long")),
                    Ok(r) => r.map_err(Fail::from),
                };
            }
            _ = conn.shutdown.changed() => return Err(Fail::stream(C::SystemShutdown, "server shutting down")),
            m = conn.rx.recv() => match m {
                Some(ToConn::RouterLost) => return Err(Fail::stream(C::HostGone, "session manager unavailable")),
                Some(ToConn::Unavailable(name)) if Some(&name) == nego.domain.as_ref() => {
                    return Err(Fail::stream(C::HostGone, "session manager unavailable"))
                }
                // The hub keeps our sender until this connection is dropped.
                None => return Err(Fail::Gone),
                _ => {}
            },
        }
    }
}

/// Normalises a header's `to` like a JID domain (case, trailing dot).
fn normalize_domain(to: &str) -> Option<String> {
    let to = to.strip_suffix('.').unwrap_or(to);
    jid::DomainPart::new(to).ok().map(|d| d.as_str().to_owned())
}

async fn open(conn: &mut Conn, nego: &mut Nego, stream: &mut ClientStream) -> Result<(), Fail> {
    let header = match next(conn, nego, stream).await? {
        StreamEvent::Header(h) => h,
        StreamEvent::Footer => return Err(Fail::Close),
        StreamEvent::Stanza(_) => {
            return Err(Fail::stream(C::NotWellFormed, "expected a stream header"))
        }
    };
    let ctx = conn.ctx.clone();
    nego.client_from = header
        .from
        .as_deref()
        .and_then(|f| Jid::new(f).ok())
        .map(|j| j.to_string());
    let domain = header.to.as_deref().and_then(normalize_domain);
    let host = domain.as_ref().and_then(|d| ctx.config.hosts.get(d));
    let (Some(domain), Some(host)) = (domain, host) else {
        return Err(Fail::stream(
            C::HostUnknown,
            "this server does not serve that domain",
        ));
    };
    if nego.domain.as_ref().is_some_and(|d| *d != domain) {
        return Err(Fail::stream(
            C::HostUnknown,
            "the domain changed on a stream restart",
        ));
    }
    nego.domain = Some(domain.clone());
    nego.host = host.clone();
    if header.default_ns.as_deref() != Some(ns::CLIENT) {
        return Err(Fail::stream(
            C::InvalidNamespace,
            "the content namespace must be jabber:client",
        ));
    }
    if !header.is_version_1() {
        return Err(Fail::stream(C::UnsupportedVersion, "XMPP 1.0 is required"));
    }
    if !ctx.hub.is_available(&domain) {
        return Err(Fail::stream(
            C::HostGone,
            "no session manager for this domain is available",
        ));
    }
    let mut out = BytesMut::new();
    write_header(&our_header(nego), &mut out);
    out.extend_from_slice(&stanza_bytes(
        &features(conn, nego, stream),
        Some(ns::CLIENT),
    ));
    stream.send(&out).await.map_err(|_| Fail::Gone)?;
    nego.header_sent = true;
    Ok(())
}

fn features(conn: &Conn, nego: &Nego, stream: &ClientStream) -> Element {
    let mut features = Element::bare("features", ns::STREAMS);
    if nego.user.is_some() {
        features.append_child(Element::bare("bind", NS_BIND));
        // RFC 3921's session establishment, superseded: advertised optional (draft-cridland-
        // xmpp-session) so that old clients that wait for it are not stuck.
        let mut session = Element::bare("session", NS_SESSION_IQ);
        session.append_child(Element::bare("optional", NS_SESSION_IQ));
        features.append_child(session);
        features.append_child(Element::bare("ver", NS_ROSTERVER));
        return features;
    }
    if !nego.secure {
        let mut starttls = Element::bare("starttls", ns::TLS);
        if nego.host.require_starttls {
            starttls.append_child(Element::bare("required", ns::TLS));
        }
        features.append_child(starttls);
    }
    if nego.secure || !nego.host.require_starttls {
        for el in sasl::features(conn, nego, stream) {
            features.append_child(el);
        }
        if nego.host.registration {
            features.append_child(Element::bare("register", NS_REGISTER_FEATURE));
        }
    }
    features
}

async fn round(conn: &mut Conn, nego: &mut Nego, stream: &mut ClientStream) -> Result<Round, Fail> {
    open(conn, nego, stream).await?;
    loop {
        let el = match next(conn, nego, stream).await? {
            StreamEvent::Stanza(el) => el,
            StreamEvent::Footer => return Err(Fail::Close),
            StreamEvent::Header(_) => {
                return Err(Fail::stream(C::NotWellFormed, "unexpected stream header"))
            }
        };
        let may_auth = nego.secure || !nego.host.require_starttls;
        match (el.ns().as_str(), el.name()) {
            (ns::TLS, "starttls") if !nego.secure && nego.user.is_none() => {
                if stream.has_pending_input() {
                    // Plaintext pipelined behind <starttls/> would be read as if it had come
                    // over TLS (CVE-2011-0411 class): refuse the negotiation (RFC 6120 §5.4.2.2).
                    send(stream, &Element::bare("failure", ns::TLS)).await?;
                    return Err(Fail::Close);
                }
                send(stream, &Element::bare("proceed", ns::TLS)).await?;
                return Ok(Round::StartTls);
            }
            (ns::TLS, _) => {
                send(stream, &Element::bare("failure", ns::TLS)).await?;
                return Err(Fail::Close);
            }
            (ns::SASL, "auth") if nego.user.is_none() => {
                if !may_auth {
                    sasl::send_failure(stream, sasl_server::Failure::EncryptionRequired).await?;
                    continue;
                }
                if let Some(user) = sasl::authenticate(conn, nego, stream, &el).await? {
                    tracing::info!(peer = %conn.peer, %user, "authenticated");
                    nego.user = Some(user);
                    return Ok(Round::Restart);
                }
            }
            (ns::SASL, "abort") if nego.user.is_none() => {
                sasl::send_failure(stream, sasl_server::Failure::Aborted).await?;
            }
            (ns::SASL, _) if nego.user.is_none() => {
                sasl::send_failure(stream, sasl_server::Failure::MalformedRequest).await?;
            }
            (ns::CLIENT, "iq") => {
                if let Some(round) = iq(conn, nego, stream, &el, may_auth).await? {
                    return Ok(round);
                }
            }
            (ns::CLIENT, "message" | "presence") => {
                return Err(Fail::stream(
                    C::NotAuthorized,
                    "no stanzas before authentication and binding",
                ))
            }
            _ => {
                return Err(Fail::stream(
                    C::UnsupportedStanzaType,
                    "unknown top-level element",
                ))
            }
        }
    }
}

/// An IQ during negotiation: registration before authentication, binding after it.
async fn iq(
    conn: &mut Conn,
    nego: &mut Nego,
    stream: &mut ClientStream,
    el: &Element,
    may_auth: bool,
) -> Result<Option<Round>, Fail> {
    let not_authorized = || {
        Fail::stream(
            C::NotAuthorized,
            "no stanzas before authentication and binding",
        )
    };
    if nego.user.is_none() {
        if may_auth && nego.host.registration && el.get_child("query", NS_REGISTER).is_some() {
            register::pre_auth(conn, nego, stream, el).await?;
            return Ok(None);
        }
        return Err(not_authorized());
    }
    if el.get_child("bind", NS_BIND).is_some() {
        return Ok(bind::bind(conn, nego, stream, el).await?.map(Round::Bound));
    }
    if el.get_child("session", NS_SESSION_IQ).is_some() && el.attr("type") == Some("set") {
        return send(stream, &crate::xml::iq_result(el, None))
            .await
            .map(|_| None);
    }
    Err(not_authorized())
}
