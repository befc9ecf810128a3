//! Events and page views (counts by name, by day/week/month as a bar chart drawn here
//! in SVG, the top URLs) and the kept rejections.

use std::sync::Arc;

use anyhow::Result;
use chrono::Utc;
use maud::{Markup, html};

use super::Ui;
use super::layout::{self, Ctx, field, pager, twins};
use crate::api::history::{StatItem, bucket, history_query, stats_by};
use crate::api::{self, rejections};
use crate::store::Bucket;

/// Rows of the by-name and top-URL tables.
const TOP: usize = 50;
const PERIODS: [Bucket; 3] = [Bucket::Day, Bucket::Week, Bucket::Month];

/// `/ui/events` and `/ui/pages`: the filters of `events stats` / `pages stats`, and
/// `period` for the chart.
pub async fn history(ui: &Arc<Ui>, ctx: &Ctx, pages: bool) -> Result<Markup> {
    let filter_name = if pages { "url" } else { "name" };
    let keep = ["user", filter_name, "since", "until"];
    let params = ctx.params(&["period"]);
    params.only(&keep)?;
    let filter = params.history_filter()?;
    let period = bucket(
        ctx.all("period").first().map_or("day", String::as_str),
        &PERIODS,
    )?;
    let (by_name, by_period, by_url) = ui
        .with(move |store| {
            let query = history_query(store, &filter, Utc::now())?;
            let mut bys = vec![Bucket::Name, period];
            if pages {
                bys.push(Bucket::Url);
            }
            let mut all = stats_by(store, pages, &bys, &query)?.into_iter();
            let by_name = all.next().unwrap_or_default();
            let by_period = all.next().unwrap_or_default();
            let by_url = all.next().unwrap_or_default();
            Ok((by_name, by_period, by_url))
        })
        .await?;
    let query = layout::encode(ctx.pairs.iter().filter(|(k, _)| keep.contains(&k.as_str())));
    let with = |by: &str| {
        if query.is_empty() {
            format!("by={by}")
        } else {
            format!("by={by}&{query}")
        }
    };
    let (title, api) = if pages {
        ("Page views", "/v1/stats/pages")
    } else {
        ("Events", "/v1/stats/events")
    };
    let body = html! {
        form.filters method="get" action=(ctx.path) role="search" aria-label="Filter" {
            fieldset {
                legend { "Filters" }
                (field("user", "User (userId, anonymousId or email)", &ctx.one("user"), ""))
                @if pages {
                    (field("url", "URL containing", &ctx.one("url"), "/pricing"))
                } @else {
                    (field("name", "Event name", &ctx.one("name"), "Order Completed"))
                }
                (field("since", "Since", &ctx.one("since"), "30d"))
                (field("until", "Until", &ctx.one("until"), ""))
                div.field {
                    label for="f-period" { "Chart by" }
                    select #f-period name="period" {
                        @for p in PERIODS {
                            option value=(p.as_str()) selected[p == period] { (p.as_str()) }
                        }
                    }
                }
            }
            button type="submit" { "Show" }
        }
        section aria-labelledby="h-chart" {
            h2 #h-chart { "By " (period.as_str()) }
            (chart(&by_period, title))
            (twins(api, &with(period.as_str())))
        }
        section aria-labelledby="h-names" {
            h2 #h-names { "By name" }
            (table(&by_name, "Name"))
            (twins(api, &with("name")))
        }
        @if pages {
            section aria-labelledby="h-urls" {
                h2 #h-urls { "Top URLs" }
                (table(&top(by_url), "URL"))
                (twins(api, &with("url")))
            }
        }
    };
    Ok(layout::page(ctx, title, body))
}

fn top(mut items: Vec<StatItem>) -> Vec<StatItem> {
    items.sort_by_key(|i| std::cmp::Reverse(i.row.count));
    items
}

fn table(items: &[StatItem], what: &str) -> Markup {
    let mut sorted: Vec<&StatItem> = items.iter().collect();
    sorted.sort_by_key(|i| std::cmp::Reverse(i.row.count));
    html! {
        @if sorted.is_empty() { p { "None." } } @else {
            table {
                thead { tr {
                    th scope="col" { (what) } th scope="col" { "Count" } th scope="col" { "Users" }
                    th scope="col" { "First" } th scope="col" { "Last" }
                } }
                tbody {
                    @for i in sorted.iter().take(TOP) {
                        tr {
                            td { (i.row.key.as_deref().unwrap_or("(none)")) }
                            td.num { (i.row.count) } td.num { (i.row.users) }
                            td { (i.row.first) } td { (i.row.last) }
                        }
                    }
                }
            }
        }
    }
}

