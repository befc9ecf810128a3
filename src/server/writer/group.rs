//! Group commits: the queued requests taken together, applied, committed once, then
//! answered.

use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{DateTime, Utc};
use hyper::body::Bytes;

use super::keys::KeyCache;
use super::{Applied, Job, Live, Payload, Refusal, WriterReport};
use crate::ingest::{Ingestor, Location, Summary};
use crate::semantics::time::format_timestamp;
use crate::server::body::Refused;
use crate::server::kept::{self, Noted, Notes, Source};
use crate::store::Store;

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

/// How long the writer waits for a request before it looks after the database
/// (`writer::tend`).
const IDLE: Duration = Duration::from_secs(2);

/// What the writer does next.
pub(super) enum Next {
    /// Applies these requests together.
    Group(Vec<Job>),
    /// Nothing came for [`IDLE`].
    Idle,
    /// Every sender is gone and the queue is empty.
    Closed,
}

/// Waits for the first queued request (up to [`IDLE`]), then takes whatever else is
/// queued: the requests that arrived while the previous group was applied and
/// committed. Then,
/// while requests keep arriving (one at most `GAP` after the other), it waits for them
/// up to a tenth of the time the previous group took: under load, clients answered
/// together come back together, and one commit for all of them costs less than
/// several (a commit writes every page its events touched). An idle server's next
/// request waits for nothing.
pub(super) fn next_group(rx: &Receiver<Job>, previous: Duration) -> Next {
    let first = match rx.recv_timeout(IDLE) {
        Ok(job) => job,
        Err(RecvTimeoutError::Timeout) => return Next::Idle,
        Err(RecvTimeoutError::Disconnected) => return Next::Closed,
    };
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
    Next::Group(group)
}

/// Applies every request of the group, commits, then answers them. On an error the
/// requests are answered 500 (nothing of them is committed) and the error returned.
pub(super) fn apply_group(
    store: &Store,
    keys: &mut KeyCache,
    (ingestor, live): (&mut Ingestor<'_>, &Live),
    rejected: &Notes,
    sequence: &mut u64,
    group: Vec<Job>,
    report: &mut WriterReport,
) -> Result<()> {
    let mut answers = Vec::with_capacity(group.len());
    // The events of the group, for the live view (only while someone watches).
    let watched = live.receiver_count() > 0;
    let mut committed: Vec<Bytes> = Vec::new();
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
                Ok(None) => {
                    if watched {
                        match &job.payload {
                            Payload::One(item) => committed.push(item.text.clone()),
                            Payload::Many(items) => {
                                committed.extend(items.iter().map(|(_, item)| item.text.clone()))
                            }
                            Payload::Nothing => {}
                        }
                    }
                    apply_job(
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
                    )
                }
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
            // Sent only after the commit: the live view shows what is stored.
            if !committed.is_empty() {
                let _ = live.send(std::sync::Arc::new(committed));
            }
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
        Payload::One(item) => {
            ingestor.ingest_decoded(loc, item.decoded, &item.text)?;
        }
        Payload::Many(items) => {
            for (index, item) in items {
                let loc = Location {
                    item: Some(index),
                    ..loc
                };
                ingestor.ingest_decoded(loc, item.decoded, &item.text)?;
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
