//! Anonymous records and their owners: where a record's history counts.

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{CachedStatement, OptionalExtension, params};

use super::Store;
use super::users::time_of;

/// The records a profile owns, unsorted: with `ORDER BY id` SQLite prepares this
/// statement again at every new value bound (several times the cost of the look-up,
/// once per user in a list of every user).
const OWNED_RECORDS: &str = "SELECT id FROM users WHERE owner_ref = ?1";

/// The groupIds of a record's own memberships, unsorted (sorting here, or `DISTINCT`,
/// would build temporary B-trees for every profile).
const RECORD_COMPANIES: &str = "SELECT c.group_id FROM memberships m
     JOIN companies c ON c.id = m.company_ref WHERE m.user_ref = ?1";

/// Reads profiles' companies with statements prepared once: a list reads them for every
/// user it gives.
pub(super) struct CompanyReader<'a> {
    owned: CachedStatement<'a>,
    direct: CachedStatement<'a>,
}

impl CompanyReader<'_> {
    /// The groupIds of the companies a profile belongs to, through itself (unless it is
    /// an owned record: `own` false) and the anonymous records it owns (the rows of the
    /// view `member_of` for it, whose `coalesce(owner_ref, user_ref)` no index serves),
    /// sorted, each once.
    pub(super) fn read(&mut self, user: i64, own: bool) -> Result<Vec<String>> {
        let mut records: Vec<i64> = self
            .owned
            .query_map([user], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if own {
            records.push(user);
        }
        let mut groups = Vec::new();
        for record in records {
            for group in self.direct.query_map([record], |r| r.get(0))? {
                groups.push(group?);
            }
        }
        groups.sort_unstable();
        groups.dedup();
        Ok(groups)
    }
}

impl Store {
    /// The groupIds of the companies a profile belongs to (see [`CompanyReader::read`]).
    pub fn user_companies(&self, user: i64) -> Result<Vec<String>> {
        let own: Option<bool> = self
            .conn()
            .prepare_cached("SELECT owner_ref IS NULL FROM users WHERE id = ?1")?
            .query_row([user], |r| r.get(0))
            .optional()?;
        self.company_reader()?.read(user, own == Some(true))
    }

    pub(super) fn company_reader(&self) -> Result<CompanyReader<'_>> {
        Ok(CompanyReader {
            owned: self.conn().prepare_cached(OWNED_RECORDS)?,
            direct: self.conn().prepare_cached(RECORD_COMPANIES)?,
        })
    }

    /// Points the page views and events recorded on the anonymous record `record` at its
    /// (new) owner. Each names the record in anon_ref (since schema 10, those stored
    /// before schema 6 too), owned or not.
    pub fn move_anonymous_history(&self, record: i64, owner: i64) -> Result<()> {
        for sql in [
            "UPDATE pages SET user_ref = ?2 WHERE anon_ref = ?1",
            "UPDATE events SET user_ref = ?2 WHERE anon_ref = ?1",
        ] {
            self.conn()
                .prepare_cached(sql)?
                .execute(params![record, owner])?;
        }
        Ok(())
    }

    /// The anonymous records a profile owns, oldest first.
    pub fn owned_records(&self, owner: i64) -> Result<Vec<i64>> {
        let mut stmt = self.conn().prepare_cached(OWNED_RECORDS)?;
        let rows = stmt.query_map([owner], |r| r.get(0))?;
        let mut records: Vec<i64> = rows.collect::<rusqlite::Result<_>>()?;
        records.sort_unstable();
        Ok(records)
    }

    /// The time of a profile's latest page view (building `pages_user` first if a load
    /// deferred it: see `store::indexes`).
    pub fn last_page_view(&self, user_ref: i64) -> Result<Option<DateTime<Utc>>> {
        self.need_index("pages_user")?;
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
        for user in [100, 200, 300] {
            assert!(store.user_companies(user).unwrap().is_empty());
        }
        // One plan for every profile: a list of every user runs these once each.
        for sql in [
            OWNED_RECORDS,
            "SELECT company_ref FROM memberships WHERE user_ref = ?1",
        ] {
            let stmt = store.conn().prepare_cached(sql).unwrap();
            let reprepared = stmt.get_status(rusqlite::StatementStatus::RePrepare);
            assert_eq!(reprepared, 0, "{sql} prepared again for a new value");
        }
    }
}
