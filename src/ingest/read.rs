//! Reading inputs into the pipeline: one input at a time, unit by unit, with a row of
//! the summary per input and checkpoints that let a rerun skip what was committed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::decode::{Prepared, Step, prepare};
use super::source::{FileKey, Input, Position, Reader, Unit, Unopened};
use super::source::{InArray, Resume};
use super::summary::{FileRow, Unreadable};
use super::{Ingestor, Location, merge_envelope};
use crate::semantics::event::wire_error;
use crate::semantics::event::{Decoded, Event, WireEvent};
use crate::store::Checkpoint;

impl Ingestor<'_> {
    /// Reads an input to its end, applying each event. `progress` is told the bytes
    /// read (as stored: compressed bytes for a compressed input).
    pub fn ingest_input(
        &mut self,
        input: &mut Input,
        progress: &mut dyn FnMut(u64, &super::Summary),
    ) -> Result<()> {
        let key = input.key();
        let stored = match (&key, self.options.resume) {
            (Some(k), true) => self.store.checkpoint(&k.path, k.size, k.mtime_ns)?,
            _ => None,
        };
        let before = self.summary.clone_counts();
        let mut row = FileRow {
            source: input.name.clone(),
            ..FileRow::default()
        };
        if let Some(c) = stored.as_ref().filter(|c| c.complete) {
            // Read whole before: nothing to do.
            row.bytes = c.size;
            row.resumed_at = Some(c.size);
            progress(c.size, &self.summary);
            self.summary.files.push(row);
            return Ok(());
        }
        let resume = stored.map(|c| Resume {
            at: Position {
                offset: c.offset,
                line: c.line,
            },
            array: c.array.map(|(line, next)| InArray {
                line,
                next: next as usize,
            }),
        });
        let mut opened = match input.open_reader(resume) {
            Ok(opened) => opened,
            Err(Unopened::Skipped(reason)) => {
                self.summary.skipped_files.push(Unreadable {
                    source: input.name.clone(),
                    reason,
                });
                progress(input.size.unwrap_or(0), &self.summary);
                return Ok(());
            }
            Err(Unopened::Unreadable(reason)) => {
                self.unreadable(&input.name, reason);
                return Ok(());
            }
        };
        let resumed_at = resume.map_or(0, |r| r.at.offset);
        if resumed_at > 0 {
            row.resumed_at = Some(resumed_at);
            progress(resumed_at, &self.summary);
        }
        // Only plain files resume part-way; a compressed one is done when read whole.
        let part_way = opened.compression == super::source::Compression::None;
        let mut reported = 0;
        let mut read_whole = true;
        // Where the file was last read to, cleanly.
        let mut last_point = None;
        let now = self.options.now;
        let source = input.name.as_str();
        std::thread::scope(|scope| -> Result<()> {
            // Reading and decoding run on their own thread, a few chunks ahead.
            let (sender, chunks) = mpsc::sync_channel(CHUNKS_AHEAD);
            let (reader, gauge) = opened.reader_and_gauge();
            let reading = scope.spawn(move || read_ahead(reader, gauge, now, sender));
            // One chunk is looked at ahead of the one applied: its profiles are
            // unpacked beside this thread meanwhile.
            let mut ahead: Option<Vec<Read>> = None;
            'input: loop {
                let chunk = match ahead.take() {
                    Some(chunk) => chunk,
                    None => match chunks.recv() {
                        Ok(chunk) => chunk,
                        Err(_) => break,
                    },
                };
                ahead = chunks.try_recv().ok();
                if let Some(next) = &ahead {
                    self.unpack_ahead(next.iter().filter_map(Read::event));
                }
                for read in chunk {
                    let prepared = match read {
                        Read::Unit(prepared) => prepared,
                        Read::End => break 'input,
                        Read::Failed { error, raw_bytes } => {
                            let at = resumed_at + raw_bytes;
                            self.unreadable(source, format!("read error near byte {at}: {error}"));
                            read_whole = false;
                            break 'input;
                        }
                    };
                    self.in_unit = true;
                    let applied = self.apply_step(source, prepared.step);
                    self.in_unit = false;
                    applied?;
                    // A checkpoint never passes a rejected event: a rerun (once the cause
                    // is fixed, a domain trusted say) reads it again.
                    if part_way
                        && self.summary.rejected == before.rejected
                        && let Some(point) = prepared.resume
                    {
                        last_point = Some(point);
                    }
                    if self.pending >= self.options.batch_size {
                        if let (Some(key), Some(point)) = (&key, last_point) {
                            self.current_checkpoint = Some(checkpoint(key, Some(point)));
                        }
                        self.commit()?;
                    }
                    progress(prepared.raw_bytes - reported, &self.summary);
                    reported = prepared.raw_bytes;
                }
            }
            drop(chunks);
            reading
                .join()
                .map_err(|_| anyhow::anyhow!("reading {source} failed unexpectedly"))
        })?;
        // Where the file stands: read whole, or as far as it was read cleanly.
        self.current_checkpoint = None;
        let clean = self.summary.rejected == before.rejected;
        if let Some(key) = &key {
            if read_whole && clean {
                self.checkpoints.push(checkpoint(key, None));
            } else if let Some(point) = last_point {
                self.checkpoints.push(checkpoint(key, Some(point)));
            }
        }
        let after = &self.summary;
        row.received = after.received - before.received;
        row.applied = after.applied - before.applied;
        row.duplicates = after.duplicates - before.duplicates;
        row.skipped = after.skipped - before.skipped;
        row.rejected = after.rejected - before.rejected;
        row.bytes = resumed_at + opened.raw_bytes();
        self.summary.files.push(row);
        Ok(())
    }

    /// Applies one unit after the decode stage.
    fn apply_step(&mut self, source: &str, step: Step) -> Result<()> {
        match step {
            Step::Blank => Ok(()),
            Step::Event {
                line,
                item,
                decoded,
                raw,
                text,
            } => {
                let loc = Location { source, line, item };
                self.ingest_decoded(loc, decoded, &raw[text]).map(drop)
            }
            Step::Rejected {
                line,
                item,
                reason,
                raw,
            } => {
                self.summary.received += 1;
                self.reject(Location { source, line, item }, reason, &raw)
            }
            Step::Unit(unit) => self.ingest_unit(source, unit),
        }
    }

    fn ingest_unit(&mut self, source: &str, unit: Unit) -> Result<()> {
        match unit {
            Unit::Document { line, bytes } => {
                let loc = Location {
                    source,
                    line,
                    item: None,
                };
                self.ingest_line(loc, &bytes)
            }
            Unit::Item {
                line,
                item,
                bytes,
                envelope,
            } => {
                let loc = Location {
                    source,
                    line,
                    item: Some(item),
                };
                self.ingest_item(loc, &bytes, envelope.as_deref())
            }
            Unit::Rejected(bad) => {
                self.summary.received += 1;
                let loc = Location {
                    source,
                    line: bad.line,
                    item: bad.item,
                };
                self.reject_with(loc, bad.reason, &bad.raw, bad.truncated, bad.offset)
            }
        }
    }

    /// One item of an array: an event, given the envelope of the batch it is in.
    fn ingest_item(
        &mut self,
        loc: Location<'_>,
        bytes: &[u8],
        envelope: Option<&Map<String, Value>>,
    ) -> Result<()> {
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                self.summary.received += 1;
                let reason = format!("not valid UTF-8 (at byte {})", e.valid_up_to());
                return self.reject(loc, reason, bytes);
            }
        };
        if let Some(envelope) = envelope {
            return match serde_json::from_str::<Value>(text) {
                Ok(value) => self
                    .ingest_value(loc, merge_envelope(value, envelope))
                    .map(drop),
                Err(e) => {
                    self.summary.received += 1;
                    self.reject(loc, wire_error(&e), bytes)
                }
            };
        }
        self.summary.received += 1;
        if !text.starts_with('{') {
            let reason = match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Ok(_) => "not a JSON object (expected an event)".to_string(),
                Err(e) => wire_error(&e),
            };
            return self.reject(loc, reason, bytes);
        }
        match serde_json::from_str::<WireEvent>(text) {
            Ok(wire) => self.ingest_wire(loc, wire, bytes).map(drop),
            Err(e) => self.reject(loc, wire_error(&e), bytes),
        }
    }
}

