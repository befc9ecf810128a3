//! Checkpoints on a thread of their own during a long write.
//!
//! In WAL mode every commit appends pages to the write-ahead log, and a checkpoint
//! copies them back into the database file (and, with `synchronous=NORMAL`, syncs it).
//! SQLite runs that checkpoint in the committing connection, so a long ingest would
//! stop applying events while its commit's pages are copied and synced. A
//! [`BackgroundCheckpoints`] turns that off for the store's connection and has a second
//! connection, on its own thread, copy what was committed (a passive checkpoint, which
//! never waits for the writer nor blocks it) a few times a second.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{Connection, OpenFlags};

use super::{BUSY_TIMEOUT, Store, WAL_AUTOCHECKPOINT};

/// How often the checkpointing thread looks for committed pages to copy.
const INTERVAL: Duration = Duration::from_millis(200);

/// Checkpoints taken off the store's connection while this lives; dropping it stops
/// the thread (after its last checkpoint) and gives the connection its own back.
pub struct BackgroundCheckpoints<'a> {
    store: &'a Store,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Store {
    /// Starts checkpointing on another thread (see the module's notes); `None` for a
    /// database in memory, which has no log.
    pub fn checkpoint_in_background(&self) -> Result<Option<BackgroundCheckpoints<'_>>> {
        let Some(path) = self.conn.path().filter(|p| !p.is_empty()) else {
            return Ok(None);
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .context("opening a second connection for checkpoints")?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "cache_size", -256)?;
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("checkpoints".to_string())
            .spawn(move || {
                loop {
                    let last = match stopped.recv_timeout(INTERVAL) {
                        Err(mpsc::RecvTimeoutError::Timeout) => false,
                        _ => true,
                    };
                    // A passive checkpoint copies what is committed and waits for
                    // nobody; one that fails is retried next time (or by SQLite itself
                    // once the connection has its own checkpoints back).
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    if last {
                        return;
                    }
                }
            })
            .context("starting the checkpoint thread")?;
        Ok(Some(BackgroundCheckpoints {
            store: self,
            stop: Some(stop),
            thread: Some(thread),
        }))
    }
}

impl Drop for BackgroundCheckpoints<'_> {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = self
            .store
            .conn
            .pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_reach_the_database_file_while_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let store = Store::open(&path).unwrap();
        let checkpoints = store.checkpoint_in_background().unwrap().unwrap();
        let autocheckpoint: i64 = store
            .conn
            .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
            .unwrap();
        assert_eq!(autocheckpoint, 0, "the writer no longer checkpoints itself");
        store.begin().unwrap();
        store
            .conn
            .execute_batch("CREATE TABLE t (x BLOB); INSERT INTO t VALUES (zeroblob(100000))")
            .unwrap();
        store.commit().unwrap();
        // The writer does not checkpoint and nobody else here does: the database file
        // only grows past the table's size if the other thread copied the log into it.
        let copied = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(50));
            std::fs::metadata(&path).unwrap().len() > 100_000
        });
        assert!(copied, "committed pages reached the database file");
        drop(checkpoints);
        let autocheckpoint: i64 = store
            .conn
            .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
            .unwrap();
        assert_eq!(autocheckpoint, WAL_AUTOCHECKPOINT);
        assert!(store.checkpoint_in_background().is_ok());
        let memory = Store::open_in_memory().unwrap();
        assert!(memory.checkpoint_in_background().unwrap().is_none());
    }
}
