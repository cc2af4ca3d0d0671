//! What moving accounts between servers needs beyond the daemons' calls (`starlingctl export`,
//! `import`, `import-jabberd2`): the domains that have accounts, a user's offline queue read
//! without taking it, offline messages stored with their original time and without a quota, and
//! all of a user's private XML at once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jid::BareJid;
use rusqlite::params;

use crate::connection::write_transaction;
use crate::rows::{account_id, require_account};
use crate::{Storage, StorageError};

impl Storage {
    /// Every domain that has at least one account, sorted.
    pub async fn account_domains(&self) -> Result<Vec<String>, StorageError> {
        self.call(|conn| {
            let mut stmt = conn.prepare("SELECT DISTINCT domain FROM accounts ORDER BY domain")?;
            let domains = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(domains)
        })
        .await
    }

    /// The user's offline messages, oldest first, with the time each was stored; unlike
    /// [`Storage::take_offline`] they stay queued. Empty without an account.
    pub async fn peek_offline(
        &self,
        user: &BareJid,
    ) -> Result<Vec<(String, SystemTime)>, StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok(Vec::new());
            };
            let mut stmt = conn
                .prepare("SELECT stanza, stored_at FROM offline WHERE account = ?1 ORDER BY seq")?;
            let rows = stmt
                .query_map([id], |r| {
                    Ok((r.get::<_, String>(0)?, from_secs(r.get::<_, i64>(1)?)))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Appends `stanza`, stored at `stored_at`, to the user's offline queue, whatever the quota
    /// (moved data is not new traffic); `false` when the very same stanza is queued already, so
    /// that importing twice queues it once. [`StorageError::UnknownUser`] without an account.
    pub async fn import_offline(
        &self,
        user: &BareJid,
        stanza: String,
        stored_at: SystemTime,
    ) -> Result<bool, StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let tx = write_transaction(conn)?;
            let id = require_account(&tx, &user)?;
            let (present, last): (bool, i64) = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM offline WHERE account = ?1 AND stanza = ?2),
                        COALESCE((SELECT MAX(seq) FROM offline WHERE account = ?1), 0)",
                params![id, stanza],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if present {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO offline (account, seq, stanza, stored_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, last + 1, stanza, to_secs(stored_at)],
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    /// All of the user's private XML as `(namespace, data)`, by namespace. Empty without an
    /// account.
    pub async fn all_private(&self, user: &BareJid) -> Result<Vec<(String, String)>, StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok(Vec::new());
            };
            let mut stmt = conn.prepare(
                "SELECT namespace, data FROM private_xml WHERE account = ?1 ORDER BY namespace",
            )?;
            let rows = stmt
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }
}

/// Unix seconds of `at` (0 before the epoch).
fn to_secs(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The instant of stored Unix seconds (the epoch for negative values).
fn from_secs(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid(s: &str) -> BareJid {
        BareJid::new(s).unwrap()
    }

    #[tokio::test]
    async fn domains_offline_and_private() {
        let store = Storage::open_in_memory().await.unwrap();
        let (alice, bob) = (jid("alice@b.test"), jid("bob@a.test"));
        store.create_account(&alice, Vec::new()).await.unwrap();
        store.create_account(&bob, Vec::new()).await.unwrap();
        assert_eq!(store.account_domains().await.unwrap(), ["a.test", "b.test"]);

        let at = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert!(store
            .import_offline(&alice, "<m/>".into(), at)
            .await
            .unwrap());
        assert!(!store
            .import_offline(&alice, "<m/>".into(), at)
            .await
            .unwrap());
        assert!(store
            .store_offline(&alice, "<n/>".into(), 10)
            .await
            .unwrap());
        let queued = store.peek_offline(&alice).await.unwrap();
        assert_eq!(queued.len(), 2);
        assert_eq!(queued[0], ("<m/>".to_owned(), at));
        assert_eq!(queued[1].0, "<n/>");
        assert_eq!(store.take_offline(&alice).await.unwrap(), ["<m/>", "<n/>"]);
        assert!(store
            .peek_offline(&jid("nobody@a.test"))
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            store
                .import_offline(&jid("nobody@a.test"), "<m/>".into(), at)
                .await,
            Err(StorageError::UnknownUser("nobody@a.test".into()))
        );

        store
            .set_private(&bob, "z", "<z/>".into(), 100)
            .await
            .unwrap();
        store
            .set_private(&bob, "a", "<a/>".into(), 100)
            .await
            .unwrap();
        assert_eq!(
            store.all_private(&bob).await.unwrap(),
            [("a".into(), "<a/>".into()), ("z".into(), "<z/>".into())]
        );
    }
}
