//! XEP-0030 at a user's bare JID, answered by the server on the account's behalf under the
//! rules of §8: only the user and contacts who may see the user's presence learn anything.
//! - disco#info: the `account/registered` identity and the account features (§3.1); anyone else
//!   gets `service-unavailable`, as if there were no such account.
//! - disco#items: the user's available resources (§4.1); anyone else gets an empty result.
//! - a `node`: `item-not-found`, as none is offered.

use jid::BareJid;
use minidom::Element;

use crate::chain::Flow;
use crate::core::Core;
use crate::modules::disco::{identity, info_query, item, INFO, ITEMS};
use crate::modules::service::{may_see_presence, reply};

/// Answers the disco `query` (namespace, has a node) in `st`, an IQ get to `user`'s bare JID.
pub async fn answer(
    features: Vec<&'static str>,
    core: &mut Core,
    user: &BareJid,
    st: Element,
    (ns, node): (&'static str, bool),
) -> Flow {
    let allowed = match may_see_presence(core, user, &st).await {
        Ok(allowed) => allowed,
        Err(e) => {
            tracing::error!(%user, "disco: roster lookup: {e}");
            core.bounce(st, "internal-server-error");
            return Flow::Done;
        }
    };
    match (ns, node, allowed) {
        (INFO, _, false) => core.bounce(st, "service-unavailable"),
        (_, true, _) => core.bounce(st, "item-not-found"),
        (INFO, false, true) => {
            let account = identity("account", "registered", None);
            reply(core, &st, Some(info_query(account, features.into_iter())));
        }
        (_, false, allowed) => {
            let mut query = Element::bare("query", ITEMS);
            if allowed {
                for session in core.sessions_of(user).iter().filter(|s| s.available) {
                    query.append_child(item(&session.jid.to_string(), None));
                }
            }
            reply(core, &st, Some(query));
        }
    }
    Flow::Done
}
