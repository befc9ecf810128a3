//! What an ingest changed: the database compared with a snapshot taken before it (a dry
//! run ingests into a copy and reports this).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::{Connection, OpenFlags, config::DbConfig};
use serde::Serialize;

use super::Store;
use super::migrations::SCHEMA_VERSION;

/// Changes to one kind of profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProfileChanges {
    pub created: u64,
    /// Profiles that existed before and whose fields or attributes changed.
    pub changed: u64,
    /// Profiles that existed before and are gone (merged into another).
    pub merged_away: u64,
    /// Per standard field: the profiles that existed before whose value changed.
    pub fields: BTreeMap<String, u64>,
    /// Per custom attribute: the profiles that existed before whose value was set or
    /// changed.
    pub attributes: BTreeMap<String, u64>,
}

/// A custom attribute that did not exist before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewAttribute {
    pub scope: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub event: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// What differs between a snapshot and the database now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub users: ProfileChanges,
    pub companies: ProfileChanges,
    pub events_added: u64,
    pub page_views_added: u64,
    pub attributes_created: Vec<NewAttribute>,
}

/// Columns that change whenever a profile is touched, not facts about it.
const BOOKKEEPING: [&str; 4] = ["id", "created_at", "updated_at", "field_clocks"];

impl Store {
    /// Copies the database at `path` into the new file `into` (a consistent snapshot;
    /// in WAL mode other writers go on meanwhile). Nothing is written to `path`: a file
    /// whose schema is not this build's is refused, not migrated.
    pub fn copy_snapshot(path: &Path, into: &Path) -> Result<()> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("opening database {}", path.display()))?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
        conn.busy_timeout(super::BUSY_TIMEOUT)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .context("not a usercom database (or not a database at all)")?;
        if version != SCHEMA_VERSION {
            anyhow::bail!(crate::Error::Usage(format!(
                "{} has schema version {version} and this usercom writes {SCHEMA_VERSION}: a dry \
                 run changes nothing, so it does not migrate it; run a command on it without \
                 --dry-run first (e.g. `usercom --db {} keys list`)",
                path.display(),
                path.display()
            )));
        }
        conn.execute("VACUUM INTO ?1", [into.to_string_lossy()])
            .with_context(|| format!("copying {} for a dry run", path.display()))?;
        Ok(())
    }

    /// What changed since the snapshot at `before` was taken.
    pub fn changes_since(&self, before: &Path) -> Result<Changes> {
        let conn = self.conn();
        conn.execute("ATTACH DATABASE ?1 AS before", [before.to_string_lossy()])?;
        let changes = (|| -> Result<Changes> {
            Ok(Changes {
                users: profile_changes(conn, "users", "user_attributes", "user_ref")?,
                companies: profile_changes(conn, "companies", "company_attributes", "company_ref")?,
                events_added: added(conn, "events")?,
                page_views_added: added(conn, "pages")?,
                attributes_created: new_attributes(conn)?,
            })
        })();
        conn.execute("DETACH DATABASE before", [])?;
        changes
    }
}

fn count(conn: &Connection, sql: &str) -> Result<u64> {
    Ok(conn.query_row(sql, [], |r| r.get::<_, i64>(0))?.max(0) as u64)
}

fn added(conn: &Connection, table: &str) -> Result<u64> {
    count(
        conn,
        &format!(
            "SELECT (SELECT count(*) FROM main.{table}) - (SELECT count(*) FROM before.{table})"
        ),
    )
}

fn new_attributes(conn: &Connection) -> Result<Vec<NewAttribute>> {
    let mut stmt = conn.prepare(
        "SELECT scope, event, name, type FROM main.attribute_defs
         WHERE id NOT IN (SELECT id FROM before.attribute_defs) ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(NewAttribute {
            scope: r.get(0)?,
            event: r.get(1)?,
            name: r.get(2)?,
            kind: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The table's columns that hold facts about a profile.
fn fact_columns(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA main.table_info({table})"))?;
    let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
    Ok(names
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|n| !BOOKKEEPING.contains(&n.as_str()))
        .collect())
}

fn profile_changes(
    conn: &Connection,
    table: &str,
    attributes: &str,
    owner: &str,
) -> Result<ProfileChanges> {
    let columns = fact_columns(conn, table)?;
    let differs: Vec<String> = columns
        .iter()
        .map(|c| format!("a.\"{c}\" IS NOT b.\"{c}\""))
        .collect();
    let attr_changed = format!(
        "EXISTS (SELECT 1 FROM main.{attributes} x LEFT JOIN before.{attributes} y
                 ON y.{owner} = x.{owner} AND y.attr_id = x.attr_id
                 WHERE x.{owner} = a.id AND (y.{owner} IS NULL OR x.value IS NOT y.value))"
    );
    let mut changes = ProfileChanges {
        created: count(
            conn,
            &format!(
                "SELECT count(*) FROM main.{table} WHERE id NOT IN (SELECT id FROM before.{table})"
            ),
        )?,
        merged_away: count(
            conn,
            &format!(
                "SELECT count(*) FROM before.{table} WHERE id NOT IN (SELECT id FROM main.{table})"
            ),
        )?,
        changed: count(
            conn,
            &format!(
                "SELECT count(*) FROM main.{table} a JOIN before.{table} b ON b.id = a.id
                 WHERE {} OR {attr_changed}",
                differs.join(" OR ")
            ),
        )?,
        ..ProfileChanges::default()
    };
    let sums: Vec<String> = differs.iter().map(|d| format!("total({d})")).collect();
    let sql = format!(
        "SELECT {} FROM main.{table} a JOIN before.{table} b ON b.id = a.id",
        sums.join(", ")
    );
    conn.query_row(&sql, [], |r| {
        for (i, column) in columns.iter().enumerate() {
            let n = r.get::<_, f64>(i)? as u64;
            if n > 0 {
                changes.fields.insert(column.clone(), n);
            }
        }
        Ok(())
    })?;
    let mut stmt = conn.prepare(&format!(
        "SELECT CASE WHEN d.event = '' THEN d.name ELSE d.event || '.' || d.name END, count(*)
         FROM main.{attributes} x
         JOIN main.attribute_defs d ON d.id = x.attr_id
         JOIN before.{table} p ON p.id = x.{owner}
         LEFT JOIN before.{attributes} y ON y.{owner} = x.{owner} AND y.attr_id = x.attr_id
         WHERE y.{owner} IS NULL OR x.value IS NOT y.value
         GROUP BY 1"
    ))?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (name, n) = row?;
        changes.attributes.insert(name, n as u64);
    }
    Ok(changes)
}
