//! A bound client: its stanzas go to its sm with `from` stamped and the session attributes
//! added; the sm's stanzas come back without them.
//!
//! Everything for the client passes through [`Session::deliver`], the one place where stream
//! management (XEP-0198) will keep unacknowledged stanzas.

use std::time::Duration;

use jid::{BareJid, Jid};
use minidom::Element;
use rxml::xml_ncname;
use xml_stream::io::{Outbox, QueueError};
use xml_stream::writer::stanza_bytes;
use xml_stream::{ns, StreamErrorCondition as C, StreamEvent};

use crate::bind::Bound;
use crate::control::{self, Action};
use crate::hub::ToConn;
use crate::negotiation::{closing_bytes, Fail, Nego, NS_BIND, NS_REGISTER, NS_SESSION_IQ};
use crate::register::{self, InSession};
use crate::stream::ClientStream;
use crate::xml::{iq_result, sc, set, set_sc, stanza_error, strip_sc};
use crate::Conn;

struct Session {
    bound: Bound,
    bare: BareJid,
    domain: String,
    outbox: Outbox,
    /// The sm still holds the session: tell it when we end.
    active: bool,
    /// Cut off for not reading: what is queued for it will never be read.
    stuck: bool,
}

pub async fn run(mut conn: Conn, nego: Nego, stream: ClientStream, bound: Bound) {
    let ctx = conn.ctx.clone();
    let reset = stream.reset_handle();
    let (mut reader, outbox, mut writer) = stream.split(ctx.config.limits.max_queue_bytes);
    let mut s = Session {
        bare: bound.jid.to_bare(),
        bound,
        domain: nego.domain().to_owned(),
        outbox,
        active: true,
        stuck: false,
    };
    let end = loop {
        let step = tokio::select! {
            ev = reader.next_event() => match ev {
                Ok(StreamEvent::Stanza(el)) => s.handle_client(&mut conn, el).await,
                Ok(StreamEvent::Footer) => Err(Fail::Close),
                Ok(StreamEvent::Header(_)) => Err(Fail::stream(C::NotWellFormed, "unexpected stream header")),
                Err(e) => Err(Fail::from(e)),
            },
            m = conn.rx.recv() => match m {
                Some(m) => s.handle_sm(m),
                None => Err(Fail::Gone),
            },
            _ = conn.shutdown.changed() => Err(Fail::stream(C::SystemShutdown, "server shutting down")),
        };
        if let Err(end) = step {
            break end;
        }
    };
    if s.active {
        let end = control::request(
            Action::End,
            &conn.sc_id,
            Some(&s.bound.sm_session),
            None,
            None,
        );
        let _ = ctx.hub.send(&s.bound.sm, end);
    }
    tracing::info!(jid = %s.bound.jid, reason = ?end, "session closed");
    s.outbox.close(closing_bytes(&end, None).freeze());
    // Let the writer flush the last bytes, bounded. A client that does not read gets a reset:
    // otherwise its backlog, and the connection with it, would stay in the kernel until it
    // reads.
    let flushed = !s.stuck
        && tokio::time::timeout(Duration::from_secs(2), &mut writer)
            .await
            .is_ok();
    if flushed {
        reader.drain().await;
    } else {
        tracing::info!(jid = %s.bound.jid, "the client is not reading; resetting the connection");
        reset.reset_on_close();
        writer.abort();
    }
}

impl Session {
    /// Queues a stanza for the client.
    fn deliver(&mut self, el: &Element) -> Result<(), Fail> {
        match self.outbox.send(stanza_bytes(el, Some(ns::CLIENT))) {
            Ok(()) => Ok(()),
            Err(QueueError::Full) => {
                self.stuck = true;
                Err(Fail::stream(
                    C::PolicyViolation,
                    "too much queued for a client that does not read",
                ))
            }
            Err(QueueError::Closed) => Err(Fail::Gone),
        }
    }

