//! RFC 6121 §4 presence: broadcasts from a session (initial, subsequent, unavailable), probes
//! on login and their answers, directed presence, and presence arriving for a user.
//!
//! Only contacts the roster allows see anything: broadcasts go to `from`/`both` contacts,
//! probes to `to`/`both` contacts, and probes are only answered for `from`/`both` contacts.
//! What goes to contacts on a resource's behalf passes its privacy list (XEP-0016 presence-out,
//! XEP-0191 blocking) through a [`Gate`].

use jid::BareJid;
use minidom::Element;
use storage::StorageError;

use crate::chain::{pass, Flow, Module, Step, Unit};
use crate::core::Core;
use crate::modules::privacy_gate::Gate;
use crate::modules::{offline, subscriptions};
use crate::session::Session;
use crate::stanza::{self, Kind};
use crate::subscription::Action;

pub struct Presence;

/// The user's current presence from each available resource, sent to `to`.
pub async fn current_to(core: &mut Core, user: &BareJid, to: &str) {
    for session in core.sessions_of(user).into_iter().filter(|s| s.available) {
        if let Some(p) = &session.presence {
            let gate = Gate::for_sending(core, user, Some(&session.id)).await;
            gate.send(core, stanza::readdressed(p, to)).await;
        }
    }
}

/// Unavailable presence from each of the user's available resources, sent to `to`.
pub async fn unavailable_to(core: &mut Core, user: &BareJid, to: &str) {
    for session in core.sessions_of(user).into_iter().filter(|s| s.available) {
        let gate = Gate::for_sending(core, user, Some(&session.id)).await;
        let goodbye = stanza::presence("unavailable", &session.jid.to_string(), to);
        gate.send(core, goodbye).await;
    }
}

fn is_presence(st: &Element) -> bool {
    stanza::kind(st) == Some(Kind::Presence) && Action::from_type(stanza::typ(st)).is_none()
}

impl Module for Presence {
    fn name(&self) -> &'static str {
        "presence"
    }

    fn in_sess<'a>(&'a self, core: &'a mut Core, sid: &'a str, st: Element) -> Step<'a> {
        if !is_presence(&st) {
            return pass(st);
        }
        Box::pin(async move {
            if st.attr("to").is_some() {
                return directed(core, sid, st).await;
            }
            let result = match stanza::typ(&st) {
                "" => available(core, sid, st).await,
                "unavailable" => {
                    unavailable(core, sid, st).await;
                    Ok(())
                }
                // probe/error without an address mean nothing.
                _ => Ok(()),
            };
            if let Err(e) = result {
                tracing::error!(%sid, "presence: {e}");
            }
            Flow::Done
        })
    }

    fn pkt_user<'a>(&'a self, core: &'a mut Core, user: &'a BareJid, st: Element) -> Step<'a> {
        if !is_presence(&st) {
            return pass(st);
        }
        Box::pin(async move {
            if stanza::typ(&st) == "probe" {
                if let Err(e) = probe(core, user, st).await {
                    tracing::error!(%user, "probe: {e}");
                }
            } else {
                incoming(core, user, st);
            }
            Flow::Done
        })
    }

    fn sess_end<'a>(&'a self, _core: &'a mut Core, session: &'a Session) -> Unit<'a> {
        tracing::debug!(jid = %session.jid, "session ended");
        Box::pin(std::future::ready(()))
    }
}

/// §4.2 / §4.4: an available broadcast.
async fn available(core: &mut Core, sid: &str, mut st: Element) -> Result<(), StorageError> {
    let Some(session) = core.sessions.get(sid) else {
        return Ok(());
    };
    let user = session.bare();
    let full = session.jid.to_string();
    let initial = !session.available;
    let was_negative = session.priority < 0;
    let priority = stanza::priority(&st);
    stanza::strip_sc(&mut st);
    stanza::set_attr(&mut st, "from", full.clone());
    if let Some(session) = core.sessions.get_mut(sid) {
        session.available = true;
        session.priority = priority;
        session.presence = Some(st.clone());
    }
    let (_, items) = core.storage.roster(&user).await?;
    let gate = Gate::for_sending(core, &user, Some(sid)).await;
    for item in items.iter().filter(|i| {
        matches!(
            i.subscription,
            storage::Subscription::From | storage::Subscription::Both
        )
    }) {
        gate.send_to_contact(core, stanza::readdressed(&st, &item.jid.to_string()), item);
    }
    // §4.2.2: every available resource of the user, the sender included.
    for other in core.sessions_of(&user) {
        if other.available {
            core.to_session(&other.id, stanza::readdressed(&st, &other.jid.to_string()));
        }
    }
    if initial {
        // The new resource learns about the user's other resources…
        for other in core.sessions_of(&user) {
            if other.id != sid && other.available {
                if let Some(p) = &other.presence {
                    core.to_session(sid, stanza::readdressed(p, &full));
                }
            }
        }
        // …and probes the contacts it is subscribed to (§4.3.1).
        let me = user.to_string();
        for item in items.iter().filter(|i| {
            matches!(
                i.subscription,
                storage::Subscription::To | storage::Subscription::Both
            )
        }) {
            let probe = stanza::presence("probe", &me, &item.jid.to_string());
            gate.send_to_contact(core, probe, item);
        }
        subscriptions::resend_pending(core, sid, &user).await?;
    }
    // XEP-0160: stored messages go out once the session can receive bare-JID messages.
    if priority >= 0 && (initial || was_negative) {
        offline::flush(core, sid, &user).await?;
    }
    Ok(())
}

