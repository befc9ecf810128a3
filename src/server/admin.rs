//! The read API (`GET /v1/users`, ...), `POST /v1/expect` and `POST /v1/reset`: admin
//! keys only (HTTP Basic), answered by the query layer ([`crate::api`]) with the same
//! JSON as the CLI's `--json`. Reads run on connections of their own, beside the
//! writer; a request whose `Host` is a DNS name other than localhost is refused, so that
//! a web page cannot reach the API through DNS rebinding.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use chrono::Utc;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;

use super::body::MAX_EVENT_BYTES;
use super::errors::ApiError;
use super::request::{basic_auth_key, gzip_encoded, read_body};
use super::routes::AdminRoute;
use crate::api::expect::{Expectation, wait};
use crate::api::params::{Params, USER_PARAMS};
use crate::api::{self, Page};
use crate::output::Format;
use crate::store::Store;

/// Idle read connections kept.
const IDLE_READERS: usize = 8;

/// What the admin routes share.
pub struct Admin {
    db: PathBuf,
    idle: Mutex<Vec<Store>>,
    /// The one origin whose pages may read (`--cors-origin`).
    pub cors_origin: Option<String>,
    /// `POST /v1/reset` is allowed (`--allow-reset`).
    pub allow_reset: bool,
    body_timeout: Duration,
}

type Answer = Response<Full<Bytes>>;

impl Admin {
    pub fn new(
        db: PathBuf,
        cors_origin: Option<String>,
        allow_reset: bool,
        body_timeout: Duration,
    ) -> Admin {
        Admin {
            db,
            idle: Mutex::new(Vec::new()),
            cors_origin,
            allow_reset,
            body_timeout,
        }
    }

    /// Runs `f` on a read connection (opened when none is idle).
    fn with<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        let idle = self.idle.lock().map(|mut i| i.pop()).unwrap_or(None);
        let store = match idle {
            Some(store) => store,
            None => Store::open(&self.db)?,
        };
        let result = f(&store);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_READERS
        {
            idle.push(store);
        }
        result
    }

    /// The origin to answer with CORS headers: the request's, when `--cors-origin`
    /// names it.
    pub fn allowed_origin(&self, headers: &HeaderMap) -> Option<String> {
        let asked = headers.get(header::ORIGIN)?.to_str().ok()?;
        let allowed = self.cors_origin.as_deref()?;
        (asked.trim_end_matches('/') == allowed.trim_end_matches('/')).then(|| asked.to_string())
    }
}

/// CORS headers for the origin `--cors-origin` allows.
pub fn add_cors(response: &mut Answer, origin: &str) {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
}

/// Whether `Host` names this server by an address or a loopback name: a DNS name could
/// be an attacker's, rebound to this address.
fn host_allowed(headers: &HeaderMap) -> bool {
    let mut hosts = headers.get_all(header::HOST).iter();
    let (Some(host), None) = (hosts.next(), hosts.next()) else {
        // None, or more than one: not a request to trust.
        return false;
    };
    let Ok(host) = host.to_str() else {
        return false;
    };
    let host = host.trim().to_ascii_lowercase();
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, port)) if port.is_empty() || port.starts_with(':') => ip.to_string(),
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name.to_string(),
            _ => host,
        }
    };
    let name = name.trim_end_matches('.');
    name.parse::<IpAddr>().is_ok() || name == "localhost" || name.ends_with(".localhost")
}