    async fn handle_client(&mut self, conn: &mut Conn, mut el: Element) -> Result<(), Fail> {
        if el.ns() != ns::CLIENT || !matches!(el.name(), "message" | "presence" | "iq") {
            return Err(Fail::stream(
                C::UnsupportedStanzaType,
                "only message, presence and iq",
            ));
        }
        // RFC 6120 §8.1.2.1: a `from` must be the client's own address; the server stamps it.
        if let Some(from) = el.attr("from") {
            let ok = match Jid::new(from).map(Jid::try_into_full) {
                Ok(Ok(full)) => full == self.bound.jid,
                Ok(Err(bare)) => bare == self.bare,
                Err(_) => false,
            };
            if !ok {
                return Err(Fail::stream(
                    C::InvalidFrom,
                    "from does not match the bound address",
                ));
            }
        }
        if el.name() == "iq" && self.for_server(&el) {
            if let Some(done) = self.local_iq(conn, &el).await {
                return done;
            }
        }
        set(&mut el, xml_ncname!("from"), self.bound.jid.as_str());
        set_sc(&mut el, xml_ncname!("c2s"), conn.sc_id.as_str());
        set_sc(&mut el, xml_ncname!("sm"), self.bound.sm_session.as_str());
        match conn.ctx.hub.send(&self.bound.sm, el.clone()) {
            Ok(()) => Ok(()),
            Err(component::SendError::QueueFull) => {
                strip_sc(&mut el);
                match stanza_error(&el, "resource-constraint") {
                    Some(reply) => self.deliver(&reply),
                    None => Ok(()),
                }
            }
            Err(component::SendError::NotConnected) => {
                self.active = false;
                Err(Fail::stream(C::HostGone, "session manager unavailable"))
            }
        }
    }

    /// Addressed to the server itself (no `to`, or the domain), where c2s answers some IQs.
    fn for_server(&self, el: &Element) -> bool {
        match el.attr("to") {
            None => true,
            Some(to) => to == self.domain || Jid::new(to).is_ok_and(|j| j.as_str() == self.domain),
        }
    }

    /// IQs c2s answers itself; `None` passes the IQ on to the sm. Only requests: a result or
    /// an error is never answered (RFC 6120 §8.2.3), which the sm takes care of.
    async fn local_iq(&mut self, conn: &mut Conn, el: &Element) -> Option<Result<(), Fail>> {
        if !matches!(el.attr("type"), Some("get" | "set")) {
            return None;
        }
        if el.attr("type") == Some("set") && el.get_child("session", NS_SESSION_IQ).is_some() {
            return Some(self.deliver(&iq_result(el, None)));
        }
        if el.get_child("bind", NS_BIND).is_some() {
            // One resource per stream.
            return Some(match stanza_error(el, "not-allowed") {
                Some(reply) => self.deliver(&reply),
                None => Ok(()),
            });
        }
        if el.get_child("query", NS_REGISTER).is_some() {
            let ctx = conn.ctx.clone();
            return Some(match register::in_session(&ctx, &self.bare, el).await? {
                InSession::Reply(reply) => self.deliver(&reply),
                InSession::Removed(reply) => {
                    // End the session first so that the sm does not keep it for a deleted user.
                    let end = control::request(
                        Action::End,
                        &conn.sc_id,
                        Some(&self.bound.sm_session),
                        None,
                        None,
                    );
                    let _ = ctx.hub.send(&self.bound.sm, end);
                    self.active = false;
                    let domain = self.domain.clone();
                    register::tell_sm_deleted(conn, &domain, &self.bare).await;
                    self.deliver(&reply).and(Err(Fail::Close))
                }
            });
        }
        None
    }

    fn handle_sm(&mut self, message: ToConn) -> Result<(), Fail> {
        match message {
            ToConn::Packet { payload, .. } => {
                if let Some(reply) = control::parse(&payload) {
                    return self.control(reply);
                }
                // A stanza for an earlier session of this connection id cannot happen (ids are
                // not reused), but one for another session would be a misroute: drop it.
                if sc(&payload, "sm").is_some_and(|id| id != self.bound.sm_session) {
                    tracing::debug!(jid = %self.bound.jid, "dropping a stanza for another session");
                    return Ok(());
                }
                let mut payload = payload;
                strip_sc(&mut payload);
                self.deliver(&payload)
            }
            ToConn::Bounced { code, .. } => {
                // jabberd2: a bounced session packet means the sm no longer knows us.
                tracing::warn!(jid = %self.bound.jid, code, "route to the sm bounced");
                self.active = false;
                Err(Fail::stream(C::HostGone, "session manager unavailable"))
            }
            ToConn::Unavailable(name) if name == self.bound.sm => {
                self.active = false;
                Err(Fail::stream(C::HostGone, "session manager unavailable"))
            }
            ToConn::Unavailable(_) => Ok(()),
            ToConn::RouterLost => {
                self.active = false;
                Err(Fail::stream(C::HostGone, "session manager unavailable"))
            }
        }
    }

    fn control(&mut self, reply: control::Reply) -> Result<(), Fail> {
        if reply
            .sm
            .as_deref()
            .is_some_and(|id| id != self.bound.sm_session)
        {
            return Ok(());
        }
        match reply.action {
            Action::Replaced => {
                self.active = false;
                Err(Fail::stream(
                    C::Conflict,
                    "replaced by a new session for the same resource",
                ))
            }
            Action::Ended => {
                self.active = false;
                Err(Fail::stream(
                    C::NotAuthorized,
                    "the session was ended by the server",
                ))
            }
            _ => Ok(()),
        }
    }
}
