//! Segment's HTTP Tracking API: routing, limits, decoding, authentication and the
//! answers. Events go to the writer ([`super::writer`]); nothing here writes.

use std::borrow::Cow;
use std::convert::Infallible;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use chrono::Utc;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use super::writer::{Applied, Job, Payload, Refusal};
use crate::semantics::domains::normalize_domain;

/// Segment's limit for one call, and for one event inside a batch (32 KB).
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Segment's limit for one batch request (500 KB).
pub const MAX_BATCH_BYTES: usize = 500 * 1024;
/// Rejections spelled out in a batch's error message (all are in `rejected`).
const MESSAGE_REJECTIONS: usize = 3;

/// What the handlers share.
pub struct State {
    pub jobs: std::sync::mpsc::Sender<Job>,
    pub stats: Stats,
    /// How long a client may take to send a body.
    pub body_timeout: Duration,
}

/// Responses by status, for the shutdown summary.
#[derive(Default)]
pub struct Stats {
    ok: AtomicU64,
    bad_request: AtomicU64,
    forbidden: AtomicU64,
    too_large: AtomicU64,
    other_client: AtomicU64,
    server_error: AtomicU64,
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
}

impl Stats {
    fn count(&self, status: StatusCode) {
        let counter = match status.as_u16() {
            200..=299 => &self.ok,
            400 => &self.bad_request,
            403 => &self.forbidden,
            413 => &self.too_large,
            500.. => &self.server_error,
            _ => &self.other_client,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            ok: get(&self.ok),
            bad_request: get(&self.bad_request),
            forbidden: get(&self.forbidden),
            too_large: get(&self.too_large),
            other_client_errors: get(&self.other_client),
            server_errors: get(&self.server_error),
        }
    }
}

