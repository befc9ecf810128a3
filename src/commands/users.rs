//! `usercom users`: user profiles.

use anyhow::Result;
use chrono::Utc;
use clap::{Args, Subcommand};

use super::lists::{ListControl, print_count};
use crate::api::users::{self as api, UserFilter, cell_of, plain};
use crate::output::{Format, ListFormat, ListSink, cell, print_json, print_text, table};
use crate::semantics::attributes::Scope;
use crate::store::{EventRow, PageRow, Store, UserView};

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Show one user: profile, custom attributes with types, companies, latest activity.
    Show {
        /// A userId, an anonymousId or an email.
        id: String,
        /// How many latest events and page views to show.
        #[arg(long, default_value_t = 10)]
        recent: u64,
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

FIELD in --where and --sort is a profile field (user_id, email, first_name, country,
page_views, last_seen, created_at, ...) or a custom attribute; --sort defaults to userId.

A table shows the first 100 users unless --limit or --all says otherwise (stderr says
when more matched); --json, --ndjson and --csv print every matching user unless --limit
is given.";

/// `users list`: filters, order, limit, format.
#[derive(Debug, Clone, Default, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub control: ListControl,
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
    /// The table's or CSV's columns, comma-separated: profile fields, custom attributes,
    /// name (first and last), companies, attributes (all custom attributes in one cell),
    /// attribute_count [default in a table: user_id, email, name, last_seen, page_views,
    /// companies, attribute_count; JSON always has every field].
    #[arg(
        long,
        value_name = "COLUMNS",
        value_delimiter = ',',
        conflicts_with = "count"
    )]
    pub columns: Vec<String>,
    #[command(flatten)]
    pub format: ListFormat,
}

impl ListArgs {
    /// The filter as the query layer takes it.
    pub fn filter(&self) -> UserFilter {
        UserFilter {
            filters: self.control.filters.clone(),
            did: self.did.clone(),
            not_did: self.not_did.clone(),
            since: self.since.clone(),
            until: self.until.clone(),
            at_least: self.at_least,
            visited: self.visited.clone(),
            not_visited: self.not_visited.clone(),
            in_company: self.in_company.clone(),
            seen_since: self.seen_since.clone(),
            sort: self.control.sort.clone(),
        }
    }
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

pub fn run(cmd: UsersCommand, store: &Store, json: bool) -> Result<i32> {
    match cmd {
        UsersCommand::Explain(args) => return super::explain::run_user(args, store, json),
        UsersCommand::Show { id, recent } => {
            let detail = api::detail(store, &id, recent)?;
            if json {
                print_json(&detail)?;
            } else {
                print_user(&detail.user, &detail.recent_events, &detail.recent_pages)?;
            }
        }
        UsersCommand::List(args) => list(store, &args, json)?,
    }
    Ok(0)
}

fn list(store: &Store, args: &ListArgs, json: bool) -> Result<()> {
    let checked = api::user_query(store, &args.filter(), Utc::now())?;
    for warning in &checked.warnings {
        eprintln!("warning: {warning}");
    }
    let mut query = checked.query;
    if args.control.count {
        return print_count(store.count_users(&query)?, json);
    }
    let format = Format::for_list(json, &args.format);
    let (window, default_limit) = args.control.window(format);
    query.limit = window.limit;
    query.offset = window.offset;
    if args.columns.is_empty() && format != Format::Table {
        api::write(store, &query, format, ListSink::stdout())?;
        return Ok(());
    }
    let attributes = store.attribute_schema(Scope::User)?;
    let headers = match format {
        _ if !args.columns.is_empty() => api::columns(&args.columns, &attributes)?,
        Format::Table => TABLE_COLUMNS.map(String::from).to_vec(),
        _ => api::csv_headers(&attributes),
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
        if default_limit == Some(sink.count() as u64) {
            more = true;
            return Ok(());
        }
        sink.push(&user, |headers| {
            let mut row: Vec<String> = headers.iter().map(|h| cell_of(&user, h)).collect();
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
