//! The local test bench: key kinds, kept rejections, status, reset, `expect`, and the
//! query layer shared by the CLI's JSON and the HTTP API; black-box against the binary
//! (and `usercom serve` over loopback), the query layer through the library.

#[path = "e2e/support.rs"]
mod support;

use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Db, Server, post, request, usercom};

fn run(db: &Db, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = usercom()
        .arg("--db")
        .arg(&db.path)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn ingest(db: &Db, key: &str, text: &str) -> Value {
    let out = run(db, &["ingest", "--json", "--api-key", key], Some(text));
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

const STREAM: &str = r#"{"type":"identify","userId":"u1","messageId":"m1","traits":{"email":"ada@example.com","plan":"pro"},"timestamp":"2026-10-01T10:00:00Z"}
{"type":"track","userId":"u1","messageId":"m2"}
not json at all
{"type":"alias","userId":"u1","previousId":"a1","messageId":"m3"}
[{"type":"identify","userId":"u2","messageId":"m4"},{"type":"bogus","userId":"u2"}]
{"type":"page","userId":"u1","messageId":"m5","name":"Home","properties":{"url":"https://example.com/"},"timestamp":"2026-10-01T10:05:00Z"}
{"type":"group","userId":"u1","messageId":"m6","groupId":"acme","traits":{"name":"Acme","employees":12},"timestamp":"2026-10-01T10:06:00Z"}
"#;

#[test]
fn admin_keys_are_listed_with_their_kind_and_can_write() {
    let db = Db::new();
    let created = db.json(&["keys", "create", "--admin", "--name", "ci"]);
    assert_eq!(created["kind"], "admin");
    let admin = created["key"].as_str().unwrap().to_string();
    let keys = db.json(&["keys", "list"]);
    let kinds: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["write", "admin"]);
    assert!(db.cli(&["keys", "list"]).contains("admin"));
    let summary = ingest(&db, &admin, STREAM);
    assert_eq!(summary["applied"], 4, "{summary}");
}

#[test]
fn a_schema_3_database_migrates_keeps_its_data_and_its_keys_stay_write_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/usercom-v3.db");
    std::fs::copy(&fixture, &path).unwrap();
    let db = Db {
        path,
        key: String::new(),
        dir,
    };
    let status = db.json(&["status"]);
    assert_eq!(status["schema_version"], usercom::store::SCHEMA_VERSION);
    assert_eq!(status["users"], 33);
    assert_eq!(status["trusted_domains"], 1);
    assert_eq!(status["write_keys"], 1);
    assert_eq!(status["admin_keys"], 0);
    assert_eq!(status["rejections"], 0);
    let keys = db.json(&["keys", "list"]);
    assert_eq!(keys[0]["name"], "demo");
    assert_eq!(keys[0]["kind"], "write");
    let attrs = db.json(&["attrs", "list"]);
    assert!(
        attrs
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "plan")
    );
    // The migrated file takes new rejections.
    let key = db.create_key();
    ingest(&db, &key, "nonsense\n");
    assert_eq!(
        db.json(&["rejections", "list"]).as_array().unwrap().len(),
        1
    );
}

