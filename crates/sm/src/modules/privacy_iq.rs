//! What the XEP-0016 and XEP-0191 modules share: recognising a request a session makes about
//! its own account, and answering it. A result goes straight to the session, ahead of the
//! pushes and presence its change causes (as a roster result precedes its push).

use jid::BareJid;
use minidom::Element;
use storage::StorageError;

use crate::core::Core;
use crate::modules::iq::for_self;
use crate::modules::privacy_effects::{Before, Pushes};
use crate::modules::session_iq::result_for;
use crate::stanza::{self, Kind};

/// What a request came to: answered already, an error condition, or a storage failure.
pub type Outcome = Result<Result<(), &'static str>, StorageError>;

/// The user, when `iq` is a get or set with a payload in `ns` that session `sid` sends about
/// its own account (no `to`, or the account's bare JID).
pub fn request(core: &Core, sid: &str, iq: &Element, ns: &str) -> Option<BareJid> {
    if stanza::kind(iq) != Some(Kind::Iq) || !matches!(stanza::typ(iq), "get" | "set") {
        return None;
    }
    payload(iq, ns)?;
    let user = core.sessions.get(sid)?.bare();
    for_self(iq, &user).then_some(user)
}

/// The payload of `iq` in `ns` (the iq module has checked that a request has one child).
pub fn payload<'e>(iq: &'e Element, ns: &str) -> Option<&'e Element> {
    iq.children().find(|c| c.ns() == ns)
}

/// Sends the result of `iq`, carrying `payload` if any, to the session.
pub fn reply(core: &Core, sid: &str, iq: &Element, payload: Option<Element>) {
    let mut result = result_for(iq);
    if let Some(payload) = payload {
        result.append_child(payload);
    }
    core.to_session(sid, result);
}

/// A change is stored: the result, then what follows it.
pub async fn commit(core: &mut Core, sid: &str, iq: &Element, before: Before, pushes: Pushes<'_>) {
    reply(core, sid, iq, None);
    if let Err(e) = before.settle(core, pushes).await {
        tracing::error!(%sid, "privacy lists: after a change: {e}");
    }
}

/// Answers `iq` with the error of `outcome`, if it has one; a storage failure is logged under
/// `service` and answered `internal-server-error`.
pub fn finish(core: &mut Core, iq: Element, outcome: Outcome, service: &str) {
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(condition)) => core.bounce(iq, condition),
        Err(e) => {
            tracing::error!(from = iq.attr("from").unwrap_or_default(), "{service}: {e}");
            core.bounce(iq, "internal-server-error");
        }
    }
}
