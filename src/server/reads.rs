//! The answers of the admin routes, from the query layer: one object, a page of a
//! list (or the CLI's CSV / ndjson of it), an expect verdict, a reset.

use anyhow::Result;
use chrono::Utc;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;

use super::admin::Admin;
use super::routes::AdminRoute;
use crate::api::expect::{Expectation, wait};
use crate::api::history::{Events, Pages};
use crate::api::params::{Params, USER_PARAMS};
use crate::api::{self, Listing};
use crate::output::Format;
use crate::semantics::attributes::Scope;
use crate::store::Store;

pub type Answer = Response<Full<Bytes>>;

fn bytes(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Result<Answer> {
    let mut body = serde_json::to_vec(value)?;
    body.push(b'\n');
    Ok(bytes(status, "application/json", body))
}

/// `format=csv` / `ndjson`: the CLI's output of the rows `write` renders.
fn rendered(
    format: Format,
    write: impl FnOnce(Format, &mut Vec<u8>) -> Result<usize>,
) -> Result<Answer> {
    let mut out = Vec::new();
    write(format, &mut out)?;
    let content_type = if format == Format::Csv {
        "text/csv; charset=utf-8"
    } else {
        "application/x-ndjson"
    };
    Ok(bytes(StatusCode::OK, content_type, out))
}

/// A list: `{"items", "total", "limit", "offset"}` for the window the parameters give,
/// or the CLI's `--csv` / `--ndjson` output of the same rows.
fn list<L: Listing>(
    store: &Store,
    params: &Params,
    query: L,
    write: impl FnOnce(&L, Format, &mut Vec<u8>) -> Result<usize>,
) -> Result<Answer> {
    let window = params.window()?;
    match params.format()? {
        Format::Json | Format::Table => json(StatusCode::OK, &api::page(store, &query, window)?),
        format => rendered(format, |f, out| write(&query.window(window), f, out)),
    }
}

fn usage(message: String) -> anyhow::Error {
    crate::Error::Usage(message).into()
}

/// Answers an admin route with an admin key (checked here, on the connection that
/// reads).
pub fn answer(
    admin: &Admin,
    store: &Store,
    key: &str,
    route: &AdminRoute,
    query: Option<&str>,
    body: &[u8],
) -> Result<Answer> {
    api::require_admin(store, key)?;
    let params = Params::parse(query);
    let now = Utc::now();
    match route {
        AdminRoute::User(id) => {
            params.only(&["recent"])?;
            let recent = match params.one("recent")? {
                Some(r) => r
                    .parse::<u64>()
                    .map_err(|_| usage(format!("recent={r:?}: expected a whole number")))?,
                None => 10,
            };
            json(StatusCode::OK, &api::users::detail(store, id, recent)?)
        }
        AdminRoute::Explain(of, id) => {
            params.only(&["name", "history"])?;
            let history = match params.one("history")? {
                Some(h) => h
                    .parse::<usize>()
                    .map_err(|_| usage(format!("history={h:?}: expected a whole number")))?,
                None => 10,
            };
            let name = params.one("name")?;
            json(
                StatusCode::OK,
                &api::explain::explain(store, *of, id, name.as_deref(), history)?,
            )
        }
        AdminRoute::Users => {
            params.only(&USER_PARAMS)?;
            let checked = api::users::user_query(store, &params.user_filter()?, now)?;
            list(store, &params, checked.query, |q, f, out| {
                api::users::write(store, q, f, Box::new(out))
            })
        }
        AdminRoute::Company(group) => {
            params.only(&[])?;
            json(StatusCode::OK, &api::companies::detail(store, group)?)
        }
        AdminRoute::Companies => {
            params.only(&["where", "sort", "limit", "offset", "format"])?;
            let query = api::companies::company_query(store, &params.company_filter()?, now)?;
            let headers = api::companies::csv_headers(&store.attribute_schema(Scope::Company)?);
            list(store, &params, query, |q, f, out| {
                api::companies::write(store, q, f, headers, Box::new(out), |_| false)
            })
        }
        AdminRoute::Events => {
            params.only(&[
                "user", "name", "since", "until", "limit", "offset", "format",
            ])?;
            let query = api::history::history_query(store, &params.history_filter()?, now)?;
            list(store, &params, Events(query), |q, f, out| {
                api::history::write_events(store, &q.0, f, Box::new(out))
            })
        }
        AdminRoute::Pages => {
            params.only(&["user", "url", "since", "until", "limit", "offset", "format"])?;
            let query = api::history::history_query(store, &params.history_filter()?, now)?;
            list(store, &params, Pages(query), |q, f, out| {
                api::history::write_pages(store, &q.0, f, Box::new(out))
            })
        }
        AdminRoute::EventStats | AdminRoute::PageStats => {
            let pages = *route == AdminRoute::PageStats;
            let (filter, allowed, default): (_, &[_], _) = if pages {
                ("url", &api::history::PAGE_BUCKETS, "url")
            } else {
                ("name", &api::history::EVENT_BUCKETS, "name")
            };
            params.only(&[
                "by", "user", filter, "since", "until", "limit", "offset", "format",
            ])?;
            let by =
                api::history::bucket(params.one("by")?.as_deref().unwrap_or(default), allowed)?;
            let query = api::history::history_query(store, &params.history_filter()?, now)?;
            let page = api::history::stats_page(store, pages, by, &query, params.window()?)?;
            match params.format()? {
                Format::Json | Format::Table => json(StatusCode::OK, &page),
                format => rendered(format, |f, out| {
                    api::history::write_stats(&page.items, by, f, Box::new(out))
                }),
            }
        }
        AdminRoute::Rejections => {
            params.only(&["since", "reason", "limit", "offset", "format"])?;
            let query = api::rejections::rejection_query(&params.rejection_filter()?, now)?;
            list(store, &params, query, |q, f, out| {
                api::rejections::write(store, q, f, Box::new(out))
            })
        }
        AdminRoute::Status => {
            params.only(&[])?;
            json(StatusCode::OK, &api::status::status(store)?)
        }
        AdminRoute::Expect => {
            params.only(&[])?;
            let body: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| usage(format!("the body is not JSON: {e}")))?;
            let expectation = Expectation::parse(&body).map_err(usage)?;
            let verdict = wait(store, &expectation)?;
            let status = if verdict.holds {
                StatusCode::OK
            } else {
                StatusCode::CONFLICT
            };
            json(status, &verdict)
        }
        AdminRoute::Reset => {
            params.only(&[])?;
            if !admin.allow_reset {
                return Err(crate::Error::Forbidden(
                    "resetting over HTTP is off: start the server with `usercom serve \
                     --allow-reset` (or run `usercom reset --yes`)"
                        .to_string(),
                )
                .into());
            }
            let deleted: serde_json::Map<String, serde_json::Value> = store
                .reset()?
                .into_iter()
                .map(|(table, n)| (table.to_string(), n.into()))
                .collect();
            json(StatusCode::OK, &serde_json::json!({ "deleted": deleted }))
        }
    }
}
