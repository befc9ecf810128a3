//! The userId and anonymousId look-ups an ingest holds between events: each id kept as
//! a 128-bit keyed hash of its text (SipHash-2-4 with keys drawn for the run) instead
//! of the text itself.
//!
//! A look-up is a 16-byte key and the profile's id (24 bytes in the table), where a
//! `String` key took 32 with the id and an allocation of its own for the text: by those
//! sizes, about 6 MiB less at the benchmark's 110,000 ids, which the profiles get. Two ids meet on one key with a chance of about
//! n²/2¹²⁹ (for n = 10⁹ ids, one in 10²¹), and the keys are secret to the run, so input
//! cannot be made to meet on purpose.

use std::hash::{BuildHasher, Hasher};

use foldhash::HashMap;
use siphasher::sip128::{Hasher128, SipHasher24};

/// Ids (userIds or anonymousIds) and the profiles they name.
pub(super) struct IdMap {
    keys: (u64, u64),
    /// Keyed by the hash's two halves: 8-byte aligned, so an entry takes 24 bytes (a
    /// `u128` key would make it 32).
    ids: HashMap<[u64; 2], i64>,
}

impl Default for IdMap {
    fn default() -> Self {
        let random = std::collections::hash_map::RandomState::new();
        IdMap {
            keys: (random.hash_one(1u8), random.hash_one(2u8)),
            ids: HashMap::default(),
        }
    }
}

impl IdMap {
    fn key(&self, id: &str) -> [u64; 2] {
        let mut hasher = SipHasher24::new_with_keys(self.keys.0, self.keys.1);
        hasher.write(id.as_bytes());
        let hash = hasher.finish128();
        [hash.h1, hash.h2]
    }

    pub fn get(&self, id: &str) -> Option<i64> {
        self.ids.get(&self.key(id)).copied()
    }

    pub fn insert(&mut self, id: &str, profile: i64) {
        self.ids.insert(self.key(id), profile);
    }

    /// Keeps the look-ups of the profiles `keep` says.
    pub fn retain(&mut self, keep: impl Fn(&i64) -> bool) {
        self.ids.retain(|_, profile| keep(profile));
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn clear(&mut self) {
        self.ids.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_found_by_their_text_alone() {
        let mut ids = IdMap::default();
        ids.insert("user-1", 1);
        ids.insert("user-2", 2);
        ids.insert("", 3);
        assert_eq!(ids.get("user-1"), Some(1));
        assert_eq!(ids.get("user-2"), Some(2));
        assert_eq!(ids.get(""), Some(3));
        assert_eq!(ids.get("user-3"), None);
        // Prefixes, case and Unicode forms are other ids.
        assert_eq!(ids.get("user-"), None);
        assert_eq!(ids.get("USER-1"), None);
        ids.insert("caf\u{e9}", 4);
        assert_eq!(ids.get("cafe\u{301}"), None);
        ids.insert("user-1", 5);
        assert_eq!(ids.get("user-1"), Some(5));
        assert_eq!(ids.len(), 4);
        ids.retain(|profile| *profile != 5);
        assert_eq!(ids.get("user-1"), None);
        assert_eq!(ids.get("user-2"), Some(2));
        ids.clear();
        assert_eq!(ids.len(), 0);
    }

    #[test]
    fn each_run_has_keys_of_its_own() {
        let (a, b) = (IdMap::default(), IdMap::default());
        assert_ne!(a.keys, b.keys);
        assert_ne!(a.key("user-1"), b.key("user-1"));
        // Distinct ids, distinct keys (none of 100,000 meeting).
        let mut seen = std::collections::HashSet::new();
        for i in 0..100_000 {
            assert!(seen.insert(a.key(&format!("user-{i}"))));
        }
    }

    #[test]
    fn a_look_up_takes_24_bytes() {
        assert_eq!(std::mem::size_of::<([u64; 2], i64)>(), 24);
    }
}
