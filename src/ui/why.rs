//! Why a value is what it is: the explanation of a user's or a company's fields and
//! attributes (`usercom users explain`): each write, newest first by event time, with
//! its event, the rule that applied and its outcome; and the anonymous profiles merged
//! in.

use std::sync::Arc;

use anyhow::Result;
use maud::{Markup, html};

use super::Ui;
use super::layout::{self, Ctx, segment};
use crate::api::explain::{self, Of};
use crate::api::users::plain;
use crate::store::{EventRef, Explanation, HistoryEntry};

/// Writes shown per value.
const HISTORY: usize = 20;

/// `/ui/why/user/{id}` and `/ui/why/company/{groupId}`, `?name=` for one value.
pub async fn page(ui: &Arc<Ui>, ctx: &Ctx, of: Of, id: String) -> Result<Markup> {
    ctx.params(&[]).only(&["name"])?;
    let name = Some(ctx.one("name")).filter(|n| !n.is_empty());
    let (wanted, only) = (id.clone(), name.clone());
    let e = ui
        .with(move |store| explain::explain(store, of, &wanted, only.as_deref(), HISTORY))
        .await?;
    let back = match of {
        Of::User => format!("/ui/users/{}", segment(&id)),
        Of::Company => format!("/ui/companies/{}", segment(&id)),
    };
    let title = match &name {
        Some(n) => format!("Why {n} of {} {id}", e.kind),
        None => format!("Why: {} {id}", e.kind),
    };
    Ok(layout::page(ctx, &title, body(&e, &back)))
}

fn body(e: &Explanation, back: &str) -> Markup {
    html! {
        p { a href=(back) { "← Back to the " (e.kind) } }
        @if !e.merges.is_empty() {
            section aria-labelledby="h-merges" {
                h2 #h-merges { "Merged profiles" }
                (history(&e.merges))
            }
        }
        @if e.values.is_empty() { p { "No value and no recorded write." } }
        @for v in &e.values {
            section.why aria-label=(v.name) {
                h2 { code { (v.name) } " = " code { (plain(&v.value)) }
                    @if !v.ty.is_empty() { " (" (v.ty) ")" } }
                @if v.history.is_empty() {
                    p { "No recorded writes (events ingested before provenance was kept, or with it off)." }
                } @else {
                    (history(&v.history))
                }
                @if v.writes > v.history.len() {
                    p { (v.writes - v.history.len()) " older writes not shown." }
                }
            }
        }
    }
}

fn history(entries: &[HistoryEntry]) -> Markup {
    html! {
        table {
            thead { tr {
                th scope="col" { "Event time" } th scope="col" { "Value written" }
                th scope="col" { "Rule" } th scope="col" { "Outcome" } th scope="col" { "Event" }
            } }
            tbody {
                @for h in entries {
                    tr {
                        td { (h.event.time) }
                        td { code { (plain(&h.value)) } }
                        td { (h.rule_text) }
                        td { (h.outcome.describe()) }
                        td { (event(&h.event)) }
                    }
                }
            }
        }
    }
}

fn event(e: &EventRef) -> Markup {
    html! {
        (e.kind) " " code { (e.message_id) } br;
        (e.source) ", line " (e.line)
        @if let Some(i) = e.item { ", item " (i) }
        br; "received " (e.received_at)
    }
}