/// §4.5: unavailable broadcast, to everyone who could see the session.
pub async fn unavailable(core: &mut Core, sid: &str, mut st: Element) {
    let Some(session) = core.sessions.get(sid).cloned() else {
        return;
    };
    let user = session.bare();
    stanza::strip_sc(&mut st);
    stanza::set_attr(&mut st, "from", session.jid.to_string());
    let gate = Gate::for_sending(core, &user, Some(sid)).await;
    if session.available {
        match core.storage.roster(&user).await {
            Ok((_, items)) => {
                for item in items.iter().filter(|i| {
                    matches!(
                        i.subscription,
                        storage::Subscription::From | storage::Subscription::Both
                    )
                }) {
                    gate.send_to_contact(
                        core,
                        stanza::readdressed(&st, &item.jid.to_string()),
                        item,
                    );
                }
            }
            Err(e) => tracing::error!(%user, "presence: roster: {e}"),
        }
        for other in core.sessions_of(&user) {
            if other.available {
                core.to_session(&other.id, stanza::readdressed(&st, &other.jid.to_string()));
            }
        }
    }
    for to in &session.directed {
        gate.send(core, stanza::readdressed(&st, to)).await;
    }
    if let Some(session) = core.sessions.get_mut(sid) {
        session.available = false;
        session.presence = None;
        session.directed.clear();
    }
}

/// §4.6: directed presence, remembered so that the recipient hears when the session ends.
async fn directed(core: &mut Core, sid: &str, mut st: Element) -> Flow {
    let Some(session) = core.sessions.get(sid) else {
        return Flow::Done;
    };
    let user = session.bare();
    let Ok(Some(to)) = stanza::to(&st) else {
        core.bounce(st, "jid-malformed");
        return Flow::Done;
    };
    let target = to.to_string();
    match stanza::typ(&st) {
        "" => {
            // Subscribers get the unavailable broadcast anyway; track only the others.
            let subscriber = match core.storage.roster_item(&user, &to.to_bare()).await {
                Ok(item) => item.is_some_and(|i| {
                    matches!(
                        i.subscription,
                        storage::Subscription::From | storage::Subscription::Both
                    )
                }),
                Err(_) => false,
            };
            if !subscriber && to.to_bare() != user {
                if let Some(session) = core.sessions.get_mut(sid) {
                    session.directed.insert(target);
                }
            }
        }
        "unavailable" => {
            if let Some(session) = core.sessions.get_mut(sid) {
                session.directed.remove(&target);
            }
        }
        _ => {}
    }
    stanza::strip_sc(&mut st);
    Flow::Pass(st)
}

/// §4.3.2: a contact probes the user.
async fn probe(core: &mut Core, user: &BareJid, st: Element) -> Result<(), StorageError> {
    let Ok(Some(from)) = stanza::from(&st) else {
        return Ok(());
    };
    let prober = from.to_string();
    let me = user.to_string();
    if from.to_bare() == *user {
        return Ok(());
    }
    let item = core.storage.roster_item(user, &from.to_bare()).await?;
    let Some(item) = item.filter(|i| {
        matches!(
            i.subscription,
            storage::Subscription::From | storage::Subscription::Both
        )
    }) else {
        core.deliver(stanza::presence(
            "unsubscribed",
            &me,
            &from.to_bare().to_string(),
        ));
        return Ok(());
    };
    // A probe to a full JID asks about that resource only.
    let only = match stanza::to(&st) {
        Ok(Some(to)) if to.is_full() => Some(to.to_string()),
        _ => None,
    };
    let presences: Vec<(String, Element)> = core
        .sessions
        .sessions_of(user)
        .into_iter()
        .filter(|s| s.available)
        .filter(|s| only.as_ref().is_none_or(|o| *o == s.jid.to_string()))
        .filter_map(|s| Some((s.id.clone(), s.presence.clone()?)))
        .collect();
    if presences.is_empty() {
        let gate = Gate::for_sending(core, user, None).await;
        gate.send_to_contact(core, stanza::presence("unavailable", &me, &prober), &item);
    }
    for (sid, p) in presences {
        let gate = Gate::for_sending(core, user, Some(&sid)).await;
        gate.send_to_contact(core, stanza::readdressed(&p, &prober), &item);
    }
    Ok(())
}

/// §8.5.2.1.1 / §8.5.3: available, unavailable or error presence for the user.
fn incoming(core: &mut Core, user: &BareJid, st: Element) {
    match stanza::to(&st) {
        Ok(Some(to)) if to.is_full() => {
            let target = core
                .sessions
                .sessions_of(user)
                .into_iter()
                .find(|s| s.jid.to_string() == to.to_string())
                .map(|s| s.id.clone());
            // No such resource: silently ignored (§8.5.3.2.1).
            if let Some(sid) = target {
                core.to_session(&sid, st);
            }
        }
        _ => {
            for sid in core.available_of(user) {
                core.to_session(&sid, st.clone());
            }
        }
    }
}
