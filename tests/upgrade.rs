//! A database written by an earlier release opens with this build, keeps its data and
//! takes new events (tests/data/README.md says how the file was made).

mod common;

use std::path::Path;

use common::{Env, fixture};
use serde_json::{Value, json};

/// A fresh copy of `tests/data/usercom-v{version}.db` in a temporary directory.
fn copy_of(version: u32) -> Env {
    let env = Env::new();
    let name = format!("tests/data/usercom-v{version}.db");
    let original = Path::new(env!("CARGO_MANIFEST_DIR")).join(&name);
    std::fs::copy(&original, &env.db).unwrap_or_else(|e| panic!("{name}: {e}"));
    env
}

fn v3() -> Env {
    copy_of(3)
}

fn schema_version(env: &Env) -> i64 {
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_schema_3_database_opens_keeps_its_data_and_takes_new_events() {
    let env = v3();
    assert_eq!(schema_version(&env), 3);
    // Its data reads as it was stored.
    let (code, count) = env.json(&["users", "list", "--count"]);
    assert_eq!(code, 0);
    assert_eq!(count["count"], 33);
    let before = env.user("user-0001");
    assert_eq!(schema_version(&env), usercom::store::SCHEMA_VERSION);
    let (_, attrs) = env.json(&["attrs", "list"]);
    assert!(
        attrs
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "plan"),
        "{attrs}"
    );
    let (_, domains) = env.json(&["domains", "list"]);
    assert!(domains.to_string().contains("example.com"), "{domains}");
    // Replaying the sample the file was made from applies nothing again.
    let key = env.key();
    let (code, summary) = env.ingest(&key, &[&fixture("sample.ndjson")]);
    assert_eq!(summary["applied"], 0, "{summary}");
    assert!(summary["duplicates"].as_u64().unwrap() >= 300, "{summary}");
    assert!(code == 0 || code == 1, "{summary}");
    assert_eq!(
        env.user("user-0001"),
        before,
        "values stored under the old rules stay"
    );
    // New events apply under today's rules.
    let line = json!({"type":"identify","userId":"user-0001","messageId":"after-upgrade",
        "timestamp":"2030-01-01T00:00:00+02","traits":{"name":"Ada"},
        "context":{"page":{"url":"https://shop.example.com/x"}}});
    let (code, summary) = env.ingest_text(&key, &format!("{line}\n"));
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["applied"], 1, "{summary}");
    let after = env.user("user-0001");
    assert_eq!(after["first_name"], "Ada");
    assert_eq!(after["last_name"], Value::Null);
    assert_eq!(after["email"], before["email"]);
    // The trusted domain still holds.
    let line = json!({"type":"page","userId":"user-0001","messageId":"evil",
        "context":{"page":{"url":"//evil.net/x"}}});
    let (code, summary) = env.ingest_text(&key, &format!("{line}\n"));
    assert_eq!(code, 1, "{summary}");
}

#[test]
fn anonymous_ids_stored_before_keep_their_user_and_new_claims_follow_the_earliest() {
    let env = v3();
    let key = env.key();
    let claim = |user: &str, anon: &str, id: &str, ts: &str| {
        json!({"type":"identify","userId":user,"anonymousId":anon,"messageId":id,"timestamp":ts})
            .to_string()
            + "\n"
    };
    // An anonymousId the old rules gave to user-0020 stays there, even against an
    // earlier-dated claim.
    let old = "cfea01ba-a8fa-402b-91b5-b087887b3048";
    let before = env.user("user-0020");
    let (code, summary) =
        env.ingest_text(&key, &claim("newcomer", old, "c0", "2000-01-01T00:00:00Z"));
    assert_eq!(code, 0, "{summary}");
    assert_eq!(env.user(old)["user_id"], "user-0020");
    assert_eq!(env.user("user-0020"), before);
    assert_eq!(env.user("newcomer")["page_views"], 0);
    // An anonymous profile stored before is claimed under today's rules: the earliest
    // claim gets its two page views, whatever arrives first.
    let anon = "9ea444c9-10f5-4eb0-b327-3e2eb7a66763";
    let (_, pages) = env.json(&["pages", "list", "--user", anon]);
    assert_eq!(pages.as_array().unwrap().len(), 2, "{pages}");
    env.ingest_text(&key, &claim("late", anon, "c1", "2030-01-02T00:00:00Z"));
    assert_eq!(env.user("late")["page_views"], 2);
    env.ingest_text(&key, &claim("early", anon, "c2", "2030-01-01T00:00:00Z"));
    assert_eq!(env.user("early")["page_views"], 2);
    assert_eq!(env.user("late")["page_views"], 0);
    assert_eq!(env.user(anon)["user_id"], "early");
    let (_, pages) = env.json(&["pages", "list", "--user", "early"]);
    assert_eq!(pages.as_array().unwrap().len(), 2, "{pages}");
    // 33 users, the newcomer, early and late; the claimed visitor is part of early.
    let (_, count) = env.json(&["users", "list", "--count"]);
    assert_eq!(count["count"], 35, "{count}");
}

