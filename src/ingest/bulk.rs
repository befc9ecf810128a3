//! Large loads: the readers' indexes dropped before and built once after
//! (see `store::indexes`), when the input is large against what the database holds.

use anyhow::Result;

use crate::store::Store;

/// Whether a run builds the readers' indexes after its load instead of row by row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DeferIndexes {
    /// When the input is at least 64 MiB and holds about as many events as the database
    /// has page views and events, or more.
    #[default]
    Auto,
    /// Always (readers' queries are slow until the run ends).
    Always,
    /// Never.
    Never,
}

/// Input bytes per event assumed by the estimate (Segment's events run from a few
/// hundred bytes to a few KB).
const BYTES_PER_EVENT: u64 = 1024;

/// Below this much input, keeping the indexes up to date costs less than building them.
const MIN_BULK_BYTES: u64 = 64 << 20;

/// Whether a run over `input_bytes` (None: not known ahead, standard input) into a
/// database holding `history_rows` page views and events defers the indexes.
pub fn defers(policy: DeferIndexes, input_bytes: Option<u64>, history_rows: u64) -> bool {
    match policy {
        DeferIndexes::Always => true,
        DeferIndexes::Never => false,
        DeferIndexes::Auto => {
            input_bytes.is_some_and(|b| b >= MIN_BULK_BYTES && b / BYTES_PER_EVENT >= history_rows)
        }
    }
}

/// Runs `load` with the indexes deferred when the policy says so, then builds every
/// deferred index (a killed run's too), even when the load failed: its committed
/// batches stay, and so must the indexes. The load's error comes first.
pub fn load<T>(
    store: &Store,
    policy: DeferIndexes,
    input_bytes: Option<u64>,
    load: impl FnOnce() -> Result<T>,
    building: impl FnOnce(),
) -> Result<T> {
    if defers(policy, input_bytes, store.history_rows()?) {
        store.defer_indexes()?;
    }
    let loaded = load();
    if !store.deferred_indexes()?.is_empty() {
        building();
    }
    let built = store.build_deferred_indexes();
    let value = loaded?;
    built?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_defers_for_a_large_input_against_a_small_database() {
        use DeferIndexes::*;
        let mib = 1 << 20;
        assert!(defers(Auto, Some(64 * mib), 0));
        assert!(defers(Auto, Some(1024 * mib), 1_000_000));
        assert!(!defers(Auto, Some(1024 * mib), 1_100_000));
        assert!(!defers(Auto, Some(63 * mib), 0));
        assert!(!defers(Auto, None, 0));
        assert!(defers(Always, Some(1), 10_000_000));
        assert!(defers(Always, None, 0));
        assert!(!defers(Never, Some(10 << 30), 0));
    }
}
