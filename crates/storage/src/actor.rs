//! The thread that owns the SQLite connection (the writer-actor pattern): every call is a closure
//! sent over a bounded channel and answered on a oneshot, so no SQLite call ever blocks a tokio
//! worker, and SQLite's single-writer rule is met without `SQLITE_BUSY` retries.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::StorageError;

/// Calls waiting beyond this many make callers wait in `send` (backpressure) rather than growing
/// a queue without bound when the disk is slow.
const QUEUE: usize = 1024;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The sending side; cheap to clone. The thread ends when the last clone is dropped.
#[derive(Clone)]
pub(crate) struct Actor {
    jobs: mpsc::Sender<Job>,
}

impl Actor {
    /// Starts the thread, which first runs `open` to create its connection; the result of `open`
    /// is awaited here so that a bad file is reported by `Storage::open` itself.
    pub(crate) async fn start(
        open: impl FnOnce() -> Result<Connection, StorageError> + Send + 'static,
    ) -> Result<Actor, StorageError> {
        let (jobs, mut rx) = mpsc::channel::<Job>(QUEUE);
        let (ready_tx, ready_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("storage-sqlite".into())
            .spawn(move || {
                let mut conn = match open() {
                    Ok(conn) => {
                        let _ = ready_tx.send(Ok(()));
                        conn
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Some(job) = rx.blocking_recv() {
                    // A panicking job must not take every other user's storage down with it; its
                    // caller sees `Closed` because its reply sender is dropped during unwinding.
                    if catch_unwind(AssertUnwindSafe(|| job(&mut conn))).is_err() {
                        tracing::error!("a storage call panicked; continuing");
                    }
                }
            })
            .map_err(|e| StorageError::Database(format!("cannot start the storage thread: {e}")))?;
        ready_rx.await.map_err(|_| StorageError::Closed)??;
        Ok(Actor { jobs })
    }

    /// Runs `f` on the storage thread and returns its result.
    pub(crate) async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = tx.send(f(conn));
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| StorageError::Closed)?;
        rx.await.map_err(|_| StorageError::Closed)?
    }
}
