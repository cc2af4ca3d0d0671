//! XEP-0202 entity time of the server: UTC now, and the server's offset from it, which is
//! reported as `+00:00` (the sm keeps and stamps every time in UTC).

use minidom::Element;

use crate::chain::{done, pass, Module, Step};
use crate::core::Core;
use crate::modules::service::{get_payload, reply};
use crate::time::now_stamp;

pub const NS: &str = "urn:xmpp:time";

pub struct EntityTime;

fn time_element() -> Element {
    let mut time = Element::bare("time", NS);
    for (name, value) in [("tzo", "+00:00".to_owned()), ("utc", now_stamp())] {
        let mut el = Element::bare(name, NS);
        el.append_text_node(value);
        time.append_child(el);
    }
    time
}

impl Module for EntityTime {
    fn name(&self) -> &'static str {
        "time"
    }

    fn server_features(&self) -> &'static [&'static str] {
        &[NS]
    }

    fn pkt_sm<'a>(&'a self, core: &'a mut Core, st: Element) -> Step<'a> {
        if get_payload(&st, "time", NS).is_none() {
            return pass(st);
        }
        reply(core, &st, Some(time_element()));
        done()
    }
}
