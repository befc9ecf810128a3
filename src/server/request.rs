//! Reading a request: the API key, the page's domain, the client's address, the host
//! it called, and the body (within Segment's limits, gzip or not, in a set time).

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use base64::Engine;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap};
use hyper::{Request, StatusCode};

use super::errors::ApiError;
use crate::semantics::domains::normalize_domain;

/// The key from `Authorization: Basic base64(key:)`; None without Basic credentials
/// (a Bearer token means the key is in the body, as Segment's OAuth flow sends it).
pub fn basic_auth_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
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
pub fn request_origin(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
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

pub fn gzip_encoded(headers: &HeaderMap) -> Result<bool, ApiError> {
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

/// Reads the body (within `limit` bytes once decompressed) in at most `timeout`.
pub async fn read_body(
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
        return Err(ApiError::too_large(limit));
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
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(ApiError::too_large(limit));
        }
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
        return Err(ApiError::too_large(limit));
    }
    Ok(Bytes::from(decoded))
}

/// The client's address: the connection's; with `trust_proxy` (the server is behind a
/// proxy that appends the address it saw), the right-most `X-Forwarded-For` address.
pub fn client_ip(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trust_proxy: bool,
) -> Option<IpAddr> {
    let forwarded = trust_proxy
        .then(|| {
            headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .rfind(|v| !v.is_empty())
        })
        .flatten()
        .and_then(parse_forwarded_ip);
    forwarded.or_else(|| peer.map(|p| p.ip().to_canonical()))
}

/// An address as proxies write it: `203.0.113.7`, `2001:db8::1`, `[2001:db8::1]:443` or
/// `203.0.113.7:443`.
fn parse_forwarded_ip(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    text.parse::<SocketAddr>()
        .ok()
        .map(|a| a.ip().to_canonical())
}

/// The scheme and host (with port) the client called: the `Host` header (with
/// `trust_proxy`, `X-Forwarded-Host` and `X-Forwarded-Proto` first), else the address
/// the server listens on.
pub fn called_host(headers: &HeaderMap, local: SocketAddr, trust_proxy: bool) -> (String, String) {
    let header_text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let valid_host = |h: &&str| {
        h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
    };
    let forwarded_host = trust_proxy
        .then(|| header_text("x-forwarded-host"))
        .flatten()
        .filter(valid_host);
    let host = forwarded_host
        .or_else(|| header_text("host").filter(valid_host))
        .map_or_else(|| local.to_string(), str::to_string);
    let scheme = trust_proxy
        .then(|| header_text("x-forwarded-proto"))
        .flatten()
        .filter(|p| p.eq_ignore_ascii_case("https"))
        .map_or("http", |_| "https");
    (scheme.to_string(), host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

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
    fn client_address_from_the_connection_or_a_trusted_proxy() {
        let peer: SocketAddr = "192.0.2.5:5555".parse().unwrap();
        let mut headers = HeaderMap::new();
        assert_eq!(client_ip(&headers, Some(peer), true), Some(peer.ip()));
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_static("198.51.100.1, 203.0.113.7"),
        );
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_static("[2001:db8::1]:443"),
        );
        assert_eq!(client_ip(&headers, Some(peer), false), Some(peer.ip()));
        assert_eq!(
            client_ip(&headers, Some(peer), true),
            Some("2001:db8::1".parse().unwrap())
        );
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.7 , "),
        );
        assert_eq!(
            client_ip(&headers, Some(peer), true),
            Some("203.0.113.7".parse().unwrap())
        );
        headers.insert("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(client_ip(&headers, Some(peer), true), Some(peer.ip()));
        let mapped: SocketAddr = "[::ffff:192.0.2.9]:1".parse().unwrap();
        assert_eq!(
            client_ip(&HeaderMap::new(), Some(mapped), false),
            Some("192.0.2.9".parse().unwrap())
        );
    }

    #[test]
    fn the_host_called() {
        let local: SocketAddr = "127.0.0.1:8787".parse().unwrap();
        let mut headers = HeaderMap::new();
        assert_eq!(
            called_host(&headers, local, false),
            ("http".to_string(), "127.0.0.1:8787".to_string())
        );
        headers.insert(header::HOST, HeaderValue::from_static("localhost:9000"));
        headers.insert(
            "x-forwarded-host",
            HeaderValue::from_static("t.example.com"),
        );
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(
            called_host(&headers, local, false),
            ("http".to_string(), "localhost:9000".to_string())
        );
        assert_eq!(
            called_host(&headers, local, true),
            ("https".to_string(), "t.example.com".to_string())
        );
        headers.insert(header::HOST, HeaderValue::from_static("evil\"/x"));
        assert_eq!(called_host(&headers, local, false).1, "127.0.0.1:8787");
    }
}
