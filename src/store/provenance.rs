//! Provenance rows: which event wrote what to a profile (written by ingest in the same
//! transactions as the profiles; read by `explain`).

use anyhow::Result;
use std::ops::Range;
use std::sync::LazyLock;

use rusqlite::{OptionalExtension, Statement, params};

use super::Store;

/// The event a provenance row names, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenanceEvent<'a> {
    pub message_id: &'a str,
    pub kind: &'static str,
    pub event_ms: i64,
    pub source: i64,
    pub line: u64,
    pub item: Option<usize>,
    pub received_ms: i64,
}

/// A provenance row as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenanceRow {
    /// Order of recording.
    pub id: i64,
    pub message_id: String,
    pub kind: String,
    pub event_ms: i64,
    pub source: String,
    pub line: i64,
    pub item: Option<i64>,
    pub received_ms: i64,
    pub writes: Vec<u8>,
}

/// The provenance owner of a user profile.
pub fn user_owner(user_ref: i64) -> i64 {
    user_ref
}

/// The provenance owner of a company.
pub fn company_owner(company_ref: i64) -> i64 {
    -company_ref
}

/// Provenance rows gathered to be written together: one statement writes
/// [`ProvenanceBatch::ROWS`] rows (the table's end is found once for them, not per row).
#[derive(Debug, Default)]
pub struct ProvenanceBatch {
    rows: Vec<BatchedRow>,
    /// The rows' messageIds and writes, one after another.
    bytes: Vec<u8>,
}

#[derive(Debug)]
struct BatchedRow {
    owner: i64,
    message_id: Range<usize>,
    kind: &'static str,
    event_ms: i64,
    source: i64,
    line: u64,
    item: Option<usize>,
    received_ms: i64,
    writes: Range<usize>,
}

/// The columns of a provenance row as written.
const COLUMNS: usize = 9;

fn insert_sql(rows: usize) -> String {
    let row = format!("({})", ["?"; COLUMNS].join(", "));
    format!(
        "INSERT INTO provenance (owner, message_id, kind, event_ms, source, line, item,
                                 received_ms, writes)
         VALUES {}",
        vec![row; rows].join(", ")
    )
}

static ONE_ROW: LazyLock<String> = LazyLock::new(|| insert_sql(1));
static MANY_ROWS: LazyLock<String> = LazyLock::new(|| insert_sql(ProvenanceBatch::ROWS));

impl ProvenanceBatch {
    /// Rows a full batch holds (and one statement writes).
    pub const ROWS: usize = 64;

    /// Adds the row recording `writes` (packed) of event `e` to `owner`.
    pub fn push(&mut self, owner: i64, e: &ProvenanceEvent<'_>, writes: &[u8]) {
        let message_id = self.append(e.message_id.as_bytes());
        let writes = self.append(writes);
        self.rows.push(BatchedRow {
            owner,
            message_id,
            kind: e.kind,
            event_ms: e.event_ms,
            source: e.source,
            line: e.line,
            item: e.item,
            received_ms: e.received_ms,
            writes,
        });
    }

