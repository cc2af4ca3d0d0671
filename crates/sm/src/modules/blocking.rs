//! XEP-0191 blocking command, for each session's account (IQs without `to`, or to the account's
//! bare JID, taken in `in-sess` before `unaddressed`). The blocklist is the default privacy
//! list's blocklist items (§5: a `jid` item denying everything), so `privacy_gate` enforces it
//! with the rest of the list and a XEP-0016 client sees it:
//! - get `<blocklist/>`: the blocked JIDs; the session gets pushes from then on (§3.2);
//! - set `<block/>` (at least one item, else `bad-request`): the JIDs not blocked yet go first
//!   in the default list, which is created as `urn:xmpp:blocking` when the user has none (§5:
//!   "SHOULD come first"); past `limits.max_privacy_items`, `not-acceptable` (§3.3);
//! - set `<unblock/>`: those JIDs' blocklist items go, or with no item every blocklist item
//!   (§3.4, §3.5);
//! - an item without `jid` is a `bad-request`, one with an invalid JID `jid-malformed`;
//! - the result, then the command pushed to the sessions that asked for the blocklist, then
//!   presence as `privacy_effects` says (§3.3: unavailable to the newly blocked, §3.4: current
//!   presence to the unblocked).

use jid::{BareJid, Jid};
use minidom::Element;
use storage::PrivacyItem;

use crate::chain::{pass, Flow, Module, Step};
use crate::core::Core;
use crate::modules::privacy_effects::{blocking_element, blocklist, Before, BlocklistPush, Pushes};
use crate::modules::privacy_gate::default_list;
use crate::modules::privacy_iq::{commit, finish, payload, reply, request, Outcome};
use crate::modules::privacy_items::blocklist_item;
use crate::privacy::rules::{blocked, blocked_jid};
use crate::privacy::BLOCKING_NS;
use crate::stanza;

/// The default list blocking creates for a user who has none.
const NEW_LIST: &str = "urn:xmpp:blocking";

pub struct Blocking;

impl Module for Blocking {
    fn name(&self) -> &'static str {
        "blocking"
    }

    fn server_features(&self) -> &'static [&'static str] {
        &[BLOCKING_NS]
    }

    fn in_sess<'a>(&'a self, core: &'a mut Core, sid: &'a str, st: Element) -> Step<'a> {
        let Some(user) = request(core, sid, &st, BLOCKING_NS) else {
            return pass(st);
        };
        Box::pin(async move {
            let outcome = command(core, sid, &user, &st).await;
            finish(core, st, outcome, "blocking");
            Flow::Done
        })
    }
}

async fn command(core: &mut Core, sid: &str, user: &BareJid, iq: &Element) -> Outcome {
    let Some(el) = payload(iq, BLOCKING_NS) else {
        return Ok(Err("bad-request"));
    };
    let jids = match items(el) {
        Ok(jids) => jids,
        Err(condition) => return Ok(Err(condition)),
    };
    match (stanza::typ(iq), el.name()) {
        ("get", "blocklist") if jids.is_empty() => {
            if let Some(session) = core.sessions.get_mut(sid) {
                session.privacy.wants_blocklist = true;
            }
            let jids = blocklist(core, user).await?;
            reply(core, sid, iq, Some(blocking_element("blocklist", &jids)));
            Ok(Ok(()))
        }
        ("set", "block") if !jids.is_empty() => block(core, sid, user, iq, jids).await,
        ("set", "unblock") => unblock(core, sid, user, iq, jids).await,
        _ => Ok(Err("bad-request")),
    }
}

/// The JIDs of the command's items, each once.
fn items(el: &Element) -> Result<Vec<Jid>, &'static str> {
    let mut jids: Vec<Jid> = Vec::new();
    for item in el.children().filter(|c| c.is("item", BLOCKING_NS)) {
        let text = item.attr("jid").ok_or("bad-request")?;
        let jid = stanza::parse_jid(text).ok_or("jid-malformed")?;
        if !jids.contains(&jid) {
            jids.push(jid);
        }
    }
    Ok(jids)
}

async fn block(
    core: &mut Core,
    sid: &str,
    user: &BareJid,
    iq: &Element,
    jids: Vec<Jid>,
) -> Outcome {
    let before = Before::take(core, user).await?;
    let (name, existing, new_default) = match default_list(core, user).await? {
        Some(list) => (list.name.clone(), list.items.clone(), false),
        None => {
            let items = core.storage.privacy_list(user, NEW_LIST).await?;
            (NEW_LIST.to_owned(), items.unwrap_or_default(), true)
        }
    };
    let already = blocked(&existing);
    let fresh: Vec<PrivacyItem> = jids
        .iter()
        .filter(|j| !already.contains(j))
        .map(|j| blocklist_item(0, j.clone()))
        .collect();
    let edited = !fresh.is_empty();
    if edited {
        let items = renumbered(fresh.into_iter().chain(existing));
        let quota = core.limits.max_privacy_items;
        if !core
            .storage
            .set_privacy_list(user, &name, items, quota)
            .await?
        {
            return Ok(Err("not-acceptable"));
        }
    }
    if new_default {
        core.storage
            .set_default_privacy_list(user, Some(&name))
            .await?;
    }
    let pushes = Pushes {
        list: edited.then_some(name.as_str()),
        blocklist: BlocklistPush::This(blocking_element("block", &jids)),
    };
    commit(core, sid, iq, before, pushes).await;
    Ok(Ok(()))
}

/// The items in this order, numbered from 0.
fn renumbered(items: impl Iterator<Item = PrivacyItem>) -> Vec<PrivacyItem> {
    items
        .zip(0..)
        .map(|(item, order)| PrivacyItem { order, ..item })
        .collect()
}

async fn unblock(
    core: &mut Core,
    sid: &str,
    user: &BareJid,
    iq: &Element,
    jids: Vec<Jid>,
) -> Outcome {
    let before = Before::take(core, user).await?;
    let list = default_list(core, user).await?;
    let unblocked =
        |item: &PrivacyItem| blocked_jid(item).is_some_and(|j| jids.is_empty() || jids.contains(j));
    let changed = list.as_ref().filter(|l| l.items.iter().any(unblocked));
    if let Some(list) = changed {
        let kept: Vec<PrivacyItem> = list
            .items
            .iter()
            .filter(|i| !unblocked(i))
            .cloned()
            .collect();
        // Fewer items than before: never over the limit.
        core.storage
            .set_privacy_list(user, &list.name, kept, usize::MAX)
            .await?;
    }
    let pushes = Pushes {
        list: changed.map(|l| l.name.as_str()),
        blocklist: BlocklistPush::This(blocking_element("unblock", &jids)),
    };
    commit(core, sid, iq, before, pushes).await;
    Ok(Ok(()))
}
