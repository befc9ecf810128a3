//! What a path is, and the CORS headers of the routes a web page calls.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};

/// What a path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A single call; its type.
    Event(&'static str),
    /// A batch: `/v1/batch`, `/v1/b`, and `/v1/import` (Segment's historical import).
    Batch,
    /// `/v1/m`: analytics.js's own telemetry, answered and discarded.
    Metrics,
    /// `/v1/projects/{writeKey}/settings`: the settings analytics.js loads at start.
    Settings(String),
    Health,
    /// The read API, `expect` and reset: admin keys only, never cross-origin unless
    /// `--cors-origin` names the page.
    Admin(AdminRoute),
}

/// The routes of the read API (`GET`), `POST /v1/expect` and `POST /v1/reset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRoute {
    /// `/v1/users/{userId, anonymousId or email}`.
    User(String),
    Users,
    /// `/v1/companies/{groupId}`.
    Company(String),
    /// `/v1/users/{id}/explain` and `/v1/companies/{groupId}/explain`.
    Explain(crate::api::explain::Of, String),
    Companies,
    Events,
    Pages,
    EventStats,
    PageStats,
    Rejections,
    Status,
    Expect,
    Reset,
}

impl AdminRoute {
    /// The method it takes.
    pub fn method(&self) -> &'static str {
        match self {
            AdminRoute::Expect | AdminRoute::Reset => "POST",
            _ => "GET",
        }
    }
}

fn admin_route(path: &str) -> Option<AdminRoute> {
    Some(match path {
        "/v1/users" => AdminRoute::Users,
        "/v1/companies" => AdminRoute::Companies,
        "/v1/events" => AdminRoute::Events,
        "/v1/pages" => AdminRoute::Pages,
        "/v1/stats/events" => AdminRoute::EventStats,
        "/v1/stats/pages" => AdminRoute::PageStats,
        "/v1/rejections" => AdminRoute::Rejections,
        "/v1/status" => AdminRoute::Status,
        "/v1/expect" => AdminRoute::Expect,
        "/v1/reset" => AdminRoute::Reset,
        _ => {
            let one = |prefix: &str| {
                path.strip_prefix(prefix)
                    .filter(|id| !id.is_empty() && !id.contains('/'))
                    .and_then(percent_decoded)
            };
            if let Some(id) = path.strip_suffix("/explain").and_then(|p| {
                let id = |prefix: &str| {
                    p.strip_prefix(prefix)
                        .filter(|id| !id.is_empty() && !id.contains('/'))
                        .and_then(percent_decoded)
                };
                use crate::api::explain::Of;
                id("/v1/users/")
                    .map(|id| (Of::User, id))
                    .or_else(|| id("/v1/companies/").map(|id| (Of::Company, id)))
            }) {
                AdminRoute::Explain(id.0, id.1)
            } else if let Some(id) = one("/v1/users/") {
                AdminRoute::User(id)
            } else {
                AdminRoute::Company(one("/v1/companies/")?)
            }
        }
    })
}

pub const ENDPOINTS: &str = "POST /v1/identify, /v1/track, /v1/page, /v1/group, \
                             /v1/screen, /v1/alias, /v1/batch, /v1/import (and the short \
                             forms /v1/i, /v1/t, /v1/p, /v1/g, /v1/s, /v1/a, /v1/b), GET \
                             /v1/projects/{writeKey}/settings and GET /health; with an \
                             admin key GET /v1/users[/{id}[/explain]], \
                             /v1/companies[/{groupId}[/explain]], \
                             /v1/events, /v1/pages, /v1/stats/events, /v1/stats/pages, \
                             /v1/rejections, /v1/status, POST /v1/expect and /v1/reset";

pub fn route(path: &str) -> Option<Route> {
    let path = match path.strip_suffix('/') {
        Some(stripped) if !stripped.is_empty() => stripped,
        _ => path,
    };
    Some(match path {
        "/v1/identify" | "/v1/i" => Route::Event("identify"),
        "/v1/track" | "/v1/t" => Route::Event("track"),
        "/v1/page" | "/v1/p" => Route::Event("page"),
        "/v1/group" | "/v1/g" => Route::Event("group"),
        "/v1/screen" | "/v1/s" => Route::Event("screen"),
        "/v1/alias" | "/v1/a" => Route::Event("alias"),
        "/v1/batch" | "/v1/b" | "/v1/import" => Route::Batch,
        "/v1/m" => Route::Metrics,
        "/health" => Route::Health,
        _ => {
            if let Some(admin) = admin_route(path) {
                return Some(Route::Admin(admin));
            }
            let key = path
                .strip_prefix("/v1/projects/")?
                .strip_suffix("/settings")?;
            if key.is_empty() || key.contains('/') {
                return None;
            }
            Route::Settings(percent_decoded(key)?)
        }
    })
}

