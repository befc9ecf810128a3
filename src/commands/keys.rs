//! `usercom keys`: create, list, revoke.

use anyhow::Result;
use clap::Subcommand;
use serde::Serialize;

use crate::Error;
use crate::output::{Format, ListFormat, Tabular, cell, print_json, print_list, print_text};
use crate::semantics::api_key;
use crate::store::{KeyKind, KeyRow, Store};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it (shown only this once; the database keeps a hash).
    ///
    /// A write key (the default) only sends events: it is the writeKey a Segment library
    /// is configured with, public wherever analytics.js runs. An admin key (--admin) can
    /// send events too, and is the only kind that reads the HTTP API, runs its expect
    /// checks and resets; keep it out of web pages.
    Create {
        /// A label to tell keys apart.
        #[arg(long)]
        name: Option<String>,
        /// An admin key instead of a write key.
        #[arg(long)]
        admin: bool,
    },
    /// List keys (never the keys themselves: their first characters).
    List {
        #[command(flatten)]
        format: ListFormat,
    },
    /// Revoke a key, given the key or its id; using it afterwards is 403 Forbidden.
    Revoke {
        /// The key itself, or its id from `keys list`.
        key_or_id: String,
    },
}

#[derive(Serialize)]
struct CreatedKey<'a> {
    id: i64,
    name: Option<&'a str>,
    kind: KeyKind,
    key: &'a str,
    created_at: &'a str,
}

impl Tabular for KeyRow {
    fn headers(_: &[Self]) -> Vec<String> {
        ["id", "name", "kind", "prefix", "created_at", "revoked_at"]
            .map(String::from)
            .to_vec()
    }
    fn cells(&self, _: &[String]) -> Vec<String> {
        vec![
            self.id.to_string(),
            cell(self.name.as_deref()),
            self.kind.as_str().to_string(),
            format!("{}…", self.prefix),
            self.created_at.clone(),
            cell(self.revoked_at.as_deref()),
        ]
    }
}

pub fn run(cmd: KeysCommand, store: &Store, json: bool) -> Result<i32> {
    match cmd {
        KeysCommand::Create { name, admin } => {
            let key = api_key::generate().map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
            let kind = if admin {
                KeyKind::Admin
            } else {
                KeyKind::Write
            };
            let row = store.insert_key(name.as_deref(), kind, &key)?;
            if json {
                print_json(&CreatedKey {
                    id: row.id,
                    name: row.name.as_deref(),
                    kind: row.kind,
                    key: &key,
                    created_at: &row.created_at,
                })?;
            } else {
                print_text(&key)?;
                eprintln!(
                    "Created {} key {} ({}…). Store it now: it is not shown again.",
                    row.kind.as_str(),
                    row.id,
                    row.prefix
                );
            }
        }
        KeysCommand::List { format } => {
            print_list(&store.keys()?, Format::for_list(json, &format))?
        }
        KeysCommand::Revoke { key_or_id } => {
            let id = match key_or_id.trim().parse::<i64>() {
                Ok(id) => Some(id),
                Err(_) => match store.key_status(&key_or_id)? {
                    crate::store::KeyStatus::Active(id) | crate::store::KeyStatus::Revoked(id) => {
                        Some(id)
                    }
                    crate::store::KeyStatus::Unknown => None,
                },
            };
            let row = match id {
                Some(id) => store.revoke_key(id)?,
                None => None,
            };
            let Some(row) = row else {
                return Err(Error::NotFound(format!(
                    "no API key {key_or_id:?}: give the key itself or its id (see `usercom keys list`)"
                ))
                .into());
            };
            if json {
                print_json(&row)?;
            } else {
                eprintln!("Revoked key {} ({}…).", row.id, row.prefix);
            }
        }
    }
    Ok(0)
}
