//! `starlingctl export` and `import`: the portable import/export format of XEP-0227 (v1.1,
//! `urn:xmpp:pie:0`). A `<server-data/>` holds a `<host jid=…/>` per domain and a
//! `<user name=…/>` per account with: its SCRAM credentials (`urn:xmpp:pie:0#scram`; Starling
//! has no passwords to write, but reads a `password` attribute), roster, pending subscription
//! requests, offline messages, vCard, private XML and privacy lists. Last logout times, which the XEP has no
//! place for, travel in a Starling extension ([`STARLING`]) other servers ignore.
//! Exporting, importing into an empty store and exporting again gives the same document.

mod export;
mod from_xml;
mod import;
mod roster;
mod scram;
mod to_xml;
mod xinclude;

pub use export::{export, Exported};
pub use import::import;

/// XEP-0227 since v1.0.
pub const NS: &str = "urn:xmpp:pie:0";
/// The namespace of XEP-0227 drafts before v1.0, still written by some servers.
pub const DRAFT_NS: &str = "http://www.xmpp.org/extensions/xep-0227.html#ns";
/// XEP-0227 §4.3 SCRAM credentials.
pub const SCRAM_NS: &str = "urn:xmpp:pie:0#scram";
/// Starling's extension: `<last-logout stamp=…>status</last-logout>`.
pub const STARLING: &str = "urn:x-starling:pie:0";

/// Whether `ns` is one of the XEP-0227 namespaces.
fn is_pie(ns: &str) -> bool {
    ns == NS || ns == DRAFT_NS
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::{Duration, UNIX_EPOCH};

    use jid::BareJid;
    use storage::{
        LastLogout, PrivacyItem, PrivacyList, PrivacyMatch, PrivacyStanzas, RosterItem,
        Subscription,
    };

    use super::*;
    use crate::user_data::report::{Kind, Report};
    use crate::user_data::{save, Secret, UserData};

    fn jid(s: &str) -> BareJid {
        BareJid::new(s).unwrap()
    }

    fn etc(dir: &Path, name: &str) -> std::path::PathBuf {
        let etc = dir.join(name);
        std::fs::create_dir(&etc).unwrap();
        std::fs::write(etc.join("sm.toml"), "[storage]\npath = \"users.db\"\n").unwrap();
        etc
    }

    fn juliet() -> UserData {
        let mut data = UserData::new(jid("juliet@capulet.test"), Secret::Password("pw".into()));
        let mut romeo = RosterItem::new(jid("romeo@montague.test"));
        romeo.name = Some("Romeo & <co>".into());
        romeo.subscription = Subscription::Both;
        romeo.groups = vec!["Friends".into(), "Verona".into()];
        let mut nurse = RosterItem::new(jid("nurse@capulet.test"));
        nurse.ask_out = true;
        data.roster = vec![romeo, nurse, RosterItem::new(jid("tybalt@capulet.test"))];
        data.requests = vec![(
            jid("tybalt@capulet.test"),
            "<presence xmlns='jabber:client' type='subscribe' from='tybalt@capulet.test'/>".into(),
        )];
        data.mark_pending_in();
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        data.offline = vec![(
            "<message xmlns='jabber:client' from='romeo@montague.test/orchard' type='chat'>\
             <body>Neither</body><delay xmlns='urn:xmpp:delay' from='capulet.test' \
             stamp='2023-11-14T22:13:20Z'/></message>"
                .into(),
            at,
        )];
        data.vcard = Some("<vCard xmlns='vcard-temp'><FN>Juliet</FN></vCard>".into());
        data.private = vec![
            (
                "a:b".into(),
                "<query xmlns='jabber:iq:private'><x xmlns='a:b'>1</x></query>".into(),
            ),
            (
                "c:d".into(),
                "<query xmlns='jabber:iq:private'><y xmlns='c:d'/></query>".into(),
            ),
        ];
        data.last_logout = Some(LastLogout {
            at,
            status: "gone".into(),
        });
        let tybalt = PrivacyItem {
            order: 1,
            matches: PrivacyMatch::Jid("tybalt@capulet.test".parse().unwrap()),
            allow: false,
            stanzas: PrivacyStanzas {
                message: true,
                presence_in: true,
                ..PrivacyStanzas::default()
            },
        };
        let rest = PrivacyItem {
            order: 5,
            matches: PrivacyMatch::Group("Friends".into()),
            allow: true,
            stanzas: PrivacyStanzas::default(),
        };
        data.privacy = vec![
            PrivacyList {
                name: "public".into(),
                items: vec![tybalt, rest],
            },
            PrivacyList {
                name: "empty".into(),
                items: Vec::new(),
            },
        ];
        data.default_privacy = Some("public".into());
        data
    }

    #[tokio::test]
    async fn export_import_export_is_the_same_document() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = (etc(dir.path(), "first"), etc(dir.path(), "second"));
        let store = crate::store::open(&first).await.unwrap();
        let mut report = Report::default();
        save(&store, juliet(), &mut report).await.unwrap();
        let locked = UserData::new(jid("mercutio@montague.test"), Secret::Missing("x".into()));
        save(&store, locked, &mut report).await.unwrap();

        let (a, b) = (dir.path().join("a.xml"), dir.path().join("b.xml"));
        let exported = export(&first, None, &a).await.unwrap();
        assert_eq!((exported.users, exported.problems.len()), (2, 0));
        let report = import(&second, &a).await.unwrap();
        assert_eq!(report.counts("capulet.test", Kind::RosterItem).imported, 3);
        assert_eq!(report.counts("capulet.test", Kind::Credentials).imported, 1);
        assert_eq!(report.counts("capulet.test", Kind::PrivacyList).imported, 2);
        assert_eq!(
            report.counts("capulet.test", Kind::PrivacyDefault).imported,
            1
        );
        assert_eq!(
            report
                .counts("montague.test", Kind::Credentials)
                .not_imported,
            1
        );
        export(&second, None, &b).await.unwrap();
        let text = std::fs::read_to_string(&a).unwrap();
        assert_eq!(text, std::fs::read_to_string(&b).unwrap());
        assert!(text.contains(
            "<scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-512'>"
        ));
        assert!(!text.contains("password"));

        let again = import(&second, &a).await.unwrap();
        assert_eq!(again.counts("capulet.test", Kind::RosterItem).present, 3);
        assert_eq!(
            again.counts("capulet.test", Kind::OfflineMessage).present,
            1
        );

        export(&first, Some("montague.test"), &b).await.unwrap();
        let only = std::fs::read_to_string(&b).unwrap();
        assert!(
            only.contains("<user name='mercutio'/>") && !only.contains("juliet"),
            "{only}"
        );
    }

    #[tokio::test]
    async fn refuses_other_documents() {
        let dir = tempfile::tempdir().unwrap();
        let etc = etc(dir.path(), "etc");
        let file = dir.path().join("x.xml");
        std::fs::write(&file, "<server-data xmlns='urn:other'/>").unwrap();
        assert!(import(&etc, &file).await.is_err());
        std::fs::write(&file, "<server-data").unwrap();
        assert!(import(&etc, &file).await.is_err());
    }
}
