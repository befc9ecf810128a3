//! The profile cache between events: profiles being worked on are held as structs,
//! every other one packed (see [`super::packed`]), companies and id look-ups in maps,
//! each within its limit. Past a limit, what is held is written into the open
//! transaction ([`super::write`]) and the least recently used part is let go.

use super::Ingestor;
use super::packed::{pack_user, unpack_user};
use crate::semantics::profile::UserProfile;
use crate::store::RowWrite;

/// What an ingest holds in memory between events, at most. Past a limit, what is held
/// is written into the open transaction and some of it is let go, so memory stays
/// bounded whatever the input; the defaults hold every active profile of a stream
/// with tens of thousands of users.
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
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits {
            hot_profiles: 1_000,
            packed_bytes: 22 << 20,
            companies: 15_000,
            ids: 400_000,
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
    pub dirty_attrs: Vec<i64>,
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
            dirty_attrs: Vec::new(),
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
        let mut attrs = std::mem::take(&mut self.dirty_attrs);
        attrs.sort_unstable();
        attrs.dedup();
        self.dirty = false;
        self.is_new = false;
        self.keys_dirty = false;
        (write, attrs)
    }
}

/// What a packed profile costs beyond its bytes (map entry and write state).
const PACKED_OVERHEAD: usize = 64;

impl Ingestor<'_> {
    /// Moves the less recently used half of the unpacked profiles to the packed tier,
    /// with their write state: the ones events are still arriving for stay unpacked.
    pub(super) fn pack_cold(&mut self) {
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
        for &(_, id) in &by_use[..cold] {
            let cached = self.users.remove(&id).expect("listed above");
            let packed = cached.map(|profile| pack_user(&profile, &mut self.shared));
            self.packed_bytes += packed.profile.len() + PACKED_OVERHEAD;
            if let Some(old) = self.packed.insert(id, packed) {
                self.packed_bytes -= old.profile.len() + PACKED_OVERHEAD;
            }
        }
    }

    /// A packed profile taken back out, unpacked, with its write state.
    pub(super) fn unpack(&mut self, id: i64) -> Option<Cached<UserProfile>> {
        let packed = self.packed.remove(&id)?;
        self.packed_bytes -= packed.profile.len() + PACKED_OVERHEAD;
        Some(packed.map(|bytes| unpack_user(&bytes, &self.shared)))
    }

    /// After a flush (everything held is clean): drops the least recently used packed
    /// profiles down to three quarters of the budget, and companies and id look-ups
    /// past their limits.
    pub(super) fn evict(&mut self) {
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
            self.user_ids.retain(|_, id| held(id));
            self.anonymous_ids.retain(|_, id| held(id));
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
        self.users.clear();
        self.packed.clear();
        self.packed_bytes = 0;
        self.companies.clear();
        self.user_ids.clear();
        self.anonymous_ids.clear();
        self.group_ids.clear();
        self.provenance_sources.clear();
    }
}
