//! `usercom serve`: Segment's HTTP Tracking API, tested over real loopback connections
//! against the binary, with the CLI reading the same database.

#[path = "e2e/support.rs"]
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Db, Server, basic, parse_answer, post, request};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn single_calls_are_applied_as_ingest_applies_them() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let key = db.key.clone();
    post(
        &server,
        &key,
        "/v1/identify",
        &json!({"userId": "u1", "traits": {"email": "ada@example.com", "firstName": "Ada", "plan": "pro"},
                "context": {"ip": "203.0.113.7"}, "timestamp": "2026-10-01T10:00:00Z"}),
    )
    .assert_ok();
    post(
        &server,
        &key,
        "/v1/page",
        &json!({"userId": "u1", "name": "Pricing", "properties": {"url": "https://example.com/pricing"},
                "timestamp": "2026-10-01T10:01:00Z"}),
    )
    .assert_ok();
    post(
        &server,
        &key,
        "/v1/track",
        &json!({"userId": "u1", "event": "Order Completed", "properties": {"revenue": 42.5},
                "messageId": "m-track-1", "timestamp": "2026-10-01T10:02:00Z"}),
    )
    .assert_ok();
    post(
        &server,
        &key,
        "/v1/group",
        &json!({"userId": "u1", "groupId": "acme", "traits": {"name": "Acme", "employees": 12},
                "timestamp": "2026-10-01T10:03:00Z"}),
    )
    .assert_ok();
    // The type comes from the path, as in Segment's API.
    post(
        &server,
        &key,
        "/v1/track",
        &json!({"type": "identify", "userId": "u1", "event": "Logged In"}),
    )
    .assert_ok();

    // Each answer came after its commit: the CLI sees everything while the server runs.
    let user = db.json(&["users", "show", "u1"]);
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["first_name"], "Ada");
    // The later calls gave no address: the server added the connection's, as Segment's
    // servers do.
    assert_eq!(user["ip_address"], "127.0.0.1");
    assert_eq!(user["page_views"], 1);
    assert_eq!(user["attributes"]["plan"], "pro");
    assert_eq!(user["companies"], json!(["acme"]));
    let company = db.json(&["companies", "show", "acme"]);
    assert_eq!(company["name"], "Acme");
    assert_eq!(company["employees"], 12);
    assert_eq!(company["members"], json!(["u1"]));
    let events = db.json(&["events", "list", "--user", "u1"]);
    let names: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{events}");
    assert!(names.contains(&"Order Completed") && names.contains(&"Logged In"));
    let pages = db.json(&["pages", "list", "--user", "u1"]);
    assert_eq!(pages[0]["url"], "https://example.com/pricing");

    let stdout = server.stop();
    assert!(
        stdout.is_empty(),
        "serve prints nothing on stdout without --json"
    );
}

#[test]
fn keys_basic_auth_write_key_unknown_and_revoked() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let event = json!({"userId": "u1", "event": "E", "messageId": "m1"});

    // writeKey in the body (no Authorization header), and with a Bearer token.
    let mut body = event.clone();
    body["writeKey"] = json!(db.key);
    let raw = body.to_string();
    request(server.addr, "POST", "/v1/track", &[], raw.as_bytes()).assert_ok();
    request(
        server.addr,
        "POST",
        "/v1/track",
        &[("Authorization", "Bearer some-oauth-token")],
        raw.as_bytes(),
    )
    .assert_ok();

    // No key at all, an unknown key, a malformed header: 403 with Segment's error keys.
    let bare = event.to_string();
    let message = request(server.addr, "POST", "/v1/track", &[], bare.as_bytes())
        .assert_error(403, "forbidden");
    assert!(message.contains("no API key"), "{message}");
    let message = post(&server, "uc_not_a_key", "/v1/track", &event).assert_error(403, "forbidden");
    assert!(message.contains("unknown API key"), "{message}");
    request(
        server.addr,
        "POST",
        "/v1/track",
        &[("Authorization", "Basic not base64!")],
        bare.as_bytes(),
    )
    .assert_error(403, "forbidden");
    let wrong = json!({"userId": "u9", "event": "E", "writeKey": "uc_wrong"}).to_string();
    request(server.addr, "POST", "/v1/track", &[], wrong.as_bytes()).assert_error(403, "forbidden");

    // Revoked while the server runs: refused from the next request on.
    let second = db.create_key();
    post(&server, &second, "/v1/track", &event).assert_ok();
    db.cli(&["keys", "revoke", &second]);
    let message = post(&server, &second, "/v1/track", &event).assert_error(403, "forbidden");
    assert!(message.contains("revoked"), "{message}");
    post(&server, &db.key, "/v1/track", &event).assert_ok();

    // Nothing of the refused requests was applied; the accepted ones are one event
    // (one messageId) sent several times.
    assert_eq!(db.messages(), 1);
    assert_eq!(db.json(&["events", "list"]).as_array().unwrap().len(), 1);
    server.stop();
}

