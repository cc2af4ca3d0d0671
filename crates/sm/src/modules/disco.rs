//! XEP-0030 disco#info for the server JID: who we are and what the sm offers.

use minidom::Element;

use crate::chain::{pass, Flow, Module, Step};
use crate::core::Core;
use crate::modules::session_iq::result_for;
use crate::stanza::{self, Kind};

pub const INFO: &str = "http://jabber.org/protocol/disco#info";

const FEATURES: &[&str] = &[
    INFO,
    "urn:xmpp:ping",
    "jabber:iq:roster",
    "urn:xmpp:features:rosterver",
    "msgoffline",
    "urn:xmpp:delay",
];

pub struct Disco;

impl Module for Disco {
    fn name(&self) -> &'static str {
        "disco"
    }

    fn pkt_sm<'a>(&'a self, core: &'a mut Core, st: Element) -> Step<'a> {
        let Some(query) = st.get_child("query", INFO) else {
            return pass(st);
        };
        if stanza::kind(&st) != Some(Kind::Iq) || stanza::typ(&st) != "get" {
            return pass(st);
        }
        // Nodes are not offered: an unknown node is item-not-found (XEP-0030 §3.1).
        if query.attr("node").is_some() {
            core.bounce(st, "item-not-found");
            return Box::pin(std::future::ready(Flow::Done));
        }
        let mut reply = result_for(&st);
        let mut q = Element::bare("query", INFO);
        let mut identity = Element::bare("identity", INFO);
        stanza::set_attr(&mut identity, "category", "server");
        stanza::set_attr(&mut identity, "type", "im");
        stanza::set_attr(&mut identity, "name", "Starling");
        q.append_child(identity);
        for feature in FEATURES {
            let mut f = Element::bare("feature", INFO);
            stanza::set_attr(&mut f, "var", *feature);
            q.append_child(f);
        }
        reply.append_child(q);
        core.deliver(reply);
        Box::pin(std::future::ready(Flow::Done))
    }
}
