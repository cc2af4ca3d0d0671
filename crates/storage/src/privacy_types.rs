//! The privacy list data the API hands out (XEP-0016 §2.1).

use jid::Jid;

use crate::Subscription;

/// What an item's `type` and `value` match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrivacyMatch {
    /// No `type`: the fall-through item, matching everyone.
    Everyone,
    /// `type='jid'`: a JID, matched by the XEP's JID rules.
    Jid(Jid),
    /// `type='group'`: contacts in this roster group.
    Group(String),
    /// `type='subscription'`: contacts in this subscription state (`None` also covers everyone
    /// not in the roster).
    Subscription(Subscription),
}

/// The stanzas an item governs: its child elements. None of them set means every stanza, both
/// ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrivacyStanzas {
    pub message: bool,
    pub iq: bool,
    pub presence_in: bool,
    pub presence_out: bool,
}

impl PrivacyStanzas {
    /// Whether the item names no kind of stanza, and so governs them all.
    pub fn all(&self) -> bool {
        *self == PrivacyStanzas::default()
    }
}

/// One rule of a privacy list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyItem {
    /// The `order` attribute: unique in its list, processed ascending.
    pub order: u32,
    pub matches: PrivacyMatch,
    /// `action='allow'` (else `deny`).
    pub allow: bool,
    pub stanzas: PrivacyStanzas,
}

/// A named list with its items in processing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyList {
    pub name: String,
    pub items: Vec<PrivacyItem>,
}
