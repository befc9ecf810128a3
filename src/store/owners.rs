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
/// membership). Unsorted and possibly repeated: sorting and `DISTINCT` here would build
/// two temporary B-trees per profile, which costs more than the look-ups in a list of
/// every user ([`Store::user_companies`] sorts).
const USER_COMPANIES: &str = "SELECT c.group_id FROM memberships m
     JOIN users u ON u.id = m.user_ref
     JOIN companies c ON c.id = m.company_ref
     WHERE m.user_ref = ?1 AND u.owner_ref IS NULL
     UNION ALL
     SELECT c.group_id FROM users o
     JOIN memberships m ON m.user_ref = o.id
     JOIN companies c ON c.id = m.company_ref
     WHERE o.owner_ref = ?1";

impl Store {
    /// The groupIds of the companies a profile belongs to (see [`USER_COMPANIES`]),
    /// sorted, each once.
    pub fn user_companies(&self, user: i64) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare_cached(USER_COMPANIES)?;
        let mut groups: Vec<String> = stmt
            .query_map([user], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        groups.sort_unstable();
        groups.dedup();
        Ok(groups)
    }

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
            plan.iter()
                .all(|step| !step.starts_with("SCAN") && !step.contains("TEMP B-TREE")),
            "{plan:#?}"
        );
    }

    #[test]
    fn a_profiles_companies_are_sorted_once_with_its_records() {
        let store = Store::open_in_memory().unwrap();
        store
            .conn()
            .execute_batch(
                "INSERT INTO users (id, user_id, anonymous_id, owner_ref, created_at, updated_at)
                 VALUES (1, 'u1', NULL, NULL, 't', 't'), (2, NULL, 'a2', 1, 't', 't'),
                        (3, 'u3', NULL, NULL, 't', 't');
                 INSERT INTO companies (id, group_id, created_at, updated_at)
                 VALUES (1, 'zeta', 't', 't'), (2, 'alpha', 't', 't'), (3, 'mid', 't', 't');
                 INSERT INTO memberships (company_ref, user_ref, since)
                 VALUES (1, 1, 't'), (1, 2, 't'), (2, 2, 't'), (3, 3, 't');",
            )
            .unwrap();
        assert_eq!(store.user_companies(1).unwrap(), ["alpha", "zeta"]);
        // An owned record's memberships count for its owner only.
        assert!(store.user_companies(2).unwrap().is_empty());
        assert_eq!(store.user_companies(3).unwrap(), ["mid"]);
    }
}
