//! The decode stage: what the reader hands out ([`Unit`]s of bytes) turned into events
//! ready to apply. It needs nothing of the database or the profiles, so a file's units
//! are decoded on the reading thread while the applying thread works on earlier ones.
//!
//! Only the common shapes are decoded here (an event object on its own, an array item
//! without an envelope); everything else (a batch document, an array on one line, an
//! item with a batch's envelope, what the reader rejected) passes through as its unit
//! and is handled where it is applied, by the same rules as before.

use chrono::{DateTime, Utc};

use super::json_error;
use super::source::{Resume, Unit};
use crate::semantics::event::{Decoded, WireEvent, decode};

/// One unit of an input after the decode stage.
pub(crate) enum Step {
    /// Blank: nothing to count or apply.
    Blank,
    /// An event object, decoded (or refused with a reason by [`decode`]).
    Event {
        line: u64,
        item: Option<usize>,
        decoded: Result<Decoded, String>,
        /// The unit's bytes; the event's JSON text is `raw[text]`.
        raw: Vec<u8>,
        text: std::ops::Range<usize>,
    },
    /// Not an event: received, and rejected with this reason and its bytes.
    Rejected {
        line: u64,
        item: Option<usize>,
        reason: String,
        raw: Vec<u8>,
    },
    /// A shape decoded where it is applied.
    Unit(Unit),
}

/// A unit as the reading thread hands it to the applying one, with where the input
/// stood after it.
pub(crate) struct Prepared {
    pub step: Step,
    /// Where a rerun can start reading again, right after this unit (if anywhere).
    pub resume: Option<Resume>,
    /// Bytes of the input (as stored) read by then.
    pub raw_bytes: u64,
}

/// Decodes one unit; `now` is the time given to events that carry none.
pub(crate) fn prepare(unit: Unit, now: DateTime<Utc>) -> Step {
    match unit {
        Unit::Document { line, bytes } => document(line, bytes, now),
        Unit::Item {
            line,
            item,
            bytes,
            envelope: None,
        } => item_of_array(line, item, bytes, now),
        other => Step::Unit(other),
    }
}

/// A top-level document, as [`super::Ingestor::ingest_line`] reads it.
fn document(line: u64, bytes: Vec<u8>, now: DateTime<Utc>) -> Step {
    let start = bytes.len() - bytes.trim_ascii_start().len();
    let end = start + bytes[start..].trim_ascii_end().len();
    if start == end {
        return Step::Blank;
    }
    let text = match std::str::from_utf8(&bytes[start..end]) {
        Ok(text) => text,
        Err(e) => {
            let reason = format!("not valid UTF-8 (at byte {})", e.valid_up_to());
            return rejected(line, None, reason, bytes);
        }
    };
    if !text.starts_with('{') {
        return Step::Unit(Unit::Document { line, bytes });
    }
    match serde_json::from_str::<WireEvent>(text) {
        Ok(wire) if wire.kind.is_none() && wire.batch.is_some() => {
            Step::Unit(Unit::Document { line, bytes })
        }
        Ok(wire) => {
            let decoded = decode(wire, &bytes[start..end], now);
            Step::Event {
                line,
                item: None,
                decoded,
                raw: bytes,
                text: start..end,
            }
        }
        Err(e) => rejected(line, None, json_error(&e), bytes),
    }
}

/// An item of a top-level array with no envelope, as `ingest_item` reads it.
fn item_of_array(line: u64, item: usize, bytes: Vec<u8>, now: DateTime<Utc>) -> Step {
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text,
        Err(e) => {
            let reason = format!("not valid UTF-8 (at byte {})", e.valid_up_to());
            return rejected(line, Some(item), reason, bytes);
        }
    };
    if !text.starts_with('{') {
        return Step::Unit(Unit::Item {
            line,
            item,
            bytes,
            envelope: None,
        });
    }
    match serde_json::from_str::<WireEvent>(text) {
        Ok(wire) => {
            let decoded = decode(wire, &bytes, now);
            let text = 0..bytes.len();
            Step::Event {
                line,
                item: Some(item),
                decoded,
                raw: bytes,
                text,
            }
        }
        Err(e) => rejected(line, Some(item), json_error(&e), bytes),
    }
}

fn rejected(line: u64, item: Option<usize>, reason: String, raw: Vec<u8>) -> Step {
    Step::Rejected {
        line,
        item,
        reason,
        raw,
    }
}
