//! The sm's modules, one feature per file, and the chains they are listed in.
//!
//! Order matters within a chain: validation first, then the handlers of particular namespaces
//! and presence types, and delivery last, which takes whatever is left.

use std::rc::Rc;

use crate::chain::{Chains, Module};

pub mod deliver;
pub mod disco;
pub mod iq;
pub mod message;
pub mod offline;
pub mod ping;
pub mod presence;
pub mod roster;
pub mod session_iq;
pub mod subscriptions;

/// The standard module set.
pub fn standard() -> Chains {
    let iq: Rc<dyn Module> = Rc::new(iq::Iq);
    let session_iq: Rc<dyn Module> = Rc::new(session_iq::SessionIq);
    let roster: Rc<dyn Module> = Rc::new(roster::Roster);
    let subscriptions: Rc<dyn Module> = Rc::new(subscriptions::Subscriptions);
    let presence: Rc<dyn Module> = Rc::new(presence::Presence);
    let message: Rc<dyn Module> = Rc::new(message::Message);
    let offline: Rc<dyn Module> = Rc::new(offline::Offline);
    let ping: Rc<dyn Module> = Rc::new(ping::Ping);
    let disco: Rc<dyn Module> = Rc::new(disco::Disco);
    let deliver: Rc<dyn Module> = Rc::new(deliver::Deliver);
    Chains {
        in_sess: vec![
            iq.clone(),
            session_iq.clone(),
            roster,
            subscriptions.clone(),
            presence.clone(),
            deliver.clone(),
        ],
        pkt_user: vec![
            iq.clone(),
            subscriptions,
            presence.clone(),
            message,
            offline,
            deliver,
        ],
        pkt_sm: vec![iq, session_iq, ping, disco],
        sess_end: vec![presence],
    }
}