#[test]
fn a_batch_applies_its_valid_events_and_names_the_rejected_ones() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let batch = json!({
        "batch": [
            {"type": "identify", "userId": "b1", "traits": {"email": "b1@example.com"}, "messageId": "b-0"},
            {"type": "track", "userId": "b1", "messageId": "b-1"},
            {"type": "track", "userId": "b1", "event": "Viewed", "messageId": "b-2"},
            {"type": "launch", "userId": "b1", "messageId": "b-3"},
            {"type": "screen", "userId": "b1", "name": "Home", "messageId": "b-4"},
            "not an event",
            {"type": "page", "anonymousId": "anon-b", "messageId": "b-6", "properties": {"url": "https://example.com/"}}
        ],
        "context": {"ip": "198.51.100.1"}
    });
    let answer = post(&server, &db.key, "/v1/batch", &batch);
    let message = answer.assert_error(400, "invalid_request");
    assert!(message.contains("3 of 7 events rejected"), "{message}");
    let body = answer.json();
    assert_eq!(body["accepted"], 4);
    let rejected: Vec<(u64, String)> = body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["item"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rejected.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![1, 3, 5]
    );
    assert!(
        rejected[0].1.contains("track without \"event\""),
        "{rejected:?}"
    );
    assert!(rejected[1].1.contains("unknown type"), "{rejected:?}");

    // The valid ones were applied, with the batch's shared context.
    let user = db.json(&["users", "show", "b1"]);
    assert_eq!(user["email"], "b1@example.com");
    assert_eq!(user["ip_address"], "198.51.100.1");
    assert_eq!(
        db.json(&["events", "list", "--user", "b1"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        db.json(&["pages", "list", "--user", "anon-b"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Retrying the same batch (as a client may): duplicates are not applied twice.
    post(&server, &db.key, "/v1/batch", &batch).assert_error(400, "invalid_request");
    assert_eq!(db.messages(), 3);

    // An all-valid batch, and an empty one.
    post(
        &server,
        &db.key,
        "/v1/batch",
        &json!({"batch": [{"type": "track", "userId": "b1", "event": "Again"}]}),
    )
    .assert_ok();
    post(&server, &db.key, "/v1/batch", &json!({"batch": []})).assert_ok();
    post(&server, &db.key, "/v1/batch", &json!({"batch": {}})).assert_error(400, "invalid_request");
    post(&server, &db.key, "/v1/batch", &json!({"type": "track"}))
        .assert_error(400, "invalid_request");
    server.stop();
}

#[test]
fn screen_and_alias_are_accepted_and_skipped() {
    let db = Db::new();
    let server = Server::start(&db.path, &["--json"]);
    post(
        &server,
        &db.key,
        "/v1/screen",
        &json!({"userId": "s1", "name": "Home"}),
    )
    .assert_ok();
    post(
        &server,
        &db.key,
        "/v1/alias",
        &json!({"userId": "s1", "previousId": "s0"}),
    )
    .assert_ok();
    db.cli_code(&["users", "show", "s1"], 1);
    let report: Value = serde_json::from_str(&server.stop()).expect("--json report on stdout");
    assert_eq!(report["skipped"], 2);
    assert_eq!(report["applied"], 0);
    assert_eq!(report["responses"]["ok"], 2);
}

#[test]
fn duplicates_last_write_wins_and_server_time() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let key = db.key.clone();
    // The same messageId twice: answered 200 both times, applied once.
    let track = json!({"userId": "d1", "event": "Paid", "messageId": "dup-1", "timestamp": "2026-10-01T00:00:00Z"});
    post(&server, &key, "/v1/track", &track).assert_ok();
    post(&server, &key, "/v1/track", &track).assert_ok();
    // No messageId: the server gives each call a fresh one, as Segment's servers do, so
    // identical calls are separate events (two page views, three tracks).
    let page = json!({"userId": "d1", "name": "Home", "timestamp": "2026-10-01T00:00:01Z"});
    post(&server, &key, "/v1/page", &page).assert_ok();
    post(&server, &key, "/v1/p", &page).assert_ok();
    let click = json!({"userId": "d1", "event": "Clicked"});
    for _ in 0..3 {
        post(&server, &key, "/v1/track", &click).assert_ok();
    }
    let events = db.json(&["events", "list", "--user", "d1"]);
    let count = |name: &str| {
        events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["name"] == name)
            .count()
    };
    assert_eq!((count("Paid"), count("Clicked")), (1, 3), "{events}");
    let pages = db.json(&["pages", "list", "--user", "d1"]);
    assert_eq!(pages.as_array().unwrap().len(), 2);
    assert_eq!(db.json(&["users", "show", "d1"])["page_views"], 2);
    assert_ne!(pages[0]["message_id"], pages[1]["message_id"]);

    // Last write wins by event time, whatever the order of arrival.
    let identify = |email: &str, at: &str, id: &str| json!({"userId": "d1", "traits": {"email": email}, "timestamp": at, "messageId": id});
    post(
        &server,
        &key,
        "/v1/identify",
        &identify("new@example.com", "2026-10-02T00:00:00Z", "i-new"),
    )
    .assert_ok();
    post(
        &server,
        &key,
        "/v1/identify",
        &identify("old@example.com", "2026-09-01T00:00:00Z", "i-old"),
    )
    .assert_ok();
    assert_eq!(
        db.json(&["users", "show", "d1"])["email"],
        "new@example.com"
    );

    // No timestamp: the time the request arrived.
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    post(
        &server,
        &key,
        "/v1/track",
        &json!({"userId": "t1", "event": "Now"}),
    )
    .assert_ok();
    let after = chrono::Utc::now() + chrono::Duration::seconds(1);
    let events = db.json(&["events", "list", "--user", "t1"]);
    let at: chrono::DateTime<chrono::Utc> =
        events[0]["timestamp"].as_str().unwrap().parse().unwrap();
    assert!(before <= at && at <= after, "{at} not within the request");
    server.stop();
}

/// A reproducible stream: identities that merge, out-of-order timestamps (last write
/// wins), duplicates, typed attributes, companies and a few invalid events.
fn stream(n: usize) -> Vec<Value> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |m: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    };
    let mut events = Vec::with_capacity(n);
    for i in 0..n {
        let user = format!("user-{}", next(40));
        let anon = format!("anon-{}", next(60));
        let at = format!(
            "2026-10-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            1 + next(28),
            next(24),
            next(60),
            next(60),
            next(1000)
        );
        let who = match next(3) {
            0 => json!({"anonymousId": anon}),
            1 => json!({"userId": user}),
            _ => json!({"userId": user, "anonymousId": anon}),
        };
        let mut event = match next(10) {
            0..=2 => json!({"type": "identify", "traits": {
                "email": format!("{user}@example.com"), "plan": (["free", "pro", "team"][next(3) as usize]),
                "logins": next(100), "vip": next(2) == 0, "firstName": format!("F{}", next(9))}}),
            3..=5 => {
                json!({"type": "track", "event": (["Order Completed", "Signed Up", "Viewed"][next(3) as usize]),
                "properties": {"revenue": next(1000) as f64 / 10.0, "sku": format!("sku-{}", next(20))}})
            }
            6 | 7 => json!({"type": "page", "name": "Docs", "properties": {
                "url": format!("https://shop.example.com/p/{}", next(15)), "title": "T"}}),
            8 => json!({"type": "group", "groupId": format!("company-{}", next(6)),
                "traits": {"name": format!("Company {}", next(6)), "employees": next(500), "industry": "Retail"}}),
            _ => match next(3) {
                0 => json!({"type": "track"}),
                1 => json!({"type": "group"}),
                _ => json!({"type": "screen", "name": "Home"}),
            },
        };
        let object = event.as_object_mut().unwrap();
        object.extend(who.as_object().unwrap().clone());
        object.insert("timestamp".into(), json!(at));
        object.insert("messageId".into(), json!(format!("msg-{i}")));
        object.insert(
            "context".into(),
            json!({"ip": format!("192.0.2.{}", next(250)), "locale": "en-US"}),
        );
        events.push(event);
        if next(15) == 0 {
            // A duplicate, resent later.
            let again = events[next(events.len() as u64) as usize].clone();
            events.push(again);
        }
    }
    events
}

