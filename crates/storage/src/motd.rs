//! Message of the day (jabberd2's `motd-message` and `motd-times`): one per hosted domain, and
//! per user the set time of the last one they were sent, so that each gets every message once.

use std::time::{SystemTime, UNIX_EPOCH};

use jid::BareJid;
use rusqlite::{params, OptionalExtension};

use crate::connection::write_transaction;
use crate::rows::{account_id, require_account};
use crate::{Storage, StorageError};

/// A domain's message of the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Motd {
    /// The `<message/>` as XML text.
    pub message: String,
    /// When it was set, in microseconds since the Unix epoch; strictly increasing per domain,
    /// and kept by [`Storage::update_motd`].
    pub set_at: u64,
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

impl Storage {
    /// Sets `domain`'s message of the day, replacing any previous one, with a new set time
    /// (later than the previous one's, so that everyone gets it once). Returns the set time.
    pub async fn set_motd(&self, domain: &str, message: String) -> Result<u64, StorageError> {
        let domain = domain.to_owned();
        self.call(move |conn| {
            let tx = write_transaction(conn)?;
            let previous: Option<i64> = tx
                .query_row("SELECT set_at FROM motd WHERE domain = ?1", [&domain], |r| {
                    r.get(0)
                })
                .optional()?;
            let set_at = now_micros().max(previous.map_or(0, |p| p.saturating_add(1)));
            tx.execute(
                "INSERT INTO motd (domain, message, set_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (domain) DO UPDATE SET message = excluded.message, set_at = excluded.set_at",
                params![domain, message, set_at],
            )?;
            tx.commit()?;
            Ok(set_at.max(0) as u64)
        })
        .await
    }

    /// Replaces the text of `domain`'s message of the day and keeps its set time: those who
    /// were sent it are not sent it again. `false` (nothing stored) if there is none.
    pub async fn update_motd(&self, domain: &str, message: String) -> Result<bool, StorageError> {
        let domain = domain.to_owned();
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE motd SET message = ?2 WHERE domain = ?1",
                params![domain, message],
            )?;
            Ok(n > 0)
        })
        .await
    }

    /// Removes `domain`'s message of the day; `false` if there was none.
    pub async fn delete_motd(&self, domain: &str) -> Result<bool, StorageError> {
        let domain = domain.to_owned();
        self.call(move |conn| Ok(conn.execute("DELETE FROM motd WHERE domain = ?1", [domain])? > 0))
            .await
    }

    /// `domain`'s message of the day, if one is set.
    pub async fn motd(&self, domain: &str) -> Result<Option<Motd>, StorageError> {
        let domain = domain.to_owned();
        self.call(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT message, set_at FROM motd WHERE domain = ?1",
                    [domain],
                    |r| {
                        Ok(Motd {
                            message: r.get(0)?,
                            set_at: r.get::<_, i64>(1)?.max(0) as u64,
                        })
                    },
                )
                .optional()?)
        })
        .await
    }

    /// The set time of the last message of the day the user was sent; `None` if none ever was
    /// (or there is no such account).
    pub async fn motd_seen(&self, user: &BareJid) -> Result<Option<u64>, StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok(None);
            };
            let seen: Option<i64> = conn
                .query_row("SELECT seen FROM motd_seen WHERE account = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?;
            Ok(seen.map(|s| s.max(0) as u64))
        })
        .await
    }

    /// Records that the user was sent the message of the day set at `set_at`.
    /// [`StorageError::UnknownUser`] if there is no such account.
    pub async fn set_motd_seen(&self, user: &BareJid, set_at: u64) -> Result<(), StorageError> {
        let user = user.clone();
        let seen = i64::try_from(set_at).unwrap_or(i64::MAX);
        self.call(move |conn| {
            let id = require_account(conn, &user)?;
            conn.execute(
                "INSERT INTO motd_seen (account, seen) VALUES (?1, ?2)
                 ON CONFLICT (account) DO UPDATE SET seen = excluded.seen",
                params![id, seen],
            )?;
            Ok(())
        })
        .await
    }
}
