//! Announcements and the message of the day (jabberd2's mod_announce). Messages from an admin
//! (`[acl] admins` in sm.toml) to a hosted domain's resources:
//! - `announce/online`: sent at once to every available session of that domain;
//! - `announce/motd`: becomes the domain's message of the day (stored), sent at once to every
//!   available session, and to everyone else at their next login (their first available
//!   presence), once per message;
//! - `announce/motd/update`: replaces the text of the message of the day without sending it;
//!   those who were sent it are not sent it again (with none set, it sets one, unsent);
//! - `announce/motd/delete`: removes the message of the day.
//!
//! What is sent is the admin's message, children (body, subject…) and type kept, from the domain.
//! Anyone not an admin gets `forbidden`.

use std::collections::{BTreeSet, HashSet};

use jid::BareJid;
use minidom::Element;
use serde::Deserialize;

use crate::chain::{pass, Flow, Module, Step};
use crate::core::Core;
use crate::modules::service::stored;
use crate::stanza::{self, Kind};

/// The `[acl]` table of sm.toml.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AclSettings {
    /// Bare JIDs that may send announcements and set the message of the day (jabberd2's
    /// `broadcast` ACL).
    pub admins: Vec<String>,
}

impl AclSettings {
    /// The first entry that is not a JID: (key, problem).
    pub fn problem(&self) -> Option<(String, &'static str)> {
        self.admins.iter().enumerate().find_map(|(i, admin)| {
            BareJid::new(admin)
                .is_err()
                .then(|| (format!("acl.admins[{i}]"), "not a valid bare JID"))
        })
    }
}

pub struct Announce {
    admins: HashSet<BareJid>,
}

impl Announce {
    pub fn new(acl: &AclSettings) -> Announce {
        Announce {
            admins: acl
                .admins
                .iter()
                .filter_map(|a| BareJid::new(a).ok())
                .collect(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Online,
    Motd,
    Update,
    Delete,
}

fn action(resource: &str) -> Option<Action> {
    match resource {
        "announce/online" => Some(Action::Online),
        "announce/motd" => Some(Action::Motd),
        "announce/motd/update" => Some(Action::Update),
        "announce/motd/delete" => Some(Action::Delete),
        _ => None,
    }
}

/// What goes out: the admin's message from the domain, without its address and id.
fn outgoing(st: &Element, domain: &str) -> Element {
    let mut msg = st.clone();
    stanza::remove_attr(&mut msg, "to");
    stanza::remove_attr(&mut msg, "id");
    stanza::set_attr(&mut msg, "from", domain);
    msg
}

/// (session id, user) of every available session of `domain`.
fn available_sessions(core: &Core, domain: &str) -> Vec<(String, BareJid)> {
    core.sessions
        .ids()
        .into_iter()
        .filter_map(|sid| {
            let s = core.sessions.get(&sid)?;
            (s.available && s.jid.domain().as_str() == domain).then(|| (sid, s.bare()))
        })
        .collect()
}

/// Sends `msg` to each of `sessions`, addressed to the session's full JID.
fn send_to(core: &Core, sessions: &[(String, BareJid)], msg: &Element) {
    for (sid, _) in sessions {
        // to_session addresses it to the session's JID when `to` is missing.
        core.to_session(sid, msg.clone());
    }
}

async fn announce(core: &mut Core, action: Action, domain: String, st: Element) {
    let msg = outgoing(&st, &domain);
    let result = match action {
        Action::Online => {
            send_to(core, &available_sessions(core, &domain), &msg);
            Ok(())
        }
        Action::Motd => match core.storage.set_motd(&domain, stanza::to_text(&msg)).await {
            Ok(set_at) => {
                let sessions = available_sessions(core, &domain);
                send_to(core, &sessions, &msg);
                let users: BTreeSet<_> = sessions.into_iter().map(|(_, u)| u).collect();
                for user in users {
                    if let Err(e) = core.storage.set_motd_seen(&user, set_at).await {
                        tracing::warn!(%user, "announce: recording the motd sent: {e}");
                    }
                }
                Ok(())
            }
            Err(e) => Err(e),
        },
        Action::Update => {
            let text = stanza::to_text(&msg);
            match core.storage.update_motd(&domain, text.clone()).await {
                Ok(true) => Ok(()),
                Ok(false) => core.storage.set_motd(&domain, text).await.map(|_| ()),
                Err(e) => Err(e),
            }
        }
        Action::Delete => core.storage.delete_motd(&domain).await.map(|_| ()),
    };
    if let Err(e) = result {
        tracing::error!(%domain, "announce: {e}");
        core.bounce(st, "internal-server-error");
    }
}

/// At a user's first available presence in session `sid`: the message of the day, if they
/// were not sent it yet.
async fn motd_at_login(core: &mut Core, sid: &str, user: BareJid) {
    let domain = user.domain().as_str().to_owned();
    let sent = async {
        let Some(motd) = core.storage.motd(&domain).await? else {
            return Ok(());
        };
        if core
            .storage
            .motd_seen(&user)
            .await?
            .is_some_and(|seen| seen >= motd.set_at)
        {
            return Ok(());
        }
        core.to_session(sid, stored(&motd.message)?);
        core.storage.set_motd_seen(&user, motd.set_at).await
    };
    if let Err(e) = sent.await {
        tracing::error!(%user, "announce: message of the day: {e}");
    }
}

impl Module for Announce {
    fn name(&self) -> &'static str {
        "announce"
    }

    fn in_sess<'a>(&'a self, core: &'a mut Core, sid: &'a str, st: Element) -> Step<'a> {
        let first_available = stanza::kind(&st) == Some(Kind::Presence)
            && stanza::typ(&st).is_empty()
            && st.attr("to").is_none();
        let Some(session) = core
            .sessions
            .get(sid)
            .filter(|s| first_available && !s.available)
        else {
            return pass(st);
        };
        let user = session.bare();
        Box::pin(async move {
            motd_at_login(core, sid, user).await;
            Flow::Pass(st)
        })
    }

    fn pkt_sm<'a>(&'a self, core: &'a mut Core, st: Element) -> Step<'a> {
        if stanza::kind(&st) != Some(Kind::Message) || stanza::typ(&st) == "error" {
            return pass(st);
        }
        let Ok(Some(to)) = stanza::to(&st) else {
            return pass(st);
        };
        let Some(action) = to.resource().and_then(|r| action(r.as_str())) else {
            return pass(st);
        };
        let admin =
            matches!(stanza::from(&st), Ok(Some(from)) if self.admins.contains(&from.to_bare()));
        if !admin {
            core.bounce(st, "forbidden");
            return Box::pin(std::future::ready(Flow::Done));
        }
        let domain = to.domain().as_str().to_owned();
        Box::pin(async move {
            announce(core, action, domain, st).await;
            Flow::Done
        })
    }
}
