//! `usercom users`: user profiles.

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::Error;
use crate::output::{Format, ListFormat, ListSink, cell, print_json, print_text, table};
use crate::semantics::attributes::{AttrType, Scope};
use crate::semantics::filter::{FilterError, Schema, When, parse_when, predicate, sort_key};
use crate::store::{EventCondition, EventRow, HistoryQuery, PageRow, Store, UserQuery, UserView};

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Show one user: profile, custom attributes with types, companies, latest activity.
    Show {
        /// A userId, an anonymousId or an email.
        id: String,
        /// How many latest events and page views to show.
        #[arg(long, default_value_t = 10)]
        recent: usize,
    },
    /// List users, optionally filtered by fields, attributes, events and page views.
    #[command(long_about = LIST_ABOUT)]
    List(Box<ListArgs>),
    /// Which event set each field and attribute, by which rule, and what it replaced.
    #[command(long_about = super::explain::EXPLAIN_ABOUT)]
    Explain(super::explain::ExplainArgs),
}

const LIST_ABOUT: &str = "\
List users, optionally filtered by profile fields, custom attributes, events and page views.

Every filter given must hold. Examples:
  usercom users list --where 'custom_integer>100' --where 'country=Poland'
  usercom users list --where 'order_completed_last_30days=true'
  usercom users list --did 'Order Completed' --since 30d --not-visited /pricing
  usercom users list --did 'Order Completed' --at-least 3 --count
  usercom users list --seen-since 7d --sort last_seen:desc --limit 20
  usercom users list --ndjson > users.ndjson      # every user, every field and attribute

A table shows the first 100 users unless --limit or --all says otherwise (stderr says
when more matched); --json, --ndjson and --csv print every matching user unless --limit
is given.";

/// The number of users a table shows when no --limit is given.
pub const TABLE_LIMIT: u64 = 100;

/// `users list`: filters, order, limit, format.
#[derive(Debug, Clone, Default, Args)]
pub struct ListArgs {
    /// Only users for whom EXPR holds (repeatable). EXPR is FIELD OP VALUE with OP one of
    /// = != > >= < <= ~ (contains, case-insensitive), or 'FIELD is null', 'FIELD is not
    /// null'. FIELD is a profile field (email, country, page_views, last_seen, ...) or a
    /// custom attribute (attributes.NAME when a field has the same name); VALUE is read as
    /// the field's type: a number, true/false, or for dates an ISO date/time or a relative
    /// time (30d). != also matches users without a value.
    #[arg(long = "where", value_name = "EXPR")]
    pub filters: Vec<String>,
    /// Only users who did this event (track call; repeatable), within --since/--until,
    /// at least --at-least times.
    #[arg(long, value_name = "EVENT")]
    pub did: Vec<String>,
    /// Only users who did not do this event (repeatable), within --since/--until (with
    /// --at-least N: fewer than N times).
    #[arg(long = "not-did", value_name = "EVENT")]
    pub not_did: Vec<String>,
    /// The window of --did/--not-did starts here: ISO date or time, or relative to now
    /// (30d, 12h, 90m, 2w).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// The window of --did/--not-did ends here (exclusive; a date includes its whole day).
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// With --did: at least N times [default: 1].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub at_least: Option<u64>,
    /// Only users who viewed a page whose URL contains this (case-insensitive; repeatable).
    #[arg(long, value_name = "URL_SUBSTRING")]
    pub visited: Vec<String>,
    /// Only users who never viewed a page whose URL contains this (repeatable).
    #[arg(long = "not-visited", value_name = "URL_SUBSTRING")]
    pub not_visited: Vec<String>,
    /// Only members of this company (groupId; repeatable).
    #[arg(long, value_name = "GROUP_ID")]
    pub in_company: Vec<String>,
    /// Only users last seen (page view) at or after this time: ISO date/time or relative.
    #[arg(long, value_name = "WHEN")]
    pub seen_since: Option<String>,
    /// Order by a field or custom attribute (missing values last) [default: userId].
    #[arg(long, value_name = "FIELD[:desc]")]
    pub sort: Option<String>,
    /// At most N users; 0 for all [default: 100 in a table, all with --json/--ndjson/--csv].
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Every matching user (same as --limit 0).
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,
    /// Print only how many users match.
    #[arg(long, conflicts_with_all = ["sort", "limit", "all", "columns"])]
    pub count: bool,
    /// The table's or CSV's columns, comma-separated: profile fields, custom attributes,
    /// name (first and last), companies, attributes (all custom attributes in one cell),
    /// attribute_count [default in a table: user_id, email, name, last_seen, page_views,
    /// companies, attribute_count; JSON always has every field].
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub columns: Vec<String>,
    #[command(flatten)]
    pub format: ListFormat,
}

