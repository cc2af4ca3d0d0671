//! Where every packet from the router goes (jabberd2's `dispatch`): session control, stanzas
//! from sessions (`in-sess`), stanzas for a domain (`pkt-sm`), a user (`pkt-user`) or an account
//! that does not exist (`pkt-unknown-user`), bounces, and the router's advertisements
//! (`pkt-router`).

use component::route_error::{condition_for, stanza_error};
use component::{Packet, Route, RouteKind};
use minidom::Element;
use xml_stream::ns;

use crate::chain::Chains;
use crate::core::Core;
use crate::stanza::{self, Kind};

/// Stanzas handled on this sm per router packet before the rest wait for the next one: a bound
/// on any bounce loop between our own users.
const LOCAL_BUDGET: usize = 10_000;

/// The session manager: its state and its chains.
pub struct Sm {
    pub core: Core,
    pub chains: Chains,
}

impl Sm {
    pub fn new(core: Core, chains: Chains) -> Sm {
        Sm { core, chains }
    }

    /// Handles one packet from the router, then everything it caused on this sm.
    pub async fn packet(&mut self, packet: Packet) {
        match packet {
            Packet::Route(route) => self.route(route).await,
            Packet::Presence { from, available } => {
                if !available {
                    self.c2s_gone(&from).await;
                }
                let chains = self.chains.clone();
                chains.pkt_router(&mut self.core, &from, available).await;
            }
            _ => {}
        }
        self.drain_local().await;
    }

    /// Processes stanzas queued for users on this sm.
    pub async fn drain_local(&mut self) {
        let mut budget = LOCAL_BUDGET;
        while let Some(st) = self.core.local.pop_front() {
            if budget == 0 {
                tracing::warn!("local delivery budget exhausted; dropping the rest");
                self.core.local.clear();
                break;
            }
            budget -= 1;
            self.inbound(st).await;
        }
    }

    async fn route(&mut self, route: Route) {
        if route.kind != RouteKind::Unicast {
            return;
        }
        let Some(payload) = route.payload else {
            return;
        };
        let from = route.from.unwrap_or_default();
        if let Some(code) = route.error {
            self.bounced(payload, &code).await;
        } else if payload.is("session", ns::SESSION) {
            self.control(&from, payload).await;
        } else if stanza::sc_attr(&payload, "sm").is_some()
            || stanza::sc_attr(&payload, "c2s").is_some()
        {
            self.session_stanza(&from, payload).await;
        } else {
            self.inbound(payload).await;
        }
    }

    /// A stanza a client sent in a session.
    async fn session_stanza(&mut self, c2s: &str, mut st: Element) {
        let sid = stanza::sc_attr(&st, "sm").unwrap_or_default().to_owned();
        let handle = stanza::sc_attr(&st, "c2s").unwrap_or_default();
        let Some(session) = self.core.sessions.get(&sid) else {
            tracing::debug!(%sid, "stanza for an unknown session dropped");
            return;
        };
        // Only the c2s connection that owns the session may speak for it.
        if session.c2s != c2s || session.c2s_handle != handle {
            tracing::warn!(%sid, %c2s, "session attributes do not match: spoofed stanza dropped");
            return;
        }
        let jid = session.jid.to_string();
        if stanza::kind(&st).is_none() {
            return;
        }
        stanza::strip_sc(&mut st);
        stanza::set_attr(&mut st, "from", jid);
        let chains = self.chains.clone();
        chains.in_sess(&mut self.core, &sid, st).await;
    }

    /// A stanza for one of our domains or users.
    pub async fn inbound(&mut self, st: Element) {
        let Some(kind) = stanza::kind(&st) else {
            return;
        };
        let to = match stanza::to(&st) {
            Ok(Some(to)) => to,
            Ok(None) => return self.core.bounce(st, "bad-request"),
            Err(_) => return self.core.bounce(st, "jid-malformed"),
        };
        if !self.core.is_local(to.domain().as_str()) {
            return self.core.bounce(st, "service-unavailable");
        }
        let chains = self.chains.clone();
        let Some(user) = stanza::user_of(&to) else {
            if let Some(left) = chains.pkt_sm(&mut self.core, st).await {
                self.unhandled_for_domain(kind, left);
            }
            return;
        };
        let exists = self.core.sessions.has_user(&user)
            || match self.core.storage.account_exists(&user).await {
                Ok(exists) => exists,
                Err(e) => {
                    tracing::error!(%user, "account lookup: {e}");
                    return self.core.bounce(st, "internal-server-error");
                }
            };
        if !exists {
            if let Some(left) = chains.pkt_unknown_user(&mut self.core, &user, st).await {
                self.no_such_user(kind, left);
            }
            return;
        }
        chains.pkt_user(&mut self.core, &user, st).await;
    }

    /// RFC 6120 §10.3: what nothing at the domain handled.
    fn unhandled_for_domain(&mut self, kind: Kind, st: Element) {
        match (kind, stanza::typ(&st)) {
            (Kind::Iq, "get" | "set") => self.core.bounce(st, "service-unavailable"),
            (Kind::Message, "" | "normal" | "chat") => self.core.bounce(st, "service-unavailable"),
            _ => {}
        }
    }

    /// RFC 6121 §8.5.1: the user does not exist.
    fn no_such_user(&mut self, kind: Kind, st: Element) {
        match (kind, stanza::typ(&st)) {
            // §4.3.2 and §3.1.3: probes and requests learn there is nothing to subscribe to.
            (Kind::Presence, "probe" | "subscribe") => {
                if let (Some(to), Ok(Some(from))) = (st.attr("to"), stanza::from(&st)) {
                    let reply = stanza::presence("unsubscribed", to, &from.to_bare().to_string());
                    self.core.deliver(reply);
                }
            }
            (Kind::Presence, _) => {}
            _ => self.core.bounce(st, "service-unavailable"),
        }
    }

    /// A route the router could not deliver (`error` set).
    async fn bounced(&mut self, payload: Element, code: &str) {
        // Something we sent to a c2s that is gone: its session is over.
        if let Some(sid) = stanza::sc_attr(&payload, "sm").map(str::to_owned) {
            if self.core.sessions.get(&sid).is_some() {
                tracing::info!(%sid, "c2s unreachable (route error {code}); ending the session");
                self.end_session(&sid, None).await;
            }
            return;
        }
        if payload.is("session", ns::SESSION) {
            return;
        }
        if let Some(reply) = stanza_error(payload, condition_for(code)) {
            self.core.deliver(reply);
        }
    }

    /// A c2s left the router: every session it held ends, and contacts see them go offline.
    async fn c2s_gone(&mut self, name: &str) {
        let sids = self.core.sessions.of_c2s(name);
        if !sids.is_empty() {
            tracing::info!(c2s = %name, sessions = sids.len(), "c2s gone; ending its sessions");
        }
        for sid in sids {
            self.end_session(&sid, None).await;
        }
    }
}
