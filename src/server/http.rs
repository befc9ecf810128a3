//! Segment's HTTP Tracking API: each request routed ([`super::routes`]), read
//! ([`super::request`], [`super::body`]) and answered ([`super::errors`]). Events go to
//! the writer ([`super::writer`]); nothing here writes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;
use serde_json::json;
use tokio::sync::oneshot;

use super::admin::{self, Admin};
use super::body::{self, MAX_BATCH_BYTES, MAX_EVENT_BYTES, Parsed, Refused};
use super::errors::{ApiError, answer, json_response, success};
use super::kept::Source;
use super::request::{
    basic_auth_key, called_host, client_ip, gzip_encoded, read_body, request_origin,
};
use super::routes::{ENDPOINTS, Route, add_cors, preflight, route};
use super::settings;
use super::stamp::Receipt;
use super::writer::{Applied, Job, Payload, Refusal};
use crate::semantics::api_key::display_prefix;

/// What the handlers share.
pub struct State {
    pub jobs: std::sync::mpsc::Sender<Job>,
    pub stats: Stats,
    /// How long a client may take to send a body.
    pub body_timeout: Duration,
    /// Take the client's address from `X-Forwarded-For` (and the host called from
    /// `X-Forwarded-Host`/`-Proto`): the server is behind a proxy that sets them.
    pub trust_proxy: bool,
    /// The address the server listens on.
    pub local: SocketAddr,
    /// The read API, expect and reset.
    pub admin: Arc<Admin>,
}

/// Responses by status, for the shutdown summary.
pub struct Stats {
    /// Index: the status code (100 to 599).
    by_status: Box<[AtomicU64]>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            by_status: (0..600).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// A copy of [`Stats`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct StatsSnapshot {
    pub ok: u64,
    pub bad_request: u64,
    pub forbidden: u64,
    pub too_large: u64,
    pub other_client_errors: u64,
    pub server_errors: u64,
    /// Failed requests (status 400 and above), by status.
    pub failed: std::collections::BTreeMap<u16, u64>,
}

impl Stats {
    fn count(&self, status: StatusCode) {
        if let Some(counter) = self.by_status.get(status.as_u16() as usize) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let mut snapshot = StatsSnapshot::default();
        for (status, counter) in self.by_status.iter().enumerate() {
            let n = counter.load(Ordering::Relaxed);
            if n == 0 {
                continue;
            }
            match status {
                200..=299 => snapshot.ok += n,
                400 => snapshot.bad_request += n,
                403 => snapshot.forbidden += n,
                413 => snapshot.too_large += n,
                500.. => snapshot.server_errors += n,
                401..=499 => snapshot.other_client_errors += n,
                _ => {}
            }
            if status >= 400 {
                snapshot.failed.insert(status as u16, n);
            }
        }
        snapshot
    }
}

/// Answers one request; never fails (errors are JSON answers). Failed requests are
/// logged on stderr, one line each.
pub async fn handle(
    state: Arc<State>,
    peer: Option<SocketAddr>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let route = route(&path);
    // Keys are never written out whole (in messages and the log): a settings path
    // names its key by its prefix.
    let logged_path = match &route {
        Some(Route::Settings(key)) => {
            format!("/v1/projects/{}…/settings", display_prefix(key))
        }
        _ => path,
    };
    let admin_origin = match &route {
        Some(Route::Admin(_)) => state.admin.allowed_origin(request.headers()),
        _ => None,
    };
    let mut response = match serve(&state, peer, route.as_ref(), &logged_path, request).await {
        Ok(response) => response,
        Err(error) => {
            eprintln!(
                "usercom serve: {method} {} {}: {}",
                printable(&logged_path),
                error.status.as_u16(),
                printable(&error.message)
            );
            error.into_response()
        }
    };
    if route.as_ref().is_some_and(Route::cross_origin) {
        add_cors(&mut response);
    }
    if let Some(origin) = admin_origin {
        admin::add_cors(&mut response, &origin);
    }
    state.stats.count(response.status());
    Ok(response)
}

/// Text for a log line: control characters escaped, so that a request cannot write
/// to the operator's terminal.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

