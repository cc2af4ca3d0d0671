//! The [`Storage`] handle and opening a database.

use std::path::PathBuf;

use rusqlite::Connection;

use crate::actor::Actor;
use crate::{connection, StorageConfig, StorageError};

/// A handle on the database; cheap to clone (a channel sender), usable from any task.
#[derive(Clone)]
pub struct Storage {
    actor: Actor,
}

/// So that daemon state holding a `Storage` can derive `Debug`.
impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Storage")
    }
}

impl Storage {
    /// Opens `config.path` as given (resolve it with [`StorageConfig::resolve`] first), creating
    /// the file and its directory, switching to WAL and running the migrations.
    pub async fn open(config: &StorageConfig) -> Result<Storage, StorageError> {
        let path: PathBuf = config.path.clone();
        let actor = Actor::start(move || connection::open_file(&path)).await?;
        Ok(Storage { actor })
    }

    /// A private in-memory database with the full schema, for tests.
    pub async fn open_in_memory() -> Result<Storage, StorageError> {
        let actor = Actor::start(connection::open_memory).await?;
        Ok(Storage { actor })
    }

    /// Runs `f` on the storage thread.
    pub(crate) async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        self.actor.call(f).await
    }
}
