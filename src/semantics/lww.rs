//! Last-write-wins by event time: what makes ingest order irrelevant.
//!
//! Every profile field and attribute value remembers the [`Clock`] of the event that
//! wrote it; a value is replaced only by an event with a later clock. Clocks order by
//! event time, then by a hash of the messageId, so two events at the same millisecond
//! still have one deterministic winner.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// When a value was written: event time in milliseconds and a tie-break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Clock {
    pub millis: i64,
    pub tie: i64,
}

impl Clock {
    /// The clock of an event.
    pub fn new(time: DateTime<Utc>, message_id: &str) -> Clock {
        let digest = Sha256::digest(message_id.as_bytes());
        let mut tie = [0u8; 8];
        tie.copy_from_slice(&digest[..8]);
        Clock {
            millis: time.timestamp_millis(),
            tie: i64::from_be_bytes(tie),
        }
    }

    /// The clock of an event stamped with its arrival time: among equal stamps, the
    /// later arrival (the higher `sequence`) wins.
    pub fn arrival(time: DateTime<Utc>, sequence: i64) -> Clock {
        Clock {
            millis: time.timestamp_millis(),
            tie: sequence,
        }
    }

    /// Sixteen bytes, for a packed column.
    pub fn to_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.millis.to_be_bytes());
        out[8..].copy_from_slice(&self.tie.to_be_bytes());
        out
    }

    pub fn from_bytes(bytes: &[u8; 16]) -> Clock {
        let (millis, tie) = bytes.split_at(8);
        Clock {
            millis: i64::from_be_bytes(millis.try_into().expect("8 bytes")),
            tie: i64::from_be_bytes(tie.try_into().expect("8 bytes")),
        }
    }
}

/// A written value (`None`: explicitly cleared) and the clock that wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Lww<T> {
    pub value: Option<T>,
    pub clock: Clock,
}

/// Offers `value` written at `clock` to `slot`; it takes it if the slot is empty or
/// older. Returns whether the slot changed.
pub fn offer<T: PartialEq>(slot: &mut Option<Lww<T>>, value: Option<T>, clock: Clock) -> bool {
    match slot {
        Some(current) if current.clock >= clock => false,
        Some(current) => {
            current.clock = clock;
            current.value = value;
            true
        }
        None => {
            *slot = Some(Lww { value, clock });
            true
        }
    }
}

/// Marks the packed form: distinct clocks once, then one index byte per slot.
const PACKED: u8 = 0xC1;

/// Packs a row of slot clocks into a blob. Most slots of a profile share a few clocks
/// (every field of one event has that event's clock), so each distinct clock is
/// stored once and every slot names it by index (0: never written).
pub fn pack_clocks<T>(slots: &[Option<Lww<T>>]) -> Vec<u8> {
    let (distinct, indexes) = clock_table(slots);
    let mut out = Vec::with_capacity(2 + distinct.len() * 16 + indexes.len());
    out.push(PACKED);
    out.push(distinct.len() as u8);
    for clock in &distinct {
        out.extend_from_slice(&clock.to_bytes());
    }
    out.extend_from_slice(&indexes);
    out
}

/// The distinct clocks of a row of slots, and for each slot the index of its clock
/// plus one (0: never written).
pub fn clock_table<T>(slots: &[Option<Lww<T>>]) -> (Vec<Clock>, Vec<u8>) {
    let mut distinct: Vec<Clock> = Vec::new();
    let indexes = slots
        .iter()
        .map(|slot| match slot {
            None => 0,
            Some(lww) => match distinct.iter().position(|c| *c == lww.clock) {
                Some(i) => i as u8 + 1,
                None => {
                    distinct.push(lww.clock);
                    distinct.len() as u8
                }
            },
        })
        .collect();
    (distinct, indexes)
}

/// Reads a blob written by [`pack_clocks`]: for each slot, whether it was set and when.
/// A blob with fewer slots (from an older schema with fewer fields) leaves the rest
/// unset; an unreadable one leaves every slot unset.
pub fn unpack_clocks(blob: &[u8], count: usize) -> Vec<Option<Clock>> {
    let mut out = vec![None; count];
    let [PACKED, n, rest @ ..] = blob else {
        return out;
    };
    let n = *n as usize;
    if rest.len() < n * 16 {
        return out;
    }
    let (table, indexes) = rest.split_at(n * 16);
    let distinct: Vec<Clock> = table
        .chunks_exact(16)
        .map(|c| Clock::from_bytes(c.try_into().expect("16 bytes")))
        .collect();
    for (slot, index) in out.iter_mut().zip(indexes) {
        *slot = (*index as usize)
            .checked_sub(1)
            .and_then(|i| distinct.get(i).copied());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::time::parse_timestamp;

    fn clock(ts: &str, id: &str) -> Clock {
        Clock::new(parse_timestamp(ts).unwrap(), id)
    }

    #[test]
    fn newer_write_wins_whatever_the_order() {
        let old = clock("2026-10-02T00:00:00Z", "a");
        let new = clock("2026-10-30T00:00:00Z", "b");
        let mut in_order = None;
        offer(&mut in_order, Some("old"), old);
        offer(&mut in_order, Some("new"), new);
        let mut reversed = None;
        offer(&mut reversed, Some("new"), new);
        assert!(!offer(&mut reversed, Some("old"), old));
        assert_eq!(in_order, reversed);
        assert_eq!(in_order.unwrap().value, Some("new"));
    }

    #[test]
    fn same_millisecond_has_one_deterministic_winner() {
        let a = clock("2026-10-02T00:00:00Z", "message-a");
        let b = clock("2026-10-02T00:00:00Z", "message-b");
        assert_ne!(a, b);
        let mut first = None;
        offer(&mut first, Some(1), a);
        offer(&mut first, Some(2), b);
        let mut second = None;
        offer(&mut second, Some(2), b);
        offer(&mut second, Some(1), a);
        assert_eq!(first, second);
    }

    #[test]
    fn a_clear_is_a_write_too() {
        let mut slot = None;
        offer(&mut slot, Some("x"), clock("2026-10-02T00:00:00Z", "a"));
        offer(&mut slot, None, clock("2026-10-03T00:00:00Z", "b"));
        assert!(!offer(
            &mut slot,
            Some("y"),
            clock("2026-10-01T00:00:00Z", "c")
        ));
        assert_eq!(slot.unwrap().value, None);
    }

    #[test]
    fn clocks_pack_and_unpack() {
        let c = clock("2026-10-02T00:00:00Z", "a");
        let slots = vec![
            Some(Lww {
                value: Some(1),
                clock: c,
            }),
            None,
        ];
        let blob = pack_clocks(&slots);
        assert_eq!(unpack_clocks(&blob, 3), vec![Some(c), None, None]);
        assert_eq!(unpack_clocks(&[], 2), vec![None, None]);
    }
}