#[test]
fn ingest_keeps_rejected_and_skipped_events_and_the_rejects_file_still_works() {
    let db = Db::new();
    let rejects = db.dir.path().join("rejects.ndjson");
    let input = db.dir.path().join("in.ndjson");
    std::fs::write(&input, STREAM).unwrap();
    let out = run(
        &db,
        &[
            "ingest",
            "--api-key",
            &db.key,
            "--rejects",
            rejects.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let file = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(file.lines().count(), 3, "{file}");

    let kept = db.json(&["rejections", "list"]);
    let kept = kept.as_array().unwrap();
    assert_eq!(kept.len(), 4, "three rejected, one skipped: {kept:?}");
    let first = &kept[0];
    for key in [
        "id",
        "received_at",
        "source",
        "line",
        "item",
        "reason",
        "raw",
    ] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
    assert_eq!(first["source"], input.to_str().unwrap());
    assert_eq!(first["line"], 2);
    assert_eq!(first["item"], Value::Null);
    assert_eq!(
        first["raw"],
        r#"{"type":"track","userId":"u1","messageId":"m2"}"#
    );
    assert_eq!(first["outcome"], "rejected");
    assert_eq!(kept[1]["raw"], "not json at all");
    assert_eq!(kept[2]["outcome"], "skipped");
    assert_eq!(kept[2]["line"], 4);
    assert_eq!(kept[3]["line"], 5);
    assert_eq!(kept[3]["item"], 1);
    assert_eq!(kept[3]["raw"], r#"{"type":"bogus","userId":"u2"}"#);

    let bogus = db.json(&["rejections", "list", "--reason", "BOGUS"]);
    assert_eq!(bogus.as_array().unwrap().len(), 1);
    let limited = db.json(&["rejections", "list", "--limit", "2"]);
    assert_eq!(limited.as_array().unwrap().len(), 2);
    let later = db.json(&["rejections", "list", "--since", "2999-01-01"]);
    assert_eq!(later, json!([]));
    let ndjson = db.cli(&["rejections", "list", "--ndjson"]);
    assert_eq!(ndjson.lines().count(), 4);
    let table = db.cli(&["rejections", "list"]);
    assert!(table.contains("unknown typ"), "{table}");

    let cleared = db.json(&["rejections", "clear"]);
    assert_eq!(cleared["cleared"], 4);
    assert_eq!(db.json(&["rejections", "list"]), json!([]));
}

#[test]
fn serve_keeps_the_rejections_of_authenticated_requests_only() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let big = "x".repeat(40 * 1024);
    let answer = post(
        &server,
        &db.key,
        "/v1/batch",
        &json!({"batch": [
            {"type": "identify", "userId": "u1", "traits": {"email": "a@example.com"}},
            {"type": "track", "userId": "u1"},
            {"type": "screen", "userId": "u1", "name": "Home"},
            3,
            {"type": "track", "userId": "u1", "event": "Big", "properties": {"blob": big}}
        ]}),
    );
    assert_eq!(answer.status, 400);
    // Unauthenticated: refused, and nothing is kept.
    let refused = post(
        &server,
        "uc_not_a_key",
        "/v1/batch",
        &json!({"batch": [{"type": "track", "userId": "u1"}, 3]}),
    );
    assert_eq!(refused.status, 403);
    let none = request(
        server.addr,
        "POST",
        "/v1/track",
        &[("Content-Type", "application/json")],
        br#"{"userId": "u1"}"#,
    );
    assert_eq!(none.status, 403);
    let kept = db.json(&["rejections", "list"]);
    let mut kept = kept.as_array().unwrap().clone();
    kept.sort_by_key(|r| r["item"].as_u64());
    assert_eq!(kept.len(), 4, "{kept:?}");
    for r in &kept {
        assert_eq!(r["source"], "/v1/batch");
        assert_eq!(r["line"], Value::Null);
        assert_eq!(r["remote"], "127.0.0.1");
    }
    let items: Vec<u64> = kept.iter().map(|r| r["item"].as_u64().unwrap()).collect();
    assert_eq!(items, [1, 2, 3, 4]);
    assert_eq!(kept[0]["outcome"], "rejected");
    let raw: Value = serde_json::from_str(kept[0]["raw"].as_str().unwrap()).unwrap();
    assert_eq!(raw["type"], "track");
    assert_eq!(kept[1]["outcome"], "skipped");
    assert_eq!(kept[2]["raw"], "3");
    assert_eq!(kept[2]["outcome"], "rejected");
    assert!(kept[3]["reason"].as_str().unwrap().contains("32 KB"));
    assert_eq!(kept[3]["raw"].as_str().unwrap().len(), 32 * 1024);
    assert_eq!(kept[3]["raw_truncated"], true);
    server.stop();
}

#[test]
fn status_counts_what_the_database_holds() {
    let db = Db::new();
    ingest(&db, &db.key, STREAM);
    ingest(
        &db,
        &db.key,
        r#"{"type":"page","anonymousId":"anon-9","name":"Home"}"#,
    );
    db.cli(&["keys", "create", "--admin"]);
    db.cli(&["domains", "add", "example.com"]);
    let s = db.json(&["status"]);
    assert_eq!(s["users"], 3);
    assert_eq!(s["identified_users"], 2);
    assert_eq!(s["anonymous_users"], 1);
    assert_eq!(s["companies"], 1);
    assert_eq!(s["events"], 0);
    assert_eq!(s["page_views"], 2);
    assert_eq!(s["rejections"], 3);
    assert_eq!(s["skipped"], 1);
    assert_eq!(s["user_attributes"], 1);
    assert_eq!(s["write_keys"], 1);
    assert_eq!(s["admin_keys"], 1);
    assert_eq!(s["trusted_domains"], 1);
    assert_eq!(s["first_event_at"], "2026-10-01T10:05:00.000Z");
    assert!(s["last_event_at"].as_str().unwrap() > "2026-10-01");
    assert!(s["file_bytes"].as_u64().unwrap() > 0);
    assert_eq!(s["database"], db.path.to_str().unwrap());
    assert!(db.cli(&["status"]).contains("2 identified, 1 anonymous"));
}

#[test]
fn reset_keeps_keys_domains_and_definitions_and_a_replay_applies_again() {
    let db = Db::new();
    db.cli(&["domains", "add", "example.com"]);
    db.cli(&["attrs", "define", "score", "--type", "number"]);
    let first = ingest(&db, &db.key, STREAM);
    assert_eq!(first["applied"], 4);
    assert_eq!(ingest(&db, &db.key, STREAM)["duplicates"], 4);
    db.cli_code(&["reset"], 2);
    assert_eq!(
        db.json(&["status"])["users"],
        2,
        "nothing deleted without --yes"
    );
    let reset = db.json(&["reset", "--yes"]);
    assert_eq!(reset["deleted"]["users"], 2);
    assert_eq!(reset["deleted"]["message_keys"], 4);
    let s = db.json(&["status"]);
    for key in [
        "users",
        "companies",
        "events",
        "page_views",
        "rejections",
        "skipped",
    ] {
        assert_eq!(s[key], 0, "{key}");
    }
    assert_eq!(s["write_keys"], 1);
    assert_eq!(s["trusted_domains"], 1);
    let attrs = db.json(&["attrs", "list"]);
    assert!(
        attrs
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "score")
    );
    assert_eq!(db.messages(), 0);
    let replay = ingest(&db, &db.key, STREAM);
    assert_eq!(replay["applied"], 4, "{replay}");
    assert_eq!(db.user("u1")["email"], "ada@example.com");
}

#[test]
fn a_running_server_applies_a_replay_after_a_reset() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let event =
        json!({"userId": "u1", "messageId": "same-1", "traits": {"email": "a@example.com"}});
    post(&server, &db.key, "/v1/identify", &event).assert_ok();
    db.json(&["reset", "--yes"]);
    assert_eq!(db.json(&["status"])["users"], 0);
    post(&server, &db.key, "/v1/identify", &event).assert_ok();
    assert_eq!(db.json(&["status"])["users"], 1);
    assert_eq!(db.user("u1")["email"], "a@example.com");
    server.stop();
}

