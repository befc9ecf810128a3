//! `usercom rejections`: rejected and skipped events kept in the database.

use anyhow::Result;
use chrono::Utc;
use clap::Subcommand;

use crate::api::rejections::{self as api, RejectionFilter};
use crate::output::{Format, ListFormat, ListSink, print_json};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum RejectionsCommand {
    /// List kept rejections, oldest first: when, where from (file and line, or HTTP
    /// path and client), item in a batch, reason and the payload.
    ///
    /// Every event `ingest` or `serve` rejected (invalid, untrusted domain) or skipped
    /// (alias, screen) is kept; a request refused for its API key keeps nothing.
    List {
        /// Only those received at or after this: ISO date/time, or relative (30m, 2h, 1d).
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Only those whose reason contains this (case-insensitive).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// At most N [default: all].
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Delete every kept rejection.
    Clear,
}

pub fn run(cmd: RejectionsCommand, store: &Store, json: bool) -> Result<i32> {
    match cmd {
        RejectionsCommand::List {
            since,
            reason,
            limit,
            format,
        } => {
            let filter = RejectionFilter { since, reason };
            let mut query = api::rejection_query(&filter, Utc::now())?;
            query.limit = limit.filter(|n| *n > 0);
            let format = Format::for_list(json, &format);
            let shown = api::write(store, &query, format, ListSink::stdout())?;
            if format == Format::Table {
                let noun = if shown == 1 {
                    "rejection"
                } else {
                    "rejections"
                };
                eprintln!("{shown} {noun}");
            }
        }
        RejectionsCommand::Clear => {
            let cleared = store.clear_rejections()?;
            if json {
                print_json(&serde_json::json!({ "cleared": cleared }))?;
            } else {
                eprintln!("Deleted {cleared} kept rejections.");
            }
        }
    }
    Ok(0)
}
