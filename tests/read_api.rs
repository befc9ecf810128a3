//! The read API of `usercom serve` (admin keys), `POST /v1/expect` and
//! `POST /v1/reset`, over real loopback connections, compared with the CLI on the same
//! database.

#[path = "e2e/support.rs"]
mod support;

use std::time::Duration;

use std::io::Write;
use std::net::TcpStream;

use serde_json::json;
use support::{Answer, Db, Server, basic, post, read_answer, request};

/// A GET with the key as Basic credentials.
fn get(server: &Server, key: &str, path: &str) -> Answer {
    let auth = basic(key);
    request(server.addr, "GET", path, &[("Authorization", &auth)], b"")
}

fn admin_key(db: &Db) -> String {
    db.json(&["keys", "create", "--admin"])["key"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A database with users, a company, events, page views and a rejection.
fn filled(db: &Db) {
    let server = Server::start(&db.path, &[]);
    let batch = json!({"batch": [
        {"type": "identify", "userId": "u1", "traits": {"email": "ada@example.com", "plan": "pro", "seats": 3}, "timestamp": "2026-10-01T10:00:00Z"},
        {"type": "identify", "userId": "u2", "traits": {"email": "grace@example.com", "plan": "free", "seats": 1}, "timestamp": "2026-10-01T10:01:00Z"},
        {"type": "identify", "anonymousId": "anon-3", "traits": {"plan": "free"}, "timestamp": "2026-10-01T10:02:00Z"},
        {"type": "track", "userId": "u1", "event": "Order Completed", "properties": {"revenue": 42}, "timestamp": "2026-10-02T10:00:00Z"},
        {"type": "track", "userId": "u1", "event": "Order Completed", "timestamp": "2026-10-09T10:00:00Z"},
        {"type": "track", "userId": "u2", "event": "Signed Up", "timestamp": "2026-10-03T10:00:00Z"},
        {"type": "page", "userId": "u1", "name": "Pricing", "properties": {"url": "https://example.com/pricing"}, "timestamp": "2026-10-04T10:00:00Z"},
        {"type": "page", "userId": "u2", "name": "Home", "properties": {"url": "https://example.com/"}, "timestamp": "2026-10-05T10:00:00Z"},
        {"type": "group", "userId": "u1", "groupId": "acme", "traits": {"name": "Acme", "employees": 12}, "timestamp": "2026-10-06T10:00:00Z"},
        {"type": "track", "userId": "u1"}
    ]});
    assert_eq!(post(&server, &db.key, "/v1/batch", &batch).status, 400);
    server.stop();
}

#[test]
fn the_read_api_gives_the_cli_json_for_the_same_query() {
    let db = Db::new();
    filled(&db);
    let admin = admin_key(&db);
    let server = Server::start(&db.path, &[]);
    // (HTTP path, the CLI's arguments): items are exactly the CLI's --json array.
    let lists: [(&str, &[&str]); 9] = [
        (
            "/v1/users?where=plan%3Dfree&sort=user_id:desc&limit=0",
            &[
                "users",
                "list",
                "--where",
                "plan=free",
                "--sort",
                "user_id:desc",
            ],
        ),
        (
            "/v1/users?did=Order+Completed&since=2026-10-01&until=2026-11-01&limit=0",
            &[
                "users",
                "list",
                "--did",
                "Order Completed",
                "--since",
                "2026-10-01",
                "--until",
                "2026-11-01",
            ],
        ),
        (
            "/v1/users?in_company=acme&visited=pricing&limit=0",
            &[
                "users",
                "list",
                "--in-company",
                "acme",
                "--visited",
                "pricing",
            ],
        ),
        (
            "/v1/companies?where=employees%3E10&limit=0",
            &["companies", "list", "--where", "employees>10"],
        ),
        (
            "/v1/events?user=u1&limit=0",
            &["events", "list", "--user", "u1"],
        ),
        (
            "/v1/pages?url=pricing&limit=0",
            &["pages", "list", "--url", "pricing"],
        ),
        (
            "/v1/stats/events?by=week&limit=0",
            &["events", "stats", "--by", "week"],
        ),
        (
            "/v1/stats/pages?by=name&limit=0",
            &["pages", "stats", "--by", "name"],
        ),
        ("/v1/rejections?limit=0", &["rejections", "list"]),
    ];
    for (path, args) in lists {
        let answer = get(&server, &admin, path);
        assert_eq!(
            answer.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        let page = answer.json();
        let cli = db.json(args);
        assert_eq!(page["items"], cli, "{path}");
        assert_eq!(page["total"], cli.as_array().unwrap().len(), "{path}");
        assert!(
            !cli.as_array().unwrap().is_empty(),
            "{path} lists something"
        );
    }
    // One thing: the same object as `show --json`.
    assert_eq!(
        get(&server, &admin, "/v1/users/ada%40example.com").json(),
        db.json(&["users", "show", "u1"])
    );
    assert_eq!(
        get(&server, &admin, "/v1/companies/acme").json(),
        db.json(&["companies", "show", "acme"])
    );
    let status = get(&server, &admin, "/v1/status").json();
    assert_eq!(status["users"], 3);
    assert_eq!(status["admin_keys"], 1);
    // A window: limit and offset over the same order.
    let all = db.json(&["users", "list", "--sort", "user_id"]);
    let page = get(&server, &admin, "/v1/users?sort=user_id&limit=1&offset=1").json();
    assert_eq!(page["items"], json!([all[1]]));
    assert_eq!(
        (
            page["total"].as_u64(),
            page["limit"].as_u64(),
            page["offset"].as_u64()
        ),
        (Some(3), Some(1), Some(1))
    );
    assert_eq!(get(&server, &admin, "/v1/users").json()["limit"], 100);
    // CSV and ndjson: the CLI's --csv / --ndjson output.
    let csv = get(&server, &admin, "/v1/users?format=csv&limit=0");
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        String::from_utf8(csv.body).unwrap(),
        db.cli(&["users", "list", "--csv"])
    );
    let ndjson = get(&server, &admin, "/v1/companies?format=ndjson&limit=0");
    assert_eq!(
        String::from_utf8(ndjson.body).unwrap(),
        db.cli(&["companies", "list", "--ndjson"])
    );
    // Unknown ids and mistakes are JSON errors.
    let unknown = get(&server, &admin, "/v1/users/nobody").assert_error(404, "not_found");
    assert!(unknown.contains("\"nobody\""), "{unknown}");
    get(&server, &admin, "/v1/companies/nope").assert_error(404, "not_found");
    let message = get(&server, &admin, "/v1/users?where=nosuchfield%3D1")
        .assert_error(400, "invalid_request");
    assert!(message.contains("nosuchfield"), "{message}");
    get(&server, &admin, "/v1/users?wher=x").assert_error(400, "invalid_request");
    get(&server, &admin, "/v1/stats/events?by=url").assert_error(400, "invalid_request");
    server.stop();
}

const READS: [&str; 10] = [
    "/v1/users",
    "/v1/users/u1",
    "/v1/companies",
    "/v1/companies/acme",
    "/v1/events",
    "/v1/pages",
    "/v1/stats/events",
    "/v1/stats/pages",
    "/v1/rejections",
    "/v1/status",
];

#[test]
fn explain_is_the_cli_json() {
    let db = Db::new();
    filled(&db);
    let admin = admin_key(&db);
    let server = Server::start(&db.path, &[]);
    for (path, args) in [
        ("/v1/users/u1/explain", vec!["users", "explain", "u1"]),
        (
            "/v1/users/u1/explain?name=email&history=1",
            vec!["users", "explain", "u1", "email", "--history", "1"],
        ),
        (
            "/v1/companies/acme/explain",
            vec!["companies", "explain", "acme"],
        ),
    ] {
        let answer = get(&server, &admin, path);
        assert_eq!(answer.json(), db.json(&args), "{path}");
    }
    get(&server, &admin, "/v1/users/nobody/explain").assert_error(404, "not_found");
    get(&server, &admin, "/v1/users/u1/explain?history=x").assert_error(400, "invalid_request");
    get(&server, &db.key, "/v1/users/u1/explain").assert_error(403, "forbidden");
    server.stop();
}

#[test]
fn only_an_active_admin_key_in_the_authorization_header_reads() {
    let db = Db::new();
    filled(&db);
    let admin = admin_key(&db);
    let server = Server::start(&db.path, &["--allow-reset"]);
    for path in READS {
        assert_eq!(get(&server, &admin, path).status, 200, "{path}");
        let write = get(&server, &db.key, path).assert_error(403, "forbidden");
        assert!(write.contains("write key"), "{path}: {write}");
        get(&server, "uc_unknown", path).assert_error(403, "forbidden");
        // Never from the query string.
        let in_url = request(server.addr, "GET", &format!("{path}?key={admin}"), &[], b"");
        assert_eq!(
            in_url.status,
            if path.contains('?') { 400 } else { 403 },
            "{path}"
        );
    }
    // A revoked admin key: 403 on every read endpoint, expect and reset.
    let id = db.json(&["keys", "list"])[1]["id"].to_string();
    db.cli(&["keys", "revoke", &id]);
    for path in READS {
        let message = get(&server, &admin, path).assert_error(403, "forbidden");
        assert!(message.contains("revoked"), "{path}: {message}");
    }
    for path in ["/v1/expect", "/v1/reset"] {
        post(&server, &admin, path, &json!({"user": "u1"})).assert_error(403, "forbidden");
    }
    assert_eq!(db.json(&["status"])["users"], 3, "nothing was reset");
    // An admin key still writes events.
    let admin = admin_key(&db);
    post(&server, &admin, "/v1/identify", &json!({"userId": "u9"})).assert_ok();
    // ... in the Authorization header only: not as a body's writeKey, not in a URL.
    let body = json!({"writeKey": admin, "userId": "u9", "event": "X"}).to_string();
    let in_body = request(server.addr, "POST", "/v1/track", &[], body.as_bytes());
    let message = in_body.assert_error(403, "forbidden");
    assert!(message.contains("Authorization header"), "{message}");
    let settings = format!("/v1/projects/{admin}/settings");
    assert_eq!(request(server.addr, "GET", &settings, &[], b"").status, 403);
    let body = json!({"writeKey": db.key, "userId": "u9", "event": "X"}).to_string();
    assert_eq!(
        request(server.addr, "POST", "/v1/track", &[], body.as_bytes()).status,
        200
    );
    server.stop();
}

#[test]
fn a_page_reaches_the_read_api_only_by_address_and_only_from_the_cors_origin() {
    let db = Db::new();
    let admin = admin_key(&db);
    let auth = basic(&admin);
    let server = Server::start(&db.path, &["--cors-origin", "http://localhost:5173"]);
    // DNS rebinding: a page on evil.example whose name now points here.
    let rebound = with_host(&server, "evil.example:8787", &auth);
    rebound.assert_error(403, "forbidden");
    let by_name = with_host(&server, "localhost", &auth);
    assert_eq!(by_name.status, 200);
    // CORS: the named origin only; the tracking API stays open to every origin.
    let from = |origin: &str| {
        request(
            server.addr,
            "GET",
            "/v1/status",
            &[("Origin", origin), ("Authorization", &auth)],
            b"",
        )
    };
    assert_eq!(
        from("http://localhost:5173").header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert_eq!(
        from("https://elsewhere.example").header("access-control-allow-origin"),
        None
    );
    let preflight = request(
        server.addr,
        "OPTIONS",
        "/v1/expect",
        &[
            ("Origin", "http://localhost:5173"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert!(
        preflight
            .header("access-control-allow-headers")
            .unwrap()
            .contains("Authorization")
    );
    let track = request(
        server.addr,
        "OPTIONS",
        "/v1/track",
        &[("Origin", "https://shop.example")],
        b"",
    );
    assert_eq!(track.header("access-control-allow-origin"), Some("*"));
    server.stop();

    // Without --cors-origin, no CORS headers at all on the admin routes.
    let server = Server::start(&db.path, &[]);
    assert_eq!(
        from_server(&server, &auth).header("access-control-allow-origin"),
        None
    );
    server.stop();
}

/// `GET /v1/status` with exactly this Host header.
fn with_host(server: &Server, host: &str, auth: &str) -> Answer {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    let head = format!(
        "GET /v1/status HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    read_answer(&mut stream)
}

fn from_server(server: &Server, auth: &str) -> Answer {
    request(
        server.addr,
        "GET",
        "/v1/status",
        &[("Origin", "http://localhost:5173"), ("Authorization", auth)],
        b"",
    )
}

#[test]
fn reset_over_http_needs_the_flag_and_a_replay_applies_again() {
    let db = Db::new();
    let admin = admin_key(&db);
    db.cli(&["domains", "add", "example.com"]);
    let event = json!({"userId": "u1", "messageId": "m-1", "traits": {"email": "a@example.com"}});
    let server = Server::start(&db.path, &[]);
    post(&server, &db.key, "/v1/identify", &event).assert_ok();
    let message = post(&server, &admin, "/v1/reset", &json!({})).assert_error(403, "forbidden");
    assert!(message.contains("--allow-reset"), "{message}");
    server.stop();

    let server = Server::start(&db.path, &["--allow-reset"]);
    post(&server, &db.key, "/v1/reset", &json!({})).assert_error(403, "forbidden");
    let reset = post(&server, &admin, "/v1/reset", &json!({}));
    assert_eq!(reset.status, 200);
    assert_eq!(reset.json()["deleted"]["users"], 1);
    assert_eq!(reset.json()["deleted"]["message_keys"], 1);
    let status = get(&server, &admin, "/v1/status").json();
    assert_eq!(
        (status["users"].as_u64(), status["trusted_domains"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(
        (status["write_keys"].as_u64(), status["admin_keys"].as_u64()),
        (Some(1), Some(1))
    );
    // The same messageId applies again.
    post(&server, &db.key, "/v1/identify", &event).assert_ok();
    assert_eq!(
        get(&server, &admin, "/v1/users/u1").json()["email"],
        "a@example.com"
    );
    server.stop();
}

#[test]
fn expect_over_http_waits_for_the_events_and_answers_409_with_the_differences() {
    let db = Db::new();
    let admin = admin_key(&db);
    db.cli(&["attrs", "define", "seats", "--type", "number"]);
    let server = Server::start(&db.path, &[]);
    let addr = server.addr;
    let key = db.key.clone();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(600));
        let body = json!({"batch": [
            {"type": "identify", "userId": "u1", "traits": {"email": "ada@example.com", "seats": 3}},
            {"type": "track", "userId": "u1", "event": "Signed Up"},
            {"type": "group", "userId": "u1", "groupId": "acme", "traits": {"name": "Acme"}}
        ]});
        let auth = basic(&key);
        let answer = request(
            addr,
            "POST",
            "/v1/batch",
            &[("Authorization", &auth)],
            body.to_string().as_bytes(),
        );
        assert_eq!(answer.status, 200);
    });
    let checks = json!({"user": "u1", "fields": {"email": "ada@example.com"}, "attributes": {"seats": 3},
                        "events": {"Signed Up": 1}, "in_company": ["acme"], "within": "20s"});
    let answer = post(&server, &admin, "/v1/expect", &checks);
    sender.join().unwrap();
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let verdict = answer.json();
    assert_eq!(verdict["holds"], true);
    assert!(verdict["waited_ms"].as_u64().unwrap() >= 400, "{verdict}");

    // Typed: the number attribute 3 is not "3"; the answer lists expected against actual.
    let failing = json!({"user": "u1", "attributes": {"seats": "3"}, "events": {"Signed Up": 2}, "within": "200ms"});
    let answer = post(&server, &admin, "/v1/expect", &failing);
    assert_eq!(answer.status, 409);
    let differences = answer.json()["differences"].clone();
    assert_eq!(
        differences,
        json!([
            {"check": "attributes.seats", "expected": "3", "actual": 3, "holds": false},
            {"check": "events.Signed Up", "expected": 2, "actual": 1, "holds": false}
        ])
    );
    let company = post(
        &server,
        &admin,
        "/v1/expect",
        &json!({"company": "acme", "members": 1, "within": "0s"}),
    );
    assert_eq!(company.status, 200);
    post(
        &server,
        &admin,
        "/v1/expect",
        &json!({"user": "u1", "members": 1}),
    )
    .assert_error(400, "invalid_request");
    // The CLI gives the same verdict for the same checks.
    let cli = db.json(&[
        "expect",
        "company",
        "acme",
        "--members",
        "1",
        "--within",
        "0",
    ]);
    let mut http = company.json();
    http["waited_ms"] = cli["waited_ms"].clone();
    assert_eq!(http, cli);
    server.stop();
}
