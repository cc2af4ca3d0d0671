mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::{jid, with_user};
use storage::{LastLogout, StorageError};

fn logout(secs: u64, status: &str) -> LastLogout {
    LastLogout {
        at: UNIX_EPOCH + Duration::from_secs(secs),
        status: status.into(),
    }
}

#[tokio::test]
async fn the_latest_logout_replaces_the_previous_one() {
    let (s, alice) = with_user("alice@example.test").await;
    assert_eq!(s.last_logout(&alice).await.unwrap(), None);
    s.set_last_logout(&alice, logout(1_700_000_000, "Heading Home"))
        .await
        .unwrap();
    assert_eq!(
        s.last_logout(&alice).await.unwrap(),
        Some(logout(1_700_000_000, "Heading Home"))
    );
    s.set_last_logout(&alice, logout(1_700_000_500, ""))
        .await
        .unwrap();
    assert_eq!(
        s.last_logout(&alice).await.unwrap(),
        Some(logout(1_700_000_500, ""))
    );
}

#[tokio::test]
async fn unknown_users_have_none_and_cannot_be_written() {
    let (s, _) = with_user("alice@example.test").await;
    let nobody = jid("nobody@example.test");
    assert_eq!(s.last_logout(&nobody).await.unwrap(), None);
    let err = s.set_last_logout(&nobody, logout(1, "")).await.unwrap_err();
    assert!(matches!(err, StorageError::UnknownUser(_)), "{err:?}");
}

#[tokio::test]
async fn deleting_the_account_forgets_it() {
    let (s, alice) = with_user("alice@example.test").await;
    s.set_last_logout(&alice, logout(5, "bye")).await.unwrap();
    assert!(s.delete_account(&alice).await.unwrap());
    s.create_account(&alice, vec![]).await.unwrap();
    assert_eq!(s.last_logout(&alice).await.unwrap(), None);
}
