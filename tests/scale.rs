//! Ingest at scale: replays, order independence, crash safety, concurrent writers,
//! the rejects file, hostile input.

mod common;

use std::process::Stdio;

use common::{Env, fixture, ingest_then_kill, ingest_with_then_kill, state, synthetic_events};
use serde_json::Value;
use usercom::ingest::{CacheLimits, IngestOptions, Ingestor, Input, Quiet};
use usercom::store::Store;

fn count(env: &Env, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn twice_or_overlapping_gives_the_state_of_once() {
    let events = synthetic_events(3000, 200, 1);
    let lines: Vec<&str> = events.lines().collect();
    let once = Env::new();
    let key = once.key();
    let all = once.write("all.ndjson", &events);
    let (code, _) = once.ingest(&key, &[&all]);
    assert_eq!(code, 0);

    let replayed = Env::new();
    let key = replayed.key();
    let first = replayed.write("first.ndjson", &(lines[..2000].join("\n") + "\n"));
    let second = replayed.write("second.ndjson", &(lines[1000..].join("\n") + "\n"));
    replayed.ingest(&key, &[&first]);
    let (_, s) = replayed.ingest(&key, &[&second]);
    assert_eq!(s["duplicates"], 1000);
    let all = replayed.write("all.ndjson", &events);
    let (_, s) = replayed.ingest(&key, &[&all]);
    assert_eq!(s["duplicates"], 3000);
    assert_eq!(s["applied"], 0);
    assert_eq!(state(&once), state(&replayed));
}

#[test]
fn shuffled_fixture_stream_gives_the_same_users_and_companies() {
    let text = std::fs::read_to_string(fixture("sample.ndjson")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let original = Env::new();
    let key = original.key();
    original.ingest(&key, &[&fixture("sample.ndjson")]);

    // A deterministic shuffle (Fisher-Yates with a fixed LCG).
    let mut seed: u64 = 12345;
    for i in (1..lines.len()).rev() {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        lines.swap(i, (seed >> 33) as usize % (i + 1));
    }
    let shuffled = Env::new();
    let key = shuffled.key();
    let file = shuffled.write("shuffled.ndjson", &(lines.join("\n") + "\n"));
    shuffled.ingest(&key, &[&file]);
    for what in ["users", "companies"] {
        let (_, a) = original.json(&[what, "list"]);
        let (_, b) = shuffled.json(&[what, "list"]);
        assert!(a.as_array().unwrap().len() > 1);
        assert_eq!(a, b, "{what} list differs after shuffling");
    }
}

#[test]
fn shuffled_synthetic_stream_gives_the_same_state() {
    let events = synthetic_events(4000, 150, 7);
    let mut lines: Vec<&str> = events.lines().collect();
    let a = Env::new();
    let key = a.key();
    a.ingest(&key, &[&a.write("a.ndjson", &events)]);
    lines.reverse();
    let b = Env::new();
    let key = b.key();
    b.ingest(&key, &[&b.write("b.ndjson", &(lines.join("\n") + "\n"))]);
    assert_eq!(state(&a), state(&b));
}

/// A new database with a write key, and `events` written to e.ndjson beside it.
fn with_events(events: &str) -> (Env, String, std::path::PathBuf) {
    let env = Env::new();
    let key = env.key();
    let file = env.write("e.ndjson", events);
    (env, key, file)
}

/// `usercom ingest --quiet --json FILE` with `options`, which must succeed.
fn ingest_with(env: &Env, key: &str, file: &std::path::Path, options: &[&str]) {
    let out = env
        .cmd()
        .args(["ingest", "--quiet", "--json", "--api-key", key])
        .args(options)
        .arg(file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{options:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn index_names(env: &Env) -> Vec<String> {
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[test]
fn a_load_that_defers_indexes_ends_with_every_index_and_the_same_state() {
    let events = synthetic_events(5000, 300, 11);
    let mut states = Vec::new();
    let mut indexes = Vec::new();
    for when in ["never", "always", "auto"] {
        let (env, key, file) = with_events(&events);
        ingest_with(&env, &key, &file, &["--defer-indexes", when]);
        let (_, status) = env.json(&["status"]);
        assert_eq!(status["deferred_indexes"], serde_json::json!([]), "{when}");
        indexes.push(index_names(&env));
        states.push(state(&env));
    }
    assert!(
        indexes[0].iter().any(|n| n == "provenance_owner"),
        "{:?}",
        indexes[0]
    );
    assert_eq!(indexes[0], indexes[1]);
    assert_eq!(indexes[0], indexes[2]);
    assert_eq!(states[0], states[1]);
    assert_eq!(states[0], states[2]);
}

#[test]
fn a_load_killed_with_its_indexes_deferred_says_so_and_the_rerun_builds_them() {
    let events = synthetic_events(40_000, 500, 5);
    let (clean, key, file) = with_events(&events);
    assert_eq!(clean.ingest(&key, &[&file]).0, 0);

    let (crashed, key, file) = with_events(&events);
    let applied = ingest_with_then_kill(
        &crashed,
        &key,
        &file,
        500,
        1000,
        &["--defer-indexes", "always"],
    );
    assert!(applied >= 1000, "the ingest never committed");
    assert!(
        count(&crashed, "SELECT count(*) FROM message_keys") < 40_000,
        "killed too late"
    );
    // The file says which indexes are missing, and every query still answers.
    let (code, status) = crashed.json(&["status"]);
    assert_eq!(code, 0);
    let deferred = status["deferred_indexes"].as_array().unwrap().clone();
    assert!(deferred.iter().any(|n| n == "provenance_owner"), "{status}");
    assert!(
        !index_names(&crashed)
            .iter()
            .any(|n| n == "provenance_owner")
    );
    let (code, _) = crashed.json(&["users", "list", "--seen-since", "2000-01-01"]);
    assert_eq!(code, 0);

    // The rerun (keeping its indexes up to date) builds them at its end.
    ingest_with(&crashed, &key, &file, &["--defer-indexes", "never"]);
    let (_, status) = crashed.json(&["status"]);
    assert_eq!(status["deferred_indexes"], serde_json::json!([]));
    assert_eq!(index_names(&crashed), index_names(&clean));
    assert_eq!(state(&crashed), state(&clean));
}

#[test]
fn killed_mid_file_leaves_whole_events_and_a_rerun_completes_it() {
    let events = synthetic_events(40_000, 500, 3);
    let (clean, key, file) = with_events(&events);
    assert_eq!(clean.ingest(&key, &[&file]).0, 0);

    let (crashed, key, file) = with_events(&events);
    let applied = ingest_then_kill(&crashed, &key, &file, 500, 1000);
    assert!(applied >= 1000, "the ingest never committed");

    let integrity: String = rusqlite::Connection::open(&crashed.db)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let messages = count(&crashed, "SELECT count(*) FROM message_keys");
    assert!(messages < 40_000, "killed before the end ({messages})");
    assert_eq!(messages % 500, 0, "whole batches of whole events only");
    // Every remembered track/page has its row: nothing half applied.
    let histories = count(
        &crashed,
        "SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM pages)",
    );
    let expected: i64 = events
        .lines()
        .take(messages as usize)
        .filter(|l| l.contains("\"type\":\"track\"") || l.contains("\"type\":\"page\""))
        .count() as i64;
    assert_eq!(histories, expected);

    // The rerun starts where the last commit left the file (its checkpoint).
    let (code, s) = crashed.ingest(&key, &[&file]);
    assert_eq!(code, 0);
    // Said in full if it fails: whether the rerun started before the last commit's
    // position (its checkpoint) or took events twice.
    let checkpoint: String = rusqlite::Connection::open(&crashed.db)
        .unwrap()
        .query_row(
            "SELECT group_concat(offset || ' line ' || line || ' complete ' || complete, '; ') \
             FROM ingest_checkpoints",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        s["duplicates"], 0,
        "killed after {messages} events; checkpoints now: {checkpoint}; rerun: {s}"
    );
    assert_eq!(s["received"].as_i64().unwrap(), 40_000 - messages);
    assert!(s["files"][0]["resumed_at"].as_u64().unwrap() > 0);
    assert_eq!(state(&clean), state(&crashed));
}

#[test]
fn two_writers_at_once_both_finish_with_everything_applied() {
    let a = synthetic_events(6000, 300, 11);
    let b = synthetic_events(6000, 300, 12);
    let sequential = Env::new();
    let key = sequential.key();
    let fa = sequential.write("a.ndjson", &a);
    let fb = sequential.write("b.ndjson", &b);
    sequential.ingest(&key, &[&fa, &fb]);

    let concurrent = Env::new();
    let key = concurrent.key();
    let fa = concurrent.write("a.ndjson", &a);
    let fb = concurrent.write("b.ndjson", &b);
    let spawn = |file: &std::path::Path| {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("usercom"))
            .arg("--db")
            .arg(&concurrent.db)
            .args([
                "ingest",
                "--quiet",
                "--batch-size",
                "200",
                "--api-key",
                &key,
            ])
            .arg(file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (pa, pb) = (spawn(&fa), spawn(&fb));
    for p in [pa, pb] {
        let out = p.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("locked"), "{stderr}");
    }
    assert_eq!(state(&sequential), state(&concurrent));
}

#[test]
fn rejects_file_holds_every_rejected_line_verbatim() {
    let env = Env::new();
    let key = env.key();
    let bad = ["not json", "{\"type\":\"track\",\"userId\":\"u\"}", "[1,2]"];
    let file = env.write(
        "in.ndjson",
        &format!(
            "{}\n{{\"type\":\"identify\",\"userId\":\"u\"}}\n{}\n{}\n",
            bad[0], bad[1], bad[2]
        ),
    );
    let rejects = env.dir.path().join("rejects.ndjson");
    let out = env
        .cmd()
        .args(["ingest", "--api-key", &key, "--rejects"])
        .arg(&rejects)
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&rejects).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 4, "[1,2] is two rejected items: {text}");
    assert_eq!(records[0]["raw"], bad[0]);
    assert_eq!(records[0]["line"], 1);
    assert!(
        records[0]["source"]
            .as_str()
            .unwrap()
            .ends_with("in.ndjson")
    );
    assert!(
        records[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON")
    );
    assert_eq!(records[1]["raw"], bad[1]);
    assert_eq!(records[1]["line"], 3);
    assert_eq!(records[2]["raw"], "1");
    assert_eq!(records[2]["item"], 0);
    // Appends: a second run (reading the file again) adds to it.
    env.cmd()
        .args(["ingest", "--no-resume", "--api-key", &key, "--rejects"])
        .arg(&rejects)
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&rejects).unwrap().lines().count(),
        8
    );

    // Bytes that are not UTF-8 are kept exactly; an over-long line is marked.
    let odd = env.dir.path().join("odd.ndjson");
    let mut bytes = b"{\"type\":\"identify\",\"userId\":\"caf\xe9\"}\n".to_vec();
    bytes.extend_from_slice(format!("\"{}\"\n", "y".repeat(9 * 1024 * 1024)).as_bytes());
    std::fs::write(&odd, &bytes).unwrap();
    let rejects = env.dir.path().join("odd-rejects.ndjson");
    env.cmd()
        .args(["ingest", "--api-key", &key, "--rejects"])
        .arg(&rejects)
        .arg(&odd)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&rejects).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    use base64::Engine;
    let exact = base64::engine::general_purpose::STANDARD
        .decode(records[0]["raw_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(exact.len(), bytes.iter().position(|b| *b == b'\n').unwrap());
    assert_eq!(exact, bytes[..exact.len()].to_vec());
    assert_eq!(records[1]["raw_truncated"], true);
    assert_eq!(records[1]["line"], 2);
}

#[test]
fn hostile_input_gets_a_message_and_an_exit_code_never_a_panic() {
    let env = Env::new();
    let key = env.key();
    let good = "{\"type\":\"identify\",\"userId\":\"good\"}\n";

    // A 10 MB single line, between good lines.
    let huge = format!(
        "{good}{{\"type\":\"identify\",\"userId\":\"huge\",\"traits\":{{\"blob\":\"{}\"}}}}\n{good}",
        "x".repeat(10 * 1024 * 1024)
    );
    let (code, s) = env.ingest(&key, &[&env.write("huge.ndjson", &huge)]);
    assert_eq!(code, 1);
    assert!(
        s["rejections"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("longer than")
    );
    assert_eq!(s["rejections"][0]["line"], 2);
    assert_eq!(s["applied"], 1, "the good line (twice: one a duplicate)");
    let (code, _) = env.json(&["users", "show", "huge"]);
    assert_eq!(code, 1, "never a partial event");

    // Deeply nested JSON.
    let deep = format!(
        "{{\"type\":\"identify\",\"userId\":\"deep\",\"traits\":{{\"x\":{}1{}}}}}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let (code, s) = env.ingest(&key, &[&env.write("deep.ndjson", &deep)]);
    assert_eq!(code, 1);
    assert!(
        s["rejections"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("recursion"),
        "{s}"
    );

    // Invalid UTF-8 in a line.
    let mut bytes = b"{\"type\":\"identify\",\"userId\":\"bad\xff\xfe\"}\n".to_vec();
    bytes.extend_from_slice(good.as_bytes());
    let path = env.dir.path().join("latin1.ndjson");
    std::fs::write(&path, &bytes).unwrap();
    let (code, s) = env.ingest(&key, &[&path]);
    assert_eq!(code, 1);
    assert!(
        s["rejections"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("UTF-8")
    );

    // A binary file.
    let path = env.dir.path().join("image.png");
    std::fs::write(
        &path,
        [0x89, b'P', b'N', b'G', 0, 0, 0, 13, 0xff, b'\n', 1, 2, 3],
    )
    .unwrap();
    let out = env
        .cmd()
        .args(["ingest", "--api-key", &key])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("binary"));

    // An empty file.
    let (code, s) = env.ingest(&key, &[&env.write("empty.ndjson", "")]);
    assert_eq!(code, 0);
    assert_eq!(s["received"], 0);

    // An over-long line after a first line that opens no document.
    let text = format!("{{broken\n\"{}\"\n{good}", "z".repeat(9 * 1024 * 1024));
    let (code, s) = env.ingest(&key, &[&env.write("after-broken.ndjson", &text)]);
    assert_eq!(code, 1);
    assert!(
        s["rejections"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("longer than"),
        "{s}"
    );
    assert_eq!(s["rejections"][1]["line"], 2);

    // A truncated last line.
    let (code, s) = env.ingest(
        &key,
        &[&env.write("cut.ndjson", "{\"type\":\"identify\",\"userId\":\"cut\"")],
    );
    assert_eq!(code, 1);
    assert!(
        s["rejections"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON")
    );
}

#[test]
fn a_merged_visitor_is_found_again_in_later_batches() {
    let text = [
        r#"{"type":"identify","userId":"u1","messageId":"1","timestamp":"2026-10-01T00:00:00Z"}"#,
        r#"{"type":"page","anonymousId":"a1","messageId":"2","timestamp":"2026-10-01T01:00:00Z"}"#,
        r#"{"type":"identify","userId":"u1","anonymousId":"a1","messageId":"3","timestamp":"2026-10-01T02:00:00Z"}"#,
        r#"{"type":"page","anonymousId":"a1","messageId":"4","timestamp":"2026-10-01T03:00:00Z"}"#,
        r#"{"type":"page","anonymousId":"a1","messageId":"5","timestamp":"2026-10-01T04:00:00Z"}"#,
    ]
    .join("\n");
    for batch in ["1", "2", "3"] {
        let env = Env::new();
        let key = env.key();
        let out = env
            .cmd()
            .args([
                "ingest",
                "--quiet",
                "--batch-size",
                batch,
                "--api-key",
                &key,
            ])
            .write_stdin(text.clone())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (_, users) = env.json(&["users", "list"]);
        assert_eq!(
            users.as_array().unwrap().len(),
            1,
            "batch size {batch}: {users}"
        );
        assert_eq!(users[0]["page_views"], 3);
    }
}

#[test]
fn an_email_changed_in_a_later_batch_is_found_by_the_new_one() {
    let env = Env::new();
    let key = env.key();
    let text = [
        r#"{"type":"identify","userId":"u1","messageId":"1","timestamp":"2026-10-01T00:00:00Z","traits":{"email":"a@x.com"}}"#,
        r#"{"type":"page","userId":"u1","messageId":"2","timestamp":"2026-10-02T00:00:00Z"}"#,
        r#"{"type":"identify","userId":"u1","messageId":"3","timestamp":"2026-10-03T00:00:00Z","traits":{"email":"b@x.com"}}"#,
        r#"{"type":"page","userId":"u1","messageId":"4","timestamp":"2026-10-04T00:00:00Z"}"#,
    ]
    .join("\n");
    let out = env
        .cmd()
        .args(["ingest", "--quiet", "--batch-size", "1", "--api-key", &key])
        .write_stdin(text)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(env.user("b@x.com")["user_id"], "u1");
    assert_eq!(env.json(&["users", "show", "a@x.com"]).0, 1);
    assert_eq!(env.user("u1")["page_views"], 2);
}

/// Ingests a file through the library with the given cache limits and batch size.
fn ingest_with_limits(env: &Env, file: &std::path::Path, cache: CacheLimits, batch_size: usize) {
    let store = Store::open(&env.db).unwrap();
    let mut observer = Quiet;
    let options = IngestOptions {
        batch_size,
        cache,
        ..IngestOptions::default()
    };
    let mut ingestor = Ingestor::new(&store, options, &mut observer).unwrap();
    let mut input = Input::open(file).unwrap();
    ingestor.ingest_input(&mut input, &mut |_, _| {}).unwrap();
    let summary = ingestor.finish().unwrap();
    assert_eq!(summary.rejected, 0);
    assert!(summary.applied > 0);
}

#[test]
fn tiny_caches_give_the_same_state_as_large_ones() {
    // Profiles are packed, written and dropped after a few events, mid-batch and
    // across batches; anonymous visitors are merged meanwhile.
    let events = synthetic_events(3000, 120, 11);
    let roomy = Env::new();
    let key = roomy.key();
    roomy.ingest(&key, &[&roomy.write("e.ndjson", &events)]);
    let tiny = CacheLimits {
        hot_profiles: 3,
        packed_bytes: 4096,
        companies: 2,
        ids: 10,
        pending_messages: 3,
    };
    for (batch_size, reversed) in [(700, false), (1, false), (450, true)] {
        let mut lines: Vec<&str> = events.lines().collect();
        if reversed {
            lines.reverse();
        }
        let cramped = Env::new();
        let file = cramped.write("e.ndjson", &(lines.join("\n") + "\n"));
        ingest_with_limits(&cramped, &file, tiny, batch_size);
        assert_eq!(
            state(&roomy),
            state(&cramped),
            "batch size {batch_size}, reversed {reversed}"
        );
    }
}
