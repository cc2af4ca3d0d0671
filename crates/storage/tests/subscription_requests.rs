mod common;

use common::{item, jid, with_user};
use storage::{Storage, StorageConfig, StorageError, Subscription};

#[tokio::test]
async fn the_first_request_is_kept_in_arrival_order() {
    let (s, alice) = with_user("alice@example.test").await;
    let (bob, carol) = (jid("bob@example.test"), jid("carol@example.test"));
    assert!(s
        .keep_subscription_request(&alice, &bob, "<first/>".into())
        .await
        .unwrap());
    assert!(s
        .keep_subscription_request(&alice, &carol, "<c/>".into())
        .await
        .unwrap());
    assert!(!s
        .keep_subscription_request(&alice, &bob, "<second/>".into())
        .await
        .unwrap());
    assert_eq!(
        s.subscription_request(&alice, &bob)
            .await
            .unwrap()
            .as_deref(),
        Some("<first/>")
    );
    assert_eq!(
        s.subscription_requests(&alice).await.unwrap(),
        vec![
            (bob.clone(), "<first/>".into()),
            (carol.clone(), "<c/>".into())
        ]
    );
    // Requests are not roster items and do not change the roster version.
    assert_eq!(s.roster(&alice).await.unwrap(), (0, vec![]));
    assert!(s.drop_subscription_request(&alice, &bob).await.unwrap());
    assert!(!s.drop_subscription_request(&alice, &bob).await.unwrap());
    assert_eq!(s.subscription_request(&alice, &bob).await.unwrap(), None);

    let nobody = jid("nobody@example.test");
    assert!(matches!(
        s.keep_subscription_request(&nobody, &bob, "<x/>".into())
            .await,
        Err(StorageError::UnknownUser(_))
    ));
    assert!(s.subscription_requests(&nobody).await.unwrap().is_empty());
}

#[tokio::test]
async fn roster_writes_drop_answered_requests() {
    let (s, alice) = with_user("alice@example.test").await;
    let mut bob = item("bob@example.test", Subscription::None, &[]);
    s.keep_subscription_request(&alice, &bob.jid, "<r/>".into())
        .await
        .unwrap();
    // Still pending: kept.
    bob.pending_in = true;
    bob.ask_out = true;
    s.set_roster_item(&alice, bob.clone()).await.unwrap();
    assert!(s
        .subscription_request(&alice, &bob.jid)
        .await
        .unwrap()
        .is_some());
    // Answered: gone.
    bob.pending_in = false;
    bob.subscription = Subscription::From;
    s.set_roster_item(&alice, bob.clone()).await.unwrap();
    assert_eq!(
        s.subscription_request(&alice, &bob.jid).await.unwrap(),
        None
    );
    // Removing the item drops a request too.
    s.keep_subscription_request(&alice, &bob.jid, "<r/>".into())
        .await
        .unwrap();
    s.remove_roster_item(&alice, &bob.jid).await.unwrap();
    assert_eq!(
        s.subscription_request(&alice, &bob.jid).await.unwrap(),
        None
    );
}

/// Schema 1 kept a request from someone not in the roster as an item with only pending-in.
#[tokio::test]
async fn schema_1_pending_in_items_become_requests() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("starling.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../src/migrations/0001_initial.sql"))
            .unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, localpart, domain, created) VALUES (1, 'alice', 'example.test', 0);
             INSERT INTO roster_items (id, account, contact, subscription, pending_in)
                 VALUES (1, 1, 'stranger@example.test', 'none', 1);
             INSERT INTO roster_items (id, account, contact, name, subscription, pending_in)
                 VALUES (2, 1, 'friend@example.test', 'Friend', 'to', 1);
             INSERT INTO roster_items (id, account, contact, subscription) VALUES (3, 1, 'plain@example.test', 'both');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let s = Storage::open(&StorageConfig { path }).await.unwrap();
    let alice = jid("alice@example.test");
    let requests = s.subscription_requests(&alice).await.unwrap();
    assert_eq!(
        requests
            .iter()
            .map(|(j, _)| j.to_string())
            .collect::<Vec<_>>(),
        ["stranger@example.test", "friend@example.test"]
    );
    assert_eq!(
        requests[0].1,
        "<presence xmlns='jabber:client' type='subscribe' from='stranger@example.test' to='alice@example.test'/>"
    );
    let (_, items) = s.roster(&alice).await.unwrap();
    let contacts: Vec<String> = items.iter().map(|i| i.jid.to_string()).collect();
    assert_eq!(contacts, ["friend@example.test", "plain@example.test"]);
    assert!(items[0].pending_in);
}
