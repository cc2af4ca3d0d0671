//! XEP-0160 offline messages: `normal`/`chat` messages for a user with no resource to take them
//! are stored with a XEP-0203 delay stamp (up to the per-user quota) and sent when a session
//! next becomes available with a non-negative priority.

use jid::BareJid;
use minidom::Element;
use storage::StorageError;

use crate::chain::{pass, Flow, Module, Step};
use crate::core::Core;
use crate::stanza::{self, Kind};
use crate::time;

pub const DELAY: &str = "urn:xmpp:delay";

pub struct Offline;

impl Module for Offline {
    fn name(&self) -> &'static str {
        "offline"
    }

    /// XEP-0160 §4 `msgoffline`; stored messages carry XEP-0203 delay stamps.
    fn server_features(&self) -> &'static [&'static str] {
        &["msgoffline", DELAY]
    }

    fn pkt_user<'a>(&'a self, core: &'a mut Core, user: &'a BareJid, st: Element) -> Step<'a> {
        if stanza::kind(&st) != Some(Kind::Message) {
            return pass(st);
        }
        Box::pin(async move {
            if !matches!(stanza::typ(&st), "" | "normal" | "chat") {
                return Flow::Done;
            }
            let mut stored = st.clone();
            stanza::strip_sc(&mut stored);
            let mut delay = Element::bare("delay", DELAY);
            stanza::set_attr(&mut delay, "from", user.domain().as_str());
            stanza::set_attr(&mut delay, "stamp", time::now_stamp());
            stored.append_child(delay);
            let xml = stanza::to_text(&stored);
            let quota = core.limits.offline_quota;
            match core.storage.store_offline(user, xml, quota).await {
                Ok(true) => tracing::debug!(%user, "message stored offline"),
                // Over quota: the sender learns the message was not delivered.
                Ok(false) => core.bounce(st, "service-unavailable"),
                Err(e) => {
                    tracing::error!(%user, "offline store: {e}");
                    core.bounce(st, "internal-server-error");
                }
            }
            Flow::Done
        })
    }
}

/// Sends (and deletes) everything stored for `user` to session `sid`, oldest first.
pub async fn flush(core: &mut Core, sid: &str, user: &BareJid) -> Result<(), StorageError> {
    let stored = core.storage.take_offline(user).await?;
    for xml in stored {
        match xml.parse::<Element>() {
            Ok(st) => core.to_session(sid, st),
            Err(e) => tracing::error!(%user, "unreadable offline message dropped: {e}"),
        }
    }
    Ok(())
}
