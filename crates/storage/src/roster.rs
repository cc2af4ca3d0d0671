//! Rosters (RFC 6121 §2) with versioning (XEP-0237): every change — the first item added, every
//! update, every removal — bumps the user's version, and a per-user change log answers "what
//! changed since version N".

use std::collections::HashMap;

use jid::BareJid;
use rusqlite::{params, Connection, OptionalExtension};

use crate::connection::write_transaction;
use crate::rows::{account_id, parse_jid, require_account};
use crate::{subscription_requests, RosterChange, RosterItem, Storage, StorageError, Subscription};

/// How many contacts' latest changes are kept per user. A client whose version is older than the
/// oldest kept change gets the whole roster instead of a diff.
pub(crate) const CHANGE_LOG_LIMIT: i64 = 1000;

impl Storage {
    /// The current version and all items (pending-in-only items included: the caller decides what
    /// a client sees). `(0, [])` for a user with no roster or no account.
    pub async fn roster(&self, user: &BareJid) -> Result<(u64, Vec<RosterItem>), StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let Some(id) = account_id(&tx, &user)? else {
                return Ok((0, Vec::new()));
            };
            let (version, _) = versions(&tx, id)?;
            Ok((version, load_items(&tx, id, None)?))
        })
        .await
    }

    pub async fn roster_item(
        &self,
        user: &BareJid,
        contact: &BareJid,
    ) -> Result<Option<RosterItem>, StorageError> {
        let (user, contact) = (user.clone(), contact.to_string());
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok(None);
            };
            Ok(load_items(conn, id, Some(&contact))?.pop())
        })
        .await
    }

    /// Inserts or replaces the item for `item.jid`; returns the new roster version. Without
    /// pending-in, the kept subscription request from the contact goes too.
    pub async fn set_roster_item(
        &self,
        user: &BareJid,
        item: RosterItem,
    ) -> Result<u64, StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let tx = write_transaction(conn)?;
            let id = require_account(&tx, &user)?;
            let contact = item.jid.to_string();
            let item_id: i64 = tx.query_row(
                "INSERT INTO roster_items (account, contact, name, subscription, ask_out, pending_in)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (account, contact) DO UPDATE SET
                   name = excluded.name, subscription = excluded.subscription,
                   ask_out = excluded.ask_out, pending_in = excluded.pending_in
                 RETURNING id",
                params![
                    id,
                    contact,
                    item.name,
                    item.subscription.as_str(),
                    item.ask_out,
                    item.pending_in
                ],
                |r| r.get(0),
            )?;
            tx.execute("DELETE FROM roster_groups WHERE item = ?1", [item_id])?;
            {
                // OR IGNORE: a group named twice is stored once (rejecting it is the sm's job).
                let mut stmt = tx.prepare(
                    "INSERT OR IGNORE INTO roster_groups (item, name, position) VALUES (?1, ?2, ?3)",
                )?;
                for (position, group) in item.groups.iter().enumerate() {
                    stmt.execute(params![item_id, group, position as i64])?;
                }
            }
            if !item.pending_in {
                // Answered (or withdrawn): the kept request is no longer delivered.
                subscription_requests::forget(&tx, id, &contact)?;
            }
            let version = record_change(&tx, id, &contact, false)?;
            tx.commit()?;
            Ok(version)
        })
        .await
    }

    /// Removes the item (and the contact's kept subscription request); the new version, or `None`
    /// (and no change) if it was not there.
    pub async fn remove_roster_item(
        &self,
        user: &BareJid,
        contact: &BareJid,
    ) -> Result<Option<u64>, StorageError> {
        let (user, contact) = (user.clone(), contact.to_string());
        self.call(move |conn| {
            let tx = write_transaction(conn)?;
            let Some(id) = account_id(&tx, &user)? else {
                return Ok(None);
            };
            let removed = tx.execute(
                "DELETE FROM roster_items WHERE account = ?1 AND contact = ?2",
                params![id, contact],
            )?;
            if removed == 0 {
                return Ok(None);
            }
            subscription_requests::forget(&tx, id, &contact)?;
            let version = record_change(&tx, id, &contact, true)?;
            tx.commit()?;
            Ok(Some(version))
        })
        .await
    }

    /// The changes after `version`, oldest first, one per contact with its latest state
    /// (`item: None` = removed), with the current version; `None` when `version` is newer than
    /// the current one, older than the change log reaches, or the user has no account.
    pub async fn roster_changes_since(
        &self,
        user: &BareJid,
        version: u64,
    ) -> Result<Option<(u64, Vec<RosterChange>)>, StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let Some(id) = account_id(&tx, &user)? else {
                return Ok(None);
            };
            let (current, pruned) = versions(&tx, id)?;
            if version > current || version < pruned {
                return Ok(None);
            }
            let log: Vec<(i64, String, bool)> = {
                let mut stmt = tx.prepare(
                    "SELECT version, contact, removed FROM roster_changes
                     WHERE account = ?1 AND version > ?2 ORDER BY version",
                )?;
                let rows = stmt.query_map(params![id, version as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
                rows.collect::<Result<_, _>>()?
            };
            let mut changes = Vec::with_capacity(log.len());
            for (version, contact, removed) in log {
                let item = if removed {
                    None
                } else {
                    load_items(&tx, id, Some(&contact))?.pop()
                };
                changes.push(RosterChange {
                    version: version as u64,
                    jid: parse_jid(&contact)?,
                    item,
                });
            }
            Ok(Some((current, changes)))
        })
        .await
    }
}

