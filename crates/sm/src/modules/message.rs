//! RFC 6121 §8.5 message delivery to a local user (the rules are in [`crate::delivery`]);
//! messages for nobody online pass on to the offline module.

use jid::BareJid;
use minidom::Element;

use crate::chain::{pass, Flow, Module, Step};
use crate::core::Core;
use crate::delivery::{self, Resource, Target};
use crate::stanza::{self, Kind};

pub struct Message;

impl Module for Message {
    fn name(&self) -> &'static str {
        "message"
    }

    fn pkt_user<'a>(&'a self, core: &'a mut Core, user: &'a BareJid, st: Element) -> Step<'a> {
        if stanza::kind(&st) != Some(Kind::Message) {
            return pass(st);
        }
        let sessions = core.sessions_of(user);
        let resources: Vec<Resource> = sessions.iter().map(|s| s.resource()).collect();
        let typ = stanza::typ(&st).to_owned();
        let target = match stanza::to(&st) {
            Ok(Some(to)) if to.is_full() => {
                let exact = sessions
                    .iter()
                    .position(|s| s.jid.to_string() == to.to_string());
                delivery::message_to_full(&resources, exact, &typ)
            }
            _ => delivery::message_to_bare(&resources, &typ),
        };
        let flow = match target {
            Target::Resources(indices) => {
                for i in indices {
                    if let Some(s) = sessions.get(i) {
                        core.to_session(&s.id, st.clone());
                    }
                }
                Flow::Done
            }
            Target::Offline => Flow::Pass(st),
            Target::Drop => Flow::Done,
            Target::Error(condition) => {
                core.bounce(st, condition);
                Flow::Done
            }
        };
        Box::pin(std::future::ready(flow))
    }
}
