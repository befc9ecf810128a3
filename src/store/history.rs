//! Event occurrences and page views.

use anyhow::Result;
use rusqlite::{params, params_from_iter};
use serde::Serialize;
use serde_json::Value;

use super::Store;
use super::query::{Binder, HistoryQuery};

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

impl Store {
    /// How many event occurrences match (limit and offset are ignored).
    pub fn count_events(&self, q: &HistoryQuery) -> Result<u64> {
        self.count_history("events", "e", q)
    }

    /// How many page views match (limit and offset are ignored).
    pub fn count_pages(&self, q: &HistoryQuery) -> Result<u64> {
        self.count_history("pages", "p", q)
    }

    fn count_history(&self, table: &str, alias: &str, q: &HistoryQuery) -> Result<u64> {
        let mut b = Binder::default();
        let filter = self.history_where(alias, q, &mut b);
        // The table and alias are this module's constants.
        let sql = format!("SELECT count(*) FROM {table} {alias} WHERE {filter}");
        let n: i64 = self
            .conn()
            .query_row(&sql, params_from_iter(b.params), |r| r.get(0))?;
        Ok(n as u64)
    }

    /// How many times a user did an event.
    pub fn count_user_events(&self, user_ref: i64, name: &str) -> Result<u64> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT count(*) FROM events WHERE name = ?1 AND user_ref = ?2")?;
        let n: i64 = stmt.query_row(params![name, user_ref], |r| r.get(0))?;
        Ok(n as u64)
    }

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
}
