//! The messageIds already applied, each kept as a 128-bit hash of itself (a smaller
//! index than the text: the one B-tree every event writes at a random place).

use anyhow::Result;
use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};

use super::Store;

/// The key a messageId is remembered by: the first 16 bytes of its SHA-256.
pub(crate) fn message_key(message_id: &[u8]) -> [u8; 16] {
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
    /// Records a messageId; false when it was seen before (a duplicate).
    pub fn remember_message(&self, message_id: &str) -> Result<bool> {
        let mut stmt = self
            .conn()
            .prepare_cached("INSERT OR IGNORE INTO message_keys (key) VALUES (?1)")?;
        Ok(stmt.execute([&message_key(message_id.as_bytes())[..]])? == 1)
    }
}

impl Store {
    /// Whether a messageId has been applied.
    pub fn knows_message(&self, message_id: &str) -> Result<bool> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT 1 FROM message_keys WHERE key = ?1")?;
        Ok(stmt.exists([&message_key(message_id.as_bytes())[..]])?)
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
}
