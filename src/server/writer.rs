//! The single writer: one thread owns the [`Store`] and an [`Ingestor`] (the pipeline
//! of `usercom ingest`), takes every queued request, checks its API key, applies them
//! all, commits once (a group commit) and only then answers each request.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{DateTime, Utc};
use hyper::body::Bytes;
use tokio::sync::oneshot;

use super::body::Refused;
use super::kept::{self, Collector, Noted, Notes, Source};
use crate::ingest::{IngestOptions, Ingestor, Location, Summary};
use crate::semantics::api_key::{KeyHolder, refusal};
use crate::semantics::time::format_timestamp;
use crate::store::{KeyKind, KeyStatus, Store};

/// The events of one request, as the HTTP layer read and stamped them: each event's
/// JSON text, applied as `usercom ingest` applies an event.
pub enum Payload {
    /// One event (`/v1/identify`, `/v1/track`, ...).
    Text(Bytes),
    /// The events of a batch: (position in the request, JSON text of an event object).
    Texts(Vec<(usize, Bytes)>),
    /// No events: only the key is checked (the settings document).
    Nothing,
}

impl Payload {
    pub fn events(&self) -> usize {
        match self {
            Payload::Text(_) => 1,
            Payload::Texts(items) => items.len(),
            Payload::Nothing => 0,
        }
    }
}

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

/// API keys seen, as the database had them when it last changed.
struct KeyCache {
    /// `PRAGMA data_version` when filled: another connection's commit (a key created
    /// or revoked with the CLI) changes it, and the cache is emptied.
    version: i64,
    /// Each key's status, and for an active key its kind.
    statuses: HashMap<String, (KeyStatus, Option<KeyKind>)>,
}

/// Keys remembered at most (a flood of made-up keys cannot grow the cache past it).
const KEY_CACHE_LIMIT: usize = 10_000;

impl KeyCache {
    /// Empties the cache if the database changed since it was filled.
    fn refresh(&mut self, store: &Store) -> Result<()> {
        let version = store.data_version()?;
        if version != self.version {
            self.statuses.clear();
            self.version = version;
        }
        Ok(())
    }

    /// None for an active key; else why it is refused. An admin key is taken only
    /// from the Authorization header (`in_header`), never from a body or a URL.
    fn refusal(&mut self, store: &Store, key: &str, in_header: bool) -> Result<Option<String>> {
        let status = match self.statuses.get(key) {
            Some(status) => status.clone(),
            None => {
                let status = store.key_status(key)?;
                let kind = match status {
                    KeyStatus::Active(_) => store.active_key_kind(key)?,
                    _ => None,
                };
                if self.statuses.len() >= KEY_CACHE_LIMIT {
                    self.statuses.clear();
                }
                self.statuses
                    .insert(key.to_string(), (status.clone(), kind));
                (status, kind)
            }
        };
        Ok(match status {
            (KeyStatus::Active(_), Some(KeyKind::Admin)) if !in_header => Some(
                "an admin key is taken only from the Authorization header (HTTP Basic), never \
                 from a body or a URL: send it there, or use a write key"
                    .to_string(),
            ),
            (KeyStatus::Active(_), _) => None,
            (KeyStatus::Revoked(id), _) => Some(refusal(Some(id), KeyHolder::Server)),
            (KeyStatus::Unknown, _) => Some(refusal(None, KeyHolder::Server)),
        })
    }
}

/// Events taken into one transaction at most (more queued requests wait for the next).
const MAX_GROUP_EVENTS: usize = 20_000;
/// Waiting for more requests to join a group: the previous group's time divided by
/// this, at most `MAX_LINGER`, and only while they come at most `GAP` apart.
const LINGER_SHARE: u32 = 10;
const MAX_LINGER: Duration = Duration::from_millis(50);
const GAP: Duration = Duration::from_millis(2);

/// Counts from a summary, to tell what one request added.
#[derive(Clone, Copy)]
struct Counts {
    received: u64,
    applied: u64,
    duplicates: u64,
    skipped: u64,
}

