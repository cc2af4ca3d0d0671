//! Sessions: one per bound resource, created by c2s's `start`, keyed by the 40-hex id the sm
//! hands out (`sc:sm`).

use std::collections::{BTreeSet, HashMap};

use jid::{BareJid, FullJid};
use minidom::Element;

/// One resource's session.
#[derive(Debug, Clone)]
pub struct Session {
    /// `sc:sm`: our id for it.
    pub id: String,
    pub jid: FullJid,
    /// The c2s component holding the client (the route `from` of its `start`).
    pub c2s: String,
    /// `sc:c2s`: c2s's id for the connection.
    pub c2s_handle: String,
    /// Has sent available presence and not unavailable since.
    pub available: bool,
    pub priority: i8,
    /// The last available broadcast presence, answered to probes.
    pub presence: Option<Element>,
    /// JIDs that got directed available presence and no unavailable yet (RFC 6121 §4.6).
    pub directed: BTreeSet<String>,
    /// Asked for the roster, so it gets roster pushes (RFC 6121 §2.1.6).
    pub interested: bool,
    /// Its privacy list state (XEP-0016 active list, XEP-0191 interest).
    pub privacy: crate::privacy::state::SessionPrivacy,
}

impl Session {
    pub fn bare(&self) -> BareJid {
        self.jid.to_bare()
    }

    /// What message delivery (RFC 6121 §8.5) weighs about this resource.
    pub fn resource(&self) -> crate::delivery::Resource {
        crate::delivery::Resource {
            available: self.available,
            priority: self.priority,
        }
    }
}

/// All sessions on this sm.
#[derive(Debug, Default)]
pub struct Sessions {
    by_id: HashMap<String, Session>,
    /// Session ids per user, in start order.
    by_user: HashMap<BareJid, Vec<String>>,
}

impl Sessions {
    pub fn get(&self, id: &str) -> Option<&Session> {
        self.by_id.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Session> {
        self.by_id.get_mut(id)
    }

    pub fn insert(&mut self, session: Session) {
        self.by_user
            .entry(session.bare())
            .or_default()
            .push(session.id.clone());
        self.by_id.insert(session.id.clone(), session);
    }

    pub fn remove(&mut self, id: &str) -> Option<Session> {
        let session = self.by_id.remove(id)?;
        let bare = session.bare();
        if let Some(ids) = self.by_user.get_mut(&bare) {
            ids.retain(|i| i != id);
            if ids.is_empty() {
                self.by_user.remove(&bare);
            }
        }
        Some(session)
    }

    /// The user's session ids, in start order.
    pub fn of_user(&self, user: &BareJid) -> Vec<String> {
        self.by_user.get(user).cloned().unwrap_or_default()
    }

    /// The user's sessions, in start order.
    pub fn sessions_of(&self, user: &BareJid) -> Vec<&Session> {
        self.by_user
            .get(user)
            .map(|ids| ids.iter().filter_map(|i| self.by_id.get(i)).collect())
            .unwrap_or_default()
    }

    pub fn has_user(&self, user: &BareJid) -> bool {
        self.by_user.contains_key(user)
    }

    /// The session bound to exactly this full JID.
    pub fn by_full(&self, jid: &FullJid) -> Option<&Session> {
        self.sessions_of(&jid.to_bare())
            .into_iter()
            .find(|s| &s.jid == jid)
    }

    /// Ids of every session held by the c2s component `c2s`.
    pub fn of_c2s(&self, c2s: &str) -> Vec<String> {
        self.by_id
            .values()
            .filter(|s| s.c2s == c2s)
            .map(|s| s.id.clone())
            .collect()
    }

    /// Every session id.
    pub fn ids(&self) -> Vec<String> {
        self.by_id.keys().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// A fresh session id: 20 random bytes as 40 hex digits, like jabberd2's SHA-1 ids.
pub fn new_id() -> String {
    let mut bytes = [0u8; 20];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness is extraordinary; a time-and-counter id is still unique here.
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes[..8].copy_from_slice(&n.to_be_bytes());
        bytes[8..20].copy_from_slice(&t.to_be_bytes()[4..16]);
    }
    hex::encode(bytes)
}