async fn serve(
    state: &State,
    peer: Option<SocketAddr>,
    route: Option<&Route>,
    path: &str,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, ApiError> {
    let received_at = Utc::now();
    let Some(route) = route else {
        return Err(ApiError::not_found(format!(
            "no endpoint {path}: the API has {ENDPOINTS}"
        )));
    };
    if let Route::Admin(admin_route) = route {
        return admin::serve(state.admin.clone(), admin_route, path, request).await;
    }
    let method = request.method();
    match (route, method) {
        (Route::Health, &Method::GET | &Method::HEAD) => {
            return Ok(json_response(StatusCode::OK, &json!({"status": "ok"})));
        }
        (Route::Health, _) => return Err(ApiError::method_not_allowed(route.allow(), path)),
        (_, &Method::OPTIONS) => return Ok(preflight(route, request.headers())),
        (Route::Settings(key), &Method::GET | &Method::HEAD) => {
            check_key(state, key.clone()).await?;
            let (scheme, host) = called_host(request.headers(), state.local, state.trust_proxy);
            return Ok(json_response(
                StatusCode::OK,
                &settings::document(key, &scheme, &host),
            ));
        }
        (Route::Settings(_), _) => return Err(ApiError::method_not_allowed(route.allow(), path)),
        (_, &Method::POST) => {}
        _ => return Err(ApiError::method_not_allowed(route.allow(), path)),
    }

    let headers = request.headers();
    let header_key = basic_auth_key(headers)?;
    let origin = request_origin(headers)?;
    let gzip = gzip_encoded(headers)?;
    let ip = client_ip(headers, peer, state.trust_proxy).map(|ip| ip.to_string());
    let limit = match route {
        Route::Event(_) => MAX_EVENT_BYTES,
        _ => MAX_BATCH_BYTES,
    };
    let body = read_body(request, limit, gzip, state.body_timeout).await?;
    if *route == Route::Metrics {
        // analytics.js's telemetry: taken and discarded.
        return Ok(success());
    }
    let Ok(body) = std::str::from_utf8(&body) else {
        return Err(ApiError::bad_request(
            "invalid_json",
            "the body is not UTF-8 text",
        ));
    };
    let receipt = Receipt {
        received_at,
        ip: ip.as_deref(),
    };
    let Parsed {
        payload,
        refused,
        write_key,
    } = match route {
        Route::Event(kind) => body::single(kind, body, &receipt)?,
        _ => body::batch(body, &receipt)?,
    };
    // The key is checked by the writer, against the database as it is then.
    let key_in_header = header_key.is_some();
    let key = match (header_key, write_key) {
        (Some(key), _) => key,
        (None, Some(key)) if !key.trim().is_empty() => key.trim().to_string(),
        (None, _) => {
            return Err(ApiError::forbidden(
                "no API key: send it as the user name of HTTP Basic authentication \
                 (empty password), or as \"writeKey\" in the body",
            ));
        }
    };
    let from = Source {
        path: path.to_string(),
        remote: ip,
    };
    let listed = refused.iter().map(|r| (r.item, r.reason.clone())).collect();
    let key = (key, key_in_header);
    let applied = submit(state, key, payload, origin, received_at, from, refused).await?;
    answer(*route == Route::Batch, applied, listed)
}

/// Queues a request's events for the writer and waits for their commit.
async fn submit(
    state: &State,
    (key, key_in_header): (String, bool),
    payload: Payload,
    origin: Option<String>,
    received_at: chrono::DateTime<Utc>,
    source: Source,
    refused: Vec<Refused>,
) -> Result<Applied, ApiError> {
    let (reply, answered) = oneshot::channel();
    let job = Job {
        key,
        key_in_header,
        payload,
        origin,
        received_at,
        source,
        refused,
        reply,
    };
    state.jobs.send(job).map_err(|_| ApiError::unavailable())?;
    match answered.await {
        Ok(Ok(applied)) => Ok(applied),
        Ok(Err(Refusal::Forbidden(message))) => Err(ApiError::forbidden(message)),
        Ok(Err(Refusal::Failed(message))) => Err(ApiError::internal(message)),
        Err(_) => Err(ApiError::internal("the events could not be stored: retry")),
    }
}

/// 403 unless `key` is an active API key (the writer checks it, as for events).
async fn check_key(state: &State, key: String) -> Result<(), ApiError> {
    // The settings path carries the key in the URL.
    submit(
        state,
        (key, false),
        Payload::Nothing,
        None,
        Utc::now(),
        Source::default(),
        Vec::new(),
    )
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_requests_are_counted_by_status() {
        let stats = Stats::default();
        for status in [200, 204, 403, 403, 404, 413, 503] {
            stats.count(StatusCode::from_u16(status).unwrap());
        }
        let s = stats.snapshot();
        assert_eq!((s.ok, s.forbidden, s.too_large), (2, 2, 1));
        assert_eq!((s.other_client_errors, s.server_errors), (1, 1));
        assert_eq!(
            s.failed.into_iter().collect::<Vec<_>>(),
            vec![(403, 2), (404, 1), (413, 1), (503, 1)]
        );
    }

    #[test]
    fn log_lines_escape_control_characters() {
        assert_eq!(printable("a\u{1b}]0;x\u{7}b\n"), "a\\u{1b}]0;x\\u{7}b\\n");
    }
}
