//! Anonymous records and their owners: where a record's history counts.

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::Store;
use super::users::time_of;

/// The groupIds of the companies a profile (?1) belongs to, through itself (unless it is
/// an owned record) and the anonymous records it owns: the rows of `member_of` with
/// user_ref ?1, read through the memberships and owner indexes (the view's
/// `coalesce(owner_ref, user_ref)` cannot use either, so filtering on it scans every
/// membership).
pub(super) const USER_COMPANIES: &str = "SELECT DISTINCT c.group_id FROM memberships m
     JOIN companies c ON c.id = m.company_ref
     WHERE m.user_ref IN (SELECT id FROM users WHERE id = ?1 AND owner_ref IS NULL
                          UNION ALL SELECT id FROM users WHERE owner_ref = ?1)
     ORDER BY c.group_id";

impl Store {
    /// Points the page views and events recorded on the anonymous record `record` at its
    /// (new) owner.
    pub fn move_anonymous_history(&self, record: i64, owner: i64) -> Result<()> {
        for sql in [
            "UPDATE pages SET user_ref = ?2, anon_ref = ?1 WHERE anon_ref = ?1 OR user_ref = ?1",
            "UPDATE events SET user_ref = ?2, anon_ref = ?1 WHERE anon_ref = ?1 OR user_ref = ?1",
        ] {
            self.conn()
                .prepare_cached(sql)?
                .execute(params![record, owner])?;
        }
        Ok(())
    }

    /// The anonymous records a profile owns.
    pub fn owned_records(&self, owner: i64) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT id FROM users WHERE owner_ref = ?1 ORDER BY id")?;
        let rows = stmt.query_map([owner], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The time of a profile's latest page view.
    pub fn last_page_view(&self, user_ref: i64) -> Result<Option<DateTime<Utc>>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT max(timestamp) FROM pages WHERE user_ref = ?1")?;
        let last: Option<String> = stmt.query_row([user_ref], |r| r.get(0))?;
        last.as_deref().map(time_of).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profiles_companies_are_found_through_indexes() {
        let store = Store::open_in_memory().unwrap();
        let plan: Vec<String> = store
            .conn()
            .prepare(&format!("EXPLAIN QUERY PLAN {USER_COMPANIES}"))
            .unwrap()
            .query_map([1], |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter().all(|step| !step.starts_with("SCAN")),
            "{plan:#?}"
        );
    }
}
