//! Event occurrences and page views: each match, oldest (or newest) first.

use anyhow::Result;
use rusqlite::params_from_iter;
use serde_json::Value;

use super::sql::{limit, window_sql};
use super::{Binder, HistoryQuery};
use crate::store::Store;
use crate::store::history::{EventRow, PageRow};

fn parse_json(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

impl Store {
    pub(in crate::store) fn history_where(
        &self,
        alias: &str,
        q: &HistoryQuery,
        b: &mut Binder,
    ) -> String {
        let mut sql = String::from("1");
        if let Some(user) = q.user_ref {
            sql.push_str(&format!(" AND {alias}.user_ref = {}", b.bind(user)));
        }
        if let Some(name) = &q.name {
            sql.push_str(&format!(" AND {alias}.name = {}", b.bind(name.clone())));
        }
        if let Some(url) = &q.url {
            sql.push_str(&format!(
                " AND usercom_contains(coalesce({alias}.url, {alias}.path), {})",
                b.bind(url.clone())
            ));
        }
        window_sql(&mut sql, alias, q.since.as_deref(), q.until.as_deref(), b);
        sql
    }

    /// Calls `each` with every matching event occurrence, oldest (or newest) first.
    pub fn for_each_event(
        &self,
        q: &HistoryQuery,
        mut each: impl FnMut(EventRow) -> Result<()>,
    ) -> Result<()> {
        let mut b = Binder::default();
        let filter = self.history_where("e", q, &mut b);
        let lim = b.bind(limit(q.limit));
        let off = b.bind(q.offset.min(i64::MAX as u64) as i64);
        let dir = if q.newest_first { "DESC" } else { "ASC" };
        let mut stmt = self.conn().prepare(&format!(
            "SELECT e.message_id, u.user_id, coalesce(e.anonymous_id, u.anonymous_id), e.name,
                    e.timestamp, e.properties
             FROM events e JOIN users u ON u.id = e.user_ref
             WHERE {filter} ORDER BY e.timestamp {dir}, e.message_id {dir} LIMIT {lim} OFFSET {off}"
        ))?;
        let mut rows = stmt.query(params_from_iter(b.params))?;
        while let Some(r) = rows.next()? {
            each(EventRow {
                message_id: r.get(0)?,
                user_id: r.get(1)?,
                anonymous_id: r.get(2)?,
                name: r.get(3)?,
                timestamp: r.get(4)?,
                properties: parse_json(r.get(5)?),
            })?;
        }
        Ok(())
    }

    /// Calls `each` with every matching page view, oldest (or newest) first.
    pub fn for_each_page(
        &self,
        q: &HistoryQuery,
        mut each: impl FnMut(PageRow) -> Result<()>,
    ) -> Result<()> {
        let mut b = Binder::default();
        let filter = self.history_where("p", q, &mut b);
        let lim = b.bind(limit(q.limit));
        let off = b.bind(q.offset.min(i64::MAX as u64) as i64);
        let dir = if q.newest_first { "DESC" } else { "ASC" };
        let mut stmt = self.conn().prepare(&format!(
            "SELECT p.message_id, u.user_id, coalesce(p.anonymous_id, u.anonymous_id), p.name, p.url,
                    p.path, p.title, p.referrer, p.timestamp, p.properties
             FROM pages p JOIN users u ON u.id = p.user_ref
             WHERE {filter} ORDER BY p.timestamp {dir}, p.message_id {dir} LIMIT {lim} OFFSET {off}"
        ))?;
        let mut rows = stmt.query(params_from_iter(b.params))?;
        while let Some(r) = rows.next()? {
            each(PageRow {
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
            })?;
        }
        Ok(())
    }
}