/// `users show --json`: the profile and its latest activity.
#[derive(Serialize)]
struct UserDetail<'a> {
    #[serde(flatten)]
    user: &'a UserView,
    recent_events: Vec<EventRow>,
    recent_pages: Vec<PageRow>,
}

/// The columns of the `users list` table unless `--columns` says otherwise (JSON and
/// CSV have every field): few enough to read in a 100-column terminal.
const TABLE_COLUMNS: [&str; 7] = [
    "user_id",
    "email",
    "name",
    "last_seen",
    "page_views",
    "companies",
    "attribute_count",
];

/// CSV columns: every profile field, then one column per custom attribute
/// (`attributes.NAME`), whether or not any listed user has a value.
fn csv_headers(attributes: &[(String, i64, AttrType)]) -> Vec<String> {
    let mut headers: Vec<String> = vec!["user_id".into()];
    headers.extend(self_fields().map(String::from));
    headers.extend(
        [
            "page_views",
            "last_seen",
            "companies",
            "created_at",
            "updated_at",
        ]
        .map(String::from),
    );
    let mut names: Vec<&String> = attributes.iter().map(|(name, _, _)| name).collect();
    names.sort();
    headers.extend(names.into_iter().map(|a| format!("attributes.{a}")));
    headers
}

/// `--columns`: each a field, a pseudo-column, or a custom attribute (as
/// `attributes.NAME`).
fn columns(wanted: &[String], attributes: &[(String, i64, AttrType)]) -> Result<Vec<String>> {
    let known: Vec<&str> = ["user_id"]
        .into_iter()
        .chain(self_fields())
        .chain([
            "page_views",
            "last_seen",
            "created_at",
            "updated_at",
            "name",
            "companies",
            "attributes",
            "attribute_count",
        ])
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
                    known[..known.len() - 4].join(", ")
                ))
                .into())
            }
        })
        .collect()
}

impl UserView {
    /// One CSV or table cell.
    fn cell(&self, header: &str) -> String {
        match header {
            "user_id" => cell(self.user_id.as_deref()),
            "page_views" => self.page_views.to_string(),
            "last_seen" => cell(self.last_seen.as_deref()),
            "companies" => self.companies.join(" "),
            "created_at" => self.created_at.clone(),
            "updated_at" => self.updated_at.clone(),
            "attributes" => self
                .attributes
                .iter()
                .map(|(k, v)| format!("{k}={}", plain(v)))
                .collect::<Vec<_>>()
                .join(" "),
            "attribute_count" => self.attributes.len().to_string(),
            "name" => [self.first_name.as_deref(), self.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
            other => match other.strip_prefix("attributes.") {
                Some(attr) => self.attributes.get(attr).map(plain).unwrap_or_default(),
                None => self
                    .fields()
                    .iter()
                    .find(|(f, _)| f.name() == other)
                    .map(|(_, v)| cell(*v))
                    .unwrap_or_default(),
            },
        }
    }
}

fn self_fields() -> impl Iterator<Item = &'static str> {
    crate::semantics::profile::UserField::ALL
        .into_iter()
        .map(|f| f.name())
}

