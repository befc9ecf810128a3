//! Users and companies: how many match, and each match's view, in order.

use std::collections::HashMap;

use anyhow::Result;
use rusqlite::{OptionalExtension, params_from_iter};
use serde_json::{Map, Value};

use super::sql::{COMPANIES, USERS, company_where, limit, order_sql, user_where};
use super::{Binder, CompanyQuery, UserQuery};
use crate::semantics::attributes::{AttrType, Scalar, Scope};
use crate::semantics::company::CompanyField;
use crate::semantics::profile::UserField;
use crate::store::Store;
use crate::store::companies::CompanyView;
use crate::store::users::UserView;

/// Attribute definitions of a scope by id: name and type.
type Defs = HashMap<i64, (String, AttrType)>;

/// An owner's attribute values, typed, by name; and the types, by name.
fn named_attributes(
    defs: &Defs,
    values: Vec<(i64, Scalar)>,
) -> (Map<String, Value>, Vec<(String, AttrType)>) {
    let mut named: Vec<(&String, AttrType, Value)> = values
        .into_iter()
        .filter_map(|(id, value)| {
            let (name, ty) = defs.get(&id)?;
            Some((name, *ty, value.to_json(*ty)))
        })
        .collect();
    named.sort_by(|a, b| a.0.cmp(b.0));
    let types = named.iter().map(|(n, t, _)| ((*n).clone(), *t)).collect();
    let map = named.into_iter().map(|(n, _, v)| (n.clone(), v)).collect();
    (map, types)
}

impl Store {
    /// Custom attributes of a scope: (name, id, type), by name.
    pub fn attribute_schema(&self, scope: Scope) -> Result<Vec<(String, i64, AttrType)>> {
        Ok(self
            .attribute_defs()?
            .into_iter()
            .filter(|d| d.scope == scope)
            .map(|d| (d.name, d.id, d.ty))
            .collect())
    }

    fn defs(&self, scope: Scope) -> Result<Defs> {
        Ok(self
            .attribute_schema(scope)?
            .into_iter()
            .map(|(name, id, ty)| (id, (name, ty)))
            .collect())
    }

    /// Whether any occurrence of this event was recorded.
    pub fn event_recorded(&self, name: &str) -> Result<bool> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT 1 FROM events WHERE name = ?1 LIMIT 1")?;
        Ok(stmt.query_row([name], |_| Ok(())).optional()?.is_some())
    }

    /// How many users match (the limit is ignored).
    pub fn count_users(&self, q: &UserQuery) -> Result<u64> {
        let mut b = Binder::default();
        let sql = format!(
            "SELECT count(*) FROM users u WHERE {}",
            user_where(q, &mut b)?
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let n: i64 = stmt.query_row(params_from_iter(b.params), |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Calls `each` with every matching user's view, in order; stops at its first error.
    pub fn for_each_user(
        &self,
        q: &UserQuery,
        mut each: impl FnMut(UserView) -> Result<()>,
    ) -> Result<()> {
        let defs = self.defs(Scope::User)?;
        let mut b = Binder::default();
        let filter = user_where(q, &mut b)?;
        let order = match &q.sort {
            Some(key) => order_sql(&USERS, key, &mut b)?,
            None => "u.user_id IS NULL, u.user_id, u.anonymous_id, u.id".into(),
        };
        let lim = b.bind(limit(q.limit));
        let off = b.bind(q.offset.min(i64::MAX as u64) as i64);
        let fields = UserField::ALL.map(|f| format!("u.{}", f.name())).join(", ");
        let sql = format!(
            "SELECT u.id, u.user_id, {fields}, u.page_views, u.last_seen, u.created_at, u.updated_at
             FROM users u WHERE {filter} ORDER BY {order} LIMIT {lim} OFFSET {off}"
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let mut companies = self.company_reader()?;
        let mut attrs = self.conn().prepare_cached(
            "SELECT attr_id, value FROM user_attributes WHERE user_ref = ?1 AND value IS NOT NULL",
        )?;
        let n = UserField::ALL.len();
        let mut rows = stmt.query(params_from_iter(b.params))?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let fields: Vec<Option<String>> = (0..n)
                .map(|i| r.get(2 + i))
                .collect::<rusqlite::Result<_>>()?;
            let values: Vec<(i64, Scalar)> = attrs
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let (attributes, attribute_types) = named_attributes(&defs, values);
            let view = UserView {
                user_id: r.get(1)?,
                page_views: r.get(n + 2)?,
                last_seen: r.get(n + 3)?,
                attributes,
                attribute_types,
                // Listed users are not owned records (`user_where`).
                companies: companies.read(id, true)?,
                created_at: r.get(n + 4)?,
                updated_at: r.get(n + 5)?,
                ..UserView::with_fields(fields)
            };
            each(view)?;
        }
        Ok(())
    }

    /// How many companies match (the limit is ignored).
    pub fn count_companies(&self, q: &CompanyQuery) -> Result<u64> {
        let mut b = Binder::default();
        let sql = format!(
            "SELECT count(*) FROM companies c WHERE {}",
            company_where(q, &mut b)?
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let n: i64 = stmt.query_row(params_from_iter(b.params), |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Calls `each` with every matching company's view, in order.
    pub fn for_each_company(
        &self,
        q: &CompanyQuery,
        mut each: impl FnMut(CompanyView) -> Result<()>,
    ) -> Result<()> {
        let defs = self.defs(Scope::Company)?;
        let mut b = Binder::default();
        let filter = company_where(q, &mut b)?;
        let order = match &q.sort {
            Some(key) => order_sql(&COMPANIES, key, &mut b)?,
            None => "c.group_id".into(),
        };
        let lim = b.bind(limit(q.limit));
        let off = b.bind(q.offset.min(i64::MAX as u64) as i64);
        let fields = CompanyField::ALL
            .map(|f| format!("c.{}", f.name()))
            .join(", ");
        let sql = format!(
            "SELECT c.id, c.group_id, {fields}, c.created_at, c.updated_at
             FROM companies c WHERE {filter} ORDER BY {order} LIMIT {lim} OFFSET {off}"
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let mut attrs = self.conn().prepare_cached(
            "SELECT attr_id, value FROM company_attributes WHERE company_ref = ?1 AND value IS NOT NULL",
        )?;
        let mut members = self.conn().prepare_cached(
            "SELECT DISTINCT coalesce(u.user_id, u.anonymous_id, '') FROM member_of m
             JOIN users u ON u.id = m.user_ref WHERE m.company_ref = ?1 ORDER BY 1",
        )?;
        let n = CompanyField::ALL.len();
        let mut rows = stmt.query(params_from_iter(b.params))?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let fields: Vec<Option<Scalar>> = (0..n)
                .map(|i| r.get(2 + i))
                .collect::<rusqlite::Result<_>>()?;
            let values: Vec<(i64, Scalar)> = attrs
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let (attributes, attribute_types) = named_attributes(&defs, values);
            let view = CompanyView {
                group_id: r.get(1)?,
                attributes,
                attribute_types,
                members: members
                    .query_map([id], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?,
                created_at: r.get(n + 2)?,
                updated_at: r.get(n + 3)?,
                ..CompanyView::with_fields(fields)
            };
            each(view)?;
        }
        Ok(())
    }
}
