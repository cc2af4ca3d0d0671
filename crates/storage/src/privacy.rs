//! XEP-0016 privacy lists: each user's named lists of ordered items and the user's default list
//! (XEP-0191's blocklist lives in the default list), within a quota on the user's items.

use jid::{BareJid, Jid};
use rusqlite::{Connection, OptionalExtension, Row};

use crate::connection::write_transaction;
use crate::rows::{account_id, require_account};
use crate::{
    PrivacyItem, PrivacyList, PrivacyMatch, PrivacyStanzas, Storage, StorageError, Subscription,
};

impl Storage {
    /// The names of the user's lists, sorted, and the name of the default list. Empty for a user
    /// with no lists or no account.
    pub async fn privacy_lists(
        &self,
        user: &BareJid,
    ) -> Result<(Vec<String>, Option<String>), StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok((Vec::new(), None));
            };
            let mut names = conn.prepare_cached(
                "SELECT name FROM privacy_lists WHERE account = ?1 ORDER BY name",
            )?;
            let names = names
                .query_map([id], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            let default = default_list(conn, id)?.map(|(_, name)| name);
            Ok((names, default))
        })
        .await
    }

    /// The items of the user's list `name` in processing order; `None` if there is no such list.
    pub async fn privacy_list(
        &self,
        user: &BareJid,
        name: &str,
    ) -> Result<Option<Vec<PrivacyItem>>, StorageError> {
        let user = user.clone();
        let name = name.to_owned();
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok(None);
            };
            match list_id(conn, id, &name)? {
                Some(list) => Ok(Some(items(conn, list)?)),
                None => Ok(None),
            }
        })
        .await
    }

    /// The user's default list, if the user has one.
    pub async fn default_privacy_list(
        &self,
        user: &BareJid,
    ) -> Result<Option<PrivacyList>, StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok(None);
            };
            match default_list(conn, id)? {
                Some((list, name)) => Ok(Some(PrivacyList {
                    name,
                    items: items(conn, list)?,
                })),
                None => Ok(None),
            }
        })
        .await
    }

    /// Creates the user's list `name` with `items`, or replaces the items of the list of that
    /// name, unless the user's lists would then hold more than `quota` items together (`false`:
    /// not stored). The items' orders must be unique. [`StorageError::UnknownUser`] if there is
    /// no such account.
    pub async fn set_privacy_list(
        &self,
        user: &BareJid,
        name: &str,
        items: Vec<PrivacyItem>,
        quota: usize,
    ) -> Result<bool, StorageError> {
        let user = user.clone();
        let name = name.to_owned();
        self.call(move |conn| {
            let tx = write_transaction(conn)?;
            let id = require_account(&tx, &user)?;
            let others: i64 = tx.query_row(
                "SELECT COUNT(*) FROM privacy_items i JOIN privacy_lists l ON l.id = i.list
                 WHERE l.account = ?1 AND l.name <> ?2",
                (id, &name),
                |r| r.get(0),
            )?;
            let total = usize::try_from(others)
                .unwrap_or(usize::MAX)
                .saturating_add(items.len());
            if total > quota {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO privacy_lists (account, name) VALUES (?1, ?2)
                 ON CONFLICT (account, name) DO NOTHING",
                (id, &name),
            )?;
            let list = list_id(&tx, id, &name)?
                .ok_or_else(|| StorageError::Database("privacy list vanished".into()))?;
            tx.execute("DELETE FROM privacy_items WHERE list = ?1", [list])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO privacy_items
                 (list, ord, type, value, allow, message, iq, presence_in, presence_out)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for item in &items {
                let (typ, value) = stored_match(&item.matches);
                let s = item.stanzas;
                insert.execute(rusqlite::params![
                    list,
                    item.order,
                    typ,
                    value,
                    item.allow,
                    s.message,
                    s.iq,
                    s.presence_in,
                    s.presence_out,
                ])?;
            }
            drop(insert);
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    /// Removes the user's list `name` (`false`: there is none). Removing the default list leaves
    /// the user without one.
    pub async fn remove_privacy_list(
        &self,
        user: &BareJid,
        name: &str,
    ) -> Result<bool, StorageError> {
        let user = user.clone();
        let name = name.to_owned();
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok(false);
            };
            let removed = conn.execute(
                "DELETE FROM privacy_lists WHERE account = ?1 AND name = ?2",
                (id, name),
            )?;
            Ok(removed > 0)
        })
        .await
    }

    /// Makes the user's list `name` the default list, or with `None` leaves the user without one
    /// (`false`: there is no list of that name, nothing changed).
    pub async fn set_default_privacy_list(
        &self,
        user: &BareJid,
        name: Option<&str>,
    ) -> Result<bool, StorageError> {
        let user = user.clone();
        let name = name.map(str::to_owned);
        self.call(move |conn| {
            let tx = write_transaction(conn)?;
            let Some(id) = account_id(&tx, &user)? else {
                return Ok(name.is_none());
            };
            let Some(name) = name else {
                tx.execute("DELETE FROM privacy_defaults WHERE account = ?1", [id])?;
                tx.commit()?;
                return Ok(true);
            };
            let Some(list) = list_id(&tx, id, &name)? else {
                return Ok(false);
            };
            tx.execute(
                "INSERT INTO privacy_defaults (account, list) VALUES (?1, ?2)
                 ON CONFLICT (account) DO UPDATE SET list = excluded.list",
                (id, list),
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }
}

fn list_id(conn: &Connection, account: i64, name: &str) -> Result<Option<i64>, StorageError> {
    Ok(conn
        .query_row(
            "SELECT id FROM privacy_lists WHERE account = ?1 AND name = ?2",
            (account, name),
            |r| r.get(0),
        )
        .optional()?)
}

/// The id and name of the account's default list.
fn default_list(conn: &Connection, account: i64) -> Result<Option<(i64, String)>, StorageError> {
    Ok(conn
        .query_row(
            "SELECT l.id, l.name FROM privacy_defaults d JOIN privacy_lists l ON l.id = d.list
             WHERE d.account = ?1",
            [account],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

fn items(conn: &Connection, list: i64) -> Result<Vec<PrivacyItem>, StorageError> {
    let mut select = conn.prepare_cached(
        "SELECT ord, type, value, allow, message, iq, presence_in, presence_out
         FROM privacy_items WHERE list = ?1 ORDER BY ord",
    )?;
    let rows = select
        .query_map([list], raw_item)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(RawItem::parse).collect()
}

/// The `type` and `value` columns of a match.
fn stored_match(matches: &PrivacyMatch) -> (Option<&'static str>, String) {
    match matches {
        PrivacyMatch::Everyone => (None, String::new()),
        PrivacyMatch::Jid(jid) => (Some("jid"), jid.to_string()),
        PrivacyMatch::Group(group) => (Some("group"), group.clone()),
        PrivacyMatch::Subscription(s) => (Some("subscription"), s.as_str().to_owned()),
    }
}

/// A row of `privacy_items` before its `type` and `value` are checked.
struct RawItem {
    order: u32,
    typ: Option<String>,
    value: String,
    allow: bool,
    stanzas: PrivacyStanzas,
}

fn raw_item(r: &Row<'_>) -> rusqlite::Result<RawItem> {
    Ok(RawItem {
        order: r.get(0)?,
        typ: r.get(1)?,
        value: r.get(2)?,
        allow: r.get(3)?,
        stanzas: PrivacyStanzas {
            message: r.get(4)?,
            iq: r.get(5)?,
            presence_in: r.get(6)?,
            presence_out: r.get(7)?,
        },
    })
}

impl RawItem {
    /// Values were checked on the way in, so a failure means the file was edited or corrupted.
    fn parse(self) -> Result<PrivacyItem, StorageError> {
        let bad = || {
            StorageError::Database(format!(
                "stored privacy item {:?}={:?} does not parse",
                self.typ, self.value
            ))
        };
        let matches = match self.typ.as_deref() {
            None => PrivacyMatch::Everyone,
            Some("jid") => PrivacyMatch::Jid(Jid::new(&self.value).map_err(|_| bad())?),
            Some("group") => PrivacyMatch::Group(self.value.clone()),
            Some("subscription") => {
                PrivacyMatch::Subscription(Subscription::parse(&self.value).ok_or_else(bad)?)
            }
            Some(_) => return Err(bad()),
        };
        Ok(PrivacyItem {
            order: self.order,
            matches,
            allow: self.allow,
            stanzas: self.stanzas,
        })
    }
}
