//! API keys: only hashes are stored.

use anyhow::Result;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Store, now_text};
use crate::semantics::api_key;

/// What a key opens: a write key only sending events (it is public: it sits in every
/// page that loads analytics.js); an admin key also reading, `expect` and reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    Write,
    Admin,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Write => "write",
            KeyKind::Admin => "admin",
        }
    }

    fn parse(text: &str) -> KeyKind {
        if text == "admin" {
            KeyKind::Admin
        } else {
            KeyKind::Write
        }
    }
}

/// A key as listed: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyRow {
    pub id: i64,
    pub name: Option<String>,
    pub kind: KeyKind,
    pub prefix: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// What a presented key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStatus {
    Active(i64),
    Revoked(i64),
    Unknown,
}

fn key_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok(KeyRow {
        id: r.get(0)?,
        name: r.get(1)?,
        prefix: r.get(2)?,
        created_at: r.get(3)?,
        revoked_at: r.get(4)?,
        kind: KeyKind::parse(&r.get::<_, String>(5)?),
    })
}

impl Store {
    /// Stores a new key's hash; returns its row.
    pub fn insert_key(&self, name: Option<&str>, kind: KeyKind, key: &str) -> Result<KeyRow> {
        let created_at = now_text();
        let prefix = api_key::display_prefix(key);
        self.conn().execute(
            "INSERT INTO api_keys (name, prefix, hash, created_at, kind)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, prefix, api_key::hash(key), created_at, kind.as_str()],
        )?;
        Ok(KeyRow {
            id: self.conn().last_insert_rowid(),
            name: name.map(str::to_string),
            kind,
            prefix,
            created_at,
            revoked_at: None,
        })
    }

    pub fn keys(&self) -> Result<Vec<KeyRow>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, name, prefix, created_at, revoked_at, kind FROM api_keys ORDER BY id",
        )?;
        let rows = stmt.query_map([], key_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Checks a presented key against every stored hash, each in constant time.
    pub fn key_status(&self, key: &str) -> Result<KeyStatus> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT id, hash, revoked_at IS NOT NULL FROM api_keys")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
            ))
        })?;
        let mut status = KeyStatus::Unknown;
        for row in rows {
            let (id, hash, revoked) = row?;
            if api_key::matches(key, &hash) {
                status = if revoked {
                    KeyStatus::Revoked(id)
                } else {
                    KeyStatus::Active(id)
                };
            }
        }
        Ok(status)
    }

    /// What an active key opens; None for a revoked or unknown key.
    pub fn active_key_kind(&self, key: &str) -> Result<Option<KeyKind>> {
        let KeyStatus::Active(id) = self.key_status(key)? else {
            return Ok(None);
        };
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT kind FROM api_keys WHERE id = ?1")?;
        let kind: String = stmt.query_row([id], |r| r.get(0))?;
        Ok(Some(KeyKind::parse(&kind)))
    }

    /// Revokes a key by id; returns its row, or None if there is no such key.
    pub fn revoke_key(&self, id: i64) -> Result<Option<KeyRow>> {
        self.conn().execute(
            "UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            params![now_text(), id],
        )?;
        Ok(self
            .conn()
            .query_row(
                "SELECT id, name, prefix, created_at, revoked_at, kind FROM api_keys WHERE id = ?1",
                [id],
                key_from_row,
            )
            .optional()?)
    }
}
