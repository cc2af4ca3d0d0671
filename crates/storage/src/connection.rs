//! Opening the SQLite connection with the settings every Starling database uses.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::{migrations, StorageError};

/// How long a statement waits for a lock held by another process (starlingctl next to a running
/// sm) before failing with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (creating it and its directory if needed) the database file, switches it to WAL and runs
/// the migrations. Blocking: runs on the storage thread.
pub(crate) fn open_file(path: &Path) -> Result<Connection, StorageError> {
    let fail = |message: String| StorageError::Open {
        file: path.to_path_buf(),
        message,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    }
    // NO_MUTEX: only the storage thread ever touches this connection.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).map_err(|e| fail(e.to_string()))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| fail(e.to_string()))?;
    // WAL lets starlingctl read and write while a daemon has the file open, and makes commits
    // cheap; NORMAL is durable across process crashes in WAL mode (only power loss can lose the
    // last commits).
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(|e| fail(e.to_string()))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(fail(format!(
            "cannot switch to WAL (journal_mode is {mode})"
        )));
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| fail(e.to_string()))?;
    setup(&mut conn, path)?;
    Ok(conn)
}

/// A transaction that will write: it takes the write lock when it begins, waiting for it up to
/// the busy timeout. A deferred one that reads first would have to upgrade its read snapshot
/// later, which fails at once with "database is locked" when another process (a second sm, c2s,
/// starlingctl) committed in between.
pub(crate) fn write_transaction(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

/// A private in-memory database, for tests.
pub(crate) fn open_memory() -> Result<Connection, StorageError> {
    let path = Path::new(":memory:");
    let mut conn = Connection::open_in_memory().map_err(|e| StorageError::Open {
        file: path.to_path_buf(),
        message: e.to_string(),
    })?;
    setup(&mut conn, path)?;
    Ok(conn)
}

/// What both kinds of database need: foreign keys (ON DELETE CASCADE is how deleting an account
/// removes the user's data; SQLite has them off by default) and the schema.
fn setup(conn: &mut Connection, path: &Path) -> Result<(), StorageError> {
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(|e| StorageError::Open {
            file: path.to_path_buf(),
            message: e.to_string(),
        })?;
    migrations::run(conn, path)
}
