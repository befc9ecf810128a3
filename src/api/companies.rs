//! Companies: the filters of `companies list` (and `GET /v1/companies`), and the rows
//! as JSON, CSV or table cells.

use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::users::{plain, usage};
use super::{Listing, Window};
use crate::Error;
use crate::output::{Format, ListSink, cell};
use crate::semantics::attributes::{AttrType, Scope};
use crate::semantics::filter::{Schema, predicate, sort_key};
use crate::store::{CompanyQuery, CompanyView, Store};

/// Which companies, as text (flags or query parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CompanyFilter {
    #[serde(rename = "where")]
    pub filters: Vec<String>,
    pub sort: Option<String>,
}

/// A company as listed (`companies list --json`, `GET /v1/companies`): the view and
/// its member count.
#[derive(Debug, Clone, Serialize)]
pub struct CompanyRow {
    #[serde(flatten)]
    pub company: CompanyView,
    pub member_count: usize,
}

impl From<CompanyView> for CompanyRow {
    fn from(company: CompanyView) -> CompanyRow {
        CompanyRow {
            member_count: company.members.len(),
            company,
        }
    }
}

/// Builds the store query, checking every name and value.
pub fn company_query(store: &Store, f: &CompanyFilter, now: DateTime<Utc>) -> Result<CompanyQuery> {
    let schema = Schema::companies(store.attribute_schema(Scope::Company)?);
    Ok(CompanyQuery {
        predicates: f
            .filters
            .iter()
            .map(|e| predicate(e, &schema, now).map_err(usage))
            .collect::<Result<_>>()?,
        sort: f
            .sort
            .as_deref()
            .map(|s| sort_key(s, &schema).map_err(usage))
            .transpose()?,
        limit: None,
        offset: 0,
    })
}

/// One company by groupId (`companies show --json`, `GET /v1/companies/{groupId}`).
pub fn detail(store: &Store, group_id: &str) -> Result<CompanyView> {
    let Some(id) = store.company_ref(group_id)? else {
        return Err(Error::NotFound(format!(
            "no company with groupId {group_id:?} (see `usercom companies list`)"
        ))
        .into());
    };
    store.company_view(id)
}

impl Listing for CompanyQuery {
    type Row = CompanyRow;

    fn window(&self, window: Window) -> CompanyQuery {
        CompanyQuery {
            limit: window.limit,
            offset: window.offset,
            ..self.clone()
        }
    }

    fn count(&self, store: &Store) -> Result<u64> {
        store.count_companies(self)
    }

    fn each(&self, store: &Store, f: &mut dyn FnMut(CompanyRow) -> Result<()>) -> Result<()> {
        store.for_each_company(self, |company| f(company.into()))
    }
}

/// The standard fields, in order.
pub const FIELDS: [&str; 10] = [
    "group_id",
    "name",
    "email",
    "phone",
    "description",
    "address",
    "employees",
    "country",
    "region",
    "city",
];

/// One CSV or table cell of a company.
pub fn cell_of(c: &CompanyView, name: &str) -> String {
    match name {
        "group_id" => c.group_id.clone(),
        "name" => cell(c.name.as_deref()),
        "email" => cell(c.email.as_deref()),
        "phone" => cell(c.phone.as_deref()),
        "description" => cell(c.description.as_deref()),
        "address" => cell(c.address.as_deref()),
        "employees" => c.employees.as_ref().map(plain).unwrap_or_default(),
        "country" => cell(c.country.as_deref()),
        "region" => cell(c.region.as_deref()),
        "city" => cell(c.city.as_deref()),
        "members" => c.members.len().to_string(),
        "member_ids" => c.members.join(" "),
        "created_at" => c.created_at.clone(),
        "updated_at" => c.updated_at.clone(),
        other => other
            .strip_prefix("attributes.")
            .and_then(|a| c.attributes.get(a))
            .map(plain)
            .unwrap_or_default(),
    }
}

/// CSV columns: every field, then one column per company attribute.
pub fn csv_headers(attributes: &[(String, i64, AttrType)]) -> Vec<String> {
    let mut headers: Vec<String> = FIELDS.map(String::from).to_vec();
    headers.extend(["members", "member_ids", "created_at", "updated_at"].map(String::from));
    let mut names: Vec<&String> = attributes.iter().map(|(name, _, _)| name).collect();
    names.sort();
    headers.extend(names.into_iter().map(|a| format!("attributes.{a}")));
    headers
}

/// Writes every company of `query` to `out` in `format`; returns how many.
pub fn write(
    store: &Store,
    query: &CompanyQuery,
    format: Format,
    headers: Vec<String>,
    out: Box<dyn Write + '_>,
    mut stop: impl FnMut(usize) -> bool,
) -> Result<usize> {
    let mut sink = ListSink::to_writer(format, headers, out)?;
    store.for_each_company(query, |company| {
        if stop(sink.count()) {
            return Ok(());
        }
        let row = CompanyRow::from(company);
        sink.push(&row, |headers| {
            headers.iter().map(|h| cell_of(&row.company, h)).collect()
        })
    })?;
    sink.finish()
}
