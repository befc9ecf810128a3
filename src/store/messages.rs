//! The messageIds already applied.

use anyhow::Result;

use super::Store;

impl Store {
    /// Records a messageId; false when it was seen before (a duplicate).
    pub fn remember_message(&self, message_id: &str) -> Result<bool> {
        let mut stmt = self
            .conn()
            .prepare_cached("INSERT OR IGNORE INTO messages (message_id) VALUES (?1)")?;
        Ok(stmt.execute([message_id])? == 1)
    }
}
