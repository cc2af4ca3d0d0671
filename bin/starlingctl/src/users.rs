//! `adduser`, `passwd`, `deluser`, `users`: accounts in the configured store. Passwords are kept
//! only as SCRAM records for every hash c2s offers.

use std::io::BufRead;
use std::path::Path;

use jid::BareJid;
use sasl_server::{ScramCredentials, ScramHash};
use storage::StorageError;

use crate::error::CtlError;
use crate::{domain, secret, store};

/// The iteration count for new records (RFC 7677's minimum; c2s's registration uses the same).
pub const ITERATIONS: u32 = 4096;

/// Every hash c2s offers SCRAM for: each account gets one record per hash.
pub(crate) const HASHES: [ScramHash; 3] = [ScramHash::Sha1, ScramHash::Sha256, ScramHash::Sha512];

/// What `adduser` did, for the caller to print.
#[derive(Debug)]
pub struct Added {
    pub user: BareJid,
    /// Set when no password was given and one was generated: the administrator must see it.
    pub generated_password: Option<String>,
}

/// A user address from the command line: a bare JID with a localpart, normalised by the jid
/// crate. One trailing dot on the domain is dropped, because the jid crate keeps it and
/// `a@example.org.` would otherwise be a different account from `a@example.org`.
pub fn parse_user(text: &str) -> Result<BareJid, CtlError> {
    let trimmed = text.strip_suffix('.').unwrap_or(text);
    let user = BareJid::new(trimmed)
        .map_err(|e| CtlError::new(format_args!("{text:?} is not a valid JID: {e}")))?;
    if user.node().is_none() {
        return Err(CtlError::new(format_args!(
            "{text:?} is not a user address: expected user@domain"
        )));
    }
    Ok(user)
}

/// The password argument: given, `-` for one line on stdin (keeps it out of `ps` and shell
/// history), or absent for a generated one.
fn password(given: Option<&str>) -> Result<(String, bool), CtlError> {
    match given {
        Some("-") => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| CtlError::new(format_args!("cannot read the password: {e}")))?;
            Ok((line.trim_end_matches(['\r', '\n']).to_owned(), false))
        }
        Some(p) => Ok((p.to_owned(), false)),
        None => secret::generate()
            .map(|p| (p, true))
            .map_err(|e| CtlError::new(format_args!("cannot generate a password: {e}"))),
    }
}

/// SCRAM records of `password` for every hash.
pub(crate) fn credentials(password: &str) -> Result<Vec<ScramCredentials>, CtlError> {
    HASHES
        .iter()
        .map(|&hash| {
            ScramCredentials::generate(hash, password, ITERATIONS).map_err(|e| {
                CtlError::new(format_args!(
                    "password rejected ({e}): it must be non-empty and valid under SASLprep"
                ))
            })
        })
        .collect()
}

/// A failed store call, for the administrator.
pub(crate) fn db_error(e: StorageError) -> CtlError {
    CtlError::new(format_args!("user store: {e}"))
}

pub async fn add(etc: &Path, user: &str, given: Option<&str>) -> Result<Added, CtlError> {
    let user = parse_user(user)?;
    let (password, generated) = password(given)?;
    let credentials = credentials(&password)?;
    let store = store::open(etc).await?;
    match store.create_account(&user, credentials).await {
        Ok(()) => Ok(Added {
            user,
            generated_password: generated.then_some(password),
        }),
        Err(StorageError::Conflict) => Err(CtlError::new(format_args!("{user} already exists"))),
        Err(e) => Err(db_error(e)),
    }
}

/// Sets a new password; returns the generated one if none was given.
pub async fn passwd(
    etc: &Path,
    user: &str,
    given: Option<&str>,
) -> Result<Option<String>, CtlError> {
    let user = parse_user(user)?;
    let (password, generated) = password(given)?;
    let credentials = credentials(&password)?;
    let store = store::open(etc).await?;
    if !store
        .set_credentials(&user, credentials)
        .await
        .map_err(db_error)?
    {
        return Err(CtlError::new(format_args!("no such user: {user}")));
    }
    Ok(generated.then_some(password))
}

pub async fn delete(etc: &Path, user: &str) -> Result<BareJid, CtlError> {
    let user = parse_user(user)?;
    let store = store::open(etc).await?;
    if !store.delete_account(&user).await.map_err(db_error)? {
        return Err(CtlError::new(format_args!("no such user: {user}")));
    }
    Ok(user)
}

pub async fn list(etc: &Path, domain_name: &str) -> Result<Vec<BareJid>, CtlError> {
    let name = domain::validate("domain", domain_name)?;
    let store = store::open(etc).await?;
    store.list_accounts(&name).await.map_err(db_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_addresses() {
        assert_eq!(
            parse_user("Alice@Example.TEST").unwrap().to_string(),
            "alice@example.test"
        );
        assert_eq!(
            parse_user("alice@example.test.").unwrap().to_string(),
            "alice@example.test"
        );
        for bad in [
            "example.test",
            "alice@example.test/res",
            "a b@example.test",
            "@x",
            "",
        ] {
            assert!(parse_user(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[tokio::test]
    async fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path();
        std::fs::write(etc.join("sm.toml"), "[storage]\npath = \"db/users.db\"\n").unwrap();
        let added = add(etc, "alice@example.test", None).await.unwrap();
        assert_eq!(added.generated_password.as_ref().map(String::len), Some(32));
        assert!(add(etc, "alice@example.test", Some("x"))
            .await
            .unwrap_err()
            .to_string()
            .contains("already exists"));
        assert_eq!(
            list(etc, "example.test").await.unwrap(),
            vec![added.user.clone()]
        );
        assert_eq!(
            passwd(etc, "alice@example.test", Some("new"))
                .await
                .unwrap(),
            None
        );
        assert!(passwd(etc, "bob@example.test", Some("x")).await.is_err());
        assert!(add(etc, "bob@example.test", Some("")).await.is_err());
        delete(etc, "alice@example.test").await.unwrap();
        assert!(delete(etc, "alice@example.test").await.is_err());
        assert!(list(etc, "example.test").await.unwrap().is_empty());
        assert!(etc.join("db/users.db").exists());
    }
}
