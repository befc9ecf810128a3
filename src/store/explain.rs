//! `explain`: a profile's current values with the writes that led to them, read from
//! the provenance rows ingest recorded.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use super::Store;
use super::provenance::{ProvenanceRow, company_owner, user_owner};
use crate::semantics::attributes::{AttrType, Scalar, Scope};
use crate::semantics::company::CompanyField;
use crate::semantics::profile::{Record, UserField};
use crate::semantics::provenance::{Outcome, Rule, Slot, newest_first, unpack};
use crate::semantics::time::format_timestamp;

/// A profile explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// `user` or `company`.
    pub kind: &'static str,
    /// userId (else anonymousId) or groupId.
    pub id: String,
    /// The anonymous records this profile owns: merged into it, or claimed by its userId
    /// when it was new; each with its earliest claiming event, newest first.
    pub merges: Vec<HistoryEntry>,
    /// Each standard field and custom attribute with a value or a recorded write.
    pub values: Vec<Explained>,
}

/// One field or attribute: what it holds and the writes that led to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explained {
    pub name: String,
    /// `field` or `attribute`.
    pub slot: Slot,
    #[serde(rename = "type")]
    pub ty: String,
    /// The current value (null: none).
    pub value: Value,
    /// Writes recorded for it in all.
    pub writes: usize,
    /// The latest of them, newest first by event time.
    pub history: Vec<HistoryEntry>,
}

/// A write and the event that made it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    /// The value written (or sent, when ignored).
    pub value: Value,
    pub outcome: Outcome,
    pub rule: Rule,
    /// The rule in words.
    pub rule_text: String,
    pub event: EventRef,
}

/// The event behind a write, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRef {
    pub message_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub time: String,
    /// File path, or `http` for `usercom serve`.
    pub source: String,
    /// Line in the file, or the request's number on the server.
    pub line: i64,
    /// Position inside a batch or array (0-based).
    pub item: Option<i64>,
    /// When usercom received it (ingest's start, or the HTTP request's arrival).
    pub received_at: String,
}

/// A history entry with its event time (ms) and order of recording.
type Timed = (i64, i64, HistoryEntry);

fn time_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(format_timestamp)
        .unwrap_or_default()
}

/// A rule in words, with its detail.
fn rule_text(rule: Rule, detail: &str) -> String {
    match rule {
        Rule::Converted if !detail.is_empty() => format!("{} (from {detail})", rule.describe()),
        Rule::Unconvertible if !detail.is_empty() => format!("ignored: {detail}"),
        Rule::Merged | Rule::Claimed if !detail.is_empty() => {
            format!("{} ({detail})", rule.describe())
        }
        _ => rule.describe().to_string(),
    }
}

impl Store {
    /// A user explained (`name`: only that field or attribute). `limit`: writes per
    /// value.
    pub fn explain_user(&self, id: i64, name: Option<&str>, limit: usize) -> Result<Explanation> {
        let profile = self.load_user(id)?;
        let fields: Vec<(String, String, Value)> = UserField::ALL
            .iter()
            .map(|f| {
                let value = profile
                    .field(*f)
                    .map(Scalar::as_json)
                    .unwrap_or(Value::Null);
                (f.name().to_string(), "string".to_string(), value)
            })
            .collect();
        let anonymous = match profile.field(UserField::AnonymousId) {
            Some(Scalar::Text(s)) => Some(s.to_string()),
            _ => None,
        };
        let subject = profile.user_id.clone().or(anonymous).unwrap_or_default();
        // The anonymous records the profile owns are part of it: their writes (before
        // and since the claim) are its history, and each is listed once, with the
        // earliest event that claimed it.
        let mut rows = self.provenance_rows(user_owner(id))?;
        let mut owned = Vec::new();
        for record in self.owned_records(id)? {
            rows.extend(self.provenance_rows(user_owner(record))?);
            if let Some(anonymous) = self.load_user(record)?.field(UserField::AnonymousId) {
                owned.push(anonymous.as_json());
            }
        }
        let mut explained = self.explain(
            "user",
            subject,
            Scope::User,
            fields,
            &profile.record,
            rows,
            name,
            limit,
        )?;
        let mut listed = Vec::new();
        let mut merges = Vec::new();
        for merge in explained.merges.into_iter().rev() {
            if owned.contains(&merge.value) && !listed.contains(&merge.value) {
                listed.push(merge.value.clone());
                merges.push(merge);
            }
        }
        merges.reverse();
        explained.merges = merges;
        Ok(explained)
    }