/// A path segment with its %XX escapes decoded; None when that is not UTF-8.
pub fn percent_decoded(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h)? * 16 + hex(l)?) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

impl Route {
    /// The methods it takes.
    pub fn allow(&self) -> &'static str {
        match self {
            Route::Settings(_) => "GET, OPTIONS",
            Route::Health => "GET, HEAD",
            Route::Admin(a) if a.method() == "GET" => "GET, OPTIONS",
            _ => "POST, OPTIONS",
        }
    }

    /// Whether a web page on any origin calls it: CORS headers on every answer. (The
    /// admin routes answer only the origin `--cors-origin` names.)
    pub fn cross_origin(&self) -> bool {
        !matches!(self, Route::Health | Route::Admin(_))
    }
}

/// CORS headers on an answer to a page on any origin (the trusted domains decide
/// which pages' events are taken). Errors carry them too, so that the page can read
/// its 403 or 400.
pub fn add_cors(response: &mut Response<Full<Bytes>>) {
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

/// The answer to a CORS preflight: the route's methods, and every header the browser
/// asks to send (analytics.js sends `Authorization`, and `X-Retry-Count` on retries:
/// a preflight that refused one would make the browser drop the retry).
pub fn preflight(route: &Route, request: &HeaderMap) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let asked = request
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_static("Authorization, Content-Type, Content-Encoding")
        });
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(route.allow()),
    );
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Access-Control-Request-Headers"),
    );
    add_cors(&mut response);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("/v1/track"), Some(Route::Event("track")));
        assert_eq!(route("/v1/track/"), Some(Route::Event("track")));
        for (short, long) in [
            ("/v1/i", "/v1/identify"),
            ("/v1/t", "/v1/track"),
            ("/v1/p", "/v1/page"),
            ("/v1/g", "/v1/group"),
            ("/v1/s", "/v1/screen"),
            ("/v1/a", "/v1/alias"),
            ("/v1/b", "/v1/batch"),
            ("/v1/import", "/v1/batch"),
        ] {
            assert_eq!(route(short), route(long), "{short}");
            assert!(route(short).is_some());
        }
        assert_eq!(route("/v1/batch"), Some(Route::Batch));
        assert_eq!(route("/v1/m"), Some(Route::Metrics));
        assert_eq!(route("/health"), Some(Route::Health));
        assert_eq!(
            route("/v1/projects/uc_abc/settings"),
            Some(Route::Settings("uc_abc".into()))
        );
        assert_eq!(
            route("/v1/projects/a%20b/settings"),
            Some(Route::Settings("a b".into()))
        );
        assert_eq!(route("/v1/projects//settings"), None);
        assert_eq!(route("/v1/projects/a/b/settings"), None);
        assert_eq!(route("/v1/projects/%ff/settings"), None);
        assert_eq!(route("/"), None);
        assert_eq!(route("/v1/tracks"), None);
        assert_eq!(route("/v1/x"), None);
        assert_eq!(route("/v1/users"), Some(Route::Admin(AdminRoute::Users)));
        assert_eq!(
            route("/v1/users/ada%40example.com"),
            Some(Route::Admin(AdminRoute::User("ada@example.com".into())))
        );
        assert_eq!(
            route("/v1/companies/acme/"),
            Some(Route::Admin(AdminRoute::Company("acme".into())))
        );
        assert_eq!(
            route("/v1/stats/pages"),
            Some(Route::Admin(AdminRoute::PageStats))
        );
        assert_eq!(route("/v1/users/a/b"), None);
        assert_eq!(
            route("/v1/users/ada%40example.com/explain"),
            Some(Route::Admin(AdminRoute::Explain(
                crate::api::explain::Of::User,
                "ada@example.com".into()
            )))
        );
        assert_eq!(
            route("/v1/companies/acme/explain"),
            Some(Route::Admin(AdminRoute::Explain(
                crate::api::explain::Of::Company,
                "acme".into()
            )))
        );
        assert_eq!(route("/v1/users//explain"), None);
        assert_eq!(
            route("/v1/companies/"),
            Some(Route::Admin(AdminRoute::Companies))
        );
    }

    #[test]
    fn preflight_echoes_the_asked_headers() {
        let mut asked = HeaderMap::new();
        asked.insert(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_static("authorization,content-type,x-retry-count"),
        );
        let answer = preflight(&Route::Batch, &asked);
        let headers = answer.headers();
        assert_eq!(answer.status(), 204);
        assert_eq!(
            headers[header::ACCESS_CONTROL_ALLOW_HEADERS],
            "authorization,content-type,x-retry-count"
        );
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(
            headers[header::ACCESS_CONTROL_ALLOW_METHODS],
            "POST, OPTIONS"
        );
        let settings = preflight(&Route::Settings("k".into()), &HeaderMap::new());
        assert_eq!(
            settings.headers()[header::ACCESS_CONTROL_ALLOW_METHODS],
            "GET, OPTIONS"
        );
    }
}
