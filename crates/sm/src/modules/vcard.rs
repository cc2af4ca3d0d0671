//! XEP-0054 vcard-temp, served by the server at each account's bare JID (IQs without `to` reach
//! it through `unaddressed`):
//! - a set from the user stores the `<vCard/>` whole, replacing the previous one (§3.2), up to
//!   `limits.max_vcard_bytes` (larger: `not-acceptable`); a set from anyone else is `forbidden`;
//! - a get from the user returns the stored vCard, or an empty `<vCard/>` when none was ever set
//!   (§3.1 allows either that or an error);
//! - a get from anyone else returns the stored vCard, or `service-unavailable` when there is none:
//!   §3.3 asks for the same error as for an account that does not exist, which is what
//!   `pkt-unknown-user` answers (RFC 6121 §8.5.1), so that nobody learns which accounts exist.
//!
//! A hosted domain has no vCard of its own: a set to it is `forbidden` (§3.2), a get is left to
//! the RFC 6120 `service-unavailable`.

use jid::BareJid;
use minidom::Element;

use crate::chain::{done, pass, Flow, Module, Step};
use crate::core::Core;
use crate::modules::service::{answer, from_user, request_payload, stored, to_bare, Outcome};
use crate::stanza;

pub const NS: &str = "vcard-temp";

pub struct Vcard;

fn vcard_of(iq: &Element) -> Option<&Element> {
    request_payload(iq, "vCard", NS)
}

async fn set(core: &Core, user: &BareJid, vcard: &Element) -> Outcome {
    let xml = stanza::to_text(vcard);
    if xml.len() > core.limits.max_vcard_bytes {
        return Ok(Err("not-acceptable"));
    }
    core.storage.set_vcard(user, xml).await?;
    Ok(Ok(None))
}

async fn get(core: &Core, user: &BareJid, own: bool) -> Outcome {
    Ok(match core.storage.vcard(user).await? {
        Some(xml) => Ok(Some(stored(&xml)?)),
        None if own => Ok(Some(Element::bare("vCard", NS))),
        None => Err("service-unavailable"),
    })
}

/// An IQ get or set with a `<vCard/>` to `user`'s bare JID.
async fn for_user(core: &mut Core, user: &BareJid, iq: Element) -> Flow {
    let own = from_user(&iq, user);
    let outcome = match (vcard_of(&iq), stanza::typ(&iq)) {
        (Some(vcard), "set") if own => set(core, user, vcard).await,
        (Some(_), "set") => Ok(Err("forbidden")),
        _ => get(core, user, own).await,
    };
    answer(core, iq, outcome, "vcard");
    Flow::Done
}

impl Module for Vcard {
    fn name(&self) -> &'static str {
        "vcard"
    }

    fn server_features(&self) -> &'static [&'static str] {
        &[NS]
    }

    fn account_features(&self) -> &'static [&'static str] {
        &[NS]
    }

    fn pkt_user<'a>(&'a self, core: &'a mut Core, user: &'a BareJid, st: Element) -> Step<'a> {
        if vcard_of(&st).is_none() || !to_bare(&st) {
            return pass(st);
        }
        Box::pin(for_user(core, user, st))
    }

    fn pkt_sm<'a>(&'a self, core: &'a mut Core, st: Element) -> Step<'a> {
        if vcard_of(&st).is_none() || stanza::typ(&st) != "set" {
            return pass(st);
        }
        core.bounce(st, "forbidden");
        done()
    }
}
