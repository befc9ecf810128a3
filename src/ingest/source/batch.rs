//! A Segment batch `{"batch": [...], "context": ..., ...}` too large to hold: the object
//! was spooled to a temporary file as it was read; its other keys are parsed (they are
//! the envelope every item gets) and its items are read back one by one.

use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::array::{Step, next_item};
use super::scan::{KeySpan, Position, Record, Scanner};
use super::{Bad, MAX_EVENT, PREVIEW, Unit};

fn not_one_event() -> String {
    format!(
        "longer than {} MiB: not one event (an event may be up to {} MiB)",
        MAX_EVENT >> 20,
        MAX_EVENT >> 20
    )
}

/// The items of a spooled batch, being read.
pub struct SpooledBatch {
    sc: Scanner,
    envelope: Arc<Map<String, Value>>,
    line: u64,
    next: usize,
    done: bool,
}

/// Sets up reading a spooled object's batch, or says why it is rejected.
pub fn open(
    record: Record,
    keys: Vec<KeySpan>,
    start: Position,
) -> io::Result<Result<SpooledBatch, Bad>> {
    let too_large = |mut raw: Vec<u8>, reason: String| {
        raw.truncate(PREVIEW);
        Bad {
            line: start.line,
            item: None,
            offset: None,
            reason,
            raw,
            truncated: true,
        }
    };
    let Some(mut spool) = record.spool else {
        return Ok(Err(too_large(record.bytes, not_one_event())));
    };
    // The keys' names, read back from the spool.
    let mut named = Vec::with_capacity(keys.len());
    for span in keys {
        let mut quoted = vec![0; (span.key_end - span.key_start) as usize + 2];
        spool.seek(SeekFrom::Start(span.key_start - 1))?;
        spool.read_exact(&mut quoted)?;
        let name = serde_json::from_slice::<String>(&quoted)
            .unwrap_or_else(|_| String::from_utf8_lossy(&quoted).into_owned());
        named.push((name, span));
    }
    let batch = named
        .iter()
        .find(|(k, _)| k == "batch")
        .map(|(_, s)| s.clone());
    let (Some(batch), false) = (batch, named.iter().any(|(k, _)| k == "type")) else {
        return Ok(Err(too_large(record.bytes, not_one_event())));
    };
    let mut envelope = Map::new();
    for (key, span) in named.iter().filter(|(k, _)| k != "batch") {
        let len = span.end - span.start;
        if len as usize > MAX_EVENT {
            return Ok(Err(too_large(
                record.bytes,
                format!(
                    "the batch's \"{key}\" is longer than {} MiB",
                    MAX_EVENT >> 20
                ),
            )));
        }
        let mut bytes = vec![0; len as usize];
        spool.seek(SeekFrom::Start(span.start))?;
        spool.read_exact(&mut bytes)?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) => {
                envelope.insert(key.clone(), value);
            }
            Err(e) => {
                return Ok(Err(too_large(
                    record.bytes,
                    format!("invalid JSON in the batch's \"{key}\": {e}"),
                )));
            }
        }
    }
    spool.seek(SeekFrom::Start(batch.start))?;
    let reader: Box<dyn io::BufRead + Send> = Box::new(BufReader::with_capacity(
        256 * 1024,
        Read::take(spool, batch.end - batch.start),
    ));
    let at = Position {
        offset: start.offset + batch.start,
        line: start.line,
    };
    let mut sc = Scanner::new(reader, at);
    if sc.peek()? != Some(b'[') {
        return Ok(Err(too_large(
            record.bytes,
            "\"batch\" is not an array".to_string(),
        )));
    }
    sc.bump()?;
    Ok(Ok(SpooledBatch {
        sc,
        envelope: Arc::new(envelope),
        line: start.line,
        next: 0,
        done: false,
    }))
}

impl SpooledBatch {
    /// The next item, or `None` after the last.
    pub fn next_unit(&mut self) -> io::Result<Option<Unit>> {
        if self.done {
            return Ok(None);
        }
        let item = self.next;
        self.next += 1;
        Ok(Some(match next_item(&mut self.sc, item)? {
            Step::Item(bytes) => Unit::Item {
                line: self.line,
                item,
                bytes,
                envelope: Some(self.envelope.clone()),
            },
            Step::TooLarge(raw) => Unit::Rejected(Bad::too_large(self.line, Some(item), raw)),
            Step::End => {
                self.done = true;
                return Ok(None);
            }
            Step::Broken(e, record) => {
                // Checked once already as the object was read: only a changed spool.
                self.done = true;
                Unit::Rejected(Bad {
                    line: self.line,
                    item: Some(item),
                    offset: Some(e.at.offset),
                    reason: format!("invalid JSON at byte {}: {}", e.at.offset, e.what),
                    raw: record.bytes,
                    truncated: true,
                })
            }
        }))
    }
}