/// An error answer: `{"code", "message"}` as Segment's API gives (its libraries read
/// those two keys), and any extra keys.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    extra: Map<String, Value>,
    allow: Option<&'static str>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: Map::new(),
            allow: None,
        }
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
    }

    fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    fn into_response(self) -> Response<Full<Bytes>> {
        let mut body = Map::new();
        body.insert("success".into(), Value::Bool(false));
        body.insert("code".into(), Value::String(self.code.to_string()));
        body.insert("message".into(), Value::String(self.message));
        body.extend(self.extra);
        let mut response = json_response(self.status, &Value::Object(body));
        if let Some(allow) = self.allow {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut bytes = serde_json::to_vec(body).expect("a Value serialises");
    bytes.push(b'\n');
    bytes_response(status, Bytes::from(bytes))
}

/// 200 `{"success": true}`, Segment's answer once the events are taken.
fn success() -> Response<Full<Bytes>> {
    bytes_response(StatusCode::OK, Bytes::from_static(b"{\"success\":true}\n"))
}

fn bytes_response(status: StatusCode, bytes: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(bytes));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// What a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// A single call; its type.
    Event(&'static str),
    Batch,
    Health,
}

const ENDPOINTS: &str = "POST /v1/identify, /v1/track, /v1/page, /v1/group, /v1/screen, \
                         /v1/alias, /v1/batch and GET /health";

fn route(path: &str) -> Option<Route> {
    let path = match path.strip_suffix('/') {
        Some(stripped) if !stripped.is_empty() => stripped,
        _ => path,
    };
    Some(match path {
        "/v1/identify" => Route::Event("identify"),
        "/v1/track" => Route::Event("track"),
        "/v1/page" => Route::Event("page"),
        "/v1/group" => Route::Event("group"),
        "/v1/screen" => Route::Event("screen"),
        "/v1/alias" => Route::Event("alias"),
        "/v1/batch" => Route::Batch,
        "/health" => Route::Health,
        _ => return None,
    })
}

/// Answers one request; never fails (errors are JSON answers).
pub async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match serve(&state, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    state.stats.count(response.status());
    Ok(response)
}

async fn serve(
    state: &State,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, ApiError> {
    let received_at = Utc::now();
    let path = request.uri().path();
    let Some(route) = route(path) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no endpoint {path}: the API has {ENDPOINTS}"),
        ));
    };
    let method = request.method().clone();
    if route == Route::Health {
        return if method == Method::GET || method == Method::HEAD {
            Ok(json_response(StatusCode::OK, &json!({"status": "ok"})))
        } else {
            Err(method_not_allowed("GET, HEAD", "GET", path))
        };
    }
    if method == Method::OPTIONS {
        return Ok(preflight());
    }
    if method != Method::POST {
        return Err(method_not_allowed("POST, OPTIONS", "POST", path));
    }

    let headers = request.headers();
    let header_key = basic_auth_key(headers)?;
    let origin = request_origin(headers)?;
    let gzip = gzip_encoded(headers)?;
    let limit = match route {
        Route::Batch => MAX_BATCH_BYTES,
        _ => MAX_EVENT_BYTES,
    };
    let body = read_body(request, limit, gzip, state.body_timeout).await?;

    if std::str::from_utf8(&body).is_err() {
        return Err(ApiError::bad_request(
            "invalid_json",
            "the body is not UTF-8 text",
        ));
    }
    let parsed = match route {
        Route::Event(kind) => {
            text_event(kind, &body).map_or_else(|| event_value(kind, &body), Ok)?
        }
        Route::Batch => text_batch(&body).map_or_else(|| batch_value(&body), Ok)?,
        Route::Health => unreachable!("answered above"),
    };
    // The key is checked by the writer, against the database as it is then.
    let key = match (header_key, parsed.write_key) {
        (Some(key), _) => key,
        (None, Some(key)) if !key.trim().is_empty() => key.trim().to_string(),
        (None, _) => {
            return Err(ApiError::forbidden(
                "no API key: send it as the user name of HTTP Basic authentication \
                 (empty password), or as \"writeKey\" in the body",
            ));
        }
    };
    let (payload, refused) = (parsed.payload, parsed.refused);

    let (reply, answered) = oneshot::channel();
    let applied = {
        let job = Job {
            key,
            payload,
            origin,
            received_at,
            reply,
        };
        state.jobs.send(job).map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the server is shutting down: retry",
            )
        })?;
        match answered.await {
            Ok(Ok(applied)) => applied,
            Ok(Err(Refusal::Forbidden(message))) => return Err(ApiError::forbidden(message)),
            Ok(Err(Refusal::Failed(message))) => return Err(ApiError::internal(message)),
            Err(_) => return Err(ApiError::internal("the events could not be stored: retry")),
        }
    };
    Ok(answer(route, applied, refused)?)
}

fn method_not_allowed(allow: &'static str, use_method: &str, path: &str) -> ApiError {
    let mut error = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("use {use_method} for {path}"),
    );
    error.allow = Some(allow);
    error
}

/// A CORS preflight: browsers may post from pages on other origins (the trusted
/// domains decide which are taken).
fn preflight() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        (header::ACCESS_CONTROL_ALLOW_METHODS, "POST, OPTIONS"),
        (
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Authorization, Content-Type, Content-Encoding",
        ),
        (header::ACCESS_CONTROL_MAX_AGE, "86400"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The key from `Authorization: Basic base64(key:)`; None without Basic credentials
/// (a Bearer token means the key is in the body, as Segment's OAuth flow sends it).
fn basic_auth_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || {
        ApiError::forbidden(
            "malformed Authorization header: expected Basic base64(\"KEY:\") with the API key \
             as the user name and an empty password",
        )
    };
    let text = value.to_str().map_err(|_| malformed())?.trim();
    let Some((scheme, credentials)) = text.split_once(' ') else {
        return Err(malformed());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials.trim())
        .map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let user = decoded.split_once(':').map_or(decoded.as_str(), |(u, _)| u);
    if user.trim().is_empty() {
        return Err(ApiError::forbidden(
            "no API key: the user name of the Basic credentials is empty (the key is the user \
             name; the password stays empty)",
        ));
    }
    Ok(Some(user.trim().to_string()))
}

