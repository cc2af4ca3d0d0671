//! Reading one account's data out of the store, for `export`.

use jid::BareJid;
use storage::{PrivacyList, Storage, StorageError};

use super::{Secret, UserData};
use crate::users::HASHES;

/// Everything the store keeps for `user` (which must have an account), read without changing
/// anything: the offline queue stays queued.
pub async fn load(store: &Storage, user: BareJid) -> Result<UserData, StorageError> {
    let mut credentials = Vec::new();
    for hash in HASHES {
        credentials.extend(store.scram_credentials(&user, hash).await?);
    }
    let mut data = UserData::new(user, Secret::Scram(credentials));
    data.roster = store.roster(&data.user).await?.1;
    data.requests = store.subscription_requests(&data.user).await?;
    data.offline = store.peek_offline(&data.user).await?;
    data.vcard = store.vcard(&data.user).await?;
    data.private = store.all_private(&data.user).await?;
    data.last_logout = store.last_logout(&data.user).await?;
    let (names, default) = store.privacy_lists(&data.user).await?;
    for name in names {
        if let Some(items) = store.privacy_list(&data.user, &name).await? {
            data.privacy.push(PrivacyList { name, items });
        }
    }
    data.default_privacy = default;
    Ok(data)
}
