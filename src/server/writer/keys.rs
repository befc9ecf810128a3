//! The writer's API-key check: each key's status as the database had it when it last
//! changed.

use std::collections::HashMap;

use anyhow::Result;

use crate::semantics::api_key::{KeyHolder, refusal};
use crate::store::{KeyKind, KeyStatus, Store};

/// API keys seen, as the database had them when it last changed.
pub struct KeyCache {
    /// `PRAGMA data_version` when filled: another connection's commit (a key created
    /// or revoked with the CLI) changes it, and the cache is emptied.
    version: i64,
    /// Each key's status, and for an active key its kind.
    statuses: HashMap<String, (KeyStatus, Option<KeyKind>)>,
}

/// Keys remembered at most (a flood of made-up keys cannot grow the cache past it).
const KEY_CACHE_LIMIT: usize = 10_000;

impl KeyCache {
    pub fn new() -> KeyCache {
        KeyCache {
            version: i64::MIN,
            statuses: HashMap::new(),
        }
    }

    /// Empties the cache if the database changed since it was filled.
    pub fn refresh(&mut self, store: &Store) -> Result<()> {
        let version = store.data_version()?;
        if version != self.version {
            self.statuses.clear();
            self.version = version;
        }
        Ok(())
    }

    /// None for an active key; else why it is refused. An admin key is taken only
    /// from the Authorization header (`in_header`), never from a body or a URL.
    pub fn refusal(&mut self, store: &Store, key: &str, in_header: bool) -> Result<Option<String>> {
        let status = match self.statuses.get(key) {
            Some(status) => status.clone(),
            None => {
                let status = store.key_status(key)?;
                let kind = match status {
                    KeyStatus::Active(_) => store.active_key_kind(key)?,
                    _ => None,
                };
                if self.statuses.len() >= KEY_CACHE_LIMIT {
                    self.statuses.clear();
                }
                self.statuses
                    .insert(key.to_string(), (status.clone(), kind));
                (status, kind)
            }
        };
        Ok(match status {
            (KeyStatus::Active(_), Some(KeyKind::Admin)) if !in_header => Some(
                "an admin key is taken only from the Authorization header (HTTP Basic), never \
                 from a body or a URL: send it there, or use a write key"
                    .to_string(),
            ),
            (KeyStatus::Active(_), _) => None,
            (KeyStatus::Revoked(id), _) => Some(refusal(Some(id), KeyHolder::Server)),
            (KeyStatus::Unknown, _) => Some(refusal(None, KeyHolder::Server)),
        })
    }
}
