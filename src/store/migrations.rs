//! Versioned schema. Each entry moves the file from version `i` to `i + 1`
//! (`PRAGMA user_version`); an existing file is migrated in place on open.

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, TransactionBehavior};

const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        user_id TEXT UNIQUE,
        anonymous_id TEXT,
        email TEXT,
        first_name TEXT,
        last_name TEXT,
        phone TEXT,
        gender TEXT,
        country TEXT,
        region TEXT,
        city TEXT,
        user_agent TEXT,
        os TEXT,
        device_name TEXT,
        device_type TEXT,
        language TEXT,
        resolution TEXT,
        ip_address TEXT,
        browser_family TEXT,
        browser_version TEXT,
        timezone TEXT,
        current_url TEXT,
        page_views INTEGER NOT NULL DEFAULT 0,
        last_seen TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        field_clocks BLOB NOT NULL DEFAULT x''
    );
    CREATE INDEX users_email ON users(email);

    -- Every anonymousId ever seen, and the profile it now belongs to.
    CREATE TABLE anonymous_ids (
        anonymous_id TEXT PRIMARY KEY,
        user_ref INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX anonymous_ids_user ON anonymous_ids(user_ref);

    CREATE TABLE attribute_defs (
        id INTEGER PRIMARY KEY,
        scope TEXT NOT NULL,
        event TEXT NOT NULL DEFAULT '',
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        origin TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (scope, event, name)
    );

    CREATE TABLE user_attributes (
        user_ref INTEGER NOT NULL,
        attr_id INTEGER NOT NULL,
        value,
        clock_ms INTEGER NOT NULL,
        clock_tie INTEGER NOT NULL,
        PRIMARY KEY (user_ref, attr_id)
    ) WITHOUT ROWID;
    CREATE INDEX user_attributes_attr ON user_attributes(attr_id, value);

    CREATE TABLE companies (
        id INTEGER PRIMARY KEY,
        group_id TEXT NOT NULL UNIQUE,
        name TEXT,
        email TEXT,
        phone TEXT,
        description TEXT,
        address TEXT,
        employees NUMERIC,
        country TEXT,
        region TEXT,
        city TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        field_clocks BLOB NOT NULL DEFAULT x''
    );

    CREATE TABLE company_attributes (
        company_ref INTEGER NOT NULL,
        attr_id INTEGER NOT NULL,
        value,
        clock_ms INTEGER NOT NULL,
        clock_tie INTEGER NOT NULL,
        PRIMARY KEY (company_ref, attr_id)
    ) WITHOUT ROWID;
    CREATE INDEX company_attributes_attr ON company_attributes(attr_id, value);

    CREATE TABLE memberships (
        company_ref INTEGER NOT NULL,
        user_ref INTEGER NOT NULL,
        since TEXT NOT NULL,
        PRIMARY KEY (company_ref, user_ref)
    ) WITHOUT ROWID;
    CREATE INDEX memberships_user ON memberships(user_ref);

    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        message_id TEXT NOT NULL,
        user_ref INTEGER NOT NULL,
        anonymous_id TEXT,
        name TEXT NOT NULL,
        timestamp TEXT NOT NULL,
        properties TEXT NOT NULL
    );
    CREATE INDEX events_user ON events(user_ref, timestamp);
    CREATE INDEX events_name ON events(name, timestamp);

    CREATE TABLE pages (
        id INTEGER PRIMARY KEY,
        message_id TEXT NOT NULL,
        user_ref INTEGER NOT NULL,
        anonymous_id TEXT,
        name TEXT,
        url TEXT,
        path TEXT,
        title TEXT,
        referrer TEXT,
        timestamp TEXT NOT NULL,
        properties TEXT NOT NULL
    );
    CREATE INDEX pages_user ON pages(user_ref, timestamp);
    CREATE INDEX pages_timestamp ON pages(timestamp);

    -- Every messageId applied: replays and overlapping files change nothing.
    CREATE TABLE messages (
        message_id TEXT PRIMARY KEY
    ) WITHOUT ROWID;

    CREATE TABLE api_keys (
        id INTEGER PRIMARY KEY,
        name TEXT,
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );

    CREATE TABLE domains (
        domain TEXT PRIMARY KEY,
        added_at TEXT NOT NULL
    );

    -- Values an attribute type change could not convert, kept to be looked at.
    CREATE TABLE unconverted_values (
        id INTEGER PRIMARY KEY,
        scope TEXT NOT NULL,
        event TEXT NOT NULL DEFAULT '',
        name TEXT NOT NULL,
        owner TEXT NOT NULL,
        value TEXT NOT NULL,
        from_type TEXT NOT NULL,
        to_type TEXT NOT NULL,
        at TEXT NOT NULL
    );
    "#,
    // 2: indexes for filtered lists and aggregates (`users list --did/--not-did/--seen-since`,
    // `events stats`). events(name, user_ref, timestamp) serves every look-up by name that
    // events(name, timestamp) served, so it replaces it: ingest keeps two event indexes.
    r#"
    CREATE INDEX users_last_seen ON users(last_seen);
    CREATE INDEX events_name_user ON events(name, user_ref, timestamp);
    DROP INDEX events_name;
    "#,
    // 3: messageIds remembered by a 16-byte hash instead of their text: the index every
    // event writes at a random place is 40% smaller.
    r#"
    CREATE TABLE message_keys (
        key BLOB PRIMARY KEY
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO message_keys (key)
        SELECT usercom_message_key(message_id) FROM messages;
    DROP TABLE messages;
    "#,
    // 4: two kinds of API key (existing keys stay write keys; admin keys also read and
    // reset), and every rejected or skipped event kept with where it came from, the
    // reason and its payload (up to Segment's per-event size).
    r#"
    ALTER TABLE api_keys ADD COLUMN kind TEXT NOT NULL DEFAULT 'write';
    CREATE TABLE rejections (
        id INTEGER PRIMARY KEY,
        received_at TEXT NOT NULL,
        outcome TEXT NOT NULL,
        source TEXT NOT NULL,
        line INTEGER,
        item INTEGER,
        remote TEXT,
        reason TEXT NOT NULL,
        raw BLOB NOT NULL,
        raw_truncated INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX rejections_received ON rejections(received_at);
    "#,
    // 5: ingest checkpoints: how far each file was read, written in the transaction that
    // commits its events, so a rerun of an interrupted back-fill skips what is done. A
    // file is known by its path, size and modification time; `offset` and `line` say
    // where reading starts again (inside a top-level array: the line it starts on and
    // the next item); `complete` marks a file read to its end.
    r#"
    CREATE TABLE IF NOT EXISTS ingest_checkpoints (
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        offset INTEGER NOT NULL,
        line INTEGER NOT NULL,
        array_line INTEGER,
        array_next INTEGER,
        complete INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (path, size, mtime_ns)
    ) WITHOUT ROWID;
    "#,
    // 6: one owner for a shared anonymousId. An anonymousId leads to its anonymous record
    // (a users row without userId), which is kept when a userId claims it: owner_ref is
    // the claiming profile, claim_ms/claim_tie the clock of its earliest linking event,
    // so that an earlier claim can take the record over. An owner's own values that its
    // records' values displaced are kept in `shadows`. Page views and events recorded on
    // a record name it in anon_ref (user_ref: its owner); memberships stay on the record
    // and reach the owner through owner_ref (the view `member_of`). Rows stored before
    // keep their meaning (an anonymousId leading to an identified profile stays there).
    r#"
    ALTER TABLE users ADD COLUMN owner_ref INTEGER;
    ALTER TABLE users ADD COLUMN claim_ms INTEGER;
    ALTER TABLE users ADD COLUMN claim_tie INTEGER;
    ALTER TABLE users ADD COLUMN shadows BLOB;
    CREATE INDEX users_owner ON users(owner_ref) WHERE owner_ref IS NOT NULL;
    ALTER TABLE pages ADD COLUMN anon_ref INTEGER;
    ALTER TABLE events ADD COLUMN anon_ref INTEGER;
    CREATE INDEX pages_anon ON pages(anon_ref) WHERE anon_ref IS NOT NULL;
    CREATE INDEX events_anon ON events(anon_ref) WHERE anon_ref IS NOT NULL;
    CREATE VIEW member_of AS
        SELECT m.company_ref, coalesce(u.owner_ref, m.user_ref) AS user_ref, m.since
        FROM memberships m JOIN users u ON u.id = m.user_ref;
    "#,
    // 7: provenance (`users explain`, `companies explain`): for every event that changed a
    // profile's field or attribute, or whose write to it lost to a newer one or was
    // ignored, one row naming the event and where it came from, with its writes packed
    // (semantics::provenance). `owner` is users.id, or minus companies.id. Sources
    // (file paths, "http") are stored once.
    r#"
    CREATE TABLE IF NOT EXISTS provenance_sources (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL UNIQUE
    );
    CREATE TABLE IF NOT EXISTS provenance (
        id INTEGER PRIMARY KEY,
        owner INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        event_ms INTEGER NOT NULL,
        source INTEGER NOT NULL,
        line INTEGER NOT NULL,
        item INTEGER,
        received_ms INTEGER NOT NULL,
        writes BLOB NOT NULL
    );
    CREATE INDEX IF NOT EXISTS provenance_owner ON provenance(owner);
    "#,
    // 8: long values that many provenance writes repeat (user agents, URLs,
    // anonymousIds), stored once and named by id in the packed writes
    // (semantics::provenance::SharedValues). Rows written before keep their values inline.
    r#"
    CREATE TABLE IF NOT EXISTS provenance_values (
        id INTEGER PRIMARY KEY,
        value TEXT NOT NULL
    );
    "#,
    // 9: the readers' indexes a large load dropped, to build them once at its end
    // (store::indexes), with the id of the process that dropped them; a load that was
    // killed leaves them named here.
    r#"
    CREATE TABLE IF NOT EXISTS deferred_indexes (
        name TEXT PRIMARY KEY,
        pid INTEGER
    ) WITHOUT ROWID;
    "#,
    // 10: page views and events stored on an anonymous record before schema 6 name it in
    // anon_ref too, as every one stored since does: a claim then finds a record's history
    // by anon_ref alone (one index, no OR of two).
    r#"
    UPDATE pages SET anon_ref = user_ref
        WHERE user_ref IN (SELECT id FROM users WHERE user_id IS NULL) AND anon_ref IS NULL;
    UPDATE events SET anon_ref = user_ref
        WHERE user_ref IN (SELECT id FROM users WHERE user_id IS NULL) AND anon_ref IS NULL;
    "#,
    // 11: when the process that dropped a deferred index started (store::indexes), so
    // that a process given the same id later is not taken for the load.
    r#"
    ALTER TABLE deferred_indexes ADD COLUMN started INTEGER;
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`SCHEMA_VERSION`], one transaction per step.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    loop {
        let current = version(conn)?;
        if current > SCHEMA_VERSION {
            bail!(
                "this database has schema version {current}, newer than this usercom \
                 understands ({SCHEMA_VERSION}): upgrade usercom"
            );
        }
        if current == SCHEMA_VERSION {
            return Ok(());
        }
        // Another process may be migrating the same file: take the write lock, then look
        // again at where the schema stands.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = version(&tx)?;
        if let Some(sql) = MIGRATIONS.get(current as usize) {
            let next = current + 1;
            tx.execute_batch(sql)
                .with_context(|| format!("migrating the database to schema version {next}"))?;
            tx.pragma_update(None, "user_version", next)?;
        }
        tx.commit()?;
    }
}

fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}
