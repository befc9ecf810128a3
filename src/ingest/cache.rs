//! The profile cache between events: profiles being worked on are held as structs,
//! every other one packed (see [`super::packed`]), companies and id look-ups in maps,
//! each within its limit. Past a limit, what is held is written into the open
//! transaction ([`super::write`]) and the least recently used part is let go.

use super::Ingestor;
use super::packed::unpack_user;
use super::packing::{Done, PackingThread, Wait};
use crate::semantics::event::Event;
use crate::semantics::profile::UserProfile;
use crate::store::RowWrite;

/// What an ingest holds in memory between events, at most. Past a limit, what is held
/// is written into the open transaction and some of it is let go, so memory stays
/// bounded whatever the input; the defaults hold every active profile of a stream
/// with about 100,000 users (the benchmark's 110,000 at 36 MiB).
#[derive(Debug, Clone, Copy)]
pub struct CacheLimits {
    /// User profiles held unpacked: the ones events are being applied to. Past this
    /// they are packed into the second tier.
    pub hot_profiles: usize,
    /// Bytes of packed user profiles (each counted with its bookkeeping).
    pub packed_bytes: usize,
    /// Company profiles (they are few and small).
    pub companies: usize,
    /// anonymousId and userId look-ups.
    pub ids: usize,
    /// New messageIds waiting to be written together (see `ingest/messages.rs`).
    pub pending_messages: usize,
}

/// SQLite's page cache for an ingest unless told otherwise (`ingest --cache-mb`), in MiB.
///
/// An ingest's memory goes to the profiles first: a profile held packed costs a few
/// hundred bytes, one let go costs a read of its rows when it comes back and a write at
/// every flush in between. On the benchmark's 1,000,000 events (110,000 profiles, on
/// tmpfs) 36 MiB of packed profiles and an 8 MiB page cache took 22-24 s, where 22 MiB
/// and 20 MiB took 29-32 s; 32 MiB of profiles took 26 s. Since new messageIds are
/// written sorted (`messages.rs`), no table is written at random places that a larger
/// cache would hold: 2, 4, 6 and 8 MiB took the same time (README, "Ingest at scale").
pub const SQLITE_CACHE_MIB: u32 = 4;

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits {
            hot_profiles: 1_000,
            packed_bytes: 36 << 20,
            companies: 15_000,
            ids: 400_000,
            pending_messages: 50_000,
        }
    }
}

/// A profile held in memory for the run, and what of it must be written.
pub(crate) struct Cached<T> {
    pub profile: T,
    pub dirty: bool,
    /// Not yet in its table (written whole at the next flush).
    pub is_new: bool,
    /// Its userId or email changed since it was written.
    pub keys_dirty: bool,
    pub dirty_attrs: DirtyAttrs,
    /// When an event last used it (events received so far): the least recently used
    /// go first when memory runs short.
    pub last_used: u64,
}

impl<T> Cached<T> {
    pub(super) fn clean(profile: T) -> Cached<T> {
        Cached {
            profile,
            dirty: false,
            is_new: false,
            keys_dirty: false,
            dirty_attrs: DirtyAttrs::default(),
            last_used: 0,
        }
    }

    /// The same entry holding the profile in another form.
    pub(super) fn map<U>(self, f: impl FnOnce(T) -> U) -> Cached<U> {
        Cached {
            profile: f(self.profile),
            dirty: self.dirty,
            is_new: self.is_new,
            keys_dirty: self.keys_dirty,
            dirty_attrs: self.dirty_attrs,
            last_used: self.last_used,
        }
    }

    /// Whether something of it is not written yet.
    pub(super) fn needs_write(&self) -> bool {
        self.dirty || !self.dirty_attrs.is_empty()
    }

    /// How its row is to be written and the attributes to write; it is clean after.
    pub(super) fn write_state(&mut self) -> (RowWrite, Vec<i64>) {
        let write = if self.is_new {
            RowWrite::Insert
        } else if self.keys_dirty {
            RowWrite::Update
        } else {
            RowWrite::Refresh
        };
        let mut attrs = self.dirty_attrs.take();
        attrs.sort_unstable();
        attrs.dedup();
        self.dirty = false;
        self.is_new = false;
        self.keys_dirty = false;
        (write, attrs)
    }
}

