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
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::body::MAX_EVENT_BYTES;
use super::errors::ApiError;
use super::reads::{self, Answer};
use super::request::{basic_auth_key, gzip_encoded, read_body};
use super::routes::AdminRoute;
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
    pub fn with<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
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
pub fn host_allowed(headers: &HeaderMap) -> bool {
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
    let started = std::time::Instant::now();
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
        admin.with(|store| reads::answer(&admin, store, &key, &route, query.as_deref(), &body))
    })
    .await;
    match answered {
        Ok(Ok(mut answer)) => {
            // The server's time for the answer (scripts/bench-ui.sh reads it).
            let took = started.elapsed().as_secs_f64() * 1000.0;
            if let Ok(v) = HeaderValue::from_str(&format!("app;dur={took:.1}")) {
                answer.headers_mut().insert("server-timing", v);
            }
            Ok(answer)
        }
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