/// The database as the CLI shows it (attribute definitions without their creation
/// time, which is the wall clock's).
fn dump(db: &Db) -> Vec<(&'static str, Value)> {
    let mut attrs = db.json(&["attrs", "list"]);
    for def in attrs.as_array_mut().unwrap() {
        def.as_object_mut().unwrap().remove("created_at");
    }
    vec![
        ("users", db.json(&["users", "list"])),
        ("companies", db.json(&["companies", "list"])),
        ("events", db.json(&["events", "list"])),
        ("pages", db.json(&["pages", "list"])),
        ("attrs", attrs),
    ]
}

fn assert_same(left: Vec<(&str, Value)>, right: Vec<(&str, Value)>) {
    for ((what, l), (_, r)) in left.into_iter().zip(right) {
        let (l, r) = (l.as_array().unwrap().clone(), r.as_array().unwrap().clone());
        assert!(!l.is_empty(), "no {what}");
        for (a, b) in l.iter().zip(&r) {
            assert_eq!(a, b, "{what} differ");
        }
        assert_eq!(l.len(), r.len(), "{what}: as many");
    }
}

#[test]
fn the_server_and_ingest_give_the_same_database() {
    let events = stream(1500);
    let via_cli = Db::new();
    let via_http = Db::new();
    for db in [&via_cli, &via_http] {
        db.cli(&["attrs", "define", "logins", "--type", "number"]);
        db.cli(&["attrs", "define", "vip", "--type", "boolean"]);
    }
    // The same events in the same order, cut into requests: single calls, batches of
    // varied sizes, every fourth batch with a shared context (as a Segment batch may
    // carry). `usercom ingest` reads the same requests as lines.
    let mut requests: Vec<Value> = Vec::new();
    let (mut i, mut size) = (0, 1);
    while i < events.len() {
        let chunk = &events[i..(i + size).min(events.len())];
        requests.push(if chunk.len() == 1 {
            chunk[0].clone()
        } else if requests.len().is_multiple_of(4) {
            json!({"batch": chunk, "context": {"timezone": "Europe/Paris", "ip": "198.51.100.9"}})
        } else {
            json!({"batch": chunk})
        });
        i += chunk.len();
        size = size % 37 + 1;
    }
    let file = via_cli.dir.path().join("stream.ndjson");
    let text: String = requests.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&file, text).unwrap();
    via_cli.cli_code(
        &[
            "ingest",
            file.to_str().unwrap(),
            "--api-key",
            &via_cli.key,
            "--batch-size",
            "97",
        ],
        1,
    );

    let server = Server::start(&via_http.path, &[]);
    for request in &requests {
        let answer = match request["type"].as_str() {
            Some(kind) => post(&server, &via_http.key, &format!("/v1/{kind}"), request),
            None => post(&server, &via_http.key, "/v1/batch", request),
        };
        assert!(
            answer.status == 200 || answer.status == 400,
            "{} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
    }
    server.stop();
    assert_same(dump(&via_cli), dump(&via_http));
    assert_eq!(via_cli.messages(), via_http.messages());
}

