//! Kept rejections: `rejections list` and `GET /v1/rejections`.

use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::users::when;
use super::{Listing, Window};
use crate::output::{Format, ListSink, cell};
use crate::store::{RejectionQuery, RejectionRow, Store};

/// Which kept rejections, as text (flags or query parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RejectionFilter {
    /// Received at or after this: ISO date/time or relative (30m, 2h, 1d).
    pub since: Option<String>,
    /// A case-insensitive substring of the reason.
    pub reason: Option<String>,
}

/// Builds the store query, checking the time.
pub fn rejection_query(f: &RejectionFilter, now: DateTime<Utc>) -> Result<RejectionQuery> {
    Ok(RejectionQuery {
        since: f
            .since
            .as_deref()
            .map(|t| when("--since", t, now).map(|w| w.since()))
            .transpose()?,
        reason: f.reason.clone(),
        limit: None,
        offset: 0,
    })
}

impl Listing for RejectionQuery {
    type Row = RejectionRow;

    fn window(&self, window: Window) -> RejectionQuery {
        RejectionQuery {
            limit: window.limit,
            offset: window.offset,
            ..self.clone()
        }
    }

    fn count(&self, store: &Store) -> Result<u64> {
        store.count_rejections(self)
    }

    fn each(&self, store: &Store, f: &mut dyn FnMut(RejectionRow) -> Result<()>) -> Result<()> {
        store.for_each_rejection(self, f)
    }
}

/// The columns of CSV (a table shows the same, `raw` shortened).
pub const HEADERS: [&str; 9] = [
    "id",
    "received_at",
    "outcome",
    "source",
    "line",
    "item",
    "remote",
    "reason",
    "raw",
];

/// How much of `raw` a table shows.
const TABLE_RAW: usize = 60;

/// One CSV or table cell.
pub fn cell_of(r: &RejectionRow, header: &str, format: Format) -> String {
    let text = match header {
        "id" => r.id.to_string(),
        "received_at" => r.received_at.clone(),
        "outcome" => r.outcome.as_str().to_string(),
        "source" => r.source.clone(),
        "line" => r.line.map(|n| n.to_string()).unwrap_or_default(),
        "item" => r.item.map(|n| n.to_string()).unwrap_or_default(),
        "remote" => cell(r.remote.as_deref()),
        "reason" => r.reason.clone(),
        "raw" => r.raw.clone(),
        _ => String::new(),
    };
    if format != Format::Table {
        return text;
    }
    // Text from events never drives the terminal; a long payload is shortened.
    let limit = if header == "raw" {
        TABLE_RAW
    } else {
        usize::MAX
    };
    let mut shown: String = text
        .chars()
        .take(limit)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > limit {
        shown.push('…');
    }
    shown
}

/// Writes the matching rejections to `out` in `format`; returns how many.
pub fn write(
    store: &Store,
    query: &RejectionQuery,
    format: Format,
    out: Box<dyn Write + '_>,
) -> Result<usize> {
    let headers = HEADERS.map(String::from).to_vec();
    let mut sink = ListSink::to_writer(format, headers, out)?;
    store.for_each_rejection(query, |r| {
        sink.push(&r, |headers| {
            headers.iter().map(|h| cell_of(&r, h, format)).collect()
        })
    })?;
    sink.finish()
}
