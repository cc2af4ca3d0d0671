//! Where privacy lists (XEP-0016) and the blocklist (XEP-0191) stop stanzas, one judgement
//! ([`Gate`]) for both:
//! - `in-sess`: a stanza a client sends to someone else is judged by the session's list
//!   (active, else default); refused, it comes back `not-acceptable`, with XEP-0191's
//!   `<blocked/>` when a blocklist item refused it (XEP-0016 §2.12, XEP-0191 §3.3);
//! - `pkt-user`, first in the chain (rule 4: before any other delivery rule): a stanza for the
//!   user is judged by the list of each session the RFC 6121 rules would hand it to (the
//!   session its full JID names; otherwise the available sessions for presence and the most
//!   available ones for a message), and by the default list when no session would take it
//!   (server-handled IQs, subscriptions, probes, offline storage). Refused: a message or an IQ
//!   get/set comes back `service-unavailable`, anything else is dropped unanswered (§2.12,
//!   XEP-0191 §3.3). When some sessions' lists refuse what others allow, the others get their
//!   copy at their full JID.
//!
//! What the server sends on the user's behalf is judged where it is sent ([`Gate::send`]).

use jid::{BareJid, Jid};
use minidom::Element;
use storage::StorageError;
use xml_stream::ns;

use crate::chain::{pass, Flow, Module, Step};
use crate::core::Core;
use crate::delivery::{self, Resource, Target};
use crate::modules::privacy_gate::Gate;
use crate::privacy::rules::{exempt, Traffic, Verdict};
use crate::privacy::BLOCKING_ERRORS_NS;
use crate::stanza::{self, Kind};

pub struct PrivacyEnforce;

impl Module for PrivacyEnforce {
    fn name(&self) -> &'static str {
        "privacy-enforce"
    }

    fn in_sess<'a>(&'a self, core: &'a mut Core, sid: &'a str, st: Element) -> Step<'a> {
        let Some(user) = core.sessions.get(sid).map(|s| s.bare()) else {
            return pass(st);
        };
        let to = match stanza::to(&st) {
            Ok(Some(to)) if !exempt(&user, &to) => to,
            _ => return pass(st),
        };
        Box::pin(async move {
            let verdict = match Gate::of(core, &user, Some(sid)).await {
                Ok(gate) => gate.judge(core, &to, Traffic::outbound(&st)).await,
                Err(e) => Err(e),
            };
            match verdict {
                Ok(Verdict::Allow) => return Flow::Pass(st),
                Ok(verdict) => refuse_outbound(core, sid, st, verdict == Verdict::Block),
                Err(e) => {
                    tracing::error!(%user, "privacy lists: {e}");
                    core.bounce(st, "internal-server-error");
                }
            }
            Flow::Done
        })
    }

    fn pkt_user<'a>(&'a self, core: &'a mut Core, user: &'a BareJid, st: Element) -> Step<'a> {
        let from = match stanza::from(&st) {
            Ok(Some(from)) if !exempt(user, &from) => from,
            _ => return pass(st),
        };
        Box::pin(async move {
            let traffic = Traffic::inbound(&st);
            let targets = targets(core, user, &st, traffic);
            match judge_inbound(core, user, &from, &targets, traffic).await {
                Err(e) => {
                    tracing::error!(%user, "privacy lists: {e}");
                    core.bounce(st, "internal-server-error");
                }
                Ok(Judged { refused: false, .. }) => return Flow::Pass(st),
                Ok(Judged { allowed, .. }) if allowed.is_empty() => refuse_inbound(core, st),
                // Some sessions refuse it: the others get it at their own address.
                Ok(Judged { allowed, .. }) => {
                    for jid in allowed {
                        core.deliver(stanza::readdressed(&st, &jid));
                    }
                }
            }
            Flow::Done
        })
    }
}

/// §2.12 / XEP-0191 §3.3: the sending session learns its stanza was not sent. The error goes
/// straight to the session: through the user's inbound path the list would stop it too.
fn refuse_outbound(core: &mut Core, sid: &str, mut st: Element, blocked: bool) {
    stanza::strip_sc(&mut st);
    let Some(mut reply) = component::route_error::stanza_error(st, "not-acceptable") else {
        return;
    };
    if let Some(error) = reply.get_child_mut("error", ns::CLIENT) {
        // As both XEPs' examples have it.
        stanza::set_attr(error, "type", "cancel");
        if blocked {
            error.append_child(Element::bare("blocked", BLOCKING_ERRORS_NS));
        }
    }
    core.to_session(sid, reply);
}

/// §2.12 / XEP-0191 §3.3: what a refused stanza for the user gets.
fn refuse_inbound(core: &mut Core, st: Element) {
    match (stanza::kind(&st), stanza::typ(&st)) {
        (Some(Kind::Message), _) | (Some(Kind::Iq), "get" | "set") => {
            core.bounce(st, "service-unavailable")
        }
        _ => {}
    }
}

/// What the lists of the target sessions (or the default list) made of a stanza.
struct Judged {
    /// The full JIDs of the target sessions whose lists allow it.
    allowed: Vec<String>,
    /// Whether a list refused it.
    refused: bool,
}

/// Judges `traffic` from `from` by the list of each target session, or by the default list
/// when there are none.
async fn judge_inbound(
    core: &mut Core,
    user: &BareJid,
    from: &Jid,
    targets: &[String],
    traffic: Traffic,
) -> Result<Judged, StorageError> {
    let mut judged = Judged {
        allowed: Vec::new(),
        refused: false,
    };
    let sids = targets.iter().map(|s| Some(s.as_str()));
    for sid in sids.chain(targets.is_empty().then_some(None)) {
        let gate = Gate::of(core, user, sid).await?;
        if gate.judge(core, from, traffic).await? != Verdict::Allow {
            judged.refused = true;
        } else if let Some(session) = sid.and_then(|s| core.sessions.get(s)) {
            judged.allowed.push(session.jid.to_string());
        }
    }
    Ok(judged)
}

/// The sessions the RFC 6121 rules hand `st` to; none when the server handles it for the
/// account, or nobody would get it.
fn targets(core: &Core, user: &BareJid, st: &Element, traffic: Traffic) -> Vec<String> {
    let sessions = core.sessions.sessions_of(user);
    if let Ok(Some(to)) = stanza::to(st) {
        if let Some(exact) = sessions.iter().find(|s| to.try_as_full() == Ok(&s.jid)) {
            return vec![exact.id.clone()];
        }
    }
    match traffic {
        Traffic::PresenceIn => sessions
            .iter()
            .filter(|s| s.available)
            .map(|s| s.id.clone())
            .collect(),
        Traffic::Message => {
            let resources: Vec<Resource> = sessions.iter().map(|s| s.resource()).collect();
            let target = match stanza::to(st) {
                Ok(Some(to)) if to.is_full() => {
                    delivery::message_to_full(&resources, None, stanza::typ(st))
                }
                _ => delivery::message_to_bare(&resources, stanza::typ(st)),
            };
            match target {
                Target::Resources(indices) => indices
                    .into_iter()
                    .filter_map(|i| sessions.get(i).map(|s| s.id.clone()))
                    .collect(),
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}
