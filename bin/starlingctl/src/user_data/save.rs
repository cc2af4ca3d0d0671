//! Storing a [`UserData`] without changing anything already stored: an item that is there
//! unchanged counts as already present, one that is there but differs is kept and reported, and
//! only what is missing is written. Importing the same data twice therefore writes nothing the
//! second time.

use sasl_server::ScramCredentials;
use storage::{Storage, StorageError};

use super::report::{Kind, Report};
use super::{Secret, UserData};
use crate::error::CtlError;
use crate::users::{credentials, db_error};

/// How an item of the source compares with what the store holds.
enum Decision {
    Write,
    Present,
    Differs,
    /// The store refused it, for this reason.
    Refused(&'static str),
}

fn decide<T: PartialEq>(stored: Option<T>, new: &T) -> Decision {
    match stored {
        None => Decision::Write,
        Some(stored) if stored == *new => Decision::Present,
        Some(_) => Decision::Differs,
    }
}

fn written(stored: bool) -> Decision {
    match stored {
        true => Decision::Write,
        false => Decision::Present,
    }
}

/// Counts what happens to one user's items in the report.
struct Recorder<'a> {
    report: &'a mut Report,
    user: String,
    domain: String,
}

impl Recorder<'_> {
    /// Counts `decision` for one item of `kind`, called `what` when it is not imported.
    fn record(&mut self, kind: Kind, decision: &Decision, what: &str) {
        let why = match decision {
            Decision::Write => return self.report.imported(&self.domain, kind),
            Decision::Present => return self.report.present(&self.domain, kind),
            Decision::Differs => "a different one is already stored, which was kept",
            Decision::Refused(why) => why,
        };
        let line = format!("{}: {what}: {why}", self.user);
        self.report.not_imported(&self.domain, kind, line);
    }

    /// The SCRAM records to create the account with; none (reported) when the source has no
    /// usable secret.
    fn credentials(&mut self, secret: Secret) -> Vec<ScramCredentials> {
        let derived = match secret {
            Secret::Password(password) => credentials(&password).map_err(|e| e.to_string()),
            Secret::Scram(records) if !records.is_empty() => Ok(records),
            Secret::Scram(_) => Err("the source has none".to_owned()),
            Secret::Missing(reason) => Err(reason),
        };
        match derived {
            Ok(records) => {
                self.report.imported(&self.domain, Kind::Credentials);
                records
            }
            Err(reason) => {
                self.report.not_imported(
                    &self.domain,
                    Kind::Credentials,
                    format_args!(
                        "{user}: credentials: {reason}; the account was created without any \
                         (set a password with `starlingctl passwd {user}`)",
                        user = self.user
                    ),
                );
                Vec::new()
            }
        }
    }
}

/// Stores whatever of `data` the store does not hold yet (see the module docs), creating the
/// account if needed. Fails only when the store does.
pub async fn save(store: &Storage, data: UserData, report: &mut Report) -> Result<(), CtlError> {
    let mut rec = Recorder {
        report,
        user: data.user.to_string(),
        domain: data.user.domain().as_str().to_owned(),
    };
    write(store, data, &mut rec).await.map_err(db_error)
}

