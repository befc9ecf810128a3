//! Indexes a large load builds once at its end instead of row by row.
//!
//! Keeping an index up to date inserts at a random place for every row; once the index
//! outgrows the page cache, each insert reads and writes pages the last one did not
//! touch. Building it after the load sorts the rows once. Only the indexes that serve
//! readers (lists, stats, `explain`, a profile's history) are deferred: those the ingest
//! reads through on every event or claim (a record's page views and events by
//! `anon_ref`, its owned records, the look-ups by id) are always kept. One deferred index
//! the ingest reads, rarely: a profile's page views by user (`pages_user`), for its last
//! page view when an earlier claim takes an anonymous record from it. The first such
//! release in a load builds it then ([`Store::need_index`]), and the load keeps it up to
//! date from there on.
//!
//! Which indexes are deferred is written in the database (`deferred_indexes`), in the
//! transaction that drops them, so a load that is killed leaves a file that says so:
//! every query still answers (more slowly), and the next ingest or `serve` builds them.
//! Each note names the process that deferred the index: while it runs, it builds its
//! own at its end.

use anyhow::{Context, Result};
use rusqlite::params;

use super::Store;

/// The indexes a load may defer, with the statement that builds each: the same as the
/// migrations' (a test checks it).
const DEFERRABLE: &[(&str, &str)] = &[
    ("users_email", "CREATE INDEX users_email ON users(email)"),
    (
        "users_last_seen",
        "CREATE INDEX users_last_seen ON users(last_seen)",
    ),
    (
        "anonymous_ids_user",
        "CREATE INDEX anonymous_ids_user ON anonymous_ids(user_ref)",
    ),
    (
        "user_attributes_attr",
        "CREATE INDEX user_attributes_attr ON user_attributes(attr_id, value)",
    ),
    (
        "company_attributes_attr",
        "CREATE INDEX company_attributes_attr ON company_attributes(attr_id, value)",
    ),
    (
        "events_name_user",
        "CREATE INDEX events_name_user ON events(name, user_ref, timestamp)",
    ),
    (
        "pages_timestamp",
        "CREATE INDEX pages_timestamp ON pages(timestamp)",
    ),
    (
        "pages_user",
        "CREATE INDEX pages_user ON pages(user_ref, timestamp)",
    ),
    (
        "events_user",
        "CREATE INDEX events_user ON events(user_ref, timestamp)",
    ),
    (
        "provenance_owner",
        "CREATE INDEX provenance_owner ON provenance(owner)",
    ),
];

/// The page cache (and so the in-memory sort) of an index build, in KiB.
const BUILD_CACHE_KIB: i64 = 2048;

/// Helper threads an index build's sort may use (SQLite's `threads`).
const BUILD_THREADS: i64 = 1;

/// When the process `pid` started, in clock ticks after boot (`/proc/PID/stat`), if it
/// runs and that can be known (Linux).
fn process_started(pid: u32) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name, in parentheses (it may hold spaces and parentheses), the
    // fields from the third on; the start time is the 22nd.
    let fields = &stat[stat.rfind(')')? + 1..];
    fields.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the load a note names still runs: a process with its id runs, and started
/// when the note says (so an id reused since, or a process of another PID namespace
/// with the same id, is not taken for it; notes written before schema 11 have no start
/// time: the id alone). Where this cannot be known, the load is taken to be gone.
fn loader_runs(pid: u32, started: Option<i64>) -> bool {
    process_started(pid).is_some_and(|now| started.is_none_or(|then| then == now))
}

/// A row of `deferred_indexes`: an index a load dropped, and the load.
struct DeferredNote {
    name: String,
    pid: Option<u32>,
    started: Option<i64>,
}

fn create_sql(name: &str) -> Option<&'static str> {
    DEFERRABLE
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, sql)| *sql)
}

