//! Users: the filters of `users list` (and `GET /v1/users`), one user with its latest
//! activity, and the rows as JSON, CSV or table cells.

use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Listing, Window};
use crate::Error;
use crate::output::{Format, ListSink, cell};
use crate::semantics::attributes::{AttrType, Scope};
use crate::semantics::filter::{FilterError, Schema, When, parse_when, predicate, sort_key};
use crate::semantics::profile::UserField;
use crate::store::{EventCondition, EventRow, HistoryQuery, PageRow, Store, UserQuery, UserView};

/// Which users, as text (flags or query parameters); every condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct UserFilter {
    /// `FIELD OP VALUE` expressions (`--where`).
    #[serde(rename = "where")]
    pub filters: Vec<String>,
    pub did: Vec<String>,
    pub not_did: Vec<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub at_least: Option<u64>,
    pub visited: Vec<String>,
    pub not_visited: Vec<String>,
    pub in_company: Vec<String>,
    pub seen_since: Option<String>,
    /// `FIELD[:desc]`.
    pub sort: Option<String>,
}

/// A typed user query, and warnings about it (an event never recorded).
pub struct Checked {
    pub query: UserQuery,
    pub warnings: Vec<String>,
}

/// The profile's row id, or a NotFound error that says what was looked for.
pub fn resolve(store: &Store, id: &str) -> Result<i64> {
    store.find_user(id)?.ok_or_else(|| {
        Error::NotFound(format!(
            "no user with userId, anonymousId or email {id:?} (see `usercom users list`)"
        ))
        .into()
    })
}

/// A filter problem is a usage error (exit 2, HTTP 400).
pub fn usage(e: FilterError) -> anyhow::Error {
    Error::Usage(e.0).into()
}

/// A time given to `flag`, or a usage error that names the flag.
pub fn when(flag: &str, text: &str, now: DateTime<Utc>) -> Result<When> {
    parse_when(text, now).map_err(|e| Error::Usage(format!("{flag}: {e}")).into())
}

