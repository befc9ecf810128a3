//! Filtered lists and aggregates: users and companies by fields, attributes and
//! activity; event occurrences and page views; counts per bucket. Rows are streamed to a
//! callback, so a list of millions never sits in memory.
//!
//! Filters arrive typed (see [`crate::semantics::filter`]) and are compiled here to SQL
//! whose values are all parameters; the only identifiers spliced in come from the fixed
//! whitelists in `sql.rs`.

//! `sql.rs` builds the SQL; `lists.rs` lists users and companies; `history.rs` lists
//! event occurrences and page views (their aggregates are in `store/stats.rs`).

mod history;
mod lists;
mod sql;

use anyhow::Result;
use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;

use crate::semantics::filter::{Predicate, SortKey};

pub(super) use sql::Binder;

/// Registers the SQL functions the queries use: `usercom_lower(text)`, Unicode
/// lowercase (SQLite's own `lower` and `LIKE` fold ASCII only), and
/// `usercom_contains(text, needle)`, whether `usercom_lower(text)` contains the
/// (lowercase) needle: `instr(usercom_lower(text), needle) > 0` without making the
/// lowercase copy of every row's text (most are ASCII, compared as they are).
pub(crate) fn register_functions(conn: &Connection) -> Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("usercom_lower", 1, flags, |ctx| Ok(lower(ctx.get_raw(0))))?;
    conn.create_scalar_function("usercom_contains", 2, flags, |ctx| {
        let needle = match ctx.get_raw(1) {
            ValueRef::Null => return Ok(None),
            ValueRef::Text(t) | ValueRef::Blob(t) => t.to_vec(),
            other => lower(other).unwrap_or_default().into_bytes(),
        };
        Ok(match ctx.get_raw(0) {
            ValueRef::Null => None,
            ValueRef::Text(t) | ValueRef::Blob(t) if t.is_ascii() => {
                Some(contains(t, &needle, true))
            }
            other => lower(other).map(|text| contains(text.as_bytes(), &needle, false)),
        })
    })?;
    Ok(())
}

fn lower(value: ValueRef) -> Option<String> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(x) => Some(x.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).to_lowercase()),
    }
}

/// Whether `needle` occurs in `text` (ASCII-lowercased first when `fold`), as `instr`
/// finds it (an empty needle is found).
fn contains(text: &[u8], needle: &[u8], fold: bool) -> bool {
    needle.is_empty()
        || text.windows(needle.len()).any(|w| {
            if fold {
                w.iter()
                    .zip(needle)
                    .all(|(a, b)| a.to_ascii_lowercase() == *b)
            } else {
                w == needle
            }
        })
}

// ---- queries ----

/// An event-occurrence condition: the user did `name` at least `at_least` times
/// in `[since, until)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCondition {
    pub name: String,
    pub since: Option<String>,
    pub until: Option<String>,
    pub at_least: u64,
}

/// Which users to list; every condition must hold.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub predicates: Vec<Predicate>,
    pub did: Vec<EventCondition>,
    /// Users for whom the condition does not hold (including those with no events).
    pub not_did: Vec<EventCondition>,
    /// Lowercased substrings of a viewed page's URL (or path, when no URL).
    pub visited: Vec<String>,
    pub not_visited: Vec<String>,
    /// Company row ids (memberships).
    pub in_company: Vec<i64>,
    /// `last_seen >= this` (stored form).
    pub seen_since: Option<String>,
    /// None: by userId, then anonymousId.
    pub sort: Option<SortKey>,
    pub limit: Option<u64>,
    /// Rows skipped before the first one given.
    pub offset: u64,
}

/// Which companies to list.
#[derive(Debug, Clone, Default)]
pub struct CompanyQuery {
    pub predicates: Vec<Predicate>,
    /// None: by groupId.
    pub sort: Option<SortKey>,
    pub limit: Option<u64>,
    /// Rows skipped before the first one given.
    pub offset: u64,
}

/// Which event occurrences or page views to list or aggregate.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    pub user_ref: Option<i64>,
    /// Events: exactly this name. Pages: exactly this page name.
    pub name: Option<String>,
    /// Pages: lowercased substring of the URL (or path).
    pub url: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub limit: Option<u64>,
    /// Rows (or buckets) skipped before the first one given.
    pub offset: u64,
    /// Newest first (with `limit`: the latest ones) instead of oldest first.
    pub newest_first: bool,
}

/// What to aggregate by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// Event name, or page name.
    Name,
    /// UTC calendar day, `YYYY-MM-DD`.
    Day,
    /// ISO week, named by its Monday, `YYYY-MM-DD`.
    Week,
    /// `YYYY-MM`.
    Month,
    /// userId (anonymousId for users without one).
    User,
    /// Pages only: the URL.
    Url,
    /// Pages only: the path.
    Path,
}

impl Bucket {
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Name => "name",
            Bucket::Day => "day",
            Bucket::Week => "week",
            Bucket::Month => "month",
            Bucket::User => "user",
            Bucket::Url => "url",
            Bucket::Path => "path",
        }
    }

    pub(in crate::store) fn is_time(self) -> bool {
        matches!(self, Bucket::Day | Bucket::Week | Bucket::Month)
    }
}

/// One bucket of an aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatRow {
    /// The bucket (None for page views without a URL, path or name).
    pub key: Option<String>,
    /// Occurrences (events or page views).
    pub count: i64,
    /// Distinct users.
    pub users: i64,
    pub first: String,
    pub last: String,
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    #[test]
    fn contains_is_instr_of_the_lowercase() {
        let store = Store::open_in_memory().unwrap();
        let texts = [
            "https://A.example/Pricing?x=1",
            "/pricing",
            "ŁÓDŹ Straße",
            "\u{212A}elvin",
            "İstanbul",
            "",
        ];
        let needles = [
            "/pricing", "pricing", "łódź", "straße", "kelvin", "i̇", "", "x",
        ];
        let mut values: Vec<rusqlite::types::Value> =
            texts.iter().map(|t| t.to_string().into()).collect();
        values.extend([
            rusqlite::types::Value::Null,
            12345.into(),
            1.5f64.into(),
            rusqlite::types::Value::Blob(b"ABC/Pricing".to_vec()),
        ]);
        let mut checked = 0;
        for value in &values {
            for needle in needles {
                let (contains, instr): (Option<bool>, Option<bool>) = store
                    .conn()
                    .query_row(
                        "SELECT usercom_contains(?1, ?2), instr(usercom_lower(?1), ?2) > 0",
                        rusqlite::params![value, needle],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .unwrap();
                assert_eq!(contains, instr, "{value:?} {needle:?}");
                checked += contains.unwrap_or(false) as usize;
            }
        }
        // Some hold (the comparison is not of two NULLs or two falses only).
        assert!(checked >= 8, "{checked}");
    }

    #[test]
    fn unicode_lowercase_function() {
        let store = Store::open_in_memory().unwrap();
        let lowered: Option<String> = store
            .conn()
            .query_row("SELECT usercom_lower(?1)", ["ŁÓDŹ Straße"], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(lowered.as_deref(), Some("łódź straße"));
        let null: Option<String> = store
            .conn()
            .query_row("SELECT usercom_lower(NULL)", [], |r| r.get(0))
            .unwrap();
        assert_eq!(null, None);
    }
}
