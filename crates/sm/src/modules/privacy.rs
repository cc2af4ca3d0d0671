//! XEP-0016 privacy lists, managed by each session for its account (IQs without `to`, or to the
//! account's bare JID, taken in `in-sess` before `unaddressed`, as the active list belongs to
//! the session). Enforcement is `privacy_gate`'s; what follows a change, `privacy_effects`'.
//! - get: the names of the lists, preceded by the session's active list and the default list;
//!   or one list (`item-not-found` when there is none; more than one asked, `bad-request`);
//! - set (exactly one child, else `bad-request`): a new active list for this session or a new
//!   default list for the account (`item-not-found` when there is no such list; an empty
//!   element declines); a list with items creates or replaces it, an empty one removes it
//!   (`item-not-found` when there is none);
//! - `conflict`: removing a list another session applies, or changing or declining the default
//!   list while another session applies it (one without an active list), as §2.5 and §2.8 ask;
//! - items are checked as [`privacy_items::parse`] says; a group the roster does not have is
//!   `item-not-found` (§2.1); a set past `limits.max_privacy_items` (all lists together) is
//!   `not-acceptable`.

use jid::BareJid;
use minidom::Element;

use crate::chain::{pass, Flow, Module, Step};
use crate::core::Core;
use crate::modules::privacy_effects::{Before, BlocklistPush, Pushes};
use crate::modules::privacy_iq::{commit, finish, payload, reply, request, Outcome};
use crate::modules::privacy_items;
use crate::privacy::PRIVACY_NS;
use crate::stanza;

pub struct Privacy;

impl Module for Privacy {
    fn name(&self) -> &'static str {
        "privacy"
    }

    fn server_features(&self) -> &'static [&'static str] {
        &[PRIVACY_NS]
    }

    fn in_sess<'a>(&'a self, core: &'a mut Core, sid: &'a str, st: Element) -> Step<'a> {
        let Some(user) = request(core, sid, &st, PRIVACY_NS) else {
            return pass(st);
        };
        Box::pin(async move {
            let outcome = match stanza::typ(&st) {
                "get" => get(core, sid, &user, &st).await,
                _ => set(core, sid, &user, &st).await,
            };
            finish(core, st, outcome, "privacy");
            Flow::Done
        })
    }
}

/// The child elements of the request's `<query/>`; `None` when the payload is something else.
fn query_children(iq: &Element) -> Option<Vec<&Element>> {
    let query = payload(iq, PRIVACY_NS).filter(|q| q.name() == "query")?;
    Some(query.children().collect())
}

fn child<'e>(children: &[&'e Element], name: &str) -> Option<&'e Element> {
    match children {
        [one] if one.is(name, PRIVACY_NS) => Some(one),
        _ => None,
    }
}

async fn get(core: &mut Core, sid: &str, user: &BareJid, iq: &Element) -> Outcome {
    let Some(children) = query_children(iq) else {
        return Ok(Err("bad-request"));
    };
    let mut query = Element::bare("query", PRIVACY_NS);
    if children.is_empty() {
        let (names, default) = core.storage.privacy_lists(user).await?;
        let active = core
            .sessions
            .get(sid)
            .and_then(|s| s.privacy.active.clone());
        for (el, name) in [("active", active), ("default", default)] {
            if let Some(name) = name {
                query.append_child(named(el, &name));
            }
        }
        for name in names {
            query.append_child(named("list", &name));
        }
    } else {
        let Some(name) = child(&children, "list").and_then(|l| l.attr("name")) else {
            return Ok(Err("bad-request"));
        };
        let Some(items) = core.storage.privacy_list(user, name).await? else {
            return Ok(Err("item-not-found"));
        };
        query.append_child(privacy_items::list_element(name, &items));
    }
    reply(core, sid, iq, Some(query));
    Ok(Ok(()))
}

fn named(element: &str, name: &str) -> Element {
    let mut el = Element::bare(element, PRIVACY_NS);
    stanza::set_attr(&mut el, "name", name);
    el
}

async fn set(core: &mut Core, sid: &str, user: &BareJid, iq: &Element) -> Outcome {
    let Some(children) = query_children(iq) else {
        return Ok(Err("bad-request"));
    };
    if let Some(active) = child(&children, "active") {
        return set_active(core, sid, user, iq, active.attr("name")).await;
    }
    if let Some(default) = child(&children, "default") {
        return set_default(core, sid, user, iq, default.attr("name")).await;
    }
    let Some(list) = child(&children, "list") else {
        return Ok(Err("bad-request"));
    };
    match list.attr("name") {
        Some(name) if !name.is_empty() => {
            if list.children().any(|c| c.is("item", PRIVACY_NS)) {
                edit_list(core, sid, user, iq, name, list).await
            } else {
                remove_list(core, sid, user, iq, name).await
            }
        }
        _ => Ok(Err("bad-request")),
    }
}

