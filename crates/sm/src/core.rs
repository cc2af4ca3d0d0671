//! The sm's state and the ways a stanza leaves a module: to a session, to the router, or back
//! into the sm's own inbound path.

use std::collections::{HashSet, VecDeque};

use component::route_error::stanza_error;
use component::{Component, Route};
use jid::BareJid;
use minidom::Element;
use storage::Storage;

use crate::config::Limits;
use crate::session::{Session, Sessions};
use crate::stanza;

/// Everything a module may read or change.
pub struct Core {
    /// Our router name (`sc:session` replies come from it).
    pub id: String,
    pub domains: HashSet<String>,
    pub limits: Limits,
    pub storage: Storage,
    pub sessions: Sessions,
    component: Component,
    /// Stanzas for users on this sm, processed after the current packet as if the router had
    /// delivered them: no recursion through the chains, and the order of sends is kept.
    pub local: VecDeque<Element>,
}

impl Core {
    pub fn new(
        id: String,
        domains: HashSet<String>,
        limits: Limits,
        storage: Storage,
        component: Component,
    ) -> Core {
        Core {
            id,
            domains,
            limits,
            storage,
            sessions: Sessions::default(),
            component,
            local: VecDeque::new(),
        }
    }

    pub fn is_local(&self, domain: &str) -> bool {
        self.domains.contains(domain)
    }

    /// Sends a route; a full queue or a missing router only costs this packet (logged), as the
    /// connector reconnects by itself.
    pub fn send_route(&self, to: &str, from: &str, payload: Element) {
        if let Err(e) = self.component.send_route(Route::unicast(to, from, payload)) {
            tracing::warn!(%to, "dropped a packet for the router: {e}");
        }
    }

    /// Ends our stream at the router once everything sent so far is written (bounded by
    /// `limit`).
    pub async fn close(&self, limit: std::time::Duration) {
        self.component.close(limit).await;
    }

    /// Hands `stanza` to the client of session `sid`, with the session attributes c2s needs.
    pub fn to_session(&self, sid: &str, mut stanza: Element) {
        let Some(session) = self.sessions.get(sid) else {
            return;
        };
        if stanza.attr("to").is_none() {
            stanza::set_attr(&mut stanza, "to", session.jid.to_string());
        }
        stanza::strip_sc(&mut stanza);
        stanza::set_sc_attr(&mut stanza, "c2s", session.c2s_handle.clone());
        stanza::set_sc_attr(&mut stanza, "sm", session.id.clone());
        let from = session.jid.domain().as_str().to_owned();
        self.send_route(&session.c2s, &from, stanza);
    }

    /// Sends a stanza on its way by its `to`: a user with sessions here (or the domain itself)
    /// is handled on this sm; any other address goes to the router, which picks the sm instance
    /// owning a local user or the s2s for a remote one.
    pub fn deliver(&mut self, mut stanza: Element) {
        stanza::strip_sc(&mut stanza);
        let Ok(Some(to)) = stanza::to(&stanza) else {
            tracing::debug!("dropping a stanza without a usable 'to'");
            return;
        };
        let domain = to.domain().as_str().to_owned();
        if self.is_local(&domain) {
            let here = match stanza::user_of(&to) {
                None => true,
                Some(user) => self.sessions.has_user(&user),
            };
            if here {
                self.local.push_back(stanza);
                return;
            }
            // The router picks the sm instance by the bare JID as written, and session start
            // names the user canonically: write it the same way here.
            if stanza.attr("to") != Some(to.as_str()) {
                stanza::set_attr(&mut stanza, "to", to.as_str());
            }
        }
        let from = match stanza::from(&stanza) {
            Ok(Some(from)) if self.is_local(from.domain().as_str()) => {
                from.domain().as_str().to_owned()
            }
            _ => self.id.clone(),
        };
        self.send_route(&domain, &from, stanza);
    }

    /// Answers `stanza` with an RFC 6120 §8.3 error (never for errors themselves).
    pub fn bounce(&mut self, stanza: Element, condition: &str) {
        let mut stanza = stanza;
        stanza::strip_sc(&mut stanza);
        if let Some(reply) = stanza_error(stanza, condition) {
            self.deliver(reply);
        }
    }

    /// The sessions of `user`, cloned so that callers can send while iterating.
    pub fn sessions_of(&self, user: &BareJid) -> Vec<Session> {
        self.sessions
            .sessions_of(user)
            .into_iter()
            .cloned()
            .collect()
    }

    /// Ids of the user's available sessions.
    pub fn available_of(&self, user: &BareJid) -> Vec<String> {
        self.sessions
            .sessions_of(user)
            .into_iter()
            .filter(|s| s.available)
            .map(|s| s.id.clone())
            .collect()
    }
}