#[test]
fn malformed_requests_get_json_errors() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let auth = basic(&db.key);
    let headers = [("Authorization", auth.as_str())];
    let send =
        |method: &str, path: &str, body: &[u8]| request(server.addr, method, path, &headers, body);

    let message = send("POST", "/v1/track", b"{\"userId\": ").assert_error(400, "invalid_json");
    assert!(message.contains("invalid JSON"), "{message}");
    send("POST", "/v1/track", b"").assert_error(400, "invalid_json");
    send("POST", "/v1/track", b"[{\"userId\":\"u\",\"event\":\"E\"}]")
        .assert_error(400, "invalid_request");
    send("POST", "/v1/batch", b"\"batch\"").assert_error(400, "invalid_request");
    send("POST", "/v1/identify", b"{}").assert_error(400, "invalid_request");
    send("POST", "/v1/track", &[0xff, 0xfe, 0x00]).assert_error(400, "invalid_json");

    let missing = send("POST", "/v2/track", b"{}");
    missing.assert_error(404, "not_found");
    send("GET", "/", b"").assert_error(404, "not_found");
    let wrong = send("GET", "/v1/track", b"");
    wrong.assert_error(405, "method_not_allowed");
    assert_eq!(wrong.header("allow"), Some("POST, OPTIONS"));
    send("POST", "/health", b"").assert_error(405, "method_not_allowed");
    let health = send("GET", "/health", b"");
    assert_eq!(
        (health.status, health.json()),
        (200, json!({"status": "ok"}))
    );
    let preflight = send("OPTIONS", "/v1/batch", b"");
    assert_eq!(preflight.status, 204);
    assert!(
        preflight
            .header("access-control-allow-headers")
            .unwrap()
            .contains("Authorization")
    );

    let encoded = |encoding: &str, body: &[u8]| {
        request(
            server.addr,
            "POST",
            "/v1/track",
            &[
                ("Authorization", auth.as_str()),
                ("Content-Encoding", encoding),
            ],
            body,
        )
    };
    encoded("br", b"{}").assert_error(415, "unsupported_encoding");
    let message = encoded("gzip", b"{\"not\": \"gzip\"}").assert_error(400, "invalid_request");
    assert!(message.contains("gzip"), "{message}");
    encoded("gzip", &gzip(br#"{"userId": "gz", "event": "Zipped"}"#)).assert_ok();
    assert_eq!(
        db.json(&["events", "list", "--user", "gz"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Whatever arrives, the answer is JSON with a code and a message, or success.
    let mut seed = 7u64;
    let paths = [
        "/v1/identify",
        "/v1/track",
        "/v1/page",
        "/v1/group",
        "/v1/batch",
        "/v1/alias",
    ];
    for round in 0..200 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let len = (seed >> 33) as usize % 300;
        let valid = br#"{"batch":[{"type":"track","userId":"f","event":"E","properties":{"a":[1,{"b":null}]}}],"userId":"f","event":"E","groupId":"g"}"#;
        let mut body: Vec<u8> = valid
            .iter()
            .copied()
            .cycle()
            .skip(round)
            .take(len)
            .collect();
        for (i, byte) in body.iter_mut().enumerate() {
            if (seed >> (i % 60)) & 7 == 0 {
                *byte = (seed >> 8) as u8 ^ i as u8;
            }
        }
        let answer = send("POST", paths[round % paths.len()], &body);
        let json = answer.json();
        match answer.status {
            200 => assert_eq!(json, json!({"success": true})),
            400 | 403 => {
                assert!(
                    json["code"].is_string() && json["message"].is_string(),
                    "{json}"
                )
            }
            other => panic!(
                "status {other} for {:?}: {json}",
                String::from_utf8_lossy(&body)
            ),
        }
    }
    server.stop();
}

#[test]
fn segment_size_limits() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let key = db.key.clone();
    let event = |size: usize| json!({"userId": "big", "event": "Big", "properties": {"blob": "x".repeat(size)}});

    post(&server, &key, "/v1/track", &event(30_000)).assert_ok();
    let message =
        post(&server, &key, "/v1/track", &event(33_000)).assert_error(413, "payload_too_large");
    assert!(message.contains("32 KB"), "{message}");
    // Small once compressed, too large once decompressed (or a gzip bomb): 413 as well.
    let auth = basic(&key);
    let zipped = gzip(event(5_000_000).to_string().as_bytes());
    assert!(zipped.len() < 32 * 1024);
    request(
        server.addr,
        "POST",
        "/v1/track",
        &[
            ("Authorization", auth.as_str()),
            ("Content-Encoding", "gzip"),
        ],
        &zipped,
    )
    .assert_error(413, "payload_too_large");

    // A batch: 500 KB at most; each of its events 32 KB at most.
    let items: Vec<Value> = (0..16)
        .map(|i| {
            let mut e = event(30_000);
            e["type"] = json!("track");
            e["messageId"] = json!(format!("big-{i}"));
            e
        })
        .collect();
    post(&server, &key, "/v1/batch", &json!({"batch": items})).assert_ok();
    let mut too_many = items.clone();
    too_many.extend(items.iter().cloned());
    let message = post(&server, &key, "/v1/batch", &json!({"batch": too_many}))
        .assert_error(413, "payload_too_large");
    assert!(message.contains("500 KB"), "{message}");
    let mut one_too_big = items[..3].to_vec();
    one_too_big[1] = event(40_000);
    one_too_big[1]["type"] = json!("track");
    let answer = post(&server, &key, "/v1/batch", &json!({"batch": one_too_big}));
    answer.assert_error(400, "invalid_request");
    let body = answer.json();
    assert_eq!(body["rejected"][0]["item"], 1);
    assert!(
        body["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("32 KB")
    );
    assert_eq!(body["accepted"], 2);
    assert_eq!(
        db.json(&["events", "list", "--user", "big"])
            .as_array()
            .unwrap()
            .len(),
        17
    );
    server.stop();
}

#[test]
fn trusted_domains_by_origin_and_referer() {
    let db = Db::new();
    db.cli(&["domains", "add", "example.com"]);
    let server = Server::start(&db.path, &[]);
    let auth = basic(&db.key);
    let send = |header: (&str, &str), user: &str| {
        let body = json!({"userId": user, "event": "E"}).to_string();
        request(
            server.addr,
            "POST",
            "/v1/track",
            &[("Authorization", auth.as_str()), header],
            body.as_bytes(),
        )
    };
    let message = send(("Origin", "https://evil.net"), "o1").assert_error(403, "forbidden");
    assert!(message.contains("evil.net"), "{message}");
    send(("Referer", "https://evil.example.net/page"), "o2").assert_error(403, "forbidden");
    send(("Origin", "https://shop.example.com"), "o3").assert_ok();
    send(("Referer", "https://example.com/cart?x=1"), "o4").assert_ok();
    // Without Origin/Referer the event's page URL decides, as in `usercom ingest`.
    post(
        &server,
        &db.key,
        "/v1/track",
        &json!({"userId": "o5", "event": "E", "context": {"page": {"url": "https://evil.net/x"}}}),
    )
    .assert_error(403, "forbidden");
    // A domain added while the server runs counts from then on.
    db.cli(&["domains", "add", "evil.net"]);
    send(("Origin", "https://evil.net"), "o6").assert_ok();
    let events = db.json(&["events", "list"]);
    let users: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(users, vec!["o3", "o4", "o6"]);
    server.stop();
}

#[test]
fn keep_alive_connections_serve_many_requests() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let auth = basic(&db.key);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    for i in 0..20 {
        let body = json!({"userId": "k", "event": "E", "messageId": format!("ka-{i}")}).to_string();
        let head = format!(
            "POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        // Read one answer: headers, then its Content-Length.
        loop {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "connection closed");
            raw.extend_from_slice(&buf[..n]);
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let answer = parse_answer(&raw);
                let len: usize = answer.header("content-length").unwrap().parse().unwrap();
                if raw.len() >= end + 4 + len {
                    answer.assert_ok();
                    break;
                }
            }
        }
    }
    assert_eq!(db.messages(), 20);
    server.stop();
}

#[test]
fn slow_clients_get_408_and_do_not_hold_up_shutdown() {
    let db = Db::new();
    let server = Server::start(
        &db.path,
        &["--request-timeout", "1", "--shutdown-timeout", "2"],
    );
    // A body that never completes: 408 after the timeout, not a hung connection.
    let mut slow = TcpStream::connect(server.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let auth = basic(&db.key);
    write!(
        slow,
        "POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Length: 100\r\n\r\n{{\"userId\""
    )
    .unwrap();
    let started = Instant::now();
    let answer = support::read_answer(&mut slow);
    answer.assert_error(408, "request_timeout");
    assert!(started.elapsed() < Duration::from_secs(10));

    // Headers that never complete: the connection is closed.
    let mut stalled = TcpStream::connect(server.addr).unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stalled
        .write_all(b"POST /v1/track HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut rest = Vec::new();
    let _ = stalled.read_to_end(&mut rest);
    assert!(started.elapsed() < Duration::from_secs(15));

    // An idle connection open at shutdown does not keep the server up.
    let _idle = TcpStream::connect(server.addr).unwrap();
    let (status, _) = server.stop_within(Duration::from_secs(15));
    assert!(status.success());
}

#[test]
fn concurrent_requests_and_cli_ingest_on_the_same_file() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let addr = server.addr;
    let auth = basic(&db.key);

    // `usercom ingest` writes to the same file meanwhile.
    let file = db.dir.path().join("cli.ndjson");
    let lines: String = (0..20_000)
        .map(|i| format!("{}\n", json!({"type": "track", "userId": format!("cli-{}", i % 50), "event": "Cli", "messageId": format!("cli-{i}")})))
        .collect();
    std::fs::write(&file, lines).unwrap();
    let cli = support::usercom()
        .arg("--db")
        .arg(&db.path)
        .args([
            "ingest",
            file.to_str().unwrap(),
            "--api-key",
            &db.key,
            "--batch-size",
            "1000",
        ])
        .output();

    let threads: Vec<_> = (0..8)
        .map(|t| {
            let auth = auth.clone();
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                for i in 0..60 {
                    let (path, body) = if i % 3 == 0 {
                        let batch: Vec<Value> = (0..10)
                            .map(|j| json!({"type": "track", "userId": format!("h-{t}"), "event": "Http", "messageId": format!("h-{t}-{i}-{j}")}))
                            .collect();
                        ("/v1/batch", json!({"batch": batch}))
                    } else {
                        ("/v1/identify", json!({"userId": format!("h-{t}"), "traits": {"n": i}, "messageId": format!("h-{t}-{i}")}))
                    };
                    let answer = request(
                        addr,
                        "POST",
                        path,
                        &[("Authorization", auth.as_str())],
                        body.to_string().as_bytes(),
                    );
                    statuses.push((answer.status, String::from_utf8_lossy(&answer.body).to_string()));
                }
                statuses
            })
        })
        .collect();
    let cli = cli.expect("running usercom ingest");
    assert!(
        cli.status.success(),
        "ingest: {}",
        String::from_utf8_lossy(&cli.stderr)
    );
    for thread in threads {
        for (status, body) in thread.join().unwrap() {
            assert_eq!(status, 200, "{body}");
        }
    }
    // 8 threads x (20 batches of 10 + 40 identifies) + 20,000 from the CLI.
    assert_eq!(db.messages(), 8 * (20 * 10 + 40) + 20_000);
    let log = server.log();
    assert!(!log.contains("locked"), "{log}");
    server.stop();
}

