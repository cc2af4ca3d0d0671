//! XEP-0199 ping to the server: an empty result proves the sm is there and has processed
//! everything the session sent before.

use minidom::Element;

use crate::chain::{pass, Flow, Module, Step};
use crate::core::Core;
use crate::modules::session_iq::result_for;
use crate::stanza::{self, Kind};

pub const NS: &str = "urn:xmpp:ping";

pub struct Ping;

impl Module for Ping {
    fn name(&self) -> &'static str {
        "ping"
    }

    fn pkt_sm<'a>(&'a self, core: &'a mut Core, st: Element) -> Step<'a> {
        if stanza::kind(&st) != Some(Kind::Iq)
            || stanza::typ(&st) != "get"
            || st.get_child("ping", NS).is_none()
        {
            return pass(st);
        }
        core.deliver(result_for(&st));
        Box::pin(std::future::ready(Flow::Done))
    }
}
