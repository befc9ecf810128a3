//! Owners of anonymous records: an identified profile's values are its own joined, by
//! last-write-wins, with those of the anonymous records it owns. Each slot whose value
//! came from a record keeps the profile's own value aside (a shadow), so that a record
//! taken away by an earlier claim leaves the profile as if it had never owned it.

use chrono::{DateTime, Utc};

use super::attributes::Scalar;
use super::lww::{Clock, Lww, offer};
use super::profile::UserProfile;

/// Slot -> the profile's own value (see [`UserProfile::shadows`]). A slot is a field
/// (`-1 - index`) or an attribute (its id).
pub type Shadows = std::collections::HashMap<i64, Option<Lww<Scalar>>>;

pub(crate) fn field_slot(index: usize) -> i64 {
    -1 - index as i64
}

/// Keeps an owner's shadow of `slot` right after its own write: a write that won is the
/// value now (no shadow needed); one that lost may still be its best own value.
pub(crate) fn own_write(
    shadows: &mut Shadows,
    slot: i64,
    won: bool,
    value: Option<Scalar>,
    clock: Clock,
) {
    if won {
        shadows.remove(&slot);
    } else if let Some(own) = shadows.get_mut(&slot) {
        offer(own, value, clock);
    }
}

impl UserProfile {
    /// A value of an anonymous record this profile owns; returns whether it changed.
    pub fn contribute_field(&mut self, index: usize, value: Option<Scalar>, clock: Clock) -> bool {
        let current = &self.record.fields[index];
        if current.as_ref().is_some_and(|c| c.clock >= clock) {
            return false;
        }
        let displaced = current.clone();
        let shadows = self.shadows.get_or_insert_default();
        shadows.entry(field_slot(index)).or_insert(displaced);
        self.record.set_field(index, value, clock)
    }

    /// An attribute value of an anonymous record this profile owns.
    pub fn contribute_attribute(&mut self, attr: i64, value: Option<Scalar>, clock: Clock) -> bool {
        let current = self.record.attributes.get(&attr);
        if current.is_some_and(|c| c.clock >= clock) {
            return false;
        }
        let displaced = current.cloned();
        let shadows = self.shadows.get_or_insert_default();
        shadows.entry(attr).or_insert(displaced);
        self.record.set_attribute(attr, value, clock)
    }

    /// Takes in an anonymous record this profile now owns (its record stays as it is);
    /// returns the attribute ids that changed.
    pub fn take_record(&mut self, record: &UserProfile) -> Vec<i64> {
        self.shadows.get_or_insert_default();
        self.page_views += record.page_views;
        self.last_seen = self.last_seen.max(record.last_seen);
        for (index, slot) in record.record.fields.iter().enumerate() {
            if let Some(lww) = slot {
                self.contribute_field(index, lww.value.clone(), lww.clock);
            }
        }
        let mut changed = Vec::new();
        for (attr, lww) in &record.record.attributes {
            if self.contribute_attribute(*attr, lww.value.clone(), lww.clock) {
                changed.push(*attr);
            }
        }
        self.record.touch(record.record.created_at);
        self.record.touch(record.record.updated_at);
        changed
    }

