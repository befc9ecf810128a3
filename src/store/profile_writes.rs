//! Writing profiles: a user's row and the attributes of users and companies. A flush
//! writes many, so the statements are prepared once for all of them ([`ProfileWriter`]).

use std::sync::LazyLock;

use anyhow::Result;
use rusqlite::{CachedStatement, ToSql, params};

use super::Store;
use super::users::FIELD_COLUMNS;
use crate::ingest::packed::pack_shadows;
use crate::semantics::attributes::Scalar;
use crate::semantics::lww::pack_clocks;
use crate::semantics::profile::{Record, UserField, UserProfile};
use crate::semantics::time::format_timestamp;

/// The columns of a user's row after its standard fields, in the order of the
/// statements' parameters (`id` is ?1, `user_id` ?2, the standard fields ?3 on).
const ROW_TAIL: [&str; 9] = [
    "page_views",
    "last_seen",
    "created_at",
    "updated_at",
    "field_clocks",
    "owner_ref",
    "claim_ms",
    "claim_tie",
    "shadows",
];

/// Updates a user's row by id; `keys`: userId and email too (else they are left out,
/// and so is the upkeep of their indexes: SQLite rewrites the index entries of every
/// column it sets; their parameters go unused).
fn update_user_sql(keys: bool) -> String {
    let fields = UserField::ALL
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name(), i + 3));
    let tail = ROW_TAIL
        .iter()
        .enumerate()
        .map(|(i, name)| (*name, UserField::ALL.len() + 3 + i));
    let sets: Vec<String> = (keys.then_some(("user_id", 2)).into_iter())
        .chain(fields.filter(|(name, _)| keys || *name != UserField::Email.name()))
        .chain(tail)
        .map(|(name, n)| format!("{name} = ?{n}"))
        .collect();
    format!("UPDATE users SET {} WHERE id = ?1", sets.join(", "))
}

static UPDATE_USER: LazyLock<String> = LazyLock::new(|| update_user_sql(true));

/// [`UPDATE_USER`] for when neither userId nor email changed.
static UPDATE_USER_SAME_KEYS: LazyLock<String> = LazyLock::new(|| update_user_sql(false));

/// The same parameters as [`UPDATE_USER`], for a profile not yet in the table.
static INSERT_USER: LazyLock<String> = LazyLock::new(|| {
    let n = 2 + UserField::ALL.len() + ROW_TAIL.len();
    let placeholders: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO users (id, user_id, {}, {}) VALUES ({})",
        *FIELD_COLUMNS,
        ROW_TAIL.join(", "),
        placeholders.join(", ")
    )
});

/// How a profile's row is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowWrite {
    Insert,
    Update,
    /// An update that changes neither userId nor email.
    Refresh,
}

/// The statements that write profiles, prepared once for as many profiles as are
/// written together.
pub struct ProfileWriter<'s> {
    insert: CachedStatement<'s>,
    update: CachedStatement<'s>,
    refresh: CachedStatement<'s>,
    user_attributes: CachedStatement<'s>,
}

impl Store {
    /// Writes of many profiles, one after the other.
    pub fn profile_writer(&self) -> Result<ProfileWriter<'_>> {
        Ok(ProfileWriter {
            insert: self.conn().prepare_cached(&INSERT_USER)?,
            update: self.conn().prepare_cached(&UPDATE_USER)?,
            refresh: self.conn().prepare_cached(&UPDATE_USER_SAME_KEYS)?,
            user_attributes: self.conn().prepare_cached(AttrTable::USER.upsert)?,
        })
    }

    /// Writes one profile's row and the given attributes (see [`ProfileWriter::save_user`]).
    pub fn save_user(
        &self,
        user: &UserProfile,
        write: RowWrite,
        attributes: impl IntoIterator<Item = i64>,
    ) -> Result<()> {
        self.profile_writer()?.save_user(user, write, attributes)
    }

    pub(crate) fn save_attributes(
        &self,
        table: AttrTable,
        owner: i64,
        record: &Record,
        attributes: impl IntoIterator<Item = i64>,
    ) -> Result<()> {
        let mut stmt = self.conn().prepare_cached(table.upsert)?;
        write_attributes(&mut stmt, owner, record, attributes)
    }
}

