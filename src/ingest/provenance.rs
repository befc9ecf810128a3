//! Recording provenance on the ingest path: the writes of one event to one profile are
//! packed as they are made and stored as one row, in the open transaction.

use anyhow::Result;

use super::{Ingestor, Location};
use crate::semantics::attributes::{AttrType, Scalar};
use crate::semantics::event::Event;
use crate::semantics::lww::{Clock, Lww};
use crate::semantics::profile::Ignored;
use crate::semantics::profile::{Record, UserField};
use crate::semantics::provenance::{Outcome, Packer, Rule, Slot, is_as_sent, sent_type};
use crate::store::ProvenanceEvent;
use serde_json::Value;

/// What a write is about to do to a slot: None when the slot holds this value already
/// (not history), else whether it wins.
pub(super) fn outcome_of(
    slot: Option<&Lww<Scalar>>,
    value: &Option<Scalar>,
    clock: Clock,
) -> Option<Outcome> {
    let same = slot.is_some_and(|l| l.value == *value);
    let wins = slot.is_none_or(|l| l.clock < clock);
    Outcome::of_write(same, wins)
}

impl Ingestor<'_> {
    /// Records that an anonymous record (named by its anonymousId) was claimed by the
    /// profile the event lands on: merged into a user that existed (`Merged`) or one
    /// this event created (`Claimed`); `taken_from`: the userId that owned it before.
    pub(super) fn record_profile(
        &mut self,
        rule: Rule,
        anonymous_id: &str,
        taken_from: Option<&str>,
    ) {
        let json = serde_json::Value::String(anonymous_id.to_string()).to_string();
        let detail = taken_from.map(|from| format!("taken from {from}"));
        self.provenance.json(
            Slot::Profile,
            "anonymous_id",
            &json,
            rule,
            Outcome::Applied,
            detail.as_deref().unwrap_or(""),
        );
    }

    /// Records the values a trait mapping could not use.
    pub(super) fn record_ignored(&mut self, ignored: &[Ignored]) {
        for i in ignored {
            self.provenance.json(
                Slot::Field,
                &i.attribute,
                &i.value,
                Rule::Unconvertible,
                Outcome::Ignored,
                &i.reason,
            );
        }
    }

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
        let fresh = self.provenance.shared.take_fresh();
        if !fresh.is_empty() {
            self.store.insert_provenance_values(&fresh)?;
        }
        self.provenance_rows
            .push(owner, &row, self.provenance.bytes());
        self.provenance.clear();
        if self.provenance_rows.is_full() {
            self.store
                .insert_provenance_batch(&mut self.provenance_rows)?;
        }
        Ok(())
    }
}

/// The name and rule of each standard field an event writes to a user: the first
/// `from_context` come from its context, those up to `from_identity` from its ids, the
/// rest from its traits (`name_split`: `name` was split into first and last name).
pub(super) fn field_rules(
    fields: &[(UserField, Option<Scalar>)],
    from_context: usize,
    from_identity: usize,
    name_split: bool,
) -> Vec<(&'static str, Rule)> {
    fields
        .iter()
        .enumerate()
        .map(|(i, (field, value))| {
            let rule = if i < from_context {
                Rule::ContextField
            } else if i < from_identity {
                Rule::AnonymousId
            } else if name_split && matches!(field, UserField::FirstName | UserField::LastName) {
                Rule::NameSplit
            } else if value.is_none() {
                Rule::ClearedByNull
            } else {
                Rule::MappedTrait
            };
            (field.name(), rule)
        })
        .collect()
}

/// A custom value typed by its attribute, and the rule that typed it.
pub(super) struct TypedWrite {
    pub attr: i64,
    pub value: Option<Scalar>,
    pub rule: Rule,
    /// The type the value was sent as (when converted).
    pub from: &'static str,
}

impl TypedWrite {
    /// The detail provenance keeps with the write: the type it was converted from.
    pub fn detail(&self) -> &'static str {
        if self.rule == Rule::Converted {
            self.from
        } else {
            ""
        }
    }

    /// `sent` converted to `scalar` for attribute `attr` of type `ty`, which was
    /// `created` now (with type `auto_type`) or existed.
    pub fn new(
        attr: i64,
        ty: AttrType,
        sent: &Value,
        scalar: Option<Scalar>,
        auto_type: AttrType,
        created: bool,
    ) -> TypedWrite {
        let rule = if scalar.is_none() {
            Rule::ClearedByNull
        } else if auto_type == AttrType::Boolean {
            Rule::AudienceBoolean
        } else if created {
            Rule::AutoCreatedString
        } else if is_as_sent(sent, ty) {
            Rule::CustomAttribute
        } else {
            Rule::Converted
        };
        TypedWrite {
            attr,
            value: scalar,
            rule,
            from: sent_type(sent),
        }
    }
}

/// Offers a custom attribute value to a record, packing its provenance.
pub(super) fn record_attribute(
    provenance: &mut Packer,
    record: &mut Record,
    name: &str,
    w: TypedWrite,
    clock: Clock,
    dirty_attrs: &mut super::cache::DirtyAttrs,
) {
    let outcome = outcome_of(record.attributes.get(&w.attr), &w.value, clock);
    let detail = w.detail();
    if outcome == Some(Outcome::LostToNewer) {
        provenance.scalar(
            Slot::Attribute,
            name,
            w.value.as_ref(),
            w.rule,
            Outcome::LostToNewer,
            detail,
        );
    }
    if record.set_attribute(w.attr, w.value, clock) {
        dirty_attrs.push(w.attr);
    }
    if outcome == Some(Outcome::Applied) {
        let stored = record
            .attributes
            .get(&w.attr)
            .and_then(|l| l.value.as_ref());
        provenance.scalar(
            Slot::Attribute,
            name,
            stored,
            w.rule,
            Outcome::Applied,
            detail,
        );
    }
}

/// Offers a standard field's value (slot index and name) to a record, packing its
/// provenance. Returns whether the record changed.
pub(super) fn record_field(
    provenance: &mut Packer,
    record: &mut Record,
    (index, name): (usize, &str),
    value: Option<Scalar>,
    rule: Rule,
    clock: Clock,
) -> bool {
    let outcome = outcome_of(record.fields[index].as_ref(), &value, clock);
    if outcome == Some(Outcome::LostToNewer) {
        provenance.scalar(
            Slot::Field,
            name,
            value.as_ref(),
            rule,
            Outcome::LostToNewer,
            "",
        );
    }
    let changed = record.set_field(index, value, clock);
    if outcome == Some(Outcome::Applied) {
        provenance.scalar(
            Slot::Field,
            name,
            record.field(index),
            rule,
            Outcome::Applied,
            "",
        );
    }
    changed
}
