//! The top level of an input: JSON documents one after another, whatever separates
//! them (ndjson's newlines, pretty-printing, nothing). Arrays at the top level are read
//! item by item, and a batch object too large to hold is read from a spool file.

use std::io;

use super::array::{Step, next_item};
use super::batch::{self, SpooledBatch};
use super::scan::{Position, Record, Scanner, SyntaxError};
use super::{Bad, MAX_EVENT, Unit};

/// A top-level array being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InArray {
    /// The line it starts on.
    pub line: u64,
    /// The index of the next item.
    pub next: usize,
}

/// Where a reader stands between two units, to start there again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resume {
    pub at: Position,
    pub array: Option<InArray>,
}

/// Hands out the units of one input.
pub struct Reader {
    sc: Scanner,
    array: Option<InArray>,
    batch: Option<SpooledBatch>,
}

impl Reader {
    /// A reader over decompressed bytes, standing at `resume` (or at the start).
    pub fn new(reader: Box<dyn io::BufRead + Send>, resume: Option<Resume>) -> io::Result<Reader> {
        let start = Position { offset: 0, line: 1 };
        let mut sc = Scanner::new(reader, resume.map_or(start, |r| r.at));
        if resume.is_none() {
            sc.skip_bom()?;
        }
        Ok(Reader {
            sc,
            array: resume.and_then(|r| r.array),
            batch: None,
        })
    }

    /// The first byte that is not whitespace, without consuming anything past the
    /// whitespace.
    pub fn first_byte(&mut self) -> io::Result<Option<u8>> {
        self.sc.skip_ws()?;
        self.sc.peek()
    }

    /// The start of what is buffered (for a look at what an input holds).
    pub fn peek_sample(&mut self) -> Vec<u8> {
        self.sc.sample(1024)
    }

    /// Where the reader stands, when it is between units it can start again from (not
    /// inside a spooled batch).
    pub fn resume_point(&self) -> Option<Resume> {
        self.batch.is_none().then_some(Resume {
            at: self.sc.position(),
            array: self.array,
        })
    }

    /// The next unit, or `None` at the end of the input.
    pub fn next_unit(&mut self) -> io::Result<Option<Unit>> {
        loop {
            if let Some(batch) = &mut self.batch {
                if let Some(unit) = batch.next_unit()? {
                    return Ok(Some(unit));
                }
                self.batch = None;
            }
            if let Some(array) = &mut self.array {
                let item = array.next;
                let line = array.line;
                match next_item(&mut self.sc, item)? {
                    Step::Item(bytes) => {
                        array.next += 1;
                        let envelope = None;
                        return Ok(Some(Unit::Item {
                            line,
                            item,
                            bytes,
                            envelope,
                        }));
                    }
                    Step::TooLarge(raw) => {
                        array.next += 1;
                        return Ok(Some(Unit::Rejected(Bad::too_large(line, Some(item), raw))));
                    }
                    Step::End => {
                        self.array = None;
                        continue;
                    }
                    Step::Broken(e, record) => {
                        self.array = None;
                        let suffix = format!("items from {item} on are not read");
                        let bad = self.broken(line, Some(item), e, record, &suffix)?;
                        return Ok(Some(Unit::Rejected(bad)));
                    }
                }
            }
            self.sc.skip_ws()?;
            let Some(first) = self.sc.peek()? else {
                return Ok(None);
            };
            let start = self.sc.position();
            if first == b'[' {
                self.sc.bump()?;
                self.array = Some(InArray {
                    line: start.line,
                    next: 0,
                });
                continue;
            }
            let object = first == b'{';
            self.sc.start_record(MAX_EVENT, object);
            let mut keys = Vec::new();
            let result = self.sc.value(object.then_some(&mut keys))?;
            let record = self.sc.take_record();
            match result {
                Err(e) => {
                    let bad = self.broken(start.line, None, e, record, "")?;
                    return Ok(Some(Unit::Rejected(bad)));
                }
                Ok(()) if !record.overflow => {
                    return Ok(Some(Unit::Document {
                        line: start.line,
                        bytes: record.bytes,
                    }));
                }
                Ok(()) if !object => {
                    return Ok(Some(Unit::Rejected(Bad::too_large(
                        start.line,
                        None,
                        record.bytes,
                    ))));
                }
                Ok(()) => match batch::open(record, keys, start)? {
                    Ok(spooled) => self.batch = Some(spooled),
                    Err(bad) => return Ok(Some(Unit::Rejected(bad))),
                },
            }
        }
    }

    /// The rest of a broken document, as one rejection. Reading goes on after the line
    /// where it broke if the document began on that line (one bad ndjson line), else
    /// at the next line that starts with `{` or `[`.
    fn broken(
        &mut self,
        line: u64,
        item: Option<usize>,
        e: SyntaxError,
        record: Record,
        suffix: &str,
    ) -> io::Result<Bad> {
        self.sc.put_record(record);
        if e.at.line == line {
            self.sc.skip_line()?;
        } else {
            self.sc.skip_to_document_line()?;
        }
        let record = self.sc.take_record();
        let mut raw = record.bytes;
        // Line ends are not part of it.
        while matches!(raw.last(), Some(b'\n' | b'\r')) {
            raw.pop();
        }
        let suffix = if suffix.is_empty() {
            String::new()
        } else {
            format!("; {suffix}")
        };
        Ok(Bad {
            line,
            item,
            offset: Some(e.at.offset),
            reason: format!(
                "invalid JSON at byte {} (line {}): {}{suffix}",
                e.at.offset, e.at.line, e.what
            ),
            raw,
            truncated: record.overflow,
        })
    }
}
