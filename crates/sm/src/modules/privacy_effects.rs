//! What follows a change to a user's privacy lists — an edit or removal, a new active or
//! default list, a block or an unblock — once it is stored ([`Before::take`] ahead of the
//! change, [`Before::settle`] after it):
//! - every session reads its lists again, so that the next stanza is judged by them (rule 8);
//! - contacts the change hides the user's presence from get unavailable presence from each
//!   available resource, and those it shows it to again get its current presence (XEP-0016
//!   §2.10, XEP-0191 §3.3 and §3.4); only contacts allowed to see the presence at all count:
//!   `from`/`both` subscribers and those the resource sent directed presence;
//! - sessions that stop hearing a `to`/`both` contact get unavailable presence from it, and the
//!   user probes the contacts heard again, to learn their presence (XEP-0016 §2.9);
//! - pushes: the name of an edited or removed list to every session (rule 10); the blocklist's
//!   changes to the sessions that asked for it (XEP-0191 §3.3, §3.4), unless the change was a
//!   blocking command, which pushes what it was asked.

use std::collections::{BTreeSet, HashMap};

use jid::{BareJid, Jid};
use minidom::Element;
use storage::{RosterItem, StorageError, Subscription};

use crate::core::Core;
use crate::modules::privacy_gate::{default_list, forget_lists, Gate};
use crate::privacy::rules::{blocked, Traffic, Verdict};
use crate::privacy::{BLOCKING_NS, PRIVACY_NS};
use crate::stanza;

/// What the sessions applied, and the blocklist, before a change.
pub struct Before {
    user: BareJid,
    gates: Vec<(String, Gate)>,
    blocked: Vec<Jid>,
}

/// The pushes a change calls for.
pub struct Pushes<'a> {
    /// The list whose definition changed (edited, created or removed).
    pub list: Option<&'a str>,
    pub blocklist: BlocklistPush,
}

/// What the sessions that asked for the blocklist are told.
pub enum BlocklistPush {
    /// Nothing: the change cannot touch the blocklist.
    None,
    /// Its changes, if any: `<block/>` with the JIDs it gained, `<unblock/>` with those it lost.
    Changes,
    /// This `<block/>` or `<unblock/>`: the blocking command that made the change.
    This(Element),
}

impl Before {
    pub async fn take(core: &mut Core, user: &BareJid) -> Result<Before, StorageError> {
        let mut gates = Vec::new();
        for sid in core.sessions.of_user(user) {
            let gate = Gate::of(core, user, Some(&sid)).await?;
            gates.push((sid, gate));
        }
        Ok(Before {
            user: user.clone(),
            gates,
            blocked: blocklist(core, user).await?,
        })
    }

    /// The change is stored: see the module docs.
    pub async fn settle(self, core: &mut Core, pushes: Pushes<'_>) -> Result<(), StorageError> {
        let user = self.user.clone();
        forget_lists(core, &user);
        match pushes.blocklist {
            BlocklistPush::None => {}
            BlocklistPush::Changes => push_changes(core, &user, &self.blocked).await?,
            BlocklistPush::This(command) => push_blocking(core, &user, command),
        }
        if let Some(name) = pushes.list {
            push_list(core, &user, name);
        }
        let mut changed = Vec::new();
        for (sid, before) in self.gates {
            let after = Gate::of(core, &user, Some(&sid)).await?;
            if !after.same_rules(&before) {
                changed.push((sid, before, after));
            }
        }
        if changed.is_empty() {
            return Ok(());
        }
        let (_, items) = core.storage.roster(&user).await?;
        let roster: HashMap<BareJid, RosterItem> =
            items.into_iter().map(|i| (i.jid.clone(), i)).collect();
        let mut probes = BTreeSet::new();
        for (sid, before, after) in changed {
            presence_out(core, &sid, &roster, &before, &after);
            probes.extend(presence_in(core, &sid, &roster, &before, &after));
        }
        let me = user.to_string();
        for contact in probes {
            core.deliver(stanza::presence("probe", &me, &contact));
        }
        Ok(())
    }
}

/// The JIDs blocked now: the blocklist items of the default list.
pub async fn blocklist(core: &mut Core, user: &BareJid) -> Result<Vec<Jid>, StorageError> {
    Ok(default_list(core, user)
        .await?
        .map(|list| blocked(&list.items))
        .unwrap_or_default())
}

/// `Some(allowed now)` when the two gates judge `t` with `who` differently.
fn changed(
    before: &Gate,
    after: &Gate,
    who: &Jid,
    item: Option<&RosterItem>,
    t: Traffic,
) -> Option<bool> {
    let was = before.verdict(who, item, t) == Verdict::Allow;
    let is = after.verdict(who, item, t) == Verdict::Allow;
    (was != is).then_some(is)
}

