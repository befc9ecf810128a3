//! A user profile packed into a few hundred bytes, so that an ingest can keep every
//! active profile in memory between events instead of reading and rewriting its row.
//!
//! The packed form is lossless: [`unpack_user`] gives back exactly the profile given
//! to [`pack_user`]. Field values that many profiles share (user agent, browser,
//! city...) are stored once in a [`SharedStrings`] table and named by index. This file
//! is the layout (what is written, in which order); `codec.rs` writes and reads the bytes.

use crate::semantics::attributes::Scalar;
use crate::semantics::lww::{Clock, Lww, clock_table};
use crate::semantics::owner::Shadows;
use crate::semantics::profile::{Record, UserField, UserProfile};

mod codec;

pub use codec::SharedStrings;
use codec::{Reader, Writer};

/// The fields whose values repeat across users: worth sharing.
fn shared_field(index: usize) -> bool {
    !matches!(
        UserField::ALL.get(index),
        Some(
            UserField::AnonymousId
                | UserField::Email
                | UserField::FirstName
                | UserField::LastName
                | UserField::Phone
                | UserField::IpAddress
        ) | None
    )
}

/// Packs a profile; `shared` learns the profile's shareable values.
pub fn pack_user(user: &UserProfile, shared: &mut SharedStrings) -> Box<[u8]> {
    let mut out = Writer(Vec::with_capacity(256));
    out.int(user.id);
    out.opt_text(user.user_id.as_deref());
    out.int(user.page_views);
    match user.last_seen {
        Some(time) => {
            out.0.push(1);
            out.time(time);
        }
        None => out.0.push(0),
    }
    let record = &user.record;
    out.time(record.created_at);
    out.time(record.updated_at);
    // Distinct field clocks once, each slot by index (0: never written).
    let (clocks, slots) = clock_table(&record.fields);
    out.uint(clocks.len() as u64);
    for clock in &clocks {
        out.clock(*clock);
    }
    out.uint(slots.len() as u64);
    for (index, (slot, lww)) in slots.iter().zip(&record.fields).enumerate() {
        out.0.push(*slot);
        if let Some(lww) = lww {
            let share = shared_field(index).then_some(&mut *shared);
            out.scalar(lww.value.as_ref(), share);
        }
    }
    let mut attrs: Vec<(&i64, &Lww<Scalar>)> = record.attributes.iter().collect();
    attrs.sort_unstable_by_key(|(id, _)| **id);
    out.uint(attrs.len() as u64);
    for (id, lww) in attrs {
        out.int(*id);
        out.clock(lww.clock);
        out.scalar(lww.value.as_ref(), None);
    }
    write_shadows(&mut out, user.shadows.as_ref());
    match user.owner {
        Some((owner, clock)) => {
            out.0.push(1);
            out.int(owner);
            out.clock(clock);
        }
        None => out.0.push(0),
    }
    // Copied into an allocation of its own size: shrinking the buffer in place would
    // keep the whole block (the allocator keeps a block that still fits), up to twice
    // the bytes the cache counts.
    Box::from(out.0.as_slice())
}

/// An owner's shadows (see [`UserProfile::shadows`]) for its row; None for a profile
/// that owns no anonymous record.
pub fn pack_shadows(shadows: Option<&Shadows>) -> Option<Vec<u8>> {
    shadows?;
    let mut out = Writer(Vec::new());
    write_shadows(&mut out, shadows);
    Some(out.0)
}

/// The shadows [`pack_shadows`] packed.
pub fn unpack_shadows(bytes: Option<&[u8]>) -> Option<Shadows> {
    let mut r = Reader {
        bytes: bytes?,
        at: 0,
    };
    read_shadows(&mut r, &SharedStrings::default())
}

fn write_shadows(out: &mut Writer, shadows: Option<&Shadows>) {
    let Some(shadows) = shadows else {
        out.0.push(0);
        return;
    };
    out.0.push(1);
    let mut slots: Vec<_> = shadows.iter().collect();
    slots.sort_unstable_by_key(|(slot, _)| **slot);
    out.uint(slots.len() as u64);
    for (slot, own) in slots {
        out.int(*slot);
        match own {
            Some(lww) => {
                out.0.push(1);
                out.clock(lww.clock);
                out.scalar(lww.value.as_ref(), None);
            }
            None => out.0.push(0),
        }
    }
}

fn read_shadows(r: &mut Reader, shared: &SharedStrings) -> Option<Shadows> {
    if r.at >= r.bytes.len() || r.byte() == 0 {
        return None;
    }
    Some(
        (0..r.uint())
            .map(|_| {
                let slot = r.int();
                let own = (r.byte() == 1).then(|| {
                    let clock = r.clock();
                    Lww {
                        clock,
                        value: r.scalar(shared),
                    }
                });
                (slot, own)
            })
            .collect(),
    )
}

