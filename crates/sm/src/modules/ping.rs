//! XEP-0199 ping: to the server (§4.2), an empty result proves the sm is there and has processed
//! everything the session sent before; to a user's bare JID (with or without `to` from the
//! user's own session, §4.2 and §4.4), the server answers on the account's behalf.

use jid::BareJid;
use minidom::Element;

use crate::chain::{done, pass, Module, Step};
use crate::core::Core;
use crate::modules::service::{get_payload, reply, to_bare};

pub const NS: &str = "urn:xmpp:ping";

pub struct Ping;

fn pong<'a>(core: &'a mut Core, st: Element) -> Step<'a> {
    if get_payload(&st, "ping", NS).is_none() {
        return pass(st);
    }
    reply(core, &st, None);
    done()
}

impl Module for Ping {
    fn name(&self) -> &'static str {
        "ping"
    }

    fn server_features(&self) -> &'static [&'static str] {
        &[NS]
    }

    fn account_features(&self) -> &'static [&'static str] {
        &[NS]
    }

    fn pkt_sm<'a>(&'a self, core: &'a mut Core, st: Element) -> Step<'a> {
        pong(core, st)
    }

    fn pkt_user<'a>(&'a self, core: &'a mut Core, _user: &'a BareJid, st: Element) -> Step<'a> {
        if !to_bare(&st) {
            return pass(st);
        }
        pong(core, st)
    }
}