/// A bar chart of counts by period, as SVG (no script).
fn chart(items: &[StatItem], what: &str) -> Markup {
    const W: f64 = 760.0;
    const H: f64 = 200.0;
    const LEFT: f64 = 48.0;
    const BOTTOM: f64 = 24.0;
    let max = items.iter().map(|i| i.row.count).max().unwrap_or(0).max(1) as f64;
    let n = items.len().max(1) as f64;
    let slot = (W - LEFT) / n;
    let bar = (slot * 0.8).max(1.0);
    let label_every = ((n / 10.0).ceil() as usize).max(1);
    let total: i64 = items.iter().map(|i| i.row.count).sum();
    let description = format!(
        "{what}: {total} in {} periods, at most {} in one",
        items.len(),
        max as i64
    );
    html! {
        @if items.is_empty() { p { "Nothing in this window." } } @else {
            figure {
                svg.chart viewBox={ "0 0 " (W) " " (H + BOTTOM) } role="img" aria-label=(description) {
                    text x="0" y="12" class="axis" { (max as i64) }
                    text x="0" y=(H) class="axis" { "0" }
                    line x1=(LEFT) y1=(H) x2=(W) y2=(H) class="base" {}
                    @for (k, i) in items.iter().enumerate() {
                        @let h = (i.row.count as f64 / max) * (H - 16.0);
                        @let x = LEFT + k as f64 * slot;
                        rect x=(format!("{x:.1}")) y=(format!("{:.1}", H - h)) width=(format!("{bar:.1}")) height=(format!("{h:.1}")) class="bar" {
                            title { (i.row.key.as_deref().unwrap_or("")) ": " (i.row.count) }
                        }
                        @if k % label_every == 0 {
                            text x=(format!("{x:.1}")) y=(H + 16.0) class="axis" { (i.row.key.as_deref().unwrap_or("")) }
                        }
                    }
                }
                figcaption { (description) }
            }
        }
    }
}

/// `/ui/rejections`: what was rejected or skipped, with reason, source and payload.
pub async fn rejections(ui: &Arc<Ui>, ctx: &Ctx) -> Result<Markup> {
    let keep = ["since", "reason", "limit", "offset"];
    let params = ctx.params(&[]);
    params.only(&keep)?;
    let filter = params.rejection_filter()?;
    let window = ctx.window(50)?;
    let page = ui
        .with(move |store| {
            let query = rejections::rejection_query(&filter, Utc::now())?;
            api::page(store, &query, window)
        })
        .await?;
    let body = html! {
        form.filters method="get" action="/ui/rejections" role="search" aria-label="Filter rejections" {
            fieldset {
                legend { "Filters (as " code { "usercom rejections list" } ")" }
                (field("since", "Since", &ctx.one("since"), "1h"))
                (field("reason", "Reason containing", &ctx.one("reason"), "domain"))
            }
            button type="submit" { "Filter" }
        }
        p.count { strong { (page.total) } " kept" }
        table {
            thead { tr {
                th scope="col" { "Received" } th scope="col" { "Outcome" } th scope="col" { "Reason" }
                th scope="col" { "Source" } th scope="col" { "Payload" }
            } }
            tbody {
                @for r in &page.items {
                    tr {
                        td { (r.received_at) }
                        td { (r.outcome.as_str()) }
                        td { (r.reason) }
                        td {
                            (r.source)
                            @if let Some(l) = r.line { ", line " (l) }
                            @if let Some(i) = r.item { ", item " (i) }
                            @if let Some(a) = &r.remote { " from " (a) }
                        }
                        td { details { summary { "payload" } pre { (r.raw) } } }
                    }
                }
            }
        }
        (pager(ctx, &keep, window, page.total, page.items.len()))
        (twins("/v1/rejections", &ctx.query_with(window, &keep, &[])))
    };
    Ok(layout::page(ctx, "Rejections", body))
}
