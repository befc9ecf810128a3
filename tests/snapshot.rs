//! `usercom snapshot` and `usercom diff`: canonical bytes whatever the ingest order,
//! differences found and named, databases never written.

mod common;

use std::path::{Path, PathBuf};

use common::{Env, fixture, synthetic_events};
use serde_json::Value;

/// The fixture's lines in a deterministic shuffled order (as tests/scale.rs does).
fn shuffled(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    let mut seed: u64 = 12345;
    for i in (1..lines.len()).rev() {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        lines.swap(i, (seed >> 33) as usize % (i + 1));
    }
    lines.join("\n") + "\n"
}

fn reversed(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.reverse();
    lines.join("\n") + "\n"
}

fn ingested(text: &str) -> Env {
    let env = Env::new();
    let key = env.key();
    let file = env.write("events.ndjson", text);
    env.ingest(&key, &[&file]);
    env
}

fn snapshot_bytes(env: &Env, extra: &[&str]) -> Vec<u8> {
    let out = env.cmd().arg("snapshot").args(extra).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `usercom diff A B` (with `extra` args); exit code, stdout, stderr.
fn diff(env: &Env, a: &Path, b: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = env
        .cmd()
        .arg("diff")
        .arg(a)
        .arg(b)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The database file and any -wal/-shm/-journal beside it, with their bytes.
fn files_of(db: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| PathBuf::from(format!("{}{suffix}", db.display())))
        .filter(|p| p.exists())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

#[test]
fn snapshot_is_byte_identical_for_a_shuffled_and_a_reversed_fixture() {
    let text = std::fs::read_to_string(fixture("sample.ndjson")).unwrap();
    let original = snapshot_bytes(&ingested(&text), &[]);
    let parsed: Value = serde_json::from_slice(&original).unwrap();
    assert!(parsed["users"].as_array().unwrap().len() > 10);
    assert!(!parsed["companies"].as_array().unwrap().is_empty());
    assert!(!String::from_utf8_lossy(&original).contains("created_at"));
    for (how, copy) in [("shuffled", shuffled(&text)), ("reversed", reversed(&text))] {
        let other = snapshot_bytes(&ingested(&copy), &[]);
        assert!(
            original == other,
            "the snapshot of the {how} fixture differs"
        );
    }
}

#[test]
fn snapshot_holds_fields_attributes_with_types_events_and_members() {
    let env = ingested(concat!(
        r#"{"type":"identify","userId":"u1","anonymousId":"a1","messageId":"m1","timestamp":"2026-10-01T00:00:00Z","traits":{"email":"u1@example.com","plan":"pro"}}"#,
        "\n",
        r#"{"type":"track","userId":"u1","event":"Order Completed","messageId":"m2","timestamp":"2026-10-02T00:00:00Z","properties":{"total":3}}"#,
        "\n",
        r#"{"type":"page","userId":"u1","messageId":"m3","timestamp":"2026-10-03T00:00:00Z","context":{"page":{"url":"https://example.com/x"}}}"#,
        "\n",
        r#"{"type":"group","userId":"u1","groupId":"g1","messageId":"m4","timestamp":"2026-10-04T00:00:00Z","traits":{"name":"Acme","employees":12,"tier":"gold"}}"#,
        "\n",
    ));
    env.cmd()
        .args([
            "attrs", "define", "tier", "--scope", "company", "--type", "string",
        ])
        .assert()
        .success();
    let out = env.dir.path().join("snap.json");
    env.cmd()
        .args(["snapshot", "--out"])
        .arg(&out)
        .assert()
        .success();
    let s: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(s["usercom_snapshot"], 1);
    let u = &s["users"][0];
    assert_eq!(u["user_id"], "u1");
    assert_eq!(u["anonymous_ids"], serde_json::json!(["a1"]));
    assert_eq!(u["fields"]["email"], "u1@example.com");
    assert_eq!(
        u["attributes"]["plan"],
        serde_json::json!({"type": "string", "value": "pro"})
    );
    assert_eq!(u["events"]["Order Completed"], 1);
    assert_eq!(u["page_views"], 1);
    assert_eq!(u["last_seen"], "2026-10-03T00:00:00.000Z");
    assert_eq!(u["companies"], serde_json::json!(["g1"]));
    let c = &s["companies"][0];
    assert_eq!(c["group_id"], "g1");
    assert_eq!(c["fields"]["employees"], 12);
    assert_eq!(c["members"], serde_json::json!(["u1"]));
    let tier = s["attribute_definitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "tier")
        .unwrap();
    assert_eq!(tier["origin"], "defined");
    // --with-times adds the profiles' time span.
    let timed: Value = serde_json::from_slice(&snapshot_bytes(&env, &["--with-times"])).unwrap();
    assert_eq!(timed["users"][0]["created_at"], "2026-10-01T00:00:00.000Z");
    assert_eq!(timed["users"][0]["updated_at"], "2026-10-04T00:00:00.000Z");
}

#[test]
fn diff_finds_one_changed_attribute_among_thousands() {
    let events = synthetic_events(9000, 2500, 3);
    let a = ingested(&events);
    let b = ingested(&events);
    // Equal states: exit 0, databases and a snapshot alike.
    let golden = a.dir.path().join("golden.json");
    a.cmd()
        .args(["snapshot", "--out"])
        .arg(&golden)
        .assert()
        .success();
    let (code, out, _) = diff(&a, &a.db, &b.db, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("hold the same state"));
    assert_eq!(diff(&a, &golden, &b.db, &[]).0, 0);

    // One attribute of one user changes (an older write would lose: this one is newer).
    let snapshot: Value = serde_json::from_slice(&std::fs::read(&golden).unwrap()).unwrap();
    let users = snapshot["users"].as_array().unwrap();
    assert!(users.len() > 2000);
    let target = users[1000..]
        .iter()
        .find(|u| u["user_id"].is_string() && u["attributes"]["plan"].is_object())
        .unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    let key = b.key();
    let change = format!(
        r#"{{"type":"identify","userId":"{target}","messageId":"change-1","timestamp":"2026-12-01T00:00:00Z","traits":{{"plan":"enterprise"}}}}"#
    );
    b.ingest_text(&key, &format!("{change}\n"));
    let (code, out, _) = diff(&a, &golden, &b.db, &["--json"]);
    assert_eq!(code, 1);
    let d: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["equal"], false);
    assert_eq!(d["users"]["only_in_a"], serde_json::json!([]));
    assert_eq!(d["users"]["only_in_b"], serde_json::json!([]));
    let changed = d["users"]["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{out}");
    assert_eq!(changed[0]["key"], target.as_str());
    let changes = changed[0]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{out}");
    assert_eq!(changes[0]["kind"], "attribute");
    assert_eq!(changes[0]["name"], "plan");
    assert_eq!(
        changes[0]["b"],
        serde_json::json!({"type": "string", "value": "enterprise"})
    );
    assert_eq!(changes[0]["a"]["type"], "string");
    assert_eq!(d["companies"]["changed"], serde_json::json!([]));

    // The text form names it, old -> new with types.
    let (code, out, _) = diff(&a, &a.db, &b.db, &[]);
    assert_eq!(code, 1);
    assert!(out.contains(&format!("user {target}:")), "{out}");
    assert!(
        out.contains(r#"attribute plan: "#) && out.contains(r#"-> "enterprise" (string)"#),
        "{out}"
    );
}

#[test]
fn diff_lists_users_on_one_side_and_definitions_that_differ() {
    let one = r#"{"type":"identify","userId":"only-a","messageId":"x1","timestamp":"2026-10-01T00:00:00Z","traits":{"score":"7"}}"#;
    let two = r#"{"type":"identify","userId":"only-b","messageId":"x2","timestamp":"2026-10-01T00:00:00Z","traits":{"score":"7"}}"#;
    let a = ingested(&format!("{one}\n"));
    let b = ingested(&format!("{two}\n"));
    b.cmd()
        .args(["attrs", "define", "score", "--type", "number"])
        .assert()
        .success();
    let (code, out, _) = diff(&a, &a.db, &b.db, &["--json"]);
    assert_eq!(code, 1);
    let d: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["users"]["only_in_a"], serde_json::json!(["only-a"]));
    assert_eq!(d["users"]["only_in_b"], serde_json::json!(["only-b"]));
    let def = &d["attribute_definitions"]["changed"][0];
    assert_eq!(def["key"], "user score");
    assert_eq!(def["changes"][0]["kind"], "type");
    assert_eq!(def["changes"][0]["a"]["value"], "string");
    assert_eq!(def["changes"][0]["b"]["value"], "number");
}

#[test]
fn snapshot_and_diff_never_write_the_database() {
    let env = ingested(&synthetic_events(500, 50, 9));
    let before = files_of(&env.db);
    assert_eq!(before.len(), 1, "a closed database is one file");
    snapshot_bytes(&env, &[]);
    let (code, _, _) = diff(&env, &env.db, &env.db, &[]);
    assert_eq!(code, 0);
    assert_eq!(files_of(&env.db), before, "no byte changed, no file added");

    // A database another connection has open, with commits still in its WAL: read
    // through the log, and neither the file nor the log changes.
    let writer = rusqlite::Connection::open(&env.db).unwrap();
    writer
        .execute_batch(
            "PRAGMA wal_autocheckpoint = 0;
             UPDATE users SET page_views = 4242 WHERE user_id = 'user-1';",
        )
        .unwrap();
    let before = files_of(&env.db);
    assert!(
        before
            .iter()
            .any(|(p, _)| p.to_string_lossy().ends_with("-wal"))
    );
    let s: Value = serde_json::from_slice(&snapshot_bytes(&env, &[])).unwrap();
    let user = s["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user_id"] == "user-1")
        .unwrap();
    assert_eq!(user["page_views"], 4242);
    let after = files_of(&env.db);
    for ((path, a), (_, b)) in before.iter().zip(&after) {
        // The -shm file is SQLite's shared lock and index memory, not data: readers
        // take their read marks in it.
        if !path.to_string_lossy().ends_with("-shm") {
            assert!(a == b, "{} changed", path.display());
        }
    }
    drop(writer);
}

#[test]
fn an_older_schema_is_read_as_it_is_and_a_newer_one_refused() {
    let mut env = Env::new();
    let old = env.dir.path().join("v3.db");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/usercom-v3.db"),
        &old,
    )
    .unwrap();
    let before = files_of(&old);
    env.db = old.clone();
    let out = env.cmd().arg("snapshot").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(s["users"].as_array().unwrap().len() > 5);
    assert!(
        s["attribute_definitions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "plan" && d["origin"] == "defined")
    );
    assert_eq!(files_of(&old), before, "the old file is not migrated");

    let newer = env.dir.path().join("newer.db");
    std::fs::copy(&old, &newer).unwrap();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    let (code, _, err) = diff(&env, &old, &newer, &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("schema version 999") && err.contains("upgrade usercom"),
        "{err}"
    );

    let text = env.write("notes.txt", "hello\n");
    let (code, _, err) = diff(&env, &old, &text, &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("neither a usercom database nor a usercom snapshot"),
        "{err}"
    );
    let missing = env.dir.path().join("missing.db");
    let (code, _, _) = diff(&env, &old, &missing, &[]);
    assert_eq!(code, 2);
    assert!(!missing.exists(), "a missing database is not created");
}

#[test]
fn an_anonymous_record_a_user_owns_is_part_of_its_owner_not_a_user() {
    let lines = [
        r#"{"type":"page","anonymousId":"visitor","messageId":"p1","timestamp":"2026-10-01T00:00:00Z"}"#,
        r#"{"type":"group","anonymousId":"visitor","groupId":"acme","messageId":"g1","timestamp":"2026-10-01T01:00:00Z"}"#,
        r#"{"type":"track","anonymousId":"visitor","event":"Viewed","messageId":"t1","timestamp":"2026-10-01T02:00:00Z"}"#,
        r#"{"type":"identify","userId":"u1","anonymousId":"visitor","messageId":"i1","timestamp":"2026-10-02T00:00:00Z"}"#,
        r#"{"type":"page","anonymousId":"loner","messageId":"p2","timestamp":"2026-10-03T00:00:00Z"}"#,
    ];
    let text = lines.join("\n") + "\n";
    let env = ingested(&text);
    let bytes = snapshot_bytes(&env, &[]);
    let s: Value = serde_json::from_slice(&bytes).unwrap();
    let users = s["users"].as_array().unwrap();
    assert_eq!(users.len(), 2, "{s:#}");
    let listed = env
        .cmd()
        .args(["users", "list", "--json"])
        .output()
        .unwrap();
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), users.len(), "{listed:#}");
    let owner = users.iter().find(|u| u["user_id"] == "u1").unwrap();
    assert_eq!(owner["anonymous_ids"], serde_json::json!(["visitor"]));
    assert_eq!(owner["companies"], serde_json::json!(["acme"]));
    assert_eq!(owner["page_views"], 1);
    assert_eq!(owner["events"]["Viewed"], 1);
    let loner = users.iter().find(|u| u["user_id"].is_null()).unwrap();
    assert_eq!(loner["anonymous_ids"], serde_json::json!(["loner"]));
    assert_eq!(s["companies"][0]["members"], serde_json::json!(["u1"]));
    // Any order gives the same bytes.
    assert_eq!(snapshot_bytes(&ingested(&reversed(&text)), &[]), bytes);
    assert_eq!(snapshot_bytes(&ingested(&shuffled(&text)), &[]), bytes);
}
