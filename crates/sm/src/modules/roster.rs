//! RFC 6121 §2 roster management with XEP-0237 versioning: get (whole roster, or only the
//! missed changes as pushes), set, remove, and pushes to every session that asked for the roster.

use jid::BareJid;
use minidom::Element;
use storage::{RosterItem, StorageError};

use crate::chain::{pass, Flow, Module, Step};
use crate::core::Core;
use crate::modules::iq::for_self;
use crate::modules::session_iq::result_for;
use crate::stanza::{self, Kind};
use crate::subscription::State;

pub const NS: &str = "jabber:iq:roster";

/// Longest name or group accepted, in bytes (the server's limit RFC 6121 §2.3.3 allows).
const MAX_TEXT: usize = 1023;

pub struct Roster;

fn state_of(item: &RosterItem) -> State {
    State {
        subscription: item.subscription,
        ask_out: item.ask_out,
        pending_in: item.pending_in,
    }
}

/// The user's item for `contact`, if any, and the subscription state with the contact (RFC 6121
/// appendix A): the item's, or None + Pending In when a request from someone not in the roster
/// is kept (§3.1.3, §3.3.3).
pub async fn current(
    core: &Core,
    user: &BareJid,
    contact: &BareJid,
) -> Result<(Option<RosterItem>, State), StorageError> {
    let item = core.storage.roster_item(user, contact).await?;
    let state = match &item {
        Some(item) => state_of(item),
        None => State {
            pending_in: core
                .storage
                .subscription_request(user, contact)
                .await?
                .is_some(),
            ..State::default()
        },
    };
    Ok((item, state))
}

/// `item` (or a new item for `jid`) in subscription state `state`.
pub fn with_state(item: Option<&RosterItem>, jid: &BareJid, state: State) -> RosterItem {
    let mut item = item
        .cloned()
        .unwrap_or_else(|| RosterItem::new(jid.clone()));
    item.subscription = state.subscription;
    item.ask_out = state.ask_out;
    item.pending_in = state.pending_in;
    item
}

/// Whether the user's roster has no room for another item (`limits.max_roster_items`).
pub async fn is_full(core: &Core, user: &BareJid) -> Result<bool, StorageError> {
    let (_, items) = core.storage.roster(user).await?;
    Ok(items.len() >= core.limits.max_roster_items)
}

/// The `<item/>` a client sees (pending-in is not shown, RFC 6121 §2.1.2.5).
pub fn item_element(item: &RosterItem) -> Element {
    let mut el = Element::bare("item", NS);
    stanza::set_attr(&mut el, "jid", item.jid.to_string());
    if let Some(name) = &item.name {
        stanza::set_attr(&mut el, "name", name.clone());
    }
    stanza::set_attr(&mut el, "subscription", item.subscription.as_str());
    if item.ask_out {
        stanza::set_attr(&mut el, "ask", "subscribe");
    }
    for group in &item.groups {
        let mut g = Element::bare("group", NS);
        g.append_text_node(group.clone());
        el.append_child(g);
    }
    el
}

fn removed_element(jid: &BareJid) -> Element {
    let mut el = Element::bare("item", NS);
    stanza::set_attr(&mut el, "jid", jid.to_string());
    stanza::set_attr(&mut el, "subscription", "remove");
    el
}

fn push_iq(item: Element, version: u64) -> Element {
    let id = format!("push-{}", crate::session::new_id());
    let mut iq = stanza::build("iq", &[("type", "set"), ("id", &id)]);
    let mut query = Element::bare("query", NS);
    stanza::set_attr(&mut query, "ver", version.to_string());
    query.append_child(item);
    iq.append_child(query);
    iq
}

/// Roster push (RFC 6121 §2.1.6) of an `<item/>` to every interested session.
fn push(core: &Core, user: &BareJid, el: Element, version: u64) {
    for session in core.sessions.sessions_of(user) {
        if session.interested {
            core.to_session(&session.id, push_iq(el.clone(), version));
        }
    }
}

/// Stores `item` and pushes it when what the user's clients see of it changed (pending-in is
/// not shown). Used by roster sets and subscription changes alike.
pub async fn save(
    core: &mut Core,
    user: &BareJid,
    before: Option<&RosterItem>,
    item: RosterItem,
) -> Result<(), StorageError> {
    let version = core.storage.set_roster_item(user, item.clone()).await?;
    let shown = item_element(&item);
    if before.map(item_element).as_ref() != Some(&shown) {
        push(core, user, shown, version);
    }
    Ok(())
}

impl Module for Roster {
    fn name(&self) -> &'static str {
        "roster"
    }

    fn server_features(&self) -> &'static [&'static str] {
        &[NS]
    }

    fn in_sess<'a>(&'a self, core: &'a mut Core, sid: &'a str, st: Element) -> Step<'a> {
        // A `to` that is no JID is answered jid-malformed at delivery (RFC 6120 §8.3.3.8).
        if stanza::kind(&st) != Some(Kind::Iq)
            || st.get_child("query", NS).is_none()
            || stanza::to(&st).is_err()
        {
            return pass(st);
        }
        let Some(user) = core.sessions.get(sid).map(|s| s.bare()) else {
            return pass(st);
        };
        if !for_self(&st, &user) {
            // RFC 6121 §2.1.5: a roster is only the user's own business.
            if stanza::typ(&st) == "set" {
                core.bounce(st, "forbidden");
                return Box::pin(std::future::ready(Flow::Done));
            }
            return pass(st);
        }
        Box::pin(async move {
            let result = match stanza::typ(&st) {
                "get" => get(core, sid, &user, &st).await,
                _ => set(core, sid, &user, &st).await,
            };
            match result {
                Ok(Ok(())) => {}
                Ok(Err(condition)) => core.bounce(st, condition),
                Err(e) => {
                    tracing::error!(%user, "roster: {e}");
                    core.bounce(st, "internal-server-error");
                }
            }
            Flow::Done
        })
    }
}

