//! Event occurrences and page views: `events list/stats`, `pages list/stats` (and
//! `GET /v1/events`, `/v1/pages`, `/v1/stats/events`, `/v1/stats/pages`).

use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};

use super::users::{resolve, when};
use super::{Listing, Page, Window};
use crate::Error;
use crate::output::{Format, ListSink, cell};
use crate::store::{Bucket, EventRow, HistoryQuery, PageRow, StatRow, Store};

/// Which occurrences or page views, as text (flags or query parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct HistoryFilter {
    /// A userId, anonymousId or email.
    pub user: Option<String>,
    /// Events: the event name; pages: the page name.
    pub name: Option<String>,
    /// Pages: a substring of the URL (case-insensitive).
    pub url: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

/// Builds the store query, resolving the user and checking the times.
pub fn history_query(store: &Store, f: &HistoryFilter, now: DateTime<Utc>) -> Result<HistoryQuery> {
    Ok(HistoryQuery {
        user_ref: f.user.as_deref().map(|u| resolve(store, u)).transpose()?,
        name: f.name.clone(),
        url: f.url.as_deref().map(str::to_lowercase),
        since: f
            .since
            .as_deref()
            .map(|t| when("--since", t, now).map(|w| w.since()))
            .transpose()?,
        until: f
            .until
            .as_deref()
            .map(|t| when("--until", t, now).map(|w| w.until()))
            .transpose()?,
        ..HistoryQuery::default()
    })
}

/// What events can be counted by.
pub const EVENT_BUCKETS: [Bucket; 5] = [
    Bucket::Name,
    Bucket::Day,
    Bucket::Week,
    Bucket::Month,
    Bucket::User,
];

/// What page views can be counted by.
pub const PAGE_BUCKETS: [Bucket; 7] = [
    Bucket::Url,
    Bucket::Path,
    Bucket::Name,
    Bucket::Day,
    Bucket::Week,
    Bucket::Month,
    Bucket::User,
];

/// A bucket named as `--by` names it, among those allowed.
pub fn bucket(text: &str, allowed: &[Bucket]) -> Result<Bucket> {
    allowed
        .iter()
        .copied()
        .find(|b| b.as_str() == text)
        .ok_or_else(|| {
            let names: Vec<&str> = allowed.iter().map(|b| b.as_str()).collect();
            Error::Usage(format!("by {text:?}: use one of {}", names.join(", "))).into()
        })
}

/// Event occurrences of a query, oldest first.
#[derive(Debug, Clone)]
pub struct Events(pub HistoryQuery);

/// Page views of a query, oldest first.
#[derive(Debug, Clone)]
pub struct Pages(pub HistoryQuery);

fn windowed(query: &HistoryQuery, window: Window) -> HistoryQuery {
    HistoryQuery {
        limit: window.limit,
        offset: window.offset,
        ..query.clone()
    }
}

impl Listing for Events {
    type Row = EventRow;

    fn window(&self, window: Window) -> Events {
        Events(windowed(&self.0, window))
    }

    fn count(&self, store: &Store) -> Result<u64> {
        store.count_events(&self.0)
    }

    fn each(&self, store: &Store, f: &mut dyn FnMut(EventRow) -> Result<()>) -> Result<()> {
        store.for_each_event(&self.0, f)
    }
}

impl Listing for Pages {
    type Row = PageRow;

    fn window(&self, window: Window) -> Pages {
        Pages(windowed(&self.0, window))
    }

    fn count(&self, store: &Store) -> Result<u64> {
        store.count_pages(&self.0)
    }

    fn each(&self, store: &Store, f: &mut dyn FnMut(PageRow) -> Result<()>) -> Result<()> {
        store.for_each_page(&self.0, f)
    }
}

pub const EVENT_HEADERS: [&str; 6] = [
    "timestamp",
    "user_id",
    "anonymous_id",
    "name",
    "properties",
    "message_id",
];

fn event_cells(e: &EventRow) -> Vec<String> {
    vec![
        e.timestamp.clone(),
        cell(e.user_id.as_deref()),
        cell(e.anonymous_id.as_deref()),
        e.name.clone(),
        e.properties.to_string(),
        e.message_id.clone(),
    ]
}

