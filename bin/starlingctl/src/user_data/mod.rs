//! A user's data on its way into or out of Starling: `export` loads it from the store
//! ([`load`]), `import` and `import-jabberd2` build it from their sources and [`save`] stores it
//! without changing anything already there, counting what happened in a [`report::Report`].

pub mod load;
pub mod report;
pub mod save;
pub mod stamp;

use std::time::SystemTime;

use jid::BareJid;
use sasl_server::ScramCredentials;
use storage::{LastLogout, PrivacyList, RosterItem};

pub use load::load;
pub use save::save;

/// How the account authenticates, as the source knows it.
#[derive(Debug, Clone)]
pub enum Secret {
    /// A plaintext password: SCRAM records are derived from it when the account is created.
    Password(String),
    /// Ready SCRAM records (possibly none: an account nobody can log in to until `passwd`).
    Scram(Vec<ScramCredentials>),
    /// The source has no usable secret, for this reason; the account is created without one.
    Missing(String),
}

/// Everything Starling keeps for one account.
#[derive(Debug, Clone)]
pub struct UserData {
    pub user: BareJid,
    pub secret: Secret,
    /// Roster items in the order they were added.
    pub roster: Vec<RosterItem>,
    /// Inbound subscription requests not answered yet, whole stanzas, oldest first.
    pub requests: Vec<(BareJid, String)>,
    /// Offline messages, oldest first, with the time each was stored.
    pub offline: Vec<(String, SystemTime)>,
    /// The `<vCard xmlns='vcard-temp'/>` element as XML text.
    pub vcard: Option<String>,
    /// `(namespace, <query xmlns='jabber:iq:private'/> as XML text)`, one per namespace.
    pub private: Vec<(String, String)>,
    pub last_logout: Option<LastLogout>,
    /// Privacy lists (XEP-0016), items in processing order.
    pub privacy: Vec<PrivacyList>,
    /// The name of the default privacy list.
    pub default_privacy: Option<String>,
}

impl UserData {
    /// `user` with `secret` and no data yet.
    pub fn new(user: BareJid, secret: Secret) -> UserData {
        UserData {
            user,
            secret,
            roster: Vec::new(),
            requests: Vec::new(),
            offline: Vec::new(),
            vcard: None,
            private: Vec::new(),
            last_logout: None,
            privacy: Vec::new(),
            default_privacy: None,
        }
    }

    /// Marks the roster items whose contact has a request among [`UserData::requests`] as
    /// pending-in, as Starling keeps them (the item's pending-in and the kept request go
    /// together).
    pub fn mark_pending_in(&mut self) {
        for item in &mut self.roster {
            item.pending_in = self.requests.iter().any(|(from, _)| *from == item.jid);
        }
    }
}
