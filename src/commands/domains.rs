//! `usercom domains`: the trusted domains.

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;

use crate::output::{Format, ListFormat, Tabular, print_json, print_list};
use crate::store::{DomainRow, Store};

#[derive(Debug, Subcommand)]
pub enum DomainsCommand {
    /// Trust a domain and its subdomains.
    Add { domain: String },
    /// Stop trusting a domain.
    Remove { domain: String },
    /// List trusted domains.
    List {
        #[command(flatten)]
        format: ListFormat,
    },
}

impl Tabular for DomainRow {
    fn headers(_: &[Self]) -> Vec<String> {
        vec!["domain".into(), "added_at".into()]
    }
    fn cells(&self, _: &[String]) -> Vec<String> {
        vec![self.domain.clone(), self.added_at.clone()]
    }
}

pub fn run(cmd: DomainsCommand, store: &Store, json: bool) -> Result<i32> {
    match cmd {
        DomainsCommand::Add { domain } => {
            let (domain, added) = crate::api::settings::add_domain(store, &domain)?;
            if json {
                print_json(&json!({"domain": domain, "added": added}))?;
            } else if added {
                eprintln!(
                    "Trusting {domain} and its subdomains; events from other domains are now rejected."
                );
            } else {
                eprintln!("{domain} was already trusted.");
            }
        }
        DomainsCommand::Remove { domain } => {
            let domain = crate::api::settings::remove_domain(store, &domain)?;
            if json {
                print_json(&json!({"domain": domain, "removed": true}))?;
            } else {
                eprintln!("No longer trusting {domain}.");
            }
        }
        DomainsCommand::List { format } => {
            let rows = store.domains()?;
            print_list(&rows, Format::for_list(json, &format))?;
            if rows.is_empty() && !json {
                eprintln!("No trusted domains: every domain is allowed.");
            }
        }
    }
    Ok(0)
}
