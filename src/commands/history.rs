//! `usercom events` and `usercom pages`: event occurrences and page views, listed or
//! aggregated.

use anyhow::Result;
use chrono::Utc;
use clap::{Args, Subcommand, ValueEnum};

use crate::api::history::{self as api, HistoryFilter, StatItem, history_query};
use crate::output::{Format, ListFormat, ListSink};
use crate::store::{Bucket, HistoryQuery, Store};

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

impl Window {
    fn filter(
        &self,
        user: Option<String>,
        name: Option<String>,
        url: Option<String>,
    ) -> HistoryFilter {
        HistoryFilter {
            user,
            name,
            url,
            since: self.since.clone(),
            until: self.until.clone(),
        }
    }
}

/// The store query for the shared flags.
fn query(store: &Store, filter: &HistoryFilter, limit: Option<u64>) -> Result<HistoryQuery> {
    Ok(HistoryQuery {
        limit: limit.filter(|&n| n > 0),
        ..history_query(store, filter, Utc::now())?
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
            let query = query(store, &window.filter(user, name, None), limit)?;
            let format = Format::for_list(json, &format);
            let n = api::write_events(store, &query, format, ListSink::stdout())?;
            footer(n, format, "event", "events");
        }
        EventsCommand::Stats {
            by,
            name,
            user,
            window,
            limit,
            format,
        } => {
            let query = query(store, &window.filter(user, name, None), limit)?;
            let items = api::stats(store, false, by.into(), &query)?;
            print_stats(by.into(), &items, Format::for_list(json, &format), "events")?;
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
            let query = query(store, &window.filter(user, None, url), limit)?;
            let format = Format::for_list(json, &format);
            let n = api::write_pages(store, &query, format, ListSink::stdout())?;
            footer(n, format, "page view", "page views");
        }
        PagesCommand::Stats {
            by,
            url,
            user,
            window,
            limit,
            format,
        } => {
            let query = query(store, &window.filter(user, None, url), limit)?;
            let items = api::stats(store, true, by.into(), &query)?;
            print_stats(
                by.into(),
                &items,
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

/// Aggregates: `{<by>, count, users, first, last}` per bucket.
fn print_stats(by: Bucket, items: &[StatItem], format: Format, noun: &str) -> Result<()> {
    let n = api::write_stats(items, by, format, ListSink::stdout())?;
    if format == Format::Table {
        let total: i64 = items.iter().map(|i| i.row.count).sum();
        eprintln!(
            "{n} {}, {total} {noun}",
            if n == 1 { "row" } else { "rows" }
        );
    }
    Ok(())
}
