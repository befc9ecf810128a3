//! The web UI of `usercom serve` over real loopback connections: values from events
//! escaped, the security headers, the CSRF token, the Host check, the admin-key login
//! on a non-loopback address, settings forms, the live stream, and `--no-ui`.

#[path = "e2e/support.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{Answer, Db, Server, post, request, usercom};

const SCRIPT: &str = "<script>window.pwned=1</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";

fn get(addr: SocketAddr, path: &str) -> Answer {
    request(addr, "GET", path, &[], b"")
}

fn text(a: &Answer) -> String {
    String::from_utf8_lossy(&a.body).to_string()
}

/// The CSRF token in a page's forms.
fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..].split('"').next().unwrap().to_string()
}

fn form(addr: SocketAddr, path: &str, body: &str, cookie: Option<&str>) -> Answer {
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(c) = cookie {
        headers.push(("Cookie", c));
    }
    request(addr, "POST", path, &headers, body.as_bytes())
}

#[test]
fn values_from_events_are_shown_as_text_with_a_strict_policy() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let batch = json!({"batch": [
        {"type": "identify", "userId": "x1", "traits": {"first_name": SCRIPT, "motto": IMG}},
        {"type": "track", "userId": "x1", "event": IMG, "properties": {"note": SCRIPT}},
        {"type": "page", "userId": "x1", "name": SCRIPT, "properties": {"url": "https://example.com/?q=<b>"}},
    ]});
    post(&server, &db.key, "/v1/batch", &batch).assert_ok();
    for path in [
        "/ui/users",
        "/ui/users/x1",
        "/ui/events",
        "/ui/pages",
        "/ui/live",
    ] {
        let answer = get(server.addr, path);
        assert_eq!(answer.status, 200, "{path}: {}", text(&answer));
        let page = text(&answer);
        assert!(!page.contains("<script>window"), "{path}: {page}");
        assert!(!page.contains("<img src=x"), "{path}: {page}");
        let policy = answer.header("Content-Security-Policy").expect("a CSP");
        assert!(policy.contains("script-src 'self'"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(answer.header("Access-Control-Allow-Origin").is_none());
        assert_eq!(answer.header("X-Frame-Options"), Some("DENY"));
    }
    let profile = text(&get(server.addr, "/ui/users/x1"));
    assert!(
        profile.contains("&lt;script&gt;window.pwned=1&lt;/script&gt;"),
        "{profile}"
    );
    assert!(
        profile.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{profile}"
    );
    let events = text(&get(server.addr, "/ui/events"));
    assert!(events.contains("&quot;&gt;&lt;img src=x"), "{events}");
    server.stop();
}

#[test]
fn users_are_filtered_by_the_query_string_and_a_profile_has_its_timeline() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let batch = json!({"batch": [
        {"type": "identify", "userId": "u1", "traits": {"email": "ada@example.com", "country": "Poland", "seats": 3}, "timestamp": "2026-10-01T10:00:00Z"},
        {"type": "identify", "userId": "u2", "traits": {"email": "grace@example.com", "country": "Chile"}, "timestamp": "2026-10-01T10:01:00Z"},
        {"type": "track", "userId": "u1", "event": "Order Completed", "timestamp": "2026-10-02T10:00:00Z"},
        {"type": "page", "userId": "u1", "name": "Pricing", "properties": {"url": "https://example.com/pricing"}, "timestamp": "2026-10-03T10:00:00Z"},
        {"type": "group", "userId": "u1", "groupId": "acme", "traits": {"name": "Acme"}, "timestamp": "2026-10-04T10:00:00Z"},
    ]});
    post(&server, &db.key, "/v1/batch", &batch).assert_ok();
    let all = text(&get(server.addr, "/ui/users"));
    assert!(all.contains("<strong id=\"count\">2</strong>"), "{all}");
    let poles = text(&get(
        server.addr,
        "/ui/users?where=country%3DPoland&did=&since=",
    ));
    assert!(poles.contains("<strong id=\"count\">1</strong>"), "{poles}");
    assert!(poles.contains("href=\"/ui/users/u1\""), "{poles}");
    assert!(!poles.contains("/ui/users/u2"), "{poles}");
    // The JSON twin is the read API's answer for the same query.
    assert!(
        poles.contains("href=\"/v1/users?where=country%3DPoland&amp;limit=50\""),
        "{poles}"
    );
    let profile = text(&get(server.addr, "/ui/users/u1"));
    let order = profile.find("Order Completed").expect("the event");
    let page = profile
        .find("https://example.com/pricing")
        .expect("the page view");
    assert!(page < order, "newest first: {profile}");
    assert!(profile.contains("href=\"/ui/companies/acme\""), "{profile}");
    assert!(profile.contains("seats"), "{profile}");
    let company = text(&get(server.addr, "/ui/companies/acme"));
    assert!(company.contains("href=\"/ui/users/u1\""), "{company}");
    // A typo is an error page, not ignored.
    let typo = get(server.addr, "/ui/users?wher=x");
    assert_eq!(typo.status, 400);
    assert_eq!(get(server.addr, "/ui/users/nobody").status, 404);
    server.stop();
}

