//! Named chains and the module interface (jabberd2's `mm`): the core runs a stanza through the
//! modules of a chain in order; the first that does not pass it on ends the chain. Adding a
//! feature means writing a module and listing it in the chains it needs (modules/mod.rs).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use jid::BareJid;
use minidom::Element;

use crate::core::Core;
use crate::session::Session;

/// What a module did with a stanza.
pub enum Flow {
    /// Not mine (or only observed): give it to the next module.
    Pass(Element),
    /// Consumed: sent, answered, stored or dropped.
    Done,
}

pub type Step<'a> = Pin<Box<dyn Future<Output = Flow> + 'a>>;
pub type Unit<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// The default for a chain a module does not take part in.
pub fn pass<'a>(stanza: Element) -> Step<'a> {
    Box::pin(std::future::ready(Flow::Pass(stanza)))
}

fn nothing<'a>() -> Unit<'a> {
    Box::pin(std::future::ready(()))
}

/// A module: implement the chains it takes part in.
pub trait Module {
    fn name(&self) -> &'static str;

    /// `in-sess`: a stanza from the user's own session `sid` (`from` already stamped).
    fn in_sess<'a>(&'a self, _core: &'a mut Core, _sid: &'a str, stanza: Element) -> Step<'a> {
        pass(stanza)
    }

    /// `pkt-user`: a stanza to `user`, an existing local user.
    fn pkt_user<'a>(
        &'a self,
        _core: &'a mut Core,
        _user: &'a BareJid,
        stanza: Element,
    ) -> Step<'a> {
        pass(stanza)
    }

    /// `pkt-sm`: a stanza to one of our domains itself.
    fn pkt_sm<'a>(&'a self, _core: &'a mut Core, stanza: Element) -> Step<'a> {
        pass(stanza)
    }

    /// `sess-end`: the session is gone (its unavailable presence, if any, already went out).
    fn sess_end<'a>(&'a self, _core: &'a mut Core, _session: &'a Session) -> Unit<'a> {
        nothing()
    }
}

/// The chains, each an ordered list of modules.
#[derive(Default, Clone)]
pub struct Chains {
    pub in_sess: Vec<Rc<dyn Module>>,
    pub pkt_user: Vec<Rc<dyn Module>>,
    pub pkt_sm: Vec<Rc<dyn Module>>,
    pub sess_end: Vec<Rc<dyn Module>>,
}

impl Chains {
    /// Runs `in-sess`; returns the stanza if no module consumed it.
    pub async fn in_sess(&self, core: &mut Core, sid: &str, stanza: Element) -> Option<Element> {
        let mut stanza = stanza;
        for module in &self.in_sess {
            match module.in_sess(core, sid, stanza).await {
                Flow::Pass(st) => stanza = st,
                Flow::Done => return None,
            }
        }
        Some(stanza)
    }

    pub async fn pkt_user(
        &self,
        core: &mut Core,
        user: &BareJid,
        stanza: Element,
    ) -> Option<Element> {
        let mut stanza = stanza;
        for module in &self.pkt_user {
            match module.pkt_user(core, user, stanza).await {
                Flow::Pass(st) => stanza = st,
                Flow::Done => return None,
            }
        }
        Some(stanza)
    }

    pub async fn pkt_sm(&self, core: &mut Core, stanza: Element) -> Option<Element> {
        let mut stanza = stanza;
        for module in &self.pkt_sm {
            match module.pkt_sm(core, stanza).await {
                Flow::Pass(st) => stanza = st,
                Flow::Done => return None,
            }
        }
        Some(stanza)
    }

    pub async fn sess_end(&self, core: &mut Core, session: &Session) {
        for module in &self.sess_end {
            module.sess_end(core, session).await;
        }
    }
}