/// Answers an admin route.
pub async fn serve(
    admin: Arc<Admin>,
    route: &AdminRoute,
    path: &str,
    request: Request<Incoming>,
) -> Result<Answer, ApiError> {
    if !host_allowed(request.headers()) {
        return Err(ApiError::forbidden(
            "the Host header is not this server's address or a loopback name: the read API \
             answers only requests addressed to an IP address or localhost",
        ));
    }
    if request.method() == Method::OPTIONS {
        return Ok(preflight(&admin, route, request.headers()));
    }
    if request.method().as_str() != route.method() {
        let allow = if route.method() == "GET" {
            "GET, OPTIONS"
        } else {
            "POST, OPTIONS"
        };
        return Err(ApiError::method_not_allowed(allow, path));
    }
    // Admin keys come in the Authorization header only, never in the URL or the body.
    let Some(key) = basic_auth_key(request.headers())? else {
        return Err(ApiError::forbidden(
            "no API key: send an admin key as the user name of HTTP Basic authentication \
             (create one with `usercom keys create --admin`)",
        ));
    };
    let query = request.uri().query().map(str::to_string);
    let body = if request.method() == Method::POST {
        let gzip = gzip_encoded(request.headers())?;
        let timeout = admin.body_timeout;
        read_body(request, MAX_EVENT_BYTES, gzip, timeout).await?
    } else {
        Bytes::new()
    };
    let route = route.clone();
    let answered = tokio::task::spawn_blocking(move || {
        admin.with(|store| answer(&admin, store, &key, &route, query.as_deref(), &body))
    })
    .await;
    match answered {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => Err(api_error(e)),
        Err(_) => Err(ApiError::internal("reading the database failed")),
    }
}

fn preflight(admin: &Admin, route: &AdminRoute, headers: &HeaderMap) -> Answer {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    if let Some(origin) = admin.allowed_origin(headers) {
        let h = response.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(if route.method() == "GET" {
                "GET, OPTIONS"
            } else {
                "POST, OPTIONS"
            }),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        add_cors(&mut response, &origin);
    }
    response
}

/// An error of the query layer as an answer: usage 400, not found 404, forbidden 403.
fn api_error(e: anyhow::Error) -> ApiError {
    match e.downcast_ref::<crate::Error>() {
        Some(crate::Error::Usage(m)) => ApiError::bad_request("invalid_request", m.clone()),
        Some(crate::Error::NotFound(m)) => ApiError::not_found(m.clone()),
        Some(crate::Error::Forbidden(m)) => ApiError::forbidden(m.clone()),
        None => ApiError::internal(format!("{e:#}")),
    }
}

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

/// A list: `{"items", "total", "limit", "offset"}`, or the CLI's `--csv` / `--ndjson`
/// output of the same rows (`write` gets the query with the window applied).
fn list<T: Serialize>(
    format: Format,
    page: impl FnOnce() -> Result<Page<T>>,
    write: impl FnOnce(Format, &mut Vec<u8>) -> Result<usize>,
) -> Result<Answer> {
    match format {
        Format::Csv => {
            let mut out = Vec::new();
            write(format, &mut out)?;
            Ok(bytes(StatusCode::OK, "text/csv; charset=utf-8", out))
        }
        Format::Ndjson => {
            let mut out = Vec::new();
            write(format, &mut out)?;
            Ok(bytes(StatusCode::OK, "application/x-ndjson", out))
        }
        _ => json(StatusCode::OK, &page()?),
    }
}