/// Builds the store query, checking every name and value.
pub fn user_query(store: &Store, f: &UserFilter, now: DateTime<Utc>) -> Result<Checked> {
    let schema = Schema::users(store.attribute_schema(Scope::User)?);
    let predicates = f
        .filters
        .iter()
        .map(|e| predicate(e, &schema, now).map_err(usage))
        .collect::<Result<Vec<_>>>()?;
    if f.did.is_empty() && f.not_did.is_empty() {
        for (flag, given) in [
            ("--since", f.since.is_some()),
            ("--until", f.until.is_some()),
            ("--at-least", f.at_least.is_some()),
        ] {
            if given {
                return Err(Error::Usage(format!(
                    "{flag} qualifies --did or --not-did; give one (for last_seen use \
                     --seen-since or --where 'last_seen>=...')"
                ))
                .into());
            }
        }
    }
    if f.at_least == Some(0) {
        return Err(Error::Usage("--at-least must be 1 or more".into()).into());
    }
    let since = f
        .since
        .as_deref()
        .map(|t| when("--since", t, now))
        .transpose()?;
    let until = f
        .until
        .as_deref()
        .map(|t| when("--until", t, now))
        .transpose()?;
    let mut warnings = Vec::new();
    let mut condition = |name: &String| -> Result<EventCondition> {
        if !store.event_recorded(name)? {
            warnings.push(format!("no event named {name:?} has been recorded"));
        }
        Ok(EventCondition {
            name: name.clone(),
            since: since.map(|w| w.since()),
            until: until.map(|w| w.until()),
            at_least: f.at_least.unwrap_or(1),
        })
    };
    let did = f.did.iter().map(&mut condition).collect::<Result<_>>()?;
    let not_did = f
        .not_did
        .iter()
        .map(&mut condition)
        .collect::<Result<_>>()?;
    let in_company = f
        .in_company
        .iter()
        .map(|g| {
            store.company_ref(g)?.ok_or_else(|| {
                Error::NotFound(format!(
                    "--in-company: no company with groupId {g:?} (see `usercom companies list`)"
                ))
                .into()
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let lower = |v: &Vec<String>| v.iter().map(|s| s.to_lowercase()).collect();
    let query = UserQuery {
        predicates,
        did,
        not_did,
        visited: lower(&f.visited),
        not_visited: lower(&f.not_visited),
        in_company,
        seen_since: f
            .seen_since
            .as_deref()
            .map(|t| when("--seen-since", t, now).map(|w| w.since()))
            .transpose()?,
        sort: f
            .sort
            .as_deref()
            .map(|s| sort_key(s, &schema).map_err(usage))
            .transpose()?,
        limit: None,
        offset: 0,
    };
    Ok(Checked { query, warnings })
}

impl Listing for UserQuery {
    type Row = UserView;

    fn window(&self, window: Window) -> UserQuery {
        UserQuery {
            limit: window.limit,
            offset: window.offset,
            ..self.clone()
        }
    }

    fn count(&self, store: &Store) -> Result<u64> {
        store.count_users(self)
    }

    fn each(&self, store: &Store, f: &mut dyn FnMut(UserView) -> Result<()>) -> Result<()> {
        store.for_each_user(self, f)
    }
}

/// `users show --json` and `GET /v1/users/{id}`: the profile and its latest activity.
#[derive(Debug, Serialize)]
pub struct UserDetail {
    #[serde(flatten)]
    pub user: UserView,
    pub recent_events: Vec<EventRow>,
    pub recent_pages: Vec<PageRow>,
}

/// One user (by userId, anonymousId or email) with the `recent` latest events and page
/// views.
pub fn detail(store: &Store, id: &str, recent: u64) -> Result<UserDetail> {
    store.snapshot(|store| detail_now(store, id, recent))
}

fn detail_now(store: &Store, id: &str, recent: u64) -> Result<UserDetail> {
    let user_ref = resolve(store, id)?;
    let user = store.user_view(user_ref)?;
    // The latest activity, through the user's index (newest first).
    let latest = HistoryQuery {
        user_ref: Some(user_ref),
        limit: Some(recent),
        newest_first: true,
        ..HistoryQuery::default()
    };
    let mut recent_events = Vec::new();
    store.for_each_event(&latest, |e| {
        recent_events.push(e);
        Ok(())
    })?;
    let mut recent_pages = Vec::new();
    store.for_each_page(&latest, |p| {
        recent_pages.push(p);
        Ok(())
    })?;
    Ok(UserDetail {
        user,
        recent_events,
        recent_pages,
    })
}

/// The columns after the standard fields.
const EXTRA_COLUMNS: [&str; 5] = [
    "page_views",
    "last_seen",
    "companies",
    "created_at",
    "updated_at",
];

/// CSV columns: every profile field, then one column per custom attribute
/// (`attributes.NAME`), whether or not any listed user has a value.
pub fn csv_headers(attributes: &[(String, i64, AttrType)]) -> Vec<String> {
    let mut headers: Vec<String> = vec!["user_id".into()];
    headers.extend(field_names().map(String::from));
    headers.extend(EXTRA_COLUMNS.map(String::from));
    let mut names: Vec<&String> = attributes.iter().map(|(name, _, _)| name).collect();
    names.sort();
    headers.extend(names.into_iter().map(|a| format!("attributes.{a}")));
    headers
}

/// `--columns`: each a field, a pseudo-column, or a custom attribute (as
/// `attributes.NAME`).
pub fn columns(wanted: &[String], attributes: &[(String, i64, AttrType)]) -> Result<Vec<String>> {
    let known: Vec<&str> = ["user_id"]
        .into_iter()
        .chain(field_names())
        .chain(EXTRA_COLUMNS)
        .chain(["name", "attributes", "attribute_count"])
        .collect();
    let is_attribute = |name: &str| attributes.iter().any(|(a, _, _)| a == name);
    wanted
        .iter()
        .map(|column| {
            let column = column.trim();
            if known.contains(&column)
                || column.strip_prefix("attributes.").is_some_and(is_attribute)
            {
                Ok(column.to_string())
            } else if is_attribute(column) {
                Ok(format!("attributes.{column}"))
            } else {
                Err(Error::Usage(format!(
                    "--columns: unknown column {column:?}: use profile fields ({}), custom \
                     attributes (see `usercom attrs list --scope user`), name, companies, \
                     attributes or attribute_count",
                    known[..known.len() - 3]
                        .iter()
                        .filter(|c| **c != "companies")
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .into())
            }
        })
        .collect()
}

fn field_names() -> impl Iterator<Item = &'static str> {
    UserField::ALL.into_iter().map(|f| f.name())
}

/// A JSON value as plain text (strings without quotes).
pub fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One CSV or table cell of a user.
pub fn cell_of(user: &UserView, header: &str) -> String {
    match header {
        "user_id" => cell(user.user_id.as_deref()),
        "page_views" => user.page_views.to_string(),
        "last_seen" => cell(user.last_seen.as_deref()),
        "companies" => user.companies.join(" "),
        "created_at" => user.created_at.clone(),
        "updated_at" => user.updated_at.clone(),
        "attributes" => user
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={}", plain(v)))
            .collect::<Vec<_>>()
            .join(" "),
        "attribute_count" => user.attributes.len().to_string(),
        "name" => [
            user.field(UserField::FirstName),
            user.field(UserField::LastName),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" "),
        other => match other.strip_prefix("attributes.") {
            Some(attr) => user.attributes.get(attr).map(plain).unwrap_or_default(),
            None => user
                .fields()
                .find(|(f, _)| f.name() == other)
                .map(|(_, v)| cell(v))
                .unwrap_or_default(),
        },
    }
}

/// Writes every user of `query` to `out` in `format` (CSV with every column) and
/// returns how many: what `users list --json/--ndjson/--csv` prints.
pub fn write(
    store: &Store,
    query: &UserQuery,
    format: Format,
    out: Box<dyn Write + '_>,
) -> Result<usize> {
    let headers = csv_headers(&store.attribute_schema(Scope::User)?);
    let mut sink = ListSink::to_writer(format, headers, out)?;
    store.for_each_user(query, |user| {
        sink.push(&user, |headers| {
            headers.iter().map(|h| cell_of(&user, h)).collect()
        })
    })?;
    sink.finish()
}