trait UserOf {
    fn user(&self, id: &str) -> Value;
}

impl UserOf for Db {
    fn user(&self, id: &str) -> Value {
        self.json(&["users", "show", id])
    }
}

#[test]
fn expect_waits_for_events_sent_while_it_waits() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let addr = server.addr;
    let key = db.key.clone();
    let started = Instant::now();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        let body = json!({"batch": [
            {"type": "identify", "userId": "u1", "traits": {"email": "ada@example.com", "plan": "pro", "seats": 42}},
            {"type": "page", "userId": "u1", "name": "Home"},
            {"type": "track", "userId": "u1", "event": "Order Completed"},
            {"type": "group", "userId": "u1", "groupId": "acme", "traits": {"name": "Acme"}}
        ]});
        let auth = support::basic(&key);
        let answer = request(
            addr,
            "POST",
            "/v1/batch",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        );
        assert_eq!(answer.status, 200);
    });
    let out = run(
        &db,
        &[
            "expect",
            "user",
            "u1",
            "--field",
            "email=ada@example.com",
            "--attr",
            "plan=pro",
            "--page-views",
            "1",
            "--event",
            "Order Completed",
            "--in-company",
            "acme",
            "--within",
            "20s",
            "--json",
        ],
        None,
    );
    sender.join().unwrap();
    let verdict: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{verdict}");
    assert_eq!(verdict["holds"], true);
    assert_eq!(verdict["user"], "u1");
    assert_eq!(verdict["checks"].as_array().unwrap().len(), 6);
    assert!(verdict["waited_ms"].as_u64().unwrap() >= 500, "{verdict}");
    assert!(started.elapsed() < Duration::from_secs(20));
    server.stop();
}