/// §2.4: the session's active list, or none.
async fn set_active(
    core: &mut Core,
    sid: &str,
    user: &BareJid,
    iq: &Element,
    name: Option<&str>,
) -> Outcome {
    if let Some(name) = name {
        if core.storage.privacy_list(user, name).await?.is_none() {
            return Ok(Err("item-not-found"));
        }
    }
    let before = Before::take(core, user).await?;
    if let Some(session) = core.sessions.get_mut(sid) {
        session.privacy.active = name.map(str::to_owned);
    }
    let pushes = Pushes {
        list: None,
        blocklist: BlocklistPush::None,
    };
    commit(core, sid, iq, before, pushes).await;
    Ok(Ok(()))
}

/// §2.5: the account's default list, or none.
async fn set_default(
    core: &mut Core,
    sid: &str,
    user: &BareJid,
    iq: &Element,
    name: Option<&str>,
) -> Outcome {
    let (names, current) = core.storage.privacy_lists(user).await?;
    if name.is_some_and(|n| !names.iter().any(|l| l == n)) {
        return Ok(Err("item-not-found"));
    }
    if current.as_deref() != name {
        if current.is_some() && others_use_default(core, sid, user) {
            return Ok(Err("conflict"));
        }
        let before = Before::take(core, user).await?;
        core.storage.set_default_privacy_list(user, name).await?;
        let pushes = Pushes {
            list: None,
            blocklist: BlocklistPush::Changes,
        };
        commit(core, sid, iq, before, pushes).await;
    } else {
        reply(core, sid, iq, None);
    }
    Ok(Ok(()))
}

/// Whether a session other than `sid` applies the default list (it has no active list).
fn others_use_default(core: &Core, sid: &str, user: &BareJid) -> bool {
    core.sessions
        .sessions_of(user)
        .iter()
        .any(|s| s.id != sid && s.privacy.active.is_none())
}

/// §2.6 / §2.7: creates or replaces a list.
async fn edit_list(
    core: &mut Core,
    sid: &str,
    user: &BareJid,
    iq: &Element,
    name: &str,
    list: &Element,
) -> Outcome {
    let items = match privacy_items::parse(list) {
        Ok(items) => items,
        Err(condition) => return Ok(Err(condition)),
    };
    if privacy_items::groups(&items).next().is_some() {
        let (_, roster) = core.storage.roster(user).await?;
        let known = |g: &str| roster.iter().any(|r| r.groups.iter().any(|h| h == g));
        if !privacy_items::groups(&items).all(known) {
            return Ok(Err("item-not-found"));
        }
    }
    let before = Before::take(core, user).await?;
    let quota = core.limits.max_privacy_items;
    if !core
        .storage
        .set_privacy_list(user, name, items, quota)
        .await?
    {
        return Ok(Err("not-acceptable"));
    }
    commit_list(core, sid, iq, before, name).await
}

/// The list `name` was stored or removed: the result, then the list and any blocklist change
/// pushed.
async fn commit_list(
    core: &mut Core,
    sid: &str,
    iq: &Element,
    before: Before,
    name: &str,
) -> Outcome {
    let pushes = Pushes {
        list: Some(name),
        blocklist: BlocklistPush::Changes,
    };
    commit(core, sid, iq, before, pushes).await;
    Ok(Ok(()))
}

/// §2.8: removes a list no other session applies.
async fn remove_list(
    core: &mut Core,
    sid: &str,
    user: &BareJid,
    iq: &Element,
    name: &str,
) -> Outcome {
    let (names, default) = core.storage.privacy_lists(user).await?;
    if !names.iter().any(|l| l == name) {
        return Ok(Err("item-not-found"));
    }
    let active_elsewhere = core
        .sessions
        .sessions_of(user)
        .iter()
        .any(|s| s.id != sid && s.privacy.active.as_deref() == Some(name));
    if active_elsewhere || (default.as_deref() == Some(name) && others_use_default(core, sid, user))
    {
        return Ok(Err("conflict"));
    }
    let before = Before::take(core, user).await?;
    if let Some(session) = core.sessions.get_mut(sid) {
        if session.privacy.active.as_deref() == Some(name) {
            session.privacy.active = None;
        }
    }
    core.storage.remove_privacy_list(user, name).await?;
    commit_list(core, sid, iq, before, name).await
}