#[test]
fn shutdown_keeps_every_acknowledged_event() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let addr = server.addr;
    let auth = basic(&db.key);
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let (auth, acknowledged, stop) = (auth.clone(), acknowledged.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let ids: Vec<String> = (0..5).map(|j| format!("s-{t}-{i}-{j}")).collect();
                    let batch: Vec<Value> = ids
                        .iter()
                        .map(|id| json!({"type": "track", "userId": "s", "event": "S", "messageId": id}))
                        .collect();
                    let body = json!({"batch": batch}).to_string();
                    // Refused or cut connections after the signal are expected.
                    let Ok(mut stream) = TcpStream::connect(addr) else { break };
                    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                    let head = format!(
                        "POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    if stream.write_all(head.as_bytes()).is_err() || stream.write_all(body.as_bytes()).is_err() {
                        break;
                    }
                    let mut raw = Vec::new();
                    if stream.read_to_end(&mut raw).is_err() || raw.is_empty() {
                        break;
                    }
                    let answer = parse_answer(&raw);
                    if answer.status == 200 {
                        acknowledged.lock().unwrap().extend(ids);
                    } else {
                        assert_eq!(answer.status, 503, "{:?}", String::from_utf8_lossy(&answer.body));
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    let (status, _) = server.stop_within(Duration::from_secs(30));
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().unwrap();
    }
    assert!(status.success(), "exit status {status}");
    let acknowledged = acknowledged.lock().unwrap();
    assert!(
        !acknowledged.is_empty(),
        "nothing was acknowledged before SIGTERM"
    );
    let store = usercom::store::Store::open(&db.path).unwrap();
    for id in acknowledged.iter() {
        assert!(
            store.knows_message(id).unwrap(),
            "{id} was answered 200 but is not in the database"
        );
    }
}