/// The attributes of a profile changed since it was written. Nothing is allocated while
/// there are none (most held profiles), and an entry takes 8 bytes where a `Vec` took 24.
#[derive(Debug, Default)]
#[allow(
    clippy::box_collection,
    reason = "8 bytes per held profile, not a Vec's 24"
)]
pub(crate) struct DirtyAttrs(Option<Box<Vec<i64>>>);

impl DirtyAttrs {
    pub fn push(&mut self, attr: i64) {
        self.0.get_or_insert_default().push(attr);
    }

    pub fn extend(&mut self, attrs: impl IntoIterator<Item = i64>) {
        self.0.get_or_insert_default().extend(attrs);
    }

    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|attrs| attrs.is_empty())
    }

    /// The attributes (in the order they changed), none left after.
    pub fn take(&mut self) -> Vec<i64> {
        self.0.take().map(|attrs| *attrs).unwrap_or_default()
    }
}

/// What a packed profile costs beyond its bytes: its entry in the map (key and write
/// state), the map's control byte and free slots, and the allocator's rounding.
const PACKED_OVERHEAD: usize = std::mem::size_of::<(i64, Cached<Box<[u8]>>)>() + 24;

impl Ingestor<'_> {
    /// Keeps the unpacked tier within `hot_profiles`: past it, packs the colder half.
    pub(super) fn bound_unpacked(&mut self) {
        if self.users.len() > self.options.cache.hot_profiles {
            self.pack_cold();
        }
    }

    /// Moves the less recently used half of the unpacked profiles to the packed tier,
    /// with their write state: the ones events are still arriving for stay unpacked.
    fn pack_cold(&mut self) {
        let keep = self.options.cache.hot_profiles / 2;
        let mut by_use: Vec<(u64, i64)> = self
            .users
            .iter()
            .map(|(id, cached)| (cached.last_used, *id))
            .collect();
        let cold = by_use.len().saturating_sub(keep);
        if cold == 0 {
            return;
        }
        if cold < by_use.len() {
            by_use.select_nth_unstable(cold);
        }
        let batch = by_use[..cold]
            .iter()
            .map(|&(_, id)| (id, self.users.remove(&id).expect("listed above")))
            .collect();
        self.packing
            .get_or_insert_with(PackingThread::start)
            .send(batch);
        self.take_packed(Wait::Nothing);
    }

    /// Takes in the profiles the packing thread has packed or unpacked (waiting as
    /// `wait` says).
    pub(super) fn take_packed(&mut self, wait: Wait) {
        let Some(packing) = &mut self.packing else {
            return;
        };
        for done in packing.take(wait) {
            match done {
                Done::Packed { profiles, added } => {
                    self.shared.append(added);
                    for (id, packed) in profiles {
                        self.packed_bytes += packed.profile.len() + PACKED_OVERHEAD;
                        if let Some(old) = self.packed.insert(id, packed) {
                            self.packed_bytes -= old.profile.len() + PACKED_OVERHEAD;
                        }
                    }
                }
                Done::Unpacked(profiles) => self.users.extend(profiles),
            }
        }
    }

    /// Sends the packed profiles that these events' ids name to be unpacked on the
    /// packing thread, so that they are unpacked when the events get to them (see
    /// `packing.rs`). Only a guess from the ids known now: whatever it misses is
    /// unpacked where it is needed, as before.
    pub(super) fn unpack_ahead<'e>(&mut self, events: impl Iterator<Item = &'e Event>) {
        if self.packing.is_none() {
            return;
        }
        // Profiles unpacked ahead for events that were then not applied (duplicates,
        // skips) are not bounded after an event: bound them here, before more come.
        self.take_packed(Wait::Nothing);
        self.bound_unpacked();
        let Some(packing) = &mut self.packing else {
            return;
        };
        let mut batch = Vec::new();
        for event in events {
            let user = event
                .user_id
                .as_deref()
                .and_then(|id| self.user_ids.get(id));
            let anonymous =
                (event.anonymous_id.as_deref()).and_then(|id| self.anonymous_ids.get(id));
            for id in [user, anonymous].into_iter().flatten() {
                if let Some(mut packed) = self.packed.remove(&id) {
                    self.packed_bytes -= packed.profile.len() + PACKED_OVERHEAD;
                    // Held as about to be used: not the next to be packed again.
                    packed.last_used = self.summary.received;
                    batch.push((id, packed));
                }
            }
        }
        packing.send_unpack(batch);
    }

    /// A packed profile taken back out, unpacked, with its write state.
    pub(super) fn unpack(&mut self, id: i64) -> Option<Cached<UserProfile>> {
        if self.packing.as_ref().is_some_and(|p| p.holds(id)) {
            self.take_packed(Wait::For(id));
            if let Some(unpacked) = self.users.remove(&id) {
                return Some(unpacked);
            }
        }
        let packed = self.packed.remove(&id)?;
        self.packed_bytes -= packed.profile.len() + PACKED_OVERHEAD;
        Some(packed.map(|bytes| unpack_user(&bytes, &self.shared)))
    }

    /// After a flush (everything held is clean): drops the least recently used packed
    /// profiles down to three quarters of the budget, and companies and id look-ups
    /// past their limits.
    pub(super) fn evict(&mut self) {
        self.take_packed(Wait::All);
        let limits = self.options.cache;
        if self.packed_bytes > limits.packed_bytes {
            let target = limits.packed_bytes * 3 / 4;
            let mut by_use: Vec<(u64, i64)> = self
                .packed
                .iter()
                .map(|(id, p)| (p.last_used, *id))
                .collect();
            by_use.sort_unstable();
            for (_, id) in by_use {
                if self.packed_bytes <= target {
                    break;
                }
                let p = self.packed.remove(&id).expect("listed above");
                debug_assert!(!p.dirty && p.dirty_attrs.is_empty());
                self.packed_bytes -= p.profile.len() + PACKED_OVERHEAD;
            }
            let (users, packed) = (&self.users, &self.packed);
            let held = |id: &i64| users.contains_key(id) || packed.contains_key(id);
            self.user_ids.retain(held);
            self.anonymous_ids.retain(held);
        }
        if self.companies.len() > limits.companies {
            self.companies.clear();
            self.group_ids.clear();
        }
        if self.anonymous_ids.len() + self.user_ids.len() > limits.ids {
            self.user_ids.clear();
            self.anonymous_ids.clear();
        }
    }

    pub(super) fn clear_caches(&mut self) {
        self.take_packed(Wait::All);
        self.users.clear();
        self.packed.clear();
        self.packed_bytes = 0;
        self.companies.clear();
        self.user_ids.clear();
        self.anonymous_ids.clear();
        self.group_ids.clear();
        self.provenance_sources.clear();
        self.messages.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_attributes_are_listed_once_each_in_order_and_taken() {
        let mut attrs = DirtyAttrs::default();
        assert!(attrs.is_empty());
        assert!(attrs.take().is_empty());
        attrs.push(7);
        attrs.extend([3, 7]);
        assert!(!attrs.is_empty());
        assert_eq!(attrs.take(), [7, 3, 7]);
        assert!(attrs.is_empty());
        let mut cached = Cached::clean(());
        cached.dirty_attrs.extend([5, 2, 5]);
        assert!(cached.needs_write());
        let (_, written) = cached.write_state();
        assert_eq!(written, [2, 5]);
        assert!(!cached.needs_write());
    }

    #[test]
    fn a_packed_entry_stays_small() {
        // The map's share of each of 100,000 packed profiles: 40 bytes of entry, the
        // key's 8 and the bytes' allocation apart.
        assert!(std::mem::size_of::<Cached<Box<[u8]>>>() <= 40);
        assert_eq!(std::mem::size_of::<DirtyAttrs>(), 8);
    }
}
