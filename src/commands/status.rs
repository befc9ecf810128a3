//! `usercom status` and `usercom reset`: the database as a whole.

use anyhow::Result;
use clap::Args;
use serde_json::{Map, Value, json};

use crate::Error;
use crate::api::status::status;
use crate::output::{print_json, print_text, table};
use crate::store::{RESET_TABLES, Store};

/// `usercom reset`.
#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Yes, delete the data (required: there is no undo).
    #[arg(long)]
    pub yes: bool,
}

pub fn run_status(store: &Store, json: bool) -> Result<i32> {
    let s = status(store)?;
    if json {
        print_json(&s)?;
        return Ok(0);
    }
    let c = &s.counts;
    let mut t = table(&["field", "value"]);
    let mut rows: Vec<(&str, String)> = vec![
        ("database", s.database.clone().unwrap_or_default()),
        (
            "file size",
            format!("{:.1} MiB", s.file_bytes as f64 / 1048576.0),
        ),
        ("schema version", s.schema_version.to_string()),
        (
            "users",
            format!(
                "{} ({} identified, {} anonymous)",
                c.users, c.identified_users, c.anonymous_users
            ),
        ),
        ("companies", c.companies.to_string()),
        ("events", c.events.to_string()),
        ("page views", c.page_views.to_string()),
        ("rejected", c.rejections.to_string()),
        ("skipped", c.skipped.to_string()),
        (
            "attributes",
            format!(
                "user {}, company {}, event {}",
                c.user_attributes, c.company_attributes, c.event_attributes
            ),
        ),
        (
            "active keys",
            format!("write {}, admin {}", c.write_keys, c.admin_keys),
        ),
        (
            "trusted domains",
            match c.trusted_domains {
                0 => "none (every domain allowed)".to_string(),
                n => n.to_string(),
            },
        ),
        ("first event", c.first_event_at.clone().unwrap_or_default()),
        ("last event", c.last_event_at.clone().unwrap_or_default()),
    ];
    if !s.deferred_indexes.is_empty() {
        rows.push((
            "deferred indexes",
            format!(
                "{} (a load is running or was stopped: the next ingest or serve builds them)",
                s.deferred_indexes.join(", ")
            ),
        ));
    }
    for (what, value) in rows {
        t.add_row(vec![what.to_string(), value]);
    }
    print_text(t)?;
    Ok(0)
}

pub fn run_reset(args: ResetArgs, store: &Store, json: bool) -> Result<i32> {
    if !args.yes {
        return Err(Error::Usage(format!(
            "reset deletes every row of {} (keys, trusted domains and attribute definitions \
             stay); there is no undo: add --yes",
            RESET_TABLES.join(", ")
        ))
        .into());
    }
    let deleted = store.reset()?;
    if json {
        let counts: Map<String, Value> = deleted
            .iter()
            .map(|(table, n)| (table.to_string(), json!(n)))
            .collect();
        print_json(&json!({ "deleted": counts }))?;
    } else {
        let get = |name: &str| {
            deleted
                .iter()
                .find(|(t, _)| *t == name)
                .map_or(0, |(_, n)| *n)
        };
        eprintln!(
            "Deleted {} users, {} companies, {} events, {} page views, {} kept rejections and \
             {} remembered messageIds; kept keys, trusted domains and attribute definitions.",
            get("users"),
            get("companies"),
            get("events"),
            get("pages"),
            get("rejections"),
            get("message_keys")
        );
    }
    Ok(0)
}
