mod common;

use common::{jid, with_user};
use storage::StorageError;

const CARD: &str = "<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>";

#[tokio::test]
async fn a_new_vcard_replaces_the_previous_one() {
    let (s, alice) = with_user("alice@example.test").await;
    assert_eq!(s.vcard(&alice).await.unwrap(), None);
    s.set_vcard(&alice, CARD.into()).await.unwrap();
    assert_eq!(s.vcard(&alice).await.unwrap().as_deref(), Some(CARD));
    let empty = "<vCard xmlns='vcard-temp'/>";
    s.set_vcard(&alice, empty.into()).await.unwrap();
    assert_eq!(s.vcard(&alice).await.unwrap().as_deref(), Some(empty));
}

#[tokio::test]
async fn each_user_has_their_own() {
    let (s, alice) = with_user("alice@example.test").await;
    let bob = jid("bob@example.test");
    s.create_account(&bob, vec![]).await.unwrap();
    s.set_vcard(&alice, CARD.into()).await.unwrap();
    assert_eq!(s.vcard(&bob).await.unwrap(), None);
}

#[tokio::test]
async fn unknown_users_have_none_and_cannot_be_written() {
    let (s, _) = with_user("alice@example.test").await;
    let nobody = jid("nobody@example.test");
    assert_eq!(s.vcard(&nobody).await.unwrap(), None);
    let err = s.set_vcard(&nobody, CARD.into()).await.unwrap_err();
    assert!(matches!(err, StorageError::UnknownUser(_)), "{err:?}");
}

#[tokio::test]
async fn deleting_the_account_deletes_the_vcard() {
    let (s, alice) = with_user("alice@example.test").await;
    s.set_vcard(&alice, CARD.into()).await.unwrap();
    assert!(s.delete_account(&alice).await.unwrap());
    s.create_account(&alice, vec![]).await.unwrap();
    assert_eq!(s.vcard(&alice).await.unwrap(), None);
}
