//! Accounts and their SCRAM credentials (one record per hash, never a password).

use jid::{BareJid, DomainPart};
use rusqlite::{params, Connection, OptionalExtension};
use sasl_server::{ScramCredentials, ScramHash};

use crate::connection::write_transaction;
use crate::rows::{account_id, now, parse_jid, user_key};
use crate::{Storage, StorageError};

impl Storage {
    /// Creates the account with `credentials`; [`StorageError::Conflict`] if it exists.
    pub async fn create_account(
        &self,
        user: &BareJid,
        credentials: Vec<ScramCredentials>,
    ) -> Result<(), StorageError> {
        let (localpart, domain) = user_key(user)?;
        self.call(move |conn| {
            let tx = write_transaction(conn)?;
            let inserted = tx.execute(
                "INSERT INTO accounts (localpart, domain, created) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
                params![localpart, domain, now()],
            )?;
            if inserted == 0 {
                return Err(StorageError::Conflict);
            }
            let id = tx.last_insert_rowid();
            insert_credentials(&tx, id, &credentials)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn account_exists(&self, user: &BareJid) -> Result<bool, StorageError> {
        let user = user.clone();
        self.call(move |conn| Ok(account_id(conn, &user)?.is_some()))
            .await
    }

    /// The record for `hash`, or `None` if there is no such account or no record for that hash.
    pub async fn scram_credentials(
        &self,
        user: &BareJid,
        hash: ScramHash,
    ) -> Result<Option<ScramCredentials>, StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok(None);
            };
            Ok(conn
                .query_row(
                    "SELECT salt, iterations, stored_key, server_key FROM credentials
                     WHERE account = ?1 AND hash = ?2",
                    params![id, hash.name()],
                    |r| {
                        Ok(ScramCredentials {
                            hash,
                            salt: r.get(0)?,
                            iterations: r.get(1)?,
                            stored_key: r.get(2)?,
                            server_key: r.get(3)?,
                        })
                    },
                )
                .optional()?)
        })
        .await
    }

    /// Replaces all credentials of the account (a password change); `false` if there is no such
    /// account. Hashes absent from `credentials` lose their record, so an old password cannot
    /// survive under another mechanism.
    pub async fn set_credentials(
        &self,
        user: &BareJid,
        credentials: Vec<ScramCredentials>,
    ) -> Result<bool, StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let tx = write_transaction(conn)?;
            let Some(id) = account_id(&tx, &user)? else {
                return Ok(false);
            };
            tx.execute("DELETE FROM credentials WHERE account = ?1", [id])?;
            insert_credentials(&tx, id, &credentials)?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    /// Deletes the account and (by cascade) its credentials, roster and offline messages;
    /// `false` if there was no such account.
    pub async fn delete_account(&self, user: &BareJid) -> Result<bool, StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok(false);
            };
            Ok(conn.execute("DELETE FROM accounts WHERE id = ?1", [id])? > 0)
        })
        .await
    }

    /// The accounts of `domain` (normalised like a JID's domain), sorted by localpart; empty for a
    /// name that is not a valid domain.
    pub async fn list_accounts(&self, domain: &str) -> Result<Vec<BareJid>, StorageError> {
        let Ok(domain) = DomainPart::new(domain) else {
            return Ok(Vec::new());
        };
        let domain = domain.as_str().to_owned();
        self.call(move |conn| {
            let mut stmt = conn
                .prepare("SELECT localpart FROM accounts WHERE domain = ?1 ORDER BY localpart")?;
            let localparts = stmt
                .query_map([&domain], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            localparts
                .iter()
                .map(|local| parse_jid(&format!("{local}@{domain}")))
                .collect()
        })
        .await
    }
}

fn insert_credentials(
    conn: &Connection,
    account: i64,
    credentials: &[ScramCredentials],
) -> Result<(), StorageError> {
    // A second record for the same hash replaces the first rather than failing the whole call.
    let mut stmt = conn.prepare(
        "INSERT OR REPLACE INTO credentials
         (account, hash, salt, iterations, stored_key, server_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for c in credentials {
        stmt.execute(params![
            account,
            c.hash.name(),
            c.salt,
            c.iterations,
            c.stored_key,
            c.server_key
        ])?;
    }
    Ok(())
}