#[test]
fn events_without_a_time_apply_request_by_request() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let key = db.key.clone();
    // Requests back to back often share a millisecond: the later one still wins.
    for user in 0..6 {
        for plan in ["free", "pro"] {
            let identify = json!({"userId": format!("o{user}"), "traits": {"plan": plan}});
            post(&server, &key, "/v1/identify", &identify).assert_ok();
        }
    }
    let batch = json!({"batch": [
        {"type": "identify", "userId": "ob", "traits": {"plan": "first"}},
        {"type": "identify", "userId": "ob", "traits": {"plan": "second"}}
    ]});
    post(&server, &key, "/v1/batch", &batch).assert_ok();
    for user in 0..6 {
        let profile = db.json(&["users", "show", &format!("o{user}")]);
        assert_eq!(profile["attributes"]["plan"], "pro", "{profile}");
    }
    assert_eq!(
        db.json(&["users", "show", "ob"])["attributes"]["plan"],
        "second"
    );
    server.stop();
}

#[test]
fn trusted_domains_check_scheme_less_page_urls() {
    let db = Db::new();
    db.cli(&["domains", "add", "example.com"]);
    let server = Server::start(&db.path, &[]);
    for (user, page) in [
        (
            "s1",
            json!({"userId": "s1", "context": {"page": {"url": "//evil.net/x"}}}),
        ),
        (
            "s2",
            json!({"userId": "s2", "context": {"page": {"url": "evil.net/x"}}}),
        ),
        (
            "s3",
            json!({"userId": "s3", "properties": {"url": "https://evil.net/x"}}),
        ),
    ] {
        let message = post(&server, &db.key, "/v1/page", &page).assert_error(403, "forbidden");
        assert!(message.contains("evil.net"), "{user}: {message}");
    }
    post(
        &server,
        &db.key,
        "/v1/page",
        &json!({"userId": "s4", "properties": {"url": "https://shop.example.com/x"}}),
    )
    .assert_ok();
    server.stop();
}

