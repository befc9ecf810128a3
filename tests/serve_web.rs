//! `usercom serve` as analytics.js (Segment's browser library) calls it: the short
//! paths, CORS, the settings document, its telemetry, and what the server adds to
//! each event on receipt (receivedAt, messageId, context.ip, the clock-skew correction).

#[path = "e2e/support.rs"]
mod support;

use std::io::Write;

use serde_json::{Value, json};
use support::{Db, Server, basic, post, post_with, request};

/// A call as analytics.js sends it: a text/plain body carrying `writeKey`, and (since
/// 1.84) Basic credentials, from a page on another origin.
fn browser_post(server: &Server, key: &str, path: &str, body: &Value) -> support::Answer {
    post_with(
        server,
        key,
        path,
        body,
        &[
            ("Content-Type", "text/plain"),
            ("Origin", "http://127.0.0.1:9"),
        ],
    )
}

fn cors_origin(answer: &support::Answer) -> Option<&str> {
    answer.header("access-control-allow-origin")
}

#[test]
fn short_paths_reach_the_same_handlers() {
    let db = Db::new();
    let server = Server::start(&db.path, &["--json"]);
    let key = db.key.clone();
    let with_key = |mut event: Value| {
        event["writeKey"] = json!(key);
        event
    };
    let calls = [
        (
            "/v1/p",
            json!({"anonymousId": "a1", "name": "Home", "properties": {"url": "https://shop.example.com/"}}),
        ),
        (
            "/v1/i",
            json!({"anonymousId": "a1", "userId": "s1", "traits": {"email": "s1@example.com"}}),
        ),
        ("/v1/t", json!({"userId": "s1", "event": "Signed Up"})),
        (
            "/v1/g",
            json!({"userId": "s1", "groupId": "g1", "traits": {"name": "G One"}}),
        ),
        ("/v1/s", json!({"userId": "s1", "name": "Screen"})),
        ("/v1/a", json!({"userId": "s1", "previousId": "a1"})),
    ];
    for (path, body) in calls {
        let answer = browser_post(&server, &key, path, &with_key(body));
        answer.assert_ok();
        assert_eq!(cors_origin(&answer), Some("*"), "{path}");
    }
    let batch = json!({"writeKey": key, "batch": [
        {"type": "track", "userId": "s1", "event": "Batched", "messageId": "b-1"}]});
    browser_post(&server, &key, "/v1/b", &batch).assert_ok();
    let import = json!({"batch": [{"type": "track", "userId": "s1", "event": "Imported",
        "timestamp": "2020-05-01T00:00:00Z"}]});
    post(&server, &key, "/v1/import", &import).assert_ok();
    // The library's telemetry: 200 and nothing stored.
    let metrics = browser_post(
        &server,
        &key,
        "/v1/m",
        &json!({"series": [{"type": "Counter", "metric": "analytics_js.invoke", "value": 1}]}),
    );
    metrics.assert_ok();
    assert_eq!(cors_origin(&metrics), Some("*"));

    let user = db.json(&["users", "show", "s1"]);
    assert_eq!(user["anonymous_id"], "a1");
    assert_eq!(user["email"], "s1@example.com");
    assert_eq!(user["page_views"], 1);
    assert_eq!(user["companies"], json!(["g1"]));
    assert_eq!(db.event_names("s1"), ["Batched", "Imported", "Signed Up"]);
    let events = db.json(&["events", "list", "--user", "s1"]);
    let imported = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "Imported")
        .unwrap();
    assert_eq!(imported["timestamp"], "2020-05-01T00:00:00.000Z");

    // Unknown paths keep their JSON 404, without CORS headers.
    let missing = browser_post(&server, &key, "/v1/x", &json!({}));
    missing.assert_error(404, "not_found");
    assert_eq!(cors_origin(&missing), None);
    let report: Value = serde_json::from_str(&server.stop()).unwrap();
    assert_eq!(report["responses"]["failed"], json!({"404": 1}), "{report}");
}

