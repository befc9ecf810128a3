//! The rejected and skipped events of a request, kept in the database with the
//! request they came in (path, client address, item).

use std::cell::RefCell;
use std::rc::Rc;

use anyhow::Result;

use super::body::Refused;
use crate::ingest::{IgnoredValue, Observer, Rejection};
use crate::store::{MAX_RAW_BYTES, NewRejection, RejectionOutcome, Store};

/// Where a request came from: its path and the client's address.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub path: String,
    pub remote: Option<String>,
}

/// A rejected or skipped event of the request being applied.
pub struct Noted {
    item: Option<usize>,
    reason: String,
    /// The payload, up to what is kept of it.
    raw: Vec<u8>,
    truncated: bool,
    outcome: RejectionOutcome,
}

pub type Notes = Rc<RefCell<Vec<Noted>>>;

/// Collects the rejected and skipped events of the request being applied.
pub struct Collector {
    pub noted: Notes,
}

impl Collector {
    fn note(&mut self, r: &Rejection, raw: &[u8], outcome: RejectionOutcome) {
        self.noted.borrow_mut().push(Noted {
            item: r.item,
            reason: r.reason.clone(),
            raw: raw[..raw.len().min(MAX_RAW_BYTES)].to_vec(),
            truncated: r.truncated || raw.len() > MAX_RAW_BYTES,
            outcome,
        });
    }
}

impl Observer for Collector {
    fn rejected(&mut self, rejection: &Rejection, raw: &[u8]) -> Result<()> {
        self.note(rejection, raw, RejectionOutcome::Rejected);
        Ok(())
    }

    fn skipped(&mut self, skipped: &Rejection, raw: &[u8]) -> Result<()> {
        self.note(skipped, raw, RejectionOutcome::Skipped);
        Ok(())
    }

    fn ignored(&mut self, _: &IgnoredValue) {}
}

impl From<&Refused> for Noted {
    fn from(r: &Refused) -> Noted {
        Noted {
            item: Some(r.item),
            reason: r.reason.clone(),
            raw: r.raw.to_vec(),
            truncated: r.truncated,
            outcome: RejectionOutcome::Rejected,
        }
    }
}

/// Keeps notes of one request (`from`: where it came from, when it arrived), in the
/// open transaction; returns its rejections (item, reason) for the answer.
pub fn keep(
    store: &Store,
    notes: impl IntoIterator<Item = Noted>,
    (source, received_at): (&Source, &str),
) -> Result<Vec<(Option<usize>, String)>> {
    let mut rejected = Vec::new();
    for note in notes {
        store.insert_rejection(&NewRejection {
            received_at,
            outcome: note.outcome,
            source: &source.path,
            line: None,
            item: note.item,
            remote: source.remote.as_deref(),
            reason: &note.reason,
            raw: &note.raw,
            truncated: note.truncated,
        })?;
        if note.outcome == RejectionOutcome::Rejected {
            rejected.push((note.item, note.reason));
        }
    }
    Ok(rejected)
}