impl Store {
    /// Bytes the database holds: its pages in use (free pages left out), whatever the
    /// tables are. No scan: SQLite keeps the counts.
    pub fn stored_bytes(&self) -> Result<u64> {
        let n: i64 = self.conn().query_row(
            "SELECT (p.page_count - f.freelist_count) * s.page_size
             FROM pragma_page_count() AS p, pragma_freelist_count() AS f,
                  pragma_page_size() AS s",
            [],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// Drops the deferrable indexes that exist, noting each in `deferred_indexes` (with
    /// this process's id and start time) in the same transaction; returns how many were
    /// dropped.
    pub fn defer_indexes(&self) -> Result<usize> {
        let pid = std::process::id();
        let started = process_started(pid);
        self.begin()?;
        let result = (|| {
            let mut dropped = 0;
            for (name, _) in DEFERRABLE {
                if !self.index_exists(name)? {
                    continue;
                }
                self.conn()
                    .prepare_cached(
                        "INSERT OR REPLACE INTO deferred_indexes (name, pid, started)
                         VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![name, pid, started])?;
                // The name is this module's constant, never input.
                self.conn().execute(&format!("DROP INDEX {name}"), [])?;
                dropped += 1;
            }
            Ok(dropped)
        })();
        self.end(result).context("deferring indexes")
    }

    /// The indexes a load deferred and nobody has built since.
    pub fn deferred_indexes(&self) -> Result<Vec<String>> {
        Ok(self.deferred()?.into_iter().map(|note| note.name).collect())
    }

    fn deferred(&self) -> Result<Vec<DeferredNote>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT name, pid, started FROM deferred_indexes ORDER BY name")?;
        let notes = stmt.query_map([], |r| {
            Ok(DeferredNote {
                name: r.get(0)?,
                pid: r.get(1)?,
                started: r.get(2)?,
            })
        })?;
        Ok(notes.collect::<rusqlite::Result<_>>()?)
    }

    /// Builds the deferred indexes, each in a transaction of its own (the write lock is
    /// held for one index at a time), except those of a load still running in another
    /// process (it builds them at its end); returns how many were built.
    pub fn build_deferred_indexes(&self) -> Result<usize> {
        let ours = std::process::id();
        let to_build: Vec<String> = self
            .deferred()?
            .into_iter()
            .filter(|note| {
                note.pid
                    .is_none_or(|pid| pid == ours || !loader_runs(pid, note.started))
            })
            .map(|note| note.name)
            .collect();
        if to_build.is_empty() {
            return Ok(0);
        }
        let built = self.with_build_pragmas(|| {
            let mut built = 0;
            for name in &to_build {
                built += self.build_index(name)?;
            }
            Ok(built)
        });
        built.context("building the deferred indexes")
    }

    /// Builds the index `name` now, in the open transaction, if a load deferred it and
    /// it is not there (its note goes with it): for the ingest's rare reads through a
    /// deferred index. Rolled back with the transaction, note included.
    pub(crate) fn need_index(&self, name: &str) -> Result<()> {
        let Some(sql) = create_sql(name) else {
            return Ok(());
        };
        if self.index_exists(name)? {
            return Ok(());
        }
        self.with_build_pragmas(|| {
            self.conn().execute(sql, [])?;
            Ok(())
        })
        .with_context(|| format!("building the deferred index {name}"))?;
        self.conn()
            .prepare_cached("DELETE FROM deferred_indexes WHERE name = ?1")?
            .execute([name])?;
        Ok(())
    }

    /// Runs `build` with the pragmas of an index build, then puts back the connection's.
    ///
    /// A build sorts its rows in memory up to the page cache's size, then in temporary
    /// files (not in memory, where the process would grow by the size of the index): a
    /// small cache keeps the load's memory bound. A second thread sorts too (on the
    /// benchmark's 1,000,000 events the ten builds took 1.6 s instead of 1.8).
    fn with_build_pragmas<T>(&self, build: impl FnOnce() -> Result<T>) -> Result<T> {
        let cache: i64 = self
            .conn()
            .pragma_query_value(None, "cache_size", |r| r.get(0))?;
        let result = self
            .conn()
            .pragma_update(None, "temp_store", "FILE")
            .and_then(|()| {
                self.conn()
                    .pragma_update(None, "cache_size", -BUILD_CACHE_KIB)
            })
            .and_then(|()| self.conn().pragma_update(None, "threads", BUILD_THREADS))
            .map_err(anyhow::Error::from)
            .and_then(|()| build());
        // Put back whatever happened above.
        let restored = self
            .conn()
            .pragma_update(None, "temp_store", super::TEMP_STORE)
            .and_then(|()| self.conn().pragma_update(None, "cache_size", cache))
            .and_then(|()| self.conn().pragma_update(None, "threads", 0));
        let value = result?;
        restored?;
        Ok(value)
    }

    /// Builds one deferred index (unless another process did) and forgets its note.
    fn build_index(&self, name: &str) -> Result<usize> {
        self.begin()?;
        let result = (|| {
            let mut built = 0;
            // Looked at again under the write lock: another process may have built it.
            if let Some(sql) = create_sql(name)
                && !self.index_exists(name)?
            {
                self.conn().execute(sql, [])?;
                built = 1;
            }
            self.conn()
                .prepare_cached("DELETE FROM deferred_indexes WHERE name = ?1")?
                .execute([name])?;
            Ok(built)
        })();
        self.end(result)
    }

    fn index_exists(&self, name: &str) -> Result<bool> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
        )?;
        Ok(stmt.query_row([name], |r| r.get::<_, i64>(0))? > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_sql(store: &Store, name: &str) -> Option<String> {
        store
            .conn()
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
                [name],
                |r| r.get(0),
            )
            .ok()
    }

