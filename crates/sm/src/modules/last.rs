//! XEP-0012 last activity. At a hosted domain: the sm's uptime (§5). At a user's bare JID, only
//! for the user and contacts who may see the user's presence (anyone else: `forbidden`, §3): 0
//! while the user has an available resource, else the seconds since the last logout with the
//! status of the last unavailable presence (§3). To a full JID, the query goes to the resource,
//! but only from those same entities (§4). Every session end records the logout.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Instant, SystemTime};

use jid::BareJid;
use minidom::Element;
use storage::{LastLogout, StorageError};

use crate::chain::{done, pass, Flow, Module, Step, Unit};
use crate::core::Core;
use crate::modules::service::{get_payload, may_see_presence, reply, to_bare};
use crate::session::Session;
use crate::stanza::{self, Kind};

pub const NS: &str = "jabber:iq:last";

pub struct Last {
    started: Instant,
    /// The `<status/>` of each session's last unavailable broadcast, kept until it ends.
    statuses: RefCell<HashMap<String, String>>,
}

impl Default for Last {
    fn default() -> Self {
        Last {
            started: Instant::now(),
            statuses: RefCell::default(),
        }
    }
}

fn query(seconds: u64, status: &str) -> Element {
    let mut query = Element::bare("query", NS);
    stanza::set_attr(&mut query, "seconds", seconds.to_string());
    if !status.is_empty() {
        query.append_text_node(status);
    }
    query
}

/// §3: what to answer about `user` to an entity allowed to know.
async fn account_answer(core: &Core, user: &BareJid) -> Result<Option<Element>, StorageError> {
    if !core.available_of(user).is_empty() {
        return Ok(Some(query(0, "")));
    }
    let Some(logout) = core.storage.last_logout(user).await? else {
        return Ok(None);
    };
    let seconds = SystemTime::now()
        .duration_since(logout.at)
        .map_or(0, |d| d.as_secs());
    Ok(Some(query(seconds, &logout.status)))
}

/// A query to `user`'s bare or full JID.
async fn for_user(core: &mut Core, user: &BareJid, st: Element) -> Flow {
    let allowed = match may_see_presence(core, user, &st).await {
        Ok(allowed) => allowed,
        Err(e) => {
            tracing::error!(%user, "last activity: roster lookup: {e}");
            core.bounce(st, "internal-server-error");
            return Flow::Done;
        }
    };
    if !allowed {
        core.bounce(st, "forbidden");
        return Flow::Done;
    }
    if !to_bare(&st) {
        // §4: a full JID's idle time is the resource's to tell.
        return Flow::Pass(st);
    }
    match account_answer(core, user).await {
        Ok(Some(query)) => reply(core, &st, Some(query)),
        // Never logged out: there is no last activity to tell.
        Ok(None) => core.bounce(st, "service-unavailable"),
        Err(e) => {
            tracing::error!(%user, "last activity: {e}");
            core.bounce(st, "internal-server-error");
        }
    }
    Flow::Done
}

impl Module for Last {
    fn name(&self) -> &'static str {
        "last"
    }

    fn server_features(&self) -> &'static [&'static str] {
        &[NS]
    }

    fn account_features(&self) -> &'static [&'static str] {
        &[NS]
    }

    fn in_sess<'a>(&'a self, _core: &'a mut Core, sid: &'a str, st: Element) -> Step<'a> {
        let broadcast_unavailable = stanza::kind(&st) == Some(Kind::Presence)
            && stanza::typ(&st) == "unavailable"
            && st.attr("to").is_none();
        if broadcast_unavailable {
            let status = st
                .get_child("status", xml_stream::ns::CLIENT)
                .map(|s| s.text())
                .unwrap_or_default();
            self.statuses.borrow_mut().insert(sid.to_owned(), status);
        }
        pass(st)
    }

    fn pkt_sm<'a>(&'a self, core: &'a mut Core, st: Element) -> Step<'a> {
        if get_payload(&st, "query", NS).is_none() {
            return pass(st);
        }
        reply(core, &st, Some(query(self.started.elapsed().as_secs(), "")));
        done()
    }

    fn pkt_user<'a>(&'a self, core: &'a mut Core, user: &'a BareJid, st: Element) -> Step<'a> {
        if get_payload(&st, "query", NS).is_none() {
            return pass(st);
        }
        Box::pin(for_user(core, user, st))
    }

    fn sess_end<'a>(&'a self, core: &'a mut Core, session: &'a Session) -> Unit<'a> {
        let status = self
            .statuses
            .borrow_mut()
            .remove(&session.id)
            .unwrap_or_default();
        Box::pin(async move {
            let user = session.bare();
            let logout = LastLogout {
                at: SystemTime::now(),
                status,
            };
            if let Err(e) = core.storage.set_last_logout(&user, logout).await {
                tracing::error!(%user, "last activity: recording the logout: {e}");
            }
        })
    }
}
