//! Filtered lists and aggregates: users and companies by fields, attributes and
//! activity; event occurrences and page views; counts per bucket. Rows are streamed to a
//! callback, so a list of millions never sits in memory.
//!
//! Filters arrive typed (see [`crate::semantics::filter`]) and are compiled here to SQL
//! whose values are all parameters; the only identifiers spliced in come from the fixed
//! whitelists below.

use std::collections::HashMap;

use anyhow::{Result, bail};
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, OptionalExtension, params_from_iter};
use serde_json::{Map, Value};

use super::Store;
use super::companies::CompanyView;
use super::history::{EventRow, PageRow};
use super::users::UserView;
use crate::semantics::attributes::{AttrType, Scalar, Scope};
use crate::semantics::company::CompanyField;
use crate::semantics::filter::{Operand, Predicate, SortKey, Target, Test};
use crate::semantics::profile::UserField;

/// Registers the SQL functions the queries use: `usercom_lower(text)`, Unicode
/// lowercase (SQLite's own `lower` and `LIKE` fold ASCII only).
pub(crate) fn register_functions(conn: &Connection) -> Result<()> {
    conn.create_scalar_function(
        "usercom_lower",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok(match ctx.get_raw(0) {
                ValueRef::Null => None,
                ValueRef::Integer(n) => Some(n.to_string()),
                ValueRef::Real(x) => Some(x.to_string()),
                ValueRef::Text(t) | ValueRef::Blob(t) => {
                    Some(String::from_utf8_lossy(t).to_lowercase())
                }
            })
        },
    )?;
    Ok(())
}

// ---- queries ----

/// An event-occurrence condition: the user did `name` at least `at_least` times
/// in `[since, until)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCondition {
    pub name: String,
    pub since: Option<String>,
    pub until: Option<String>,
    pub at_least: u64,
}

/// Which users to list; every condition must hold.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub predicates: Vec<Predicate>,
    pub did: Vec<EventCondition>,
    /// Users for whom the condition does not hold (including those with no events).
    pub not_did: Vec<EventCondition>,
    /// Lowercased substrings of a viewed page's URL (or path, when no URL).
    pub visited: Vec<String>,
    pub not_visited: Vec<String>,
    /// Company row ids (memberships).
    pub in_company: Vec<i64>,
    /// `last_seen >= this` (stored form).
    pub seen_since: Option<String>,
    /// None: by userId, then anonymousId.
    pub sort: Option<SortKey>,
    pub limit: Option<u64>,
    /// Rows skipped before the first one given.
    pub offset: u64,
}

/// Which companies to list.
#[derive(Debug, Clone, Default)]
pub struct CompanyQuery {
    pub predicates: Vec<Predicate>,
    /// None: by groupId.
    pub sort: Option<SortKey>,
    pub limit: Option<u64>,
    /// Rows skipped before the first one given.
    pub offset: u64,
}

/// Which event occurrences or page views to list or aggregate.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    pub user_ref: Option<i64>,
    /// Events: exactly this name. Pages: exactly this page name.
    pub name: Option<String>,
    /// Pages: lowercased substring of the URL (or path).
    pub url: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub limit: Option<u64>,
    /// Rows (or buckets) skipped before the first one given.
    pub offset: u64,
    /// Newest first (with `limit`: the latest ones) instead of oldest first.
    pub newest_first: bool,
}

/// What to aggregate by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// Event name, or page name.
    Name,
    /// UTC calendar day, `YYYY-MM-DD`.
    Day,
    /// ISO week, named by its Monday, `YYYY-MM-DD`.
    Week,
    /// `YYYY-MM`.
    Month,
    /// userId (anonymousId for users without one).
    User,
    /// Pages only: the URL.
    Url,
    /// Pages only: the path.
    Path,
}

impl Bucket {
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Name => "name",
            Bucket::Day => "day",
            Bucket::Week => "week",
            Bucket::Month => "month",
            Bucket::User => "user",
            Bucket::Url => "url",
            Bucket::Path => "path",
        }
    }

    pub(super) fn is_time(self) -> bool {
        matches!(self, Bucket::Day | Bucket::Week | Bucket::Month)
    }
}

/// One bucket of an aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatRow {
    /// The bucket (None for page views without a URL, path or name).
    pub key: Option<String>,
    /// Occurrences (events or page views).
    pub count: i64,
    /// Distinct users.
    pub users: i64,
    pub first: String,
    pub last: String,
}

// ---- SQL building ----

/// Collects parameters while SQL text is built; hands out their placeholders.
#[derive(Default)]
pub(super) struct Binder {
    pub(super) params: Vec<SqlValue>,
}

impl Binder {
    pub(super) fn bind(&mut self, value: impl Into<SqlValue>) -> String {
        self.params.push(value.into());
        format!("?{}", self.params.len())
    }

