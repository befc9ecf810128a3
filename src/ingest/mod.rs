//! The one ingest pipeline: read -> decode -> apply -> write.
//!
//! Every front-end (the `ingest` command, the demo, the HTTP server) hands events to an
//! [`Ingestor`]. The stages, each in its own file:
//!
//! - read (`read.rs`, over the readers of [`source`]): an input (file, folder, standard
//!   input, plain or gzip) split into units, one event's bytes each, with checkpoints so
//!   that a rerun skips what was committed. A file is read on a thread of its own.
//! - decode (`decode.rs`): a unit's JSON made into an event by
//!   [`crate::semantics::event::decode`], on the reading thread for the common shapes
//!   (the server decodes on its request threads and calls
//!   [`Ingestor::ingest_decoded`]).
//! - apply (`apply.rs`, `profiles.rs`, `groups.rs`, `owners.rs`, `provenance.rs`): the
//!   destination's rules applied to cached profiles, in input order, on one thread.
//! - write (`write.rs`): large transactions, profiles written once per transaction;
//!   `cache.rs` (with the codec in `packed/`) keeps memory bounded in between.

mod apply;
pub mod bulk;
mod cache;
mod decode;
mod groups;
mod ids;
mod messages;
mod owners;
pub(crate) mod packed;
mod packing;
mod profiles;
mod provenance;
mod read;
mod registry;
pub mod source;
mod summary;
#[cfg(test)]
mod tests;
mod write;

use foldhash::HashMap;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::semantics::domains::normalize_domain;
use crate::semantics::provenance::Packer;
use crate::semantics::{company::CompanyProfile, profile::UserProfile};
use crate::store::{Checkpoint, ProvenanceBatch, Store};
use ids::IdMap;
use messages::MessageKeys;
use packed::SharedStrings;
use packing::PackingThread;
use registry::Registry;

pub use bulk::DeferIndexes;
pub(crate) use cache::Cached;
pub use cache::{CacheLimits, SQLITE_CACHE_MIB};
pub(crate) use decode::merge_envelope;
pub use source::{Input, MAX_EVENT};
pub use summary::{ByType, FileRow, IgnoredValue, Observer, Quiet, Rejection, Summary, Unreadable};

/// How a run is set up.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// The request's domain for every event (`--origin`); else each event's page URL.
    pub origin: Option<String>,
    /// Events per transaction.
    pub batch_size: usize,
    /// The time given to events that carry none.
    pub now: DateTime<Utc>,
    /// How much is held in memory.
    pub cache: CacheLimits,
    /// Record which event wrote each value (for `explain`).
    pub provenance: bool,
    /// Files already read (by their checkpoints) are skipped, or read from where they
    /// were left.
    pub resume: bool,
    /// Whether a large load builds the readers' indexes at its end (see [`bulk`]).
    pub defer_indexes: DeferIndexes,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            origin: None,
            batch_size: DEFAULT_BATCH_SIZE,
            now: Utc::now(),
            cache: CacheLimits::default(),
            provenance: true,
            resume: true,
            defer_indexes: DeferIndexes::Auto,
        }
    }
}

/// Events per transaction unless told otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 200_000;

/// What happened to one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    Duplicate,
    Skipped(String),
    Rejected(String),
}

/// Where an input came from, for messages.
#[derive(Debug, Clone, Copy)]
pub struct Location<'a> {
    pub source: &'a str,
    pub line: u64,
    pub item: Option<usize>,
}

/// Applies events to a store. Call [`Ingestor::finish`] at the end: work since the
/// last commit is otherwise rolled back.
pub struct Ingestor<'a> {
    store: &'a Store,
    observer: &'a mut dyn Observer,
    options: IngestOptions,
    origin_host: Option<String>,
    trusted: Vec<String>,
    registry: Registry,
    /// Profiles being worked on, unpacked.
    users: HashMap<i64, Cached<UserProfile>>,
    /// Every other profile held, packed (with what of it must be written).
    packed: HashMap<i64, Cached<Box<[u8]>>>,
    packed_bytes: usize,
    /// The shared strings of packed profiles (the packing thread adds them).
    shared: SharedStrings,
    /// Packs profiles beside this thread (started at the first that is packed).
    packing: Option<PackingThread>,
    companies: HashMap<i64, Cached<CompanyProfile>>,
    user_ids: IdMap,
    anonymous_ids: IdMap,
    group_ids: HashMap<String, i64>,
    /// The messageIds applied (duplicates are skipped).
    messages: MessageKeys,
    /// The writes of the event being applied to one profile, packed.
    provenance: Packer,
    /// Provenance rows waiting to be written together (before the next flush).
    provenance_rows: ProvenanceBatch,
    /// Provenance source ids by file path (or "http").
    provenance_sources: HashMap<String, i64>,
    summary: Summary,
    in_transaction: bool,
    /// The id the next new user profile gets (valid inside a transaction).
    next_user_ref: i64,
    pending: usize,
    data_version: i64,
    /// Where this run's arrival sequence starts: see [`Ingestor::next_arrival`].
    arrival_base: i64,
    /// Arrival-stamped events so far.
    arrivals: i64,
    /// Checkpoints to write with the next commit: files read to their end, and where
    /// the file being read stands.
    checkpoints: Vec<Checkpoint>,
    current_checkpoint: Option<Checkpoint>,
    /// Inside a unit of an input: a full batch commits after it, with its checkpoint.
    in_unit: bool,
}