#[test]
fn expect_fails_with_a_readable_difference() {
    let db = Db::new();
    ingest(&db, &db.key, STREAM);
    let out = run(
        &db,
        &[
            "expect",
            "user",
            "u1",
            "--field",
            "email=grace@example.com",
            "--page-views",
            "1",
            "--event",
            "Order Completed:2",
            "--within",
            "300ms",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("2 of 4 checks do not hold"), "{text}");
    let email = text.lines().find(|l| l.contains("fields.email")).unwrap();
    assert!(email.contains("\"grace@example.com\"") && email.contains("\"ada@example.com\""));
    assert!(email.contains("DIFFERS"));
    let pages = text.lines().find(|l| l.contains("page_views")).unwrap();
    assert!(pages.contains("ok"), "{pages}");

    // Typed: a number attribute is not the string "42".
    db.cli(&["attrs", "define", "seats", "--type", "number"]);
    ingest(
        &db,
        &db.key,
        r#"{"type":"identify","userId":"u3","traits":{"seats":42}}"#,
    );
    let out = run(
        &db,
        &[
            "expect", "user", "u3", "--attr", "seats=42", "--within", "0",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let body = json!({"user": "u3", "attributes": {"seats": "42"}, "within": "0s"});
    let e = usercom::api::expect::Expectation::parse(&body).unwrap();
    let store = usercom::store::Store::open(&db.path).unwrap();
    let verdict = usercom::api::expect::wait(&store, &e).unwrap();
    assert!(!verdict.holds);
    assert_eq!(verdict.differences[0].actual, json!(42));

    // A company, and one that does not exist.
    let out = run(
        &db,
        &[
            "expect",
            "company",
            "acme",
            "--members",
            "1",
            "--field",
            "employees=12",
            "--within",
            "0",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let out = run(
        &db,
        &["expect", "company", "nope", "--within", "0", "--json"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let verdict: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["differences"][0]["actual"], "no such company");
    // Checks that do not apply are usage errors.
    let out = run(&db, &["expect", "user", "u1", "--field", "plan=pro"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_query_layer_gives_the_cli_json_items_with_totals_and_offsets() {
    let db = Db::new();
    ingest(&db, &db.key, STREAM);
    ingest(
        &db,
        &db.key,
        r#"{"type":"identify","userId":"u3","traits":{"plan":"free"}}"#,
    );
    let cli = db.json(&["users", "list", "--sort", "user_id:desc"]);
    let store = usercom::store::Store::open(&db.path).unwrap();
    let filter = usercom::api::users::UserFilter {
        sort: Some("user_id:desc".into()),
        ..Default::default()
    };
    let checked = usercom::api::users::user_query(&store, &filter, chrono::Utc::now()).unwrap();
    let window = usercom::api::Window {
        limit: Some(2),
        offset: 1,
    };
    let page = usercom::api::page(&store, &checked.query, window).unwrap();
    let page = serde_json::to_value(&page).unwrap();
    assert_eq!(page["total"], 3);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["offset"], 1);
    assert_eq!(page["items"], json!(cli.as_array().unwrap()[1..3]));
    let cli_page = db.json(&[
        "users",
        "list",
        "--sort",
        "user_id:desc",
        "--limit",
        "2",
        "--offset",
        "1",
    ]);
    assert_eq!(page["items"], cli_page);

    let cli = db.json(&["companies", "list"]);
    let query =
        usercom::api::companies::company_query(&store, &Default::default(), chrono::Utc::now())
            .unwrap();
    let page = usercom::api::page(&store, &query, Default::default()).unwrap();
    assert_eq!(serde_json::to_value(&page.items).unwrap(), cli);

    let cli = db.json(&["rejections", "list"]);
    let query =
        usercom::api::rejections::rejection_query(&Default::default(), chrono::Utc::now()).unwrap();
    let page = usercom::api::page(&store, &query, Default::default()).unwrap();
    assert_eq!(serde_json::to_value(&page.items).unwrap(), cli);
    assert_eq!(page.total, 4);

    let filter = usercom::api::history::HistoryFilter {
        user: Some("u1".into()),
        ..Default::default()
    };
    let query = usercom::api::history::history_query(&store, &filter, chrono::Utc::now()).unwrap();
    let pages_query = usercom::api::history::Pages(query);
    let pages = usercom::api::page(&store, &pages_query, Default::default()).unwrap();
    assert_eq!(pages.total, 1);
    assert_eq!(
        serde_json::to_value(&pages.items).unwrap(),
        db.json(&["pages", "list", "--user", "u1"])
    );
    let window = usercom::api::Window {
        limit: None,
        offset: 1,
    };
    let none = usercom::api::page(&store, &pages_query, window).unwrap();
    assert_eq!((none.total, none.items.len()), (1, 0));
    let by = usercom::api::history::bucket("path", &usercom::api::history::PAGE_BUCKETS).unwrap();
    let stats = usercom::api::history::stats(&store, true, by, &Default::default()).unwrap();
    assert_eq!(
        serde_json::to_value(&stats).unwrap(),
        db.json(&["pages", "stats", "--by", "path"])
    );
    assert!(usercom::api::history::bucket("url", &usercom::api::history::EVENT_BUCKETS).is_err());

    // CSV into a buffer (what an HTTP answer gets) is what the CLI prints.
    let mut buffer = Vec::new();
    usercom::api::users::write(
        &store,
        &checked.query,
        usercom::output::Format::Csv,
        Box::new(&mut buffer),
    )
    .unwrap();
    let csv = db.cli(&["users", "list", "--sort", "user_id:desc", "--csv"]);
    assert_eq!(String::from_utf8(buffer).unwrap(), csv);
}