#[test]
fn why_links_lead_to_each_value_s_explanation_shown_as_text() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let batch = json!({"batch": [
        {"type": "identify", "messageId": "m-first", "userId": "u1", "traits": {"email": "old@example.com"}, "timestamp": "2026-10-01T10:00:00Z"},
        {"type": "identify", "messageId": "m-second", "userId": "u1", "traits": {"email": "ada@example.com", "motto": IMG}, "timestamp": "2026-10-02T10:00:00Z"},
        {"type": "identify", "messageId": SCRIPT, "userId": "u1", "traits": {"nickname": SCRIPT}, "timestamp": "2026-10-03T10:00:00Z"},
        {"type": "group", "messageId": "m-group", "userId": "u1", "groupId": "acme", "traits": {"name": "Acme"}, "timestamp": "2026-10-04T10:00:00Z"},
    ]});
    post(&server, &db.key, "/v1/batch", &batch).assert_ok();
    let profile = text(&get(server.addr, "/ui/users/u1"));
    assert!(
        profile.contains("href=\"/ui/why/user/u1?name=email\""),
        "{profile}"
    );
    assert!(
        profile.contains("href=\"/ui/why/user/u1?name=motto\""),
        "{profile}"
    );
    // Follow the link: the value, the rule, the writes newest first with their events.
    let answer = get(server.addr, "/ui/why/user/u1?name=email");
    assert_eq!(answer.status, 200, "{}", text(&answer));
    let why = text(&answer);
    assert!(
        why.contains("ada@example.com") && why.contains("mapped trait"),
        "{why}"
    );
    let (second, first) = (why.find("m-second"), why.find("m-first"));
    assert!(second.is_some() && second < first, "newest first: {why}");
    assert!(!why.contains("motto"), "only the value named: {why}");
    let policy = answer.header("Content-Security-Policy").expect("a CSP");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    // Values and messageIds from events are text.
    let all = text(&get(server.addr, "/ui/why/user/u1"));
    assert!(
        !all.contains("<script>window") && !all.contains("<img src=x"),
        "{all}"
    );
    assert!(
        all.contains("&lt;script&gt;window.pwned=1&lt;/script&gt;"),
        "{all}"
    );
    assert!(all.contains("&lt;img src=x onerror=alert(1)&gt;"), "{all}");
    // The company page links its values too.
    let company = text(&get(server.addr, "/ui/companies/acme"));
    assert!(
        company.contains("href=\"/ui/why/company/acme?name=name\""),
        "{company}"
    );
    let why = text(&get(server.addr, "/ui/why/company/acme?name=name"));
    assert!(why.contains("Acme") && why.contains("m-group"), "{why}");
    assert_eq!(get(server.addr, "/ui/why/user/u1?name=nothing").status, 404);
    assert_eq!(get(server.addr, "/ui/why/user/nobody").status, 404);
    assert_eq!(get(server.addr, "/ui/why/user/u1?nme=email").status, 400);
    server.stop();
}

#[test]
fn forms_need_the_csrf_token() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let refused = form(
        server.addr,
        "/ui/settings/domains",
        "domain=example.com",
        None,
    );
    assert_eq!(refused.status, 403, "{}", text(&refused));
    let wrong = form(
        server.addr,
        "/ui/settings/domains",
        "domain=example.com&csrf=00",
        None,
    );
    assert_eq!(wrong.status, 403);
    assert_eq!(db.json(&["domains", "list"]), json!([]));
    let token = csrf(&text(&get(server.addr, "/ui/settings")));
    let added = form(
        server.addr,
        "/ui/settings/domains",
        &format!("domain=example.com&csrf={token}"),
        None,
    );
    assert_eq!(added.status, 200, "{}", text(&added));
    assert_eq!(db.json(&["domains", "list"])[0]["domain"], "example.com");
    server.stop();
}