    fn operand(&mut self, operand: &Operand) -> String {
        match operand {
            Operand::Text(s) => self.bind(s.clone()),
            Operand::Int(n) => self.bind(*n),
            Operand::Real(x) => self.bind(*x),
            Operand::Bool(b) => self.bind(*b as i64),
        }
    }
}

/// Users or companies: the table alias, the attribute table, the column whitelist.
struct Owner {
    alias: &'static str,
    attr_table: &'static str,
    owner_column: &'static str,
    column: fn(&str) -> Result<String>,
}

const USERS: Owner = Owner {
    alias: "u",
    attr_table: "user_attributes",
    owner_column: "user_ref",
    column: user_column,
};

const COMPANIES: Owner = Owner {
    alias: "c",
    attr_table: "company_attributes",
    owner_column: "company_ref",
    column: company_column,
};

const USER_EXTRA_COLUMNS: [&str; 5] = [
    "user_id",
    "page_views",
    "last_seen",
    "created_at",
    "updated_at",
];

/// A `users` column (whitelisted), qualified.
fn user_column(name: &str) -> Result<String> {
    let known =
        USER_EXTRA_COLUMNS.contains(&name) || UserField::ALL.iter().any(|f| f.name() == name);
    if !known {
        bail!("internal error: {name:?} is not a users column");
    }
    Ok(format!("u.{name}"))
}

/// A `companies` column or computed field (whitelisted), qualified.
fn company_column(name: &str) -> Result<String> {
    if name == "members" {
        return Ok(
            "(SELECT count(DISTINCT m.user_ref) FROM member_of m WHERE m.company_ref = c.id)"
                .into(),
        );
    }
    let known = ["group_id", "created_at", "updated_at"].contains(&name)
        || CompanyField::ALL.iter().any(|f| f.name() == name);
    if !known {
        bail!("internal error: {name:?} is not a companies column");
    }
    Ok(format!("c.{name}"))
}

fn test_sql(expr: &str, test: &Test, b: &mut Binder) -> String {
    match test {
        Test::Cmp(cmp, operand) => format!("{expr} {} {}", cmp.sql(), b.operand(operand)),
        Test::Range(lo, hi) => {
            let (lo, hi) = (b.operand(lo), b.operand(hi));
            format!("{expr} >= {lo} AND {expr} < {hi}")
        }
        Test::Contains(needle) => {
            format!(
                "instr(usercom_lower({expr}), {}) > 0",
                b.bind(needle.clone())
            )
        }
        Test::Present => format!("{expr} IS NOT NULL"),
    }
}

fn predicate_sql(owner: &Owner, p: &Predicate, b: &mut Binder) -> Result<String> {
    Ok(match p.target {
        Target::Field(name) => {
            let test = test_sql(&(owner.column)(name)?, &p.test, b);
            // A missing value makes the test NULL: "not" then holds.
            if p.negated {
                format!("(({test}) IS NOT 1)")
            } else {
                format!("({test})")
            }
        }
        Target::Attribute(id) => {
            let attr = b.bind(id);
            let test = test_sql("a.value", &p.test, b);
            let not = if p.negated { "NOT " } else { "" };
            format!(
                "{}.id {not}IN (SELECT a.{} FROM {} a WHERE a.attr_id = {attr} AND {test})",
                owner.alias, owner.owner_column, owner.attr_table
            )
        }
    })
}

/// `ORDER BY` for a sort key: values first, missing values last, then by row id.
fn order_sql(owner: &Owner, key: &SortKey, b: &mut Binder) -> Result<String> {
    let expr = match key.target {
        Target::Field(name) => (owner.column)(name)?,
        Target::Attribute(id) => format!(
            "(SELECT a.value FROM {} a WHERE a.{} = {}.id AND a.attr_id = {})",
            owner.attr_table,
            owner.owner_column,
            owner.alias,
            b.bind(id)
        ),
    };
    let dir = if key.descending { " DESC" } else { "" };
    Ok(format!("{expr} IS NULL, {expr}{dir}, {}.id", owner.alias))
}

fn event_condition_sql(c: &EventCondition, b: &mut Binder) -> String {
    let mut sql = format!(
        "SELECT e.user_ref FROM events e WHERE e.name = {}",
        b.bind(c.name.clone())
    );
    window_sql(&mut sql, "e", c.since.as_deref(), c.until.as_deref(), b);
    if c.at_least > 1 {
        let n = b.bind(c.at_least.min(i64::MAX as u64) as i64);
        sql.push_str(&format!(" GROUP BY e.user_ref HAVING count(*) >= {n}"));
    }
    sql
}

fn window_sql(
    sql: &mut String,
    alias: &str,
    since: Option<&str>,
    until: Option<&str>,
    b: &mut Binder,
) {
    if let Some(since) = since {
        sql.push_str(&format!(
            " AND {alias}.timestamp >= {}",
            b.bind(since.to_string())
        ));
    }
    if let Some(until) = until {
        sql.push_str(&format!(
            " AND {alias}.timestamp < {}",
            b.bind(until.to_string())
        ));
    }
}

