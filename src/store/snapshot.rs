//! Reading a database without changing it, and its whole derived state as a
//! [`Snapshot`].

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

use super::{BUSY_TIMEOUT, Store, migrations};
use crate::semantics::attributes::{AttrType, Scalar};
use crate::semantics::company::CompanyField;
use crate::semantics::profile::{Record, UserField};
use crate::semantics::snapshot::{
    CompanySnapshot, Definition, FORMAT, Snapshot, Typed, UserSnapshot,
};
use crate::semantics::time::format_timestamp;

/// The oldest schema version this build reads (older ones are migrated in memory).
const OLDEST_READABLE: i64 = 1;

impl Store {
    /// Opens an existing database for reading only: nothing is created, migrated or
    /// written. A file that no connection has open (no `-wal` or `-journal` beside it)
    /// is read as immutable, so not even SQLite's `-wal`/`-shm` files are created; one
    /// that is open elsewhere is read through its write-ahead log. An older schema is
    /// read from a copy in memory, migrated there; a newer one is refused.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        let usage = |msg: String| anyhow::Error::new(crate::Error::Usage(msg));
        if !path.is_file() {
            return Err(usage(format!("{}: no such database file", path.display())));
        }
        let absolute = path
            .canonicalize()
            .with_context(|| format!("reading {}", path.display()))?;
        let beside = |suffix: &str| {
            let mut name = absolute.clone().into_os_string();
            name.push(suffix);
            Path::new(&name).exists()
        };
        let live = beside("-wal") || beside("-journal");
        let mut uri = url::Url::from_file_path(&absolute)
            .map_err(|()| usage(format!("{}: not a file path", path.display())))?;
        uri.set_query(Some(if live {
            "mode=ro"
        } else {
            "mode=ro&immutable=1"
        }));
        let conn = Connection::open_with_flags(
            uri.as_str(),
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("opening {} read-only", path.display()))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let not_usercom = || usage(format!("{}: not a usercom database", path.display()));
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|_| not_usercom())?;
        let has_users: bool = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'users'",
                [],
                |r| r.get(0),
            )
            .map_err(|_| not_usercom())?;
        if version < OLDEST_READABLE || !has_users {
            return Err(not_usercom());
        }
        if version > migrations::SCHEMA_VERSION {
            return Err(usage(format!(
                "{}: schema version {version} is newer than this usercom reads ({}): \
                 upgrade usercom",
                path.display(),
                migrations::SCHEMA_VERSION
            )));
        }
        super::query::register_functions(&conn)?;
        if version == migrations::SCHEMA_VERSION {
            return Ok(Store { conn });
        }
        // An older schema is copied into memory and brought up to date there, so that
        // it reads as this build's (the file itself is left as it is).
        let mut copy = Connection::open_in_memory()?;
        rusqlite::backup::Backup::new(&conn, &mut copy)?.run_to_completion(
            1024,
            std::time::Duration::from_millis(10),
            None,
        )?;
        drop(conn);
        super::query::register_functions(&copy)?;
        super::messages::register_functions(&copy)?;
        migrations::migrate(&mut copy)
            .with_context(|| format!("reading {} (an older schema)", path.display()))?;
        Ok(Store { conn: copy })
    }

    /// The whole derived state, read in one transaction. `with_times` adds the
    /// profiles' `created_at`/`updated_at` and the definitions' creation times.
    pub fn state_snapshot(&self, with_times: bool) -> Result<Snapshot> {
        self.snapshot(|store| store.read_snapshot(with_times))
    }

    fn read_snapshot(&self, with_times: bool) -> Result<Snapshot> {
        let defs = self.attribute_defs()?;
        let types: HashMap<i64, (String, AttrType)> = defs
            .iter()
            .map(|d| (d.id, (d.name.clone(), d.ty)))
            .collect();
        let attributes = |record: &Record| -> BTreeMap<String, Typed> {
            record
                .attributes
                .iter()
                .filter_map(|(id, lww)| {
                    let (name, ty) = types.get(id)?;
                    let value = lww.value.as_ref()?;
                    Some((
                        name.clone(),
                        Typed {
                            ty: ty.as_str().to_string(),
                            value: value.to_json(*ty),
                        },
                    ))
                })
                .collect()
        };
        let times = |record: &Record| {
            with_times.then(|| {
                (
                    format_timestamp(record.created_at),
                    format_timestamp(record.updated_at),
                )
            })
        };

        let mut users = Vec::new();
        for id in self.user_refs()? {
            let profile = self.load_user(id)?;
            let fields = UserField::ALL
                .iter()
                .filter_map(|f| match profile.field(*f)? {
                    Scalar::Text(s) => Some((f.name().to_string(), Value::String(s.to_string()))),
                    other => Some((f.name().to_string(), other.as_json())),
                })
                .collect();
            let (created_at, updated_at) = times(&profile.record).unzip();
            users.push(UserSnapshot {
                anonymous_ids: self.strings(
                    "SELECT a.anonymous_id FROM anonymous_ids a JOIN users u ON u.id = a.user_ref
                     WHERE coalesce(u.owner_ref, u.id) = ?1 ORDER BY 1",
                    id,
                )?,
                attributes: attributes(&profile.record),
                companies: self.user_companies(id)?,
                created_at,
                events: self.event_counts(id)?,
                fields,
                last_seen: profile.last_seen.map(format_timestamp),
                page_views: profile.page_views,
                updated_at,
                user_id: profile.user_id,
            });
        }

        let mut companies = Vec::new();
        for id in self.company_refs()? {
            let company = self.load_company(id)?;
            let fields = CompanyField::ALL
                .iter()
                .filter_map(|f| {
                    let value = company.record.field(f.index())?;
                    let ty = if *f == CompanyField::Employees {
                        AttrType::Number
                    } else {
                        AttrType::String
                    };
                    Some((f.name().to_string(), value.to_json(ty)))
                })
                .collect();
            let (created_at, updated_at) = times(&company.record).unzip();
            companies.push(CompanySnapshot {
                attributes: attributes(&company.record),
                created_at,
                fields,
                group_id: company.group_id,
                members: self.strings(
                    "SELECT DISTINCT coalesce(u.user_id, u.anonymous_id, '') FROM member_of m
                     JOIN users u ON u.id = m.user_ref WHERE m.company_ref = ?1 ORDER BY 1",
                    id,
                )?,
                updated_at,
            });
        }

        let attribute_definitions = defs
            .into_iter()
            .map(|d| Definition {
                created_at: with_times.then_some(d.created_at),
                event: d.event,
                name: d.name,
                origin: d.origin.as_str().to_string(),
                scope: d.scope.as_str().to_string(),
                ty: d.ty.as_str().to_string(),
            })
            .collect();
        let mut snapshot = Snapshot {
            attribute_definitions,
            companies,
            users,
            usercom_snapshot: FORMAT,
        };
        snapshot.canonicalize();
        Ok(snapshot)
    }

    fn strings(&self, sql: &str, owner: i64) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare_cached(sql)?;
        let rows = stmt.query_map([owner], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn event_counts(&self, user: i64) -> Result<BTreeMap<String, i64>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT name, count(*) FROM events WHERE user_ref = ?1 GROUP BY name",
        )?;
        let rows = stmt.query_map([user], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
