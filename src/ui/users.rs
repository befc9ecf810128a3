//! Users: the list with the filters of `users list`, and a profile (fields, attributes
//! with their types, companies, and page views and events as one timeline).

use std::sync::Arc;

use anyhow::Result;
use chrono::Utc;
use maud::{Markup, html};

use super::Ui;
use super::layout::{self, Ctx, field, pager, segment, twins};
use crate::api::params::USER_PARAMS;
use crate::api::timeline::{Entry, timeline};
use crate::api::{self, users};
use crate::semantics::profile::UserField;

/// Users per page.
const PER_PAGE: u64 = 50;
/// Timeline entries per page.
const TIMELINE: u64 = 25;
const COLUMNS: [&str; 6] = [
    "name",
    "email",
    "country",
    "page_views",
    "last_seen",
    "companies",
];

pub async fn list(ui: &Arc<Ui>, ctx: &Ctx) -> Result<Markup> {
    let params = ctx.params(&[]);
    params.only(&USER_PARAMS)?;
    let filter = params.user_filter()?;
    let window = ctx.window(PER_PAGE)?;
    let (checked, page) = ui
        .with(move |store| {
            let checked = users::user_query(store, &filter, Utc::now())?;
            let page = api::page(store, &checked.query, window)?;
            Ok((checked.warnings, page))
        })
        .await?;
    let keep = &USER_PARAMS[..];
    let api_query = ctx.query_with(window, keep, &[]);
    let wheres = ctx.all("where");
    let body = html! {
        form.filters method="get" action="/ui/users" role="search" aria-label="Filter users" {
            fieldset {
                legend { "Filters (as " code { "usercom users list" } ")" }
                @for (i, w) in wheres.iter().enumerate() {
                    (field_n("where", i, "Where", w, ""))
                }
                (field_n("where", wheres.len(), "Where", "", "country=Poland, custom_integer>100"))
                (field("did", "Did event", &ctx.one("did"), "Order Completed"))
                (field("not_did", "Did not do event", &ctx.one("not_did"), ""))
                (field("since", "Did: since", &ctx.one("since"), "30d or 2026-01-01"))
                (field("until", "Did: until", &ctx.one("until"), ""))
                (field("visited", "Visited URL containing", &ctx.one("visited"), "/pricing"))
                (field("in_company", "In company (groupId)", &ctx.one("in_company"), ""))
                (field("seen_since", "Seen since", &ctx.one("seen_since"), "7d"))
                (field("sort", "Sort", &ctx.one("sort"), "-last_seen"))
                (field("limit", "Per page", &ctx.one("limit"), "50"))
            }
            button type="submit" { "Filter" }
            " " a href="/ui/users" { "Clear" }
        }
        @for w in &checked { p.warning role="status" { (w) } }
        p.count { strong #count { (page.total) } " users match" }
        table {
            caption.visually-hidden { "Users" }
            thead { tr {
                th scope="col" { "User" }
                @for c in COLUMNS { th scope="col" { (c.replace('_', " ")) } }
            } }
            tbody {
                @for u in &page.items {
                    @let id = display_id(u);
                    tr {
                        td { a href={ "/ui/users/" (segment(&id)) } { (id) } }
                        @for c in COLUMNS { td { (users::cell_of(u, c)) } }
                    }
                }
            }
        }
        (pager(ctx, keep, window, page.total, page.items.len()))
        (twins("/v1/users", &api_query))
    };
    Ok(layout::page(ctx, "Users", body))
}

/// A repeated field: its own id and label.
fn field_n(name: &str, i: usize, label: &str, value: &str, hint: &str) -> Markup {
    let id = format!("f-{name}-{i}");
    html! {
        div.field {
            label for=(id) { (label) " " (i + 1) }
            input id=(id) type="text" name=(name) value=(value) placeholder=(hint);
        }
    }
}

/// The id a user is linked by: userId, else anonymousId.
fn display_id(u: &crate::store::UserView) -> String {
    u.user_id
        .clone()
        .or_else(|| u.field(UserField::AnonymousId).map(str::to_string))
        .unwrap_or_default()
}

pub async fn profile(ui: &Arc<Ui>, ctx: &Ctx, id: String) -> Result<Markup> {
    ctx.params(&[]).only(&["limit", "offset"])?;
    let window = ctx.window(TIMELINE)?;
    let wanted = id.clone();
    let (detail, history) = ui
        .with(move |store| {
            let detail = users::detail(store, &wanted, 0)?;
            let history = timeline(store, &wanted, window)?;
            Ok((detail, history))
        })
        .await?;
    let user = &detail.user;
    let why = format!("/ui/why/user/{}", segment(&id));
    let body = html! {
        p { a href=(why) { "Why every value is what it is" } }
        section aria-labelledby="h-fields" {
            h2 #h-fields { "Fields" }
            dl.fields {
                dt { "user_id" } dd { (user.user_id.as_deref().unwrap_or("")) }
                @for (f, v) in UserField::ALL.iter().zip(&user.fields) {
                    @if let Some(v) = v {
                        dt { (f.name()) } dd { (v) " " (layout::why_link(&why, f.name())) }
                    }
                }
                dt { "page_views" } dd { (user.page_views) }
                dt { "last_seen" } dd { (user.last_seen.as_deref().unwrap_or("")) }
                dt { "created_at" } dd { (user.created_at) }
                dt { "updated_at" } dd { (user.updated_at) }
            }
        }
        section aria-labelledby="h-attrs" {
            h2 #h-attrs { "Attributes" }
            (layout::attributes(&user.attribute_types, &user.attributes, &why))
        }
        section aria-labelledby="h-companies" {
            h2 #h-companies { "Companies" }
            @if user.companies.is_empty() { p { "None." } } @else {
                ul { @for g in &user.companies { li { a href={ "/ui/companies/" (segment(g)) } { (g) } } } }
            }
        }
        section aria-labelledby="h-timeline" {
            h2 #h-timeline { "Timeline" }
            (timeline_table(&history.items))
            (pager(ctx, &[], window, history.total, history.items.len()))
            @let user_query = layout::encode([("user".to_string(), id.clone())].iter());
            (twins("/v1/events", &user_query))
            (twins("/v1/pages", &user_query))
        }
        (twins(&format!("/v1/users/{}", segment(&id)), ""))
    };
    let title = format!("User {}", display_id(user));
    Ok(layout::page(ctx, &title, body))
}

fn timeline_table(items: &[Entry]) -> Markup {
    html! {
        table.timeline {
            thead { tr {
                th scope="col" { "Time" } th scope="col" { "Kind" }
                th scope="col" { "Name / URL" } th scope="col" { "Properties" }
            } }
            tbody {
                @for e in items {
                    tr {
                        td { time { (e.timestamp()) } }
                        @match e {
                            Entry::Event(ev) => {
                                td { "event" }
                                td { (ev.name) }
                                td { code { (compact(&ev.properties)) } }
                            }
                            Entry::Page(p) => {
                                td { "page view" }
                                td { (p.url.as_deref().or(p.path.as_deref()).or(p.name.as_deref()).unwrap_or("")) }
                                td { code { (compact(&p.properties)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Properties as short JSON (an empty object as nothing).
pub fn compact(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) if m.is_empty() => String::new(),
        serde_json::Value::Null => String::new(),
        v => {
            let s = v.to_string();
            if s.chars().count() > 200 {
                s.chars().take(200).chain("…".chars()).collect()
            } else {
                s
            }
        }
    }
}
