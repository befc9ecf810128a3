//! The single writer: one thread owns the [`Store`] and an [`Ingestor`] (the pipeline
//! of `usercom ingest`), takes every queued request, checks its API key ([`keys`]),
//! applies them all, commits once (a group commit, [`group`]) and only then answers
//! each request. Events arrive decoded: the request threads parse and decode them, the
//! writer only applies.

mod group;
mod keys;

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hyper::body::Bytes;
use tokio::sync::oneshot;

use super::body::Refused;
use super::kept::{Collector, Notes, Source};
use crate::ingest::{IngestOptions, Ingestor};
use crate::semantics::event::{Decoded, decode_text};
use crate::store::Store;

/// One event of a request, as the HTTP layer read, stamped and decoded it.
pub struct Item {
    /// Its JSON text as stamped: what is kept of a rejected event, and what the live
    /// view shows.
    pub text: Bytes,
    /// What decoding it gave (with the request's arrival as the time of last resort).
    pub decoded: Result<Decoded, String>,
}

impl Item {
    /// Decodes the JSON text of one stamped event; `now`: when its request arrived.
    pub fn decode(text: String, now: DateTime<Utc>) -> Item {
        let decoded = decode_text(&text, now);
        Item {
            text: Bytes::from(text),
            decoded,
        }
    }
}

/// The events of one request, applied as `usercom ingest` applies an event.
pub enum Payload {
    /// One event (`/v1/identify`, `/v1/track`, ...).
    One(Item),
    /// The events of a batch, each with its position in the request.
    Many(Vec<(usize, Item)>),
    /// No events: only the key is checked (the settings document).
    Nothing,
}

impl Payload {
    pub fn events(&self) -> usize {
        match self {
            Payload::One(_) => 1,
            Payload::Many(items) => items.len(),
            Payload::Nothing => 0,
        }
    }
}

/// The events of each committed group, as sent (JSON texts), for the web UI's live
/// view.
pub type Live = tokio::sync::broadcast::Sender<std::sync::Arc<Vec<Bytes>>>;

/// One request for the writer.
pub struct Job {
    /// The API key it came with, checked by the writer.
    pub key: String,
    /// The key came in the Authorization header (not in the body or the URL).
    pub key_in_header: bool,
    pub payload: Payload,
    /// The request's domain (Origin or Referer header), if it sent one.
    pub origin: Option<String>,
    /// When the request arrived: the time of events that carry none.
    pub received_at: DateTime<Utc>,
    /// Where its rejections are said to come from.
    pub source: Source,
    /// Batch items the HTTP layer refused (kept with the rejections once the key is
    /// checked; the answer lists them already).
    pub refused: Vec<Refused>,
    pub reply: oneshot::Sender<Reply>,
}

/// What became of one request's events, once committed.
#[derive(Debug, Default)]
pub struct Applied {
    pub received: u64,
    pub applied: u64,
    pub duplicates: u64,
    pub skipped: u64,
    /// Rejected events: position in the request (None for a single event), reason.
    pub rejected: Vec<(Option<usize>, String)>,
}

/// Why nothing of a request was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An unknown or revoked API key (403).
    Forbidden(String),
    /// The group's transaction failed and was rolled back (500).
    Failed(String),
}

/// The writer's answer: the request's outcome, or why nothing of it was committed.
pub type Reply = std::result::Result<Applied, Refusal>;

/// What the writer did over the server's life (committed requests only).
#[derive(Debug, Default, Clone)]
pub struct WriterReport {
    pub received: u64,
    pub applied: u64,
    pub duplicates: u64,
    pub skipped: u64,
    pub rejected: u64,
    /// Groups of requests applied, each in one transaction (none when nothing of it
    /// could be applied).
    pub groups: u64,
    /// Groups that failed and were rolled back (their requests answered 500).
    pub failed_groups: u64,
}

impl WriterReport {
    fn add(&mut self, a: &Applied) {
        self.received += a.received;
        self.applied += a.applied;
        self.duplicates += a.duplicates;
        self.skipped += a.skipped;
        self.rejected += a.rejected.len() as u64;
    }
}

/// Runs until every sender is gone and the queue is empty; returns what was applied.
/// Each request is answered only after the transaction holding it committed.
pub fn run(store: Store, rx: Receiver<Job>, live: Live) -> WriterReport {
    let mut report = WriterReport::default();
    let rejected: Notes = Rc::new(RefCell::new(Vec::new()));
    let mut observer = Collector {
        noted: rejected.clone(),
    };
    let mut sequence = 0u64;
    let mut keys = keys::KeyCache::new();
    // After looking after the database failed: not again before this.
    let mut tend_after: Option<Instant> = None;
    loop {
        let options = IngestOptions {
            batch_size: usize::MAX,
            ..IngestOptions::default()
        };
        let mut ingestor = match Ingestor::new(&store, options, &mut observer) {
            Ok(ingestor) => ingestor,
            Err(e) => {
                // Cannot happen without an origin; answer rather than hang.
                fail_all(&rx, &format!("{e:#}"));
                return report;
            }
        };
        let mut previous = Duration::ZERO;
        loop {
            let group = match group::next_group(&rx, previous) {
                group::Next::Group(group) => group,
                group::Next::Idle => {
                    tend(&store, &mut tend_after);
                    continue;
                }
                group::Next::Closed => {
                    // Every sender is gone and the queue is drained: all was committed.
                    if let Err(e) = ingestor.finish() {
                        eprintln!("usercom serve: final commit failed: {e:#}");
                    }
                    return report;
                }
            };
            let started = Instant::now();
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                group::apply_group(
                    &store,
                    &mut keys,
                    (&mut ingestor, &live),
                    &rejected,
                    &mut sequence,
                    group,
                    &mut report,
                )
            }));
            previous = started.elapsed();
            match outcome {
                Ok(Ok(())) => report.groups += 1,
                Ok(Err(e)) => {
                    report.failed_groups += 1;
                    eprintln!("usercom serve: a group commit failed and was rolled back: {e:#}");
                    break;
                }
                Err(_) => {
                    report.failed_groups += 1;
                    eprintln!("usercom serve: applying a group panicked; it was rolled back");
                    break;
                }
            }
        }
        // Failed: dropping the Ingestor rolls back the open transaction and forgets the
        // cached profiles; a fresh one starts from what is committed.
        drop(ingestor);
        rejected.borrow_mut().clear();
    }
}

/// How long the writer leaves the database alone after looking after it failed.
const TEND_BACKOFF: Duration = Duration::from_secs(60);

/// What the idle writer does between requests: builds the query indexes a load that
/// is gone (killed while the server ran) left to build, so the server's own queries do
/// not stay slow until the next start. A load still running builds its own.
fn tend(store: &Store, after: &mut Option<Instant>) {
    if after.is_some_and(|t| Instant::now() < t) {
        return;
    }
    match store.build_deferred_indexes() {
        Ok(0) => {}
        Ok(built) => {
            eprintln!("usercom serve: built {built} query indexes an interrupted load left");
        }
        Err(e) => {
            *after = Some(Instant::now() + TEND_BACKOFF);
            eprintln!(
                "usercom serve: {e:#} (queries answer more slowly until they are built; \
                 tried again in {} s)",
                TEND_BACKOFF.as_secs()
            );
        }
    }
}

/// Answers every queued request with an error (the writer cannot go on).
fn fail_all(rx: &Receiver<Job>, message: &str) {
    while let Ok(job) = rx.recv() {
        let _ = job.reply.send(Err(Refusal::Failed(message.to_string())));
    }
}
