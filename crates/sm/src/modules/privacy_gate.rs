//! The privacy list that applies to a session of a user, or to the account, and the judgement
//! of stanzas by it ([`crate::privacy::rules`]): XEP-0016 lists and XEP-0191's blocklist alike.
//! Sessions keep the lists they read (`privacy::state`) until a change makes them read again
//! ([`forget_lists`]). What the server sends on the user's behalf (presence broadcasts, probes
//! and their answers) goes through [`Gate::send`] or [`Gate::send_to_contact`]: only where the
//! list lets it, silently. Stanzas between the user's resources, and between the user and the
//! user's server, are never judged.

use std::rc::Rc;

use jid::{BareJid, Jid};
use minidom::Element;
use storage::{PrivacyList, RosterItem, StorageError};

use crate::core::Core;
use crate::privacy::rules::{self, exempt, Traffic, Verdict};
use crate::privacy::state::Lists;
use crate::stanza;

/// The privacy list that applies to one session of a user, or to the account as a whole.
pub struct Gate {
    user: BareJid,
    rules: Rules,
}

#[derive(PartialEq)]
enum Rules {
    None,
    List(Rc<PrivacyList>),
    /// Storage failed: nothing passes (privacy first).
    Unreadable,
}

impl Gate {
    /// The list that applies to session `sid` of `user` (its active list, else the default
    /// list), or with `None` (or a session that is gone) the account's default list.
    pub async fn of(
        core: &mut Core,
        user: &BareJid,
        sid: Option<&str>,
    ) -> Result<Gate, StorageError> {
        let list = match sid.filter(|s| core.sessions.get(s).is_some()) {
            Some(sid) => lists_of(core, sid).await?.applying().cloned(),
            None => default_list(core, user).await?,
        };
        Ok(Gate {
            user: user.clone(),
            rules: list.map_or(Rules::None, Rules::List),
        })
    }

    /// [`Gate::of`] for sending on the user's behalf: a storage failure is logged, and the gate
    /// then lets nothing through.
    pub async fn for_sending(core: &mut Core, user: &BareJid, sid: Option<&str>) -> Gate {
        Gate::of(core, user, sid).await.unwrap_or_else(|e| {
            tracing::error!(%user, "privacy lists: {e}");
            Gate {
                user: user.clone(),
                rules: Rules::Unreadable,
            }
        })
    }

    /// Whether both gates apply the same rules.
    pub fn same_rules(&self, other: &Gate) -> bool {
        self.rules == other.rules
    }

    /// Whether judging needs the other party's roster item (the list names groups or
    /// subscriptions).
    pub fn needs_roster(&self) -> bool {
        matches!(&self.rules, Rules::List(list) if rules::needs_roster(&list.items))
    }

    /// The verdict on `traffic` with `other`, whose roster item is `roster`.
    pub fn verdict(&self, other: &Jid, roster: Option<&RosterItem>, traffic: Traffic) -> Verdict {
        if exempt(&self.user, other) {
            return Verdict::Allow;
        }
        match &self.rules {
            Rules::None => Verdict::Allow,
            Rules::List(list) => rules::verdict(&list.items, other, roster, traffic),
            Rules::Unreadable => Verdict::Deny,
        }
    }

    /// [`Gate::verdict`], reading `other`'s roster item when the list needs it.
    pub async fn judge(
        &self,
        core: &Core,
        other: &Jid,
        traffic: Traffic,
    ) -> Result<Verdict, StorageError> {
        let roster = match self.needs_roster() && !exempt(&self.user, other) {
            true => {
                core.storage
                    .roster_item(&self.user, &other.to_bare())
                    .await?
            }
            false => None,
        };
        Ok(self.verdict(other, roster.as_ref(), traffic))
    }

    /// Sends `st`, which the server sends on the user's behalf to a roster contact whose item is
    /// `item`, unless the list keeps it from its recipient (then nobody hears of it).
    pub fn send_to_contact(&self, core: &mut Core, st: Element, item: &RosterItem) {
        let allowed = match stanza::to(&st) {
            Ok(Some(to)) => self.verdict(&to, Some(item), Traffic::outbound(&st)) == Verdict::Allow,
            _ => true,
        };
        if allowed {
            core.deliver(st);
        }
    }

    /// Like [`Gate::send_to_contact`], for a recipient whose roster item is not at hand.
    pub async fn send(&self, core: &mut Core, st: Element) {
        let Ok(Some(to)) = stanza::to(&st) else {
            return core.deliver(st);
        };
        match self.judge(core, &to, Traffic::outbound(&st)).await {
            Ok(Verdict::Allow) => core.deliver(st),
            Ok(_) => {}
            Err(e) => tracing::error!(user = %self.user, "privacy lists: {e}"),
        }
    }
}

/// The lists session `sid` applies, read from storage the first time after a change.
async fn lists_of(core: &mut Core, sid: &str) -> Result<Lists, StorageError> {
    let Some(session) = core.sessions.get(sid) else {
        return Ok(Lists::default());
    };
    if let Some(lists) = &session.privacy.lists {
        return Ok(lists.clone());
    }
    let user = session.bare();
    let active = session.privacy.active.clone();
    let default = core.storage.default_privacy_list(&user).await?.map(Rc::new);
    let active = match active {
        Some(name) => core
            .storage
            .privacy_list(&user, &name)
            .await?
            .map(|items| Rc::new(PrivacyList { name, items })),
        None => None,
    };
    let lists = Lists { default, active };
    if let Some(session) = core.sessions.get_mut(sid) {
        session.privacy.lists = Some(lists.clone());
    }
    Ok(lists)
}

/// The user's default list: as a session holds it, or from storage when the user has none.
pub async fn default_list(
    core: &mut Core,
    user: &BareJid,
) -> Result<Option<Rc<PrivacyList>>, StorageError> {
    match core.sessions.of_user(user).first() {
        Some(sid) => Ok(lists_of(core, sid).await?.default),
        None => Ok(core.storage.default_privacy_list(user).await?.map(Rc::new)),
    }
}

/// Makes every session of `user` read the lists again: they changed.
pub fn forget_lists(core: &mut Core, user: &BareJid) {
    for sid in core.sessions.of_user(user) {
        if let Some(session) = core.sessions.get_mut(&sid) {
            session.privacy.lists = None;
        }
    }
}