async fn write(
    store: &Storage,
    data: UserData,
    rec: &mut Recorder<'_>,
) -> Result<(), StorageError> {
    let user = &data.user;
    if store.account_exists(user).await? {
        rec.record(Kind::Account, &Decision::Present, "account");
    } else {
        let credentials = rec.credentials(data.secret);
        let decision = match store.create_account(user, credentials).await {
            Ok(()) => Decision::Write,
            Err(StorageError::Conflict) => Decision::Present,
            Err(e) => return Err(e),
        };
        rec.record(Kind::Account, &decision, "account");
    }
    // Roster items before the requests: an item written without pending-in drops the request
    // kept from its contact.
    for item in data.roster {
        let decision = decide(store.roster_item(user, &item.jid).await?, &item);
        rec.record(
            Kind::RosterItem,
            &decision,
            &format!("roster item {}", item.jid),
        );
        if let Decision::Write = decision {
            store.set_roster_item(user, item).await?;
        }
    }
    for (contact, stanza) in data.requests {
        let kept = store
            .keep_subscription_request(user, &contact, stanza)
            .await?;
        rec.record(
            Kind::SubscriptionRequest,
            &written(kept),
            "subscription request",
        );
    }
    for (stanza, stored_at) in data.offline {
        let queued = store.import_offline(user, stanza, stored_at).await?;
        rec.record(Kind::OfflineMessage, &written(queued), "offline message");
    }
    if let Some(vcard) = data.vcard {
        let decision = decide(store.vcard(user).await?, &vcard);
        rec.record(Kind::Vcard, &decision, "vCard");
        if let Decision::Write = decision {
            store.set_vcard(user, vcard).await?;
        }
    }
    for (namespace, xml) in data.private {
        let decision = decide(store.private(user, &namespace).await?, &xml);
        rec.record(
            Kind::PrivateXml,
            &decision,
            &format!("private XML in {namespace}"),
        );
        if let Decision::Write = decision {
            // Moved data is not a client's request: no quota.
            store.set_private(user, &namespace, xml, usize::MAX).await?;
        }
    }
    if let Some(logout) = data.last_logout {
        let decision = decide(store.last_logout(user).await?, &logout);
        rec.record(Kind::LastLogout, &decision, "last logout time");
        if let Decision::Write = decision {
            store.set_last_logout(user, logout).await?;
        }
    }
    for list in data.privacy {
        let decision = decide(store.privacy_list(user, &list.name).await?, &list.items);
        rec.record(
            Kind::PrivacyList,
            &decision,
            &format!("privacy list {:?}", list.name),
        );
        if let Decision::Write = decision {
            store
                .set_privacy_list(user, &list.name, list.items, usize::MAX)
                .await?;
        }
    }
    if let Some(name) = data.default_privacy {
        let mut decision = decide(store.privacy_lists(user).await?.1, &name);
        if let Decision::Write = decision {
            if !store.set_default_privacy_list(user, Some(&name)).await? {
                decision = Decision::Refused("there is no list of that name");
            }
        }
        rec.record(
            Kind::PrivacyDefault,
            &decision,
            &format!("default privacy list {name:?}"),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use jid::BareJid;
    use storage::{
        LastLogout, PrivacyItem, PrivacyList, PrivacyMatch, PrivacyStanzas, RosterItem,
        Subscription,
    };

    use super::*;
    use crate::user_data::load;
    use crate::user_data::report::Counts;

    fn jid(s: &str) -> BareJid {
        BareJid::new(s).unwrap()
    }

    fn sample() -> UserData {
        let mut data = UserData::new(jid("alice@a.test"), Secret::Password("pw".into()));
        let mut bob = RosterItem::new(jid("bob@a.test"));
        bob.subscription = Subscription::Both;
        bob.groups = vec!["Friends".into()];
        data.roster = vec![bob, RosterItem::new(jid("carol@a.test"))];
        data.requests = vec![(jid("carol@a.test"), "<presence type='subscribe'/>".into())];
        data.mark_pending_in();
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        data.offline = vec![("<message/>".into(), at)];
        data.vcard = Some("<vCard xmlns='vcard-temp'/>".into());
        data.private = vec![("n".into(), "<query/>".into())];
        data.last_logout = Some(LastLogout {
            at,
            status: String::new(),
        });
        data.privacy = vec![PrivacyList {
            name: "l".into(),
            items: vec![PrivacyItem {
                order: 1,
                matches: PrivacyMatch::Everyone,
                allow: false,
                stanzas: PrivacyStanzas::default(),
            }],
        }];
        data.default_privacy = Some("l".into());
        data
    }

    fn imported(n: usize) -> Counts {
        Counts {
            imported: n,
            ..Counts::default()
        }
    }

    fn present(n: usize) -> Counts {
        Counts {
            present: n,
            ..Counts::default()
        }
    }

    #[tokio::test]
    async fn saves_once_then_reports_present() {
        let store = Storage::open_in_memory().await.unwrap();
        let mut first = Report::default();
        save(&store, sample(), &mut first).await.unwrap();
        for (kind, n) in [
            (Kind::Account, 1),
            (Kind::Credentials, 1),
            (Kind::RosterItem, 2),
            (Kind::SubscriptionRequest, 1),
            (Kind::OfflineMessage, 1),
            (Kind::Vcard, 1),
            (Kind::PrivateXml, 1),
            (Kind::LastLogout, 1),
            (Kind::PrivacyList, 1),
            (Kind::PrivacyDefault, 1),
        ] {
            assert_eq!(first.counts("a.test", kind), imported(n), "{kind:?}");
        }
        let version = store.roster(&jid("alice@a.test")).await.unwrap().0;

        let mut second = Report::default();
        save(&store, sample(), &mut second).await.unwrap();
        assert_eq!(
            second.counts("a.test", Kind::Credentials),
            Counts::default()
        );
        assert_eq!(second.counts("a.test", Kind::RosterItem), present(2));
        assert_eq!(second.counts("a.test", Kind::OfflineMessage), present(1));
        assert_eq!(second.counts("a.test", Kind::PrivacyDefault), present(1));
        assert_eq!(store.roster(&jid("alice@a.test")).await.unwrap().0, version);

        let loaded = load(&store, jid("alice@a.test")).await.unwrap();
        let expected = sample();
        assert_eq!(loaded.roster, expected.roster);
        assert!(loaded.roster[1].pending_in);
        assert_eq!(loaded.requests, expected.requests);
        assert_eq!(loaded.offline, expected.offline);
        assert_eq!(loaded.vcard, expected.vcard);
        assert_eq!(loaded.private, expected.private);
        assert_eq!(loaded.last_logout, expected.last_logout);
        assert_eq!(loaded.privacy, expected.privacy);
        assert_eq!(loaded.default_privacy, expected.default_privacy);
        assert!(matches!(loaded.secret, Secret::Scram(ref c) if c.len() == 3));
    }

    #[tokio::test]
    async fn differing_data_is_kept_and_reported() {
        let store = Storage::open_in_memory().await.unwrap();
        save(&store, sample(), &mut Report::default())
            .await
            .unwrap();
        let mut changed = sample();
        changed.secret = Secret::Missing("none".into());
        changed.vcard = Some("<vCard xmlns='vcard-temp'><FN>x</FN></vCard>".into());
        changed.default_privacy = Some("missing".into());
        let mut report = Report::default();
        save(&store, changed, &mut report).await.unwrap();
        assert_eq!(report.counts("a.test", Kind::Vcard).not_imported, 1);
        assert!(report
            .to_string()
            .contains("alice@a.test: vCard: a different one"));
        assert_eq!(
            report.counts("a.test", Kind::PrivacyDefault).not_imported,
            1
        );
        assert_eq!(
            store.vcard(&jid("alice@a.test")).await.unwrap(),
            sample().vcard
        );
    }

    #[tokio::test]
    async fn account_without_secret_is_created_locked() {
        let store = Storage::open_in_memory().await.unwrap();
        let data = UserData::new(jid("dave@a.test"), Secret::Missing("no password".into()));
        let mut report = Report::default();
        save(&store, data, &mut report).await.unwrap();
        assert!(store.account_exists(&jid("dave@a.test")).await.unwrap());
        assert_eq!(report.counts("a.test", Kind::Credentials).not_imported, 1);
        assert!(report
            .to_string()
            .contains("starlingctl passwd dave@a.test"));
    }
}
