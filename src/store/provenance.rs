//! Provenance rows: which event wrote what to a profile (written by ingest in the same
//! transactions as the profiles; read by `explain`).

use anyhow::Result;
use rusqlite::{OptionalExtension, params};

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

    pub fn insert_provenance(
        &self,
        owner: i64,
        e: &ProvenanceEvent<'_>,
        writes: &[u8],
    ) -> Result<()> {
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO provenance (owner, message_id, kind, event_ms, source, line, item,
                                     received_ms, writes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        stmt.execute(params![
            owner,
            e.message_id,
            e.kind,
            e.event_ms,
            e.source,
            e.line as i64,
            e.item.map(|i| i as i64),
            e.received_ms,
            writes
        ])?;
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
