//! Packing the profiles let go of the unpacked tier, on a thread of its own.
//!
//! Nearly every event takes a profile out of its packed form, and every 500 such
//! profiles the less recently used half is packed again ([`Ingestor::bound_unpacked`]).
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
//!
//! The same thread also takes profiles back out of their packed form ahead of the
//! events that need them ([`Ingestor::unpack_ahead`]): the applying thread looks at the
//! next chunk of decoded events, sends over the packed profiles their ids name, and
//! finds them unpacked when it gets there. Only where a profile is held moves, never
//! what it holds, so a wrong guess costs a pack later and nothing else.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use foldhash::{HashSet, HashSetExt};

use super::Cached;
use super::packed::{SharedStrings, pack_user, unpack_user};
use crate::semantics::profile::UserProfile;

/// Profiles unpacked, with their write state.
pub(super) type Unpacked = Vec<(i64, Cached<UserProfile>)>;
/// Profiles packed, with their write state.
pub(super) type PackedProfiles = Vec<(i64, Cached<Box<[u8]>>)>;

/// Work for the thread.
enum Job {
    Pack(Unpacked),
    Unpack(PackedProfiles),
}

/// A job done, in the order sent.
pub(super) enum Done {
    /// Profiles packed, with the shared strings their packing added.
    Packed {
        profiles: PackedProfiles,
        added: Vec<Arc<str>>,
    },
    /// Profiles unpacked.
    Unpacked(Unpacked),
}

impl Done {
    fn ids(&self) -> Vec<i64> {
        match self {
            Done::Packed { profiles, .. } => profiles.iter().map(|(id, _)| *id).collect(),
            Done::Unpacked(profiles) => profiles.iter().map(|(id, _)| *id).collect(),
        }
    }
}

/// The packing thread and what is in flight to it.
pub(super) struct PackingThread {
    to_thread: Option<Sender<Job>>,
    from_thread: Receiver<Done>,
    handle: Option<JoinHandle<()>>,
    in_flight: HashSet<i64>,
    batches: usize,
}

/// What to wait for when taking jobs back.
pub(super) enum Wait {
    /// Nothing: only what is done already.
    Nothing,
    /// Until this profile is back.
    For(i64),
    /// Until every job is back.
    All,
}

impl PackingThread {
    pub fn start() -> PackingThread {
        let (to_thread, jobs) = channel::<Job>();
        let (done, from_thread) = channel::<Done>();
        let handle = std::thread::Builder::new()
            .name("usercom-pack".into())
            .spawn(move || {
                // Every packed profile was packed here, so this table holds all their
                // strings (the applying thread's copy may lag behind).
                let mut shared = SharedStrings::default();
                for job in jobs {
                    let result = match job {
                        Job::Pack(batch) => {
                            let before = shared.count();
                            let profiles = batch
                                .into_iter()
                                .map(|(id, c)| (id, c.map(|p| pack_user(&p, &mut shared))))
                                .collect();
                            let added = shared.added_since(before);
                            Done::Packed { profiles, added }
                        }
                        Job::Unpack(batch) => Done::Unpacked(
                            batch
                                .into_iter()
                                .map(|(id, c)| (id, c.map(|b| unpack_user(&b, &shared))))
                                .collect(),
                        ),
                    };
                    if done.send(result).is_err() {
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
    pub fn send(&mut self, batch: Unpacked) {
        if batch.is_empty() {
            return;
        }
        self.in_flight.extend(batch.iter().map(|(id, _)| *id));
        self.submit(Job::Pack(batch));
    }

    /// Sends packed profiles to be unpacked.
    pub fn send_unpack(&mut self, batch: PackedProfiles) {
        if batch.is_empty() {
            return;
        }
        self.in_flight.extend(batch.iter().map(|(id, _)| *id));
        self.submit(Job::Unpack(batch));
    }

    fn submit(&mut self, job: Job) {
        self.batches += 1;
        self.to_thread
            .as_ref()
            .expect("open while the ingest runs")
            .send(job)
            .expect("the packing thread runs while the ingest does");
    }

    /// Whether a profile is being packed or unpacked.
    pub fn holds(&self, id: i64) -> bool {
        self.in_flight.contains(&id)
    }

    /// The jobs done so far (all of them, or until one profile is back, as `wait`
    /// says), in the order sent.
    pub fn take(&mut self, wait: Wait) -> Vec<Done> {
        let mut out = Vec::new();
        while self.batches > 0 {
            let block = match wait {
                Wait::Nothing => false,
                Wait::For(id) => self.in_flight.contains(&id),
                Wait::All => true,
            };
            let done = if block {
                self.from_thread
                    .recv()
                    .expect("the packing thread answers every job")
            } else {
                match self.from_thread.try_recv() {
                    Ok(done) => done,
                    Err(_) => break,
                }
            };
            self.batches -= 1;
            for id in done.ids() {
                self.in_flight.remove(&id);
            }
            out.push(done);
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
        let mut take_in = |done: Vec<Done>| {
            for done in done {
                let Done::Packed { profiles, added } = done else {
                    panic!("only packing was asked for");
                };
                shared.append(added);
                back.extend(profiles);
            }
        };
        take_in(packing.take(Wait::For(25)));
        assert!(!packing.holds(25));
        take_in(packing.take(Wait::All));
        assert!(packing.take(Wait::All).is_empty());
        let ids: Vec<i64> = back.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, (0..30).collect::<Vec<_>>(), "in the order sent");
        for (id, packed) in &back {
            assert_eq!(unpack_user(&packed.profile, &shared), profile(*id));
        }
    }

    #[test]
    fn packed_profiles_sent_to_be_unpacked_come_back_whole_and_in_order_with_packing() {
        let mut packing = PackingThread::start();
        packing.send((0..10).map(|id| (id, Cached::clean(profile(id)))).collect());
        let mut packed = Vec::new();
        for done in packing.take(Wait::All) {
            let Done::Packed { profiles, .. } = done else {
                panic!("only packing was asked for");
            };
            packed.extend(profiles);
        }
        // Dirty state travels with the profile both ways.
        packed[3].1.dirty = true;
        let to_unpack: PackedProfiles = packed.drain(2..5).collect();
        packing.send_unpack(to_unpack);
        packing.send(
            (10..12)
                .map(|id| (id, Cached::clean(profile(id))))
                .collect(),
        );
        assert!(packing.holds(3) && packing.holds(11));
        let mut done = packing.take(Wait::For(4));
        assert!(!packing.holds(4));
        done.extend(packing.take(Wait::All));
        let [Done::Unpacked(unpacked), Done::Packed { .. }] = &done[..] else {
            panic!("the unpacking comes back first, as sent, then the packing");
        };
        let ids: Vec<i64> = unpacked.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [2, 3, 4]);
        for (id, cached) in unpacked {
            assert_eq!(cached.profile, profile(*id));
            assert_eq!(cached.dirty, *id == 3);
        }
        assert!(!packing.holds(11));
    }
}