/// Contacts that may see session `sid`'s presence and now do, or no longer do, learn of it.
fn presence_out(
    core: &mut Core,
    sid: &str,
    roster: &HashMap<BareJid, RosterItem>,
    before: &Gate,
    after: &Gate,
) {
    let Some(session) = core.sessions.get(sid).filter(|s| s.available).cloned() else {
        return;
    };
    let subscribers = roster
        .values()
        .filter(|i| matches!(i.subscription, Subscription::From | Subscription::Both))
        .map(|i| Jid::from(i.jid.clone()));
    let directed = session.directed.iter().filter_map(|j| stanza::parse_jid(j));
    let watchers: BTreeSet<Jid> = subscribers.chain(directed).collect();
    let me = session.jid.to_string();
    for who in watchers {
        let item = roster.get(&who.to_bare());
        match changed(before, after, &who, item, Traffic::PresenceOut) {
            Some(true) => {
                if let Some(p) = &session.presence {
                    core.deliver(stanza::readdressed(p, &who.to_string()));
                }
            }
            Some(false) => core.deliver(stanza::presence("unavailable", &me, &who.to_string())),
            None => {}
        }
    }
}

/// The session stops hearing contacts its list now refuses presence from; returns the contacts
/// it hears again, to probe.
fn presence_in(
    core: &mut Core,
    sid: &str,
    roster: &HashMap<BareJid, RosterItem>,
    before: &Gate,
    after: &Gate,
) -> Vec<String> {
    let Some(session) = core.sessions.get(sid).filter(|s| s.available).cloned() else {
        return Vec::new();
    };
    let mut heard_again = Vec::new();
    let watched = roster
        .values()
        .filter(|i| matches!(i.subscription, Subscription::To | Subscription::Both));
    for item in watched {
        let who = Jid::from(item.jid.clone());
        match changed(before, after, &who, Some(item), Traffic::PresenceIn) {
            Some(true) => heard_again.push(who.to_string()),
            Some(false) => {
                let gone =
                    stanza::presence("unavailable", &who.to_string(), &session.jid.to_string());
                core.to_session(sid, gone);
            }
            None => {}
        }
    }
    heard_again
}

/// An IQ set pushing `payload` to the user's sessions.
fn push_iq(payload: Element) -> Element {
    let id = format!("push-{}", crate::session::new_id());
    let mut iq = stanza::build("iq", &[("type", "set"), ("id", &id)]);
    iq.append_child(payload);
    iq
}

/// Rule 10: the name of a list whose definition changed, to every session of the user.
fn push_list(core: &Core, user: &BareJid, name: &str) {
    let mut list = Element::bare("list", PRIVACY_NS);
    stanza::set_attr(&mut list, "name", name);
    let mut query = Element::bare("query", PRIVACY_NS);
    query.append_child(list);
    for sid in core.sessions.of_user(user) {
        core.to_session(&sid, push_iq(query.clone()));
    }
}

/// `<block/>` or `<unblock/>` with an item per JID (none: unblock all).
pub fn blocking_element(name: &str, jids: &[Jid]) -> Element {
    let mut el = Element::bare(name, BLOCKING_NS);
    for jid in jids {
        let mut item = Element::bare("item", BLOCKING_NS);
        stanza::set_attr(&mut item, "jid", jid.to_string());
        el.append_child(item);
    }
    el
}

/// The blocklist's changes since it was `was`: the JIDs it gained, then those it lost.
async fn push_changes(core: &mut Core, user: &BareJid, was: &[Jid]) -> Result<(), StorageError> {
    let now = blocklist(core, user).await?;
    let added: Vec<Jid> = now.iter().filter(|j| !was.contains(j)).cloned().collect();
    let removed: Vec<Jid> = was.iter().filter(|j| !now.contains(j)).cloned().collect();
    if !added.is_empty() {
        push_blocking(core, user, blocking_element("block", &added));
    }
    if !removed.is_empty() {
        push_blocking(core, user, blocking_element("unblock", &removed));
    }
    Ok(())
}

/// XEP-0191 §3.3–3.5: a blocklist change, to every session that asked for the blocklist.
fn push_blocking(core: &Core, user: &BareJid, payload: Element) {
    for session in core.sessions.sessions_of(user) {
        if session.privacy.wants_blocklist {
            core.to_session(&session.id, push_iq(payload.clone()));
        }
    }
}
