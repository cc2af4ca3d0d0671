//! jabberd2's mod_vacation: each user's auto-reply settings (the text and the period it applies
//! in) and the senders already answered in that period.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jid::BareJid;
use rusqlite::{params, OptionalExtension};

use crate::rows::{account_id, require_account};
use crate::{Storage, StorageError};

/// A user's vacation settings: replies with `message` while the time is within
/// `[start, end]`; a bound that is `None` is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vacation {
    pub start: Option<SystemTime>,
    pub end: Option<SystemTime>,
    pub message: String,
}

impl Vacation {
    /// Whether `at` lies within the period (bounds included).
    pub fn covers(&self, at: SystemTime) -> bool {
        self.start.is_none_or(|s| s <= at) && self.end.is_none_or(|e| at <= e)
    }
}

fn to_secs(t: Option<SystemTime>) -> Option<i64> {
    t.map(|t| match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    })
}

fn from_secs(secs: Option<i64>) -> Option<SystemTime> {
    secs.map(|s| {
        let d = Duration::from_secs(s.unsigned_abs());
        if s >= 0 {
            UNIX_EPOCH + d
        } else {
            UNIX_EPOCH - d
        }
    })
}

impl Storage {
    /// Stores the user's vacation settings, replacing the previous ones, and forgets who was
    /// answered: a new period starts. [`StorageError::UnknownUser`] if there is no such account.
    pub async fn set_vacation(
        &self,
        user: &BareJid,
        vacation: Vacation,
    ) -> Result<(), StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let id = require_account(&tx, &user)?;
            tx.execute("DELETE FROM vacation_replies WHERE account = ?1", [id])?;
            tx.execute(
                "INSERT INTO vacation_settings (account, start, \"end\", message) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (account) DO UPDATE SET start = excluded.start,
                     \"end\" = excluded.\"end\", message = excluded.message",
                params![id, to_secs(vacation.start), to_secs(vacation.end), vacation.message],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// The user's vacation settings; `None` if none are set (or there is no such account).
    pub async fn vacation(&self, user: &BareJid) -> Result<Option<Vacation>, StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok(None);
            };
            let row: Option<(Option<i64>, Option<i64>, String)> = conn
                .query_row(
                    "SELECT start, \"end\", message FROM vacation_settings WHERE account = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            Ok(row.map(|(start, end, message)| Vacation {
                start: from_secs(start),
                end: from_secs(end),
                message,
            }))
        })
        .await
    }

    /// Removes the user's vacation settings and who was answered; `false` if there were none.
    pub async fn clear_vacation(&self, user: &BareJid) -> Result<bool, StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok(false);
            };
            Ok(conn.execute("DELETE FROM vacation_settings WHERE account = ?1", [id])? > 0)
        })
        .await
    }

    /// Records that `sender` is being answered in the user's current vacation period: `true`
    /// the first time, `false` if they were answered already or the user has no settings.
    pub async fn note_vacation_reply(
        &self,
        user: &BareJid,
        sender: &BareJid,
    ) -> Result<bool, StorageError> {
        let user = user.clone();
        let sender = sender.to_string();
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok(false);
            };
            let added = conn.execute(
                "INSERT INTO vacation_replies (account, sender)
                 SELECT account, ?2 FROM vacation_settings WHERE account = ?1
                 ON CONFLICT (account, sender) DO NOTHING",
                params![id, sender],
            )?;
            Ok(added == 1)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_includes_its_bounds_and_open_sides() {
        let at = |s| Some(UNIX_EPOCH + Duration::from_secs(s));
        let v = |start, end| Vacation {
            start,
            end,
            message: String::new(),
        };
        let t = UNIX_EPOCH + Duration::from_secs(100);
        assert!(v(None, None).covers(t));
        assert!(v(at(100), at(100)).covers(t));
        assert!(v(at(50), None).covers(t));
        assert!(v(None, at(150)).covers(t));
        assert!(!v(at(101), None).covers(t));
        assert!(!v(None, at(99)).covers(t));
    }

    #[test]
    fn times_before_the_epoch_read_back() {
        let before = UNIX_EPOCH - Duration::from_secs(86_400);
        assert_eq!(from_secs(to_secs(Some(before))), Some(before));
        assert_eq!(from_secs(to_secs(None)), None);
    }
}
