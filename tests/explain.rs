//! `users explain` and `companies explain`: each rule named with the event that applied
//! it; merges; history order; a server's requests; a database from an older release.

#[path = "e2e/support.rs"]
mod support;

use serde_json::{Value, json};
use support::{Db, Server, post};

fn ingest(db: &Db, name: &str, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let file = db.dir.path().join(name);
    std::fs::write(&file, text).unwrap();
    db.cli_code(&["ingest", "--api-key", &db.key, file.to_str().unwrap()], 0);
}

fn explain(db: &Db, what: &str, id: &str, name: Option<&str>) -> Value {
    let mut args = vec![what, "explain", id];
    args.extend(name);
    db.json(&args)
}

/// The explained field or attribute `name`.
fn value<'a>(e: &'a Value, name: &str) -> &'a Value {
    e["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("{name} not explained in {e:#}"))
}

/// (rule, outcome, value, messageId) of each history entry, newest first.
fn history(v: &Value) -> Vec<(String, String, Value, String)> {
    v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["rule"].as_str().unwrap().to_string(),
                h["outcome"].as_str().unwrap().to_string(),
                h["value"].clone(),
                h["event"]["message_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn identify(id: &str, mid: &str, ts: &str, traits: Value) -> Value {
    json!({"type": "identify", "userId": id, "messageId": mid, "timestamp": ts, "traits": traits})
}

#[test]
fn each_rule_is_named_with_its_event() {
    let db = Db::new();
    db.cli(&["attrs", "define", "score", "--type", "number"]);
    ingest(
        &db,
        "events.ndjson",
        &[
            identify(
                "u1",
                "m1",
                "2026-10-01T00:00:00Z",
                json!({"email": "ada@example.com", "name": "Ada Lovelace", "plan": "free",
                       "score": "12", "nickname": "ada"}),
            ),
            json!({"type": "page", "userId": "u1", "messageId": "m2", "timestamp": "2026-10-02T00:00:00Z",
                   "context": {"ip": "203.0.113.9", "page": {"url": "https://example.com/pricing"}}}),
            identify(
                "u1",
                "m3",
                "2026-10-03T00:00:00Z",
                json!({"score": "lots", "nickname": null}),
            ),
            // Older than m1: loses.
            identify(
                "u1",
                "m4",
                "2026-09-01T00:00:00Z",
                json!({"email": "old@example.com"}),
            ),
            json!({"type": "identify", "userId": "u1", "messageId": "m5", "timestamp": "2026-10-04T00:00:00Z",
                   "traits": {"vip_users": true},
                   "context": {"personas": {"computation_class": "audience", "computation_key": "vip_users"}}}),
        ],
    );
    let e = explain(&db, "users", "u1", None);
    assert_eq!(e["kind"], "user");
    assert_eq!(e["id"], "u1");

    let email = value(&e, "email");
    assert_eq!(email["value"], "ada@example.com");
    assert_eq!(email["type"], "string");
    assert_eq!(
        history(email),
        [
            (
                "mapped_trait".into(),
                "applied".into(),
                json!("ada@example.com"),
                "m1".into()
            ),
            (
                "mapped_trait".into(),
                "lost_to_newer".into(),
                json!("old@example.com"),
                "m4".into()
            ),
        ]
    );
    let entry = &email["history"][0];
    assert_eq!(entry["event"]["type"], "identify");
    assert_eq!(entry["event"]["time"], "2026-10-01T00:00:00.000Z");
    assert!(
        entry["event"]["source"]
            .as_str()
            .unwrap()
            .ends_with("events.ndjson")
    );
    assert_eq!(entry["event"]["line"], 1);
    assert_eq!(email["history"][1]["event"]["line"], 4);

    for (field, name) in [("first_name", "Ada"), ("last_name", "Lovelace")] {
        assert_eq!(history(value(&e, field))[0].0, "name_split", "{field}");
        assert_eq!(history(value(&e, field))[0].2, name);
    }
    assert_eq!(history(value(&e, "ip_address"))[0].0, "context_field");
    assert_eq!(history(value(&e, "current_url"))[0].3, "m2");
    assert_eq!(history(value(&e, "plan"))[0].0, "auto_created_string");

    let score = value(&e, "score");
    assert_eq!(score["value"], 12);
    assert_eq!(score["type"], "number");
    let h = &score["history"];
    assert_eq!(h[0]["rule"], "unconvertible");
    assert_eq!(h[0]["outcome"], "ignored");
    assert_eq!(h[0]["value"], "lots");
    assert!(
        h[0]["rule_text"].as_str().unwrap().contains("number"),
        "{h}"
    );
    assert_eq!(h[1]["rule"], "converted");
    assert_eq!(
        h[1]["rule_text"],
        "converted to the defined type (from string)"
    );
    assert_eq!(h[1]["value"], 12);

    let nickname = value(&e, "nickname");
    assert_eq!(nickname["value"], Value::Null);
    assert_eq!(history(nickname)[0].0, "cleared_by_null");
    assert_eq!(history(nickname)[0].3, "m3");

    let vip = value(&e, "vip_users");
    assert_eq!(vip["type"], "boolean");
    assert_eq!(history(vip)[0].0, "audience_boolean");
    assert_eq!(vip["value"], true);

    // One value, as text: the rule and the event are named.
    let text = db.cli(&["users", "explain", "u1", "email"]);
    assert!(
        text.contains("email = \"ada@example.com\" (string)"),
        "{text}"
    );
    assert!(text.contains("mapped trait"), "{text}");
    assert!(text.contains("lost to a newer write"), "{text}");
    assert!(text.contains("identify m4"), "{text}");
    assert!(!text.contains("plan"), "{text}");
    db.cli_code(&["users", "explain", "u1", "no_such_thing"], 1);
    db.cli_code(&["users", "explain", "nobody"], 1);
}

#[test]
fn a_merged_anonymous_visitor_shows_the_merge() {
    let db = Db::new();
    ingest(
        &db,
        "visit.ndjson",
        &[
            identify(
                "u9",
                "k1",
                "2026-10-01T00:00:00Z",
                json!({"email": "u9@example.com"}),
            ),
            json!({"type": "page", "anonymousId": "visitor-1", "messageId": "k2",
                   "timestamp": "2026-10-02T00:00:00Z",
                   "context": {"page": {"url": "https://example.com/landing"}}}),
            json!({"type": "identify", "userId": "u9", "anonymousId": "visitor-1", "messageId": "k3",
                   "timestamp": "2026-10-03T00:00:00Z", "traits": {"plan": "pro"}}),
        ],
    );
    let e = explain(&db, "users", "u9", None);
    let merges = e["merges"].as_array().unwrap();
    assert_eq!(merges.len(), 1, "{e:#}");
    assert_eq!(merges[0]["rule"], "merged");
    assert_eq!(merges[0]["value"], "visitor-1");
    assert_eq!(merges[0]["event"]["message_id"], "k3");
    assert_eq!(merges[0]["event"]["time"], "2026-10-03T00:00:00.000Z");
    // What the visitor did before the merge is part of the user's history.
    let url = value(&e, "current_url");
    assert_eq!(history(url)[0].3, "k2");
    let text = db.cli(&["users", "explain", "u9"]);
    assert!(text.contains("anonymous profile merged in"), "{text}");
    assert!(text.contains("visitor-1"), "{text}");

    // A visitor whose anonymous profile became the user is named too.
    ingest(
        &db,
        "claim.ndjson",
        &[
            json!({"type": "page", "anonymousId": "visitor-2", "messageId": "c1",
                   "timestamp": "2026-10-02T00:00:00Z"}),
            json!({"type": "identify", "userId": "u10", "anonymousId": "visitor-2", "messageId": "c2",
                   "timestamp": "2026-10-03T00:00:00Z"}),
        ],
    );
    let e = explain(&db, "users", "u10", None);
    assert_eq!(e["merges"][0]["rule"], "claimed");
    assert_eq!(e["merges"][0]["value"], "visitor-2");
}

#[test]
fn history_is_newest_first_and_skips_writes_of_the_value_held() {
    let db = Db::new();
    let mut lines = Vec::new();
    for day in 1..=8 {
        // Days 1..8, sent in a shuffled order.
        let plan = format!("p{day}");
        lines.push(identify(
            "u1",
            &format!("d{day}"),
            &format!("2026-10-0{day}T00:00:00Z"),
            json!({"plan": plan}),
        ));
    }
    lines.swap(0, 7);
    lines.swap(2, 5);
    ingest(&db, "plans.ndjson", &lines);
    let e = explain(&db, "users", "u1", Some("plan"));
    let plan = value(&e, "plan");
    assert_eq!(plan["value"], "p8");
    let times: Vec<&str> = plan["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["event"]["time"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first by event time");
    assert!(times.len() >= 5);
    // Replaying a write of the same value adds nothing.
    let before = plan["writes"].as_u64().unwrap();
    ingest(
        &db,
        "again.ndjson",
        &[identify(
            "u1",
            "d9",
            "2026-10-09T00:00:00Z",
            json!({"plan": "p8"}),
        )],
    );
    let e = explain(&db, "users", "u1", Some("plan"));
    assert_eq!(value(&e, "plan")["writes"].as_u64().unwrap(), before);
    // --history limits the entries shown, not the count.
    let e = db.json(&["users", "explain", "u1", "plan", "--history", "2"]);
    assert_eq!(value(&e, "plan")["history"].as_array().unwrap().len(), 2);
    assert_eq!(value(&e, "plan")["writes"].as_u64().unwrap(), before);
}

#[test]
fn companies_are_explained_and_server_requests_named() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    post(
        &server,
        &db.key,
        "/v1/group",
        &json!({"userId": "u1", "groupId": "acme", "messageId": "g1",
                "traits": {"name": "Acme", "employees": "12", "tier": "gold"},
                "timestamp": "2026-10-01T10:03:00Z"}),
    )
    .assert_ok();
    server.stop();
    let e = explain(&db, "companies", "acme", None);
    assert_eq!(e["kind"], "company");
    let employees = value(&e, "employees");
    assert_eq!(employees["value"], 12);
    assert_eq!(employees["type"], "number");
    assert_eq!(history(employees)[0].0, "mapped_trait");
    let tier = value(&e, "tier");
    assert_eq!(history(tier)[0].0, "auto_created_string");
    let event = &tier["history"][0]["event"];
    assert_eq!(event["source"], "http");
    assert_eq!(event["message_id"], "g1");
    assert!(event["received_at"].as_str().unwrap().starts_with("20"));
    db.cli_code(&["companies", "explain", "nope"], 1);
}

#[test]
fn without_provenance_nothing_is_recorded() {
    let db = Db::new();
    let file = db.dir.path().join("quiet.ndjson");
    std::fs::write(
        &file,
        format!(
            "{}\n",
            identify("u1", "q1", "2026-10-01T00:00:00Z", json!({"plan": "pro"}))
        ),
    )
    .unwrap();
    db.cli(&[
        "ingest",
        "--no-provenance",
        "--api-key",
        &db.key,
        file.to_str().unwrap(),
    ]);
    let e = explain(&db, "users", "u1", Some("plan"));
    assert_eq!(value(&e, "plan")["value"], "pro");
    assert_eq!(value(&e, "plan")["writes"], 0);
    assert!(
        db.cli(&["users", "explain", "u1"])
            .contains("no recorded writes")
    );
}

#[test]
fn a_database_from_the_earlier_release_migrates_and_explains() {
    let db = Db::new();
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/usercom-v3.db"),
        &db.path,
    )
    .unwrap();
    let before = db.json(&["users", "list"]);
    let users = before.as_array().unwrap();
    assert!(users.len() > 5);
    let some = users[0]["user_id"].as_str().unwrap().to_string();
    let version: i64 = rusqlite::Connection::open(&db.path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert!(version >= 4, "migrated to {version}");
    // Values from before keep showing, with no recorded writes; new events are recorded.
    let e = explain(&db, "users", &some, None);
    assert!(!e["values"].as_array().unwrap().is_empty());
    assert!(
        e["values"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["writes"] == 0)
    );
    let key = db.create_key();
    let file = db.dir.path().join("new.ndjson");
    std::fs::write(
        &file,
        format!(
            "{}\n",
            identify(
                &some,
                "after-upgrade",
                "2030-01-01T00:00:00Z",
                json!({"plan": "upgraded"})
            )
        ),
    )
    .unwrap();
    db.cli(&["ingest", "--api-key", &key, file.to_str().unwrap()]);
    let e = explain(&db, "users", &some, Some("plan"));
    assert_eq!(value(&e, "plan")["value"], "upgraded");
    assert_eq!(history(value(&e, "plan"))[0].3, "after-upgrade");
    assert_eq!(
        db.json(&["users", "list"]).as_array().unwrap().len(),
        users.len()
    );
}

#[test]
fn a_one_word_name_clears_the_last_name_by_the_name_split() {
    let db = Db::new();
    ingest(
        &db,
        "names.ndjson",
        &[
            identify(
                "u1",
                "n1",
                "2026-10-01T00:00:00Z",
                json!({"name": "Ada Lovelace"}),
            ),
            identify("u1", "n2", "2026-10-02T00:00:00Z", json!({"name": "Cher"})),
        ],
    );
    let e = explain(&db, "users", "u1", Some("last_name"));
    let last = value(&e, "last_name");
    assert_eq!(last["value"], Value::Null);
    assert_eq!(
        history(last),
        [
            (
                "name_split".into(),
                "applied".into(),
                Value::Null,
                "n2".into()
            ),
            (
                "name_split".into(),
                "applied".into(),
                json!("Lovelace"),
                "n1".into()
            ),
        ]
    );
}

#[test]
fn reset_forgets_provenance_so_a_new_profile_starts_clean() {
    let db = Db::new();
    ingest(
        &db,
        "before.ndjson",
        &[identify(
            "old-user",
            "r1",
            "2026-10-01T00:00:00Z",
            json!({"plan": "old"}),
        )],
    );
    db.cli(&["reset", "--yes"]);
    // A new profile may get the row id the old one had.
    ingest(
        &db,
        "after.ndjson",
        &[identify(
            "new-user",
            "r2",
            "2026-10-02T00:00:00Z",
            json!({"plan": "new"}),
        )],
    );
    let e = explain(&db, "users", "new-user", Some("plan"));
    assert_eq!(
        history(value(&e, "plan")),
        [(
            "custom_attribute".into(),
            "applied".into(),
            json!("new"),
            "r2".into()
        )]
    );
}

#[test]
fn a_record_taken_by_an_earlier_claim_moves_with_its_history_and_names_its_former_owner() {
    let db = Db::new();
    let linked = |user: &str, mid: &str, ts: &str| {
        json!({"type": "identify", "userId": user, "anonymousId": "shared", "messageId": mid,
               "timestamp": ts})
    };
    ingest(
        &db,
        "first.ndjson",
        &[
            identify(
                "u1",
                "a1",
                "2026-10-01T00:00:00Z",
                json!({"email": "u1@old.example"}),
            ),
            linked("u1", "m1", "2026-10-05T00:00:00Z"),
            // An anonymous call on the record u1 owns: its email displaces u1's own.
            json!({"type": "identify", "anonymousId": "shared", "messageId": "r1",
                   "timestamp": "2026-10-06T00:00:00Z", "traits": {"email": "anon@example.com"}}),
            // u1's own later write loses to the record's newer one, and is kept aside.
            identify(
                "u1",
                "a2",
                "2026-10-04T00:00:00Z",
                json!({"email": "u1@mid.example"}),
            ),
        ],
    );
    let e = explain(&db, "users", "u1", None);
    assert_eq!(e["merges"][0]["rule"], "merged", "{e:#}");
    assert_eq!(e["merges"][0]["event"]["message_id"], "m1");
    let email = value(&e, "email");
    assert_eq!(email["value"], "anon@example.com");
    let h = history(email);
    assert_eq!((h[0].0.as_str(), h[0].3.as_str()), ("mapped_trait", "r1"));
    assert_eq!((h[1].1.as_str(), h[1].3.as_str()), ("lost_to_newer", "a2"));

    // u2's linking event is earlier than u1's: the record (and its history) goes to u2.
    ingest(
        &db,
        "second.ndjson",
        &[linked("u2", "m2", "2026-10-03T00:00:00Z")],
    );
    let e = explain(&db, "users", "u1", None);
    assert_eq!(e["merges"], json!([]), "{e:#}");
    let email = value(&e, "email");
    assert_eq!(email["value"], "u1@mid.example", "{e:#}");
    assert!(history(email).iter().all(|h| h.3 != "r1"), "{e:#}");

    let e = explain(&db, "users", "u2", None);
    let merges = e["merges"].as_array().unwrap();
    assert_eq!(merges.len(), 1, "{e:#}");
    assert_eq!(merges[0]["rule"], "claimed");
    assert_eq!(merges[0]["value"], "shared");
    assert_eq!(merges[0]["event"]["message_id"], "m2");
    assert_eq!(
        merges[0]["rule_text"],
        "anonymous profile became this user (taken from u1)"
    );
    let email = value(&e, "email");
    assert_eq!(email["value"], "anon@example.com");
    assert_eq!(history(email)[0].3, "r1");
    let text = db.cli(&["users", "explain", "u2"]);
    assert!(text.contains("(taken from u1)"), "{text}");

    // u2's own linking event, earlier still: the claim is listed once, at that event.
    ingest(
        &db,
        "third.ndjson",
        &[linked("u2", "m3", "2026-10-02T00:00:00Z")],
    );
    let e = explain(&db, "users", "u2", None);
    let merges = e["merges"].as_array().unwrap();
    assert_eq!(merges.len(), 1, "{e:#}");
    assert_eq!(merges[0]["event"]["message_id"], "m3");
    assert_eq!(merges[0]["event"]["time"], "2026-10-02T00:00:00.000Z");
    // Explaining the anonymousId explains its owner.
    assert_eq!(explain(&db, "users", "shared", None)["id"], "u2");
}

#[test]
fn long_values_are_stored_once_per_run_and_explained_in_full() {
    let db = Db::new();
    let agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)";
    let url = "https://example.com/pricing/enterprise?utm_source=newsletter";
    let page = |anon: &str, mid: &str| {
        json!({"type": "page", "anonymousId": anon, "messageId": mid,
               "timestamp": "2026-10-02T00:00:00Z",
               "context": {"userAgent": agent, "page": {"url": url}}})
    };
    let copies = |db: &Db| -> i64 {
        rusqlite::Connection::open(&db.path)
            .unwrap()
            .query_row(
                "SELECT count(*) FROM provenance_values WHERE value = ?1",
                [serde_json::to_string(agent).unwrap()],
                |r| r.get(0),
            )
            .unwrap()
    };
    ingest(
        &db,
        "a.ndjson",
        &[page("visitor-a", "s1"), page("visitor-b", "s2")],
    );
    assert_eq!(copies(&db), 1, "stored once for two profiles");
    // A run knows the values it stored itself: the next one stores them again once.
    ingest(
        &db,
        "b.ndjson",
        &[page("visitor-c", "s3"), page("visitor-d", "s4")],
    );
    assert_eq!(copies(&db), 2);
    for visitor in ["visitor-a", "visitor-b", "visitor-c", "visitor-d"] {
        let e = explain(&db, "users", visitor, None);
        assert_eq!(value(&e, "user_agent")["value"], agent, "{e:#}");
        assert_eq!(history(value(&e, "user_agent"))[0].2, agent, "{e:#}");
        assert_eq!(history(value(&e, "current_url"))[0].2, url, "{e:#}");
    }
}
