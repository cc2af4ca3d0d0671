//! The sm's modules, one feature per file, and the chains they are listed in.
//!
//! Order matters within a chain: validation first, then the handlers of particular namespaces
//! and presence types, and delivery last, which takes whatever is left. In `in-sess`, modules
//! that serve IQs without `to` themselves (roster…) come before `unaddressed`, which sends the
//! rest on to the account's bare JID (`pkt-user`). In `pkt-sm`, `components` comes before `iq`,
//! which drops the results and errors it is waiting for. Privacy lists are the first delivery
//! rule (XEP-0016 §2.2): `privacy_enforce` comes first in `pkt-user`, and in `in-sess` right
//! after the IQ checks.

use std::rc::Rc;

use crate::chain::{Chains, Module};
use crate::config::Config;

pub mod announce;
pub mod blocking;
pub mod components;
pub mod deliver;
pub mod disco;
pub mod disco_account;
pub mod disco_settings;
pub mod entity_time;
pub mod iq;
pub mod last;
pub mod message;
pub mod offline;
pub mod ping;
pub mod presence;
pub mod privacy;
pub mod privacy_effects;
pub mod privacy_enforce;
pub mod privacy_gate;
pub mod privacy_iq;
pub mod privacy_items;
pub mod private;
pub mod roster;
pub mod serverinfo;
pub mod service;
pub mod session_iq;
pub mod subscriptions;
pub mod unaddressed;
pub mod vacation;
pub mod vcard;
pub mod version;

/// The standard module set, configured from `config`.
pub fn standard(config: &Config) -> Chains {
    let iq: Rc<dyn Module> = Rc::new(iq::Iq);
    let session_iq: Rc<dyn Module> = Rc::new(session_iq::SessionIq);
    let roster: Rc<dyn Module> = Rc::new(roster::Roster);
    let subscriptions: Rc<dyn Module> = Rc::new(subscriptions::Subscriptions);
    let presence: Rc<dyn Module> = Rc::new(presence::Presence);
    let message: Rc<dyn Module> = Rc::new(message::Message);
    let offline: Rc<dyn Module> = Rc::new(offline::Offline);
    let ping: Rc<dyn Module> = Rc::new(ping::Ping);
    let unaddressed: Rc<dyn Module> = Rc::new(unaddressed::Unaddressed);
    let components = Rc::new(components::Components::default());
    let disco = Rc::new(disco::Disco::new(config.disco.clone(), components.clone()));
    let version: Rc<dyn Module> = Rc::new(version::Version::new(&config.version));
    let time: Rc<dyn Module> = Rc::new(entity_time::EntityTime);
    let last: Rc<dyn Module> = Rc::new(last::Last::default());
    let vcard: Rc<dyn Module> = Rc::new(vcard::Vcard);
    let private: Rc<dyn Module> = Rc::new(private::Private);
    let deliver: Rc<dyn Module> = Rc::new(deliver::Deliver);
    let announce: Rc<dyn Module> = Rc::new(announce::Announce::new(&config.acl));
    let privacy_enforce: Rc<dyn Module> = Rc::new(privacy_enforce::PrivacyEnforce);
    let chains = Chains {
        in_sess: vec![
            iq.clone(),
            privacy_enforce.clone(),
            session_iq.clone(),
            roster,
            Rc::new(blocking::Blocking),
            Rc::new(privacy::Privacy),
            unaddressed,
            last.clone(),
            subscriptions.clone(),
            announce.clone(),
            presence.clone(),
            deliver.clone(),
        ],
        pkt_user: vec![
            privacy_enforce,
            iq.clone(),
            last.clone(),
            ping.clone(),
            disco.clone(),
            vcard.clone(),
            private.clone(),
            subscriptions,
            presence.clone(),
            Rc::new(vacation::Vacation),
            message,
            offline,
            deliver,
        ],
        pkt_unknown_user: vec![disco.clone()],
        pkt_sm: vec![
            components.clone(),
            iq,
            session_iq,
            ping,
            disco.clone(),
            version,
            time,
            last.clone(),
            vcard,
            private,
            announce,
        ],
        pkt_router: vec![components],
        sess_end: vec![presence, last],
    };
    disco.describe(&chains);
    chains
}