#[test]
fn a_batch_answer_counts_in_words_that_agree() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let batch = json!({"batch": [
        {"type": "identify", "userId": "w1"},
        {"type": "identify"}
    ]});
    let answer = post(&server, &db.key, "/v1/batch", &batch);
    let message = answer.assert_error(400, "invalid_request");
    assert!(
        message.starts_with("1 of 2 events rejected, the other event was applied"),
        "{message}"
    );
    server.stop();
}

#[test]
fn a_batch_envelope_s_integrations_and_sent_at_reach_its_events() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let batch = json!({
        "integrations": {"All": false},
        "sentAt": "2026-10-05T00:00:00Z",
        "batch": [
            {"type": "identify", "userId": "e1", "messageId": "e1"},
            {"type": "identify", "userId": "e2", "messageId": "e2",
             "integrations": {"User.com": true}, "traits": {"plan": "pro"}}
        ]
    });
    post(&server, &db.key, "/v1/batch", &batch).assert_ok();
    db.cli_code(&["users", "show", "e1"], 1);
    let later = json!({"userId": "e2", "messageId": "e3", "timestamp": "2026-10-04T00:00:00Z",
                       "traits": {"plan": "free"}});
    post(&server, &db.key, "/v1/identify", &later).assert_ok();
    assert_eq!(
        db.json(&["users", "show", "e2"])["attributes"]["plan"],
        "pro"
    );
    server.stop();
}