/// The domain the request comes from: the Origin header, else the Referer's host.
fn request_origin(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let value = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER));
    let Some(value) = value else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text.is_empty() {
        return Ok(None);
    }
    normalize_domain(text).map(Some).map_err(|_| {
        ApiError::forbidden(format!(
            "the request's Origin/Referer {text:?} names no domain, so it cannot be checked \
             against the trusted domains"
        ))
    })
}

fn gzip_encoded(headers: &HeaderMap) -> Result<bool, ApiError> {
    let Some(value) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(false);
    };
    match value
        .to_str()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "" | "identity" => Ok(false),
        "gzip" | "x-gzip" => Ok(true),
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!("Content-Encoding {other:?} is not supported: send gzip or no encoding"),
        )),
    }
}

fn too_large(limit: usize) -> ApiError {
    let what = if limit == MAX_BATCH_BYTES {
        "a batch request"
    } else {
        "one call"
    };
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!(
            "the body is over {} KB, Segment's limit for {what} (32 KB per event, 500 KB per \
             batch): send less per request",
            limit / 1024
        ),
    )
}

/// Reads the body (within `limit` bytes once decompressed) in at most `timeout`.
async fn read_body(
    request: Request<Incoming>,
    limit: usize,
    gzip: bool,
    timeout: Duration,
) -> Result<Bytes, ApiError> {
    // Compressed JSON is smaller; this allows for gzip's own few bytes.
    let raw_limit = if gzip { limit + 1024 } else { limit };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > raw_limit as u64) {
        return Err(too_large(limit));
    }
    let collect = Limited::new(request.into_body(), raw_limit).collect();
    let body = match tokio::time::timeout(timeout, collect).await {
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                format!("the body did not arrive within {} s", timeout.as_secs_f64()),
            ));
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large(limit)),
        Ok(Err(e)) => {
            return Err(ApiError::bad_request(
                "invalid_request",
                format!("the body could not be read: {e}"),
            ));
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    if !gzip {
        return Ok(body);
    }
    let mut decoded = Vec::with_capacity(body.len() * 4);
    flate2::read::MultiGzDecoder::new(&body[..])
        .take(limit as u64 + 1)
        .read_to_end(&mut decoded)
        .map_err(|e| {
            ApiError::bad_request(
                "invalid_request",
                format!("Content-Encoding is gzip but the body is not valid gzip: {e}"),
            )
        })?;
    if decoded.len() > limit {
        return Err(too_large(limit));
    }
    Ok(Bytes::from(decoded))
}

/// Counts the bytes an item serialises to.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A request's events for the writer, the items refused here (position, reason) and
/// the `writeKey` of the body, if any.
struct Parsed {
    payload: Payload,
    refused: Vec<(usize, String)>,
    write_key: Option<String>,
}

fn parse_error(body: &[u8], e: serde_json::Error) -> ApiError {
    let what = if body.iter().all(u8::is_ascii_whitespace) {
        "the body is empty: expected a JSON object".to_string()
    } else {
        format!("invalid JSON: {e}")
    };
    ApiError::bad_request("invalid_json", what)
}

fn starts_object(text: &[u8]) -> bool {
    text.trim_ascii_start().first() == Some(&b'{')
}

/// What the fast path needs to know of a single call.
#[derive(Deserialize)]
struct EventProbe<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(rename = "writeKey", borrow, default)]
    write_key: Option<Cow<'a, str>>,
}

/// A single call passed on as the text that was sent (with the path's `type` when it
/// has none), as `usercom ingest` takes a line. None when it needs [`event_value`]:
/// not an object, a `writeKey` to take out, another `type`, or an error to explain.
fn text_event(kind: &str, body: &Bytes) -> Option<Parsed> {
    if !starts_object(body) {
        return None;
    }
    let probe: EventProbe = serde_json::from_slice(body).ok()?;
    if probe.write_key.is_some() {
        return None;
    }
    let text = match probe.kind.as_deref() {
        Some(k) if k == kind => body.clone(),
        Some(_) => return None,
        None => {
            let trimmed = body.trim_ascii_start();
            let rest = &trimmed[1..];
            let mut text = Vec::with_capacity(body.len() + 24);
            text.extend_from_slice(b"{\"type\":\"");
            text.extend_from_slice(kind.as_bytes());
            text.push(b'"');
            if rest.trim_ascii_start().first() != Some(&b'}') {
                text.push(b',');
            }
            text.extend_from_slice(rest);
            Bytes::from(text)
        }
    };
    Some(Parsed {
        payload: Payload::Text(text),
        refused: Vec::new(),
        write_key: None,
    })
}