#[test]
fn a_schema_9_database_opens_and_claims_move_the_history_of_its_anonymous_profiles() {
    let env = copy_of(9);
    assert_eq!(schema_version(&env), 9);
    let (_, count) = env.json(&["users", "list", "--count"]);
    assert_eq!(count["count"], 35, "{count}");
    assert_eq!(schema_version(&env), usercom::store::SCHEMA_VERSION);
    let key = env.key();
    let claim = |user: &str, anon: &str, id: &str, ts: &str| {
        json!({"type":"identify","userId":user,"anonymousId":anon,"messageId":id,"timestamp":ts})
            .to_string()
            + "\n"
    };
    // anon-v9 (a page view and an event, unclaimed when the file was written) is claimed
    // now: both follow the claim.
    let (code, summary) = env.ingest_text(
        &key,
        &claim("v9-user", "anon-v9", "c1", "2026-03-01T00:00:00Z"),
    );
    assert_eq!(code, 0, "{summary}");
    assert_eq!(env.user("v9-user")["page_views"], 1);
    let (_, pages) = env.json(&["pages", "list", "--user", "v9-user"]);
    assert_eq!(pages.as_array().unwrap().len(), 1, "{pages}");
    let (_, events) = env.json(&["events", "list", "--user", "v9-user"]);
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
    // anon-v9b was claimed by claimer-late in the file; an earlier claim takes it over,
    // page view included.
    assert_eq!(env.user("claimer-late")["page_views"], 1);
    env.ingest_text(
        &key,
        &claim("claimer-early", "anon-v9b", "c2", "2026-01-15T00:00:00Z"),
    );
    assert_eq!(env.user("claimer-early")["page_views"], 1);
    assert_eq!(env.user("claimer-late")["page_views"], 0);
    let (_, pages) = env.json(&["pages", "list", "--user", "claimer-early"]);
    assert_eq!(pages.as_array().unwrap().len(), 1, "{pages}");
}

#[test]
fn a_schema_10_database_a_killed_load_left_gets_its_indexes_built() {
    let env = copy_of(10);
    assert_eq!(schema_version(&env), 10);
    // Opened by this build: migrated, the killed load's notes kept (without a start
    // time), and the load they name is gone, so the next ingest builds them.
    let (_, status) = env.json(&["status"]);
    assert_eq!(schema_version(&env), usercom::store::SCHEMA_VERSION);
    let left = status["deferred_indexes"].as_array().unwrap().len();
    assert_eq!(left, 10, "{status}");
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let started: Option<i64> = conn
        .query_row("SELECT max(started) FROM deferred_indexes", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(started, None);
    let key = env.key();
    let track = r#"{"type":"track","event":"After","userId":"v10-user","messageId":"a1"}"#;
    let (code, summary) = env.ingest_text(&key, &format!("{track}\n"));
    assert_eq!(code, 0, "{summary}");
    let (_, status) = env.json(&["status"]);
    assert_eq!(status["deferred_indexes"], json!([]), "{status}");
    let indexes: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index'
             AND name IN ('users_email', 'events_name_user', 'provenance_owner')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(indexes, 3);
    let (_, events) = env.json(&["events", "list", "--user", "v10-user"]);
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
}
