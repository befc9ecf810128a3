//! What an ingest run did, and what it tells its observer as it goes.

use serde::Serialize;

/// An input the run could not apply, with where it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// File name, `-` for standard input, or the front-end's name for the source.
    pub source: String,
    /// 1-based line number.
    pub line: u64,
    /// 0-based position inside a JSON array or batch on that line, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    /// For input that is not JSON: the byte (of the decompressed input) where it broke.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    pub reason: String,
    /// The raw input handed to the observer is only the start of it (a line too long to
    /// hold in memory).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// A value that was ignored because it could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoredValue {
    pub source: String,
    pub line: u64,
    pub attribute: String,
    pub value: String,
    pub reason: String,
}

/// An input that could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    pub source: String,
    pub reason: String,
}

/// What one input gave (`ingest --json`'s `files`), to reconcile a back-fill file by file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileRow {
    pub source: String,
    pub received: u64,
    pub applied: u64,
    pub duplicates: u64,
    pub skipped: u64,
    pub rejected: u64,
    /// Bytes of the input as stored (compressed bytes for a compressed file), those
    /// skipped by a checkpoint included.
    pub bytes: u64,
    /// Where reading started, by the file's checkpoint: a byte offset, or its size when
    /// it was read whole before (then nothing was read again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed_at: Option<u64>,
}

/// Applied events by call type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ByType {
    pub identify: u64,
    pub page: u64,
    pub track: u64,
    pub group: u64,
}

/// The summary of a run (`ingest --json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Events received (each line, and each item of an array or batch).
    pub received: u64,
    pub applied: u64,
    pub rejected: u64,
    /// Events this destination does not take: call types it has no use for (alias,
    /// screen), events whose `integrations` do not deliver them here.
    pub skipped: u64,
    /// Skipped events by reason.
    pub skipped_reasons: std::collections::BTreeMap<String, u64>,
    /// Events whose messageId was applied before.
    pub duplicates: u64,
    /// Values that could not be converted to their attribute's type.
    pub ignored_values: u64,
    pub applied_by_type: ByType,
    /// The first [`Summary::LISTED`] rejections (all go to the observer, and to the
    /// rejects file).
    pub rejections: Vec<Rejection>,
    /// More were rejected than `rejections` lists.
    pub rejections_truncated: bool,
    /// The first [`Summary::LISTED`] ignored values.
    pub ignored: Vec<IgnoredValue>,
    /// More values were ignored than `ignored` lists.
    pub ignored_truncated: bool,
    /// Inputs that could not be read at all.
    pub unreadable: Vec<Unreadable>,
    /// Files found in a folder and left out (hidden, or not JSON), with why.
    pub skipped_files: Vec<Unreadable>,
    /// One row per input read.
    pub files: Vec<FileRow>,
}

impl Summary {
    /// How many rejections and ignored values the summary lists.
    pub const LISTED: usize = 1000;

    /// The counters alone (for a file's row).
    pub(crate) fn clone_counts(&self) -> Summary {
        Summary {
            received: self.received,
            applied: self.applied,
            rejected: self.rejected,
            skipped: self.skipped,
            duplicates: self.duplicates,
            ..Summary::default()
        }
    }

    pub(crate) fn add_rejection(&mut self, rejection: Rejection) {
        self.rejected += 1;
        if self.rejections.len() < Self::LISTED {
            self.rejections.push(rejection);
        } else {
            self.rejections_truncated = true;
        }
    }

    pub(crate) fn add_skipped(&mut self, reason: &str) {
        self.skipped += 1;
        match self.skipped_reasons.get_mut(reason) {
            Some(count) => *count += 1,
            None => {
                self.skipped_reasons.insert(reason.to_string(), 1);
            }
        }
    }

    pub(crate) fn add_ignored(&mut self, ignored: IgnoredValue) {
        self.ignored_values += 1;
        if self.ignored.len() < Self::LISTED {
            self.ignored.push(ignored);
        } else {
            self.ignored_truncated = true;
        }
    }
}

/// Told about every rejection and ignored value as the run goes (the command line
/// prints them and writes the rejects file; a server collects them per request).
pub trait Observer {
    /// `raw` is the rejected input, verbatim.
    fn rejected(&mut self, rejection: &Rejection, raw: &[u8]) -> anyhow::Result<()>;
    fn ignored(&mut self, ignored: &IgnoredValue);
    /// An event of a call type this destination does not take (alias, screen); the
    /// reason says which. `raw` is the event, verbatim.
    fn skipped(&mut self, _skipped: &Rejection, _raw: &[u8]) -> anyhow::Result<()> {
        Ok(())
    }
}

/// An observer that only counts (the summary has the rest).
pub struct Quiet;

impl Observer for Quiet {
    fn rejected(&mut self, _: &Rejection, _: &[u8]) -> anyhow::Result<()> {
        Ok(())
    }
    fn ignored(&mut self, _: &IgnoredValue) {}
}
