//! Which messageIds are applied already, answered mostly without the database.
//!
//! Every applied event's messageId is remembered in `message_keys` (a 16-byte key, see
//! `store/messages.rs`), and an event whose key is there is a duplicate. Asking the
//! table for each event means a descent to a random leaf of a tree that outgrows the
//! page cache (22 MB at 1,000,000 events); inserting there dirties one more random page.
//!
//! So a run holds, per key it has seen or found in the table, a few bits of a Bloom
//! filter. A key the filter never saw is new without asking the table; only the rare
//! key it may have seen (about 1 in 50, and every true duplicate) is looked up, in the
//! keys not yet written and then in the table. New keys are written sorted, together,
//! at each flush and whenever `pending_messages` are waiting: one pass over the tree's
//! pages instead of a random page per event.
//!
//! The filter must know every key in the table: it is filled from the table (a scan,
//! about 0.1 s a million keys) once the run has remembered `pending_messages` keys
//! (50,000 by default) one by one, the way a small run keeps doing: a run of a few
//! events on a large database reads nothing it does not need. It is emptied, to be
//! filled again the same way, whenever another process wrote between two of the run's
//! transactions (the same `data_version` test that empties the profile cache). A key
//! it holds that never got written (a rolled-back transaction) only costs a look-up.

use anyhow::Result;
use foldhash::{HashSet, HashSetExt};

use crate::store::{MessageKey, Store};

/// Bits per key the filter is sized for, and bits set per key: about 2% false "maybe"
/// (each a look-up in the table, a few microseconds) a full layer.
const BITS_PER_KEY: usize = 8;
const HASHES: u64 = 5;
/// The keys the first layer is sized for, at least.
const FIRST_LAYER_KEYS: usize = 1 << 20;
/// Past this many bits in all (8 MiB), the last layer takes every further key: memory
/// stays bounded and the filter answers "maybe" more often, which costs look-ups only.
const MAX_BITS: usize = 64 << 20;

/// The messageIds applied, as far as this run knows them.
pub(super) struct MessageKeys {
    filter: Option<Filter>,
    /// Keys known new in the open transaction, not yet written.
    pending: HashSet<MessageKey>,
    /// Keys remembered one by one (written at once) since the filter was emptied.
    direct: usize,
}

impl Default for MessageKeys {
    fn default() -> Self {
        MessageKeys {
            filter: None,
            pending: HashSet::new(),
            direct: 0,
        }
    }
}

impl MessageKeys {
    /// Fills the filter from the table (inside the transaction: the keys it wrote so far
    /// are read too).
    fn load(&mut self, store: &Store) -> Result<()> {
        debug_assert!(self.pending.is_empty());
        let known = usize::try_from(store.message_key_count()?).unwrap_or(usize::MAX);
        let mut filter = Filter::new(known.saturating_add(known / 4).max(FIRST_LAYER_KEYS));
        store.each_message_key(|key| filter.insert(key))?;
        self.filter = Some(filter);
        Ok(())
    }

    /// Records a key; false when it was applied before (a duplicate). The first
    /// `one_by_one` keys after the filter was emptied are written at once; past them
    /// the filter is filled and answers.
    pub fn remember(&mut self, store: &Store, key: &MessageKey, one_by_one: usize) -> Result<bool> {
        if self.filter.is_none() {
            if self.direct < one_by_one {
                self.direct += 1;
                return store.remember_message_key(key);
            }
            self.load(store)?;
        }
        let filter = self.filter.as_mut().expect("filled above");
        if filter.may_hold(key) && (self.pending.contains(key) || store.knows_message_key(key)?) {
            return Ok(false);
        }
        filter.insert(key);
        self.pending.insert(*key);
        Ok(true)
    }

    /// How many new keys wait to be written.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Writes the new keys, in key order.
    pub fn write(&mut self, store: &Store) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut keys: Vec<MessageKey> = self.pending.drain().collect();
        keys.sort_unstable();
        store.insert_message_keys(&keys)?;
        self.pending.shrink_to(PENDING_KEPT);
        Ok(())
    }

    /// Forgets the filter (another process wrote): keys are written one by one again
    /// until it is filled anew.
    pub fn clear(&mut self) {
        self.filter = None;
        self.pending.clear();
        self.direct = 0;
    }
}

/// Room kept in the set of waiting keys between flushes.
const PENDING_KEPT: usize = 1 << 16;

/// A Bloom filter over keys that are already uniformly random (SHA-256 bits), so the
/// bit positions come from the key itself, with no hashing. It grows by layers, each
/// sized for twice the keys of the one before, up to [`MAX_BITS`].
struct Filter {
    layers: Vec<Layer>,
}

struct Layer {
    bits: Vec<u64>,
    /// Keys inserted, and the number it is sized for.
    keys: usize,
    capacity: usize,
}

impl Filter {
    fn new(capacity: usize) -> Filter {
        Filter {
            layers: vec![Layer::new(capacity)],
        }
    }

    fn bits(&self) -> usize {
        self.layers.iter().map(|l| l.bits.len() * 64).sum()
    }

    fn may_hold(&self, key: &MessageKey) -> bool {
        self.layers.iter().any(|l| l.may_hold(key))
    }

