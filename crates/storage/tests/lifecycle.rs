mod common;

use std::path::PathBuf;

use common::{creds, item, jid};
use storage::{ScramHash, Storage, StorageConfig, StorageError, Subscription};

fn config(dir: &tempfile::TempDir) -> StorageConfig {
    StorageConfig {
        path: dir.path().join("var/sub/starling.db"),
    }
}

#[tokio::test]
async fn delete_account_cascades() {
    let s = Storage::open_in_memory().await.unwrap();
    let alice = jid("alice@example.test");
    s.create_account(&alice, creds("pw")).await.unwrap();
    s.set_roster_item(&alice, item("bob@example.test", Subscription::Both, &["G"]))
        .await
        .unwrap();
    s.store_offline(&alice, "<message/>".into(), 10)
        .await
        .unwrap();
    assert!(s.delete_account(&alice).await.unwrap());
    // Re-created, the account starts empty: nothing of the old user survives.
    s.create_account(&alice, vec![]).await.unwrap();
    assert_eq!(s.roster(&alice).await.unwrap(), (0, vec![]));
    assert!(s.take_offline(&alice).await.unwrap().is_empty());
    assert_eq!(
        s.scram_credentials(&alice, ScramHash::Sha1).await.unwrap(),
        None
    );
}

/// c2s and sm open the same new file at the same moment when `starlingctl up` starts them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_opens_migrate_once() {
    let dir = tempfile::tempdir().unwrap();
    let opens = (0..4).map(|_| {
        let config = config(&dir);
        tokio::spawn(async move { Storage::open(&config).await.map(|_| ()) })
    });
    for open in opens.collect::<Vec<_>>() {
        open.await.unwrap().unwrap();
    }
    let version = rusqlite_user_version(&config(&dir).path);
    assert_eq!(version, storage::migrations::SCHEMA_VERSION);
}

#[tokio::test]
async fn reopen_keeps_data_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let alice = jid("alice@example.test");
    let bob = item("bob@example.test", Subscription::To, &["G"]);
    {
        let s = Storage::open(&config(&dir)).await.unwrap();
        s.create_account(&alice, creds("pw")).await.unwrap();
        s.set_roster_item(&alice, bob.clone()).await.unwrap();
        s.store_offline(&alice, "<m/>".into(), 10).await.unwrap();
    }
    for _ in 0..2 {
        let s = Storage::open(&config(&dir)).await.unwrap();
        assert!(s.account_exists(&alice).await.unwrap());
        assert_eq!(s.roster(&alice).await.unwrap(), (1, vec![bob.clone()]));
    }
    let s = Storage::open(&config(&dir)).await.unwrap();
    assert_eq!(s.take_offline(&alice).await.unwrap(), ["<m/>"]);
    let version = rusqlite_user_version(&config(&dir).path);
    assert_eq!(version, storage::migrations::SCHEMA_VERSION);
    let mode = rusqlite::Connection::open(config(&dir).path)
        .unwrap()
        .pragma_query_value(None, "journal_mode", |r| r.get::<_, String>(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn two_handles_on_one_file() {
    // starlingctl next to a running sm: two connections, WAL and the busy timeout.
    let dir = tempfile::tempdir().unwrap();
    let a = Storage::open(&config(&dir)).await.unwrap();
    let b = Storage::open(&config(&dir)).await.unwrap();
    a.create_account(&jid("alice@example.test"), vec![])
        .await
        .unwrap();
    assert!(b.account_exists(&jid("alice@example.test")).await.unwrap());
    assert_eq!(
        b.create_account(&jid("alice@example.test"), vec![]).await,
        Err(StorageError::Conflict)
    );
}

#[tokio::test]
async fn newer_schema_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    drop(Storage::open(&cfg).await.unwrap());
    rusqlite::Connection::open(&cfg.path)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    let err = Storage::open(&cfg).await.err().unwrap();
    assert!(
        matches!(err, StorageError::NewerSchema { found: 999, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&cfg.path.display().to_string()),
        "{err}"
    );
}

#[tokio::test]
async fn unopenable_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-db");
    std::fs::write(&path, b"this is not an sqlite database, just some text....").unwrap();
    let err = Storage::open(&StorageConfig { path: path.clone() })
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("not-a-db"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_from_many_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(&config(&dir)).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let user = jid(&format!("u{t}@example.test"));
            s.create_account(&user, vec![]).await.unwrap();
            let mut last = 0;
            for i in 0..20 {
                let v = s
                    .set_roster_item(
                        &user,
                        item(&format!("c{i}@example.test"), Subscription::None, &[]),
                    )
                    .await
                    .unwrap();
                assert!(v > last);
                last = v;
                s.store_offline(&user, format!("{i}"), 100).await.unwrap();
            }
            let msgs = s.take_offline(&user).await.unwrap();
            assert_eq!(msgs, (0..20).map(|i| i.to_string()).collect::<Vec<_>>());
            assert_eq!(s.roster(&user).await.unwrap().1.len(), 20);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(s.list_accounts("example.test").await.unwrap().len(), 16);
}

#[test]
fn handle_is_shareable() {
    fn assert_traits<T: Send + Sync + Clone + std::fmt::Debug + 'static>() {}
    assert_traits::<Storage>();
}

#[test]
fn config_from_toml() {
    let c: StorageConfig = toml::from_str("path = \"/x/y.db\"").unwrap();
    assert_eq!(c.path, PathBuf::from("/x/y.db"));
    let c: StorageConfig = toml::from_str("").unwrap();
    assert_eq!(c, StorageConfig::default());
    assert!(toml::from_str::<StorageConfig>("paht = \"x\"").is_err());
}

fn rusqlite_user_version(path: &std::path::Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}