/// Chunks of units decoded ahead of the one being applied, at most.
const CHUNKS_AHEAD: usize = 2;
/// Units in a chunk, at most; a chunk is handed over sooner once it holds this many
/// bytes.
const CHUNK_UNITS: usize = 64;
const CHUNK_BYTES: usize = 256 << 10;

/// What the reading thread hands over.
enum Read {
    Unit(Prepared),
    /// The input's end.
    End,
    /// Reading failed there: what was handed over before stands.
    Failed {
        error: String,
        raw_bytes: u64,
    },
}

impl Read {
    /// The event decoded, if it is one.
    fn event(&self) -> Option<&Event> {
        match self {
            Read::Unit(Prepared {
                step:
                    Step::Event {
                        decoded: Ok(Decoded::Event(event)),
                        ..
                    },
                ..
            }) => Some(event),
            _ => None,
        }
    }
}

/// The read and decode stages of one input, on their own thread: hands over chunks of
/// decoded units until the input ends, reading fails, or the applying side hangs up.
fn read_ahead(
    reader: &mut Reader,
    gauge: &AtomicU64,
    now: DateTime<Utc>,
    sender: mpsc::SyncSender<Vec<Read>>,
) {
    let mut chunk = Vec::with_capacity(CHUNK_UNITS);
    let mut bytes = 0;
    loop {
        let read = match reader.next_unit() {
            Ok(Some(unit)) => {
                bytes += unit.size();
                let step = prepare(unit, now);
                Read::Unit(Prepared {
                    step,
                    resume: reader.resume_point(),
                    raw_bytes: gauge.load(Ordering::Relaxed),
                })
            }
            Ok(None) => Read::End,
            Err(e) => Read::Failed {
                error: e.to_string(),
                raw_bytes: gauge.load(Ordering::Relaxed),
            },
        };
        let last = !matches!(read, Read::Unit(_));
        chunk.push(read);
        if last || chunk.len() >= CHUNK_UNITS || bytes >= CHUNK_BYTES {
            bytes = 0;
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_UNITS));
            if sender.send(full).is_err() || last {
                return;
            }
        }
    }
}

fn checkpoint(key: &FileKey, at: Option<Resume>) -> Checkpoint {
    Checkpoint {
        path: key.path.clone(),
        size: key.size,
        mtime_ns: key.mtime_ns,
        offset: at.map_or(key.size, |r| r.at.offset),
        line: at.map_or(0, |r| r.at.line),
        array: at.and_then(|r| r.array).map(|a| (a.line, a.next as u64)),
        complete: at.is_none(),
    }
}
