//! The query layer every front-end calls (tables, `--json`/`--ndjson`/`--csv`, and the
//! HTTP server): typed requests, built from the command line or a query string, in;
//! serialisable items, or rows rendered into any [`std::io::Write`], out. Names are
//! checked here (unknown fields, attributes, companies are usage or not-found errors),
//! so every front-end says the same thing.

pub mod companies;
pub mod expect;
pub mod history;
pub mod rejections;
pub mod status;
pub mod users;

use serde::Serialize;

/// One page of a list, as the HTTP API answers it: `items` are exactly the elements of
/// the CLI's `--json` array for the same query.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many match in all.
    pub total: u64,
    /// The limit applied (None: all).
    pub limit: Option<u64>,
    pub offset: u64,
}

impl<T> Page<T> {
    /// A page of `total` matching rows: `fill` pushes those of the window.
    pub(crate) fn collect(
        total: u64,
        window: Window,
        fill: impl FnOnce(&mut Vec<T>) -> anyhow::Result<()>,
    ) -> anyhow::Result<Page<T>> {
        let mut items = Vec::new();
        fill(&mut items)?;
        Ok(Page {
            items,
            total,
            limit: window.limit,
            offset: window.offset,
        })
    }
}

/// Which part of a list to give: at most `limit` after skipping `offset`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub limit: Option<u64>,
    pub offset: u64,
}