/// The profile [`pack_user`] packed (with the same `shared` table).
pub fn unpack_user(bytes: &[u8], shared: &SharedStrings) -> UserProfile {
    let mut r = Reader { bytes, at: 0 };
    let id = r.int();
    let user_id = r.opt_text();
    let page_views = r.int();
    let last_seen = (r.byte() == 1).then(|| r.time());
    let created_at = r.time();
    let updated_at = r.time();
    let clocks: Vec<Clock> = (0..r.uint()).map(|_| r.clock()).collect();
    let fields = (0..r.uint())
        .map(|_| match r.byte() {
            0 => None,
            slot => Some(Lww {
                clock: clocks[slot as usize - 1],
                value: r.scalar(shared),
            }),
        })
        .collect();
    let attributes = (0..r.uint())
        .map(|_| {
            let id = r.int();
            let clock = r.clock();
            (
                id,
                Lww {
                    clock,
                    value: r.scalar(shared),
                },
            )
        })
        .collect();
    let shadows = read_shadows(&mut r, shared);
    let owner = (r.byte() == 1).then(|| (r.int(), r.clock()));
    UserProfile {
        id,
        user_id,
        record: Record {
            fields,
            attributes,
            created_at,
            updated_at,
        },
        page_views,
        last_seen,
        shadows,
        owner,
    }
}

#[cfg(test)]
mod tests {
    use super::codec::MAX_SHARED;
    use super::*;
    use crate::semantics::time::parse_timestamp;
    use chrono::{DateTime, Utc};

    fn t(s: &str) -> DateTime<Utc> {
        parse_timestamp(s).unwrap()
    }

    fn sample() -> UserProfile {
        let c1 = Clock::new(t("2026-03-01T10:00:00.123456Z"), "m1");
        let c2 = Clock::new(t("1969-07-20T20:17:40Z"), "m2");
        let mut p = UserProfile::new(12_345, Some("user-é".into()), t("2026-02-01T00:00:00Z"));
        p.set_field(UserField::Email, Some(Scalar::Text("a@x.io".into())), c1);
        p.set_field(UserField::Phone, None, c2);
        p.set_field(
            UserField::UserAgent,
            Some(Scalar::Text("Mozilla/5.0".into())),
            c1,
        );
        p.set_field(UserField::City, Some(Scalar::Text("".into())), c2);
        p.record.set_attribute(3, Some(Scalar::Int(-7)), c1);
        p.record.set_attribute(900, Some(Scalar::Real(2.5)), c2);
        p.record.set_attribute(4, Some(Scalar::Bool(true)), c1);
        p.record.set_attribute(5, None, c2);
        p.record
            .set_attribute(6, Some(Scalar::Text("pro".into())), c2);
        p.record.touch(t("2026-03-01T10:00:00.123456Z"));
        p.record_page_view(t("2026-03-01T09:00:00Z"));
        p.page_views = i64::MAX;
        p
    }

    #[test]
    fn round_trip_is_exact() {
        let mut shared = SharedStrings::default();
        let p = sample();
        let packed = pack_user(&p, &mut shared);
        assert_eq!(unpack_user(&packed, &shared), p);
        let empty = UserProfile::new(-1, None, t("2026-01-01T00:00:00Z"));
        assert_eq!(unpack_user(&pack_user(&empty, &mut shared), &shared), empty);
    }

    #[test]
    fn an_owner_s_shadows_and_a_record_s_owner_round_trip() {
        let mut shared = SharedStrings::default();
        let clock = Clock { millis: 5, tie: -3 };
        let mut p = sample();
        let own = Lww {
            value: Some(Scalar::Text("own".into())),
            clock,
        };
        p.shadows = Some([(-2, Some(own)), (7, None)].into_iter().collect());
        p.owner = Some((99, clock));
        assert_eq!(unpack_user(&pack_user(&p, &mut shared), &shared), p);
        let blob = pack_shadows(p.shadows.as_ref());
        assert_eq!(unpack_shadows(blob.as_deref()), p.shadows);
        assert_eq!(pack_shadows(None), None);
        assert_eq!(unpack_shadows(None), None);
        p.shadows = Some(Shadows::new());
        assert_eq!(unpack_user(&pack_user(&p, &mut shared), &shared), p);
    }

    #[test]
    fn shared_values_are_stored_once() {
        let mut shared = SharedStrings::default();
        let a = pack_user(&sample(), &mut shared);
        let before = shared.strings.len();
        let mut other = sample();
        other.id = 2;
        let b = pack_user(&other, &mut shared);
        assert_eq!(shared.strings.len(), before, "no new shared strings");
        assert!(shared.index.contains_key("Mozilla/5.0"));
        assert!(!shared.index.contains_key("a@x.io"), "emails stay inline");
        assert_eq!(unpack_user(&a, &shared).id, 12_345);
        assert_eq!(unpack_user(&b, &shared), other);
    }

    #[test]
    fn a_full_table_stores_inline() {
        let mut shared = SharedStrings::default();
        for i in 0..MAX_SHARED {
            shared.intern(&i.to_string());
        }
        let p = sample();
        let packed = pack_user(&p, &mut shared);
        assert_eq!(shared.strings.len(), MAX_SHARED);
        assert_eq!(unpack_user(&packed, &shared), p);
    }
}