/// Whether the database behind `conn` has the index `name`.
fn has_index(conn: &rusqlite::Connection, name: &str) -> bool {
    let found: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
            [name],
            |r| r.get(0),
        )
        .unwrap();
    found == 1
}

#[test]
fn serve_builds_the_indexes_a_stopped_load_deferred_before_it_listens() {
    let db = Db::new();
    let store = usercom::store::Store::open(&db.path).unwrap();
    assert!(store.defer_indexes().unwrap() > 0);
    drop(store);
    let conn = rusqlite::Connection::open(&db.path).unwrap();
    // Deferred by this test's process, which runs on: the server leaves them to it.
    let server = Server::start(&db.path, &[]);
    let pending: i64 = conn
        .query_row("SELECT count(*) FROM deferred_indexes", [], |r| r.get(0))
        .unwrap();
    assert!(pending > 0);
    drop(server);
    // A load that is gone (killed): the server builds them before it listens.
    conn.execute("UPDATE deferred_indexes SET pid = ?1", [u32::MAX])
        .unwrap();
    let _server = Server::start(&db.path, &[]);
    let pending: i64 = conn
        .query_row("SELECT count(*) FROM deferred_indexes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(pending, 0);
    assert!(has_index(&conn, "provenance_owner"));
}

#[test]
fn a_running_server_builds_the_indexes_a_load_killed_meanwhile_deferred() {
    let db = Db::new();
    let _server = Server::start(&db.path, &[]);
    // A load starts beside the server (this test's process stands in for it) ...
    let store = usercom::store::Store::open(&db.path).unwrap();
    assert!(store.defer_indexes().unwrap() > 0);
    drop(store);
    let conn = rusqlite::Connection::open(&db.path).unwrap();
    let pending = || -> i64 {
        conn.query_row("SELECT count(*) FROM deferred_indexes", [], |r| r.get(0))
            .unwrap()
    };
    // ... and while it runs the server leaves its indexes to it.
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(pending() > 0);
    // Then it is killed: the idle server builds what it left.
    conn.execute("UPDATE deferred_indexes SET pid = ?1", [u32::MAX])
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while pending() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(pending(), 0, "the server did not build the indexes left");
    assert!(has_index(&conn, "provenance_owner"));
}
