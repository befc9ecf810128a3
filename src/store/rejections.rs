//! Rejected and skipped events, kept to be looked at (`usercom rejections`).

use anyhow::Result;
use rusqlite::{params, params_from_iter};
use serde::Serialize;

use super::Store;

/// The most of a payload kept: Segment's limit for one event (a longer input is kept
/// up to it and marked truncated).
pub const MAX_RAW_BYTES: usize = 32 * 1024;

/// What became of a kept event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Not applied: invalid, or from an untrusted domain.
    Rejected,
    /// A call type this destination does not take (alias, screen).
    Skipped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Rejected => "rejected",
            Outcome::Skipped => "skipped",
        }
    }
}

/// A rejection to keep.
#[derive(Debug, Clone)]
pub struct NewRejection<'a> {
    pub received_at: &'a str,
    pub outcome: Outcome,
    /// A file path (`-` for standard input) or an HTTP request's path.
    pub source: &'a str,
    /// 1-based line of a file (None for HTTP).
    pub line: Option<u64>,
    /// 0-based position inside a batch or array.
    pub item: Option<usize>,
    /// The HTTP client's address.
    pub remote: Option<&'a str>,
    pub reason: &'a str,
    /// The payload; kept up to [`MAX_RAW_BYTES`].
    pub raw: &'a [u8],
    /// `raw` is already only the start of the input.
    pub truncated: bool,
}

/// A kept rejection as listed (`rejections list --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RejectionRow {
    pub id: i64,
    pub received_at: String,
    pub outcome: Outcome,
    pub source: String,
    pub line: Option<u64>,
    pub item: Option<u64>,
    pub remote: Option<String>,
    pub reason: String,
    /// The payload as text (invalid UTF-8 replaced).
    pub raw: String,
    /// Only the start of the payload was kept.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub raw_truncated: bool,
}

/// Which kept rejections to list, oldest first.
#[derive(Debug, Clone, Default)]
pub struct RejectionQuery {
    /// `received_at >= this` (stored form).
    pub since: Option<String>,
    /// A case-insensitive substring of the reason.
    pub reason: Option<String>,
    pub limit: Option<u64>,
    pub offset: u64,
}

impl Store {
    /// Keeps a rejected or skipped event (inside the open transaction, if any).
    pub fn insert_rejection(&self, r: &NewRejection<'_>) -> Result<()> {
        let cut = r.raw.len() > MAX_RAW_BYTES;
        let raw = &r.raw[..r.raw.len().min(MAX_RAW_BYTES)];
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO rejections (received_at, outcome, source, line, item, remote, reason,
                                     raw, raw_truncated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        stmt.execute(params![
            r.received_at,
            r.outcome.as_str(),
            r.source,
            r.line.map(|n| n.min(i64::MAX as u64) as i64),
            r.item.map(|n| n as i64),
            r.remote,
            r.reason,
            raw,
            cut || r.truncated,
        ])?;
        Ok(())
    }

    fn rejection_where(q: &RejectionQuery, params: &mut Vec<rusqlite::types::Value>) -> String {
        let mut sql = String::from("1");
        if let Some(since) = &q.since {
            params.push(since.clone().into());
            sql.push_str(&format!(" AND received_at >= ?{}", params.len()));
        }
        if let Some(reason) = &q.reason {
            params.push(reason.to_lowercase().into());
            sql.push_str(&format!(" AND usercom_contains(reason, ?{})", params.len()));
        }
        sql
    }

    /// How many kept rejections match (the limit is ignored).
    pub fn count_rejections(&self, q: &RejectionQuery) -> Result<u64> {
        let mut params = Vec::new();
        let filter = Store::rejection_where(q, &mut params);
        let sql = format!("SELECT count(*) FROM rejections WHERE {filter}");
        let n: i64 = self
            .conn()
            .query_row(&sql, params_from_iter(params), |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Calls `each` with every matching kept rejection, oldest first.
    pub fn for_each_rejection(
        &self,
        q: &RejectionQuery,
        mut each: impl FnMut(RejectionRow) -> Result<()>,
    ) -> Result<()> {
        let mut params = Vec::new();
        let filter = Store::rejection_where(q, &mut params);
        params.push(q.limit.map_or(-1, |n| n.min(i64::MAX as u64) as i64).into());
        let lim = params.len();
        params.push((q.offset.min(i64::MAX as u64) as i64).into());
        let off = params.len();
        let sql = format!(
            "SELECT id, received_at, outcome, source, line, item, remote, reason, raw,
                    raw_truncated
             FROM rejections WHERE {filter} ORDER BY id LIMIT ?{lim} OFFSET ?{off}"
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(params))?;
        while let Some(r) = rows.next()? {
            let outcome: String = r.get(2)?;
            let raw: Vec<u8> = r.get(8)?;
            each(RejectionRow {
                id: r.get(0)?,
                received_at: r.get(1)?,
                outcome: if outcome == "skipped" {
                    Outcome::Skipped
                } else {
                    Outcome::Rejected
                },
                source: r.get(3)?,
                line: r.get::<_, Option<i64>>(4)?.map(|n| n as u64),
                item: r.get::<_, Option<i64>>(5)?.map(|n| n as u64),
                remote: r.get(6)?,
                reason: r.get(7)?,
                raw: String::from_utf8_lossy(&raw).into_owned(),
                raw_truncated: r.get(9)?,
            })?;
        }
        Ok(())
    }

    /// Deletes every kept rejection; returns how many there were.
    pub fn clear_rejections(&self) -> Result<u64> {
        Ok(self.conn().execute("DELETE FROM rejections", [])? as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_whole_up_to_the_event_limit_then_truncated() {
        assert_eq!(MAX_RAW_BYTES, crate::server::MAX_EVENT_BYTES);
        let store = Store::open_in_memory().unwrap();
        let big = vec![b'x'; MAX_RAW_BYTES + 10];
        for (raw, reason) in [(&b"{\"a\":1}"[..], "Bad Thing"), (&big[..], "too long")] {
            store
                .insert_rejection(&NewRejection {
                    received_at: "2026-10-01T00:00:00.000Z",
                    outcome: Outcome::Rejected,
                    source: "in.ndjson",
                    line: Some(3),
                    item: None,
                    remote: None,
                    reason,
                    raw,
                    truncated: false,
                })
                .unwrap();
        }
        let mut rows = Vec::new();
        let q = RejectionQuery {
            reason: Some("bad thing".into()),
            ..RejectionQuery::default()
        };
        store
            .for_each_rejection(&q, |r| {
                rows.push(r);
                Ok(())
            })
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].raw, "{\"a\":1}");
        assert!(!rows[0].raw_truncated);
        let mut all = Vec::new();
        store
            .for_each_rejection(&RejectionQuery::default(), |r| {
                all.push(r);
                Ok(())
            })
            .unwrap();
        assert_eq!(all[1].raw.len(), MAX_RAW_BYTES);
        assert!(all[1].raw_truncated);
        assert_eq!(store.clear_rejections().unwrap(), 2);
        assert_eq!(
            store.count_rejections(&RejectionQuery::default()).unwrap(),
            0
        );
    }
}
