//! RFC 6121 §3 subscriptions: outbound requests and answers from the user's sessions, inbound
//! ones from contacts, each applied to the roster by the appendix A tables
//! ([`crate::subscription`]), with roster pushes and the presence RFC 6121 asks for.

use jid::BareJid;
use minidom::Element;
use storage::{RosterItem, StorageError, Subscription};

use crate::chain::{pass, Flow, Module, Step};
use crate::core::Core;
use crate::modules::presence;
use crate::modules::roster::{current, is_full, save, with_state};
use crate::stanza::{self, Kind};
use crate::subscription::{self, Action, State};

pub struct Subscriptions;

fn action_of(st: &Element) -> Option<Action> {
    if stanza::kind(st) != Some(Kind::Presence) {
        return None;
    }
    Action::from_type(stanza::typ(st))
}

/// Whether a contact in `state` belongs in the roster: someone the user only has a request from
/// gets no item until the user subscribes or approves (§3.1.3).
fn listed(state: State) -> bool {
    state.ask_out || state.subscription != Subscription::None
}

/// Moves the user's relation with `contact` to `new`: the roster item (pushed when its visible
/// part changed), or for someone not in the roster only the kept request.
async fn update(
    core: &mut Core,
    user: &BareJid,
    contact: &BareJid,
    existing: Option<RosterItem>,
    new: State,
) -> Result<(), StorageError> {
    if existing.is_none() && !listed(new) {
        if !new.pending_in {
            core.storage
                .drop_subscription_request(user, contact)
                .await?;
        }
        return Ok(());
    }
    let item = with_state(existing.as_ref(), contact, new);
    save(core, user, existing.as_ref(), item).await
}

/// The user's sessions told of an answer or a cancellation: every interested one (§3.1.6,
/// §3.2.3, §3.3.3), and every available one, which sees the contact's presence change with it.
fn told(core: &Core, user: &BareJid) -> Vec<String> {
    core.sessions
        .sessions_of(user)
        .into_iter()
        .filter(|s| s.interested || s.available)
        .map(|s| s.id.clone())
        .collect()
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
    let (existing, before) = current(core, user, contact).await?;
    let out = subscription::outbound(before, action);
    if out.new != before {
        if existing.is_none() && listed(out.new) && is_full(core, user).await? {
            core.bounce(st, "not-acceptable");
            return Ok(());
        }
        update(core, user, contact, existing, out.new).await?;
    }
    if !out.route {
        return Ok(());
    }
    // §3.1.2: subscription stanzas carry the user's bare JID and the contact's bare JID.
    stanza::strip_sc(&mut st);
    stanza::set_attr(&mut st, "from", user.to_string());
    stanza::set_attr(&mut st, "to", contact.to_string());
    let contact_s = contact.to_string();
    if action == Action::Unsubscribed && before.has_from() {
        // §3.2.2: while still subscribed, the contact sees the user's resources go offline.
        presence::unavailable_to(core, user, &contact_s).await;
    }
    core.deliver(st);
    if action == Action::Subscribed {
        // §3.1.5: after approving, the contact gets the user's current presence.
        presence::current_to(core, user, &contact_s).await;
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
    let (existing, before) = current(core, user, contact).await?;
    let result = subscription::inbound(before, action);
    let me = user.to_string();
    let them = contact.to_string();
    if result.auto_subscribed {
        core.deliver(stanza::presence("subscribed", &me, &them));
        return Ok(());
    }
    stanza::strip_sc(&mut st);
    stanza::set_attr(&mut st, "from", them.clone());
    stanza::set_attr(&mut st, "to", me);
    if result.deliver && action != Action::Subscribe {
        // The stanza goes before the roster push it causes.
        for sid in told(core, user) {
            core.to_session(&sid, st.clone());
        }
    }
    if result.new != before {
        update(core, user, contact, existing, result.new).await?;
    }
    if action == Action::Subscribe && result.deliver {
        // §3.1.3: the complete request is kept and sent to every session that becomes
        // available until the user answers; the available ones get it now.
        let kept = stanza::to_text(&st);
        core.storage
            .keep_subscription_request(user, contact, kept)
            .await?;
        for sid in core.available_of(user) {
            core.to_session(&sid, st.clone());
        }
    }
    if action == Action::Unsubscribe && before.has_from() {
        // §3.3.3: the former subscriber sees the user go offline.
        presence::unavailable_to(core, user, &them).await;
    }
    Ok(())
}

/// §3.1.3: sends the user's unanswered requests to a session that just became available.
pub async fn resend_pending(
    core: &mut Core,
    sid: &str,
    user: &BareJid,
) -> Result<(), StorageError> {
    for (contact, kept) in core.storage.subscription_requests(user).await? {
        match kept.parse::<Element>() {
            Ok(request) => core.to_session(sid, request),
            Err(e) => tracing::error!(%user, %contact, "unreadable subscription request: {e}"),
        }
    }
    Ok(())
}