type Outcome = Result<Result<(), &'static str>, StorageError>;

async fn get(core: &mut Core, sid: &str, user: &BareJid, iq: &Element) -> Outcome {
    if let Some(session) = core.sessions.get_mut(sid) {
        session.interested = true;
    }
    let requested = iq
        .get_child("query", NS)
        .and_then(|q| q.attr("ver"))
        .map(str::to_owned);
    // XEP-0237 §2.4: a version we know gets an empty result and then the missed changes.
    if let Some(known) = requested.as_deref().and_then(|v| v.parse::<u64>().ok()) {
        if let Some((_, changes)) = core.storage.roster_changes_since(user, known).await? {
            core.to_session(sid, result_for(iq));
            for change in changes {
                let el = match &change.item {
                    Some(item) => item_element(item),
                    None => removed_element(&change.jid),
                };
                core.to_session(sid, push_iq(el, change.version));
            }
            return Ok(Ok(()));
        }
    }
    let (version, items) = core.storage.roster(user).await?;
    let mut reply = result_for(iq);
    let mut query = Element::bare("query", NS);
    // §2.6.3: the version goes on every result, asked for or not.
    stanza::set_attr(&mut query, "ver", version.to_string());
    for item in &items {
        query.append_child(item_element(item));
    }
    reply.append_child(query);
    core.to_session(sid, reply);
    Ok(Ok(()))
}

/// The checked content of a roster set (RFC 6121 §2.3.3).
struct Request {
    jid: BareJid,
    remove: bool,
    name: Option<String>,
    groups: Vec<String>,
}

fn parse_set(iq: &Element) -> Result<Request, &'static str> {
    let query = iq.get_child("query", NS).ok_or("bad-request")?;
    let mut items = query.children().filter(|c| c.is("item", NS));
    let item = items.next().ok_or("bad-request")?;
    if items.next().is_some() {
        return Err("bad-request");
    }
    let jid = item
        .attr("jid")
        .and_then(stanza::parse_jid)
        .ok_or("bad-request")?;
    if jid.is_full() {
        return Err("bad-request");
    }
    // §2.4.1: an empty name is the same as no name.
    let name = item
        .attr("name")
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    if name.as_ref().is_some_and(|n| n.len() > MAX_TEXT) {
        return Err("not-acceptable");
    }
    let mut groups: Vec<String> = Vec::new();
    for g in item.children().filter(|c| c.is("group", NS)) {
        let text = g.text();
        if text.is_empty() || text.len() > MAX_TEXT {
            return Err("not-acceptable");
        }
        if groups.contains(&text) {
            return Err("bad-request");
        }
        groups.push(text);
    }
    Ok(Request {
        jid: jid.to_bare(),
        // Any other subscription value from a client is ignored (RFC 6121 §2.1.2.5).
        remove: item.attr("subscription") == Some("remove"),
        name,
        groups,
    })
}

async fn set(core: &mut Core, sid: &str, user: &BareJid, iq: &Element) -> Outcome {
    let request = match parse_set(iq) {
        Ok(r) => r,
        Err(condition) => return Ok(Err(condition)),
    };
    let (existing, state) = current(core, user, &request.jid).await?;
    if request.remove {
        return remove(core, sid, user, iq, existing).await;
    }
    if existing.is_none() && is_full(core, user).await? {
        return Ok(Err("not-acceptable"));
    }
    // A kept request from the contact makes the new item None + Pending In.
    let mut item = with_state(existing.as_ref(), &request.jid, state);
    item.name = request.name;
    item.groups = request.groups;
    core.to_session(sid, result_for(iq));
    let version = core.storage.set_roster_item(user, item.clone()).await?;
    push(core, user, item_element(&item), version);
    Ok(Ok(()))
}

/// RFC 6121 §2.5: removal cancels the subscriptions both ways, then pushes the removal.
async fn remove(
    core: &mut Core,
    sid: &str,
    user: &BareJid,
    iq: &Element,
    existing: Option<RosterItem>,
) -> Outcome {
    let Some(item) = existing else {
        return Ok(Err("item-not-found"));
    };
    let me = user.to_string();
    let contact = item.jid.to_string();
    let state = state_of(&item);
    if state.has_to() || state.ask_out {
        core.deliver(stanza::presence("unsubscribe", &me, &contact));
    }
    if state.has_from() {
        // §3.2.2: the contact sees the user go offline while still subscribed.
        crate::modules::presence::unavailable_to(core, user, &contact).await;
    }
    if state.has_from() || state.pending_in {
        core.deliver(stanza::presence("unsubscribed", &me, &contact));
    }
    core.to_session(sid, result_for(iq));
    if let Some(version) = core.storage.remove_roster_item(user, &item.jid).await? {
        push(core, user, removed_element(&item.jid), version);
    }
    Ok(Ok(()))
}
