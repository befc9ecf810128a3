//! Reading inputs: files, folders of them and standard input, plain or gzip-compressed,
//! as a stream of JSON documents and array items, in constant memory.
//!
//! Whatever the shape (ndjson; pretty-printed objects one after another; a top-level
//! array or a Segment batch of any size, on one line or many; a leading byte order mark;
//! CRLF line ends), a [`Reader`] hands out [`Unit`]s: one event's bytes each (or one
//! small batch document), or a rejection saying where and why the input broke.

mod array;
mod batch;
mod compressed;
mod documents;
mod folder;
mod input;
mod record;
mod scan;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde_json::{Map, Value};

pub use compressed::Compression;
pub use documents::{InArray, Reader, Resume};
pub use input::{FileKey, Input, Opened, Unopened};
pub use scan::Position;

/// The largest event read from a file (and the largest document held whole; a batch
/// larger than this is read item by item).
pub const MAX_EVENT: usize = 8 * 1024 * 1024;

/// How much of an input over [`MAX_EVENT`] is kept to show in its rejection.
pub const PREVIEW: usize = 1024;

/// What a reader hands out.
pub enum Unit {
    /// A whole top-level document of at most [`MAX_EVENT`] bytes: an event, a batch
    /// object, or whatever else (then rejected by the pipeline).
    Document { line: u64, bytes: Vec<u8> },
    /// One item of a top-level array, or of a batch too large to hold (then with the
    /// batch's other keys).
    Item {
        line: u64,
        item: usize,
        bytes: Vec<u8>,
        envelope: Option<Arc<Map<String, Value>>>,
    },
    /// Something that could not be read as an event.
    Rejected(Bad),
}

impl Unit {
    /// Bytes it holds.
    pub fn size(&self) -> usize {
        match self {
            Unit::Document { bytes, .. } | Unit::Item { bytes, .. } => bytes.len(),
            Unit::Rejected(bad) => bad.raw.len(),
        }
    }
}

/// Input that could not be read as an event, with where it was.
#[derive(Debug)]
pub struct Bad {
    /// The line its document starts on.
    pub line: u64,
    pub item: Option<usize>,
    /// The byte (of the decompressed input) where the JSON broke, for syntax errors.
    pub offset: Option<u64>,
    pub reason: String,
    pub raw: Vec<u8>,
    /// `raw` is only the start of it.
    pub truncated: bool,
}

impl Bad {
    fn too_large(line: u64, item: Option<usize>, mut raw: Vec<u8>) -> Bad {
        raw.truncate(PREVIEW);
        Bad {
            line,
            item,
            offset: None,
            reason: format!(
                "longer than {} MiB: not one event (an event may be up to {} MiB)",
                MAX_EVENT >> 20,
                MAX_EVENT >> 20
            ),
            raw,
            truncated: true,
        }
    }
}
