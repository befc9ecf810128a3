//! Companies and memberships.

use std::sync::LazyLock;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params, params_from_iter};
use serde::Serialize;
use serde_json::{Map, Value};

use super::Store;
use super::profile_writes::AttrTable;
use crate::semantics::attributes::{AttrType, Scalar};
use crate::semantics::company::{CompanyField, CompanyProfile};
use crate::semantics::lww::{Lww, pack_clocks, unpack_clocks};
use crate::semantics::profile::Record;
use crate::semantics::time::{format_timestamp, parse_timestamp};

static FIELD_COLUMNS: LazyLock<String> =
    LazyLock::new(|| CompanyField::ALL.map(CompanyField::name).join(", "));

static SELECT_COMPANY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id, group_id, {}, created_at, updated_at, field_clocks FROM companies WHERE id = ?1",
        *FIELD_COLUMNS
    )
});

static UPDATE_COMPANY: LazyLock<String> = LazyLock::new(|| {
    let sets: Vec<String> = CompanyField::ALL
        .iter()
        .enumerate()
        .map(|(i, f)| format!("{} = ?{}", f.name(), i + 2))
        .collect();
    let n = CompanyField::ALL.len() + 2;
    format!(
        "UPDATE companies SET {}, created_at = ?{n}, updated_at = ?{}, field_clocks = ?{} WHERE id = ?1",
        sets.join(", "),
        n + 1,
        n + 2
    )
});

/// A company as printed by `companies show` and `companies list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CompanyView {
    pub group_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub address: Option<String>,
    pub employees: Option<Value>,
    pub country: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub attributes: Map<String, Value>,
    #[serde(skip)]
    pub attribute_types: Vec<(String, AttrType)>,
    /// userIds (anonymousIds for members without one).
    pub members: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl CompanyView {
    /// A view of the standard fields, given in [`CompanyField`] order (the rest left
    /// empty).
    pub(crate) fn with_fields(mut fields: Vec<Option<Scalar>>) -> CompanyView {
        let employees = fields[CompanyField::Employees.index()]
            .take()
            .map(|s| s.to_json(AttrType::Number));
        let mut text = |field: CompanyField| {
            fields[field.index()].take().map(|s| match s {
                Scalar::Text(s) => s.into_string(),
                other => other.display(AttrType::String),
            })
        };
        CompanyView {
            name: text(CompanyField::Name),
            email: text(CompanyField::Email),
            phone: text(CompanyField::Phone),
            description: text(CompanyField::Description),
            address: text(CompanyField::Address),
            employees,
            country: text(CompanyField::Country),
            region: text(CompanyField::Region),
            city: text(CompanyField::City),
            ..CompanyView::default()
        }
    }
}

fn time_of(text: &str) -> Result<DateTime<Utc>> {
    parse_timestamp(text).with_context(|| format!("corrupt time {text:?} in the database"))
}

impl Store {
    pub fn company_ref(&self, group_id: &str) -> Result<Option<i64>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT id FROM companies WHERE group_id = ?1")?;
        Ok(stmt.query_row([group_id], |r| r.get(0)).optional()?)
    }

    pub fn insert_company(&self, group_id: &str, time: DateTime<Utc>) -> Result<i64> {
        let time = format_timestamp(time);
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO companies (group_id, created_at, updated_at) VALUES (?1, ?2, ?2)",
        )?;
        stmt.execute(params![group_id, time])?;
        Ok(self.conn().last_insert_rowid())
    }

    pub fn load_company(&self, id: i64) -> Result<CompanyProfile> {
        let n = CompanyField::ALL.len();
        let mut stmt = self.conn().prepare_cached(&SELECT_COMPANY)?;
        let (group_id, values, created, updated, clocks) = stmt
            .query_row([id], |r| {
                let values: Vec<Option<Scalar>> = (0..n)
                    .map(|i| r.get(2 + i))
                    .collect::<rusqlite::Result<_>>()?;
                Ok((
                    r.get::<_, String>(1)?,
                    values,
                    r.get::<_, String>(n + 2)?,
                    r.get::<_, String>(n + 3)?,
                    r.get::<_, Vec<u8>>(n + 4)?,
                ))
            })
            .with_context(|| format!("loading company {id}"))?;
        let fields = unpack_clocks(&clocks, n)
            .into_iter()
            .zip(values)
            .map(|(clock, value)| clock.map(|clock| Lww { value, clock }))
            .collect();
        Ok(CompanyProfile {
            id,
            group_id,
            record: Record {
                fields,
                attributes: self.load_attributes(AttrTable::COMPANY, id)?,
                created_at: time_of(&created)?,
                updated_at: time_of(&updated)?,
            },
        })
    }

    pub fn save_company(
        &self,
        company: &CompanyProfile,
        attributes: impl IntoIterator<Item = i64>,
    ) -> Result<()> {
        let mut values: Vec<rusqlite::types::Value> =
            Vec::with_capacity(CompanyField::ALL.len() + 4);
        values.push(company.id.into());
        for i in 0..CompanyField::ALL.len() {
            values.push(match company.record.field(i) {
                Some(Scalar::Text(s)) => s.to_string().into(),
                Some(Scalar::Int(n)) => (*n).into(),
                Some(Scalar::Real(x)) => (*x).into(),
                Some(Scalar::Bool(b)) => (*b as i64).into(),
                None => rusqlite::types::Value::Null,
            });
        }
        values.push(format_timestamp(company.record.created_at).into());
        values.push(format_timestamp(company.record.updated_at).into());
        values.push(pack_clocks(&company.record.fields).into());
        self.conn()
            .prepare_cached(&UPDATE_COMPANY)?
            .execute(params_from_iter(values))?;
        self.save_attributes(AttrTable::COMPANY, company.id, &company.record, attributes)
    }

    /// Makes a user a member (once); `since` is the earliest group call seen.
    pub fn add_membership(
        &self,
        company_ref: i64,
        user_ref: i64,
        time: DateTime<Utc>,
    ) -> Result<()> {
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO memberships (company_ref, user_ref, since) VALUES (?1, ?2, ?3)
             ON CONFLICT (company_ref, user_ref) DO UPDATE SET since = min(since, excluded.since)",
        )?;
        stmt.execute(params![company_ref, user_ref, format_timestamp(time)])?;
        Ok(())
    }

    pub fn company_view(&self, id: i64) -> Result<CompanyView> {
        let company = self.load_company(id)?;
        let fields = (0..CompanyField::ALL.len())
            .map(|i| company.record.field(i).cloned())
            .collect();
        let (attributes, attribute_types) = self.attribute_values(&company.record)?;
        let mut stmt = self.conn().prepare_cached(
            "SELECT DISTINCT coalesce(u.user_id, u.anonymous_id, '') FROM member_of m
             JOIN users u ON u.id = m.user_ref WHERE m.company_ref = ?1 ORDER BY 1",
        )?;
        let members = stmt
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(CompanyView {
            group_id: company.group_id,
            attributes,
            attribute_types,
            members,
            created_at: format_timestamp(company.record.created_at),
            updated_at: format_timestamp(company.record.updated_at),
            ..CompanyView::with_fields(fields)
        })
    }

    /// Every company's id, by groupId.
    pub fn company_refs(&self) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT id FROM companies ORDER BY group_id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
