//! The decode stage: what the reader hands out ([`Unit`]s of bytes) turned into events
//! ready to apply. It needs nothing of the database or the profiles, so a file's units
//! are decoded on the reading thread while the applying thread works on earlier ones.
//!
//! Only the common shapes are decoded here (an event object on its own, an array item
//! without an envelope); everything else (a batch document, an array on one line, an
//! item with a batch's envelope, what the reader rejected) passes through as its unit
//! and is handled where it is applied, by the same rules as before.

use anyhow::Result;
use chrono::{DateTime, Utc};

use serde_json::{Map, Value};

use super::source::{Resume, Unit};
use super::{Ingestor, Location, Outcome};
use crate::semantics::delivery::Envelope;
use crate::semantics::event::{Decoded, WireEvent, decode, wire_error};

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
        Err(e) => rejected(line, None, wire_error(&e), bytes),
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
        Err(e) => rejected(line, Some(item), wire_error(&e), bytes),
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

/// Decoding on the applying thread: a line as read, an event as the server stamped it,
/// documents and values (arrays, batches, items with an envelope).
impl Ingestor<'_> {
    /// Applies one line: an event object, a JSON array of events, or a Segment batch.
    /// Blank lines are passed over.
    pub fn ingest_line(&mut self, loc: Location<'_>, raw: &[u8]) -> Result<()> {
        let text = raw.trim_ascii();
        if text.is_empty() {
            return Ok(());
        }
        let text = match std::str::from_utf8(text) {
            Ok(text) => text,
            Err(e) => {
                self.summary.received += 1;
                let reason = format!("not valid UTF-8 (at byte {})", e.valid_up_to());
                return self.reject(loc, reason, raw);
            }
        };
        // Validated once above; from_str does not check each string again.
        match text.as_bytes()[0] {
            b'{' => match serde_json::from_str::<WireEvent>(text) {
                Ok(wire) if wire.kind.is_none() && wire.batch.is_some() => {
                    let value = serde_json::from_str(text)?;
                    self.ingest_document(loc, value)
                }
                Ok(wire) => {
                    self.summary.received += 1;
                    self.ingest_wire(loc, wire, text.as_bytes()).map(drop)
                }
                Err(e) => {
                    self.summary.received += 1;
                    self.reject(loc, wire_error(&e), raw)
                }
            },
            b'[' => match serde_json::from_str::<Value>(text) {
                Ok(value) => self.ingest_document(loc, value),
                Err(e) => {
                    self.summary.received += 1;
                    self.reject(loc, wire_error(&e), raw)
                }
            },
            _ => {
                self.summary.received += 1;
                let reason = match serde_json::from_str::<Value>(text) {
                    Ok(_) => "not a JSON object (expected one event per line)".to_string(),
                    Err(e) => wire_error(&e),
                };
                self.reject(loc, reason, raw)
            }
        }
    }

    /// Applies the JSON text of one event object (as the server stamped it): never
    /// read as a batch or an array, whatever its keys.
    pub fn ingest_event(&mut self, loc: Location<'_>, raw: &[u8]) -> Result<()> {
        self.summary.received += 1;
        let parsed = std::str::from_utf8(raw)
            .map_err(|e| format!("not valid UTF-8 (at byte {})", e.valid_up_to()))
            .and_then(|text| serde_json::from_str::<WireEvent>(text).map_err(|e| wire_error(&e)));
        match parsed {
            Ok(wire) => self.ingest_wire(loc, wire, raw).map(drop),
            Err(reason) => self.reject(loc, reason, raw),
        }
    }

    /// Applies a parsed document: an array of events, a batch `{"batch": [...]}`, or
    /// one event.
    pub fn ingest_document(&mut self, loc: Location<'_>, value: Value) -> Result<()> {
        match value {
            Value::Array(items) => {
                for (index, item) in items.into_iter().enumerate() {
                    let loc = Location {
                        item: Some(index),
                        ..loc
                    };
                    self.ingest_value(loc, item)?;
                }
                Ok(())
            }
            Value::Object(mut object)
                if !object.contains_key("type") && object.contains_key("batch") =>
            {
                let Some(Value::Array(items)) = object.remove("batch") else {
                    self.summary.received += 1;
                    let raw = Value::Object(object).to_string();
                    return self.reject(
                        loc,
                        "\"batch\" is not an array".to_string(),
                        raw.as_bytes(),
                    );
                };
                let envelope = Envelope::take_from(&mut object);
                for (index, item) in items.into_iter().enumerate() {
                    let loc = Location {
                        item: Some(index),
                        ..loc
                    };
                    self.ingest_value(loc, envelope.apply(item))?;
                }
                Ok(())
            }
            other => self.ingest_value(loc, other).map(drop),
        }
    }

    /// Applies one event given as a JSON value.
    pub fn ingest_value(&mut self, loc: Location<'_>, value: Value) -> Result<Outcome> {
        self.summary.received += 1;
        let raw = value.to_string();
        if !value.is_object() {
            let reason = "not a JSON object (expected an event)".to_string();
            self.reject(loc, reason.clone(), raw.as_bytes())?;
            return Ok(Outcome::Rejected(reason));
        }
        match serde_json::from_value::<WireEvent>(value) {
            Ok(wire) => self.ingest_wire(loc, wire, raw.as_bytes()),
            Err(e) => {
                let reason = format!("invalid event: {e}");
                self.reject(loc, reason.clone(), raw.as_bytes())?;
                Ok(Outcome::Rejected(reason))
            }
        }
    }

    pub(super) fn ingest_wire(
        &mut self,
        loc: Location<'_>,
        wire: WireEvent,
        raw: &[u8],
    ) -> Result<Outcome> {
        let decoded = decode(wire, raw, self.options.now);
        self.apply_decoded(loc, decoded, raw)
    }
}

/// A batch's keys besides `batch` (its envelope: `context`, `integrations`, `sentAt`)
/// given to one of its items (the item's own keys win). Every batch, held whole or read
/// item by item, goes through [`Envelope`].
pub(crate) fn merge_envelope(item: Value, envelope: &Map<String, Value>) -> Value {
    Envelope::of(envelope).apply(item)
}