/// A JSON value as plain text (strings without quotes).
pub(crate) fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The profile's row id, or a NotFound error that says what was looked for.
pub(crate) fn resolve(store: &Store, id: &str) -> Result<i64> {
    store.find_user(id)?.ok_or_else(|| {
        Error::NotFound(format!(
            "no user with userId, anonymousId or email {id:?} (see `usercom users list`)"
        ))
        .into()
    })
}

/// A filter problem is a usage error (exit 2).
pub(crate) fn usage(e: FilterError) -> anyhow::Error {
    Error::Usage(e.0).into()
}

/// A time given to `flag`, or a usage error that names the flag.
pub(crate) fn when(flag: &str, text: &str, now: DateTime<Utc>) -> Result<When> {
    parse_when(text, now).map_err(|e| Error::Usage(format!("{flag}: {e}")).into())
}

/// The limit to query and whether it is the table's default (so that stderr can say
/// when more matched): `--all` and `--limit 0` mean none.
pub(crate) fn effective_limit(
    limit: Option<u64>,
    all: bool,
    format: Format,
) -> (Option<u64>, bool) {
    match (all, limit) {
        (true, _) | (false, Some(0)) => (None, false),
        (false, Some(n)) => (Some(n), false),
        (false, None) if format == Format::Table => (Some(TABLE_LIMIT), true),
        (false, None) => (None, false),
    }
}

/// Prints `n` as the whole output (`--count`).
pub(crate) fn print_count(n: u64, json: bool) -> Result<()> {
    if json {
        print_json(&serde_json::json!({ "count": n }))
    } else {
        print_text(n)
    }
}

