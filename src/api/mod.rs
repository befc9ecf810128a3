//! The query layer every front-end calls (tables, `--json`/`--ndjson`/`--csv`, and the
//! HTTP server): typed requests, built from the command line or a query string, in;
//! serialisable items, or rows rendered into any [`std::io::Write`], out. Names are
//! checked here (unknown fields, attributes, companies are usage or not-found errors),
//! so every front-end says the same thing.

pub mod companies;
pub mod expect;
pub mod explain;
pub mod history;
pub mod params;
pub mod rejections;
pub mod settings;
pub mod status;
pub mod timeline;
pub mod users;

use anyhow::Result;
use serde::Serialize;

use crate::store::Store;

/// One page of a list, as the HTTP API answers it: `items` are exactly the elements of
/// the CLI's `--json` array for the same query.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many match in all.
    pub total: u64,
    /// The limit applied (None: all).
    pub limit: Option<u64>,
    pub offset: u64,
}

/// A store query whose rows are listed a window at a time: users, companies, event
/// occurrences, page views, kept rejections.
pub trait Listing: Sized {
    type Row: Serialize;
    /// The same query, limited to a window.
    fn window(&self, window: Window) -> Self;
    /// How many rows match in all (the window is ignored).
    fn count(&self, store: &Store) -> Result<u64>;
    /// Every row of the query, in order.
    fn each(&self, store: &Store, f: &mut dyn FnMut(Self::Row) -> Result<()>) -> Result<()>;
}

/// One page of a query: how many match in all and the rows of the window, read from
/// the same commit.
pub fn page<L: Listing>(store: &Store, query: &L, window: Window) -> Result<Page<L::Row>> {
    let query = query.window(window);
    store.snapshot(|store| {
        let total = query.count(store)?;
        let mut items = Vec::new();
        query.each(store, &mut |row| {
            items.push(row);
            Ok(())
        })?;
        Ok(Page {
            items,
            total,
            limit: window.limit,
            offset: window.offset,
        })
    })
}

/// Which part of a list to give: at most `limit` after skipping `offset`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub limit: Option<u64>,
    pub offset: u64,
}

/// Checks that `key` is an active admin key: what reading, `expect` and reset need. A
/// write key, a revoked or an unknown one is 403 Forbidden, saying which.
pub fn require_admin(store: &Store, key: &str) -> Result<()> {
    use crate::store::{KeyKind, KeyStatus};
    let refusal = match store.key_status(key)? {
        KeyStatus::Active(_) => match store.active_key_kind(key)? {
            Some(KeyKind::Admin) => return Ok(()),
            _ => "a write key only sends events: reading needs an admin key (create one with \
                  `usercom keys create --admin`)"
                .to_string(),
        },
        KeyStatus::Revoked(id) => format!(
            "API key {id} was revoked: create a new admin key with `usercom keys create --admin`"
        ),
        KeyStatus::Unknown => "unknown API key: reading needs an admin key (create one with \
                               `usercom keys create --admin`; keys belong to one database)"
            .to_string(),
    };
    Err(crate::Error::Forbidden(refusal).into())
}

#[cfg(test)]
mod tests {
    use crate::store::{KeyKind, Store};

    #[test]
    fn only_active_admin_keys_read() {
        let store = Store::open_in_memory().unwrap();
        store.insert_key(None, KeyKind::Write, "uc_write").unwrap();
        let admin = store.insert_key(None, KeyKind::Admin, "uc_admin").unwrap();
        assert!(super::require_admin(&store, "uc_admin").is_ok());
        let write = super::require_admin(&store, "uc_write").unwrap_err();
        assert!(write.to_string().contains("write key"), "{write}");
        assert!(super::require_admin(&store, "uc_other").is_err());
        store.revoke_key(admin.id).unwrap();
        let revoked = super::require_admin(&store, "uc_admin").unwrap_err();
        assert!(revoked.to_string().contains("revoked"), "{revoked}");
    }
}