pub const PAGE_HEADERS: [&str; 7] = [
    "timestamp",
    "user_id",
    "anonymous_id",
    "name",
    "url",
    "title",
    "message_id",
];

fn page_cells(p: &PageRow) -> Vec<String> {
    vec![
        p.timestamp.clone(),
        cell(p.user_id.as_deref()),
        cell(p.anonymous_id.as_deref()),
        cell(p.name.as_deref()),
        cell(p.url.as_deref()),
        cell(p.title.as_deref()),
        p.message_id.clone(),
    ]
}

/// Writes the matching event occurrences to `out`; returns how many.
pub fn write_events(
    store: &Store,
    query: &HistoryQuery,
    format: Format,
    out: Box<dyn Write + '_>,
) -> Result<usize> {
    let mut sink = ListSink::to_writer(format, EVENT_HEADERS.map(String::from).to_vec(), out)?;
    store.for_each_event(query, |row| sink.push(&row, |_| event_cells(&row)))?;
    sink.finish()
}

/// Writes the matching page views to `out`; returns how many.
pub fn write_pages(
    store: &Store,
    query: &HistoryQuery,
    format: Format,
    out: Box<dyn Write + '_>,
) -> Result<usize> {
    let mut sink = ListSink::to_writer(format, PAGE_HEADERS.map(String::from).to_vec(), out)?;
    store.for_each_page(query, |row| sink.push(&row, |_| page_cells(&row)))?;
    sink.finish()
}

/// A bucket as JSON: `{<by>: key, count, users, first, last}`, in that order.
#[derive(Debug, Clone)]
pub struct StatItem {
    pub by: Bucket,
    pub row: StatRow,
}

impl Serialize for StatItem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry(self.by.as_str(), &self.row.key)?;
        map.serialize_entry("count", &self.row.count)?;
        map.serialize_entry("users", &self.row.users)?;
        map.serialize_entry("first", &self.row.first)?;
        map.serialize_entry("last", &self.row.last)?;
        map.end()
    }
}

/// Aggregates per bucket (events, or page views when `pages`).
pub fn stats(
    store: &Store,
    pages: bool,
    by: Bucket,
    query: &HistoryQuery,
) -> Result<Vec<StatItem>> {
    Ok(stats_by(store, pages, &[by], query)?
        .pop()
        .unwrap_or_default())
}

/// [`stats`] for each of `bys`, counted in one pass over the rows.
pub fn stats_by(
    store: &Store,
    pages: bool,
    bys: &[Bucket],
    query: &HistoryQuery,
) -> Result<Vec<Vec<StatItem>>> {
    let all = if pages {
        store.page_stats_by(bys, query)?
    } else {
        store.event_stats_by(bys, query)?
    };
    Ok(bys
        .iter()
        .zip(all)
        .map(|(&by, rows)| rows.into_iter().map(|row| StatItem { by, row }).collect())
        .collect())
}

/// Writes aggregates to `out`; returns how many buckets.
pub fn write_stats(
    items: &[StatItem],
    by: Bucket,
    format: Format,
    out: Box<dyn Write + '_>,
) -> Result<usize> {
    let headers: Vec<String> = [by.as_str(), "count", "users", "first", "last"]
        .map(String::from)
        .to_vec();
    let mut sink = ListSink::to_writer(format, headers, out)?;
    for item in items {
        let row = &item.row;
        sink.push(item, |_| {
            vec![
                cell(row.key.as_deref()),
                row.count.to_string(),
                row.users.to_string(),
                row.first.clone(),
                row.last.clone(),
            ]
        })?;
    }
    sink.finish()
}

/// One page of aggregates: `total` buckets in all, the window's of them.
pub fn stats_page(
    store: &Store,
    pages: bool,
    by: Bucket,
    query: &HistoryQuery,
    window: Window,
) -> Result<Page<StatItem>> {
    let all = HistoryQuery {
        limit: None,
        offset: 0,
        ..query.clone()
    };
    let mut items = stats(store, pages, by, &all)?;
    let total = items.len() as u64;
    items.drain(
        ..items
            .len()
            .min(window.offset.min(usize::MAX as u64) as usize),
    );
    if let Some(n) = window.limit {
        items.truncate(n.min(usize::MAX as u64) as usize);
    }
    Ok(Page {
        items,
        total,
        limit: window.limit,
        offset: window.offset,
    })
}
