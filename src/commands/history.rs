//! `usercom events` and `usercom pages`: event occurrences and page views.

use anyhow::Result;
use clap::Subcommand;

use super::users::resolve;
use crate::output::{Format, ListFormat, Tabular, cell, print_list};
use crate::store::{EventFilter, EventRow, PageRow, Store};

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List event occurrences, oldest first.
    List {
        /// Only this user's (userId, anonymousId or email).
        #[arg(long, value_name = "ID")]
        user: Option<String>,
        /// Only events with this name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        format: ListFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum PagesCommand {
    /// List page views, oldest first.
    List {
        /// Only this user's (userId, anonymousId or email).
        #[arg(long, value_name = "ID")]
        user: Option<String>,
        #[command(flatten)]
        format: ListFormat,
    },
}

impl Tabular for EventRow {
    fn headers(_: &[Self]) -> Vec<String> {
        [
            "timestamp",
            "user_id",
            "anonymous_id",
            "name",
            "properties",
            "message_id",
        ]
        .map(String::from)
        .to_vec()
    }
    fn cells(&self, _: &[String]) -> Vec<String> {
        vec![
            self.timestamp.clone(),
            cell(self.user_id.as_deref()),
            cell(self.anonymous_id.as_deref()),
            self.name.clone(),
            self.properties.to_string(),
            self.message_id.clone(),
        ]
    }
}

impl Tabular for PageRow {
    fn headers(_: &[Self]) -> Vec<String> {
        [
            "timestamp",
            "user_id",
            "anonymous_id",
            "name",
            "url",
            "title",
            "message_id",
        ]
        .map(String::from)
        .to_vec()
    }
    fn cells(&self, _: &[String]) -> Vec<String> {
        vec![
            self.timestamp.clone(),
            cell(self.user_id.as_deref()),
            cell(self.anonymous_id.as_deref()),
            cell(self.name.as_deref()),
            cell(self.url.as_deref()),
            cell(self.title.as_deref()),
            self.message_id.clone(),
        ]
    }
}

pub fn run_events(cmd: EventsCommand, store: &Store, json: bool) -> Result<i32> {
    let EventsCommand::List { user, name, format } = cmd;
    let user_ref = user.map(|u| resolve(store, &u)).transpose()?;
    let rows = store.events(&EventFilter {
        user_ref,
        name,
        latest: None,
    })?;
    print_list(&rows, Format::for_list(json, &format))?;
    Ok(0)
}

pub fn run_pages(cmd: PagesCommand, store: &Store, json: bool) -> Result<i32> {
    let PagesCommand::List { user, format } = cmd;
    let user_ref = user.map(|u| resolve(store, &u)).transpose()?;
    let rows = store.pages(user_ref, None)?;
    print_list(&rows, Format::for_list(json, &format))?;
    Ok(0)
}