    #[test]
    fn deferrable_indexes_are_built_as_the_migrations_build_them() {
        let store = Store::open_in_memory().unwrap();
        for (name, sql) in DEFERRABLE {
            assert_eq!(index_sql(&store, name).as_deref(), Some(*sql), "{name}");
        }
    }

    #[test]
    fn deferred_indexes_are_noted_and_built_again_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.db");
        let store = Store::open(&path).unwrap();
        assert_eq!(store.defer_indexes().unwrap(), DEFERRABLE.len());
        for (name, _) in DEFERRABLE {
            assert_eq!(index_sql(&store, name), None, "{name} still there");
        }
        // Deferring again drops nothing and keeps the notes.
        assert_eq!(store.defer_indexes().unwrap(), 0);
        drop(store);
        // The note outlives the process that wrote it.
        let store = Store::open(&path).unwrap();
        assert_eq!(store.deferred_indexes().unwrap().len(), DEFERRABLE.len());
        assert_eq!(store.build_deferred_indexes().unwrap(), DEFERRABLE.len());
        assert!(store.deferred_indexes().unwrap().is_empty());
        for (name, sql) in DEFERRABLE {
            assert_eq!(index_sql(&store, name).as_deref(), Some(*sql), "{name}");
        }
        assert_eq!(store.build_deferred_indexes().unwrap(), 0);
    }

    #[test]
    fn indexes_deferred_by_a_load_still_running_elsewhere_are_left_to_it() {
        let store = Store::open_in_memory().unwrap();
        store.defer_indexes().unwrap();
        let set_loader = |pid: Option<u32>, started: Option<i64>| {
            store
                .conn()
                .execute(
                    "UPDATE deferred_indexes SET pid = ?1, started = ?2",
                    params![pid, started],
                )
                .unwrap();
        };
        // Process 1 always runs: a note naming it as it is is left to it, and so is one
        // written before notes said when their process started.
        let init_started = process_started(1);
        assert!(init_started.is_some());
        set_loader(Some(1), init_started);
        assert_eq!(store.build_deferred_indexes().unwrap(), 0);
        set_loader(Some(1), None);
        assert_eq!(store.build_deferred_indexes().unwrap(), 0);
        assert_eq!(store.deferred_indexes().unwrap().len(), DEFERRABLE.len());
        // Its id taken by a process that started at another time (the id reused after
        // the load was killed, or another container's process 1): the load is gone.
        set_loader(Some(1), init_started.map(|s| s + 1));
        assert_eq!(store.build_deferred_indexes().unwrap(), DEFERRABLE.len());
        assert!(store.deferred_indexes().unwrap().is_empty());
        store.defer_indexes().unwrap();
        let started: Option<i64> = store
            .conn()
            .query_row("SELECT max(started) FROM deferred_indexes", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(started, process_started(std::process::id()));
        set_loader(Some(1), init_started);
        // A process that is gone: its notes are built by whoever comes next.
        set_loader(Some(u32::MAX), None);
        assert_eq!(store.build_deferred_indexes().unwrap(), DEFERRABLE.len());
        assert!(store.deferred_indexes().unwrap().is_empty());
        // The page cache is as it was.
        let cache: i64 = store
            .conn()
            .pragma_query_value(None, "cache_size", |r| r.get(0))
            .unwrap();
        assert_eq!(cache, -i64::from(crate::store::DEFAULT_CACHE_MIB) * 1024);
    }

    #[test]
    fn a_deferred_index_the_ingest_reads_is_built_in_its_open_transaction() {
        let store = Store::open_in_memory().unwrap();
        store.defer_indexes().unwrap();
        let noted = |store: &Store| {
            store
                .deferred_indexes()
                .unwrap()
                .contains(&"pages_user".into())
        };
        assert!(noted(&store));
        // Rolled back with the transaction: the index and its note as they were.
        store.begin().unwrap();
        store.last_page_view(1).unwrap();
        assert!(index_sql(&store, "pages_user").is_some());
        assert!(!noted(&store));
        store.rollback().unwrap();
        assert_eq!(index_sql(&store, "pages_user"), None);
        assert!(noted(&store));
        // Committed: kept, and the next load's end has nothing to build for it.
        store.begin().unwrap();
        store.last_page_view(1).unwrap();
        store.commit().unwrap();
        assert!(index_sql(&store, "pages_user").is_some());
        assert!(!noted(&store));
        assert_eq!(
            store.deferred_indexes().unwrap().len(),
            DEFERRABLE.len() - 1
        );
        // Asked again with the index there: nothing to do, the page cache as it was.
        store.begin().unwrap();
        store.need_index("pages_user").unwrap();
        store.commit().unwrap();
        let cache: i64 = store
            .conn()
            .pragma_query_value(None, "cache_size", |r| r.get(0))
            .unwrap();
        assert_eq!(cache, -i64::from(crate::store::DEFAULT_CACHE_MIB) * 1024);
        // The other deferred indexes wait for the load's end.
        assert_eq!(index_sql(&store, "events_user"), None);
    }

    #[test]
    fn stored_bytes_are_the_pages_in_use_of_every_table() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let empty = store.stored_bytes().unwrap();
        assert!(empty > 0);
        // Profiles alone (no page views or events) make a database large too.
        let blob = "x".repeat(4000);
        store.begin().unwrap();
        for i in 0..100 {
            store
                .conn()
                .execute(
                    "INSERT INTO users (user_id, user_agent, created_at, updated_at)
                     VALUES (?1, ?2, 't', 't')",
                    rusqlite::params![format!("u{i}"), blob],
                )
                .unwrap();
        }
        store.commit().unwrap();
        let full = store.stored_bytes().unwrap();
        assert!(full >= empty + 100 * 4000, "{empty} -> {full}");
        // Freed pages are not held.
        store.conn().execute("DELETE FROM users", []).unwrap();
        assert!(store.stored_bytes().unwrap() < full - 100 * 4000);
    }
}
