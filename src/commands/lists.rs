//! What `users list` and `companies list` share: filters by expression, order, limit,
//! count (one clap argument group, flattened into each).

use anyhow::Result;
use clap::Args;

use crate::api::Window;
use crate::output::{Format, print_json, print_text};

/// The number of rows a table shows when no --limit is given.
pub const TABLE_LIMIT: u64 = 100;

/// `--where/--sort/--limit/--offset/--all/--count`.
#[derive(Debug, Clone, Default, Args)]
pub struct ListControl {
    /// Only rows for which EXPR holds (repeatable). EXPR is FIELD OP VALUE with OP one of
    /// = != > >= < <= ~ (contains, case-insensitive), or 'FIELD is null', 'FIELD is not
    /// null'. FIELD is a field (see above) or a custom attribute (attributes.NAME when a
    /// field has the same name); VALUE is read as the field's type: a number,
    /// true/false, or for dates an ISO date/time or a relative time (30d). != also
    /// matches rows without a value.
    #[arg(long = "where", value_name = "EXPR")]
    pub filters: Vec<String>,
    /// Order by a field or custom attribute (missing values last).
    #[arg(long, value_name = "FIELD[:desc]")]
    pub sort: Option<String>,
    /// At most N rows; 0 for all [default: 100 in a table, all with --json/--ndjson/--csv].
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Skip the first N matching rows (with --sort, for paging).
    #[arg(long, value_name = "N", default_value_t = 0, hide_default_value = true)]
    pub offset: u64,
    /// Every matching row (same as --limit 0).
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,
    /// Print only how many rows match.
    #[arg(long, conflicts_with_all = ["sort", "limit", "all", "offset"])]
    pub count: bool,
}

impl ListControl {
    /// The window to query (one row more than a table's default limit, to tell whether
    /// it cut the list) and whether the table's default limit applies.
    pub fn window(&self, format: Format) -> (Window, Option<u64>) {
        let (limit, by_default) = match (self.all, self.limit) {
            (true, _) | (false, Some(0)) => (None, false),
            (false, Some(n)) => (Some(n), false),
            (false, None) if format == Format::Table => (Some(TABLE_LIMIT), true),
            (false, None) => (None, false),
        };
        let window = Window {
            limit: limit.map(|n| if by_default { n + 1 } else { n }),
            offset: self.offset,
        };
        (window, by_default.then_some(TABLE_LIMIT))
    }
}

/// Prints `n` as the whole output (`--count`).
pub fn print_count(n: u64, json: bool) -> Result<()> {
    if json {
        print_json(&serde_json::json!({ "count": n }))
    } else {
        print_text(n)
    }
}