/// A single call as a value, its `type` set from the path.
fn event_value(kind: &str, body: &[u8]) -> Result<Parsed, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| parse_error(body, e))?;
    let Value::Object(mut object) = value else {
        return Err(ApiError::bad_request(
            "invalid_request",
            "expected a JSON object (one event)",
        ));
    };
    let write_key = match object.remove("writeKey") {
        Some(Value::String(key)) => Some(key),
        _ => None,
    };
    object.insert("type".to_string(), Value::String(kind.to_string()));
    Ok(Parsed {
        payload: Payload::Event(Value::Object(object)),
        refused: Vec::new(),
        write_key,
    })
}

/// What the fast path needs to know of a batch.
#[derive(Deserialize)]
struct BatchProbe<'a> {
    #[serde(borrow)]
    batch: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    context: Option<&'a RawValue>,
    #[serde(borrow, default)]
    integrations: Option<&'a RawValue>,
    #[serde(rename = "sentAt", borrow, default)]
    sent_at: Option<&'a RawValue>,
    #[serde(rename = "writeKey", borrow, default)]
    write_key: Option<Cow<'a, str>>,
}

fn too_large_event(size: usize) -> String {
    format!("event over 32 KB ({size} bytes), Segment's limit per event")
}

/// A batch passed on as its events' texts, each applied as `usercom ingest` applies a
/// line. None when it needs [`batch_value`]: a shared `context`, `integrations` or
/// `sentAt` for its events, an item that is not a plain event object, or an error to explain.
fn text_batch(body: &Bytes) -> Option<Parsed> {
    if !starts_object(body) {
        return None;
    }
    let probe: BatchProbe = serde_json::from_slice(body).ok()?;
    // An envelope that gives its events something is the pipeline's to apply.
    let given = |part: Option<&RawValue>| part.is_some_and(|p| p.get() != "null");
    if given(probe.context) || given(probe.integrations) || given(probe.sent_at) {
        return None;
    }
    let items = probe.batch?;
    let mut texts = Vec::with_capacity(items.len());
    let mut refused = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let text = item.get().as_bytes();
        // Not an object, or maybe a nested batch (a "batch" key, perhaps escaped): the
        // pipeline must see it as a batch item, a value.
        if text.first() != Some(&b'{') || contains(text, b"batch") || contains(text, b"\\u") {
            return None;
        }
        if text.len() > MAX_EVENT_BYTES {
            refused.push((index, too_large_event(text.len())));
            continue;
        }
        texts.push((index, body.slice_ref(text)));
    }
    Some(Parsed {
        payload: Payload::Texts(texts),
        refused,
        write_key: probe.write_key.map(Cow::into_owned),
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A batch as a value; items over the per-event limit are refused here and the others
/// applied.
fn batch_value(body: &[u8]) -> Result<Parsed, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| parse_error(body, e))?;
    let Value::Object(mut object) = value else {
        return Err(ApiError::bad_request(
            "invalid_request",
            "expected a JSON object {\"batch\": [events]}",
        ));
    };
    let write_key = match object.remove("writeKey") {
        Some(Value::String(key)) => Some(key),
        _ => None,
    };
    let items = match object.remove("batch") {
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_request",
                "\"batch\" is not an array: expected {\"batch\": [events]}",
            ));
        }
        None => {
            return Err(ApiError::bad_request(
                "invalid_request",
                "no \"batch\": expected a Segment batch {\"batch\": [events]}",
            ));
        }
    };
    let mut kept = Vec::with_capacity(items.len());
    let mut indices = Vec::with_capacity(items.len());
    let mut refused = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        if body.len() > MAX_EVENT_BYTES {
            let mut counter = Counter(0);
            serde_json::to_writer(&mut counter, &item).expect("counting cannot fail");
            if counter.0 > MAX_EVENT_BYTES {
                refused.push((index, too_large_event(counter.0)));
                continue;
            }
        }
        kept.push(item);
        indices.push(index);
    }
    // The rest of the envelope (context, integrations, sentAt) is the pipeline's to apply.
    object.insert("batch".to_string(), Value::Array(kept));
    Ok(Parsed {
        payload: Payload::Batch {
            body: Value::Object(object),
            indices,
        },
        refused,
        write_key,
    })
}

