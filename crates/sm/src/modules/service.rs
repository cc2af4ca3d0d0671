//! What the service modules share: recognising the IQ request a module serves, answering it, and
//! the rules for answering on an account's behalf (RFC 6121 §8.5.2.1.3: an IQ to a user's bare
//! JID is the server's to handle).

use jid::BareJid;
use minidom::Element;
use storage::{StorageError, Subscription};

use crate::core::Core;
use crate::modules::session_iq::result_for;
use crate::stanza::{self, Kind};

/// The payload of an IQ get when it is `name` in `ns` (the iq module has already checked that
/// a get has exactly one child).
pub fn get_payload<'e>(iq: &'e Element, name: &str, ns: &str) -> Option<&'e Element> {
    request_payload(iq, name, ns).filter(|_| stanza::typ(iq) == "get")
}

/// The payload of an IQ get or set when it is `name` in `ns`.
pub fn request_payload<'e>(iq: &'e Element, name: &str, ns: &str) -> Option<&'e Element> {
    if stanza::kind(iq) != Some(Kind::Iq) || !matches!(stanza::typ(iq), "get" | "set") {
        return None;
    }
    iq.get_child(name, ns)
}

/// Sends the result of `iq`, carrying `payload` if any.
pub fn reply(core: &mut Core, iq: &Element, payload: Option<Element>) {
    let mut result = result_for(iq);
    if let Some(payload) = payload {
        result.append_child(payload);
    }
    core.deliver(result);
}

/// Whether the stanza is addressed to a bare JID (an account, not one of its resources).
pub fn to_bare(st: &Element) -> bool {
    matches!(stanza::to(st), Ok(Some(to)) if to.is_bare())
}

/// Whether `user` sent the stanza (from any of the user's resources).
pub fn from_user(st: &Element, user: &BareJid) -> bool {
    matches!(stanza::from(st), Ok(Some(from)) if from.to_bare() == *user)
}

/// What a service made of an IQ request: the payload of its result (if any), the condition of
/// a stanza error, or a storage failure.
pub type Outcome = Result<Result<Option<Element>, &'static str>, StorageError>;

/// Sends the answer `outcome` calls for to `iq`; a storage failure is logged under `service`
/// and answered `internal-server-error`.
pub fn answer(core: &mut Core, iq: Element, outcome: Outcome, service: &str) {
    match outcome {
        Ok(Ok(payload)) => reply(core, &iq, payload),
        Ok(Err(condition)) => core.bounce(iq, condition),
        Err(e) => {
            tracing::error!(to = iq.attr("to").unwrap_or_default(), "{service}: {e}");
            core.bounce(iq, "internal-server-error");
        }
    }
}

/// Reads back an element stored as XML text; a file edited or damaged by hand is a storage
/// failure.
pub fn stored(xml: &str) -> Result<Element, StorageError> {
    xml.parse()
        .map_err(|e| StorageError::Database(format!("unreadable stored XML: {e}")))
}

/// Whether the sender of `st` may see `user`'s presence: the user themself, or a contact the
/// user's roster gives a `from` or `both` subscription (RFC 6121 §3). XEP-0012 §3 and XEP-0030
/// §8 reveal last activity and the account's information only to them.
pub async fn may_see_presence(
    core: &Core,
    user: &BareJid,
    st: &Element,
) -> Result<bool, StorageError> {
    let Ok(Some(from)) = stanza::from(st) else {
        return Ok(false);
    };
    let requester = from.to_bare();
    if requester == *user {
        return Ok(true);
    }
    let item = core.storage.roster_item(user, &requester).await?;
    Ok(item.is_some_and(|i| matches!(i.subscription, Subscription::From | Subscription::Both)))
}
