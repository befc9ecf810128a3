//! The one ingest pipeline: source -> decode -> apply -> batched sink.
//!
//! Every front-end (the `ingest` command, the demo, the HTTP server) hands raw events
//! to an [`Ingestor`], which decodes them, applies the destination's semantics to
//! cached profiles and writes them in large transactions.

mod apply;
mod decode;
mod files;
mod groups;
mod owners;
mod provenance;
mod registry;
pub mod source;
mod summary;
#[cfg(test)]
mod tests;

use foldhash::HashMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::semantics::delivery::Envelope;
use crate::semantics::device::UaCache;
use crate::semantics::domains::normalize_domain;
use crate::semantics::event::{Decoded, WireEvent, decode};
use crate::semantics::lww::Clock;
use crate::semantics::packed::{SharedStrings, pack_user, unpack_user};
use crate::semantics::provenance::Packer;
use crate::semantics::{company::CompanyProfile, profile::UserProfile};
use crate::store::{Checkpoint, RowWrite, Store};
use registry::Registry;

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
        }
    }
}

/// Events per transaction unless told otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 200_000;

/// What an ingest holds in memory between events, at most. Past a limit, what is held
/// is written into the open transaction and some of it is let go, so memory stays
/// bounded whatever the input; the defaults hold every active profile of a stream
/// with tens of thousands of users.
#[derive(Debug, Clone, Copy)]
pub struct CacheLimits {
    /// User profiles held unpacked: the ones events are being applied to. Past this
    /// they are packed into the second tier.
    pub hot_profiles: usize,
    /// Bytes of packed user profiles (each counted with its bookkeeping).
    pub packed_bytes: usize,
    /// Company profiles (they are few and small).
    pub companies: usize,
    /// anonymousId and userId look-ups.
    pub ids: usize,
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits {
            hot_profiles: 1_000,
            packed_bytes: 24 << 20,
            companies: 15_000,
            ids: 400_000,
        }
    }
}

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

/// A profile held in memory for the run, and what of it must be written.
pub(crate) struct Cached<T> {
    pub profile: T,
    pub dirty: bool,
    /// Not yet in its table (written whole at the next flush).
    pub is_new: bool,
    /// Its userId or email changed since it was written.
    pub keys_dirty: bool,
    pub dirty_attrs: Vec<i64>,
    /// When an event last used it (events received so far): the least recently used
    /// go first when memory runs short.
    pub last_used: u64,
}

impl<T> Cached<T> {
    fn clean(profile: T) -> Cached<T> {
        Cached {
            profile,
            dirty: false,
            is_new: false,
            keys_dirty: false,
            dirty_attrs: Vec::new(),
            last_used: 0,
        }
    }

    /// The same entry holding the profile in another form.
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Cached<U> {
        Cached {
            profile: f(self.profile),
            dirty: self.dirty,
            is_new: self.is_new,
            keys_dirty: self.keys_dirty,
            dirty_attrs: self.dirty_attrs,
            last_used: self.last_used,
        }
    }

    /// Whether something of it is not written yet.
    fn needs_write(&self) -> bool {
        self.dirty || !self.dirty_attrs.is_empty()
    }

    /// How its row is to be written and the attributes to write; it is clean after.
    fn write_state(&mut self) -> (RowWrite, Vec<i64>) {
        let write = if self.is_new {
            RowWrite::Insert
        } else if self.keys_dirty {
            RowWrite::Update
        } else {
            RowWrite::Refresh
        };
        let mut attrs = std::mem::take(&mut self.dirty_attrs);
        attrs.sort_unstable();
        attrs.dedup();
        self.dirty = false;
        self.is_new = false;
        self.keys_dirty = false;
        (write, attrs)
    }
}

/// What a packed profile costs beyond its bytes (map entry and write state).
const PACKED_OVERHEAD: usize = 64;

