//! Attribute definitions, and changing an attribute's type without losing values.

use anyhow::{Context, Result};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{Store, now_text};
use crate::semantics::attributes::{AttrType, Scalar, Scope, convert};

/// Who made an attribute: `attrs define`, or ingested data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Defined,
    Auto,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Defined => "defined",
            Origin::Auto => "auto",
        }
    }
}

/// An attribute definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttrDef {
    #[serde(skip)]
    pub id: i64,
    pub scope: Scope,
    /// The event an event attribute belongs to (`None` for user and company scope).
    pub event: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub ty: AttrType,
    pub origin: Origin,
    pub created_at: String,
}

impl Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Serialize for AttrType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A stored value that a type change could not convert; kept, not destroyed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnconvertedValue {
    pub scope: Scope,
    pub event: Option<String>,
    pub name: String,
    /// The user (userId or anonymousId), company (groupId) or event (messageId) it
    /// belonged to.
    pub owner: String,
    /// The value, as JSON text.
    pub value: String,
    pub from_type: AttrType,
    pub to_type: AttrType,
    pub at: String,
}

/// What `attrs define` did.
#[derive(Debug, Clone, Serialize)]
pub struct Redefinition {
    #[serde(flatten)]
    pub def: AttrDef,
    pub previous_type: Option<AttrType>,
    /// Stored values converted to the new type.
    pub converted: usize,
    pub unconverted: Vec<UnconvertedValue>,
}

fn event_key(event: Option<&str>) -> &str {
    event.unwrap_or("")
}

fn def_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AttrDef> {
    let scope: String = row.get(1)?;
    let event: String = row.get(2)?;
    let ty: String = row.get(4)?;
    let origin: String = row.get(5)?;
    Ok(AttrDef {
        id: row.get(0)?,
        scope: scope.parse().unwrap_or(Scope::User),
        event: (!event.is_empty()).then_some(event),
        name: row.get(3)?,
        ty: ty.parse().unwrap_or(AttrType::String),
        origin: if origin == "defined" {
            Origin::Defined
        } else {
            Origin::Auto
        },
        created_at: row.get(6)?,
    })
}

const DEF_COLUMNS: &str = "id, scope, event, name, type, origin, created_at";