/// `(current version, newest pruned version)`; `(0, 0)` before the first change.
fn versions(conn: &Connection, account: i64) -> Result<(u64, u64), StorageError> {
    let row: Option<(i64, i64)> = conn
        .query_row(
            "SELECT version, pruned FROM roster_versions WHERE account = ?1",
            [account],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (version, pruned) = row.unwrap_or((0, 0));
    Ok((version as u64, pruned as u64))
}

/// Bumps the version and logs the change for `contact`, replacing its previous log entry (only
/// the latest state of a contact matters to a diff) and pruning the oldest entries beyond
/// [`CHANGE_LOG_LIMIT`]. Must run inside the caller's transaction.
fn record_change(
    conn: &Connection,
    account: i64,
    contact: &str,
    removed: bool,
) -> Result<u64, StorageError> {
    let version: i64 = conn.query_row(
        "INSERT INTO roster_versions (account, version) VALUES (?1, 1)
         ON CONFLICT (account) DO UPDATE SET version = version + 1
         RETURNING version",
        [account],
        |r| r.get(0),
    )?;
    conn.execute(
        "DELETE FROM roster_changes WHERE account = ?1 AND contact = ?2",
        params![account, contact],
    )?;
    conn.execute(
        "INSERT INTO roster_changes (account, version, contact, removed) VALUES (?1, ?2, ?3, ?4)",
        params![account, version, contact, removed],
    )?;
    // The newest entry that falls outside the limit, if any: it and everything older go.
    let cut: Option<i64> = conn
        .query_row(
            "SELECT version FROM roster_changes WHERE account = ?1
             ORDER BY version DESC LIMIT 1 OFFSET ?2",
            params![account, CHANGE_LOG_LIMIT],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(cut) = cut {
        conn.execute(
            "DELETE FROM roster_changes WHERE account = ?1 AND version <= ?2",
            params![account, cut],
        )?;
        conn.execute(
            "UPDATE roster_versions SET pruned = MAX(pruned, ?2) WHERE account = ?1",
            params![account, cut],
        )?;
    }
    Ok(version as u64)
}

/// The user's items (or just `contact`'s), in insertion order, with their groups.
fn load_items(
    conn: &Connection,
    account: i64,
    contact: Option<&str>,
) -> Result<Vec<RosterItem>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, contact, name, subscription, ask_out, pending_in FROM roster_items
         WHERE account = ?1 AND (?2 IS NULL OR contact = ?2) ORDER BY id",
    )?;
    let rows = stmt
        .query_map(params![account, contact], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, bool>(5)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut groups = load_groups(conn, account, contact)?;
    rows.into_iter()
        .map(|(id, jid, name, subscription, ask_out, pending_in)| {
            Ok(RosterItem {
                jid: parse_jid(&jid)?,
                name,
                subscription: Subscription::parse(&subscription).ok_or_else(|| {
                    StorageError::Database(format!("stored subscription {subscription:?}"))
                })?,
                ask_out,
                pending_in,
                groups: groups.remove(&id).unwrap_or_default(),
            })
        })
        .collect()
}

/// Groups per item id, each list in the order the client gave them.
fn load_groups(
    conn: &Connection,
    account: i64,
    contact: Option<&str>,
) -> Result<HashMap<i64, Vec<String>>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT g.item, g.name FROM roster_groups g JOIN roster_items i ON i.id = g.item
         WHERE i.account = ?1 AND (?2 IS NULL OR i.contact = ?2) ORDER BY g.item, g.position",
    )?;
    let mut groups: HashMap<i64, Vec<String>> = HashMap::new();
    let rows = stmt.query_map(params![account, contact], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (item, name) = row?;
        groups.entry(item).or_default().push(name);
    }
    Ok(groups)
}
