//! Privacy lists (XEP-0016) and blocking (XEP-0191) share one store and one judgement: the
//! blocklist is the default privacy list's items that deny one JID every stanza (XEP-0191 §5).
//! [`rules`] judges a stanza by a list; [`state`] is what a session keeps of its lists. The
//! modules that enforce and manage them are `modules::privacy_gate`, `privacy_effects`,
//! `privacy` and `blocking`.

pub mod rules;
pub mod state;

pub const PRIVACY_NS: &str = "jabber:iq:privacy";
pub const BLOCKING_NS: &str = "urn:xmpp:blocking";
/// XEP-0191 §3.3: the namespace of `<blocked/>`, the condition of a stanza the blocklist refused.
pub const BLOCKING_ERRORS_NS: &str = "urn:xmpp:blocking:errors";
