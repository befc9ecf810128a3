//! `usercom users explain` and `usercom companies explain`: which event set each value,
//! by which rule, and what it replaced.

use std::fmt::Write as _;

use anyhow::Result;
use clap::Args;

use crate::api::explain::{Of, explain};
use crate::output::{print_json, print_text, terminal_safe};
use crate::semantics::provenance::Outcome;
use crate::store::{EventRef, Explanation, HistoryEntry, Store};

/// What to explain, and how much history.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A userId, anonymousId or email (users); a groupId (companies).
    pub id: String,
    /// Only this standard field or custom attribute.
    pub name: Option<String>,
    /// Writes shown per value, newest first by event time.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub history: usize,
}

pub const EXPLAIN_ABOUT: &str = "\
For each standard field and custom attribute (or the one named): the current value and
type, and the writes that led to it, newest first by event time: the value written, the
event (messageId, type, time, and its file and line/item, or `http` with the request's
number and arrival time), the rule that applied (mapped trait, context field, name split,
custom attribute auto-created as string, converted to the defined type, ignored because
it could not be converted, cleared by null, Engage audience boolean) and the outcome
(applied, lost to a newer write, ignored). Writes of the value already held are not
history. Anonymous profiles merged in are listed with the event that merged them.
Events ingested before provenance was recorded show no writes.";

pub fn run_user(args: ExplainArgs, store: &Store, json: bool) -> Result<i32> {
    run(args, Of::User, store, json)
}

pub fn run_company(args: ExplainArgs, store: &Store, json: bool) -> Result<i32> {
    run(args, Of::Company, store, json)
}

fn run(args: ExplainArgs, of: Of, store: &Store, json: bool) -> Result<i32> {
    let e = explain(store, of, &args.id, args.name.as_deref(), args.history)?;
    if json {
        print_json(&e)?;
    } else {
        print_text(describe(&e).trim_end())?;
    }
    Ok(0)
}

/// The event behind a write: `<- identify m1 (file line 3, received ...)`.
fn event_text(e: &EventRef) -> String {
    let place = match e.item {
        Some(item) => format!("{} line {} item {item}", terminal_safe(&e.source), e.line),
        None => format!("{} line {}", terminal_safe(&e.source), e.line),
    };
    format!(
        "<- {} {} ({place}, received {})",
        e.kind,
        terminal_safe(&e.message_id),
        e.received_at
    )
}

fn entry_line(h: &HistoryEntry) -> String {
    let outcome = match h.outcome {
        Outcome::LostToNewer => format!(" [{}]", h.outcome.describe()),
        _ => String::new(),
    };
    format!(
        "{}  {}  {}{outcome}  {}",
        h.event.time,
        terminal_safe(&h.value.to_string()),
        h.rule_text,
        event_text(&h.event)
    )
}

fn describe(e: &Explanation) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} {}", e.kind, terminal_safe(&e.id));
    for m in &e.merges {
        let _ = writeln!(
            out,
            "  {}: {} at {}  {}",
            terminal_safe(&m.rule_text),
            terminal_safe(&m.value.to_string()),
            m.event.time,
            event_text(&m.event)
        );
    }
    for v in &e.values {
        let ty = if v.ty.is_empty() {
            String::new()
        } else {
            format!(" ({})", v.ty)
        };
        let _ = writeln!(
            out,
            "\n{} = {}{ty}",
            terminal_safe(&v.name),
            terminal_safe(&v.value.to_string())
        );
        if v.history.is_empty() {
            let _ = writeln!(out, "  no recorded writes");
        }
        for h in &v.history {
            let _ = writeln!(out, "  {}", entry_line(h));
        }
        if v.writes > v.history.len() {
            let _ = writeln!(
                out,
                "  ... {} older writes (--history N shows more)",
                v.writes - v.history.len()
            );
        }
    }
    out
}
