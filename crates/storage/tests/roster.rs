mod common;

use common::{item, jid, with_user};
use storage::{RosterChange, RosterItem, StorageError, Subscription};

#[tokio::test]
async fn empty_roster_is_version_zero() {
    let (s, alice) = with_user("alice@example.test").await;
    assert_eq!(s.roster(&alice).await.unwrap(), (0, vec![]));
    assert_eq!(
        s.roster_changes_since(&alice, 0).await.unwrap(),
        Some((0, vec![]))
    );
    // No account: empty, and no diff.
    let nobody = jid("nobody@example.test");
    assert_eq!(s.roster(&nobody).await.unwrap(), (0, vec![]));
    assert_eq!(s.roster_changes_since(&nobody, 0).await.unwrap(), None);
}

#[tokio::test]
async fn set_get_replace_remove_bump_versions() {
    let (s, alice) = with_user("alice@example.test").await;
    let bob = item("bob@example.test", Subscription::None, &["Friends", "Work"]);
    let v1 = s.set_roster_item(&alice, bob.clone()).await.unwrap();
    assert!(v1 > 0, "the first add must change the version");
    assert_eq!(
        s.roster_item(&alice, &bob.jid).await.unwrap(),
        Some(bob.clone())
    );

    let mut bob2 = bob.clone();
    bob2.subscription = Subscription::Both;
    bob2.name = None;
    bob2.ask_out = true;
    bob2.pending_in = true;
    bob2.groups = vec!["Zeta".into(), "Alpha".into()];
    let v2 = s.set_roster_item(&alice, bob2.clone()).await.unwrap();
    assert!(v2 > v1);
    assert_eq!(
        s.roster_item(&alice, &bob.jid).await.unwrap(),
        Some(bob2.clone())
    );

    let carol = item("carol@example.test", Subscription::To, &[]);
    let v3 = s.set_roster_item(&alice, carol.clone()).await.unwrap();
    assert!(v3 > v2);
    assert_eq!(
        s.roster(&alice).await.unwrap(),
        (v3, vec![bob2, carol.clone()])
    );

    let v4 = s
        .remove_roster_item(&alice, &bob.jid)
        .await
        .unwrap()
        .unwrap();
    assert!(v4 > v3, "a removal must change the version");
    assert_eq!(s.remove_roster_item(&alice, &bob.jid).await.unwrap(), None);
    assert_eq!(s.roster(&alice).await.unwrap(), (v4, vec![carol]));
    assert_eq!(s.roster_item(&alice, &bob.jid).await.unwrap(), None);
}

#[tokio::test]
async fn subscriptions_round_trip() {
    let (s, alice) = with_user("alice@example.test").await;
    for (i, sub) in [
        Subscription::None,
        Subscription::To,
        Subscription::From,
        Subscription::Both,
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(Subscription::parse(sub.as_str()), Some(sub));
        let it = RosterItem::new(jid(&format!("c{i}@example.test")));
        let it = RosterItem {
            subscription: sub,
            ..it
        };
        s.set_roster_item(&alice, it.clone()).await.unwrap();
        assert_eq!(s.roster_item(&alice, &it.jid).await.unwrap(), Some(it));
    }
}

#[tokio::test]
async fn rosters_are_per_user_and_need_an_account() {
    let (s, alice) = with_user("alice@example.test").await;
    let bob = jid("bob@example.test");
    let it = item("carol@example.test", Subscription::None, &[]);
    assert!(matches!(
        s.set_roster_item(&bob, it.clone()).await,
        Err(StorageError::UnknownUser(_))
    ));
    assert_eq!(s.remove_roster_item(&bob, &it.jid).await.unwrap(), None);
    s.create_account(&bob, vec![]).await.unwrap();
    s.set_roster_item(&alice, it.clone()).await.unwrap();
    assert_eq!(s.roster(&bob).await.unwrap(), (0, vec![]));
    assert_eq!(s.roster_item(&bob, &it.jid).await.unwrap(), None);
}

