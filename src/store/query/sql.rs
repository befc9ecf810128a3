//! Typed filters compiled to SQL: every value a parameter, every identifier from the
//! whitelists here.

use anyhow::{Result, bail};
use rusqlite::types::Value as SqlValue;

use super::{CompanyQuery, EventCondition, UserQuery};
use crate::semantics::company::CompanyField;
use crate::semantics::filter::{Operand, Predicate, SortKey, Target, Test};
use crate::semantics::profile::UserField;

/// Collects parameters while SQL text is built; hands out their placeholders.
#[derive(Default)]
pub(in crate::store) struct Binder {
    pub(in crate::store) params: Vec<SqlValue>,
}

impl Binder {
    pub(in crate::store) fn bind(&mut self, value: impl Into<SqlValue>) -> String {
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
pub(super) struct Owner {
    alias: &'static str,
    attr_table: &'static str,
    owner_column: &'static str,
    column: fn(&str) -> Result<String>,
}

pub(super) const USERS: Owner = Owner {
    alias: "u",
    attr_table: "user_attributes",
    owner_column: "user_ref",
    column: user_column,
};

pub(super) const COMPANIES: Owner = Owner {
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
            format!("usercom_contains({expr}, {})", b.bind(needle.clone()))
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
pub(super) fn order_sql(owner: &Owner, key: &SortKey, b: &mut Binder) -> Result<String> {
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

pub(super) fn window_sql(
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
         WHERE usercom_contains(coalesce(p.url, p.path), {})",
        b.bind(needle.to_string())
    )
}

/// The `WHERE` clause of a user query (`1` when there are no conditions).
pub(super) fn user_where(q: &UserQuery, b: &mut Binder) -> Result<String> {
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

pub(super) fn company_where(q: &CompanyQuery, b: &mut Binder) -> Result<String> {
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

pub(super) fn limit(limit: Option<u64>) -> i64 {
    limit.map(|n| n.min(i64::MAX as u64) as i64).unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::attributes::AttrType;
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
}