    fn append(&mut self, bytes: &[u8]) -> Range<usize> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(bytes);
        start..self.bytes.len()
    }

    pub fn is_full(&self) -> bool {
        self.rows.len() >= Self::ROWS
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Forgets the rows gathered (a rolled-back transaction's).
    pub fn clear(&mut self) {
        self.rows.clear();
        self.bytes.clear();
    }
}

impl BatchedRow {
    /// Binds this row's values from parameter `first + 1` on.
    fn bind(&self, stmt: &mut Statement<'_>, first: usize, bytes: &[u8]) -> Result<()> {
        // Pushed from a &str: always UTF-8.
        let message_id = std::str::from_utf8(&bytes[self.message_id.clone()])?;
        stmt.raw_bind_parameter(first + 1, self.owner)?;
        stmt.raw_bind_parameter(first + 2, message_id)?;
        stmt.raw_bind_parameter(first + 3, self.kind)?;
        stmt.raw_bind_parameter(first + 4, self.event_ms)?;
        stmt.raw_bind_parameter(first + 5, self.source)?;
        stmt.raw_bind_parameter(first + 6, self.line as i64)?;
        stmt.raw_bind_parameter(first + 7, self.item.map(|i| i as i64))?;
        stmt.raw_bind_parameter(first + 8, self.received_ms)?;
        stmt.raw_bind_parameter(first + 9, &bytes[self.writes.clone()])?;
        Ok(())
    }
}

impl Store {
    /// The id of a source (file path or "http"), stored once.
    pub fn provenance_source(&self, source: &str) -> Result<i64> {
        self.conn()
            .prepare_cached("INSERT OR IGNORE INTO provenance_sources (source) VALUES (?1)")?
            .execute([source])?;
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT id FROM provenance_sources WHERE source = ?1")?;
        Ok(stmt.query_row([source], |r| r.get(0))?)
    }

    /// The first id not yet given to a shared provenance value.
    pub fn next_provenance_value_id(&self) -> Result<i64> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT coalesce(max(id), 0) + 1 FROM provenance_values")?;
        Ok(stmt.query_row([], |r| r.get(0))?)
    }

    /// Stores shared provenance values (JSON text) under their ids.
    pub fn insert_provenance_values(&self, values: &[(i64, Box<[u8]>)]) -> Result<()> {
        let mut stmt = self
            .conn()
            .prepare_cached("INSERT INTO provenance_values (id, value) VALUES (?1, ?2)")?;
        for (id, value) in values {
            stmt.execute(params![id, String::from_utf8_lossy(value)])?;
        }
        Ok(())
    }

    /// A shared provenance value (JSON text), if stored.
    pub fn provenance_value(&self, id: i64) -> Result<Option<String>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT value FROM provenance_values WHERE id = ?1")?;
        Ok(stmt.query_row([id], |r| r.get(0)).optional()?)
    }

    /// Writes the rows gathered in `batch` (in the order gathered) and empties it.
    pub fn insert_provenance_batch(&self, batch: &mut ProvenanceBatch) -> Result<()> {
        let mut rows = batch.rows.chunks_exact(ProvenanceBatch::ROWS);
        if rows.len() > 0 {
            let mut stmt = self.conn().prepare_cached(&MANY_ROWS)?;
            for chunk in rows.by_ref() {
                for (i, row) in chunk.iter().enumerate() {
                    row.bind(&mut stmt, i * COLUMNS, &batch.bytes)?;
                }
                stmt.raw_execute()?;
            }
        }
        let mut stmt = self.conn().prepare_cached(&ONE_ROW)?;
        for row in rows.remainder() {
            row.bind(&mut stmt, 0, &batch.bytes)?;
            stmt.raw_execute()?;
        }
        batch.clear();
        Ok(())
    }

    /// Every provenance row of an owner, in the order recorded. Empty for a database
    /// whose schema has no provenance yet (read as it is).
    pub fn provenance_rows(&self, owner: i64) -> Result<Vec<ProvenanceRow>> {
        let has_table: Option<i64> = self
            .conn()
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'provenance'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if has_table.is_none() {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn().prepare_cached(
            "SELECT p.id, p.message_id, p.kind, p.event_ms, coalesce(s.source, ''), p.line, p.item,
                    p.received_ms, p.writes
             FROM provenance p LEFT JOIN provenance_sources s ON s.id = p.source
             WHERE p.owner = ?1 ORDER BY p.id",
        )?;
        let rows = stmt.query_map([owner], |r| {
            Ok(ProvenanceRow {
                id: r.get(0)?,
                message_id: r.get(1)?,
                kind: r.get(2)?,
                event_ms: r.get(3)?,
                source: r.get(4)?,
                line: r.get(5)?,
                item: r.get(6)?,
                received_ms: r.get(7)?,
                writes: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_written_whole_in_the_order_gathered() {
        let store = Store::open_in_memory().unwrap();
        let source = store.provenance_source("events.ndjson").unwrap();
        let mut batch = ProvenanceBatch::default();
        let n = ProvenanceBatch::ROWS * 2 + 5;
        let ids: Vec<String> = (0..n).map(|i| format!("m-{i}")).collect();
        for (i, id) in ids.iter().enumerate() {
            let e = ProvenanceEvent {
                message_id: id,
                kind: if i % 2 == 0 { "track" } else { "identify" },
                event_ms: i as i64 * 1000,
                source,
                line: i as u64 + 1,
                item: (i % 3 == 0).then_some(i),
                received_ms: 7,
            };
            batch.push((i % 2) as i64 + 1, &e, &[i as u8, 0, 255]);
        }
        store.insert_provenance_batch(&mut batch).unwrap();
        assert!(batch.is_empty());
        let mut read = store.provenance_rows(1).unwrap();
        read.extend(store.provenance_rows(2).unwrap());
        read.sort_by_key(|r| r.id);
        assert_eq!(read.len(), n);
        for (i, row) in read.iter().enumerate() {
            assert_eq!(row.message_id, ids[i]);
            assert_eq!(row.kind, if i % 2 == 0 { "track" } else { "identify" });
            assert_eq!(row.event_ms, i as i64 * 1000);
            assert_eq!(row.source, "events.ndjson");
            assert_eq!(row.line, i as i64 + 1);
            assert_eq!(row.item, (i % 3 == 0).then_some(i as i64));
            assert_eq!(row.received_ms, 7);
            assert_eq!(row.writes, [i as u8, 0, 255]);
        }
        let owners: Vec<i64> = store
            .conn()
            .prepare("SELECT owner FROM provenance ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let expected: Vec<i64> = (0..n).map(|i| (i % 2) as i64 + 1).collect();
        assert_eq!(owners, expected);
    }
}
