//! Resource binding (RFC 6120 §7): choose the full JID, have the sm start the session
//! (`start` → `started`), answer the client.

use jid::FullJid;
use minidom::Element;
use xml_stream::StreamError;

use crate::control::{self, Action};
use crate::negotiation::{send, send_error, Fail, Nego, NS_BIND};
use crate::sm::{self, SmError};
use crate::stream::ClientStream;
use crate::xml::{iq_result, random_id, text_element};
use crate::Conn;

/// A started session.
#[derive(Debug, Clone)]
pub struct Bound {
    pub jid: FullJid,
    /// The sm's name at the router, pinned from the `started` reply's route `from`.
    pub sm: String,
    /// The sm's id for the session (`sc:sm`).
    pub sm_session: String,
}

/// Handles a bind IQ. `Ok(None)`: answered with an error, the client may try again.
pub async fn bind(
    conn: &mut Conn,
    nego: &Nego,
    stream: &mut ClientStream,
    iq: &Element,
) -> Result<Option<Bound>, Fail> {
    let Some(user) = nego.user.clone() else {
        return Ok(None);
    };
    if iq.attr("type") != Some("set") {
        send_error(stream, iq, "bad-request").await?;
        return Ok(None);
    }
    let requested = iq
        .get_child("bind", NS_BIND)
        .and_then(|b| b.get_child("resource", NS_BIND))
        .map(|r| r.text())
        .filter(|r| !r.trim().is_empty());
    let jid = match requested {
        Some(resource) => match user.with_resource_str(&resource) {
            Ok(jid) => jid,
            Err(_) => {
                // RFC 6120 §7.7.2.1: a resource that fails resourceprep.
                send_error(stream, iq, "bad-request").await?;
                return Ok(None);
            }
        },
        None => match user.with_resource_str(&format!("starling-{}", &random_id()[..16])) {
            Ok(jid) => jid,
            Err(_) => {
                send_error(stream, iq, "internal-server-error").await?;
                return Ok(None);
            }
        },
    };
    let id = random_id();
    let request = control::request(
        Action::Start,
        &conn.sc_id,
        None,
        Some(jid.as_str()),
        Some(&id),
    );
    let domain = nego.domain().to_owned();
    match sm::request(conn, &domain, &domain, request, &id).await {
        Ok((Some(sm), reply))
            if reply.action == Action::Started && !reply.failed && reply.sm.is_some() =>
        {
            let mut bind = Element::bare("bind", NS_BIND);
            bind.append_child(text_element("jid", NS_BIND, jid.as_str()));
            send(stream, &iq_result(iq, Some(bind))).await?;
            tracing::info!(peer = %conn.peer, %jid, sm = %sm, "session started");
            Ok(Some(Bound {
                jid,
                sm,
                sm_session: reply.sm.unwrap_or_default(),
            }))
        }
        Ok((_, reply)) => {
            tracing::warn!(%jid, ?reply, "the sm refused to start the session");
            send_error(stream, iq, "internal-server-error").await?;
            Ok(None)
        }
        Err(SmError::Timeout) => {
            tracing::warn!(%jid, "the sm did not answer the session start");
            send_error(stream, iq, "internal-server-error").await?;
            Ok(None)
        }
        Err(e) => Err(Fail::Stream(StreamError::with_text(
            e.condition(),
            "session manager unavailable",
        ))),
    }
}