    /// Gives up the anonymous record `gone`: every value that came from an anonymous
    /// record is worked out again from the profile's own and those of the records it
    /// still owns (`kept`); `last_seen` is given (from the page views it keeps). Returns
    /// the attribute ids that changed.
    pub fn release_record(
        &mut self,
        gone: &UserProfile,
        kept: &[UserProfile],
        last_seen: Option<DateTime<Utc>>,
    ) -> Vec<i64> {
        self.page_views -= gone.page_views;
        self.last_seen = last_seen;
        let shadows = std::mem::take(self.shadows.get_or_insert_default());
        let mut changed = Vec::new();
        for (slot, own) in shadows {
            let from_records = kept
                .iter()
                .filter_map(|r| match usize::try_from(-1 - slot) {
                    Ok(index) => r.record.fields.get(index)?.as_ref(),
                    Err(_) => r.record.attributes.get(&slot),
                });
            let best = from_records.max_by_key(|l| l.clock).cloned();
            let own_wins = match (&own, &best) {
                (_, None) => true,
                (None, Some(_)) => false,
                (Some(own), Some(best)) => own.clock >= best.clock,
            };
            let value = if own_wins { own.clone() } else { best };
            if !own_wins {
                self.shadows.get_or_insert_default().insert(slot, own);
            }
            match usize::try_from(-1 - slot) {
                Ok(index) => self.record.fields[index] = value,
                Err(_) => {
                    // An attribute nobody wrote any more reads as cleared.
                    let value = value.unwrap_or(Lww {
                        value: None,
                        clock: Clock {
                            millis: i64::MIN,
                            tie: i64::MIN,
                        },
                    });
                    self.record.attributes.insert(slot, value);
                    changed.push(slot);
                }
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::profile::UserField;
    use crate::semantics::time::parse_timestamp;

    fn t(s: &str) -> DateTime<Utc> {
        parse_timestamp(s).unwrap()
    }

    fn text(s: &str) -> Option<Scalar> {
        Some(Scalar::Text(s.into()))
    }

    #[test]
    fn a_record_taken_and_given_up_leaves_the_owner_as_it_was() {
        let c_old = Clock::new(t("2026-10-01"), "a");
        let c_mid = Clock::new(t("2026-10-05"), "m");
        let c_new = Clock::new(t("2026-10-09"), "b");
        let mut known = UserProfile::new(1, Some("u".into()), t("2026-10-05"));
        known.set_field(UserField::Email, text("old@x"), c_old);
        known.record_page_view(t("2026-10-05"));
        let before = known.clone();
        let mut anon = UserProfile::new(2, None, t("2026-10-01"));
        anon.set_field(UserField::Email, text("new@x"), c_new);
        anon.set_field(UserField::Phone, text("1"), c_old);
        anon.record_page_view(t("2026-10-09"));
        anon.record.touch(t("2026-10-09"));
        anon.set_attribute(7, Some(Scalar::Int(1)), c_new);

        let changed = known.take_record(&anon);
        assert_eq!(changed, vec![7]);
        assert_eq!(known.field(UserField::Email), text("new@x").as_ref());
        assert_eq!(known.field(UserField::Phone), text("1").as_ref());
        assert_eq!(known.page_views, 2);
        assert_eq!(known.last_seen, Some(t("2026-10-09")));
        assert_eq!(known.record.created_at, t("2026-10-01"));
        assert_eq!(known.record.updated_at, t("2026-10-09"));

        let released = known.clone();
        let mut known_2 = released.clone();
        known_2.release_record(&anon, &[], Some(t("2026-10-05")));
        assert_eq!(known_2.record.fields, before.record.fields);
        assert_eq!(known_2.page_views, 1);
        assert_eq!(known_2.record.attributes[&7].value, None);

        // An own write the record's value hid comes back when the record goes.
        known.set_field(UserField::Email, text("mid@x"), c_mid);
        assert_eq!(known.field(UserField::Email), text("new@x").as_ref());
        known.release_record(&anon, &[], Some(t("2026-10-05")));
        assert_eq!(known.field(UserField::Email), text("mid@x").as_ref());
        assert_eq!(known.field(UserField::Phone), None);
        assert_eq!(known.shadows, Some(Shadows::new()));
    }

    #[test]
    fn values_of_records_still_owned_stay() {
        let c1 = Clock::new(t("2026-10-01"), "a");
        let c2 = Clock::new(t("2026-10-02"), "b");
        let mut owner = UserProfile::new(1, Some("u".into()), t("2026-10-01"));
        let mut one = UserProfile::new(2, None, t("2026-10-01"));
        one.set_field(UserField::City, text("Oslo"), c1);
        let mut two = UserProfile::new(3, None, t("2026-10-01"));
        two.set_field(UserField::City, text("Rome"), c2);
        owner.take_record(&one);
        owner.take_record(&two);
        assert_eq!(owner.field(UserField::City), text("Rome").as_ref());
        owner.release_record(&two, std::slice::from_ref(&one), None);
        assert_eq!(owner.field(UserField::City), text("Oslo").as_ref());
    }
}
