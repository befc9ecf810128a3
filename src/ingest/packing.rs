//! Packing the profiles let go of the unpacked tier, on a thread of its own.
//!
//! Nearly every event takes a profile out of its packed form, and every 500 such
//! profiles the less recently used half is packed again ([`Ingestor::pack_cold`]).
//! Packing (and freeing the unpacked profile) is pure work on data nobody else
//! holds, so it runs beside the applying thread: the profiles are sent over, and come
//! back packed, in the order sent. The thread owns the table of shared strings it
//! adds to; each batch comes back with the strings it added, and the applying
//! thread's copy (used only to unpack) learns them before it unpacks anything packed
//! with them, so both copies hold the same strings at the same indexes.
//!
//! A profile is "in flight" between the two: taking it back waits for its batch, and
//! anything that goes over every held profile (a flush, an eviction) waits for all.
//! The result is the same as packing in place, whatever the timing: batches are
//! packed one after the other, in the order sent.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use foldhash::{HashSet, HashSetExt};

use super::Cached;
use super::packed::{SharedStrings, pack_user};
use crate::semantics::profile::UserProfile;

/// Profiles sent to be packed.
type Batch = Vec<(i64, Cached<UserProfile>)>;

/// A batch packed, with the shared strings its packing added.
pub(super) struct Packed {
    pub profiles: Vec<(i64, Cached<Box<[u8]>>)>,
    pub added: Vec<Arc<str>>,
}

/// The packing thread and what is in flight to it.
pub(super) struct PackingThread {
    to_thread: Option<Sender<Batch>>,
    from_thread: Receiver<Packed>,
    handle: Option<JoinHandle<()>>,
    in_flight: HashSet<i64>,
    batches: usize,
}

/// What to wait for when taking packed batches back.
pub(super) enum Wait {
    /// Nothing: only what is done already.
    Nothing,
    /// Until this profile is back.
    For(i64),
    /// Until every batch is back.
    All,
}

impl PackingThread {
    pub fn start() -> PackingThread {
        let (to_thread, batches) = channel::<Batch>();
        let (done, from_thread) = channel::<Packed>();
        let handle = std::thread::Builder::new()
            .name("usercom-pack".into())
            .spawn(move || {
                let mut shared = SharedStrings::default();
                for batch in batches {
                    let before = shared.count();
                    let profiles = batch
                        .into_iter()
                        .map(|(id, cached)| (id, cached.map(|p| pack_user(&p, &mut shared))))
                        .collect();
                    let added = shared.added_since(before);
                    if done.send(Packed { profiles, added }).is_err() {
                        return;
                    }
                }
            })
            .expect("start the packing thread");
        PackingThread {
            to_thread: Some(to_thread),
            from_thread,
            handle: Some(handle),
            in_flight: HashSet::new(),
            batches: 0,
        }
    }

    /// Sends profiles to be packed.
    pub fn send(&mut self, batch: Batch) {
        if batch.is_empty() {
            return;
        }
        self.in_flight.extend(batch.iter().map(|(id, _)| *id));
        self.batches += 1;
        self.to_thread
            .as_ref()
            .expect("open while the ingest runs")
            .send(batch)
            .expect("the packing thread runs while the ingest does");
    }

    /// Whether a profile is being packed.
    pub fn holds(&self, id: i64) -> bool {
        self.in_flight.contains(&id)
    }

    /// The batches packed so far (all of them, or until one profile is back, as `wait`
    /// says), in the order sent.
    pub fn take(&mut self, wait: Wait) -> Vec<Packed> {
        let mut out = Vec::new();
        while self.batches > 0 {
            let block = match wait {
                Wait::Nothing => false,
                Wait::For(id) => self.in_flight.contains(&id),
                Wait::All => true,
            };
            let packed = if block {
                self.from_thread
                    .recv()
                    .expect("the packing thread answers every batch")
            } else {
                match self.from_thread.try_recv() {
                    Ok(packed) => packed,
                    Err(_) => break,
                }
            };
            self.batches -= 1;
            for (id, _) in &packed.profiles {
                self.in_flight.remove(id);
            }
            out.push(packed);
        }
        out
    }
}

impl Drop for PackingThread {
    fn drop(&mut self) {
        self.to_thread = None;
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::packed::unpack_user;
    use crate::semantics::attributes::Scalar;
    use crate::semantics::lww::Clock;
    use crate::semantics::profile::UserField;
    use crate::semantics::time::parse_timestamp;

    fn profile(id: i64) -> UserProfile {
        let time = parse_timestamp("2026-05-01T00:00:00Z").unwrap();
        let mut p = UserProfile::new(id, Some(format!("u{id}")), time);
        let clock = Clock::new(time, &format!("m{id}"));
        // Shared values (a browser of three) and one of its own.
        let browser = ["Chrome", "Firefox", "Safari"][id as usize % 3];
        p.set_field(
            UserField::BrowserFamily,
            Some(Scalar::Text(browser.into())),
            clock,
        );
        p.set_field(
            UserField::City,
            Some(Scalar::Text(format!("city {id}").into())),
            clock,
        );
        p
    }

    #[test]
    fn profiles_come_back_packed_in_order_and_unpack_with_the_strings_learnt() {
        let mut packing = PackingThread::start();
        let mut shared = SharedStrings::default();
        let mut back = Vec::new();
        for first in [0, 10, 20] {
            let batch = (first..first + 10)
                .map(|id| (id, Cached::clean(profile(id))))
                .collect();
            packing.send(batch);
        }
        for done in packing.take(Wait::For(25)) {
            shared.append(done.added);
            back.extend(done.profiles);
        }
        assert!(!packing.holds(25));
        for done in packing.take(Wait::All) {
            shared.append(done.added);
            back.extend(done.profiles);
        }
        assert!(packing.take(Wait::All).is_empty());
        let ids: Vec<i64> = back.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, (0..30).collect::<Vec<_>>(), "in the order sent");
        for (id, packed) in &back {
            assert_eq!(unpack_user(&packed.profile, &shared), profile(*id));
        }
    }
}
