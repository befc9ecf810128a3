//! Carrying out claims of anonymous records: a record's history and values join its
//! owner's, and move to an earlier claim's user when one arrives.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::provenance::outcome_of;
use super::{Cached, Ingestor};
use crate::semantics::attributes::Scalar;
use crate::semantics::event::Event;
use crate::semantics::lww::Clock;
use crate::semantics::profile::{UserField, UserProfile};
use crate::semantics::provenance::{Outcome, Slot};

impl Ingestor<'_> {
    /// The profile a page view or event on `profile` counts for (its owner, for a
    /// claimed anonymous record), and the anonymous record it is recorded on, if any.
    pub(super) fn counts_for(&mut self, profile: i64) -> Result<(i64, Option<i64>)> {
        let found = &self.user(profile)?.profile;
        if found.user_id.is_some() {
            return Ok((profile, None));
        }
        Ok((
            found.owner.map_or(profile, |(owner, _)| owner),
            Some(profile),
        ))
    }

    /// A new anonymous record for `anon`, which shows it.
    pub(super) fn create_record(&mut self, anon: &str, event: &Event) -> Result<i64> {
        let record = self.create_user(None, event)?;
        self.link_anonymous(anon, record)?;
        let cached = self.user(record)?;
        let value = Some(Scalar::Text(anon.into()));
        cached
            .profile
            .set_field(UserField::AnonymousId, value, event.clock);
        Ok(record)
    }

    /// `user` takes the anonymous record `record` (owned by nobody now), claimed by a
    /// linking event at `clock`: its page views and events count for the user and its
    /// values join the user's.
    pub(super) fn claim_record(&mut self, record: i64, user: i64, clock: Clock) -> Result<()> {
        let cached = self.user(record)?;
        cached.profile.owner = Some((user, clock));
        cached.dirty = true;
        let taken = cached.profile.clone();
        let target = self.user(user)?;
        let changed = target.profile.take_record(&taken);
        mark_changed(target, changed);
        self.store.move_anonymous_history(record, user)
    }

    /// The owner `from` gives up the anonymous record `record` (to `to`): it is left as
    /// if it had never owned it.
    pub(super) fn release_record(&mut self, record: i64, from: i64, to: i64) -> Result<()> {
        // Written first, so that the store knows every record `from` owns.
        self.flush()?;
        self.store.move_anonymous_history(record, to)?;
        let gone = self.user(record)?.profile.clone();
        debug_assert_eq!(gone.owner.map(|(owner, _)| owner), Some(from));
        let mut kept: Vec<UserProfile> = Vec::new();
        for id in self.store.owned_records(from)? {
            if id != record {
                kept.push(self.user(id)?.profile.clone());
            }
        }
        let last_seen = self.store.last_page_view(from)?;
        let target = self.user(from)?;
        let changed = target.profile.release_record(&gone, &kept, last_seen);
        mark_changed(target, changed);
        let cached = self.user(record)?;
        cached.profile.owner = None;
        cached.dirty = true;
        Ok(())
    }
}

/// Whose values an event writes to a profile.
pub(super) enum Write {
    /// The profile's own.
    Own,
    /// Those of an anonymous record it owns.
    Owned,
}

/// What one write did, told as it is made (for provenance): its position among the
/// fields or attributes written, its outcome, and the value it concerns (the value now
/// held when applied, the one sent when it lost). Writes of the value held are not told.
pub(super) struct Made<'a> {
    pub slot: Slot,
    pub position: usize,
    pub outcome: Outcome,
    pub value: Option<&'a Scalar>,
}

/// Writes an event's values (at `time`, `clock`) to a profile, telling `made` what each
/// write did.
pub(super) fn write_values(
    cached: &mut Cached<UserProfile>,
    time: DateTime<Utc>,
    clock: Clock,
    fields: Vec<(UserField, Option<Scalar>)>,
    attributes: Vec<(i64, Option<Scalar>)>,
    write: Write,
    made: &mut dyn FnMut(Made<'_>),
) {
    let profile = &mut cached.profile;
    let mut dirty = profile.record.touch(time);
    for (position, (field, value)) in fields.into_iter().enumerate() {
        let index = field.index();
        let outcome = outcome_of(profile.record.fields[index].as_ref(), &value, clock);
        let tell = |made: &mut dyn FnMut(Made<'_>), outcome, value: Option<&Scalar>| {
            tell(made, Slot::Field, position, outcome, value)
        };
        if outcome == Some(Outcome::LostToNewer) {
            tell(made, Outcome::LostToNewer, value.as_ref());
        }
        let changed = match write {
            Write::Own => profile.set_field(field, value, clock),
            Write::Owned => profile.contribute_field(index, value, clock),
        };
        if outcome == Some(Outcome::Applied) {
            tell(made, Outcome::Applied, profile.record.field(index));
        }
        cached.keys_dirty |= changed && field == UserField::Email;
        dirty |= changed;
    }
    for (position, (attr, value)) in attributes.into_iter().enumerate() {
        let outcome = outcome_of(profile.record.attributes.get(&attr), &value, clock);
        let tell = |made: &mut dyn FnMut(Made<'_>), outcome, value: Option<&Scalar>| {
            tell(made, Slot::Attribute, position, outcome, value)
        };
        if outcome == Some(Outcome::LostToNewer) {
            tell(made, Outcome::LostToNewer, value.as_ref());
        }
        let changed = match write {
            Write::Own => profile.set_attribute(attr, value, clock),
            Write::Owned => profile.contribute_attribute(attr, value, clock),
        };
        if outcome == Some(Outcome::Applied) {
            let held = profile.record.attributes.get(&attr);
            tell(made, Outcome::Applied, held.and_then(|l| l.value.as_ref()));
        }
        if changed {
            cached.dirty_attrs.push(attr);
        }
    }
    cached.dirty |= dirty;
}

fn mark_changed(cached: &mut Cached<UserProfile>, attrs: Vec<i64>) {
    cached.dirty = true;
    cached.keys_dirty = true;
    cached.dirty_attrs.extend(attrs);
}

/// Reports what became of one write (provenance listens).
fn tell(
    made: &mut dyn FnMut(Made<'_>),
    slot: Slot,
    position: usize,
    outcome: Outcome,
    value: Option<&Scalar>,
) {
    made(Made {
        slot,
        position,
        outcome,
        value,
    })
}