#[test]
fn preflights_allow_what_the_browser_asks_and_errors_carry_cors() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    for path in ["/v1/t", "/v1/batch", "/v1/b", "/v1/m"] {
        let preflight = request(
            server.addr,
            "OPTIONS",
            path,
            &[
                ("Origin", "http://127.0.0.1:9"),
                ("Access-Control-Request-Method", "POST"),
                (
                    "Access-Control-Request-Headers",
                    "authorization,content-type,x-retry-count",
                ),
            ],
            b"",
        );
        assert_eq!(preflight.status, 204, "{path}");
        assert_eq!(cors_origin(&preflight), Some("*"));
        assert_eq!(
            preflight.header("access-control-allow-headers"),
            Some("authorization,content-type,x-retry-count")
        );
        assert!(
            preflight
                .header("access-control-allow-methods")
                .unwrap()
                .contains("POST")
        );
    }
    // Errors on tracking routes carry CORS headers, so that the page can read them.
    let refused = browser_post(
        &server,
        "uc_unknown",
        "/v1/t",
        &json!({"userId": "x", "event": "E"}),
    );
    let message = refused.assert_error(403, "forbidden");
    assert!(message.contains("unknown API key"), "{message}");
    assert_eq!(cors_origin(&refused), Some("*"));
    let invalid = browser_post(&server, &db.key, "/v1/t", &json!({"userId": "x"}));
    invalid.assert_error(400, "invalid_request");
    assert_eq!(cors_origin(&invalid), Some("*"));
    // Health sends none.
    let health = request(
        server.addr,
        "GET",
        "/health",
        &[("Origin", "http://a.b")],
        b"",
    );
    assert_eq!(health.status, 200);
    assert_eq!(cors_origin(&health), None);
    let options = request(server.addr, "OPTIONS", "/health", &[], b"");
    assert_eq!(options.status, 405);
    assert_eq!(cors_origin(&options), None);

    // Each failed request is one line on stderr (written once the answer is sent, so
    // read after the server stopped); the summary counts them by status.
    let stopped = server.stop_log();
    assert!(
        stopped.contains("usercom serve: POST /v1/t 403: unknown API key"),
        "{stopped}"
    );
    assert!(
        stopped.contains("usercom serve: POST /v1/t 400: track without"),
        "{stopped}"
    );
    assert!(
        stopped.contains("failed requests: 400 x1, 403 x1, 405 x1"),
        "{stopped}"
    );
}

#[test]
fn the_settings_document_points_analytics_js_back_here() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let path = format!("/v1/projects/{}/settings", db.key);
    let answer = request(
        server.addr,
        "GET",
        &path,
        &[("Origin", "http://127.0.0.1:9")],
        b"",
    );
    assert_eq!(answer.status, 200);
    assert_eq!(cors_origin(&answer), Some("*"));
    let settings = answer.json();
    let segment = &settings["integrations"]["Segment.io"];
    assert_eq!(segment["apiKey"], db.key);
    assert_eq!(segment["apiHost"], format!("{}/v1", server.addr));
    assert_eq!(segment["protocol"], "http");
    assert_eq!(settings["integrations"].as_object().unwrap().len(), 1);
    assert_eq!(settings["metrics"]["sampleRate"], 0);
    // The host the request named (a name, another port through a proxy).
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    let head =
        format!("GET {path} HTTP/1.1\r\nHost: analytics.local:8080\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let named = support::read_answer(&mut stream);
    assert_eq!(
        named.json()["integrations"]["Segment.io"]["apiHost"],
        "analytics.local:8080/v1"
    );
    let preflight = request(
        server.addr,
        "OPTIONS",
        &path,
        &[("Access-Control-Request-Headers", "x-custom")],
        b"",
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("x-custom")
    );

    // Unknown and revoked keys: 403, readable by the page.
    let unknown = request(
        server.addr,
        "GET",
        "/v1/projects/uc_nope/settings",
        &[],
        b"",
    );
    unknown.assert_error(403, "forbidden");
    assert_eq!(cors_origin(&unknown), Some("*"));
    db.cli(&["keys", "revoke", &db.key]);
    let revoked = request(server.addr, "GET", &path, &[], b"");
    let message = revoked.assert_error(403, "forbidden");
    assert!(message.contains("revoked"), "{message}");
    request(server.addr, "POST", &path, &[], b"").assert_error(405, "method_not_allowed");
    // The log names a key by its prefix only.
    let log = server.stop_log();
    assert!(
        log.contains("GET /v1/projects/uc_nope…/settings 403"),
        "{log}"
    );
    assert!(!log.contains(&db.key), "{log}");
}

