//! Answers: Segment's `{"success": true}`, and error answers as Segment's API gives
//! them (`{"code", "message"}`, which its libraries read), with the status.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{Map, Value, json};

use super::body::{MAX_BATCH_BYTES, MAX_EVENT_BYTES};
use super::writer::Applied;

/// Rejections spelled out in a batch's error message (all are in `rejected`).
const MESSAGE_REJECTIONS: usize = 3;

/// An error answer: `{"success": false, "code", "message"}` and any extra keys.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub extra: Map<String, Value>,
    pub allow: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
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

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn unavailable() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the server is shutting down: retry",
        )
    }

    pub fn method_not_allowed(allow: &'static str, path: &str) -> ApiError {
        let mut error = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("use {allow} for {path}"),
        );
        error.allow = Some(allow);
        error
    }

    pub fn too_large(limit: usize) -> ApiError {
        let what = if limit == MAX_BATCH_BYTES {
            "a batch request"
        } else {
            "one call"
        };
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "the body is over {} KB, Segment's limit for {what} ({} KB per event, {} KB per \
                 batch): send less per request",
                limit / 1024,
                MAX_EVENT_BYTES / 1024,
                MAX_BATCH_BYTES / 1024,
            ),
        )
    }

    pub fn into_response(self) -> Response<Full<Bytes>> {
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

pub fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut bytes = serde_json::to_vec(body).expect("a Value serialises");
    bytes.push(b'\n');
    bytes_response(status, Bytes::from(bytes))
}

/// 200 `{"success": true}`, Segment's answer once the events are taken.
pub fn success() -> Response<Full<Bytes>> {
    bytes_response(StatusCode::OK, Bytes::from_static(b"{\"success\":true}\n"))
}

fn bytes_response(status: StatusCode, bytes: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The reason the pipeline gives an event from an untrusted domain starts so.
const FORBIDDEN_PREFIX: &str = "403 Forbidden";

/// 200 when every event was taken (applied, duplicate or skipped); else 400 naming
/// the rejected ones (the others were applied), or 403 when all were refused for
/// their domain. `batch`: the request was a batch (its answer lists the items).
pub fn answer(
    batch: bool,
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
    if !batch {
        return Err(ApiError::new(status, code, rejected[0].1.clone()));
    }
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
    let mut error = ApiError::new(
        status,
        code,
        format!(
            "{} of {total} events rejected, {}: {}{more}",
            rejected.len(),
            crate::output::the_others_applied(accepted),
            listed.join("; ")
        ),
    );
    error.extra.insert("accepted".into(), json!(accepted));
    error.extra.insert(
        "rejected".into(),
        Value::Array(
            rejected
                .iter()
                .map(|(i, r)| json!({"item": i, "reason": r}))
                .collect(),
        ),
    );
    Err(error)
}