/// Applies events to a store. Call [`Ingestor::finish`] at the end: work since the
/// last commit is otherwise rolled back.
pub struct Ingestor<'a> {
    store: &'a Store,
    observer: &'a mut dyn Observer,
    options: IngestOptions,
    origin_host: Option<String>,
    trusted: Vec<String>,
    registry: Registry,
    ua: UaCache,
    /// Profiles being worked on, unpacked.
    users: HashMap<i64, Cached<UserProfile>>,
    /// Every other profile held, packed (with what of it must be written).
    packed: HashMap<i64, Cached<Box<[u8]>>>,
    packed_bytes: usize,
    shared: SharedStrings,
    companies: HashMap<i64, Cached<CompanyProfile>>,
    user_ids: HashMap<String, i64>,
    anonymous_ids: HashMap<String, i64>,
    group_ids: HashMap<String, i64>,
    /// The writes of the event being applied to one profile, packed.
    provenance: Packer,
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
            ua: UaCache::default(),
            users: HashMap::default(),
            packed: HashMap::default(),
            packed_bytes: 0,
            shared: SharedStrings::default(),
            companies: HashMap::default(),
            user_ids: HashMap::default(),
            anonymous_ids: HashMap::default(),
            group_ids: HashMap::default(),
            provenance: Packer::new(record_provenance),
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
                    self.reject(loc, json_error(&e), raw)
                }
            },
            b'[' => match serde_json::from_str::<Value>(text) {
                Ok(value) => self.ingest_document(loc, value),
                Err(e) => {
                    self.summary.received += 1;
                    self.reject(loc, json_error(&e), raw)
                }
            },
            _ => {
                self.summary.received += 1;
                let reason = match serde_json::from_str::<Value>(text) {
                    Ok(_) => "not a JSON object (expected one event per line)".to_string(),
                    Err(e) => json_error(&e),
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
            .and_then(|text| serde_json::from_str::<WireEvent>(text).map_err(|e| json_error(&e)));
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

    fn ingest_wire(&mut self, loc: Location<'_>, wire: WireEvent, raw: &[u8]) -> Result<Outcome> {
        let decoded = decode(wire, raw, self.options.now);
        self.apply_decoded(loc, decoded, raw)
    }

    /// Applies an event decoded elsewhere (by [`decode`], with the time given to events
    /// that carry none), so decoding can run on another thread; `raw` is its JSON text,
    /// kept for rejections.
    pub fn ingest_decoded(
        &mut self,
        loc: Location<'_>,
        decoded: Result<Decoded, String>,
        raw: &[u8],
    ) -> Result<Outcome> {
        self.summary.received += 1;
        self.apply_decoded(loc, decoded, raw)
    }

    /// [`Ingestor::ingest_decoded`] for an event already counted as received.
    fn apply_decoded(
        &mut self,
        loc: Location<'_>,
        decoded: Result<Decoded, String>,
        raw: &[u8],
    ) -> Result<Outcome> {
        let event = match decoded {
            Ok(Decoded::Event(mut event)) => {
                if event.arrival_stamped {
                    event.clock = Clock::arrival(event.time, self.next_arrival());
                }
                event
            }
            Ok(Decoded::Skipped(reason)) => {
                self.summary.add_skipped(&reason);
                let skipped = Rejection {
                    source: loc.source.to_string(),
                    line: loc.line,
                    item: loc.item,
                    reason: reason.clone(),
                    truncated: false,
                    offset: None,
                };
                self.observer.skipped(&skipped, raw)?;
                return Ok(Outcome::Skipped(reason));
            }
            Err(reason) => {
                self.reject(loc, reason.clone(), raw)?;
                return Ok(Outcome::Rejected(reason));
            }
        };
        self.begin_if_needed()?;
        if let Some(reason) = self.forbidden_domain(&event) {
            self.reject(loc, reason.clone(), raw)?;
            return Ok(Outcome::Rejected(reason));
        }
        if !self.store.remember_message(&event.message_id)? {
            self.summary.duplicates += 1;
            return Ok(Outcome::Duplicate);
        }
        self.apply(loc, &event)?;
        self.summary.applied += 1;
        let by_type = &mut self.summary.applied_by_type;
        match event.kind {
            crate::semantics::event::Kind::Identify => by_type.identify += 1,
            crate::semantics::event::Kind::Page => by_type.page += 1,
            crate::semantics::event::Kind::Track => by_type.track += 1,
            crate::semantics::event::Kind::Group => by_type.group += 1,
        }
        self.pending += 1;
        if self.users.len() > self.options.cache.hot_profiles {
            self.pack_cold();
        }
        if self.pending >= self.options.batch_size && !self.in_unit {
            self.commit()?;
        } else if self.packed_bytes > self.options.cache.packed_bytes
            || self.companies.len() > self.options.cache.companies
        {
            // Bounded memory whatever the batch: write what is cached into the open
            // transaction and let some of it go.
            self.flush()?;
            self.evict();
        }
        Ok(Outcome::Applied)
    }

    /// The arrival sequence of the next event stamped with its arrival time (or
    /// `receivedAt`): among equal stamps the later arrival wins, in this run (input
    /// after input, line after line, item after item; request after request on a
    /// server) and against earlier runs, whose sequences are all lower: each run's
    /// starts at its start time in nanoseconds, and no run takes events faster than
    /// one a nanosecond.
    fn next_arrival(&mut self) -> i64 {
        self.arrivals += 1;
        self.arrival_base.saturating_add(self.arrivals)
    }

    /// Writes what is cached and commits the open transaction, if any.
    pub fn commit(&mut self) -> Result<()> {
        if !self.in_transaction {
            return Ok(());
        }
        self.flush()?;
        self.write_checkpoints()?;
        // Read inside the transaction: a commit by another process right after ours
        // must still show as a change next time.
        let version = self.store.data_version()?;
        self.store.commit()?;
        self.in_transaction = false;
        self.pending = 0;
        self.data_version = version;
        self.evict();
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

    fn begin_if_needed(&mut self) -> Result<()> {
        if self.in_transaction {
            return Ok(());
        }
        // Take the write lock first: only then is nobody else changing what we cache.
        self.store.begin()?;
        self.in_transaction = true;
        self.next_user_ref = self.store.next_user_ref()?;
        let version = self.store.data_version()?;
        if version != self.data_version {
            // First transaction, or another process wrote since our last commit.
            self.clear_caches();
            self.registry = Registry::load(self.store)?;
            self.trusted = self
                .store
                .domains()?
                .into_iter()
                .map(|d| d.domain)
                .collect();
        }
        Ok(())
    }

    /// Moves the less recently used half of the unpacked profiles to the packed tier,
    /// with their write state: the ones events are still arriving for stay unpacked.
    fn pack_cold(&mut self) {
        let keep = self.options.cache.hot_profiles / 2;
        let mut by_use: Vec<(u64, i64)> = self
            .users
            .iter()
            .map(|(id, cached)| (cached.last_used, *id))
            .collect();
        let cold = by_use.len().saturating_sub(keep);
        if cold == 0 {
            return;
        }
        if cold < by_use.len() {
            by_use.select_nth_unstable(cold);
        }
        for &(_, id) in &by_use[..cold] {
            let cached = self.users.remove(&id).expect("listed above");
            let packed = cached.map(|profile| pack_user(&profile, &mut self.shared));
            self.packed_bytes += packed.profile.len() + PACKED_OVERHEAD;
            if let Some(old) = self.packed.insert(id, packed) {
                self.packed_bytes -= old.profile.len() + PACKED_OVERHEAD;
            }
        }
    }

    /// A packed profile taken back out, unpacked, with its write state.
    pub(super) fn unpack(&mut self, id: i64) -> Option<Cached<UserProfile>> {
        let packed = self.packed.remove(&id)?;
        self.packed_bytes -= packed.profile.len() + PACKED_OVERHEAD;
        Some(packed.map(|bytes| unpack_user(&bytes, &self.shared)))
    }

    /// After a flush (everything held is clean): drops the least recently used packed
    /// profiles down to three quarters of the budget, and companies and id look-ups
    /// past their limits.
    fn evict(&mut self) {
        let limits = self.options.cache;
        if self.packed_bytes > limits.packed_bytes {
            let target = limits.packed_bytes * 3 / 4;
            let mut by_use: Vec<(u64, i64)> = self
                .packed
                .iter()
                .map(|(id, p)| (p.last_used, *id))
                .collect();
            by_use.sort_unstable();
            for (_, id) in by_use {
                if self.packed_bytes <= target {
                    break;
                }
                let p = self.packed.remove(&id).expect("listed above");
                debug_assert!(!p.dirty && p.dirty_attrs.is_empty());
                self.packed_bytes -= p.profile.len() + PACKED_OVERHEAD;
            }
            let (users, packed) = (&self.users, &self.packed);
            let held = |id: &i64| users.contains_key(id) || packed.contains_key(id);
            self.user_ids.retain(|_, id| held(id));
            self.anonymous_ids.retain(|_, id| held(id));
        }
        if self.companies.len() > limits.companies {
            self.companies.clear();
            self.group_ids.clear();
        }
        if self.anonymous_ids.len() + self.user_ids.len() > limits.ids {
            self.user_ids.clear();
            self.anonymous_ids.clear();
        }
    }

    fn clear_caches(&mut self) {
        self.users.clear();
        self.packed.clear();
        self.packed_bytes = 0;
        self.companies.clear();
        self.user_ids.clear();
        self.anonymous_ids.clear();
        self.group_ids.clear();
        self.provenance_sources.clear();
    }

    fn reject(&mut self, loc: Location<'_>, reason: String, raw: &[u8]) -> Result<()> {
        self.reject_with(loc, reason, raw, false, None)
    }

    fn reject_with(
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

fn json_error(e: &serde_json::Error) -> String {
    if e.is_data() {
        format!("invalid event: {e}")
    } else {
        format!("invalid JSON: {e}")
    }
}

/// A batch's keys besides `batch` (its envelope: `context`, `integrations`, `sentAt`)
/// given to one of its items (the item's own keys win). Every batch, held whole or read
/// item by item, goes through [`Envelope`].
pub(crate) fn merge_envelope(item: Value, envelope: &Map<String, Value>) -> Value {
    Envelope::of(envelope).apply(item)
}
