mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::{jid, with_user};
use storage::{StorageError, Vacation};

fn away(message: &str) -> Vacation {
    Vacation {
        start: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        end: None,
        message: message.into(),
    }
}

#[tokio::test]
async fn settings_are_replaced_and_cleared() {
    let (s, alice) = with_user("alice@example.test").await;
    assert_eq!(s.vacation(&alice).await.unwrap(), None);
    assert!(!s.clear_vacation(&alice).await.unwrap());
    s.set_vacation(&alice, away("gone fishing")).await.unwrap();
    assert_eq!(
        s.vacation(&alice).await.unwrap(),
        Some(away("gone fishing"))
    );
    let open = Vacation {
        start: None,
        end: Some(UNIX_EPOCH + Duration::from_secs(1_800_000_000)),
        message: "back soon".into(),
    };
    s.set_vacation(&alice, open.clone()).await.unwrap();
    assert_eq!(s.vacation(&alice).await.unwrap(), Some(open));
    assert!(s.clear_vacation(&alice).await.unwrap());
    assert_eq!(s.vacation(&alice).await.unwrap(), None);
}

#[tokio::test]
async fn each_sender_is_answered_once_per_period() {
    let (s, alice) = with_user("alice@example.test").await;
    let (bob, carol) = (jid("bob@example.test"), jid("carol@other.test"));
    // No settings: nobody is answered.
    assert!(!s.note_vacation_reply(&alice, &bob).await.unwrap());
    s.set_vacation(&alice, away("away")).await.unwrap();
    assert!(s.note_vacation_reply(&alice, &bob).await.unwrap());
    assert!(!s.note_vacation_reply(&alice, &bob).await.unwrap());
    assert!(s.note_vacation_reply(&alice, &carol).await.unwrap());
    // New settings start a new period.
    s.set_vacation(&alice, away("still away")).await.unwrap();
    assert!(s.note_vacation_reply(&alice, &bob).await.unwrap());
    // Clearing forgets too.
    s.clear_vacation(&alice).await.unwrap();
    assert!(!s.note_vacation_reply(&alice, &bob).await.unwrap());
    s.set_vacation(&alice, away("away again")).await.unwrap();
    assert!(s.note_vacation_reply(&alice, &bob).await.unwrap());
}

#[tokio::test]
async fn unknown_users_have_none_and_cannot_be_written() {
    let (s, _) = with_user("alice@example.test").await;
    let nobody = jid("nobody@example.test");
    assert_eq!(s.vacation(&nobody).await.unwrap(), None);
    assert!(!s
        .note_vacation_reply(&nobody, &jid("bob@example.test"))
        .await
        .unwrap());
    let err = s.set_vacation(&nobody, away("x")).await.unwrap_err();
    assert!(matches!(err, StorageError::UnknownUser(_)), "{err:?}");
}

#[tokio::test]
async fn deleting_the_account_deletes_the_settings() {
    let (s, alice) = with_user("alice@example.test").await;
    s.set_vacation(&alice, away("away")).await.unwrap();
    assert!(s
        .note_vacation_reply(&alice, &jid("bob@example.test"))
        .await
        .unwrap());
    assert!(s.delete_account(&alice).await.unwrap());
    s.create_account(&alice, vec![]).await.unwrap();
    assert_eq!(s.vacation(&alice).await.unwrap(), None);
}
