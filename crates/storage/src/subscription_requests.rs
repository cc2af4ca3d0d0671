//! Inbound presence subscription requests awaiting the user's answer (RFC 6121 §3.1.3): the
//! complete stanza, one per contact, redelivered at each login until answered. A roster item with
//! pending-in keeps its request here too; [`Storage::set_roster_item`] without pending-in and
//! [`Storage::remove_roster_item`] drop it.

use jid::BareJid;
use rusqlite::{params, Connection, OptionalExtension};

use crate::rows::{account_id, parse_jid, require_account};
use crate::{Storage, StorageError};

impl Storage {
    /// Keeps `stanza`, the request `contact` sent the user, unless one from `contact` is already
    /// kept (only one is ever delivered, §3.1.3); `false` when one was.
    pub async fn keep_subscription_request(
        &self,
        user: &BareJid,
        contact: &BareJid,
        stanza: String,
    ) -> Result<bool, StorageError> {
        let (user, contact) = (user.clone(), contact.to_string());
        self.call(move |conn| {
            let id = require_account(conn, &user)?;
            let added = conn.execute(
                "INSERT OR IGNORE INTO subscription_requests (account, contact, stanza)
                 VALUES (?1, ?2, ?3)",
                params![id, contact, stanza],
            )?;
            Ok(added == 1)
        })
        .await
    }

    /// The kept request from `contact`, if any.
    pub async fn subscription_request(
        &self,
        user: &BareJid,
        contact: &BareJid,
    ) -> Result<Option<String>, StorageError> {
        let (user, contact) = (user.clone(), contact.to_string());
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok(None);
            };
            Ok(conn
                .query_row(
                    "SELECT stanza FROM subscription_requests WHERE account = ?1 AND contact = ?2",
                    params![id, contact],
                    |r| r.get(0),
                )
                .optional()?)
        })
        .await
    }

    /// Every kept request, in the order they arrived.
    pub async fn subscription_requests(
        &self,
        user: &BareJid,
    ) -> Result<Vec<(BareJid, String)>, StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok(Vec::new());
            };
            let mut stmt = conn.prepare_cached(
                "SELECT contact, stanza FROM subscription_requests WHERE account = ?1 ORDER BY id",
            )?;
            let rows = stmt
                .query_map([id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(contact, stanza)| Ok((parse_jid(&contact)?, stanza)))
                .collect()
        })
        .await
    }

    /// Forgets the request from `contact`; `false` when there was none.
    pub async fn drop_subscription_request(
        &self,
        user: &BareJid,
        contact: &BareJid,
    ) -> Result<bool, StorageError> {
        let (user, contact) = (user.clone(), contact.to_string());
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok(false);
            };
            Ok(forget(conn, id, &contact)? == 1)
        })
        .await
    }
}

/// Deletes the request from `contact`; the number of rows deleted. Also used by the roster writes
/// inside their transactions.
pub(crate) fn forget(
    conn: &Connection,
    account: i64,
    contact: &str,
) -> Result<usize, StorageError> {
    Ok(conn.execute(
        "DELETE FROM subscription_requests WHERE account = ?1 AND contact = ?2",
        params![account, contact],
    )?)
}
