//! A user's page views and events as one timeline, newest first, a window at a time.

use anyhow::Result;
use serde::Serialize;

use super::history::{Events, Pages};
use super::users::resolve;
use super::{Listing, Page, Window};
use crate::store::{EventRow, HistoryQuery, PageRow, Store};

/// One entry of a timeline.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    Event(EventRow),
    Page(PageRow),
}

impl Entry {
    pub fn timestamp(&self) -> &str {
        match self {
            Entry::Event(e) => &e.timestamp,
            Entry::Page(p) => &p.timestamp,
        }
    }
}

/// The user's (userId, anonymousId or email) events and page views, newest first:
/// the window's entries, and how many there are in all.
pub fn timeline(store: &Store, id: &str, window: Window) -> Result<Page<Entry>> {
    store.snapshot(|store| {
        let user_ref = resolve(store, id)?;
        let all = HistoryQuery {
            user_ref: Some(user_ref),
            newest_first: true,
            ..HistoryQuery::default()
        };
        let total = Events(all.clone()).count(store)? + Pages(all.clone()).count(store)?;
        // The newest `offset + limit` of each kind hold the window's entries.
        let latest = HistoryQuery {
            limit: window.limit.map(|l| l.saturating_add(window.offset)),
            ..all
        };
        let mut entries = Vec::new();
        store.for_each_event(&latest, |e| {
            entries.push(Entry::Event(e));
            Ok(())
        })?;
        store.for_each_page(&latest, |p| {
            entries.push(Entry::Page(p));
            Ok(())
        })?;
        entries.sort_by(|a, b| b.timestamp().cmp(a.timestamp()));
        let skip = window.offset.min(usize::MAX as u64) as usize;
        let take = window
            .limit
            .map_or(usize::MAX, |l| l.min(usize::MAX as u64) as usize);
        Ok(Page {
            items: entries.into_iter().skip(skip).take(take).collect(),
            total,
            limit: window.limit,
            offset: window.offset,
        })
    })
}
