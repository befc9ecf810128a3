//! `usercom status` and `GET /v1/status`: what the database holds at a glance.

use anyhow::Result;
use serde::Serialize;

use crate::store::{Counts, Store};

/// The status of a database.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The database file.
    pub database: Option<String>,
    /// Bytes on disk: the file and its write-ahead log.
    pub file_bytes: u64,
    pub schema_version: i64,
    /// Indexes a large load dropped to build at its end, when it has not (it is running,
    /// or was killed): queries answer more slowly until the next ingest or `serve`
    /// builds them.
    pub deferred_indexes: Vec<String>,
    #[serde(flatten)]
    pub counts: Counts,
}

pub fn status(store: &Store) -> Result<Status> {
    let database = store.path().map(str::to_string);
    let file_bytes = database.as_deref().map_or(0, |path| {
        ["", "-wal"]
            .iter()
            .filter_map(|suffix| std::fs::metadata(format!("{path}{suffix}")).ok())
            .map(|m| m.len())
            .sum()
    });
    Ok(Status {
        database,
        file_bytes,
        schema_version: store.schema_version()?,
        deferred_indexes: store.deferred_indexes()?,
        counts: store.counts()?,
    })
}