    /// A company explained.
    pub fn explain_company(
        &self,
        id: i64,
        name: Option<&str>,
        limit: usize,
    ) -> Result<Explanation> {
        let company = self.load_company(id)?;
        let fields = CompanyField::ALL
            .iter()
            .map(|f| {
                let ty = if *f == CompanyField::Employees {
                    AttrType::Number
                } else {
                    AttrType::String
                };
                let value = company
                    .record
                    .field(f.index())
                    .map(|v| v.to_json(ty))
                    .unwrap_or(Value::Null);
                (f.name().to_string(), ty.as_str().to_string(), value)
            })
            .collect();
        self.explain(
            "company",
            company.group_id.clone(),
            Scope::Company,
            fields,
            &company.record,
            self.provenance_rows(company_owner(id))?,
            name,
            limit,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn explain(
        &self,
        kind: &'static str,
        id: String,
        scope: Scope,
        fields: Vec<(String, String, Value)>,
        record: &Record,
        rows: Vec<ProvenanceRow>,
        only: Option<&str>,
        limit: usize,
    ) -> Result<Explanation> {
        // (slot, name) -> [(event ms, order, entry)]
        let mut writes: BTreeMap<(u8, String), Vec<Timed>> = BTreeMap::new();
        let mut merges = Vec::new();
        for row in rows {
            let event = EventRef {
                message_id: row.message_id.clone(),
                kind: row.kind.clone(),
                time: time_text(row.event_ms),
                source: row.source.clone(),
                line: row.line,
                item: row.item,
                received_at: time_text(row.received_ms),
            };
            for (n, mut w) in unpack(&row.writes).into_iter().enumerate() {
                if let Some(id) = w.shared {
                    w.value = self.provenance_value(id)?.unwrap_or_default();
                }
                let entry = HistoryEntry {
                    value: serde_json::from_str(&w.value).unwrap_or(Value::String(w.value)),
                    outcome: w.outcome,
                    rule: w.rule,
                    rule_text: rule_text(w.rule, &w.detail),
                    event: event.clone(),
                };
                let order = row.id * 1024 + n as i64;
                match w.slot {
                    Slot::Profile => merges.push((row.event_ms, order, entry)),
                    slot => writes.entry((slot as u8, w.name)).or_default().push((
                        row.event_ms,
                        order,
                        entry,
                    )),
                }
            }
        }
        let mut values = Vec::new();
        let mut take = |slot: Slot, name: String, ty: String, value: Value| {
            let entries = writes
                .remove(&(slot as u8, name.clone()))
                .unwrap_or_default();
            if only.is_some_and(|o| o != name) || (value.is_null() && entries.is_empty()) {
                return;
            }
            values.push(Explained {
                name,
                slot,
                ty,
                value,
                writes: entries.len(),
                history: newest_first(entries, limit),
            });
        };
        for (name, ty, value) in fields {
            take(Slot::Field, name, ty, value);
        }
        let mut attributes: Vec<(String, AttrType, Value)> = self
            .attribute_defs()?
            .into_iter()
            .filter(|d| d.scope == scope)
            .map(|d| {
                let value = record
                    .attributes
                    .get(&d.id)
                    .and_then(|l| l.value.as_ref())
                    .map(|v| v.to_json(d.ty))
                    .unwrap_or(Value::Null);
                (d.name, d.ty, value)
            })
            .collect();
        attributes.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, ty, value) in attributes {
            take(Slot::Attribute, name, ty.as_str().to_string(), value);
        }
        // Writes to names no longer defined (or ignored standard values) still show.
        for ((slot, name), entries) in std::mem::take(&mut writes) {
            if only.is_some_and(|o| o != name) {
                continue;
            }
            let slot = if slot == Slot::Field as u8 {
                Slot::Field
            } else {
                Slot::Attribute
            };
            values.push(Explained {
                name,
                slot,
                ty: String::new(),
                value: Value::Null,
                writes: entries.len(),
                history: newest_first(entries, limit),
            });
        }
        Ok(Explanation {
            kind,
            id,
            merges: newest_first(merges, usize::MAX),
            values,
        })
    }
}
