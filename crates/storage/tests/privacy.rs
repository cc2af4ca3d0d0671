mod common;

use common::{jid, with_user};
use storage::{PrivacyItem, PrivacyList, PrivacyMatch, PrivacyStanzas, StorageError, Subscription};

const QUOTA: usize = 100;

fn item(order: u32, matches: PrivacyMatch, allow: bool, stanzas: PrivacyStanzas) -> PrivacyItem {
    PrivacyItem {
        order,
        matches,
        allow,
        stanzas,
    }
}

fn deny_jid(order: u32, jid: &str) -> PrivacyItem {
    item(
        order,
        PrivacyMatch::Jid(jid.parse().unwrap()),
        false,
        PrivacyStanzas::default(),
    )
}

fn every_kind() -> Vec<PrivacyItem> {
    let messages = PrivacyStanzas {
        message: true,
        ..PrivacyStanzas::default()
    };
    let presence = PrivacyStanzas {
        presence_in: true,
        presence_out: true,
        ..PrivacyStanzas::default()
    };
    let iq = PrivacyStanzas {
        iq: true,
        ..PrivacyStanzas::default()
    };
    vec![
        deny_jid(1, "tybalt@example.com/pda"),
        item(
            2,
            PrivacyMatch::Jid("example.org".parse().unwrap()),
            true,
            iq,
        ),
        item(5, PrivacyMatch::Group("Enemies é".into()), false, messages),
        item(
            7,
            PrivacyMatch::Subscription(Subscription::None),
            false,
            presence,
        ),
        item(
            9,
            PrivacyMatch::Subscription(Subscription::Both),
            true,
            PrivacyStanzas::default(),
        ),
        item(68, PrivacyMatch::Everyone, false, PrivacyStanzas::default()),
    ]
}

#[tokio::test]
async fn lists_read_back_as_stored_in_order() {
    let (s, alice) = with_user("alice@example.test").await;
    assert_eq!(s.privacy_lists(&alice).await.unwrap(), (vec![], None));
    assert_eq!(s.privacy_list(&alice, "public").await.unwrap(), None);
    assert_eq!(s.default_privacy_list(&alice).await.unwrap(), None);
    let mut shuffled = every_kind();
    shuffled.reverse();
    assert!(s
        .set_privacy_list(&alice, "public", shuffled, QUOTA)
        .await
        .unwrap());
    assert!(s
        .set_privacy_list(&alice, "private", vec![deny_jid(3, "x@y")], QUOTA)
        .await
        .unwrap());
    assert_eq!(
        s.privacy_list(&alice, "public").await.unwrap(),
        Some(every_kind())
    );
    assert_eq!(
        s.privacy_lists(&alice).await.unwrap(),
        (vec!["private".to_owned(), "public".to_owned()], None)
    );
    // Names are exact: no case folding.
    assert_eq!(s.privacy_list(&alice, "Public").await.unwrap(), None);
    // An empty list is a list.
    assert!(s
        .set_privacy_list(&alice, "empty", vec![], QUOTA)
        .await
        .unwrap());
    assert_eq!(s.privacy_list(&alice, "empty").await.unwrap(), Some(vec![]));
}

#[tokio::test]
async fn a_set_replaces_the_whole_list() {
    let (s, alice) = with_user("alice@example.test").await;
    s.set_privacy_list(&alice, "l", every_kind(), QUOTA)
        .await
        .unwrap();
    s.set_privacy_list(&alice, "l", vec![deny_jid(0, "a@b")], QUOTA)
        .await
        .unwrap();
    assert_eq!(
        s.privacy_list(&alice, "l").await.unwrap(),
        Some(vec![deny_jid(0, "a@b")])
    );
}