impl Counts {
    fn of(s: &Summary) -> Counts {
        Counts {
            received: s.received,
            applied: s.applied,
            duplicates: s.duplicates,
            skipped: s.skipped,
        }
    }
}

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
pub fn run(store: Store, rx: Receiver<Job>) -> WriterReport {
    let mut report = WriterReport::default();
    let rejected: Notes = Rc::new(RefCell::new(Vec::new()));
    let mut observer = Collector {
        noted: rejected.clone(),
    };
    let mut sequence = 0u64;
    let mut keys = KeyCache {
        version: i64::MIN,
        statuses: HashMap::new(),
    };
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
            let Some(group) = next_group(&rx, previous) else {
                // Every sender is gone and the queue is drained: all was committed.
                if let Err(e) = ingestor.finish() {
                    eprintln!("usercom serve: final commit failed: {e:#}");
                }
                return report;
            };
            let started = Instant::now();
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                apply_group(
                    &store,
                    &mut keys,
                    &mut ingestor,
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

/// Blocks for the first queued request, then takes whatever else is queued: the
/// requests that arrived while the previous group was applied and committed. Then,
/// while requests keep arriving (one at most `GAP` after the other), it waits for them
/// up to a tenth of the time the previous group took: under load, clients answered
/// together come back together, and one commit for all of them costs less than
/// several (a commit writes every page its events touched). An idle server's next
/// request waits for nothing.
fn next_group(rx: &Receiver<Job>, previous: Duration) -> Option<Vec<Job>> {
    let first = rx.recv().ok()?;
    let started = Instant::now();
    let budget = (previous / LINGER_SHARE).min(MAX_LINGER);
    let mut events = first.payload.events();
    let mut group = vec![first];
    while events < MAX_GROUP_EVENTS {
        let next = match rx.try_recv() {
            Ok(job) => job,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                let left = budget.saturating_sub(started.elapsed());
                if left.is_zero() {
                    break;
                }
                match rx.recv_timeout(left.min(GAP)) {
                    Ok(job) => job,
                    Err(_) => break,
                }
            }
        };
        events += next.payload.events();
        group.push(next);
    }
    Some(group)
}

/// Applies every request of the group, commits, then answers them. On an error the
/// requests are answered 500 (nothing of them is committed) and the error returned.
fn apply_group(
    store: &Store,
    keys: &mut KeyCache,
    ingestor: &mut Ingestor<'_>,
    rejected: &Notes,
    sequence: &mut u64,
    group: Vec<Job>,
    report: &mut WriterReport,
) -> Result<()> {
    let mut answers = Vec::with_capacity(group.len());
    let mut refused = Vec::new();
    let mut result = keys.refresh(store);
    let mut jobs = group.into_iter();
    if result.is_ok() {
        for job in jobs.by_ref() {
            *sequence += 1;
            let applied = match keys.refusal(store, &job.key, job.key_in_header) {
                Ok(Some(refusal)) => {
                    refused.push((job.reply, refusal));
                    continue;
                }
                Ok(None) => apply_job(
                    store,
                    ingestor,
                    rejected,
                    *sequence,
                    Request {
                        payload: job.payload,
                        origin: job.origin,
                        received_at: job.received_at,
                        source: job.source,
                        refused: job.refused,
                    },
                ),
                Err(e) => Err(e),
            };
            match applied {
                Ok(applied) => answers.push((job.reply, applied)),
                Err(e) => {
                    let _ = job.reply.send(Err(Refusal::Failed(internal(&e))));
                    result = Err(e);
                    break;
                }
            }
        }
    }
    if result.is_ok() {
        result = ingestor.commit();
    }
    // Refused requests applied nothing: their answer does not wait for the commit.
    for (reply, refusal) in refused {
        let _ = reply.send(Err(Refusal::Forbidden(refusal)));
    }
    match result {
        Ok(()) => {
            for (reply, applied) in answers {
                report.add(&applied);
                let _ = reply.send(Ok(applied));
            }
            Ok(())
        }
        Err(e) => {
            let failed = Refusal::Failed(internal(&e));
            for (reply, _) in answers {
                let _ = reply.send(Err(failed.clone()));
            }
            for job in jobs {
                let _ = job.reply.send(Err(failed.clone()));
            }
            Err(e)
        }
    }
}

fn internal(e: &anyhow::Error) -> String {
    format!("the events could not be stored (nothing of this request was kept): {e:#}")
}

/// What of a job is applied.
struct Request {
    payload: Payload,
    origin: Option<String>,
    received_at: DateTime<Utc>,
    source: Source,
    refused: Vec<Refused>,
}

/// Applies one request into the open transaction and keeps its rejected and skipped
/// events there too (they are committed with it).
fn apply_job(
    store: &Store,
    ingestor: &mut Ingestor<'_>,
    noted: &Notes,
    sequence: u64,
    request: Request,
) -> Result<Applied> {
    ingestor.set_request(request.origin.as_deref(), request.received_at)?;
    noted.borrow_mut().clear();
    let before = Counts::of(ingestor.summary());
    let loc = Location {
        source: "http",
        line: sequence,
        item: None,
    };
    match request.payload {
        Payload::Text(text) => ingestor.ingest_event(loc, &text)?,
        Payload::Texts(items) => {
            for (index, text) in items {
                let loc = Location {
                    item: Some(index),
                    ..loc
                };
                ingestor.ingest_event(loc, &text)?;
            }
        }
        Payload::Nothing => {}
    }
    let after = Counts::of(ingestor.summary());
    let received_at = format_timestamp(request.received_at);
    let from = (&request.source, received_at.as_str());
    // The items refused before the pipeline are in the answer already.
    kept::keep(store, request.refused.iter().map(Noted::from), from)?;
    let noted = std::mem::take(&mut *noted.borrow_mut());
    let rejected = kept::keep(store, noted, from)?;
    Ok(Applied {
        received: after.received - before.received,
        applied: after.applied - before.applied,
        duplicates: after.duplicates - before.duplicates,
        skipped: after.skipped - before.skipped,
        rejected,
    })
}

/// Answers every queued request with an error (the writer cannot go on).
fn fail_all(rx: &Receiver<Job>, message: &str) {
    while let Ok(job) = rx.recv() {
        let _ = job.reply.send(Err(Refusal::Failed(message.to_string())));
    }
}