    fn insert(&mut self, key: &MessageKey) {
        let last = self.layers.last().expect("one layer at least");
        if last.keys >= last.capacity {
            let capacity = last.capacity.saturating_mul(2);
            if self.bits() + capacity.saturating_mul(BITS_PER_KEY) <= MAX_BITS {
                self.layers.push(Layer::new(capacity));
            }
        }
        self.layers
            .last_mut()
            .expect("one layer at least")
            .insert(key);
    }
}

impl Layer {
    fn new(capacity: usize) -> Layer {
        let words = (capacity.saturating_mul(BITS_PER_KEY) / 64).clamp(1, MAX_BITS / 64);
        Layer {
            bits: vec![0; words],
            keys: 0,
            capacity,
        }
    }

    /// The bit positions of a key: double hashing over its two halves.
    fn positions(&self, key: &MessageKey) -> impl Iterator<Item = usize> + use<> {
        let (a, b) = key.split_at(8);
        let h1 = u64::from_le_bytes(a.try_into().expect("8 bytes"));
        let h2 = u64::from_le_bytes(b.try_into().expect("8 bytes")) | 1;
        let bits = (self.bits.len() * 64) as u128;
        (0..HASHES).map(move |i| {
            let h = h1.wrapping_add(i.wrapping_mul(h2));
            // Multiply-shift maps h onto 0..bits without a division.
            ((u128::from(h) * bits) >> 64) as usize
        })
    }

    fn may_hold(&self, key: &MessageKey) -> bool {
        self.positions(key)
            .all(|p| self.bits[p / 64] & (1 << (p % 64)) != 0)
    }

    fn insert(&mut self, key: &MessageKey) {
        for p in self.positions(key) {
            self.bits[p / 64] |= 1 << (p % 64);
        }
        self.keys += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::message_key;

    fn key(i: u32) -> MessageKey {
        message_key(format!("m-{i}").as_bytes())
    }

    #[test]
    fn the_filter_never_misses_a_key_and_rarely_claims_one() {
        let mut filter = Filter::new(1000);
        for i in 0..5000 {
            filter.insert(&key(i));
        }
        // Grown by layers of 1000, 2000 and 4000 keys.
        assert_eq!(filter.layers.len(), 3);
        assert!((0..5000).all(|i| filter.may_hold(&key(i))));
        let claimed = (5000..105_000)
            .filter(|i| filter.may_hold(&key(*i)))
            .count();
        // About 2% for each full layer; the last one is half full.
        assert!(claimed < 6000, "{claimed} of 100000 unseen keys claimed");
    }

    #[test]
    fn the_filter_stops_growing_at_its_bound() {
        let mut filter = Filter::new(MAX_BITS / BITS_PER_KEY);
        filter.layers[0].keys = filter.layers[0].capacity;
        filter.insert(&key(1));
        assert_eq!(filter.layers.len(), 1);
        assert!(filter.bits() <= MAX_BITS);
        assert!(filter.may_hold(&key(1)));
    }

    #[test]
    fn duplicates_are_found_in_the_table_and_among_the_keys_not_yet_written() {
        let store = Store::open_in_memory().unwrap();
        store.begin().unwrap();
        assert!(store.remember_message("old").unwrap());
        let mut keys = MessageKeys::default();
        // The first two keys are written one by one, nothing read.
        assert!(keys.remember(&store, &key(1000), 2).unwrap());
        assert!(!keys.remember(&store, &key(1000), 2).unwrap());
        assert!(keys.filter.is_none());
        assert!(store.knows_message_key(&key(1000)).unwrap());
        // Past them the filter is filled, with those keys too.
        let old = message_key(b"old");
        assert!(!keys.remember(&store, &old, 2).unwrap());
        assert!(keys.filter.is_some());
        assert!(!keys.remember(&store, &key(1000), 2).unwrap());
        assert!(keys.remember(&store, &key(1), 2).unwrap());
        assert!(!keys.remember(&store, &key(1), 2).unwrap());
        assert_eq!(keys.pending(), 1);
        assert!(!store.knows_message_key(&key(1)).unwrap());
        keys.write(&store).unwrap();
        assert_eq!(keys.pending(), 0);
        assert!(store.knows_message_key(&key(1)).unwrap());
        assert!(!keys.remember(&store, &key(1), 2).unwrap());
        for i in 2..200 {
            assert!(keys.remember(&store, &key(i), 2).unwrap());
        }
        keys.write(&store).unwrap();
        assert_eq!(store.message_key_count().unwrap(), 201);
        store.commit().unwrap();
        // Emptied (another process wrote): one by one again, then filled anew.
        keys.clear();
        store.begin().unwrap();
        assert!(!keys.remember(&store, &key(5), 1).unwrap());
        assert!(keys.filter.is_none());
        assert!(!keys.remember(&store, &key(6), 1).unwrap());
        assert!(keys.filter.is_some());
        store.commit().unwrap();
    }

    #[test]
    fn a_key_the_filter_holds_but_the_table_lost_is_new_again() {
        // A transaction rolled back after its keys went into the filter.
        let store = Store::open_in_memory().unwrap();
        let mut keys = MessageKeys::default();
        store.begin().unwrap();
        assert!(keys.remember(&store, &key(7), 0).unwrap());
        keys.write(&store).unwrap();
        store.rollback().unwrap();
        store.begin().unwrap();
        assert!(keys.remember(&store, &key(7), 0).unwrap());
        store.commit().unwrap();
    }
}
