//! The components the router advertises, and who they are. Each newly advertised name (other
//! than our own id and domains) is asked for its XEP-0030 identity, as jabberd2's sm does;
//! those that answer with a result, servers excepted, are the items of the server's
//! disco#items. Names that never answer (c2s, s2s, other daemons) are never listed, and a name
//! that goes away is forgotten.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use minidom::Element;

use crate::chain::{done, nothing, pass, Module, Step, Unit};
use crate::core::Core;
use crate::modules::disco::INFO;
use crate::stanza::{self, Kind};

/// The id of the probe sent to `name` is this prefix followed by the name.
const PROBE: &str = "starling-disco-";

/// A component that answered: its JID and the name of its first identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub jid: String,
    pub name: Option<String>,
}

#[derive(Default)]
pub struct Components {
    /// Advertised names we asked and that have not gone away.
    asked: RefCell<BTreeSet<String>>,
    /// The ones that answered, by name.
    services: RefCell<BTreeMap<String, Option<String>>>,
}

impl Components {
    /// The services known now, by JID.
    pub fn services(&self) -> Vec<Service> {
        self.services
            .borrow()
            .iter()
            .map(|(jid, name)| Service {
                jid: jid.clone(),
                name: name.clone(),
            })
            .collect()
    }

    fn forget(&self, name: &str) {
        self.asked.borrow_mut().remove(name);
        self.services.borrow_mut().remove(name);
    }

    /// Takes a probe's answer; `false` when `st` is not one.
    fn answered(&self, st: &Element) -> bool {
        let Some(name) = st.attr("id").and_then(|id| id.strip_prefix(PROBE)) else {
            return false;
        };
        if st.attr("from") != Some(name) || !self.asked.borrow().contains(name) {
            return false;
        }
        if stanza::typ(st) == "result" {
            let identities: Vec<&Element> = st
                .get_child("query", INFO)
                .map(|q| q.children().filter(|c| c.is("identity", INFO)).collect())
                .unwrap_or_default();
            // Another server on the same router (a domain of another sm) is not our service.
            let server = identities
                .iter()
                .any(|i| i.attr("category") == Some("server"));
            if let Some(first) = identities.first().filter(|_| !server) {
                let label = first.attr("name").map(str::to_owned);
                self.services.borrow_mut().insert(name.to_owned(), label);
            }
        }
        true
    }
}

/// Whether `name` is worth asking: a domain JID that is neither our id nor a hosted domain.
fn worth_asking(core: &Core, name: &str) -> bool {
    name != core.id
        && !core.is_local(name)
        && jid::BareJid::new(name).is_ok_and(|j| j.node().is_none() && j.as_str() == name)
}

/// The hosted domain the probe comes from: the one `name` is a subdomain of, else the first
/// in alphabetical order.
fn asker(core: &Core, name: &str) -> Option<String> {
    let parent = core
        .domains
        .iter()
        .filter(|d| {
            name.strip_suffix(d.as_str())
                .is_some_and(|rest| rest.ends_with('.'))
        })
        .max_by_key(|d| d.len());
    parent.or_else(|| core.domains.iter().min()).cloned()
}

fn probe(core: &mut Core, name: &str) {
    let Some(from) = asker(core, name) else {
        return;
    };
    let id = format!("{PROBE}{name}");
    let mut iq = stanza::build(
        "iq",
        &[("type", "get"), ("id", &id), ("to", name), ("from", &from)],
    );
    iq.append_child(Element::bare("query", INFO));
    core.deliver(iq);
}

impl Module for Components {
    fn name(&self) -> &'static str {
        "components"
    }

    fn pkt_router<'a>(&'a self, core: &'a mut Core, name: &'a str, available: bool) -> Unit<'a> {
        self.forget(name);
        if available && worth_asking(core, name) {
            self.asked.borrow_mut().insert(name.to_owned());
            probe(core, name);
        }
        nothing()
    }

    fn pkt_sm<'a>(&'a self, _core: &'a mut Core, st: Element) -> Step<'a> {
        let answer = stanza::kind(&st) == Some(Kind::Iq)
            && matches!(stanza::typ(&st), "result" | "error")
            && self.answered(&st);
        if answer {
            done()
        } else {
            pass(st)
        }
    }
}
