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

/// A step that consumed the stanza without waiting for anything.
pub fn done<'a>() -> Step<'a> {
    Box::pin(std::future::ready(Flow::Done))
}

/// The default for a notification a module does not take part in.
pub fn nothing<'a>() -> Unit<'a> {
    Box::pin(std::future::ready(()))
}

/// A module: implement the chains it takes part in.
pub trait Module {
    fn name(&self) -> &'static str;

    /// XEP-0030 features this module implements at a hosted domain's JID (the server's
    /// disco#info lists those of every module in the chains).
    fn server_features(&self) -> &'static [&'static str] {
        &[]
    }

    /// XEP-0030 features the server implements on behalf of every account, at its bare JID.
    fn account_features(&self) -> &'static [&'static str] {
        &[]
    }

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

    /// `pkt-unknown-user`: a stanza to an account of one of our domains that does not exist
    /// (what passes gets the RFC 6121 §8.5.1 answer).
    fn pkt_unknown_user<'a>(
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

    /// `pkt-router`: the router advertised that the route `name` came (`available`) or went.
    fn pkt_router<'a>(&'a self, _core: &'a mut Core, _name: &'a str, _available: bool) -> Unit<'a> {
        nothing()
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
    pub pkt_unknown_user: Vec<Rc<dyn Module>>,
    pub pkt_sm: Vec<Rc<dyn Module>>,
    pub pkt_router: Vec<Rc<dyn Module>>,
    pub sess_end: Vec<Rc<dyn Module>>,
}

impl Chains {
    /// Runs `in-sess`; returns the stanza if no module consumed it.
    pub async fn in_sess(&self, core: &mut Core, sid: &str, stanza: Element) -> Option<Element> {
        run(&self.in_sess, core, sid, stanza, |m, c, sid, s| {
            m.in_sess(c, sid, s)
        })
        .await
    }

    pub async fn pkt_user(
        &self,
        core: &mut Core,
        user: &BareJid,
        stanza: Element,
    ) -> Option<Element> {
        run(&self.pkt_user, core, user, stanza, |m, c, u, s| {
            m.pkt_user(c, u, s)
        })
        .await
    }

    pub async fn pkt_unknown_user(
        &self,
        core: &mut Core,
        user: &BareJid,
        stanza: Element,
    ) -> Option<Element> {
        run(&self.pkt_unknown_user, core, user, stanza, |m, c, u, s| {
            m.pkt_unknown_user(c, u, s)
        })
        .await
    }

    pub async fn pkt_sm(&self, core: &mut Core, stanza: Element) -> Option<Element> {
        run(&self.pkt_sm, core, &(), stanza, |m, c, (), s| {
            m.pkt_sm(c, s)
        })
        .await
    }

    pub async fn pkt_router(&self, core: &mut Core, name: &str, available: bool) {
        for module in &self.pkt_router {
            module.pkt_router(core, name, available).await;
        }
    }

    pub async fn sess_end(&self, core: &mut Core, session: &Session) {
        for module in &self.sess_end {
            module.sess_end(core, session).await;
        }
    }

    /// Every module listed in any chain (a module in several chains comes once per chain).
    pub fn modules(&self) -> impl Iterator<Item = &Rc<dyn Module>> {
        [
            &self.in_sess,
            &self.pkt_user,
            &self.pkt_unknown_user,
            &self.pkt_sm,
            &self.pkt_router,
            &self.sess_end,
        ]
        .into_iter()
        .flatten()
    }
}

/// One module's step in a chain about `about` (a session id, a user, or nothing).
type ChainStep<A> = for<'a> fn(&'a dyn Module, &'a mut Core, &'a A, Element) -> Step<'a>;

/// Runs a chain of stanza steps; returns the stanza if no module consumed it.
async fn run<A: ?Sized>(
    modules: &[Rc<dyn Module>],
    core: &mut Core,
    about: &A,
    stanza: Element,
    step: ChainStep<A>,
) -> Option<Element> {
    let mut stanza = stanza;
    for module in modules {
        match step(module.as_ref(), core, about, stanza).await {
            Flow::Pass(st) => stanza = st,
            Flow::Done => return None,
        }
    }
    Some(stanza)
}