impl ProfileWriter<'_> {
    /// Writes a profile's row and the given attributes: `Insert` when it is not in the
    /// table yet, `Update` when its userId or email may have changed, else `Refresh`.
    pub fn save_user(
        &mut self,
        user: &UserProfile,
        write: RowWrite,
        attributes: impl IntoIterator<Item = i64>,
    ) -> Result<()> {
        let stmt = match write {
            RowWrite::Insert => &mut self.insert,
            RowWrite::Update => &mut self.update,
            RowWrite::Refresh => &mut self.refresh,
        };
        let texts: Vec<Option<&str>> = (0..UserField::ALL.len())
            .map(|i| match user.record.field(i) {
                Some(Scalar::Text(s)) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        let last_seen = user.last_seen.map(format_timestamp);
        let created_at = format_timestamp(user.record.created_at);
        let updated_at = format_timestamp(user.record.updated_at);
        let clocks = pack_clocks(&user.record.fields);
        let owner = user.owner.map(|(owner, _)| owner);
        let claim = user.owner.map(|(_, clock)| (clock.millis, clock.tie));
        let (claim_ms, claim_tie) = (claim.map(|c| c.0), claim.map(|c| c.1));
        let shadows = pack_shadows(user.shadows.as_ref());
        let mut params: Vec<&dyn ToSql> = Vec::with_capacity(texts.len() + 11);
        params.push(&user.id);
        params.push(&user.user_id);
        params.extend(texts.iter().map(|t| t as &dyn ToSql));
        params.push(&user.page_views);
        params.push(&last_seen);
        params.push(&created_at);
        params.push(&updated_at);
        params.push(&clocks);
        params.push(&owner);
        params.push(&claim_ms);
        params.push(&claim_tie);
        params.push(&shadows);
        stmt.execute(params.as_slice())?;
        write_attributes(&mut self.user_attributes, user.id, &user.record, attributes)
    }
}

/// Upserts the given attributes of `record` (those it holds) with `upsert`.
fn write_attributes(
    upsert: &mut CachedStatement<'_>,
    owner: i64,
    record: &Record,
    attributes: impl IntoIterator<Item = i64>,
) -> Result<()> {
    for attr in attributes {
        if let Some(lww) = record.attributes.get(&attr) {
            upsert.execute(params![
                owner,
                attr,
                lww.value,
                lww.clock.millis,
                lww.clock.tie
            ])?;
        }
    }
    Ok(())
}

/// The attribute value table of users or of companies.
#[derive(Clone, Copy)]
pub(crate) struct AttrTable {
    pub(crate) select: &'static str,
    upsert: &'static str,
}

/// An attribute table's statements, written once for both tables at compile time.
macro_rules! attr_table {
    ($table:literal, $owner:literal) => {
        AttrTable {
            select: concat!(
                "SELECT attr_id, value, clock_ms, clock_tie FROM ",
                $table,
                " WHERE ",
                $owner,
                " = ?1"
            ),
            upsert: concat!(
                "INSERT INTO ",
                $table,
                " (",
                $owner,
                ", attr_id, value, clock_ms, clock_tie)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (",
                $owner,
                ", attr_id) DO UPDATE SET
                 value = excluded.value, clock_ms = excluded.clock_ms, clock_tie = excluded.clock_tie"
            ),
        }
    };
}

impl AttrTable {
    pub(crate) const USER: AttrTable = attr_table!("user_attributes", "user_ref");
    pub(crate) const COMPANY: AttrTable = attr_table!("company_attributes", "company_ref");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_attribute_table_s_statements_name_its_own_table_and_owner() {
        for (table, name, owner) in [
            (AttrTable::USER, "user_attributes", "user_ref"),
            (AttrTable::COMPANY, "company_attributes", "company_ref"),
        ] {
            assert_eq!(
                table.select,
                format!(
                    "SELECT attr_id, value, clock_ms, clock_tie FROM {name} WHERE {owner} = ?1"
                )
            );
            assert!(
                table
                    .upsert
                    .starts_with(&format!("INSERT INTO {name} ({owner}, attr_id,"))
            );
            assert!(
                table
                    .upsert
                    .contains(&format!("ON CONFLICT ({owner}, attr_id) DO UPDATE"))
            );
        }
    }

    #[test]
    fn the_update_statements_set_every_column_the_insert_writes_but_the_keys() {
        let insert = INSERT_USER.replace(['\n', ' '], "");
        let columns: Vec<&str> = insert
            .split_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(cols, _)| cols.split(',').collect())
            .unwrap();
        for (sql, keys) in [(&*UPDATE_USER, true), (&*UPDATE_USER_SAME_KEYS, false)] {
            for (i, column) in columns.iter().enumerate().skip(1) {
                let set = format!("{column} = ?{}", i + 1);
                let key = *column == "user_id" || *column == "email";
                assert_eq!(sql.contains(&set), keys || !key, "{set} in {sql}");
            }
            assert!(sql.ends_with("WHERE id = ?1"));
        }
    }
}
