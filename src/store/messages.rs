//! The messageIds already applied, each kept as a 128-bit hash of itself (a smaller
//! index than the text: every event's key lands at a random place of it; a large run
//! checks keys against a filter and writes the new ones sorted, see
//! `ingest/messages.rs`).

use anyhow::Result;
use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};

use super::Store;

/// What a messageId is remembered by.
pub type MessageKey = [u8; 16];

/// The key a messageId is remembered by: the first 16 bytes of its SHA-256.
pub fn message_key(message_id: &[u8]) -> MessageKey {
    let digest = Sha256::digest(message_id);
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// `usercom_message_key(text)`, for the migration that rewrote the table.
pub(crate) fn register_functions(conn: &Connection) -> Result<()> {
    conn.create_scalar_function(
        "usercom_message_key",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok(match ctx.get_raw(0) {
                ValueRef::Text(t) | ValueRef::Blob(t) => Some(message_key(t).to_vec()),
                _ => None,
            })
        },
    )?;
    Ok(())
}

impl Store {
    /// Records a messageId; false when it was seen before (a duplicate). An ingest
    /// goes through `ingest/messages.rs`, by key; tests record ids by their text.
    #[cfg(test)]
    pub fn remember_message(&self, message_id: &str) -> Result<bool> {
        self.remember_message_key(&message_key(message_id.as_bytes()))
    }

    /// Records a messageId by its key; false when it was seen before.
    pub fn remember_message_key(&self, key: &MessageKey) -> Result<bool> {
        let mut stmt = self
            .conn()
            .prepare_cached("INSERT OR IGNORE INTO message_keys (key) VALUES (?1)")?;
        Ok(stmt.execute([&key[..]])? == 1)
    }
}

impl Store {
    /// Whether a messageId has been applied.
    pub fn knows_message(&self, message_id: &str) -> Result<bool> {
        self.knows_message_key(&message_key(message_id.as_bytes()))
    }

    /// Whether a messageId with this key has been applied.
    pub fn knows_message_key(&self, key: &MessageKey) -> Result<bool> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT 1 FROM message_keys WHERE key = ?1")?;
        Ok(stmt.exists([&key[..]])?)
    }

    /// Records keys known to be new, in the order given (sorted, they are written
    /// page after page). A key already there is an error: the caller checked.
    pub fn insert_message_keys(&self, keys: &[MessageKey]) -> Result<()> {
        let mut stmt = self
            .conn()
            .prepare_cached("INSERT INTO message_keys (key) VALUES (?1)")?;
        for key in keys {
            stmt.execute([&key[..]])?;
        }
        Ok(())
    }

    /// How many messageIds are remembered.
    pub fn message_key_count(&self) -> Result<u64> {
        let count: i64 = self
            .conn()
            .query_row("SELECT count(*) FROM message_keys", [], |r| r.get(0))?;
        Ok(count.max(0).unsigned_abs())
    }

    /// Calls `each` with every key remembered, in key order.
    pub fn each_message_key(&self, mut each: impl FnMut(&MessageKey)) -> Result<()> {
        let mut stmt = self.conn().prepare("SELECT key FROM message_keys")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            if let ValueRef::Blob(b) = row.get_ref(0)?
                && let Ok(key) = <&MessageKey>::try_from(b)
            {
                each(key);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_distinct() {
        assert_eq!(message_key(b"m1"), message_key(b"m1"));
        assert_ne!(message_key(b"m1"), message_key(b"m2"));
        // SHA-256("abc") starts ba7816bf 8f01cfea 414140de 5dae2223.
        assert_eq!(
            message_key(b"abc"),
            [
                0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
                0x22, 0x23
            ]
        );
    }

    #[test]
    fn a_message_is_remembered_once() {
        let store = Store::open_in_memory().unwrap();
        assert!(store.remember_message("m1").unwrap());
        assert!(!store.remember_message("m1").unwrap());
        assert!(store.remember_message("m2").unwrap());
        assert!(store.knows_message("m1").unwrap());
        assert!(!store.knows_message("m3").unwrap());
    }

    #[test]
    fn keys_written_together_are_counted_and_listed_in_order() {
        let store = Store::open_in_memory().unwrap();
        let mut keys = [message_key(b"a"), message_key(b"b"), message_key(b"c")];
        keys.sort_unstable();
        store.insert_message_keys(&keys).unwrap();
        assert!(store.remember_message("d").unwrap());
        assert!(!store.remember_message("b").unwrap());
        assert_eq!(store.message_key_count().unwrap(), 4);
        let mut listed = Vec::new();
        store.each_message_key(|k| listed.push(*k)).unwrap();
        let mut expected = vec![keys[0], keys[1], keys[2], message_key(b"d")];
        expected.sort_unstable();
        assert_eq!(listed, expected);
        assert!(store.knows_message_key(&message_key(b"c")).unwrap());
        // Written twice is an error, not a silent second application.
        assert!(store.insert_message_keys(&[message_key(b"a")]).is_err());
    }
}
