mod common;

use common::{creds, jid};
use storage::{ScramCredentials, ScramHash, Storage, StorageError};

#[tokio::test]
async fn create_exists_and_conflict() {
    let s = Storage::open_in_memory().await.unwrap();
    let alice = jid("alice@example.test");
    assert!(!s.account_exists(&alice).await.unwrap());
    s.create_account(&alice, creds("pw")).await.unwrap();
    assert!(s.account_exists(&alice).await.unwrap());
    // Same user, differently cased: the jid crate normalises, so it is a conflict.
    assert_eq!(
        s.create_account(&jid("Alice@EXAMPLE.test"), creds("x"))
            .await,
        Err(StorageError::Conflict)
    );
    // Same localpart on another domain is another account.
    s.create_account(&jid("alice@other.test"), vec![])
        .await
        .unwrap();
}

#[tokio::test]
async fn domain_only_jid_is_not_an_account() {
    let s = Storage::open_in_memory().await.unwrap();
    let d = jid("example.test");
    assert!(matches!(
        s.create_account(&d, creds("pw")).await,
        Err(StorageError::NotAUser(_))
    ));
    assert!(!s.account_exists(&d).await.unwrap());
}

#[tokio::test]
async fn credentials_per_hash() {
    let s = Storage::open_in_memory().await.unwrap();
    let alice = jid("alice@example.test");
    let c = creds("pencil");
    s.create_account(&alice, c.clone()).await.unwrap();
    for (i, hash) in [ScramHash::Sha1, ScramHash::Sha256, ScramHash::Sha512]
        .into_iter()
        .enumerate()
    {
        let got = s.scram_credentials(&alice, hash).await.unwrap().unwrap();
        assert_eq!(got, c[i]);
        assert_eq!(got.hash, hash);
    }
    assert_eq!(
        s.scram_credentials(&jid("bob@example.test"), ScramHash::Sha1)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn set_credentials_replaces_all() {
    let s = Storage::open_in_memory().await.unwrap();
    let alice = jid("alice@example.test");
    s.create_account(&alice, creds("old")).await.unwrap();
    let new = ScramCredentials::derive(ScramHash::Sha256, "new", b"pepper", 2).unwrap();
    assert!(s.set_credentials(&alice, vec![new.clone()]).await.unwrap());
    assert_eq!(
        s.scram_credentials(&alice, ScramHash::Sha256)
            .await
            .unwrap(),
        Some(new)
    );
    // The old SHA-1 record must not survive a password change.
    assert_eq!(
        s.scram_credentials(&alice, ScramHash::Sha1).await.unwrap(),
        None
    );
    assert!(!s
        .set_credentials(&jid("nobody@example.test"), creds("x"))
        .await
        .unwrap());
}

#[tokio::test]
async fn delete_and_list() {
    let s = Storage::open_in_memory().await.unwrap();
    for u in [
        "carol@example.test",
        "alice@example.test",
        "bob@example.test",
        "zed@other.test",
    ] {
        s.create_account(&jid(u), creds("pw")).await.unwrap();
    }
    assert_eq!(
        s.list_accounts("example.test").await.unwrap(),
        vec![
            jid("alice@example.test"),
            jid("bob@example.test"),
            jid("carol@example.test")
        ]
    );
    assert_eq!(s.list_accounts("EXAMPLE.test").await.unwrap().len(), 3);
    assert!(s.list_accounts("nowhere.test").await.unwrap().is_empty());
    assert!(s.list_accounts("bad domain").await.unwrap().is_empty());
    assert!(s.delete_account(&jid("bob@example.test")).await.unwrap());
    assert!(!s.delete_account(&jid("bob@example.test")).await.unwrap());
    assert_eq!(s.list_accounts("example.test").await.unwrap().len(), 2);
    // Re-creating a deleted account works.
    s.create_account(&jid("bob@example.test"), creds("pw"))
        .await
        .unwrap();
}
