//! What the database holds, counted (`usercom status`), and emptying it of data
//! (`usercom reset`).

use anyhow::Result;
use rusqlite::OptionalExtension;
use serde::Serialize;

use super::Store;

/// The tables a reset empties: everything events made (and the back-fill checkpoints
/// that say which files were read). Keys, trusted domains and
/// attribute definitions are configuration and stay.
pub const RESET_TABLES: &[&str] = &[
    "users",
    "anonymous_ids",
    "user_attributes",
    "companies",
    "company_attributes",
    "memberships",
    "events",
    "pages",
    "message_keys",
    "rejections",
    "unconverted_values",
    "provenance",
    "provenance_values",
    super::checkpoints::CHECKPOINTS,
];

/// Counts of what the database holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub users: u64,
    pub identified_users: u64,
    pub anonymous_users: u64,
    pub companies: u64,
    pub events: u64,
    pub page_views: u64,
    pub rejections: u64,
    pub skipped: u64,
    pub user_attributes: u64,
    pub company_attributes: u64,
    pub event_attributes: u64,
    pub write_keys: u64,
    pub admin_keys: u64,
    pub trusted_domains: u64,
    /// The earliest and latest time of an event or page view.
    pub first_event_at: Option<String>,
    pub last_event_at: Option<String>,
}

impl Store {
    fn count(&self, sql: &str) -> Result<u64> {
        let n: i64 = self.conn().query_row(sql, [], |r| r.get(0))?;
        Ok(n as u64)
    }

    fn time(&self, sql: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(sql, [], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten())
    }

    /// Counts what the database holds.
    pub fn counts(&self) -> Result<Counts> {
        let users = self.count("SELECT count(*) FROM users WHERE owner_ref IS NULL")?;
        let identified_users = self.count("SELECT count(user_id) FROM users")?;
        let first = [
            self.time("SELECT min(timestamp) FROM events")?,
            self.time("SELECT min(timestamp) FROM pages")?,
        ];
        let last = [
            self.time("SELECT max(timestamp) FROM events")?,
            self.time("SELECT max(timestamp) FROM pages")?,
        ];
        let attributes = |scope: &str| {
            let n: i64 = self.conn().query_row(
                "SELECT count(*) FROM attribute_defs WHERE scope = ?1",
                [scope],
                |r| r.get(0),
            )?;
            Ok::<u64, anyhow::Error>(n as u64)
        };
        let keys = |kind: &str| {
            let n: i64 = self.conn().query_row(
                "SELECT count(*) FROM api_keys WHERE kind = ?1 AND revoked_at IS NULL",
                [kind],
                |r| r.get(0),
            )?;
            Ok::<u64, anyhow::Error>(n as u64)
        };
        Ok(Counts {
            users,
            identified_users,
            anonymous_users: users - identified_users,
            companies: self.count("SELECT count(*) FROM companies")?,
            events: self.count("SELECT count(*) FROM events")?,
            page_views: self.count("SELECT count(*) FROM pages")?,
            rejections: self.count("SELECT count(*) FROM rejections WHERE outcome = 'rejected'")?,
            skipped: self.count("SELECT count(*) FROM rejections WHERE outcome = 'skipped'")?,
            user_attributes: attributes("user")?,
            company_attributes: attributes("company")?,
            event_attributes: attributes("event")?,
            write_keys: keys("write")?,
            admin_keys: keys("admin")?,
            trusted_domains: self.count("SELECT count(*) FROM domains")?,
            first_event_at: first.into_iter().flatten().min(),
            last_event_at: last.into_iter().flatten().max(),
        })
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// The database file's path (None in memory).
    pub fn path(&self) -> Option<&str> {
        self.conn().path().filter(|p| !p.is_empty())
    }

    /// Deletes every row of [`RESET_TABLES`] in one transaction; returns the rows
    /// deleted per table.
    pub fn reset(&self) -> Result<Vec<(&'static str, u64)>> {
        self.begin()?;
        let deleted = RESET_TABLES
            .iter()
            .map(|table| {
                // Table names come from the constant above, never from input.
                let n = self.conn().execute(&format!("DELETE FROM {table}"), [])?;
                Ok((*table, n as u64))
            })
            .collect();
        self.end(deleted)
    }
}