#[tokio::test]
async fn the_default_list_is_set_declined_and_goes_with_its_list() {
    let (s, alice) = with_user("alice@example.test").await;
    assert!(!s
        .set_default_privacy_list(&alice, Some("missing"))
        .await
        .unwrap());
    s.set_privacy_list(&alice, "a", vec![deny_jid(1, "a@b")], QUOTA)
        .await
        .unwrap();
    s.set_privacy_list(&alice, "b", vec![deny_jid(1, "c@d")], QUOTA)
        .await
        .unwrap();
    assert!(s.set_default_privacy_list(&alice, Some("a")).await.unwrap());
    assert!(s.set_default_privacy_list(&alice, Some("b")).await.unwrap());
    assert_eq!(
        s.default_privacy_list(&alice).await.unwrap(),
        Some(PrivacyList {
            name: "b".into(),
            items: vec![deny_jid(1, "c@d")]
        })
    );
    assert_eq!(s.privacy_lists(&alice).await.unwrap().1, Some("b".into()));
    // Editing the default list keeps it the default.
    s.set_privacy_list(&alice, "b", vec![deny_jid(2, "e@f")], QUOTA)
        .await
        .unwrap();
    assert_eq!(
        s.default_privacy_list(&alice).await.unwrap().unwrap().items,
        vec![deny_jid(2, "e@f")]
    );
    assert!(s.set_default_privacy_list(&alice, None).await.unwrap());
    assert_eq!(s.default_privacy_list(&alice).await.unwrap(), None);
    assert!(s.set_default_privacy_list(&alice, Some("b")).await.unwrap());
    assert!(!s.remove_privacy_list(&alice, "missing").await.unwrap());
    assert!(s.remove_privacy_list(&alice, "b").await.unwrap());
    assert_eq!(s.default_privacy_list(&alice).await.unwrap(), None);
    assert_eq!(
        s.privacy_lists(&alice).await.unwrap(),
        (vec!["a".to_owned()], None)
    );
}

#[tokio::test]
async fn the_quota_counts_the_items_of_every_list() {
    let (s, alice) = with_user("alice@example.test").await;
    let three: Vec<PrivacyItem> = (0..3).map(|i| deny_jid(i, "a@b")).collect();
    assert!(s
        .set_privacy_list(&alice, "one", three.clone(), 5)
        .await
        .unwrap());
    // Replacing a list does not count what it replaces.
    assert!(s
        .set_privacy_list(&alice, "one", three.clone(), 5)
        .await
        .unwrap());
    assert!(!s
        .set_privacy_list(&alice, "two", three.clone(), 5)
        .await
        .unwrap());
    assert_eq!(s.privacy_list(&alice, "two").await.unwrap(), None);
    assert!(s
        .set_privacy_list(&alice, "two", three[..2].to_vec(), 5)
        .await
        .unwrap());
    // Alone over the quota: refused, and what was stored stays.
    let six: Vec<PrivacyItem> = (0..6).map(|i| deny_jid(i, "a@b")).collect();
    assert!(!s.set_privacy_list(&alice, "one", six, 5).await.unwrap());
    assert_eq!(s.privacy_list(&alice, "one").await.unwrap(), Some(three));
}

#[tokio::test]
async fn users_are_separate_and_unknown_users_cannot_be_written() {
    let (s, alice) = with_user("alice@example.test").await;
    let bob = jid("bob@example.test");
    s.create_account(&bob, vec![]).await.unwrap();
    s.set_privacy_list(&alice, "l", every_kind(), QUOTA)
        .await
        .unwrap();
    s.set_default_privacy_list(&alice, Some("l")).await.unwrap();
    assert_eq!(s.privacy_lists(&bob).await.unwrap(), (vec![], None));
    assert!(!s.set_default_privacy_list(&bob, Some("l")).await.unwrap());
    assert!(!s.remove_privacy_list(&bob, "l").await.unwrap());
    let nobody = jid("nobody@example.test");
    assert_eq!(s.privacy_lists(&nobody).await.unwrap(), (vec![], None));
    assert_eq!(s.default_privacy_list(&nobody).await.unwrap(), None);
    let err = s
        .set_privacy_list(&nobody, "l", vec![], QUOTA)
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::UnknownUser(_)), "{err:?}");
}

#[tokio::test]
async fn lists_go_with_the_account() {
    let (s, alice) = with_user("alice@example.test").await;
    s.set_privacy_list(&alice, "l", every_kind(), QUOTA)
        .await
        .unwrap();
    s.set_default_privacy_list(&alice, Some("l")).await.unwrap();
    assert!(s.delete_account(&alice).await.unwrap());
    s.create_account(&alice, vec![]).await.unwrap();
    assert_eq!(s.privacy_lists(&alice).await.unwrap(), (vec![], None));
    assert_eq!(s.default_privacy_list(&alice).await.unwrap(), None);
    assert_eq!(s.privacy_list(&alice, "l").await.unwrap(), None);
}
