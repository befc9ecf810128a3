//! User profiles: identity look-ups, loading and saving the last-write-wins record,
//! merging an anonymous profile into an identified one, and the user view.

use foldhash::HashMap;
use std::sync::LazyLock;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, Value};

use super::Store;
use super::profile_writes::AttrTable;
use crate::ingest::packed::unpack_shadows;
use crate::semantics::attributes::{AttrType, Scalar};
use crate::semantics::lww::{Clock, Lww, unpack_clocks};
use crate::semantics::profile::{Record, UserField, UserProfile};
use crate::semantics::time::{format_timestamp, parse_timestamp};

/// Attribute values by name, and each one's name and type.
type TypedValues = (Map<String, Value>, Vec<(String, AttrType)>);

/// The profile's field columns, in [`UserField`] order.
pub(super) static FIELD_COLUMNS: LazyLock<String> =
    LazyLock::new(|| UserField::ALL.map(UserField::name).join(", "));

static SELECT_USER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id, user_id, {}, page_views, last_seen, created_at, updated_at, field_clocks,
         owner_ref, claim_ms, claim_tie, shadows FROM users WHERE id = ?1",
        *FIELD_COLUMNS
    )
});

/// A user profile as printed by `users show` and `users list` (and served as JSON):
/// `user_id`, the standard fields by name in [`UserField`] order, then the rest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserView {
    pub user_id: Option<String>,
    /// The standard fields, in [`UserField`] order.
    pub fields: [Option<String>; UserField::ALL.len()],
    pub page_views: i64,
    pub last_seen: Option<String>,
    /// Custom attribute name -> typed value.
    pub attributes: Map<String, Value>,
    /// Custom attribute name -> type (for tables).
    pub attribute_types: Vec<(String, AttrType)>,
    /// groupIds.
    pub companies: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Serialize for UserView {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(UserField::ALL.len() + 7))?;
        map.serialize_entry("user_id", &self.user_id)?;
        for (field, value) in UserField::ALL.iter().zip(&self.fields) {
            map.serialize_entry(field.name(), value)?;
        }
        map.serialize_entry("page_views", &self.page_views)?;
        map.serialize_entry("last_seen", &self.last_seen)?;
        map.serialize_entry("attributes", &self.attributes)?;
        map.serialize_entry("companies", &self.companies)?;
        map.serialize_entry("created_at", &self.created_at)?;
        map.serialize_entry("updated_at", &self.updated_at)?;
        map.end()
    }
}

impl UserView {
    /// A view of the standard fields, given in [`UserField`] order (the rest left
    /// empty).
    pub(crate) fn with_fields(fields: Vec<Option<String>>) -> UserView {
        let mut view = UserView::default();
        for (slot, value) in view.fields.iter_mut().zip(fields) {
            *slot = value;
        }
        view
    }

    /// One standard field's value.
    pub fn field(&self, field: UserField) -> Option<&str> {
        self.fields[field.index()].as_deref()
    }

    /// The field values in [`UserField`] order (for tables and CSV).
    pub fn fields(&self) -> impl Iterator<Item = (UserField, Option<&str>)> {
        UserField::ALL
            .into_iter()
            .zip(self.fields.iter().map(Option::as_deref))
    }

    /// userId, else anonymousId: how the user is named in lists.
    pub fn display_id(&self) -> &str {
        self.user_id
            .as_deref()
            .or(self.field(UserField::AnonymousId))
            .unwrap_or("")
    }
}

pub(super) fn time_of(text: &str) -> Result<DateTime<Utc>> {
    parse_timestamp(text).with_context(|| format!("corrupt time {text:?} in the database"))
}