#[tokio::test]
async fn changes_since_returns_exactly_the_missed_changes() {
    let (s, alice) = with_user("alice@example.test").await;
    let bob = item("bob@example.test", Subscription::None, &[]);
    let carol = item("carol@example.test", Subscription::To, &["G"]);
    let dave = item("dave@example.test", Subscription::From, &[]);
    let v1 = s.set_roster_item(&alice, bob.clone()).await.unwrap();
    let v2 = s.set_roster_item(&alice, carol.clone()).await.unwrap();
    let v3 = s.set_roster_item(&alice, dave.clone()).await.unwrap();
    let v4 = s
        .remove_roster_item(&alice, &carol.jid)
        .await
        .unwrap()
        .unwrap();
    let mut bob2 = bob.clone();
    bob2.subscription = Subscription::Both;
    let v5 = s.set_roster_item(&alice, bob2.clone()).await.unwrap();

    // Up to date: nothing missed.
    assert_eq!(
        s.roster_changes_since(&alice, v5).await.unwrap(),
        Some((v5, vec![]))
    );
    // Holding v3: missed carol's removal and bob's update, oldest first.
    assert_eq!(
        s.roster_changes_since(&alice, v3).await.unwrap(),
        Some((
            v5,
            vec![
                RosterChange {
                    version: v4,
                    jid: carol.jid.clone(),
                    item: None
                },
                RosterChange {
                    version: v5,
                    jid: bob.jid.clone(),
                    item: Some(bob2.clone())
                },
            ]
        ))
    );
    // From the empty roster: one entry per contact, its latest state.
    let (current, changes) = s.roster_changes_since(&alice, 0).await.unwrap().unwrap();
    assert_eq!(current, v5);
    assert_eq!(
        changes,
        vec![
            RosterChange {
                version: v3,
                jid: dave.jid.clone(),
                item: Some(dave.clone())
            },
            RosterChange {
                version: v4,
                jid: carol.jid.clone(),
                item: None
            },
            RosterChange {
                version: v5,
                jid: bob.jid.clone(),
                item: Some(bob2)
            },
        ]
    );
    let (_, from_v1) = s.roster_changes_since(&alice, v1).await.unwrap().unwrap();
    assert_eq!(from_v1.len(), 3);
    let (_, from_v2) = s.roster_changes_since(&alice, v2).await.unwrap().unwrap();
    assert_eq!(from_v2.len(), 3);
    // A version from the future is unknown.
    assert_eq!(s.roster_changes_since(&alice, v5 + 1).await.unwrap(), None);
}

#[tokio::test]
async fn changes_since_too_old_is_none() {
    let (s, alice) = with_user("alice@example.test").await;
    let limit = 1000;
    let mut versions = vec![0];
    for i in 0..limit + 5 {
        let it = item(&format!("c{i}@example.test"), Subscription::None, &[]);
        versions.push(s.set_roster_item(&alice, it).await.unwrap());
    }
    let current = *versions.last().unwrap();
    // Only the last `limit` contacts' changes are kept: older versions cannot be answered.
    assert_eq!(s.roster_changes_since(&alice, 0).await.unwrap(), None);
    assert_eq!(
        s.roster_changes_since(&alice, versions[4]).await.unwrap(),
        None
    );
    let (v, changes) = s
        .roster_changes_since(&alice, versions[5])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v, current);
    assert_eq!(changes.len(), limit);
    let (_, changes) = s
        .roster_changes_since(&alice, current - 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changes.len(), 2);
    // Re-touching the same contact does not grow the log nor lose old answers.
    let it = item("c1004@example.test", Subscription::Both, &[]);
    for _ in 0..10 {
        s.set_roster_item(&alice, it.clone()).await.unwrap();
    }
    let (_, changes) = s
        .roster_changes_since(&alice, versions[5])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changes.len(), limit);
}
