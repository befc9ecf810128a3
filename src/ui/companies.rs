//! Companies: the list (the filters of `companies list`) and a company's page (fields,
//! attributes, members).

use std::sync::Arc;

use crate::semantics::company::CompanyField;
use anyhow::Result;
use chrono::Utc;
use maud::{Markup, html};

use super::Ui;
use super::layout::{self, Ctx, field, pager, segment, twins};
use crate::api::{self, companies};

const PER_PAGE: u64 = 50;
const PARAMS: [&str; 4] = ["where", "sort", "limit", "offset"];
const COLUMNS: [&str; 5] = ["name", "country", "city", "employees", "members"];

pub async fn list(ui: &Arc<Ui>, ctx: &Ctx) -> Result<Markup> {
    let params = ctx.params(&[]);
    params.only(&PARAMS)?;
    let filter = params.company_filter()?;
    let window = ctx.window(PER_PAGE)?;
    let page = ui
        .with(move |store| {
            let query = companies::company_query(store, &filter, Utc::now())?;
            api::page(store, &query, window)
        })
        .await?;
    let body = html! {
        form.filters method="get" action="/ui/companies" role="search" aria-label="Filter companies" {
            fieldset {
                legend { "Filters (as " code { "usercom companies list" } ")" }
                (field("where", "Where", &ctx.one("where"), "country=Poland"))
                (field("sort", "Sort", &ctx.one("sort"), "name"))
                (field("limit", "Per page", &ctx.one("limit"), "50"))
            }
            button type="submit" { "Filter" }
            " " a href="/ui/companies" { "Clear" }
        }
        p.count { strong { (page.total) } " companies match" }
        table {
            thead { tr {
                th scope="col" { "Company" }
                @for c in COLUMNS { th scope="col" { (c) } }
            } }
            tbody {
                @for row in &page.items {
                    @let c = &row.company;
                    tr {
                        td { a href={ "/ui/companies/" (segment(&c.group_id)) } { (c.group_id) } }
                        @for col in COLUMNS { td { (companies::cell_of(c, col)) } }
                    }
                }
            }
        }
        (pager(ctx, &PARAMS, window, page.total, page.items.len()))
        (twins("/v1/companies", &ctx.query_with(window, &PARAMS, &[])))
    };
    Ok(layout::page(ctx, "Companies", body))
}

pub async fn one(ui: &Arc<Ui>, ctx: &Ctx, group: String) -> Result<Markup> {
    ctx.params(&[]).only(&[])?;
    let wanted = group.clone();
    let c = ui
        .with(move |store| companies::detail(store, &wanted))
        .await?;
    let why = format!("/ui/why/company/{}", segment(&group));
    let body = html! {
        p { a href=(why) { "Why every value is what it is" } }
        section aria-labelledby="h-fields" {
            h2 #h-fields { "Fields" }
            dl.fields {
                @for f in companies::FIELDS.iter().chain(&["created_at", "updated_at"]) {
                    @let v = companies::cell_of(&c, f);
                    @if !v.is_empty() {
                        dt { (f) }
                        dd {
                            (v)
                            @if CompanyField::ALL.iter().any(|k| k.name() == *f) {
                                " " (layout::why_link(&why, f))
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="h-attrs" {
            h2 #h-attrs { "Attributes" }
            (layout::attributes(&c.attribute_types, &c.attributes, &why))
        }
        section aria-labelledby="h-members" {
            h2 #h-members { "Members (" (c.members.len()) ")" }
            @if c.members.is_empty() { p { "None." } } @else {
                ul { @for m in &c.members { li { a href={ "/ui/users/" (segment(m)) } { (m) } } } }
            }
        }
        (twins(&format!("/v1/companies/{}", segment(&group)), ""))
    };
    Ok(layout::page(ctx, &format!("Company {group}"), body))
}
