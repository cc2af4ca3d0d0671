//! The legacy RFC 3921 session IQ (`urn:ietf:params:xml:ns:xmpp-session`): some clients still
//! send it after binding; RFC 6121 says to answer it with an empty result.

use minidom::Element;

use crate::chain::{pass, Flow, Module, Step};
use crate::core::Core;
use crate::stanza::{self, Kind};

pub const NS: &str = "urn:ietf:params:xml:ns:xmpp-session";

pub struct SessionIq;

fn is_session_iq(st: &Element) -> bool {
    stanza::kind(st) == Some(Kind::Iq)
        && stanza::typ(st) == "set"
        && st.get_child("session", NS).is_some()
}

/// The empty result to an IQ, addresses swapped.
pub fn result_for(iq: &Element) -> Element {
    let mut reply = stanza::build("iq", &[("type", "result")]);
    if let Some(id) = iq.attr("id") {
        stanza::set_attr(&mut reply, "id", id);
    }
    if let Some(from) = iq.attr("from") {
        stanza::set_attr(&mut reply, "to", from);
    }
    if let Some(to) = iq.attr("to") {
        stanza::set_attr(&mut reply, "from", to);
    }
    reply
}

impl Module for SessionIq {
    fn name(&self) -> &'static str {
        "session-iq"
    }

    fn in_sess<'a>(&'a self, core: &'a mut Core, sid: &'a str, st: Element) -> Step<'a> {
        if !is_session_iq(&st) || st.attr("to").is_some() {
            return pass(st);
        }
        let reply = result_for(&st);
        core.to_session(sid, reply);
        Box::pin(std::future::ready(Flow::Done))
    }

    fn pkt_sm<'a>(&'a self, core: &'a mut Core, st: Element) -> Step<'a> {
        if !is_session_iq(&st) {
            return pass(st);
        }
        core.deliver(result_for(&st));
        Box::pin(std::future::ready(Flow::Done))
    }
}
