//! Versioned schema migrations. Migration N (1-based) is `MIGRATIONS[N - 1]`; the database's
//! `PRAGMA user_version` is the number of migrations applied. The version check, the pending
//! migrations and the version bump run in one IMMEDIATE transaction: a crash mid-way leaves the
//! previous version intact, and of two daemons opening a new file at once (c2s and sm share it)
//! the second waits for the first and then finds nothing to do.
//! Never edit a released migration: add a new file.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::StorageError;

const MIGRATIONS: &[&str] = &[
    include_str!("0001_initial.sql"),
    include_str!("0002_subscription_requests.sql"),
    include_str!("0003_last_activity.sql"),
    include_str!("0004_vcard_private.sql"),
    include_str!("0005_privacy.sql"),
    include_str!("0006_vacation.sql"),
    include_str!("0007_motd.sql"),
];

/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the schema up to [`SCHEMA_VERSION`]; a no-op when it already is.
pub(crate) fn run(conn: &mut Connection, path: &Path) -> Result<(), StorageError> {
    let fail = |e: rusqlite::Error| StorageError::Open {
        file: path.to_path_buf(),
        message: format!("schema migration failed: {e}"),
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail)?;
    let found: i64 = tx
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(fail)?;
    if found < 0 {
        // Not something Starling writes: another program owns this file.
        return Err(StorageError::Open {
            file: path.to_path_buf(),
            message: format!("schema version {found} was not written by Starling"),
        });
    }
    if found > SCHEMA_VERSION {
        return Err(StorageError::NewerSchema {
            file: path.to_path_buf(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    for sql in &MIGRATIONS[found as usize..] {
        tx.execute_batch(sql).map_err(fail)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(fail)?;
    tx.commit().map_err(fail)?;
    tracing::info!(file = %path.display(), from = found, to = SCHEMA_VERSION, "database schema migrated");
    Ok(())
}
