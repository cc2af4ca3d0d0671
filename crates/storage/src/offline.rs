//! Offline messages (XEP-0160): serialised stanzas per user, oldest first, with a quota.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jid::BareJid;
use rusqlite::params;

use crate::connection::write_transaction;
use crate::rows::{now, require_account};
use crate::{Storage, StorageError};

impl Storage {
    /// Appends `stanza` to the user's offline queue unless it already holds `quota` messages
    /// (`false`: not stored, the sender should get an error). [`StorageError::UnknownUser`] if
    /// there is no such account.
    pub async fn store_offline(
        &self,
        user: &BareJid,
        stanza: String,
        quota: usize,
    ) -> Result<bool, StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let tx = write_transaction(conn)?;
            let id = require_account(&tx, &user)?;
            let (count, last): (i64, i64) = tx.query_row(
                "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM offline WHERE account = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if count as u64 >= quota as u64 {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO offline (account, seq, stanza, stored_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, last + 1, stanza, now()],
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    /// Returns the user's offline messages, oldest first, and deletes them.
    pub async fn take_offline(&self, user: &BareJid) -> Result<Vec<String>, StorageError> {
        Ok(self
            .take_offline_with_times(user)
            .await?
            .into_iter()
            .map(|(stanza, _)| stanza)
            .collect())
    }

    /// Like [`Storage::take_offline`], with the time each message was stored (for XEP-0203
    /// delay stamps added at delivery time).
    pub async fn take_offline_with_times(
        &self,
        user: &BareJid,
    ) -> Result<Vec<(String, SystemTime)>, StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let tx = write_transaction(conn)?;
            let Some(id) = crate::rows::account_id(&tx, &user)? else {
                return Ok(Vec::new());
            };
            let messages = {
                let mut stmt = tx.prepare(
                    "SELECT stanza, stored_at FROM offline WHERE account = ?1 ORDER BY seq",
                )?;
                let rows = stmt.query_map([id], |r| {
                    let stored_at: i64 = r.get(1)?;
                    let at = UNIX_EPOCH + Duration::from_secs(stored_at.max(0) as u64);
                    Ok((r.get::<_, String>(0)?, at))
                })?;
                rows.collect::<Result<Vec<_>, _>>()?
            };
            tx.execute("DELETE FROM offline WHERE account = ?1", [id])?;
            tx.commit()?;
            Ok(messages)
        })
        .await
    }
}
