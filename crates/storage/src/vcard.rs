//! XEP-0054 vcard-temp: each user's vCard, kept as the XML text of the `<vCard/>` element.

use jid::BareJid;
use rusqlite::OptionalExtension;

use crate::rows::{account_id, require_account};
use crate::{Storage, StorageError};

impl Storage {
    /// Stores `vcard` (the serialised `<vCard xmlns='vcard-temp'/>` element) as the user's vCard,
    /// replacing the previous one. [`StorageError::UnknownUser`] if there is no such account.
    pub async fn set_vcard(&self, user: &BareJid, vcard: String) -> Result<(), StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let id = require_account(conn, &user)?;
            conn.execute(
                "INSERT INTO vcards (account, vcard) VALUES (?1, ?2)
                 ON CONFLICT (account) DO UPDATE SET vcard = excluded.vcard",
                (id, vcard),
            )?;
            Ok(())
        })
        .await
    }

    /// The user's vCard as stored; `None` if they never set one (or there is no such account).
    pub async fn vcard(&self, user: &BareJid) -> Result<Option<String>, StorageError> {
        let user = user.clone();
        self.call(move |conn| {
            let Some(id) = account_id(conn, &user)? else {
                return Ok(None);
            };
            Ok(conn
                .query_row("SELECT vcard FROM vcards WHERE account = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?)
        })
        .await
    }
}
