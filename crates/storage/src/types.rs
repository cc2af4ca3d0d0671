//! The roster data the API hands out (RFC 6121 §2.1.2).

use jid::BareJid;

/// The `subscription` attribute of a roster item (RFC 6121 §2.1.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Subscription {
    #[default]
    None,
    To,
    From,
    Both,
}

impl Subscription {
    /// The attribute value, also the stored form.
    pub fn as_str(&self) -> &'static str {
        match self {
            Subscription::None => "none",
            Subscription::To => "to",
            Subscription::From => "from",
            Subscription::Both => "both",
        }
    }

    /// The inverse of [`Subscription::as_str`]; `None` for anything else (e.g. "remove", which
    /// is a request, not a state).
    pub fn parse(s: &str) -> Option<Subscription> {
        match s {
            "none" => Some(Subscription::None),
            "to" => Some(Subscription::To),
            "from" => Some(Subscription::From),
            "both" => Some(Subscription::Both),
            _ => None,
        }
    }
}

/// One contact in a user's roster, with both halves of the subscription state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterItem {
    pub jid: BareJid,
    pub name: Option<String>,
    pub subscription: Subscription,
    /// Pending-out: we sent subscribe, no answer yet ("ask='subscribe'").
    pub ask_out: bool,
    /// Pending-in: they asked, we have not answered (not shown in the roster).
    pub pending_in: bool,
    pub groups: Vec<String>,
}

impl RosterItem {
    /// An item with no name, no groups and subscription `none`.
    pub fn new(jid: BareJid) -> RosterItem {
        RosterItem {
            jid,
            name: None,
            subscription: Subscription::None,
            ask_out: false,
            pending_in: false,
            groups: Vec::new(),
        }
    }
}

/// One missed change for roster versioning (XEP-0237): the contact's state as of `version`,
/// `item: None` when it was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterChange {
    pub version: u64,
    pub jid: BareJid,
    pub item: Option<RosterItem>,
}
