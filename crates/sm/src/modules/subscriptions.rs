//! RFC 6121 §3 subscriptions: outbound requests and answers from the user's sessions, inbound
//! ones from contacts, each applied to the roster by the appendix A tables
//! ([`crate::subscription`]), with roster pushes and the presence RFC 6121 asks for.

use jid::BareJid;
use minidom::Element;
use storage::{RosterItem, StorageError};

use crate::chain::{pass, Flow, Module, Step};
use crate::core::Core;
use crate::modules::presence;
use crate::modules::roster::{save, state_of};
use crate::stanza::{self, Kind};
use crate::subscription::{self, Action, State};

pub struct Subscriptions;

fn action_of(st: &Element) -> Option<Action> {
    if stanza::kind(st) != Some(Kind::Presence) {
        return None;
    }
    Action::from_type(stanza::typ(st))
}

fn apply(item: Option<&RosterItem>, jid: &BareJid, state: State) -> RosterItem {
    let mut item = item
        .cloned()
        .unwrap_or_else(|| RosterItem::new(jid.clone()));
    item.subscription = state.subscription;
    item.ask_out = state.ask_out;
    item.pending_in = state.pending_in;
    item
}

impl Module for Subscriptions {
    fn name(&self) -> &'static str {
        "subscriptions"
    }

    fn in_sess<'a>(&'a self, core: &'a mut Core, sid: &'a str, st: Element) -> Step<'a> {
        let Some(action) = action_of(&st) else {
            return pass(st);
        };
        let Some(user) = core.sessions.get(sid).map(|s| s.bare()) else {
            return pass(st);
        };
        Box::pin(async move {
            let contact = match stanza::to(&st) {
                Ok(Some(to)) => to.to_bare(),
                Ok(None) => return Flow::Done,
                Err(_) => {
                    core.bounce(st, "jid-malformed");
                    return Flow::Done;
                }
            };
            if let Err(e) = outbound(core, &user, &contact, action, st).await {
                tracing::error!(%user, "subscription: {e}");
            }
            Flow::Done
        })
    }

    fn pkt_user<'a>(&'a self, core: &'a mut Core, user: &'a BareJid, st: Element) -> Step<'a> {
        let Some(action) = action_of(&st) else {
            return pass(st);
        };
        Box::pin(async move {
            let Ok(Some(from)) = stanza::from(&st) else {
                return Flow::Done;
            };
            let contact = from.to_bare();
            if let Err(e) = inbound(core, user, &contact, action, st).await {
                tracing::error!(%user, "subscription: {e}");
            }
            Flow::Done
        })
    }
}

/// §3.1.2, §3.1.5, §3.2.2, §3.3.2: the user sends `action` to `contact`.
async fn outbound(
    core: &mut Core,
    user: &BareJid,
    contact: &BareJid,
    action: Action,
    mut st: Element,
) -> Result<(), StorageError> {
    let existing = core.storage.roster_item(user, contact).await?;
    let before = state_of(existing.as_ref());
    let out = subscription::outbound(before, action);
    if out.new != before {
        if existing.is_none() {
            let (_, items) = core.storage.roster(user).await?;
            if items.len() >= core.limits.max_roster_items {
                core.bounce(st, "not-acceptable");
                return Ok(());
            }
        }
        let item = apply(existing.as_ref(), contact, out.new);
        save(core, user, existing.as_ref(), item).await?;
    }
    if !out.route {
        return Ok(());
    }
    // §3.1.2: subscription stanzas carry the user's bare JID and the contact's bare JID.
    stanza::strip_sc(&mut st);
    stanza::set_attr(&mut st, "from", user.to_string());
    stanza::set_attr(&mut st, "to", contact.to_string());
    core.deliver(st);
    let contact_s = contact.to_string();
    match action {
        // §3.1.5: after approving, the contact gets the user's current presence.
        Action::Subscribed => presence::current_to(core, user, &contact_s),
        // §3.2.1: after cancelling, the contact sees the user go offline.
        Action::Unsubscribed if before.has_from() => {
            presence::unavailable_to(core, user, &contact_s)
        }
        _ => {}
    }
    Ok(())
}

/// §3.1.3, §3.1.6, §3.2.3, §3.3.3: `contact` sends `action` to the user.
async fn inbound(
    core: &mut Core,
    user: &BareJid,
    contact: &BareJid,
    action: Action,
    mut st: Element,
) -> Result<(), StorageError> {
    let existing = core.storage.roster_item(user, contact).await?;
    let before = state_of(existing.as_ref());
    let result = subscription::inbound(before, action);
    let me = user.to_string();
    let them = contact.to_string();
    if result.auto_subscribed {
        core.deliver(stanza::presence("subscribed", &me, &them));
        return Ok(());
    }
    if result.new != before {
        let item = apply(existing.as_ref(), contact, result.new);
        save(core, user, existing.as_ref(), item).await?;
    }
    if result.deliver {
        stanza::strip_sc(&mut st);
        stanza::set_attr(&mut st, "from", them.clone());
        stanza::set_attr(&mut st, "to", me.clone());
        // Requests for a user with no available resource wait as pending-in and are sent
        // again at each login until answered (§3.1.3); nothing else is stored.
        for sid in core.available_of(user) {
            core.to_session(&sid, st.clone());
        }
    }
    if action == Action::Unsubscribe && before.has_from() {
        // §3.3.3: the former subscriber sees the user go offline.
        presence::unavailable_to(core, user, &them);
    }
    Ok(())
}

/// §3.1.3: re-sends the user's unanswered requests to a session that just became available.
pub async fn resend_pending(
    core: &mut Core,
    sid: &str,
    user: &BareJid,
) -> Result<(), StorageError> {
    let (_, items) = core.storage.roster(user).await?;
    let me = user.to_string();
    for item in items.iter().filter(|i| i.pending_in) {
        core.to_session(
            sid,
            stanza::presence("subscribe", &item.jid.to_string(), &me),
        );
    }
    Ok(())
}