impl Store {
    /// Every attribute definition, ordered by scope, event and name.
    pub fn attribute_defs(&self) -> Result<Vec<AttrDef>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {DEF_COLUMNS} FROM attribute_defs ORDER BY scope, event, name"
        ))?;
        let rows = stmt.query_map([], def_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn attribute_def(
        &self,
        scope: Scope,
        event: Option<&str>,
        name: &str,
    ) -> Result<Option<AttrDef>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {DEF_COLUMNS} FROM attribute_defs WHERE scope = ?1 AND event = ?2 AND name = ?3"
        ))?;
        Ok(stmt
            .query_row(
                params![scope.as_str(), event_key(event), name],
                def_from_row,
            )
            .optional()?)
    }

    /// Creates a definition (ingest's automatic ones, and new `attrs define`s).
    pub fn create_attribute(
        &self,
        scope: Scope,
        event: Option<&str>,
        name: &str,
        ty: AttrType,
        origin: Origin,
    ) -> Result<AttrDef> {
        let created_at = now_text();
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO attribute_defs (scope, event, name, type, origin, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        stmt.execute(params![
            scope.as_str(),
            event_key(event),
            name,
            ty.as_str(),
            origin.as_str(),
            created_at
        ])?;
        Ok(AttrDef {
            id: self.conn().last_insert_rowid(),
            scope,
            event: event.map(str::to_string),
            name: name.to_string(),
            ty,
            origin,
            created_at,
        })
    }

    /// `attrs define`: creates the attribute, or gives an existing one a new type and
    /// converts its stored values; what cannot be converted is moved aside to
    /// `unconverted_values`. One transaction.
    pub fn define_attribute(
        &self,
        scope: Scope,
        event: Option<&str>,
        name: &str,
        ty: AttrType,
    ) -> Result<Redefinition> {
        let tx = self.conn().unchecked_transaction()?;
        let result = match self.attribute_def(scope, event, name)? {
            None => Redefinition {
                def: self.create_attribute(scope, event, name, ty, Origin::Defined)?,
                previous_type: None,
                converted: 0,
                unconverted: Vec::new(),
            },
            Some(mut def) => {
                let previous = def.ty;
                self.conn().execute(
                    "UPDATE attribute_defs SET type = ?1, origin = 'defined' WHERE id = ?2",
                    params![ty.as_str(), def.id],
                )?;
                def.ty = ty;
                def.origin = Origin::Defined;
                let (converted, unconverted) = if previous == ty {
                    (0, Vec::new())
                } else {
                    self.convert_values(&def, previous)
                        .with_context(|| format!("converting the values of {name} to {ty}"))?
                };
                Redefinition {
                    def,
                    previous_type: Some(previous),
                    converted,
                    unconverted,
                }
            }
        };
        tx.commit()?;
        Ok(result)
    }

    fn convert_values(
        &self,
        def: &AttrDef,
        from: AttrType,
    ) -> Result<(usize, Vec<UnconvertedValue>)> {
        let mut converted = 0;
        let mut unconverted = Vec::new();
        let at = now_text();
        let keep_aside = |owner: String, value: &Value| UnconvertedValue {
            scope: def.scope,
            event: def.event.clone(),
            name: def.name.clone(),
            owner,
            value: value.to_string(),
            from_type: from,
            to_type: def.ty,
            at: at.clone(),
        };
        match def.scope {
            Scope::User | Scope::Company => {
                let (table, owner_col, owner_sql) = if def.scope == Scope::User {
                    (
                        "user_attributes",
                        "user_ref",
                        "SELECT coalesce(user_id, anonymous_id) FROM users WHERE id = a.user_ref",
                    )
                } else {
                    (
                        "company_attributes",
                        "company_ref",
                        "SELECT group_id FROM companies WHERE id = a.company_ref",
                    )
                };
                let rows: Vec<(i64, Scalar, String)> = {
                    let mut stmt = self.conn().prepare(&format!(
                        "SELECT a.{owner_col}, a.value, coalesce(({owner_sql}), '') FROM {table} a
                         WHERE a.attr_id = ?1 AND a.value IS NOT NULL"
                    ))?;
                    let rows =
                        stmt.query_map([def.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                    rows.collect::<rusqlite::Result<_>>()?
                };
                let mut update = self.conn().prepare(&format!(
                    "UPDATE {table} SET value = ?1 WHERE {owner_col} = ?2 AND attr_id = ?3"
                ))?;
                for (owner_ref, value, owner) in rows {
                    let json = value.to_json(from);
                    match convert(&json, def.ty) {
                        Ok(new) => {
                            update.execute(params![new, owner_ref, def.id])?;
                            converted += 1;
                        }
                        Err(_) => {
                            unconverted.push(keep_aside(owner, &json));
                            update.execute(params![Option::<Scalar>::None, owner_ref, def.id])?;
                        }
                    }
                }
            }
            Scope::Event => {
                let event = def.event.clone().unwrap_or_default();
                let rows: Vec<(i64, String, String)> = {
                    let mut stmt = self
                        .conn()
                        .prepare("SELECT id, message_id, properties FROM events WHERE name = ?1")?;
                    let rows =
                        stmt.query_map([&event], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                    rows.collect::<rusqlite::Result<_>>()?
                };
                let mut update = self
                    .conn()
                    .prepare("UPDATE events SET properties = ?1 WHERE id = ?2")?;
                for (id, message_id, properties) in rows {
                    let mut props: Map<String, Value> =
                        serde_json::from_str(&properties).unwrap_or_default();
                    let Some(value) = props.get(&def.name).filter(|v| !v.is_null()).cloned() else {
                        continue;
                    };
                    match convert(&value, def.ty) {
                        Ok(new) => {
                            let json = new.map(|s| s.to_json(def.ty)).unwrap_or(Value::Null);
                            props.insert(def.name.clone(), json);
                            converted += 1;
                        }
                        Err(_) => {
                            unconverted.push(keep_aside(message_id, &value));
                            props.remove(&def.name);
                        }
                    }
                    update.execute(params![Value::Object(props).to_string(), id])?;
                }
            }
        }
        let mut insert = self.conn().prepare(
            "INSERT INTO unconverted_values (scope, event, name, owner, value, from_type, to_type, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for u in &unconverted {
            insert.execute(params![
                u.scope.as_str(),
                event_key(u.event.as_deref()),
                u.name,
                u.owner,
                u.value,
                u.from_type.as_str(),
                u.to_type.as_str(),
                u.at
            ])?;
        }
        Ok((converted, unconverted))
    }

    /// Values type changes could not convert, optionally for one attribute name.
    pub fn unconverted_values(&self, name: Option<&str>) -> Result<Vec<UnconvertedValue>> {
        let mut stmt = self.conn().prepare(
            "SELECT scope, event, name, owner, value, from_type, to_type, at FROM unconverted_values
             WHERE ?1 IS NULL OR name = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([name], |r| {
            let scope: String = r.get(0)?;
            let event: String = r.get(1)?;
            let from: String = r.get(5)?;
            let to: String = r.get(6)?;
            Ok(UnconvertedValue {
                scope: scope.parse().unwrap_or(Scope::User),
                event: (!event.is_empty()).then_some(event),
                name: r.get(2)?,
                owner: r.get(3)?,
                value: r.get(4)?,
                from_type: from.parse().unwrap_or(AttrType::String),
                to_type: to.parse().unwrap_or(AttrType::String),
                at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
