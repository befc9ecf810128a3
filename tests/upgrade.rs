//! A database written by an earlier release opens with this build, keeps its data and
//! takes new events (tests/data/README.md says how the file was made).

mod common;

use std::path::Path;

use common::{Env, fixture};
use serde_json::{Value, json};

/// A fresh copy of the schema-3 database in a temporary directory.
fn v3() -> Env {
    let env = Env::new();
    let original = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/usercom-v3.db");
    std::fs::copy(&original, &env.db).expect("tests/data/usercom-v3.db is in the repository");
    env
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
