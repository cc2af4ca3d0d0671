//! The one error type of the storage API.

use std::path::PathBuf;

/// Why a storage call failed. Callers match on [`StorageError::Conflict`] and
/// [`StorageError::UnknownUser`]; everything else is an operational fault to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The account (or other unique thing) already exists.
    #[error("already exists")]
    Conflict,
    /// A per-user write (roster item, offline message) for a JID that has no account: user data
    /// hangs off the account so that deleting the account deletes all of it.
    #[error("no such account: {0}")]
    UnknownUser(String),
    /// An account JID must have a localpart (`user@domain`), a domain alone cannot log in.
    #[error("{0} is not a user address (user@domain)")]
    NotAUser(String),
    /// The database file was written by a newer Starling; refusing to touch it protects the data.
    #[error(
        "{}: database schema version {found} is newer than this program knows (up to {known}); \
         upgrade Starling or use another file",
        file.display()
    )]
    NewerSchema {
        file: PathBuf,
        found: i64,
        known: i64,
    },
    /// The database could not be opened or migrated.
    #[error("{}: {message}", file.display())]
    Open { file: PathBuf, message: String },
    /// An SQLite error (or a stored row that does not parse) during a call.
    #[error("database error: {0}")]
    Database(String),
    /// The storage thread is gone (it only stops when every handle is dropped, or after a panic).
    #[error("storage thread stopped")]
    Closed,
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError::Database(e.to_string())
    }
}
