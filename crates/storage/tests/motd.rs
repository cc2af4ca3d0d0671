mod common;

use common::{jid, with_user};
use storage::StorageError;

const HELLO: &str =
    "<message xmlns='jabber:client' from='example.test'><body>hello</body></message>";
const BYE: &str = "<message xmlns='jabber:client' from='example.test'><body>bye</body></message>";

#[tokio::test]
async fn set_update_delete() {
    let (s, _) = with_user("alice@example.test").await;
    assert_eq!(s.motd("example.test").await.unwrap(), None);
    assert!(!s.update_motd("example.test", HELLO.into()).await.unwrap());
    assert_eq!(s.motd("example.test").await.unwrap(), None);
    let at = s.set_motd("example.test", HELLO.into()).await.unwrap();
    let motd = s.motd("example.test").await.unwrap().unwrap();
    assert_eq!((motd.message.as_str(), motd.set_at), (HELLO, at));
    // An update keeps the set time.
    assert!(s.update_motd("example.test", BYE.into()).await.unwrap());
    let motd = s.motd("example.test").await.unwrap().unwrap();
    assert_eq!((motd.message.as_str(), motd.set_at), (BYE, at));
    // Each domain has its own.
    assert_eq!(s.motd("other.test").await.unwrap(), None);
    assert!(s.delete_motd("example.test").await.unwrap());
    assert!(!s.delete_motd("example.test").await.unwrap());
    assert_eq!(s.motd("example.test").await.unwrap(), None);
}

#[tokio::test]
async fn each_new_motd_is_set_later_than_the_previous() {
    let (s, _) = with_user("alice@example.test").await;
    let mut last = 0;
    for _ in 0..20 {
        let at = s.set_motd("example.test", HELLO.into()).await.unwrap();
        assert!(at > last, "{at} after {last}");
        last = at;
    }
}

#[tokio::test]
async fn seen_times_per_user() {
    let (s, alice) = with_user("alice@example.test").await;
    let bob = jid("bob@example.test");
    s.create_account(&bob, vec![]).await.unwrap();
    assert_eq!(s.motd_seen(&alice).await.unwrap(), None);
    s.set_motd_seen(&alice, 5).await.unwrap();
    s.set_motd_seen(&alice, 7).await.unwrap();
    assert_eq!(s.motd_seen(&alice).await.unwrap(), Some(7));
    assert_eq!(s.motd_seen(&bob).await.unwrap(), None);
}

#[tokio::test]
async fn unknown_users_have_none_and_cannot_be_written() {
    let (s, _) = with_user("alice@example.test").await;
    let nobody = jid("nobody@example.test");
    assert_eq!(s.motd_seen(&nobody).await.unwrap(), None);
    let err = s.set_motd_seen(&nobody, 1).await.unwrap_err();
    assert!(matches!(err, StorageError::UnknownUser(_)), "{err:?}");
}

#[tokio::test]
async fn deleting_the_account_deletes_the_seen_time() {
    let (s, alice) = with_user("alice@example.test").await;
    s.set_motd_seen(&alice, 3).await.unwrap();
    assert!(s.delete_account(&alice).await.unwrap());
    s.create_account(&alice, vec![]).await.unwrap();
    assert_eq!(s.motd_seen(&alice).await.unwrap(), None);
}
