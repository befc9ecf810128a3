//! The bytes of a value as it is read: held up to a limit, and past it either cut (to
//! show the start in a rejection) or spooled to a temporary file (a large batch).

use std::fs::File;
use std::io::{self, Write};

/// The bytes of the value being read.
#[derive(Default)]
pub struct Record {
    pub bytes: Vec<u8>,
    pub(super) cap: usize,
    /// More than `cap` bytes were read (`bytes` holds the first `cap` of them, unless
    /// they went to the spool).
    pub overflow: bool,
    /// Past `cap`, everything (from the start) goes here instead, when enabled.
    pub spool: Option<File>,
    pub(super) spool_enabled: bool,
}

impl Record {
    pub(super) fn push(&mut self, chunk: &[u8]) -> io::Result<()> {
        if let Some(spool) = &mut self.spool {
            return spool.write_all(chunk);
        }
        if self.bytes.len() + chunk.len() <= self.cap {
            self.bytes.extend_from_slice(chunk);
            return Ok(());
        }
        self.overflow = true;
        if self.spool_enabled {
            let mut spool = tempfile::tempfile()?;
            spool.write_all(&self.bytes)?;
            spool.write_all(chunk)?;
            self.spool = Some(spool);
        } else {
            let room = self.cap - self.bytes.len().min(self.cap);
            self.bytes
                .extend_from_slice(&chunk[..room.min(chunk.len())]);
        }
        Ok(())
    }
}
