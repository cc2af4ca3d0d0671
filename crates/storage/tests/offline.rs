mod common;

use common::{jid, with_user};
use storage::StorageError;

#[tokio::test]
async fn stored_in_order_and_taken_once() {
    let (s, alice) = with_user("alice@example.test").await;
    for i in 0..5 {
        assert!(s
            .store_offline(&alice, format!("<m n='{i}'/>"), 10)
            .await
            .unwrap());
    }
    let got = s.take_offline(&alice).await.unwrap();
    assert_eq!(
        got,
        (0..5).map(|i| format!("<m n='{i}'/>")).collect::<Vec<_>>()
    );
    assert!(s.take_offline(&alice).await.unwrap().is_empty());
    // After a take, new messages still come out in order.
    s.store_offline(&alice, "a".into(), 10).await.unwrap();
    s.store_offline(&alice, "b".into(), 10).await.unwrap();
    let with_times = s.take_offline_with_times(&alice).await.unwrap();
    assert_eq!(
        with_times
            .iter()
            .map(|(m, _)| m.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
}

#[tokio::test]
async fn quota() {
    let (s, alice) = with_user("alice@example.test").await;
    for _ in 0..3 {
        assert!(s.store_offline(&alice, "x".into(), 3).await.unwrap());
    }
    assert!(!s.store_offline(&alice, "over".into(), 3).await.unwrap());
    assert_eq!(s.take_offline(&alice).await.unwrap().len(), 3);
    assert!(!s.store_offline(&alice, "zero".into(), 0).await.unwrap());
    assert!(s.store_offline(&alice, "again".into(), 1).await.unwrap());
}

#[tokio::test]
async fn per_user_and_unknown_user() {
    let (s, alice) = with_user("alice@example.test").await;
    let bob = jid("bob@example.test");
    assert!(matches!(
        s.store_offline(&bob, "x".into(), 10).await,
        Err(StorageError::UnknownUser(_))
    ));
    assert!(s.take_offline(&bob).await.unwrap().is_empty());
    s.create_account(&bob, vec![]).await.unwrap();
    s.store_offline(&alice, "for alice".into(), 10)
        .await
        .unwrap();
    s.store_offline(&bob, "for bob".into(), 10).await.unwrap();
    assert_eq!(s.take_offline(&bob).await.unwrap(), ["for bob"]);
    assert_eq!(s.take_offline(&alice).await.unwrap(), ["for alice"]);
}
