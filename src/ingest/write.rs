//! The write stage: transactions, and what the cache holds written into them.
//!
//! Events are applied inside a write transaction taken at the first event and
//! committed every `batch_size` events (after a whole unit of the input, with the
//! input's checkpoint), or when the run finishes. Profiles are written once per
//! transaction, at the flush before the commit or when the cache is full.

use anyhow::Result;

use super::Ingestor;
use super::packed::unpack_user;
use super::packing::Wait;
use super::registry::Registry;

impl Ingestor<'_> {
    /// Writes what is cached and commits the open transaction, if any.
    pub fn commit(&mut self) -> Result<()> {
        if !self.in_transaction {
            return Ok(());
        }
        self.flush()?;
        self.write_checkpoints()?;
        // Read inside the transaction: a commit by another process right after ours
        // must still show as a change next time.
        let version = self.store.data_version()?;
        self.store.commit()?;
        self.in_transaction = false;
        self.pending = 0;
        self.data_version = version;
        self.evict();
        Ok(())
    }

    pub(super) fn begin_if_needed(&mut self) -> Result<()> {
        if self.in_transaction {
            return Ok(());
        }
        // Take the write lock first: only then is nobody else changing what we cache.
        self.store.begin()?;
        self.in_transaction = true;
        self.next_user_ref = self.store.next_user_ref()?;
        let version = self.store.data_version()?;
        if version != self.data_version {
            // First transaction, or another process wrote since our last commit.
            self.clear_caches();
            self.registry = Registry::load(self.store)?;
            self.trusted = self
                .store
                .domains()?
                .into_iter()
                .map(|d| d.domain)
                .collect();
            self.provenance.shared.clear();
        }
        let next_value = self.store.next_provenance_value_id()?;
        self.provenance.shared.begin(next_value);
        Ok(())
    }

    /// Writes every dirty profile, and the provenance rows gathered.
    pub(super) fn flush(&mut self) -> Result<()> {
        self.take_packed(Wait::All);
        self.messages.write(self.store)?;
        if !self.provenance_rows.is_empty() {
            self.store
                .insert_provenance_batch(&mut self.provenance_rows)?;
        }
        // In row order: neighbouring rows share pages.
        let mut dirty: Vec<i64> = self
            .users
            .iter()
            .filter(|(_, c)| c.needs_write())
            .map(|(id, _)| *id)
            .chain(
                self.packed
                    .iter()
                    .filter(|(_, c)| c.needs_write())
                    .map(|(id, _)| *id),
            )
            .collect();
        dirty.sort_unstable();
        let mut writer = self.store.profile_writer()?;
        for id in dirty {
            if let Some(cached) = self.users.get_mut(&id) {
                let (write, attrs) = cached.write_state();
                writer.save_user(&cached.profile, write, attrs)?;
            } else {
                let packed = self.packed.get_mut(&id).expect("listed above");
                let (write, attrs) = packed.write_state();
                let profile = unpack_user(&packed.profile, &self.shared);
                writer.save_user(&profile, write, attrs)?;
            }
        }
        for cached in self.companies.values_mut() {
            if cached.needs_write() {
                // A company's row is inserted when it is first seen.
                let (_, attrs) = cached.write_state();
                self.store.save_company(&cached.profile, attrs)?;
            }
        }
        Ok(())
    }

    /// Writes the pending checkpoints into the open transaction.
    pub(super) fn write_checkpoints(&mut self) -> Result<()> {
        for c in self.checkpoints.drain(..) {
            self.store.save_checkpoint(&c)?;
        }
        if let Some(c) = &self.current_checkpoint {
            self.store.save_checkpoint(c)?;
        }
        Ok(())
    }
}
