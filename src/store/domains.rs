//! Trusted domains.

use anyhow::Result;
use rusqlite::params;
use serde::Serialize;

use super::{Store, now_text};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainRow {
    pub domain: String,
    pub added_at: String,
}

impl Store {
    /// Adds a (normalised) domain; false if it was there already.
    pub fn add_domain(&self, domain: &str) -> Result<bool> {
        Ok(self.conn().execute(
            "INSERT OR IGNORE INTO domains (domain, added_at) VALUES (?1, ?2)",
            params![domain, now_text()],
        )? == 1)
    }

    /// Removes a domain; false if it was not there.
    pub fn remove_domain(&self, domain: &str) -> Result<bool> {
        Ok(self
            .conn()
            .execute("DELETE FROM domains WHERE domain = ?1", [domain])?
            == 1)
    }

    pub fn domains(&self) -> Result<Vec<DomainRow>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT domain, added_at FROM domains ORDER BY domain")?;
        let rows = stmt.query_map([], |r| {
            Ok(DomainRow {
                domain: r.get(0)?,
                added_at: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
