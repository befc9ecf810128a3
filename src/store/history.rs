//! Event occurrences and page views.

use anyhow::Result;
use rusqlite::params;
use serde::Serialize;
use serde_json::Value;

use super::Store;

/// An event occurrence as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRow {
    pub message_id: String,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub name: String,
    pub timestamp: String,
    pub properties: Value,
}

/// A page view as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageRow {
    pub message_id: String,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub name: Option<String>,
    pub url: Option<String>,
    pub path: Option<String>,
    pub title: Option<String>,
    pub referrer: Option<String>,
    pub timestamp: String,
    pub properties: Value,
}

/// Which occurrences to list.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub user_ref: Option<i64>,
    pub name: Option<String>,
    /// Newest first, at most this many (all, oldest first, when None).
    pub latest: Option<usize>,
}

/// The fields of a page view to store.
pub struct NewPage<'a> {
    pub message_id: &'a str,
    pub user_ref: i64,
    pub anonymous_id: Option<&'a str>,
    pub name: Option<&'a str>,
    pub url: Option<&'a str>,
    pub path: Option<&'a str>,
    pub title: Option<&'a str>,
    pub referrer: Option<&'a str>,
    pub timestamp: &'a str,
    pub properties: &'a str,
}

fn parse_json(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

impl Store {
    #[allow(clippy::too_many_arguments)]
    pub fn insert_event(
        &self,
        message_id: &str,
        user_ref: i64,
        anonymous_id: Option<&str>,
        name: &str,
        timestamp: &str,
        properties: &str,
    ) -> Result<()> {
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO events (message_id, user_ref, anonymous_id, name, timestamp, properties)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        stmt.execute(params![
            message_id,
            user_ref,
            anonymous_id,
            name,
            timestamp,
            properties
        ])?;
        Ok(())
    }

    pub fn insert_page(&self, page: &NewPage<'_>) -> Result<()> {
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO pages (message_id, user_ref, anonymous_id, name, url, path, title, referrer,
                                timestamp, properties)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        stmt.execute(params![
            page.message_id,
            page.user_ref,
            page.anonymous_id,
            page.name,
            page.url,
            page.path,
            page.title,
            page.referrer,
            page.timestamp,
            page.properties
        ])?;
        Ok(())
    }

    pub fn events(&self, filter: &EventFilter) -> Result<Vec<EventRow>> {
        let order = if filter.latest.is_some() {
            "DESC"
        } else {
            "ASC"
        };
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT e.message_id, u.user_id, coalesce(e.anonymous_id, u.anonymous_id), e.name,
                    e.timestamp, e.properties
             FROM events e JOIN users u ON u.id = e.user_ref
             WHERE (?1 IS NULL OR e.user_ref = ?1) AND (?2 IS NULL OR e.name = ?2)
             ORDER BY e.timestamp {order}, e.message_id {order} LIMIT ?3"
        ))?;
        let limit = filter.latest.map(|n| n as i64).unwrap_or(-1);
        let rows = stmt.query_map(params![filter.user_ref, filter.name, limit], |r| {
            Ok(EventRow {
                message_id: r.get(0)?,
                user_id: r.get(1)?,
                anonymous_id: r.get(2)?,
                name: r.get(3)?,
                timestamp: r.get(4)?,
                properties: parse_json(r.get(5)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn pages(&self, user_ref: Option<i64>, latest: Option<usize>) -> Result<Vec<PageRow>> {
        let order = if latest.is_some() { "DESC" } else { "ASC" };
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT p.message_id, u.user_id, coalesce(p.anonymous_id, u.anonymous_id), p.name, p.url,
                    p.path, p.title, p.referrer, p.timestamp, p.properties
             FROM pages p JOIN users u ON u.id = p.user_ref
             WHERE (?1 IS NULL OR p.user_ref = ?1)
             ORDER BY p.timestamp {order}, p.message_id {order} LIMIT ?2"
        ))?;
        let limit = latest.map(|n| n as i64).unwrap_or(-1);
        let rows = stmt.query_map(params![user_ref, limit], |r| {
            Ok(PageRow {
                message_id: r.get(0)?,
                user_id: r.get(1)?,
                anonymous_id: r.get(2)?,
                name: r.get(3)?,
                url: r.get(4)?,
                path: r.get(5)?,
                title: r.get(6)?,
                referrer: r.get(7)?,
                timestamp: r.get(8)?,
                properties: parse_json(r.get(9)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
