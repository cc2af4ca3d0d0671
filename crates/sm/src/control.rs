//! Session control with c2s (jabberd2's `http://jabberd.jabberstudio.org/ns/session/1.0`):
//! start/started, end/ended, create/created, delete/deleted, replaced, and `sc:failed`.

use jid::{BareJid, FullJid};
use minidom::Element;
use storage::StorageError;

use crate::dispatch::Sm;
use crate::session::{new_id, Session};
use crate::stanza;

impl Sm {
    /// A `<sc:session/>` from the c2s component `c2s`.
    pub(crate) async fn control(&mut self, c2s: &str, el: Element) {
        match el.attr("action").unwrap_or_default() {
            "start" => self.start(c2s, el).await,
            "end" => self.end(c2s, el).await,
            "create" => self.create(c2s, el).await,
            "delete" => self.delete(c2s, el).await,
            // Replies, or something we do not know: never answered (no loops between daemons).
            other => tracing::debug!(action = %other, %c2s, "session control ignored"),
        }
    }

    /// Replies by echoing the request with a new `action` (and the attributes c2s matches on).
    fn reply(&self, c2s: &str, from: &str, mut el: Element, action: &str) {
        stanza::set_attr(&mut el, "action", action);
        self.core.send_route(c2s, from, el);
    }

    /// "No bounce must result from a failed action": the request comes back with `sc:failed`.
    fn failed(&self, c2s: &str, mut el: Element, why: &str) {
        tracing::info!(%c2s, target = el.attr("target").unwrap_or(""), "session control failed: {why}");
        stanza::set_sc_attr(&mut el, "failed", "1");
        self.core.send_route(c2s, &self.core.id, el);
    }

    /// The `target` as a user JID of a hosted domain.
    fn hosted_target(&self, el: &Element) -> Option<jid::Jid> {
        let target = stanza::parse_jid(el.attr("target")?)?;
        (target.node().is_some() && self.core.is_local(target.domain().as_str())).then_some(target)
    }

    /// The user's sm data exists (the account itself lives with c2s: jabberd2's c2s has its own
    /// authreg, so an account we have not seen is created here on `create` or first login).
    async fn ensure_user(&self, user: &BareJid) -> Result<(), StorageError> {
        if self.core.storage.account_exists(user).await? {
            return Ok(());
        }
        match self.core.storage.create_account(user, Vec::new()).await {
            Ok(()) | Err(StorageError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn start(&mut self, c2s: &str, el: Element) {
        let target = self.hosted_target(&el).and_then(|j| j.try_into_full().ok());
        let (Some(jid), Some(handle)) = (target, stanza::sc_attr(&el, "c2s").map(str::to_owned))
        else {
            return self.failed(c2s, el, "bad target or no sc:c2s");
        };
        let jid: FullJid = jid;
        if let Err(e) = self.ensure_user(&jid.to_bare()).await {
            tracing::error!(%jid, "session start: {e}");
            return self.failed(c2s, el, "storage error");
        }
        // RFC 6120 §7.7.2.2: a second bind of the same full JID replaces the first session.
        if let Some(old) = self.core.sessions.by_full(&jid).map(|s| s.id.clone()) {
            tracing::info!(%jid, "session replaced");
            self.end_session(&old, Some("replaced")).await;
            self.drain_local().await;
        }
        let id = new_id();
        self.core.sessions.insert(Session {
            id: id.clone(),
            jid: jid.clone(),
            c2s: c2s.to_owned(),
            c2s_handle: handle,
            available: false,
            priority: 0,
            presence: None,
            directed: Default::default(),
            interested: false,
            privacy: Default::default(),
        });
        tracing::info!(%jid, sid = %id, %c2s, "session started");
        let mut reply = el;
        stanza::set_sc_attr(&mut reply, "sm", id);
        // c2s pins the sm instance from this reply's `from`.
        self.reply(c2s, &self.core.id.clone(), reply, "started");
    }

    async fn end(&mut self, c2s: &str, el: Element) {
        let sid = stanza::sc_attr(&el, "sm").unwrap_or_default().to_owned();
        let handle = stanza::sc_attr(&el, "c2s").unwrap_or_default();
        if let Some(session) = self.core.sessions.get(&sid) {
            if session.c2s != c2s || session.c2s_handle != handle {
                tracing::warn!(%sid, %c2s, "end for a session of another connection ignored");
                return;
            }
            self.end_session(&sid, None).await;
        }
        // Answered even for an unknown session, so that c2s can let go of it.
        self.reply(c2s, &self.core.id.clone(), el, "ended");
    }

    async fn create(&mut self, c2s: &str, el: Element) {
        let Some(user) = self.hosted_target(&el).filter(|j| j.is_bare()) else {
            return self.failed(c2s, el, "bad target");
        };
        let user = user.to_bare();
        match self.ensure_user(&user).await {
            Ok(()) => {
                tracing::info!(%user, "user created");
                self.reply(c2s, user.domain().as_str(), el, "created");
            }
            Err(e) => {
                tracing::error!(%user, "create: {e}");
                self.failed(c2s, el, "storage error");
            }
        }
    }

    async fn delete(&mut self, c2s: &str, el: Element) {
        let Some(user) = self.hosted_target(&el).filter(|j| j.is_bare()) else {
            return self.failed(c2s, el, "bad target");
        };
        let user = user.to_bare();
        for sid in self.core.sessions.of_user(&user) {
            self.end_session(&sid, Some("ended")).await;
        }
        match self.core.storage.delete_account(&user).await {
            Ok(_) => {
                tracing::info!(%user, "user deleted");
                self.reply(c2s, user.domain().as_str(), el, "deleted");
            }
            Err(e) => {
                tracing::error!(%user, "delete: {e}");
                self.failed(c2s, el, "storage error");
            }
        }
    }

    /// Ends a session: an available one first says goodbye (unavailable presence through the
    /// in-sess chain, as if the client had sent it), then the sess-end chain runs. `notify`
    /// tells c2s why when the sm ends it on its own (`replaced`, `ended`).
    pub(crate) async fn end_session(&mut self, sid: &str, notify: Option<&str>) {
        let Some(session) = self.core.sessions.get(sid).cloned() else {
            return;
        };
        if session.available || !session.directed.is_empty() {
            let mut goodbye = stanza::build("presence", &[("type", "unavailable")]);
            stanza::set_attr(&mut goodbye, "from", session.jid.to_string());
            let chains = self.chains.clone();
            chains.in_sess(&mut self.core, sid, goodbye).await;
        }
        let Some(session) = self.core.sessions.remove(sid) else {
            return;
        };
        let chains = self.chains.clone();
        chains.sess_end(&mut self.core, &session).await;
        if let Some(action) = notify {
            let mut el = Element::bare("session", xml_stream::ns::SESSION);
            stanza::set_attr(&mut el, "action", action);
            stanza::set_sc_attr(&mut el, "c2s", session.c2s_handle.clone());
            stanza::set_sc_attr(&mut el, "sm", session.id.clone());
            self.core.send_route(&session.c2s, &self.core.id, el);
        }
        tracing::info!(jid = %session.jid, sid = %session.id, "session ended");
    }
}