#[test]
fn receipt_stamps_ids_addresses_and_corrects_clock_skew() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let key = db.key.clone();
    // Three identical curl calls without a messageId are three events.
    let track = json!({"userId": "c1", "event": "Clicked"});
    for _ in 0..3 {
        post(&server, &key, "/v1/track", &track).assert_ok();
    }
    assert_eq!(
        db.json(&["events", "list", "--user", "c1"])
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // A retry (the same messageId) is still one.
    let retried = json!({"userId": "c1", "event": "Retried", "messageId": "r-1"});
    post(&server, &key, "/v1/t", &retried).assert_ok();
    post(&server, &key, "/v1/t", &retried).assert_ok();
    assert_eq!(
        db.json(&["events", "list", "--user", "c1", "--name", "Retried"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(db.json(&["users", "show", "c1"])["ip_address"], "127.0.0.1");

    // A browser whose clock runs a day fast identifies "now" by its clock; a correct
    // server-side identify made later must win.
    let now = chrono::Utc::now();
    let fast = |t: chrono::DateTime<chrono::Utc>| {
        (t + chrono::Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let browser = json!({"userId": "k1", "traits": {"email": "browser@example.com"},
        "timestamp": fast(now), "sentAt": fast(now), "messageId": "k-browser"});
    post(&server, &key, "/v1/identify", &browser).assert_ok();
    let server_side = json!({"userId": "k1", "traits": {"email": "server@example.com"},
        "timestamp": (now + chrono::Duration::seconds(2)).to_rfc3339(), "messageId": "k-server"});
    post(&server, &key, "/v1/identify", &server_side).assert_ok();
    assert_eq!(
        db.json(&["users", "show", "k1"])["email"],
        "server@example.com"
    );
    // The same in a batch: the envelope's sentAt applies to its items.
    let batch = json!({"sentAt": fast(now), "batch": [{"type": "track", "userId": "k1",
        "event": "Fast Clock", "timestamp": fast(now - chrono::Duration::seconds(30))}]});
    post(&server, &key, "/v1/batch", &batch).assert_ok();
    let events = db.json(&["events", "list", "--user", "k1"]);
    let at: chrono::DateTime<chrono::Utc> =
        events[0]["timestamp"].as_str().unwrap().parse().unwrap();
    let expected = now - chrono::Duration::seconds(30);
    assert!(
        (at - expected).num_seconds().abs() <= 5,
        "{at} is not about {expected}: {events}"
    );
    server.stop();
}

#[test]
fn behind_a_proxy_the_forwarded_address_is_the_clients() {
    let db = Db::new();
    let server = Server::start(&db.path, &["--trust-proxy"]);
    let auth = basic(&db.key);
    let send = |user: &str, forwarded: &str| {
        let body = json!({"userId": user, "event": "E"}).to_string();
        request(
            server.addr,
            "POST",
            "/v1/track",
            &[
                ("Authorization", auth.as_str()),
                ("X-Forwarded-For", forwarded),
            ],
            body.as_bytes(),
        )
        .assert_ok();
    };
    send("p1", "198.51.100.20, 203.0.113.50");
    assert_eq!(
        db.json(&["users", "show", "p1"])["ip_address"],
        "203.0.113.50"
    );
    server.stop();
    // Without --trust-proxy the header is the client's claim: the connection decides.
    let server = Server::start(&db.path, &[]);
    let body = json!({"userId": "p2", "event": "E"}).to_string();
    request(
        server.addr,
        "POST",
        "/v1/track",
        &[
            ("Authorization", auth.as_str()),
            ("X-Forwarded-For", "203.0.113.50"),
        ],
        body.as_bytes(),
    )
    .assert_ok();
    assert_eq!(db.json(&["users", "show", "p2"])["ip_address"], "127.0.0.1");
    server.stop();
}
