//! XEP-0012 last activity: each user's last logout time and the status text of their last
//! unavailable presence.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jid::BareJid;
use rusqlite::{params, OptionalExtension};

use crate::rows::{account_id, require_account};
use crate::{Storage, StorageError};

/// When a user last logged out, and with what status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastLogout {
    pub at: SystemTime,
    /// The `<status/>` text of the session's last unavailable presence ("" when it had none).
    pub status: String,
}

impl Storage {
    /// Records the user's latest logout, replacing the previous one.
    /// [`StorageError::UnknownUser`] if there is no such account.
    pub async fn set_last_logout(
        &self,
        user: &BareJid,
        logout: LastLogout,
    ) -> Result<(), StorageError> {
        let user = user.clone();
        let secs = logout
            .at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.call(move |conn| {
            let id = require_account(conn, &user)?;
            conn.execute(
                "INSERT INTO last_activity (account, logout, status) VALUES (?1, ?2, ?3)
                 ON CONFLICT (account) DO UPDATE SET logout = excluded.logout, status = excluded.status",
                params![id, secs, logout.status],
            )?;
            Ok(())
        })
        .await
    }

    /// The user's latest logout; `None` if they never logged out (or there is no such account).
    pub async fn last_logout(&self, user: &BareJid) -> Result<Option<LastLogout>, StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok(None);
            };
            let row: Option<(i64, String)> = conn
                .query_row(
                    "SELECT logout, status FROM last_activity WHERE account = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            Ok(row.map(|(secs, status)| LastLogout {
                at: UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64),
                status,
            }))
        })
        .await
    }
}
