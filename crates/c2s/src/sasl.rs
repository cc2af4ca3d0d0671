//! SASL (RFC 6120 §6) on a client stream: mechanisms on offer, the exchange, and what a failure
//! costs (a delay, per-connection, per-IP and per-account limits).

use base64::Engine;
use jid::BareJid;
use minidom::Element;
use rxml::xml_ncname;
use sasl_server::{
    ChannelBindings, Credentials, DigestMd5Params, Failure, Mechanism, ScramHash, ServerSession,
    Step,
};
use xml_stream::{ns, StreamErrorCondition as C, StreamEvent};

use crate::negotiation::{next, send, Fail, Nego};
use crate::stream::{tls_info, ClientStream};
use crate::xml::{set, text_element};
use crate::Conn;

const NS_SASL_CB: &str = "urn:xmpp:sasl-cb:0";

/// The channel-binding data of this connection: `tls-exporter` only on TLS 1.3 (RFC 9266 §3:
/// on TLS 1.2 it is unsafe without extended master secret), `tls-server-end-point` always
/// under TLS, from the certificate the handshake presented.
pub fn bindings(conn: &Conn, nego: &Nego, stream: &ClientStream) -> ChannelBindings {
    let Some((tls13, sni)) = tls_info(stream.transport()) else {
        return ChannelBindings::none();
    };
    ChannelBindings {
        tls_exporter: if tls13 {
            stream.transport().tls_exporter()
        } else {
            None
        },
        tls_server_end_point: conn
            .ctx
            .tls
            .end_point(sni.as_deref(), nego.tls_domain.as_deref()),
    }
}

/// PLAIN only under TLS: the password crosses the wire as is.
fn offered(nego: &Nego, bindings: &ChannelBindings) -> Vec<Mechanism> {
    Mechanism::offerable(bindings, nego.secure, false)
}

/// `<mechanisms/>`, and XEP-0440's `<sasl-channel-binding/>` when -PLUS is on offer.
pub fn features(conn: &Conn, nego: &Nego, stream: &ClientStream) -> Vec<Element> {
    let bindings = bindings(conn, nego, stream);
    let mut mechanisms = Element::bare("mechanisms", ns::SASL);
    for m in offered(nego, &bindings) {
        mechanisms.append_child(text_element("mechanism", ns::SASL, m.name()));
    }
    let mut out = vec![mechanisms];
    if !bindings.is_empty() {
        let mut cb = Element::bare("sasl-channel-binding", NS_SASL_CB);
        for t in bindings.types() {
            let mut el = Element::bare("channel-binding", NS_SASL_CB);
            set(&mut el, xml_ncname!("type"), t);
            cb.append_child(el);
        }
        out.push(cb);
    }
    out
}

pub async fn send_failure(stream: &mut ClientStream, failure: Failure) -> Result<(), Fail> {
    let mut el = Element::bare("failure", ns::SASL);
    el.append_child(Element::bare(failure.as_str(), ns::SASL));
    send(stream, &el).await
}

fn sasl_data(name: &str, data: &[u8]) -> Element {
    let mut el = Element::bare(name, ns::SASL);
    if !data.is_empty() {
        el.append_text_node(base64::engine::general_purpose::STANDARD.encode(data));
    } else if name == "success" {
        // An empty <success/> means "no additional data" (RFC 6120 §6.4.6).
    } else {
        el.append_text_node("=");
    }
    el
}

/// Decodes `<auth/>`/`<response/>` text: none, `=` (empty), or base64.
fn decode(el: &Element) -> Result<Option<Vec<u8>>, Failure> {
    let text = el.text();
    let text = text.trim();
    match text {
        "" => Ok(None),
        "=" => Ok(Some(Vec::new())),
        t => base64::engine::general_purpose::STANDARD
            .decode(t)
            .map(Some)
            .map_err(|_| Failure::IncorrectEncoding),
    }
}

