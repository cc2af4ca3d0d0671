mod common;

use common::{jid, with_user};
use storage::StorageError;

const PREFS: &str = "exodus:prefs";
const BOOKMARKS: &str = "storage:bookmarks";
const QUOTA: usize = 1000;

fn data(ns: &str, text: &str) -> String {
    format!("<query xmlns='jabber:iq:private'><x xmlns='{ns}'>{text}</x></query>")
}

#[tokio::test]
async fn each_namespace_is_kept_and_replaced_on_its_own() {
    let (s, alice) = with_user("alice@example.test").await;
    assert_eq!(s.private(&alice, PREFS).await.unwrap(), None);
    assert!(s
        .set_private(&alice, PREFS, data(PREFS, "1"), QUOTA)
        .await
        .unwrap());
    assert!(s
        .set_private(&alice, BOOKMARKS, data(BOOKMARKS, "b"), QUOTA)
        .await
        .unwrap());
    assert!(s
        .set_private(&alice, PREFS, data(PREFS, "2"), QUOTA)
        .await
        .unwrap());
    assert_eq!(
        s.private(&alice, PREFS).await.unwrap(),
        Some(data(PREFS, "2"))
    );
    assert_eq!(
        s.private(&alice, BOOKMARKS).await.unwrap(),
        Some(data(BOOKMARKS, "b"))
    );
    let bob = jid("bob@example.test");
    s.create_account(&bob, vec![]).await.unwrap();
    assert_eq!(s.private(&bob, PREFS).await.unwrap(), None);
}

#[tokio::test]
async fn the_quota_counts_every_namespace_in_bytes() {
    let (s, alice) = with_user("alice@example.test").await;
    // Two bytes per character: the quota is in bytes, not characters.
    let big = data(PREFS, &"é".repeat(200));
    let quota = 2 * big.len() - 1;
    assert!(s
        .set_private(&alice, PREFS, big.clone(), quota)
        .await
        .unwrap());
    // Replacing a namespace does not count what it replaces.
    assert!(s
        .set_private(&alice, PREFS, big.clone(), quota)
        .await
        .unwrap());
    assert!(!s
        .set_private(&alice, BOOKMARKS, big.clone(), quota)
        .await
        .unwrap());
    assert_eq!(s.private(&alice, BOOKMARKS).await.unwrap(), None);
    let small = data(BOOKMARKS, "");
    assert!(s
        .set_private(&alice, BOOKMARKS, small, quota)
        .await
        .unwrap());
    // Alone over the quota: refused, and what was stored stays.
    assert!(!s.set_private(&alice, PREFS, big.clone(), 10).await.unwrap());
    assert_eq!(s.private(&alice, PREFS).await.unwrap(), Some(big));
}

#[tokio::test]
async fn unknown_users_have_none_and_cannot_be_written() {
    let (s, _) = with_user("alice@example.test").await;
    let nobody = jid("nobody@example.test");
    assert_eq!(s.private(&nobody, PREFS).await.unwrap(), None);
    let err = s
        .set_private(&nobody, PREFS, data(PREFS, ""), QUOTA)
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::UnknownUser(_)), "{err:?}");
}

#[tokio::test]
async fn deleting_the_account_deletes_the_private_xml() {
    let (s, alice) = with_user("alice@example.test").await;
    s.set_private(&alice, PREFS, data(PREFS, "x"), QUOTA)
        .await
        .unwrap();
    assert!(s.delete_account(&alice).await.unwrap());
    s.create_account(&alice, vec![]).await.unwrap();
    assert_eq!(s.private(&alice, PREFS).await.unwrap(), None);
}
