//! XEP-0030 service discovery. At a hosted domain: disco#info with the `server/im` identity,
//! the features of every module in the chains and the XEP-0157 form (XEP-0128), and disco#items
//! listing the components the router advertises. At a user's bare JID: the server answers on
//! the account's behalf ([`crate::modules::disco_account`]). Nodes are not offered: a query
//! with a `node` is `item-not-found` (§3.1).

use std::cell::OnceCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use jid::BareJid;
use minidom::Element;

use crate::chain::{done, pass, Chains, Module, Step};
use crate::core::Core;
use crate::modules::components::Components;
use crate::modules::disco_account;
use crate::modules::disco_settings::DiscoSettings;
use crate::modules::serverinfo;
use crate::modules::service::{get_payload, reply, to_bare};
use crate::stanza;

pub const INFO: &str = "http://jabber.org/protocol/disco#info";
pub const ITEMS: &str = "http://jabber.org/protocol/disco#items";

/// What the modules in the chains implement, for the server and for accounts.
#[derive(Default)]
pub struct Features {
    pub server: BTreeSet<&'static str>,
    pub account: BTreeSet<&'static str>,
}

impl Features {
    pub fn of(chains: &Chains) -> Features {
        let mut features = Features::default();
        for module in chains.modules() {
            features.server.extend(module.server_features());
            features.account.extend(module.account_features());
        }
        features
    }
}

pub struct Disco {
    settings: DiscoSettings,
    components: Rc<Components>,
    features: OnceCell<Features>,
}

impl Disco {
    pub fn new(settings: DiscoSettings, components: Rc<Components>) -> Disco {
        Disco {
            settings,
            components,
            features: OnceCell::new(),
        }
    }

    /// Learns what the modules of `chains` (this one among them) implement; once, when the
    /// chains are built.
    pub fn describe(&self, chains: &Chains) {
        // A second call would describe the same chains: nothing to change.
        let _ = self.features.set(Features::of(chains));
    }

    fn server_features(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.features
            .get()
            .into_iter()
            .flat_map(|f| f.server.iter().copied())
    }

    fn account_feature_list(&self) -> Vec<&'static str> {
        self.features
            .get()
            .map(|f| f.account.iter().copied().collect())
            .unwrap_or_default()
    }

    fn server_info(&self) -> Element {
        let name = Some(self.settings.name.as_str()).filter(|n| !n.is_empty());
        let mut query = info_query(identity("server", "im", name), self.server_features());
        if let Some(form) = serverinfo::form(&self.settings.contacts) {
            query.append_child(form);
        }
        query
    }

    fn server_items(&self) -> Element {
        let mut query = Element::bare("query", ITEMS);
        for service in self.components.services() {
            query.append_child(item(&service.jid, service.name.as_deref()));
        }
        query
    }
}

/// A disco#info `<query/>` with one identity and the features.
pub fn info_query<'f>(identity: Element, features: impl Iterator<Item = &'f str>) -> Element {
    let mut query = Element::bare("query", INFO);
    query.append_child(identity);
    for var in features {
        let mut feature = Element::bare("feature", INFO);
        stanza::set_attr(&mut feature, "var", var);
        query.append_child(feature);
    }
    query
}

pub fn identity(category: &str, typ: &str, name: Option<&str>) -> Element {
    let mut identity = Element::bare("identity", INFO);
    stanza::set_attr(&mut identity, "category", category);
    stanza::set_attr(&mut identity, "type", typ);
    if let Some(name) = name {
        stanza::set_attr(&mut identity, "name", name);
    }
    identity
}

pub fn item(jid: &str, name: Option<&str>) -> Element {
    let mut item = Element::bare("item", ITEMS);
    stanza::set_attr(&mut item, "jid", jid);
    if let Some(name) = name {
        stanza::set_attr(&mut item, "name", name);
    }
    item
}

/// The disco query of an IQ get, as (namespace, has a node).
pub fn query_of(st: &Element) -> Option<(&'static str, bool)> {
    [INFO, ITEMS]
        .into_iter()
        .find_map(|ns| get_payload(st, "query", ns).map(|q| (ns, q.attr("node").is_some())))
}

impl Module for Disco {
    fn name(&self) -> &'static str {
        "disco"
    }

    fn server_features(&self) -> &'static [&'static str] {
        &[INFO, ITEMS]
    }

    fn account_features(&self) -> &'static [&'static str] {
        &[INFO, ITEMS]
    }

    fn pkt_sm<'a>(&'a self, core: &'a mut Core, st: Element) -> Step<'a> {
        let Some((ns, node)) = query_of(&st) else {
            return pass(st);
        };
        if node {
            core.bounce(st, "item-not-found");
        } else if ns == INFO {
            reply(core, &st, Some(self.server_info()));
        } else {
            reply(core, &st, Some(self.server_items()));
        }
        done()
    }

    fn pkt_user<'a>(&'a self, core: &'a mut Core, user: &'a BareJid, st: Element) -> Step<'a> {
        match query_of(&st) {
            Some(query) if to_bare(&st) => {
                let features = self.account_feature_list();
                Box::pin(disco_account::answer(features, core, user, st, query))
            }
            _ => pass(st),
        }
    }

    fn pkt_unknown_user<'a>(
        &'a self,
        core: &'a mut Core,
        _user: &'a BareJid,
        st: Element,
    ) -> Step<'a> {
        // §8: disco#items to an account that does not exist is an empty result, so that it
        // reveals nothing (disco#info gets the RFC's service-unavailable, as for any IQ).
        match query_of(&st) {
            Some((ITEMS, _)) if to_bare(&st) => {
                reply(core, &st, Some(Element::bare("query", ITEMS)));
                done()
            }
            _ => pass(st),
        }
    }
}
