//! `usercom events` and `usercom pages`: event occurrences and page views, listed or
//! aggregated.

use anyhow::Result;
use chrono::Utc;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use serde::ser::SerializeMap;

use crate::api::users::{resolve, when};
use crate::output::{Format, ListFormat, ListSink, Tabular, cell};
use crate::store::{Bucket, EventRow, HistoryQuery, PageRow, StatRow, Store};

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List event occurrences, oldest first.
    List {
        /// Only this user's (userId, anonymousId or email).
        #[arg(long, value_name = "ID")]
        user: Option<String>,
        /// Only events with this name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        window: Window,
        /// At most N occurrences [default: all].
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Count event occurrences and distinct users per event name, day, week, month or
    /// user.
    #[command(after_help = "Examples:
  usercom events stats                          # per event name, most frequent first
  usercom events stats --by week --name 'Order Completed'
  usercom events stats --by day --since 30d --json
  usercom events stats --by user --name 'Order Completed' --limit 10")]
    Stats {
        /// What to count by (weeks start on Monday; days are UTC).
        #[arg(long, value_enum, default_value_t = EventsBy::Name)]
        by: EventsBy,
        /// Only events with this name.
        #[arg(long)]
        name: Option<String>,
        /// Only this user's (userId, anonymousId or email).
        #[arg(long, value_name = "ID")]
        user: Option<String>,
        #[command(flatten)]
        window: Window,
        /// At most N rows [default: all].
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        #[command(flatten)]
        format: ListFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum PagesCommand {
    /// List page views, oldest first.
    List {
        /// Only this user's (userId, anonymousId or email).
        #[arg(long, value_name = "ID")]
        user: Option<String>,
        /// Only pages whose URL contains this (case-insensitive).
        #[arg(long, value_name = "URL_SUBSTRING")]
        url: Option<String>,
        #[command(flatten)]
        window: Window,
        /// At most N page views [default: all].
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Count page views and distinct users per URL, path, page name, day, week, month or
    /// user.
    #[command(after_help = "Examples:
  usercom pages stats                           # per URL, most viewed first
  usercom pages stats --by path --since 7d
  usercom pages stats --by week --url /pricing --json")]
    Stats {
        /// What to count by (weeks start on Monday; days are UTC).
        #[arg(long, value_enum, default_value_t = PagesBy::Url)]
        by: PagesBy,
        /// Only pages whose URL contains this (case-insensitive).
        #[arg(long, value_name = "URL_SUBSTRING")]
        url: Option<String>,
        /// Only this user's (userId, anonymousId or email).
        #[arg(long, value_name = "ID")]
        user: Option<String>,
        #[command(flatten)]
        window: Window,
        /// At most N rows [default: all].
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        #[command(flatten)]
        format: ListFormat,
    },
}

/// A time window.
#[derive(Debug, Clone, Default, Args)]
pub struct Window {
    /// From this time: ISO date or time, or relative to now (30d, 12h, 90m, 2w).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Up to this time (exclusive; a date includes its whole day).
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventsBy {
    Name,
    Day,
    Week,
    Month,
    User,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PagesBy {
    Url,
    Path,
    Name,
    Day,
    Week,
    Month,
    User,
}

impl From<EventsBy> for Bucket {
    fn from(by: EventsBy) -> Bucket {
        match by {
            EventsBy::Name => Bucket::Name,
            EventsBy::Day => Bucket::Day,
            EventsBy::Week => Bucket::Week,
            EventsBy::Month => Bucket::Month,
            EventsBy::User => Bucket::User,
        }
    }
}

impl From<PagesBy> for Bucket {
    fn from(by: PagesBy) -> Bucket {
        match by {
            PagesBy::Url => Bucket::Url,
            PagesBy::Path => Bucket::Path,
            PagesBy::Name => Bucket::Name,
            PagesBy::Day => Bucket::Day,
            PagesBy::Week => Bucket::Week,
            PagesBy::Month => Bucket::Month,
            PagesBy::User => Bucket::User,
        }
    }
}

impl Tabular for EventRow {
    fn headers(_: &[Self]) -> Vec<String> {
        [
            "timestamp",
            "user_id",
            "anonymous_id",
            "name",
            "properties",
            "message_id",
        ]
        .map(String::from)
        .to_vec()
    }
    fn cells(&self, _: &[String]) -> Vec<String> {
        vec![
            self.timestamp.clone(),
            cell(self.user_id.as_deref()),
            cell(self.anonymous_id.as_deref()),
            self.name.clone(),
            self.properties.to_string(),
            self.message_id.clone(),
        ]
    }
}

impl Tabular for PageRow {
    fn headers(_: &[Self]) -> Vec<String> {
        [
            "timestamp",
            "user_id",
            "anonymous_id",
            "name",
            "url",
            "title",
            "message_id",
        ]
        .map(String::from)
        .to_vec()
    }
    fn cells(&self, _: &[String]) -> Vec<String> {
        vec![
            self.timestamp.clone(),
            cell(self.user_id.as_deref()),
            cell(self.anonymous_id.as_deref()),
            cell(self.name.as_deref()),
            cell(self.url.as_deref()),
            cell(self.title.as_deref()),
            self.message_id.clone(),
        ]
    }
}

/// The store query for the shared flags.
fn history_query(
    store: &Store,
    user: Option<String>,
    window: &Window,
    limit: Option<u64>,
) -> Result<HistoryQuery> {
    let now = Utc::now();
    Ok(HistoryQuery {
        user_ref: user.map(|u| resolve(store, &u)).transpose()?,
        since: window
            .since
            .as_deref()
            .map(|t| when("--since", t, now).map(|w| w.since()))
            .transpose()?,
        until: window
            .until
            .as_deref()
            .map(|t| when("--until", t, now).map(|w| w.until()))
            .transpose()?,
        limit: limit.filter(|&n| n > 0),
        ..HistoryQuery::default()
    })
}

pub fn run_events(cmd: EventsCommand, store: &Store, json: bool) -> Result<i32> {
    match cmd {
        EventsCommand::List {
            user,
            name,
            window,
            limit,
            format,
        } => {
            let query = HistoryQuery {
                name,
                ..history_query(store, user, &window, limit)?
            };
            let format = Format::for_list(json, &format);
            let mut sink = ListSink::new(format, EventRow::headers(&[]))?;
            store.for_each_event(&query, |row| sink.push(&row, |h| row.cells(h)))?;
            footer(sink.finish()?, format, "event", "events");
        }
        EventsCommand::Stats {
            by,
            name,
            user,
            window,
            limit,
            format,
        } => {
            let query = HistoryQuery {
                name,
                ..history_query(store, user, &window, limit)?
            };
            let rows = store.event_stats(by.into(), &query)?;
            print_stats(by.into(), &rows, Format::for_list(json, &format), "events")?;
        }
    }
    Ok(0)
}

pub fn run_pages(cmd: PagesCommand, store: &Store, json: bool) -> Result<i32> {
    match cmd {
        PagesCommand::List {
            user,
            url,
            window,
            limit,
            format,
        } => {
            let query = HistoryQuery {
                url: url.map(|u| u.to_lowercase()),
                ..history_query(store, user, &window, limit)?
            };
            let format = Format::for_list(json, &format);
            let mut sink = ListSink::new(format, PageRow::headers(&[]))?;
            store.for_each_page(&query, |row| sink.push(&row, |h| row.cells(h)))?;
            footer(sink.finish()?, format, "page view", "page views");
        }
        PagesCommand::Stats {
            by,
            url,
            user,
            window,
            limit,
            format,
        } => {
            let query = HistoryQuery {
                url: url.map(|u| u.to_lowercase()),
                ..history_query(store, user, &window, limit)?
            };
            let rows = store.page_stats(by.into(), &query)?;
            print_stats(
                by.into(),
                &rows,
                Format::for_list(json, &format),
                "page views",
            )?;
        }
    }
    Ok(0)
}

fn footer(n: usize, format: Format, one: &str, many: &str) {
    if format == Format::Table {
        eprintln!("{n} {}", if n == 1 { one } else { many });
    }
}

/// A bucket as JSON: `{<by>: key, count, users, first, last}`, in that order.
struct StatJson<'a> {
    key: &'static str,
    row: &'a StatRow,
}

impl Serialize for StatJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry(self.key, &self.row.key)?;
        map.serialize_entry("count", &self.row.count)?;
        map.serialize_entry("users", &self.row.users)?;
        map.serialize_entry("first", &self.row.first)?;
        map.serialize_entry("last", &self.row.last)?;
        map.end()
    }
}

/// Aggregates: `{<by>, count, users, first, last}` per bucket.
fn print_stats(by: Bucket, rows: &[StatRow], format: Format, noun: &str) -> Result<()> {
    let key = by.as_str();
    let headers: Vec<String> = [key, "count", "users", "first", "last"]
        .map(String::from)
        .to_vec();
    let mut sink = ListSink::new(format, headers)?;
    for row in rows {
        let object = StatJson { key, row };
        sink.push(&object, |_| {
            vec![
                cell(row.key.as_deref()),
                row.count.to_string(),
                row.users.to_string(),
                row.first.clone(),
                row.last.clone(),
            ]
        })?;
    }
    let n = sink.finish()?;
    if format == Format::Table {
        let total: i64 = rows.iter().map(|r| r.count).sum();
        eprintln!(
            "{n} {}, {total} {noun}",
            if n == 1 { "row" } else { "rows" }
        );
    }
    Ok(())
}
