//! The end of the chains: a session's stanza goes on its way by its `to`; a stanza for a user
//! that nothing else took goes to the exact resource, and the RFC 6120 §8 / RFC 6121 §8.5
//! errors cover the rest.

use jid::BareJid;
use minidom::Element;

use crate::chain::{done, Module, Step};
use crate::core::Core;
use crate::stanza::{self, Kind};

pub struct Deliver;

impl Module for Deliver {
    fn name(&self) -> &'static str {
        "deliver"
    }

    fn in_sess<'a>(&'a self, core: &'a mut Core, sid: &'a str, mut st: Element) -> Step<'a> {
        let Some(user) = core.sessions.get(sid).map(|s| s.bare()) else {
            return done();
        };
        match stanza::to(&st) {
            Err(_) => core.bounce(st, "jid-malformed"),
            Ok(Some(_)) => core.deliver(st),
            // RFC 6120 §10.3.1: a message without `to` is for the user's bare JID. (IQs without
            // `to` took that path already, in the unaddressed module.)
            Ok(None) if stanza::kind(&st) == Some(Kind::Message) => {
                stanza::set_attr(&mut st, "to", user.to_string());
                core.deliver(st);
            }
            Ok(None) => {}
        }
        done()
    }

    fn pkt_user<'a>(&'a self, core: &'a mut Core, user: &'a BareJid, st: Element) -> Step<'a> {
        if stanza::kind(&st) != Some(Kind::Iq) {
            return done();
        }
        let exact = match stanza::to(&st) {
            Ok(Some(to)) if to.is_full() => core
                .sessions
                .sessions_of(user)
                .into_iter()
                .find(|s| s.jid.to_string() == to.to_string())
                .map(|s| s.id.clone()),
            _ => None,
        };
        match exact {
            Some(sid) => core.to_session(&sid, st),
            // §8.5.3.2.1 (no such resource) and bare-JID IQs nothing handled (§8.5.2.1.3).
            None if matches!(stanza::typ(&st), "get" | "set") => {
                core.bounce(st, "service-unavailable")
            }
            None => {}
        }
        done()
    }
}
