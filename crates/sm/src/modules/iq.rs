//! RFC 6120 §8.2.3 IQ rules for the IQs the server answers itself: a known `type`, an `id`,
//! exactly one child for get/set; results and errors addressed to the server are never answered.

use jid::BareJid;
use minidom::Element;

use crate::chain::{pass, Flow, Module, Step};
use crate::core::Core;
use crate::stanza::{self, Kind};

pub struct Iq;

/// What to do with an IQ the server itself is the recipient of.
enum Verdict {
    Ok,
    BadRequest,
    /// A result or error for us: consumed silently.
    Swallow,
}

fn check(iq: &Element) -> Verdict {
    match stanza::typ(iq) {
        "get" | "set" if iq.attr("id").is_some() && iq.children().count() == 1 => Verdict::Ok,
        "get" | "set" => Verdict::BadRequest,
        "result" | "error" => Verdict::Swallow,
        _ => Verdict::BadRequest,
    }
}

/// Applies the verdict; `Some` when the IQ goes on down the chain.
fn apply(core: &mut Core, iq: Element) -> Option<Element> {
    match check(&iq) {
        Verdict::Ok => Some(iq),
        Verdict::BadRequest => {
            core.bounce(iq, "bad-request");
            None
        }
        Verdict::Swallow => None,
    }
}

fn flow(result: Option<Element>) -> Flow {
    match result {
        Some(st) => Flow::Pass(st),
        None => Flow::Done,
    }
}

/// Whether an IQ from `user`'s session is for the server to handle on the user's behalf (no
/// `to`, or the user's bare JID, RFC 6120 §10.5.3.3).
pub fn for_self(iq: &Element, user: &BareJid) -> bool {
    match stanza::to(iq) {
        Ok(None) => true,
        Ok(Some(to)) => to.is_bare() && to.to_bare() == *user,
        Err(_) => false,
    }
}

impl Module for Iq {
    fn name(&self) -> &'static str {
        "iq"
    }

    fn in_sess<'a>(&'a self, core: &'a mut Core, sid: &'a str, st: Element) -> Step<'a> {
        if stanza::kind(&st) != Some(Kind::Iq) {
            return pass(st);
        }
        let Some(user) = core.sessions.get(sid).map(|s| s.bare()) else {
            return pass(st);
        };
        // A bad type is wrong wherever the IQ goes; the rest is the recipient's business.
        if !matches!(stanza::typ(&st), "get" | "set" | "result" | "error") || for_self(&st, &user) {
            return Box::pin(std::future::ready(flow(apply(core, st))));
        }
        pass(st)
    }

    fn pkt_user<'a>(&'a self, core: &'a mut Core, _user: &'a BareJid, st: Element) -> Step<'a> {
        if stanza::kind(&st) != Some(Kind::Iq) {
            return pass(st);
        }
        // An IQ for a full JID is the resource's to answer; only bare-JID IQs are ours.
        let full = matches!(stanza::to(&st), Ok(Some(to)) if to.is_full());
        if full && matches!(stanza::typ(&st), "get" | "set" | "result" | "error") {
            return pass(st);
        }
        Box::pin(std::future::ready(flow(apply(core, st))))
    }

    fn pkt_sm<'a>(&'a self, core: &'a mut Core, st: Element) -> Step<'a> {
        if stanza::kind(&st) != Some(Kind::Iq) {
            return pass(st);
        }
        Box::pin(std::future::ready(flow(apply(core, st))))
    }
}