/// Runs one exchange started by `auth`. `Ok(Some(user))` on success (sent), `Ok(None)` after a
/// failure (sent); `Err` ends the stream.
pub async fn authenticate(
    conn: &mut Conn,
    nego: &mut Nego,
    stream: &mut ClientStream,
    auth: &Element,
) -> Result<Option<BareJid>, Fail> {
    let bindings = bindings(conn, nego, stream);
    let mechanism = auth.attr("mechanism").and_then(Mechanism::from_name);
    let mechanism = match mechanism {
        Some(m) if offered(nego, &bindings).contains(&m) => m,
        Some(Mechanism::Plain) if !nego.secure => {
            send_failure(stream, Failure::EncryptionRequired).await?;
            return Ok(None);
        }
        _ => {
            send_failure(stream, Failure::InvalidMechanism).await?;
            return Ok(None);
        }
    };
    let mut session = ServerSession::new(mechanism, bindings, DigestMd5Params::default());
    let mut step = match decode(auth) {
        Ok(data) => session.step(data.as_deref()),
        Err(f) => Step::Failure(f),
    };
    let mut user: Option<BareJid> = None;
    loop {
        match step {
            Step::Challenge(data) => {
                send(stream, &sasl_data("challenge", &data)).await?;
                let el = match next(conn, nego, stream).await? {
                    StreamEvent::Stanza(el) => el,
                    StreamEvent::Footer => return Err(Fail::Close),
                    StreamEvent::Header(_) => {
                        return Err(Fail::stream(C::NotWellFormed, "unexpected header"))
                    }
                };
                step = if el.is("response", ns::SASL) {
                    match decode(&el) {
                        Ok(data) => session.step(Some(data.as_deref().unwrap_or_default())),
                        Err(f) => Step::Failure(f),
                    }
                } else if el.is("abort", ns::SASL) {
                    Step::Failure(Failure::Aborted)
                } else {
                    return Err(Fail::stream(
                        C::NotAuthorized,
                        "no stanzas during authentication",
                    ));
                };
            }
            Step::NeedCredentials { username } => {
                let (next_step, jid) = credentials(conn, nego, session, mechanism, &username).await;
                session = next_step.0;
                step = next_step.1;
                user = jid;
            }
            Step::Success {
                authzid,
                additional_data,
                ..
            } => {
                let Some(jid) = user.take() else {
                    return fail(conn, nego, stream, None, Failure::TemporaryAuthFailure).await;
                };
                // RFC 6120 §6.3.8: an authzid other than the account's own bare JID asks to act
                // as someone else, which clients cannot.
                if authzid
                    .as_deref()
                    .is_some_and(|a| BareJid::new(a).ok().as_ref() != Some(&jid))
                {
                    return fail(conn, nego, stream, None, Failure::InvalidAuthzid).await;
                }
                send(
                    stream,
                    &sasl_data("success", &additional_data.unwrap_or_default()),
                )
                .await?;
                return Ok(Some(jid));
            }
            Step::Failure(f) => return fail(conn, nego, stream, user.as_ref(), f).await,
        }
    }
}

/// Looks up `username`'s credentials and hands them to the session; the CPU-bound part
/// (PLAIN derives a SCRAM record) runs off the reactor.
async fn credentials(
    conn: &Conn,
    nego: &Nego,
    mut session: ServerSession,
    mechanism: Mechanism,
    username: &str,
) -> ((ServerSession, Step), Option<BareJid>) {
    let ctx = &conn.ctx;
    let jid = if username.contains(['@', '/']) {
        None
    } else {
        BareJid::new(&format!("{username}@{}", nego.domain())).ok()
    };
    let limited = !ctx.auth_failures_ip.allowed(&conn.peer.ip())
        || jid
            .as_ref()
            .is_some_and(|j| !ctx.auth_failures_account.allowed(&j.to_string()));
    if limited {
        return ((session, Step::Failure(Failure::TemporaryAuthFailure)), jid);
    }
    let mut creds = None;
    if let Some(jid) = &jid {
        let hashes = match mechanism.scram_hash() {
            Some(h) => vec![h],
            None => vec![ScramHash::Sha256, ScramHash::Sha512, ScramHash::Sha1],
        };
        for hash in hashes {
            match ctx.storage.scram_credentials(jid, hash).await {
                Ok(Some(c)) => {
                    creds = Some(Credentials::Scram(c));
                    break;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!("credential lookup for {jid}: {e}");
                    return (
                        (session, Step::Failure(Failure::TemporaryAuthFailure)),
                        None,
                    );
                }
            }
        }
    }
    let outcome = tokio::task::spawn_blocking(move || {
        let step = session.provide(creds);
        (session, step)
    })
    .await;
    match outcome {
        Ok(pair) => (pair, jid),
        Err(_) => {
            let session = ServerSession::new(
                mechanism,
                ChannelBindings::none(),
                DigestMd5Params::default(),
            );
            (
                (session, Step::Failure(Failure::TemporaryAuthFailure)),
                None,
            )
        }
    }
}

/// A failed attempt: counted, delayed, answered; too many on one connection end it
/// (RFC 6120 §6.4.5 allows a "reasonable number of retries", then a stream error).
async fn fail(
    conn: &Conn,
    nego: &mut Nego,
    stream: &mut ClientStream,
    user: Option<&BareJid>,
    failure: Failure,
) -> Result<Option<BareJid>, Fail> {
    let ctx = &conn.ctx;
    if failure == Failure::NotAuthorized {
        ctx.auth_failures_ip.record(&conn.peer.ip());
        if let Some(user) = user {
            ctx.auth_failures_account.record(&user.to_string());
        }
    }
    if failure != Failure::Aborted {
        nego.auth_failures += 1;
        // Slows password guessing down; the connection waits, the server does not.
        tokio::time::sleep(ctx.config.limits.auth_delay()).await;
    }
    tracing::info!(peer = %conn.peer, user = ?user.map(|u| u.to_string()), "SASL failure: {failure}");
    send_failure(stream, failure).await?;
    if nego.auth_failures >= ctx.config.limits.max_auth_attempts {
        return Err(Fail::stream(
            C::PolicyViolation,
            "too many failed authentication attempts",
        ));
    }
    Ok(None)
}
