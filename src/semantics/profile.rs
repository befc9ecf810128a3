//! User profiles: the last-write-wins record that user and company profiles share, and a
//! user's profile around it. The fields identify maps traits to are in `user_fields.rs`.

use foldhash::HashMap;

use chrono::{DateTime, Utc};

use super::attributes::Scalar;
use super::lww::{Clock, Lww, offer};
use super::owner::{Shadows, field_slot, own_write};

pub(crate) use super::user_fields::location;
pub use super::user_fields::{
    Ignored, TraitChanges, USER_STANDARD_TRAITS, UserField, parse_gender, split_name,
    user_trait_changes,
};

/// Standard fields, custom attributes and the time span of the events that wrote them;
/// shared by user and company profiles. Every write is last-write-wins.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub fields: Vec<Option<Lww<Scalar>>>,
    /// Attribute definition id -> value.
    pub attributes: HashMap<i64, Lww<Scalar>>,
    /// Earliest and latest event time applied.
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Record {
    pub fn new(field_count: usize, time: DateTime<Utc>) -> Record {
        Record {
            fields: vec![None; field_count],
            attributes: HashMap::default(),
            created_at: time,
            updated_at: time,
        }
    }

    pub fn field(&self, index: usize) -> Option<&Scalar> {
        self.fields.get(index)?.as_ref()?.value.as_ref()
    }

    pub fn set_field(&mut self, index: usize, value: Option<Scalar>, clock: Clock) -> bool {
        offer(&mut self.fields[index], value, clock)
    }

    pub fn set_attribute(&mut self, attr: i64, value: Option<Scalar>, clock: Clock) -> bool {
        let mut slot = self.attributes.remove(&attr);
        let changed = offer(&mut slot, value, clock);
        if let Some(lww) = slot {
            self.attributes.insert(attr, lww);
        }
        changed
    }

    /// Widens the time span to include an event.
    pub fn touch(&mut self, time: DateTime<Utc>) -> bool {
        let before = (self.created_at, self.updated_at);
        self.created_at = self.created_at.min(time);
        self.updated_at = self.updated_at.max(time);
        before != (self.created_at, self.updated_at)
    }

    /// Takes in another record of the same entity; the result is what applying both
    /// records' events to one would give. Returns the attribute ids that changed.
    pub fn absorb(&mut self, other: Record) -> Vec<i64> {
        for (index, slot) in other.fields.into_iter().enumerate() {
            if let Some(lww) = slot {
                offer(&mut self.fields[index], lww.value, lww.clock);
            }
        }
        let mut changed = Vec::new();
        for (attr, lww) in other.attributes {
            if self.set_attribute(attr, lww.value, lww.clock) {
                changed.push(attr);
            }
        }
        self.touch(other.created_at);
        self.touch(other.updated_at);
        changed
    }
}

/// A user profile.
#[derive(Debug, Clone, PartialEq)]
pub struct UserProfile {
    /// Row id in the store.
    pub id: i64,
    pub user_id: Option<String>,
    pub record: Record,
    pub page_views: i64,
    pub last_seen: Option<DateTime<Utc>>,
    /// On a profile that owns anonymous records (whose values join its own by
    /// last-write-wins): for each slot whose value came from one of them, the profile's
    /// own value (None: never written), so that the record can be taken away again.
    pub shadows: Option<Shadows>,
    /// On an anonymous record claimed by a userId: the owner's profile and the clock of
    /// its earliest linking event.
    pub owner: Option<(i64, Clock)>,
}

impl UserProfile {
    pub fn new(id: i64, user_id: Option<String>, time: DateTime<Utc>) -> UserProfile {
        UserProfile {
            id,
            user_id,
            record: Record::new(UserField::ALL.len(), time),
            page_views: 0,
            last_seen: None,
            shadows: None,
            owner: None,
        }
    }

    /// The profile's own write of an attribute; returns whether its value changed.
    pub fn set_attribute(&mut self, attr: i64, value: Option<Scalar>, clock: Clock) -> bool {
        let Some(shadows) = &mut self.shadows else {
            return self.record.set_attribute(attr, value, clock);
        };
        let changed = self.record.set_attribute(attr, value.clone(), clock);
        own_write(shadows, attr, changed, value, clock);
        changed
    }

    pub fn field(&self, field: UserField) -> Option<&Scalar> {
        self.record.field(field.index())
    }

    /// The profile's own write of a field; returns whether its value changed.
    pub fn set_field(&mut self, field: UserField, value: Option<Scalar>, clock: Clock) -> bool {
        let Some(shadows) = &mut self.shadows else {
            return self.record.set_field(field.index(), value, clock);
        };
        let changed = self.record.set_field(field.index(), value.clone(), clock);
        own_write(shadows, field_slot(field.index()), changed, value, clock);
        changed
    }

    /// A page view: one more, and `last_seen` moves only forward.
    pub fn record_page_view(&mut self, time: DateTime<Utc>) {
        self.page_views += 1;
        if self.last_seen.is_none_or(|seen| time > seen) {
            self.last_seen = Some(time);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::time::parse_timestamp;

    #[test]
    fn page_views_count_and_last_seen_moves_forward() {
        let t = |s| parse_timestamp(s).unwrap();
        let mut p = UserProfile::new(1, Some("u".into()), t("2026-10-05"));
        p.record_page_view(t("2026-10-05"));
        p.record_page_view(t("2026-10-01"));
        assert_eq!(p.page_views, 2);
        assert_eq!(p.last_seen, Some(t("2026-10-05")));
    }
}