/// Builds the store query from the command line, checking every name and value.
fn user_query(store: &Store, args: &ListArgs, now: DateTime<Utc>) -> Result<UserQuery> {
    let schema = Schema::users(store.attribute_schema(Scope::User)?);
    let predicates = args
        .filters
        .iter()
        .map(|f| predicate(f, &schema, now).map_err(usage))
        .collect::<Result<Vec<_>>>()?;
    if args.did.is_empty() && args.not_did.is_empty() {
        for (flag, given) in [
            ("--since", args.since.is_some()),
            ("--until", args.until.is_some()),
            ("--at-least", args.at_least.is_some()),
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
    let since = args
        .since
        .as_deref()
        .map(|t| when("--since", t, now))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|t| when("--until", t, now))
        .transpose()?;
    let condition = |name: &String| -> Result<EventCondition> {
        if !store.event_recorded(name)? {
            eprintln!("warning: no event named {name:?} has been recorded");
        }
        Ok(EventCondition {
            name: name.clone(),
            since: since.map(|w| w.since()),
            until: until.map(|w| w.until()),
            at_least: args.at_least.unwrap_or(1),
        })
    };
    let in_company = args
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
    Ok(UserQuery {
        predicates,
        did: args.did.iter().map(condition).collect::<Result<_>>()?,
        not_did: args.not_did.iter().map(condition).collect::<Result<_>>()?,
        visited: lower(&args.visited),
        not_visited: lower(&args.not_visited),
        in_company,
        seen_since: args
            .seen_since
            .as_deref()
            .map(|t| when("--seen-since", t, now).map(|w| w.since()))
            .transpose()?,
        sort: args
            .sort
            .as_deref()
            .map(|s| sort_key(s, &schema).map_err(usage))
            .transpose()?,
        limit: None,
    })
}

pub fn run(cmd: UsersCommand, store: &Store, json: bool) -> Result<i32> {
    match cmd {
        UsersCommand::Explain(args) => return super::explain::run_user(args, store, json),
        UsersCommand::Show { id, recent } => {
            let user_ref = resolve(store, &id)?;
            let user = store.user_view(user_ref)?;
            // The latest activity, through the user's index (newest first).
            let latest = HistoryQuery {
                user_ref: Some(user_ref),
                limit: Some(recent as u64),
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
            if json {
                print_json(&UserDetail {
                    user: &user,
                    recent_events,
                    recent_pages,
                })?;
            } else {
                print_user(&user, &recent_events, &recent_pages)?;
            }
        }
        UsersCommand::List(args) => list(store, &args, json)?,
    }
    Ok(0)
}

fn list(store: &Store, args: &ListArgs, json: bool) -> Result<()> {
    let mut query = user_query(store, args, Utc::now())?;
    if args.count {
        return print_count(store.count_users(&query)?, json);
    }
    let format = Format::for_list(json, &args.format);
    let (limit, by_default) = effective_limit(args.limit, args.all, format);
    // One more than shown tells whether the default limit cut the list.
    query.limit = limit.map(|n| if by_default { n + 1 } else { n });
    let attributes = store.attribute_schema(Scope::User)?;
    let headers = match format {
        _ if !args.columns.is_empty() => columns(&args.columns, &attributes)?,
        Format::Table => TABLE_COLUMNS.map(String::from).to_vec(),
        _ => csv_headers(&attributes),
    };
    // Anonymous profiles show their anonymousId, in brackets, in the table's user_id.
    let anonymous_in_brackets = format == Format::Table && headers[0] == "user_id";
    let labels = headers
        .iter()
        .map(|h| match h.as_str() {
            "attribute_count" => "attributes".to_string(),
            h => h.strip_prefix("attributes.").unwrap_or(h).to_string(),
        })
        .collect();
    let mut sink = ListSink::new(format, headers)?;
    sink.table_labels(labels);
    let mut more = false;
    store.for_each_user(&query, |user| {
        if by_default && Some(sink.count() as u64) == limit {
            more = true;
            return Ok(());
        }
        sink.push(&user, |headers| {
            let mut row: Vec<String> = headers.iter().map(|h| user.cell(h)).collect();
            if anonymous_in_brackets && row[0].is_empty() {
                row[0] = format!("({})", user.display_id());
            }
            row
        })
    })?;
    let shown = sink.finish()?;
    if more {
        eprintln!(
            "{shown} users shown; more match (--limit N or --all for more, --count to count them)"
        );
    } else if format == Format::Table {
        let noun = if shown == 1 { "user" } else { "users" };
        eprintln!("{shown} {noun}");
    }
    Ok(())
}

fn print_user(user: &UserView, events: &[EventRow], pages: &[PageRow]) -> Result<()> {
    let mut profile = table(&["field", "value"]);
    profile.add_row(vec!["user_id".to_string(), cell(user.user_id.as_deref())]);
    for (field, value) in user.fields() {
        profile.add_row(vec![field.name().to_string(), cell(value)]);
    }
    profile.add_row(vec!["page_views".to_string(), user.page_views.to_string()]);
    profile.add_row(vec![
        "last_seen".to_string(),
        cell(user.last_seen.as_deref()),
    ]);
    profile.add_row(vec!["companies".to_string(), user.companies.join(", ")]);
    profile.add_row(vec!["created_at".to_string(), user.created_at.clone()]);
    profile.add_row(vec!["updated_at".to_string(), user.updated_at.clone()]);
    let mut out = format!("{profile}\n");
    if !user.attribute_types.is_empty() {
        let mut attrs = table(&["attribute", "type", "value"]);
        for (name, ty) in &user.attribute_types {
            let value = user.attributes.get(name).map(plain).unwrap_or_default();
            attrs.add_row(vec![name.clone(), ty.to_string(), value]);
        }
        out.push_str(&format!("\nCustom attributes\n{attrs}\n"));
    }
    if !events.is_empty() {
        let mut t = table(&["timestamp", "event", "properties"]);
        for e in events {
            t.add_row(vec![
                e.timestamp.clone(),
                e.name.clone(),
                e.properties.to_string(),
            ]);
        }
        out.push_str(&format!("\nLatest events\n{t}\n"));
    }
    if !pages.is_empty() {
        let mut t = table(&["timestamp", "name", "url"]);
        for p in pages {
            t.add_row(vec![
                p.timestamp.clone(),
                cell(p.name.as_deref()),
                cell(p.url.as_deref()),
            ]);
        }
        out.push_str(&format!("\nLatest page views\n{t}\n"));
    }
    print_text(out.trim_end())
}