#[test]
fn settings_create_and_revoke_keys_and_retype_attributes_with_a_report() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let batch = json!({"batch": [
        {"type": "identify", "userId": "a", "traits": {"plan_size": "12"}},
        {"type": "identify", "userId": "b", "traits": {"plan_size": "lots"}},
    ]});
    post(&server, &db.key, "/v1/batch", &batch).assert_ok();
    let token = csrf(&text(&get(server.addr, "/ui/settings")));
    let created = text(&form(
        server.addr,
        "/ui/settings/keys",
        &format!("name=ci&kind=admin&csrf={token}"),
        None,
    ));
    let at = created
        .find("<code id=\"new-key\">")
        .expect("the key, once")
        + 19;
    let key = &created[at..at + created[at..].find('<').unwrap()];
    let keys = db.json(&["keys", "list"]);
    let row = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "ci")
        .expect("the new key");
    assert_eq!(row["kind"], "admin");
    // Shown once: the settings page never shows it again.
    assert!(!text(&get(server.addr, "/ui/settings")).contains(key));
    let id = row["id"].to_string();
    let revoked = form(
        server.addr,
        "/ui/settings/keys/revoke",
        &format!("id={id}&csrf={token}"),
        None,
    );
    assert_eq!(revoked.status, 200);
    let keys = db.json(&["keys", "list"]);
    let row = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "ci")
        .unwrap();
    assert!(row["revoked_at"].is_string(), "{row}");
    let report = text(&form(
        server.addr,
        "/ui/settings/attributes",
        &format!("scope=user&event=&name=plan_size&type=number&csrf={token}"),
        None,
    ));
    assert!(
        report.contains("from string to number: 1 converted, 1 could not be converted"),
        "{report}"
    );
    assert!(report.contains("<code>&quot;lots&quot;</code>"), "{report}");
    assert_eq!(
        db.json(&["users", "show", "a"])["attributes"]["plan_size"],
        12
    );
    server.stop();
}

#[test]
fn only_addresses_and_loopback_names_reach_the_ui() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(
            b"GET /ui/settings HTTP/1.1\r\nHost: rebound.example:8787\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    let answer = support::read_answer(&mut stream);
    assert_eq!(answer.status, 403);
    assert!(!text(&answer).contains("csrf"));
    server.stop();
}

#[test]
fn no_ui_turns_it_off() {
    let db = Db::new();
    let server = Server::start(&db.path, &["--no-ui"]);
    assert_eq!(get(server.addr, "/ui/users").status, 404);
    assert_eq!(get(server.addr, "/ui/").status, 404);
    server.stop();
    let server = Server::start(&db.path, &[]);
    let root = get(server.addr, "/ui/");
    assert_eq!(
        (root.status, root.header("Location")),
        (303, Some("/ui/users"))
    );
    assert!(server.stop_log().contains("web UI at http://127.0.0.1:"));
}

#[test]
fn a_non_loopback_address_asks_for_an_admin_key_once() {
    let db = Db::new();
    let admin = db.json(&["keys", "create", "--admin"])["key"]
        .as_str()
        .unwrap()
        .to_string();
    let mut child = usercom()
        .arg("--db")
        .arg(&db.path)
        .args(["serve", "--listen", "0.0.0.0:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let port: u16 = first.trim().rsplit(':').next().unwrap().parse().unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let bounced = get(addr, "/ui/users");
    assert_eq!(
        (bounced.status, bounced.header("Location")),
        (303, Some("/ui/login"))
    );
    let login = text(&get(addr, "/ui/login"));
    let token = csrf(&login);
    let write = form(
        addr,
        "/ui/login",
        &format!("key={}&csrf={token}", db.key),
        None,
    );
    assert_eq!(write.status, 403, "a write key is public");
    assert!(write.header("Set-Cookie").is_none());
    let ok = form(
        addr,
        "/ui/login",
        &format!("key={admin}&csrf={token}"),
        None,
    );
    assert_eq!(ok.status, 303, "{}", text(&ok));
    let cookie = ok
        .header("Set-Cookie")
        .expect("a session cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();
    let page = request(addr, "GET", "/ui/settings", &[("Cookie", &session)], b"");
    assert_eq!(page.status, 200);
    let forged = request(
        addr,
        "GET",
        "/ui/settings",
        &[("Cookie", "usercom_session=00")],
        b"",
    );
    assert_eq!(forged.status, 303);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn the_live_stream_sends_events_once_committed() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(
            format!(
                "GET /ui/live/stream HTTP/1.1\r\nHost: {}\r\n\r\n",
                server.addr
            )
            .as_bytes(),
        )
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    // The stream is open (its first comment) before the event is sent.
    while !String::from_utf8_lossy(&seen).contains(": live") {
        let n = stream.read(&mut buf).unwrap();
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&seen).contains("text/event-stream"));
    post(
        &server,
        &db.key,
        "/v1/track",
        &json!({"userId": "l1", "event": "Live Thing"}),
    )
    .assert_ok();
    let started = Instant::now();
    while !String::from_utf8_lossy(&seen).contains("Live Thing") {
        assert!(started.elapsed() < Duration::from_secs(10), "no event");
        let n = stream.read(&mut buf).unwrap();
        seen.extend_from_slice(&buf[..n]);
    }
    let all = String::from_utf8_lossy(&seen).to_string();
    assert!(all.contains("\"who\":\"l1\""), "{all}");
    drop(stream);
    server.stop();
}
