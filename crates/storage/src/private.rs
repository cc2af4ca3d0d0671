//! XEP-0049 private XML storage: per user and namespace, the XML text of the elements the user
//! stored in that namespace, within a quota on the user's total.

use jid::BareJid;
use rusqlite::OptionalExtension;

use crate::connection::write_transaction;
use crate::rows::{account_id, require_account};
use crate::{Storage, StorageError};

impl Storage {
    /// Stores `data` as the user's private XML in `namespace`, replacing what was there, unless
    /// the user's private XML would then exceed `quota` bytes in all namespaces together
    /// (`false`: not stored). [`StorageError::UnknownUser`] if there is no such account.
    pub async fn set_private(
        &self,
        user: &BareJid,
        namespace: &str,
        data: String,
        quota: usize,
    ) -> Result<bool, StorageError> {
        let user = user.clone();
        let namespace = namespace.to_owned();
        self.call(move |conn| {
            let tx = write_transaction(conn)?;
            let id = require_account(&tx, &user)?;
            let others: i64 = tx.query_row(
                "SELECT COALESCE(SUM(LENGTH(CAST(data AS BLOB))), 0) FROM private_xml
                 WHERE account = ?1 AND namespace <> ?2",
                (id, &namespace),
                |r| r.get(0),
            )?;
            let total = u64::try_from(others)
                .unwrap_or(0)
                .saturating_add(data.len() as u64);
            if total > quota as u64 {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO private_xml (account, namespace, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT (account, namespace) DO UPDATE SET data = excluded.data",
                (id, &namespace, data),
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    /// The user's private XML in `namespace` as stored; `None` if nothing is stored there (or
    /// there is no such account).
    pub async fn private(
        &self,
        user: &BareJid,
        namespace: &str,
    ) -> Result<Option<String>, StorageError> {
        let user = user.clone();
        let namespace = namespace.to_owned();
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok(None);
            };
            Ok(conn
                .query_row(
                    "SELECT data FROM private_xml WHERE account = ?1 AND namespace = ?2",
                    (id, namespace),
                    |r| r.get(0),
                )
                .optional()?)
        })
        .await
    }
}
