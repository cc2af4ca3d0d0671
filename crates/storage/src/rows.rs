//! Small helpers shared by the per-table modules: account lookup, JIDs and timestamps in rows.

use std::time::{SystemTime, UNIX_EPOCH};

use jid::BareJid;
use rusqlite::{Connection, OptionalExtension};

use crate::StorageError;

/// `(localpart, domain)` of an account JID, as stored (the jid crate has already normalised them).
pub(crate) fn user_key(user: &BareJid) -> Result<(String, String), StorageError> {
    match user.node() {
        Some(node) => Ok((node.as_str().to_owned(), user.domain().as_str().to_owned())),
        None => Err(StorageError::NotAUser(user.to_string())),
    }
}

/// The account row of `user`, if there is one. A JID without a localpart has none.
pub(crate) fn account_id(conn: &Connection, user: &BareJid) -> Result<Option<i64>, StorageError> {
    let Some(node) = user.node() else {
        return Ok(None);
    };
    Ok(conn
        .query_row(
            "SELECT id FROM accounts WHERE domain = ?1 AND localpart = ?2",
            (user.domain().as_str(), node.as_str()),
            |r| r.get(0),
        )
        .optional()?)
}

/// Like [`account_id`], for writes that need the account to exist.
pub(crate) fn require_account(conn: &Connection, user: &BareJid) -> Result<i64, StorageError> {
    account_id(conn, user)?.ok_or_else(|| StorageError::UnknownUser(user.to_string()))
}

/// A JID read back from the database. Stored JIDs were normalised on the way in, so a failure
/// means the file was edited or corrupted.
pub(crate) fn parse_jid(s: &str) -> Result<BareJid, StorageError> {
    BareJid::new(s).map_err(|e| StorageError::Database(format!("stored JID {s:?}: {e}")))
}

/// Unix seconds, for `created` / `stored_at` columns.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
