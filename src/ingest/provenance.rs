//! Recording provenance on the ingest path: the writes of one event to one profile are
//! packed as they are made and stored as one row, in the open transaction.

use anyhow::Result;

use super::{Ingestor, Location};
use crate::semantics::attributes::Scalar;
use crate::semantics::event::Event;
use crate::semantics::lww::Lww;
use crate::semantics::provenance::Outcome;
use crate::store::ProvenanceEvent;

/// What a write is about to do to a slot: None when the slot holds this value already
/// (not history), else whether it wins.
pub(super) fn outcome_of(
    slot: Option<&Lww<Scalar>>,
    value: &Option<Scalar>,
    clock: crate::semantics::lww::Clock,
) -> Option<Outcome> {
    let same = slot.is_some_and(|l| l.value == *value);
    let wins = slot.is_none_or(|l| l.clock < clock);
    Outcome::of_write(same, wins)
}

impl Ingestor<'_> {
    /// Stores the writes packed so far as made by `event` to `owner`.
    pub(super) fn flush_provenance(
        &mut self,
        owner: i64,
        loc: Location<'_>,
        event: &Event,
    ) -> Result<()> {
        if self.provenance.is_empty() {
            return Ok(());
        }
        let source = match self.provenance_sources.get(loc.source) {
            Some(id) => *id,
            None => {
                let id = self.store.provenance_source(loc.source)?;
                self.provenance_sources.insert(loc.source.to_string(), id);
                id
            }
        };
        let row = ProvenanceEvent {
            message_id: &event.message_id,
            kind: event.kind.as_str(),
            event_ms: event.time.timestamp_millis(),
            source,
            line: loc.line,
            item: loc.item,
            received_ms: self.options.now.timestamp_millis(),
        };
        self.store
            .insert_provenance(owner, &row, self.provenance.bytes())?;
        self.provenance.clear();
        Ok(())
    }
}
