//! Ingest checkpoints: how far each input file was read by committed transactions.

use anyhow::Result;
use rusqlite::{OptionalExtension, params};

use super::{Store, now_text};

/// The table that holds them (the one place that names it).
pub(crate) const CHECKPOINTS: &str = "ingest_checkpoints";

/// How far a file was read, known by its path, size and modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub path: String,
    pub size: u64,
    pub mtime_ns: i64,
    /// Where reading starts again: a byte offset and its 1-based line.
    pub offset: u64,
    pub line: u64,
    /// Inside a top-level array: the line it starts on and the index of the next item.
    pub array: Option<(u64, u64)>,
    /// Read to its end.
    pub complete: bool,
}

impl Store {
    /// The checkpoint of a file, if it has one.
    pub fn checkpoint(&self, path: &str, size: u64, mtime_ns: i64) -> Result<Option<Checkpoint>> {
        let sql = format!(
            "SELECT offset, line, array_line, array_next, complete FROM {CHECKPOINTS}
             WHERE path = ?1 AND size = ?2 AND mtime_ns = ?3"
        );
        let row = self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![path, size as i64, mtime_ns], |r| {
                let array_line: Option<i64> = r.get(2)?;
                let array_next: Option<i64> = r.get(3)?;
                Ok(Checkpoint {
                    path: path.to_string(),
                    size,
                    mtime_ns,
                    offset: r.get::<_, i64>(0)? as u64,
                    line: r.get::<_, i64>(1)? as u64,
                    array: array_line
                        .zip(array_next)
                        .map(|(l, n)| (l as u64, n as u64)),
                    complete: r.get(4)?,
                })
            })
            .optional()?;
        Ok(row)
    }

    /// Records a checkpoint (inside the transaction whose events it covers).
    pub fn save_checkpoint(&self, c: &Checkpoint) -> Result<()> {
        let sql = format!(
            "INSERT OR REPLACE INTO {CHECKPOINTS}
             (path, size, mtime_ns, offset, line, array_line, array_next, complete, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        );
        self.conn.prepare_cached(&sql)?.execute(params![
            c.path,
            c.size as i64,
            c.mtime_ns,
            c.offset as i64,
            c.line as i64,
            c.array.map(|a| a.0 as i64),
            c.array.map(|a| a.1 as i64),
            c.complete,
            now_text(),
        ])?;
        Ok(())
    }

    /// Forgets every checkpoint (the next ingest reads every file again).
    pub fn clear_checkpoints(&self) -> Result<()> {
        self.conn
            .execute(&format!("DELETE FROM {CHECKPOINTS}"), [])?;
        Ok(())
    }

    /// How many files have a checkpoint.
    pub fn count_checkpoints(&self) -> Result<u64> {
        let n: i64 =
            self.conn
                .query_row(&format!("SELECT count(*) FROM {CHECKPOINTS}"), [], |r| {
                    r.get(0)
                })?;
        Ok(n as u64)
    }
}