fn answer(
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
    let usage = |m: String| -> anyhow::Error { crate::Error::Usage(m).into() };
    match route {
        AdminRoute::User(id) => {
            params.only(&["recent"])?;
            let recent = params
                .one("recent")?
                .map(|r| {
                    r.parse::<u64>()
                        .map_err(|_| usage(format!("recent={r:?}: expected a whole number")))
                })
                .transpose()?
                .unwrap_or(10);
            json(StatusCode::OK, &api::users::detail(store, id, recent)?)
        }
        AdminRoute::Users => {
            params.only(&USER_PARAMS)?;
            let checked = api::users::user_query(store, &params.user_filter()?, now)?;
            let window = params.window()?;
            let mut q = checked.query.clone();
            q.limit = window.limit;
            q.offset = window.offset;
            list(
                params.format()?,
                || api::users::page(store, &checked.query, window),
                |f, out| api::users::write(store, &q, f, Box::new(out)),
            )
        }
        AdminRoute::Company(group) => {
            params.only(&[])?;
            json(StatusCode::OK, &api::companies::detail(store, group)?)
        }
        AdminRoute::Companies => {
            params.only(&["where", "sort", "limit", "offset", "format"])?;
            let query = api::companies::company_query(store, &params.company_filter()?, now)?;
            let window = params.window()?;
            let mut q = query.clone();
            q.limit = window.limit;
            q.offset = window.offset;
            let attributes =
                store.attribute_schema(crate::semantics::attributes::Scope::Company)?;
            list(
                params.format()?,
                || api::companies::page(store, &query, window),
                |f, out| {
                    let headers = api::companies::csv_headers(&attributes);
                    api::companies::write(store, &q, f, headers, Box::new(out), |_| false)
                },
            )
        }
        AdminRoute::Events | AdminRoute::Pages => {
            let pages = *route == AdminRoute::Pages;
            let by_name = if pages { "url" } else { "name" };
            params.only(&[
                "user", by_name, "since", "until", "limit", "offset", "format",
            ])?;
            let query = api::history::history_query(store, &params.history_filter()?, now)?;
            let window = params.window()?;
            let q = crate::store::HistoryQuery {
                limit: window.limit,
                offset: window.offset,
                ..query.clone()
            };
            if pages {
                list(
                    params.format()?,
                    || api::history::pages_page(store, &query, window),
                    |f, out| api::history::write_pages(store, &q, f, Box::new(out)),
                )
            } else {
                list(
                    params.format()?,
                    || api::history::events_page(store, &query, window),
                    |f, out| api::history::write_events(store, &q, f, Box::new(out)),
                )
            }
        }
        AdminRoute::EventStats | AdminRoute::PageStats => {
            let pages = *route == AdminRoute::PageStats;
            let filter = if pages { "url" } else { "name" };
            params.only(&[
                "by", "user", filter, "since", "until", "limit", "offset", "format",
            ])?;
            let (allowed, default): (&[_], _) = if pages {
                (&api::history::PAGE_BUCKETS, "url")
            } else {
                (&api::history::EVENT_BUCKETS, "name")
            };
            let by =
                api::history::bucket(params.one("by")?.as_deref().unwrap_or(default), allowed)?;
            let query = api::history::history_query(store, &params.history_filter()?, now)?;
            let page = api::history::stats_page(store, pages, by, &query, params.window()?)?;
            list(
                params.format()?,
                || Ok(page.clone()),
                |f, out| api::history::write_stats(&page.items, by, f, Box::new(out)),
            )
        }
        AdminRoute::Rejections => {
            params.only(&["since", "reason", "limit", "offset", "format"])?;
            let query = api::rejections::rejection_query(&params.rejection_filter()?, now)?;
            let window = params.window()?;
            let q = crate::store::RejectionQuery {
                limit: window.limit,
                offset: window.offset,
                ..query.clone()
            };
            list(
                params.format()?,
                || api::rejections::page(store, &query, window),
                |f, out| api::rejections::write(store, &q, f, Box::new(out)),
            )
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with_host(host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        headers
    }

    #[test]
    fn only_addresses_and_loopback_names_may_read() {
        for host in [
            "127.0.0.1:8787",
            "localhost:8787",
            "LOCALHOST",
            "[::1]:8787",
            "10.0.0.5",
            "app.localhost:3000",
        ] {
            assert!(host_allowed(&with_host(host)), "{host}");
        }
        for host in [
            "evil.example.com:8787",
            "example.com",
            "[::1",
            "127.0.0.1.evil.com",
        ] {
            assert!(!host_allowed(&with_host(host)), "{host}");
        }
        assert!(!host_allowed(&HeaderMap::new()));
        let mut two = with_host("127.0.0.1");
        two.append(header::HOST, HeaderValue::from_static("evil.example"));
        assert!(!host_allowed(&two));
    }
}
