//! `usercom users`: user profiles.

use std::collections::BTreeSet;

use anyhow::Result;
use clap::Subcommand;
use serde::Serialize;

use crate::Error;
use crate::output::{Format, ListFormat, Tabular, cell, print_json, print_list, print_text, table};
use crate::store::{EventFilter, EventRow, PageRow, Store, UserView};

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
    /// List users.
    List {
        #[command(flatten)]
        format: ListFormat,
    },
}

/// `users show --json`: the profile and its latest activity.
#[derive(Serialize)]
struct UserDetail<'a> {
    #[serde(flatten)]
    user: &'a UserView,
    recent_events: Vec<EventRow>,
    recent_pages: Vec<PageRow>,
}

/// The columns of the `users list` table (JSON and CSV have every field).
const TABLE_COLUMNS: [&str; 12] = [
    "user_id",
    "email",
    "name",
    "country",
    "city",
    "language",
    "browser_family",
    "device_type",
    "page_views",
    "last_seen",
    "companies",
    "attributes",
];

impl Tabular for UserView {
    fn headers(rows: &[Self]) -> Vec<String> {
        // Every profile field, then one column per custom attribute.
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
        let attributes: BTreeSet<&String> = rows.iter().flat_map(|r| r.attributes.keys()).collect();
        headers.extend(attributes.into_iter().map(|a| format!("attributes.{a}")));
        headers
    }

    fn cells(&self, headers: &[String]) -> Vec<String> {
        let fields = self.fields();
        headers
            .iter()
            .map(|h| match h.as_str() {
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
                "name" => [self.first_name.as_deref(), self.last_name.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
                other => match other.strip_prefix("attributes.") {
                    Some(attr) => self.attributes.get(attr).map(plain).unwrap_or_default(),
                    None => fields
                        .iter()
                        .find(|(f, _)| f.name() == other)
                        .map(|(_, v)| cell(*v))
                        .unwrap_or_default(),
                },
            })
            .collect()
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

pub fn run(cmd: UsersCommand, store: &Store, json: bool) -> Result<i32> {
    match cmd {
        UsersCommand::Show { id, recent } => {
            let user_ref = resolve(store, &id)?;
            let user = store.user_view(user_ref)?;
            let recent_events = store.events(&EventFilter {
                user_ref: Some(user_ref),
                name: None,
                latest: Some(recent),
            })?;
            let recent_pages = store.pages(Some(user_ref), Some(recent))?;
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
        UsersCommand::List { format } => {
            let users = store
                .user_refs()?
                .into_iter()
                .map(|id| store.user_view(id))
                .collect::<Result<Vec<_>>>()?;
            let format = Format::for_list(json, &format);
            if format == Format::Table {
                let headers = TABLE_COLUMNS.map(String::from);
                let mut t = table(&TABLE_COLUMNS);
                for u in &users {
                    let mut row = u.cells(&headers);
                    if row[0].is_empty() {
                        row[0] = format!("({})", u.display_id());
                    }
                    t.add_row(row);
                }
                print_text(t)?;
                eprintln!("{} users", users.len());
            } else {
                print_list(&users, format)?;
            }
        }
    }
    Ok(0)
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