impl<'a> Ingestor<'a> {
    pub fn new(
        store: &'a Store,
        options: IngestOptions,
        observer: &'a mut dyn Observer,
    ) -> Result<Ingestor<'a>> {
        let origin_host = match &options.origin {
            Some(origin) => Some(normalize_domain(origin).map_err(crate::Error::Usage)?),
            None => None,
        };
        let record_provenance = options.provenance;
        Ok(Ingestor {
            store,
            observer,
            options,
            origin_host,
            trusted: Vec::new(),
            registry: Registry::default(),
            users: HashMap::default(),
            packed: HashMap::default(),
            packed_bytes: 0,
            shared: SharedStrings::default(),
            packing: None,
            companies: HashMap::default(),
            user_ids: IdMap::default(),
            anonymous_ids: IdMap::default(),
            group_ids: HashMap::default(),
            messages: MessageKeys::default(),
            provenance: Packer::new(record_provenance),
            provenance_rows: ProvenanceBatch::default(),
            provenance_sources: HashMap::default(),
            summary: Summary::default(),
            in_transaction: false,
            next_user_ref: 0,
            pending: 0,
            data_version: i64::MIN,
            arrival_base: Utc::now().timestamp_nanos_opt().unwrap_or(0),
            arrivals: 0,
            checkpoints: Vec::new(),
            current_checkpoint: None,
            in_unit: false,
        })
    }

    /// The summary so far.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Sets, for the events that follow, the request's domain (as
    /// [`IngestOptions::origin`]) and the time given to events that carry none: a
    /// server calls it per request.
    pub fn set_request(&mut self, origin: Option<&str>, now: DateTime<Utc>) -> Result<()> {
        self.origin_host = match origin {
            Some(origin) => Some(normalize_domain(origin).map_err(crate::Error::Usage)?),
            None => None,
        };
        self.options.origin = origin.map(str::to_string);
        self.options.now = now;
        Ok(())
    }

    /// Commits what is left and returns the summary.
    pub fn finish(mut self) -> Result<Summary> {
        self.commit()?;
        if !self.checkpoints.is_empty() || self.current_checkpoint.is_some() {
            // Files that applied nothing (all duplicates, all rejected) are done too.
            self.store.begin()?;
            self.in_transaction = true;
            self.write_checkpoints()?;
            self.store.commit()?;
            self.in_transaction = false;
        }
        Ok(std::mem::take(&mut self.summary))
    }

    /// Notes an input that could not be read at all.
    pub fn unreadable(&mut self, source: &str, reason: String) {
        self.summary.unreadable.push(Unreadable {
            source: source.to_string(),
            reason,
        });
    }

    pub(super) fn reject(&mut self, loc: Location<'_>, reason: String, raw: &[u8]) -> Result<()> {
        self.reject_with(loc, reason, raw, false, None)
    }

    pub(super) fn reject_with(
        &mut self,
        loc: Location<'_>,
        reason: String,
        raw: &[u8],
        truncated: bool,
        offset: Option<u64>,
    ) -> Result<()> {
        let rejection = Rejection {
            source: loc.source.to_string(),
            line: loc.line,
            item: loc.item,
            offset,
            reason,
            truncated,
        };
        self.observer.rejected(&rejection, raw)?;
        self.summary.add_rejection(rejection);
        Ok(())
    }
}

impl Drop for Ingestor<'_> {
    fn drop(&mut self) {
        if self.in_transaction {
            // Not finished (an error): the open batch is rolled back, whole.
            let _ = self.store.rollback();
        }
    }
}