/// The reason the pipeline gives an event from an untrusted domain starts so.
const FORBIDDEN_PREFIX: &str = "403 Forbidden";

/// 200 when every event was taken (applied, duplicate or skipped); else 400 naming
/// the rejected ones (the others were applied), or 403 when all were refused for
/// their domain.
fn answer(
    route: Route,
    applied: Applied,
    refused: Vec<(usize, String)>,
) -> Result<Response<Full<Bytes>>, ApiError> {
    let mut rejected: Vec<(Option<usize>, String)> = applied.rejected;
    rejected.extend(refused.into_iter().map(|(i, r)| (Some(i), r)));
    if rejected.is_empty() {
        return Ok(success());
    }
    rejected.sort_by_key(|(i, _)| *i);
    let accepted = applied.applied + applied.duplicates + applied.skipped;
    let forbidden = accepted == 0
        && rejected
            .iter()
            .all(|(_, r)| r.starts_with(FORBIDDEN_PREFIX));
    let (status, code) = if forbidden {
        (StatusCode::FORBIDDEN, "forbidden")
    } else {
        (StatusCode::BAD_REQUEST, "invalid_request")
    };
    let mut error = match route {
        Route::Batch => {
            let total = accepted as usize + rejected.len();
            let listed: Vec<String> = rejected
                .iter()
                .take(MESSAGE_REJECTIONS)
                .map(|(i, r)| format!("item {}: {r}", i.unwrap_or(0)))
                .collect();
            let more = if rejected.len() > MESSAGE_REJECTIONS {
                format!("; and {} more", rejected.len() - MESSAGE_REJECTIONS)
            } else {
                String::new()
            };
            ApiError::new(
                status,
                code,
                format!(
                    "{} of {total} events rejected, {}: {}{more}",
                    rejected.len(),
                    crate::output::the_others_applied(accepted),
                    listed.join("; ")
                ),
            )
        }
        _ => ApiError::new(status, code, rejected[0].1.clone()),
    };
    if route == Route::Batch {
        error.extra.insert("accepted".into(), json!(accepted));
        error.extra.insert(
            "rejected".into(),
            Value::Array(
                rejected
                    .iter()
                    .map(|(i, r)| json!({"index": i, "reason": r}))
                    .collect(),
            ),
        );
    }
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("/v1/track"), Some(Route::Event("track")));
        assert_eq!(route("/v1/track/"), Some(Route::Event("track")));
        assert_eq!(route("/v1/batch"), Some(Route::Batch));
        assert_eq!(route("/health"), Some(Route::Health));
        assert_eq!(route("/"), None);
        assert_eq!(route("/v1/tracks"), None);
    }

    #[test]
    fn basic_credentials() {
        let mut headers = HeaderMap::new();
        assert_eq!(basic_auth_key(&headers).ok().flatten(), None);
        // base64("abc123:"), the example of Segment's documentation.
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YWJjMTIzOg=="),
        );
        assert_eq!(
            basic_auth_key(&headers).ok().flatten().as_deref(),
            Some("abc123")
        );
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer token"),
        );
        assert_eq!(basic_auth_key(&headers).ok().flatten(), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!"));
        assert!(basic_auth_key(&headers).is_err());
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic Og=="),
        );
        assert!(basic_auth_key(&headers).is_err());
    }

    #[test]
    fn origin_then_referer() {
        let mut headers = HeaderMap::new();
        assert_eq!(request_origin(&headers).ok().flatten(), None);
        headers.insert(
            header::REFERER,
            HeaderValue::from_static("https://Shop.Example.com/cart"),
        );
        assert_eq!(
            request_origin(&headers).ok().flatten().as_deref(),
            Some("shop.example.com")
        );
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://other.net"),
        );
        assert_eq!(
            request_origin(&headers).ok().flatten().as_deref(),
            Some("other.net")
        );
    }

    #[test]
    fn oversize_batch_items_are_refused_in_place() {
        let big = "x".repeat(MAX_EVENT_BYTES);
        let body = json!({"batch": [{"type": "track"}, {"type": "track", "event": big}, 3]});
        let parsed = batch_value(body.to_string().as_bytes()).ok().unwrap();
        let Payload::Batch { body, indices } = parsed.payload else {
            panic!("a batch")
        };
        assert_eq!(indices, vec![0, 2]);
        assert_eq!(body["batch"].as_array().unwrap().len(), 2);
        assert_eq!(parsed.refused.len(), 1);
        assert_eq!(parsed.refused[0].0, 1);
        // The same on the fast path.
        let body = json!({"batch": [{"type": "track"}, {"type": "track", "event": big}]});
        let parsed = text_batch(&Bytes::from(body.to_string())).unwrap();
        assert_eq!(parsed.payload.events(), 1);
        assert_eq!(parsed.refused[0].0, 1);
    }

    fn texts(body: &str) -> Option<Vec<(usize, String)>> {
        let parsed = text_batch(&Bytes::from(body.to_string()))?;
        let Payload::Texts(items) = parsed.payload else {
            panic!("texts")
        };
        Some(
            items
                .into_iter()
                .map(|(i, t)| (i, String::from_utf8(t.to_vec()).unwrap()))
                .collect(),
        )
    }

    #[test]
    fn plain_batches_go_as_text() {
        assert_eq!(
            texts(r#"{"batch": [{"type":"track"}, { "type" : "page" }], "writeKey": "k"}"#),
            Some(vec![
                (0, r#"{"type":"track"}"#.to_string()),
                (1, r#"{ "type" : "page" }"#.to_string())
            ])
        );
        assert!(texts(r#"{"batch": [], "context": null}"#).is_some());
        // These need the pipeline's batch handling of values.
        assert_eq!(
            texts(r#"{"batch": [{"type":"track"}], "context": {"ip": "1"}}"#),
            None
        );
        assert_eq!(texts(r#"{"batch": [3]}"#), None);
        assert_eq!(texts(r#"{"batch": [{"batch": []}]}"#), None);
        assert_eq!(texts(r#"{"batch": [{"\u0062atch": []}]}"#), None);
        assert_eq!(texts(r#"{"batch": {}}"#), None);
        assert_eq!(texts(r#"[]"#), None);
        assert_eq!(texts(r#"{"batch": [{}]"#), None);
    }

    fn text(kind: &str, body: &str) -> Option<String> {
        let parsed = text_event(kind, &Bytes::from(body.to_string()))?;
        let Payload::Text(text) = parsed.payload else {
            panic!("text")
        };
        Some(String::from_utf8(text.to_vec()).unwrap())
    }

    #[test]
    fn single_calls_get_the_path_type() {
        assert_eq!(
            text("track", r#" {"event": "E"}"#).as_deref(),
            Some(r#"{"type":"track","event": "E"}"#)
        );
        assert_eq!(text("page", "{ }").as_deref(), Some(r#"{"type":"page" }"#));
        assert_eq!(
            text("track", r#"{"type":"track"}"#).as_deref(),
            Some(r#"{"type":"track"}"#)
        );
        for (kind, body) in [
            ("track", r#"{"type":"page"}"#),
            ("track", r#"{"writeKey":"k"}"#),
            ("track", r#"{"type": 3}"#),
            ("track", r#"[{"type":"track"}]"#),
            ("track", r#"{"event": "E""#),
        ] {
            assert_eq!(text(kind, body), None, "{body}");
        }
        let parsed = event_value("track", br#"{"type":"page","writeKey":"k"}"#)
            .ok()
            .unwrap();
        assert_eq!(parsed.write_key.as_deref(), Some("k"));
        let Payload::Event(value) = parsed.payload else {
            panic!("a value")
        };
        assert_eq!(value, json!({"type": "track"}));
    }
}
