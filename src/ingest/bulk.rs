//! Large loads: the readers' indexes dropped before and built once after
//! (see `store::indexes`), when the input is large against what the database holds.

use anyhow::Result;

use super::Input;
use crate::store::Store;

/// Whether a run builds the readers' indexes after its load instead of row by row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DeferIndexes {
    /// When the input still to read is large against what the database holds.
    #[default]
    Auto,
    /// Always (queries from elsewhere are slow until the run ends).
    Always,
    /// Never: every index is kept up to date row by row.
    Never,
}

/// Input bytes for each byte the database holds, at least, for a load to count as
/// large: the indexes built at the end cover the whole database (its page views,
/// events, profiles, attributes and provenance), so what it holds is what a build
/// costs. Segment's events take about twice the bytes as ndjson that they take once
/// applied.
const INPUT_PER_STORED_BYTE: u64 = 2;

/// Below this much input, keeping the indexes up to date costs less than building them.
const MIN_BULK_BYTES: u64 = 64 << 20;

/// Whether a run over `input_bytes` still to read (None: not known ahead) into a
/// database holding `stored_bytes` ([`Store::stored_bytes`]) defers the indexes.
pub fn defers(policy: DeferIndexes, input_bytes: Option<u64>, stored_bytes: u64) -> bool {
    match policy {
        DeferIndexes::Always => true,
        DeferIndexes::Never => false,
        DeferIndexes::Auto => input_bytes.is_some_and(|b| {
            b >= MIN_BULK_BYTES && b >= stored_bytes.saturating_mul(INPUT_PER_STORED_BYTE)
        }),
    }
}

/// The bytes of `inputs` past what their checkpoints say was applied before (None: not
/// known ahead, standard input): a file read whole before counts for nothing and one
/// read in part for what its checkpoint leaves. So running a finished back-fill again
/// defers nothing, with `--no-resume` too: what it reads again are duplicates, which add
/// no rows to index. Files a folder holds but that are left out (hidden) count for
/// nothing.
pub fn unapplied_bytes(store: &Store, inputs: &[Input]) -> Result<Option<u64>> {
    let mut total = 0u64;
    for input in inputs.iter().filter(|input| !input.is_skipped()) {
        let Some(size) = input.size else {
            return Ok(None);
        };
        let stored = match input.key() {
            Some(k) => store.checkpoint(&k.path, k.size, k.mtime_ns)?,
            None => None,
        };
        total += match stored {
            Some(c) if c.complete => 0,
            Some(c) => size.saturating_sub(c.offset),
            None => size,
        };
    }
    Ok(Some(total))
}

/// Runs `load` with the indexes deferred when the policy says so, then builds every
/// deferred index (a killed run's too, not one of a load still running elsewhere),
/// even when the load failed: its committed batches stay, and so must the indexes.
pub fn load<T>(
    store: &Store,
    policy: DeferIndexes,
    input_bytes: Option<u64>,
    load: impl FnOnce() -> Result<T>,
    building: impl FnOnce(),
) -> Result<T> {
    if defers(policy, input_bytes, store.stored_bytes()?) {
        store.defer_indexes()?;
    }
    let loaded = load();
    if store.deferred_indexes().map_or(true, |d| !d.is_empty()) {
        building();
    }
    let built = store.build_deferred_indexes();
    // After a failed load, its error is the one to tell; the indexes stay listed for the
    // next ingest or `serve`.
    let value = loaded?;
    built?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Checkpoint;

    #[test]
    fn unapplied_bytes_leave_out_what_checkpoints_say_was_applied() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_memory().unwrap();
        let a = dir.path().join("a.ndjson");
        let b = dir.path().join("b.ndjson");
        std::fs::write(&a, vec![b'\n'; 1000]).unwrap();
        std::fs::write(&b, vec![b'\n'; 300]).unwrap();
        let inputs = Input::open_all(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(unapplied_bytes(&store, &inputs).unwrap(), Some(1300));
        let save = |input: &Input, offset: u64, complete: bool| {
            let k = input.key().unwrap();
            store.begin().unwrap();
            store
                .save_checkpoint(&Checkpoint {
                    path: k.path,
                    size: k.size,
                    mtime_ns: k.mtime_ns,
                    offset,
                    line: offset + 1,
                    array: None,
                    complete,
                })
                .unwrap();
            store.commit().unwrap();
        };
        save(&inputs[0], 400, false);
        assert_eq!(unapplied_bytes(&store, &inputs).unwrap(), Some(900));
        save(&inputs[1], 300, true);
        assert_eq!(unapplied_bytes(&store, &inputs).unwrap(), Some(600));
        assert_eq!(unapplied_bytes(&store, &[Input::stdin()]).unwrap(), None);
    }

    #[test]
    fn files_a_folder_leaves_out_count_for_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_memory().unwrap();
        std::fs::write(dir.path().join(".hidden.ndjson"), vec![b'\n'; 5000]).unwrap();
        std::fs::write(dir.path().join("events.ndjson"), vec![b'\n'; 70]).unwrap();
        let inputs = Input::open_all(&[dir.path().to_path_buf()]).unwrap();
        assert!(inputs.iter().any(Input::is_skipped));
        assert_eq!(unapplied_bytes(&store, &inputs).unwrap(), Some(70));
    }

    #[test]
    fn auto_defers_for_a_large_input_against_a_small_database() {
        use DeferIndexes::*;
        let mib = 1 << 20;
        assert!(defers(Auto, Some(64 * mib), 0));
        assert!(defers(Auto, Some(1024 * mib), 512 * mib));
        assert!(!defers(Auto, Some(1024 * mib), 513 * mib));
        assert!(!defers(Auto, Some(63 * mib), 0));
        // A database of profiles and attributes only (no history) is large too.
        assert!(!defers(Auto, Some(79 * mib), 720 * mib));
        assert!(!defers(Auto, None, 0));
        assert!(defers(Always, Some(1), 10_000_000));
        assert!(defers(Always, None, 0));
        assert!(!defers(Never, Some(10 << 30), 0));
    }
}
