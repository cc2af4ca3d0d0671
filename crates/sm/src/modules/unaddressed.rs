//! RFC 6120 §10.3.3: an IQ get or set a client sends without `to` is handled by the server on
//! behalf of the account. Whatever the in-session modules before this one did not take goes on
//! as an IQ to the user's bare JID, through `pkt-user`, where the modules serving accounts (and
//! the RFC's errors) answer it.

use minidom::Element;

use crate::chain::{done, pass, Module, Step};
use crate::core::Core;
use crate::stanza::{self, Kind};

pub struct Unaddressed;

impl Module for Unaddressed {
    fn name(&self) -> &'static str {
        "unaddressed"
    }

    fn in_sess<'a>(&'a self, core: &'a mut Core, sid: &'a str, mut st: Element) -> Step<'a> {
        let request = stanza::kind(&st) == Some(Kind::Iq)
            && matches!(stanza::typ(&st), "get" | "set")
            && st.attr("to").is_none();
        let Some(user) = core.sessions.get(sid).map(|s| s.bare()).filter(|_| request) else {
            return pass(st);
        };
        stanza::set_attr(&mut st, "to", user.to_string());
        core.deliver(st);
        done()
    }
}
