//! The SQLite file: opening it, its schema, and typed reads and writes.
//! Nothing here prints; every statement is parameterised.

mod attributes;
mod changes;
mod checkpoints;
mod companies;
mod domains;
mod explain;
mod history;
mod indexes;
mod keys;
mod messages;
mod migrations;
mod owners;
mod profile_writes;
mod provenance;
mod query;
mod rejections;
mod snapshot;
mod stats;
mod status;
mod users;
mod values;

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{Connection, OpenFlags};

pub use attributes::{AttrDef, Origin, Redefinition, UnconvertedValue};
pub use changes::{Changes, NewAttribute, ProfileChanges};
pub use checkpoints::Checkpoint;
pub use companies::CompanyView;
pub use domains::DomainRow;
pub use explain::{EventRef, Explained, Explanation, HistoryEntry};
pub use history::{EventRow, NewPage, PageRow};
pub use keys::{KeyKind, KeyRow, KeyStatus};
pub use messages::{MessageKey, message_key};
pub use migrations::SCHEMA_VERSION;
pub use profile_writes::{ProfileWriter, RowWrite};
pub use provenance::{ProvenanceBatch, ProvenanceEvent, ProvenanceRow, company_owner, user_owner};
pub use query::{Bucket, CompanyQuery, EventCondition, HistoryQuery, StatRow, UserQuery};
pub use rejections::{
    MAX_RAW_BYTES, NewRejection, Outcome as RejectionOutcome, RejectionQuery, RejectionRow,
};
pub use status::{Counts, RESET_TABLES};
pub use users::UserView;

/// An open usercom database.
pub struct Store {
    conn: Connection,
}

/// The page cache an ingest gets unless told otherwise, in MiB.
pub const DEFAULT_CACHE_MIB: u32 = 20;

/// Where SQLite keeps temporary tables and sorts (the index builds of a large load
/// set it aside: `store::indexes`).
const TEMP_STORE: &str = "MEMORY";

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(120);

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        if path.is_dir() {
            anyhow::bail!(crate::Error::Usage(format!(
                "{} is a directory; give --db a file path",
                path.display()
            )));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| {
            format!(
                "opening database {}: check that its directory exists and is writable, or \
                 choose another file with --db",
                path.display()
            )
        })?;
        Store::setup(conn).with_context(|| format!("opening database {}", path.display()))
    }

    /// A private in-memory database (tests, benchmarks).
    pub fn open_in_memory() -> Result<Store> {
        Store::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<Store> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .context("not a usercom database (or not a database at all)")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "temp_store", TEMP_STORE)?;
        conn.pragma_update(None, "cache_size", -i64::from(DEFAULT_CACHE_MIB) * 1024)?;
        // Checkpoint less often: a page changed by many batches is copied back once.
        conn.pragma_update(None, "wal_autocheckpoint", 8_000)?;
        conn.set_prepared_statement_cache_capacity(64);
        query::register_functions(&conn)?;
        messages::register_functions(&conn)?;
        migrations::migrate(&mut conn)?;
        Ok(Store { conn })
    }

    /// Sets the page cache size (SQLite takes the memory as pages are used).
    pub fn set_cache_mib(&self, mib: u32) -> Result<()> {
        self.conn
            .pragma_update(None, "cache_size", -i64::from(mib) * 1024)
            .context("setting the page cache size")
    }

    /// Starts a write transaction, taking the write lock at once (waiting for other
    /// writers up to the busy timeout).
    pub fn begin(&self) -> Result<()> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .context("starting a write transaction")
    }

    pub fn commit(&self) -> Result<()> {
        self.conn.execute_batch("COMMIT").context("committing")
    }

    pub fn rollback(&self) -> Result<()> {
        self.conn.execute_batch("ROLLBACK").context("rolling back")
    }

    /// Ends the transaction `begin` opened: commits it when `result` is Ok, else (or
    /// when the commit fails) rolls it back.
    pub(crate) fn end<T>(&self, result: Result<T>) -> Result<T> {
        let result = result.and_then(|value| self.commit().map(|()| value));
        if result.is_err() && !self.conn.is_autocommit() {
            let _ = self.rollback();
        }
        result
    }

    /// Runs `f` on one consistent view of the database (a read transaction): reads
    /// that belong together (a count and its rows, a profile and its events) never mix
    /// two commits.
    pub fn snapshot<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        if !self.conn.is_autocommit() {
            // Already inside a transaction: that is the view.
            return f(self);
        }
        self.conn
            .execute_batch("BEGIN DEFERRED")
            .context("starting a read transaction")?;
        let result = f(self);
        // A read transaction changes nothing: ending it cannot lose anything.
        let _ = self.conn.execute_batch("COMMIT");
        result
    }

    /// Changes whenever another connection commits: what was cached may be stale.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "data_version", |row| row.get(0))?)
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// The time as stored: ISO 8601 UTC, milliseconds.
pub fn now_text() -> String {
    crate::semantics::time::format_timestamp(chrono::Utc::now())
}
