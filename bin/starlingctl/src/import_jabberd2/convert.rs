//! One jabberd2 user (a `collection-owner`, and their `authreg` row if any) as [`UserData`],
//! reporting what cannot be imported.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jid::BareJid;
use storage::LastLogout;

use super::queue::{self, Queued};
use super::source::OwnerRows;
use super::{privacy, private, roster, vcard, PasswordType};
use crate::user_data::report::{Kind, Report};
use crate::user_data::{Secret, UserData};

/// What `authreg` says about a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authreg {
    /// Their row, with its password column.
    Row(Option<String>),
    /// No row: c2s authenticated them some other way (LDAP, PAM, another database).
    Absent,
}

/// The secret the account gets from its `authreg` entry.
fn secret(authreg: Authreg, passwords: PasswordType) -> Secret {
    match (authreg, passwords) {
        (Authreg::Absent, _) => Secret::Missing("no authreg row".to_owned()),
        (Authreg::Row(None), _) => Secret::Missing("no password in authreg".to_owned()),
        (Authreg::Row(Some(p)), _) if p.is_empty() => {
            Secret::Missing("an empty password in authreg".to_owned())
        }
        (Authreg::Row(Some(p)), PasswordType::Plaintext) => Secret::Password(p),
        (Authreg::Row(Some(_)), hashed) => Secret::Missing(format!(
            "authreg holds {} hashes, from which no SCRAM credentials can be derived",
            hashed.name()
        )),
    }
}

/// `owner` with `rows` as Starling data; `None` (reported) when the owner is not a user address.
pub fn user_data(
    owner: &str,
    authreg: Authreg,
    rows: OwnerRows,
    passwords: PasswordType,
    now: SystemTime,
    report: &mut Report,
) -> Option<UserData> {
    let user = match BareJid::new(owner) {
        Ok(user) if user.node().is_some() => user,
        _ => {
            let domain = owner.rsplit('@').next().unwrap_or(owner);
            report.not_imported(
                domain,
                Kind::Account,
                format_args!(
                    "{owner:?}: not a user address (user@domain): its data was not imported"
                ),
            );
            return None;
        }
    };
    let domain = user.domain().as_str().to_owned();
    let mut problem =
        |kind: Kind, why: String| report.not_imported(&domain, kind, format_args!("{user}: {why}"));
    let mut data = UserData::new(user.clone(), secret(authreg, passwords));

    let (items, skipped) = roster::items(&rows.roster_items, &rows.roster_groups);
    data.roster = items;
    for why in skipped {
        problem(Kind::RosterItem, why);
    }
    for (i, stored) in rows.queue.iter().enumerate() {
        match queue::convert(stored, &domain, now) {
            Queued::Message(xml, at) => data.offline.push((xml, at)),
            Queued::Request(from, xml) => {
                // Only the first request from a contact is kept (RFC 6121 §3.1.3).
                if !data.requests.iter().any(|(f, _)| *f == from) {
                    data.requests.push((from, xml));
                }
            }
            Queued::Skipped(why) => problem(
                Kind::OfflineMessage,
                format!("queued stanza {}: {why}", i + 1),
            ),
        }
    }
    data.mark_pending_in();
    data.vcard = vcard::build(&rows.vcard);
    for row in &rows.private {
        match private::convert(row) {
            Ok(entry) => data.private.push(entry),
            Err(why) => problem(Kind::PrivateXml, format!("private XML {why}")),
        }
    }
    data.last_logout = rows
        .logouts
        .iter()
        .copied()
        .filter_map(|t| u64::try_from(t).ok())
        .max()
        .map(|secs| LastLogout {
            at: UNIX_EPOCH + Duration::from_secs(secs),
            status: String::new(),
        });
    let (lists, skipped) = privacy::lists(&rows.privacy_items);
    data.privacy = lists;
    for why in skipped {
        problem(Kind::PrivacyList, why);
    }
    data.default_privacy = rows.privacy_default;
    Some(data)
}

#[cfg(test)]
mod tests {
    use super::super::source::{PrivacyRow, PrivateRow, RosterRow};
    use super::*;

    fn rows() -> OwnerRows {
        let request = "NAD<presence xmlns='jabber:client' from='bob@a.test' type='subscribe'/>";
        OwnerRows {
            roster_items: vec![RosterRow {
                jid: "bob@a.test".into(),
                name: None,
                to: true,
                from: false,
                ask: 0,
            }],
            roster_groups: Vec::new(),
            queue: vec![request.into(), request.into(), "NAD<oops".into()],
            private: vec![PrivateRow {
                ns: None,
                xml: None,
            }],
            vcard: vec![("fn".into(), "Alice".into())],
            logouts: vec![5, 1_700_000_000, -1],
            privacy_items: vec![PrivacyRow {
                list: "work".into(),
                typ: Some("jid".into()),
                value: Some("@@".into()),
                deny: true,
                order: 1,
                block: 0,
            }],
            privacy_default: Some("work".into()),
        }
    }

    #[test]
    fn converts_and_reports() {
        let mut report = Report::default();
        let data = user_data(
            "alice@a.test",
            Authreg::Row(Some("pw".into())),
            rows(),
            PasswordType::Plaintext,
            UNIX_EPOCH,
            &mut report,
        )
        .unwrap();
        assert!(matches!(data.secret, Secret::Password(ref p) if p == "pw"));
        assert_eq!(data.requests.len(), 1);
        assert!(data.roster[0].pending_in);
        assert_eq!(
            data.vcard.as_deref(),
            Some("<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>")
        );
        assert_eq!(
            data.last_logout.map(|l| l.at),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        for kind in [Kind::OfflineMessage, Kind::PrivateXml, Kind::PrivacyList] {
            assert_eq!(report.counts("a.test", kind).not_imported, 1, "{kind:?}");
        }
        assert!(report
            .to_string()
            .contains("privacy list \"work\": item 1:"));
        assert_eq!(data.default_privacy.as_deref(), Some("work"));
    }

    #[test]
    fn secrets_and_owners() {
        let mut report = Report::default();
        for (authreg, passwords) in [
            (Authreg::Absent, PasswordType::Plaintext),
            (Authreg::Row(None), PasswordType::Plaintext),
            (Authreg::Row(Some(String::new())), PasswordType::Plaintext),
            (Authreg::Row(Some("$6$x".into())), PasswordType::Crypt),
        ] {
            let data = user_data(
                "a@a.test",
                authreg,
                OwnerRows::default(),
                passwords,
                UNIX_EPOCH,
                &mut report,
            );
            assert!(matches!(data.unwrap().secret, Secret::Missing(_)));
        }
        assert!(user_data(
            "a.test",
            Authreg::Absent,
            OwnerRows::default(),
            PasswordType::Plaintext,
            UNIX_EPOCH,
            &mut report
        )
        .is_none());
        assert_eq!(report.counts("a.test", Kind::Account).not_imported, 1);
    }
}