fn visited_sql(needle: &str, b: &mut Binder) -> String {
    format!(
        "SELECT p.user_ref FROM pages p
         WHERE instr(usercom_lower(coalesce(p.url, p.path)), {}) > 0",
        b.bind(needle.to_string())
    )
}

/// The `WHERE` clause of a user query (`1` when there are no conditions).
fn user_where(q: &UserQuery, b: &mut Binder) -> Result<String> {
    // Anonymous records with an owner are part of that user, not users of their own.
    let mut parts = vec!["u.owner_ref IS NULL".to_string()];
    for p in &q.predicates {
        parts.push(predicate_sql(&USERS, p, b)?);
    }
    for c in &q.did {
        parts.push(format!("u.id IN ({})", event_condition_sql(c, b)));
    }
    for c in &q.not_did {
        parts.push(format!("u.id NOT IN ({})", event_condition_sql(c, b)));
    }
    for v in &q.visited {
        parts.push(format!("u.id IN ({})", visited_sql(v, b)));
    }
    for v in &q.not_visited {
        parts.push(format!("u.id NOT IN ({})", visited_sql(v, b)));
    }
    for company in &q.in_company {
        parts.push(format!(
            "u.id IN (SELECT m.user_ref FROM member_of m WHERE m.company_ref = {})",
            b.bind(*company)
        ));
    }
    if let Some(since) = &q.seen_since {
        parts.push(format!("u.last_seen >= {}", b.bind(since.clone())));
    }
    Ok(if parts.is_empty() {
        "1".into()
    } else {
        parts.join("\n  AND ")
    })
}

fn company_where(q: &CompanyQuery, b: &mut Binder) -> Result<String> {
    let parts = q
        .predicates
        .iter()
        .map(|p| predicate_sql(&COMPANIES, p, b))
        .collect::<Result<Vec<_>>>()?;
    Ok(if parts.is_empty() {
        "1".into()
    } else {
        parts.join("\n  AND ")
    })
}

fn limit(limit: Option<u64>) -> i64 {
    limit.map(|n| n.min(i64::MAX as u64) as i64).unwrap_or(-1)
}

fn parse_json(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

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
                companies: self.companies_of(id, true)?,
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

    pub(super) fn history_where(&self, alias: &str, q: &HistoryQuery, b: &mut Binder) -> String {
        let mut sql = String::from("1");
        if let Some(user) = q.user_ref {
            sql.push_str(&format!(" AND {alias}.user_ref = {}", b.bind(user)));
        }
        if let Some(name) = &q.name {
            sql.push_str(&format!(" AND {alias}.name = {}", b.bind(name.clone())));
        }
        if let Some(url) = &q.url {
            sql.push_str(&format!(
                " AND instr(usercom_lower(coalesce({alias}.url, {alias}.path)), {}) > 0",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::filter::{Cmp, Schema, predicate};

    fn now() -> chrono::DateTime<chrono::Utc> {
        crate::semantics::time::parse_timestamp("2026-03-15T12:00:00Z").unwrap()
    }

    #[test]
    fn values_are_parameters_and_identifiers_whitelisted() {
        let schema = Schema::users([("plan".to_string(), 7, AttrType::String)]);
        let mut b = Binder::default();
        let p = predicate("country='Po'' land; DROP TABLE users'", &schema, now()).unwrap();
        let sql = predicate_sql(&USERS, &p, &mut b).unwrap();
        assert_eq!(sql, "(u.country = ?1)");
        assert_eq!(
            b.params,
            vec![SqlValue::Text("Po'' land; DROP TABLE users".into())]
        );
        let p = predicate("plan!=pro", &schema, now()).unwrap();
        let sql = predicate_sql(&USERS, &p, &mut b).unwrap();
        assert_eq!(
            sql,
            "u.id NOT IN (SELECT a.user_ref FROM user_attributes a WHERE a.attr_id = ?2 AND a.value = ?3)"
        );
        let bad = Predicate {
            target: Target::Field("country; DROP TABLE users"),
            negated: false,
            test: Test::Cmp(Cmp::Eq, Operand::Int(1)),
        };
        assert!(predicate_sql(&USERS, &bad, &mut b).is_err());
        assert!(company_column("page_views").is_err());
        assert!(user_column("members").is_err());
    }

    #[test]
    fn unicode_lowercase_function() {
        let store = Store::open_in_memory().unwrap();
        let lowered: Option<String> = store
            .conn()
            .query_row("SELECT usercom_lower(?1)", ["ŁÓDŹ Straße"], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(lowered.as_deref(), Some("łódź straße"));
        let null: Option<String> = store
            .conn()
            .query_row("SELECT usercom_lower(NULL)", [], |r| r.get(0))
            .unwrap();
        assert_eq!(null, None);
    }
}