impl Store {
    pub fn user_ref_by_user_id(&self, user_id: &str) -> Result<Option<i64>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT id FROM users WHERE user_id = ?1")?;
        Ok(stmt.query_row([user_id], |r| r.get(0)).optional()?)
    }

    /// The profile an anonymousId leads to: its anonymous record (or, stored by an
    /// earlier release, an identified profile).
    pub fn user_ref_by_anonymous_id(&self, anonymous_id: &str) -> Result<Option<i64>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT user_ref FROM anonymous_ids WHERE anonymous_id = ?1")?;
        Ok(stmt.query_row([anonymous_id], |r| r.get(0)).optional()?)
    }

    /// The user an anonymousId belongs to: its record's owner, else the profile it
    /// leads to.
    pub fn owner_by_anonymous_id(&self, anonymous_id: &str) -> Result<Option<i64>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT coalesce(u.owner_ref, a.user_ref) FROM anonymous_ids a
             JOIN users u ON u.id = a.user_ref WHERE a.anonymous_id = ?1",
        )?;
        Ok(stmt.query_row([anonymous_id], |r| r.get(0)).optional()?)
    }

    /// Finds a user by userId, anonymousId or email (in that order; an email in any case);
    /// an owned anonymous record's owner.
    pub fn find_user(&self, id: &str) -> Result<Option<i64>> {
        if let Some(found) = self.user_ref_by_user_id(id)? {
            return Ok(Some(found));
        }
        if let Some(found) = self.owner_by_anonymous_id(id)? {
            return Ok(Some(found));
        }
        let mut stmt = self.conn().prepare_cached(
            "SELECT coalesce(owner_ref, id) FROM users WHERE email = ?1 ORDER BY id LIMIT 1",
        )?;
        if let Some(found) = stmt.query_row([id], |r| r.get(0)).optional()? {
            return Ok(Some(found));
        }
        // Emails are case-insensitive to people: any case finds one.
        let mut stmt = self.conn().prepare_cached(
            "SELECT coalesce(owner_ref, id) FROM users WHERE lower(email) = lower(?1)
             ORDER BY id LIMIT 1",
        )?;
        Ok(stmt.query_row([id], |r| r.get(0)).optional()?)
    }

    /// The id the next new profile gets (ids are handed out by the writer, which holds
    /// the write lock, so that a new profile is written once, whole, at flush).
    pub fn next_user_ref(&self) -> Result<i64> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT coalesce(max(id), 0) + 1 FROM users")?;
        Ok(stmt.query_row([], |r| r.get(0))?)
    }

    /// Points an anonymousId at a profile.
    pub fn link_anonymous_id(&self, anonymous_id: &str, user_ref: i64) -> Result<()> {
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO anonymous_ids (anonymous_id, user_ref) VALUES (?1, ?2)
             ON CONFLICT (anonymous_id) DO UPDATE SET user_ref = excluded.user_ref",
        )?;
        stmt.execute(params![anonymous_id, user_ref])?;
        Ok(())
    }

    pub fn load_user(&self, id: i64) -> Result<UserProfile> {
        let mut stmt = self.conn().prepare_cached(&SELECT_USER)?;
        let n = UserField::ALL.len();
        let (user_id, values, page_views, last_seen, created, updated, clocks, owned) = stmt
            .query_row([id], |r| {
                let values: Vec<Option<String>> = (0..n)
                    .map(|i| r.get(2 + i))
                    .collect::<rusqlite::Result<_>>()?;
                Ok((
                    r.get::<_, Option<String>>(1)?,
                    values,
                    r.get::<_, i64>(n + 2)?,
                    r.get::<_, Option<String>>(n + 3)?,
                    r.get::<_, String>(n + 4)?,
                    r.get::<_, String>(n + 5)?,
                    r.get::<_, Vec<u8>>(n + 6)?,
                    (
                        r.get::<_, Option<i64>>(n + 7)?,
                        r.get::<_, Option<i64>>(n + 8)?,
                        r.get::<_, Option<i64>>(n + 9)?,
                        r.get::<_, Option<Vec<u8>>>(n + 10)?,
                    ),
                ))
            })
            .with_context(|| format!("loading user {id}"))?;
        let fields = unpack_clocks(&clocks, n)
            .into_iter()
            .zip(values)
            .map(|(clock, value)| {
                clock.map(|clock| Lww {
                    value: value.map(|s| Scalar::Text(s.into())),
                    clock,
                })
            })
            .collect();
        let record = Record {
            fields,
            attributes: self.load_attributes(AttrTable::USER, id)?,
            created_at: time_of(&created)?,
            updated_at: time_of(&updated)?,
        };
        Ok(UserProfile {
            id,
            user_id,
            record,
            page_views,
            last_seen: last_seen.as_deref().map(time_of).transpose()?,
            shadows: unpack_shadows(owned.3.as_deref()),
            owner: match owned {
                (Some(owner), Some(millis), Some(tie), _) => Some((owner, Clock { millis, tie })),
                _ => None,
            },
        })
    }

    /// The printable view of a profile.
    pub fn user_view(&self, id: i64) -> Result<UserView> {
        let profile = self.load_user(id)?;
        let text = |f: UserField| match profile.field(f) {
            Some(Scalar::Text(s)) => Some(s.to_string()),
            _ => None,
        };
        let (attributes, attribute_types) = self.attribute_values(&profile.record)?;
        let companies = self.user_companies(id)?;
        Ok(UserView {
            user_id: profile.user_id.clone(),
            page_views: profile.page_views,
            last_seen: profile.last_seen.map(format_timestamp),
            attributes,
            attribute_types,
            companies,
            created_at: format_timestamp(profile.record.created_at),
            updated_at: format_timestamp(profile.record.updated_at),
            ..UserView::with_fields(UserField::ALL.map(text).to_vec())
        })
    }

    /// Every user's id, ordered by userId (then anonymousId for anonymous profiles).
    pub fn user_refs(&self) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT id FROM users WHERE owner_ref IS NULL ORDER BY user_id IS NULL, user_id, anonymous_id, id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Attribute values by name, typed, without cleared ones: the values, and each
    /// one's name and type.
    pub(crate) fn attribute_values(&self, record: &Record) -> Result<TypedValues> {
        let defs: HashMap<i64, (String, AttrType)> = self
            .attribute_defs()?
            .into_iter()
            .map(|d| (d.id, (d.name, d.ty)))
            .collect();
        let mut named: Vec<(String, AttrType, Value)> = record
            .attributes
            .iter()
            .filter_map(|(id, lww)| {
                let (name, ty) = defs.get(id)?;
                let value = lww.value.as_ref()?;
                Some((name.clone(), *ty, value.to_json(*ty)))
            })
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let types = named.iter().map(|(n, t, _)| (n.clone(), *t)).collect();
        let map = named.into_iter().map(|(n, _, v)| (n, v)).collect();
        Ok((map, types))
    }

    pub(crate) fn load_attributes(
        &self,
        table: AttrTable,
        owner: i64,
    ) -> Result<HashMap<i64, Lww<Scalar>>> {
        let mut stmt = self.conn().prepare_cached(table.select)?;
        let rows = stmt.query_map([owner], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                Lww {
                    value: r.get::<_, Option<Scalar>>(1)?,
                    clock: Clock {
                        millis: r.get(2)?,
                        tie: r.get(3)?,
                    },
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
