//! Back-filling from exports as users have them: gzip files and folders of them, JSON
//! arrays and batches of any size, pretty-printed and BOM-prefixed JSON, the rejects file
//! round trip, per-file rows, checkpoints, dry runs, and a back-fill killed and rerun.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Env, ingest_then_kill, state, synthetic_events};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

fn gz(text: &str) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

fn write(path: &Path, bytes: &[u8]) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    path.to_path_buf()
}

/// `usercom ingest --json ARGS...`: exit code, summary, stderr.
fn ingest(env: &Env, key: &str, args: &[&str], stdin: Option<Vec<u8>>) -> (i32, Value, String) {
    let mut cmd = env.cmd();
    cmd.args(["ingest", "--json", "--api-key", key]).args(args);
    if let Some(bytes) = stdin {
        cmd.write_stdin(bytes);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The state after ingesting `text` as plain ndjson into a fresh database.
fn clean_state(text: &str) -> Vec<Value> {
    let env = Env::new();
    let key = env.key();
    let file = env.write("clean.ndjson", text);
    let (code, s) = env.ingest(&key, &[&file]);
    assert_eq!(code, 0, "{s}");
    state(&env)
}

fn chunks(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .chunks(lines.len().div_ceil(n))
        .map(|c| c.join("\n") + "\n")
        .collect()
}

#[test]
fn gzip_files_folders_and_stdin_give_the_state_of_the_plain_stream() {
    let events = synthetic_events(3000, 120, 11);
    let parts = chunks(&events, 6);
    let env = Env::new();
    let key = env.key();
    let export = env.dir.path().join("segment-export");
    write(&export.join("2026-10-01/part-a.gz"), &gz(&parts[0]));
    write(&export.join("2026-10-01/part-b.gz"), &gz(&parts[1]));
    // Several gzip members one after another, as `gzip` on a stream writes them.
    let half = parts[2].len() / 2;
    let cut = parts[2][..half].rfind('\n').unwrap() + 1;
    let mut members = gz(&parts[2][..cut]);
    members.extend(gz(&parts[2][cut..]));
    let c = write(&export.join("2026-10-02/part-c.gz"), &members);
    write(
        &export.join("2026-10-03/part-d.ndjson"),
        parts[3].as_bytes(),
    );
    write(&export.join(".DS_Store"), b"\0\0\0\x01Bud1");
    write(
        &export.join("README.txt"),
        b"Segment export, one folder per day\n",
    );
    write(
        &export.join("2026-10-03/manifest.csv.gz"),
        &gz("file,rows\nd,500\n"),
    );
    std::fs::create_dir_all(export.join("2026-10-04")).unwrap();
    // Gzip whatever the name, and on standard input.
    let named = write(&env.dir.path().join("events.data"), &gz(&parts[4]));
    let (code, s, stderr) = ingest(
        &env,
        &key,
        &[path_str(&export), path_str(&named), "-"],
        Some(gz(&parts[5])),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(s["received"], 3000);
    assert_eq!(s["applied"], 3000);
    let skipped: Vec<&str> = s["skipped_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["source"].as_str().unwrap())
        .collect();
    assert_eq!(skipped.len(), 4, "{skipped:?}");
    assert!(skipped.iter().any(|f| f.ends_with("2026-10-04")));
    assert!(skipped.iter().any(|f| f.ends_with(".DS_Store")));
    assert!(skipped.iter().any(|f| f.ends_with("README.txt")));
    assert!(skipped.iter().any(|f| f.ends_with("manifest.csv.gz")));
    assert!(stderr.contains("README.txt") && stderr.contains("skipped"));
    let files = s["files"].as_array().unwrap();
    let names: Vec<&str> = files
        .iter()
        .map(|f| f["source"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 6, "{names:?}");
    assert!(
        names[0].ends_with("2026-10-01/part-a.gz"),
        "name order: {names:?}"
    );
    assert!(names[2].ends_with("2026-10-02/part-c.gz"));
    assert!(names[3].ends_with("part-d.ndjson"));
    assert_eq!(names[5], "-");
    let per_file: u64 = files.iter().map(|f| f["received"].as_u64().unwrap()).sum();
    assert_eq!(per_file, 3000);
    assert_eq!(files[2]["received"], parts[2].lines().count());
    assert_eq!(files[2]["bytes"], std::fs::metadata(&c).unwrap().len());
    for key in ["applied", "duplicates", "skipped", "rejected"] {
        assert!(files[0][key].is_u64(), "{key}");
    }
    assert_eq!(state(&env), clean_state(&events));
}

#[test]
fn one_line_array_and_batch_over_8_mib_are_read_item_by_item() {
    let events = synthetic_events(36_000, 300, 5);
    let array = format!("[{}]\n", events.lines().collect::<Vec<_>>().join(","));
    assert!(array.len() > 8 << 20, "{}", array.len());
    let env = Env::new();
    let key = env.key();
    let file = env.write("array.json", &array);
    let (code, s, stderr) = ingest(&env, &key, &[path_str(&file)], None);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(s["received"], 36_000);
    assert_eq!(s["applied"], 36_000);
    assert_eq!(state(&env), clean_state(&events));

    // A batch whose envelope comes after its items: each item still gets it.
    let pad = "p".repeat(400);
    let items: Vec<String> = (0..24_000)
        .map(|i| {
            json!({"type":"identify","userId":format!("b-{i}"),"messageId":format!("b-{i}"),
                   "traits":{"note":pad}})
            .to_string()
        })
        .collect();
    let batch = format!(
        "{{\"batch\":[{}],\"sentAt\":\"2026-10-01T00:00:00Z\",\"context\":{{\"locale\":\"de-DE\"}}}}\n",
        items.join(",")
    );
    assert!(batch.len() > 8 << 20);
    let file = env.write("batch.json", &batch);
    let (code, s, stderr) = ingest(&env, &key, &[path_str(&file)], None);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(s["received"], 24_000);
    assert_eq!(s["applied"], 24_000);
    assert_eq!(env.user("b-23999")["language"], "de-DE");
    // The same as a batch small enough to hold.
    let small = env.write(
        "small.json",
        &format!(
            "{{\"batch\":[{}],\"context\":{{\"locale\":\"de-DE\"}}}}",
            json!({"type":"identify","userId":"small","messageId":"small"})
        ),
    );
    assert_eq!(env.ingest(&key, &[&small]).0, 0);
    assert_eq!(env.user("small")["language"], "de-DE");
}

/// Each event pretty-printed, as `jq .` prints an ndjson file.
fn pretty(events: &str) -> String {
    events
        .lines()
        .map(|l| serde_json::to_string_pretty(&serde_json::from_str::<Value>(l).unwrap()).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn pretty_printed_streams_bom_and_crlf_are_read_as_events() {
    let events = synthetic_events(40, 10, 3);
    let parts = chunks(&events, 4);
    let env = Env::new();
    let key = env.key();
    let jq = env.write("jq.json", &pretty(&parts[0]));
    let bom = env.dir.path().join("windows.ndjson");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(parts[1].replace('\n', "\r\n").into_bytes());
    std::fs::write(&bom, &bytes).unwrap();
    // A pretty-printed array with CRLF line ends and a BOM.
    let items: Vec<Value> = parts[2]
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let array = format!(
        "\u{feff}{}\r\n",
        serde_json::to_string_pretty(&items)
            .unwrap()
            .replace('\n', "\r\n")
    );
    let array = env.write("array.json", &array);
    let jq_gz = write(&env.dir.path().join("jq.json.gz"), &gz(&pretty(&parts[3])));
    let (code, s, stderr) = ingest(
        &env,
        &key,
        &[
            path_str(&jq),
            path_str(&bom),
            path_str(&array),
            path_str(&jq_gz),
        ],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(s["received"], 40);
    assert_eq!(s["rejected"], 0);
    for f in s["files"].as_array().unwrap() {
        assert_eq!(f["received"], 10, "{f}");
    }
    assert_eq!(state(&env), clean_state(&events));
}

#[test]
fn a_bad_item_inside_a_big_array_is_reported_and_the_rest_applied() {
    let events = synthetic_events(5000, 200, 21);
    let mut items: Vec<String> = events.lines().map(str::to_string).collect();
    // Valid JSON, not a valid event: only that item is rejected.
    items[10] = r#"{"type":"track","userId":"x","messageId":"no-event"}"#.to_string();
    // A syntax error: the items before it are applied, the rest of the array is one
    // rejection.
    items[3000] = r#"{"type":"identify","userId":}"#.to_string();
    let array = format!("[{}]\n", items.join(","));
    let broken_at = array.find(r#""userId":}"#).unwrap() + r#""userId":"#.len();
    let text = format!(
        "{array}{}\n",
        r#"{"type":"identify","userId":"after","messageId":"after"}"#
    );
    let env = Env::new();
    let key = env.key();
    let file = env.write("big.json", &text);
    let (code, s, _) = ingest(&env, &key, &[path_str(&file)], None);
    assert_eq!(code, 1);
    assert_eq!(s["received"], 3000 + 1 + 1);
    assert_eq!(s["applied"], 2999 + 1);
    assert_eq!(s["rejected"], 2);
    let r = &s["rejections"];
    assert_eq!(r[0]["item"], 10);
    assert_eq!(r[0]["line"], 1);
    assert!(r[0]["reason"].as_str().unwrap().contains("event"), "{r}");
    assert_eq!(r[1]["item"], 3000);
    assert_eq!(r[1]["offset"], broken_at);
    let reason = r[1]["reason"].as_str().unwrap();
    assert!(reason.starts_with("invalid JSON"), "{reason}");
    assert!(reason.contains("items from 3000 on"), "{reason}");
    assert_eq!(env.user("after")["user_id"], "after");
}

#[test]
fn the_rejects_file_keeps_each_rejected_event_whole_to_fix_and_replay() {
    let at = "2026-10-01T00:00:00Z";
    let good = |i: usize| json!({"type":"identify","userId":format!("r-{i}"),"messageId":format!("r-{i}"),"timestamp":at,"traits":{"plan":"pro","n":i}});
    let mut no_type = good(1);
    no_type.as_object_mut().unwrap().remove("type");
    let no_event = json!({"type":"track","userId":"r-2","messageId":"t-2","timestamp":at,"properties":{"big":"x".repeat(5000)}});
    let array = Value::Array(vec![good(0), no_type.clone(), no_event.clone(), good(3)]);
    let mut batch_bad = good(4);
    batch_bad.as_object_mut().unwrap().remove("type");
    let batch = json!({"batch": [good(5), batch_bad], "context": {"locale": "fr-FR"}});
    let text = format!("{array}\n{batch}\n");
    let env = Env::new();
    let key = env.key();
    let file = env.write("in.json", &text);
    let rejects = env.dir.path().join("rejects.ndjson");
    let (code, s, _) = ingest(
        &env,
        &key,
        &["--rejects", path_str(&rejects), path_str(&file)],
        None,
    );
    assert_eq!(code, 1);
    assert_eq!(s["rejected"], 3);
    let records: Vec<Value> = std::fs::read_to_string(&rejects)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3);
    let raw = |r: &Value| serde_json::from_str::<Value>(r["raw"].as_str().unwrap()).unwrap();
    assert_eq!(raw(&records[0]), no_type, "whole, not a preview");
    assert_eq!(records[0]["item"], 1);
    assert_eq!(raw(&records[1]), no_event);
    assert_eq!(records[2]["item"], 1);
    assert_eq!(
        raw(&records[2])["context"]["locale"],
        "fr-FR",
        "with its batch's envelope"
    );

    // Fix each and replay: the state of a clean run of the fixed input.
    let fixed: Vec<Value> = records
        .iter()
        .map(|r| {
            let mut e = raw(r);
            let o = e.as_object_mut().unwrap();
            o.entry("type").or_insert(json!("identify"));
            if o["type"] == "track" {
                o.insert("event".into(), json!("Fixed"));
            }
            e
        })
        .collect();
    let replay: String = fixed.iter().map(|e| format!("{e}\n")).collect();
    let replay_file = env.write("replay.ndjson", &replay);
    let (code, s) = env.ingest(&key, &[&replay_file]);
    assert_eq!((code, s["applied"].as_u64()), (0, Some(3)));

    let clean = Env::new();
    let ckey = clean.key();
    let mut all = vec![good(0), fixed[0].clone(), fixed[1].clone(), good(3)];
    let mut b5 = good(5);
    b5["context"] = json!({"locale": "fr-FR"});
    all.push(b5);
    all.push(fixed[2].clone());
    let all: String = all.iter().map(|e| format!("{e}\n")).collect();
    let (code, _) = clean.ingest(&ckey, &[&clean.write("all.ndjson", &all)]);
    assert_eq!(code, 0);
    assert_eq!(state(&env), state(&clean));
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_rerun_skips_files_read_before_and_reads_changed_ones_again() {
    let events = synthetic_events(900, 50, 8);
    let parts = chunks(&events, 3);
    let env = Env::new();
    let key = env.key();
    let a = env.write("a.ndjson", &parts[0]);
    let b = write(&env.dir.path().join("b.gz"), &gz(&parts[1]));
    let c = env.write("c.json", &pretty(&parts[2]));
    let args = [path_str(&a), path_str(&b), path_str(&c)];
    let (code, first, _) = ingest(&env, &key, &args, None);
    assert_eq!((code, first["applied"].as_u64()), (0, Some(900)));
    assert_eq!(
        count(
            &env.db,
            "SELECT count(*) FROM ingest_checkpoints WHERE complete"
        ),
        3
    );

    let (code, again, stderr) = ingest(&env, &key, &args, None);
    assert_eq!(code, 0);
    assert_eq!(again["received"], 0);
    for f in again["files"].as_array().unwrap() {
        assert_eq!(f["resumed_at"], f["bytes"], "{f}");
    }
    assert!(stderr.contains("--no-resume"), "{stderr}");

    // A file that changed (here: one more event) is read again; what it held before is
    // known by messageId.
    let mut more = parts[0].clone();
    more.push_str(r#"{"type":"identify","userId":"late","messageId":"late"}"#);
    more.push('\n');
    std::fs::write(&a, &more).unwrap();
    let (code, s, _) = ingest(&env, &key, &args, None);
    assert_eq!(code, 0);
    assert_eq!(s["applied"], 1);
    assert_eq!(s["duplicates"], 300);

    let (code, s, _) = ingest(
        &env,
        &key,
        &["--no-resume", args[0], args[1], args[2]],
        None,
    );
    assert_eq!(code, 0);
    assert_eq!(s["duplicates"], 901);
}

#[test]
fn killed_during_a_multi_file_backfill_then_rerun_equals_one_clean_run() {
    let events = synthetic_events(30_000, 400, 9);
    let parts = chunks(&events, 10);
    let make = |env: &Env| -> PathBuf {
        let dir = env.dir.path().join("export");
        for (i, part) in parts.iter().enumerate() {
            if i % 2 == 0 {
                write(&dir.join(format!("day-{i:02}.json.gz")), &gz(part));
            } else {
                write(&dir.join(format!("day-{i:02}.ndjson")), part.as_bytes());
            }
        }
        dir
    };
    let clean = Env::new();
    let key = clean.key();
    let dir = make(&clean);
    assert_eq!(ingest(&clean, &key, &[path_str(&dir)], None).0, 0);

    let crashed = Env::new();
    let key = crashed.key();
    let dir = make(&crashed);
    let applied = ingest_then_kill(&crashed, &key, &dir, 500, 10_000);
    assert!(applied >= 10_000, "the ingest never got far ({applied})");
    let messages = count(&crashed.db, "SELECT count(*) FROM message_keys");
    assert!(messages < 30_000, "killed before the end ({messages})");
    let done = count(
        &crashed.db,
        "SELECT count(*) FROM ingest_checkpoints WHERE complete",
    );
    assert!(
        done >= 2,
        "files read whole before the kill have checkpoints ({done})"
    );

    let (code, s, stderr) = ingest(&crashed, &key, &[path_str(&dir)], None);
    assert_eq!(code, 0, "{stderr}");
    let received = s["received"].as_i64().unwrap();
    assert!(received < 30_000, "checkpointed files are not read again");
    assert!(received >= 30_000 - messages);
    let resumed = s["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["resumed_at"].is_u64())
        .count();
    assert!(resumed as i64 >= done);
    assert_eq!(state(&clean), state(&crashed));
    assert_eq!(
        count(
            &crashed.db,
            "SELECT count(*) FROM ingest_checkpoints WHERE complete"
        ),
        10
    );
}

fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn a_dry_run_says_what_would_change_and_writes_nothing() {
    let env = Env::new();
    let key = env.key();
    let before = env.write(
        "before.ndjson",
        &[
            json!({"type":"identify","userId":"old","messageId":"o1","traits":{"plan":"free","email":"old@example.com"}}),
            json!({"type":"group","userId":"old","groupId":"acme","messageId":"o2","traits":{"name":"Acme"}}),
        ]
        .iter()
        .map(|e| format!("{e}\n"))
        .collect::<String>(),
    );
    assert_eq!(env.ingest(&key, &[&before]).0, 0);
    let next = [
        json!({"type":"identify","userId":"old","messageId":"n1","traits":{"plan":"pro"}}),
        json!({"type":"identify","userId":"new","messageId":"n2","traits":{"plan":"free","seats":3}}),
        json!({"type":"track","userId":"new","event":"Signed Up","messageId":"n3"}),
        json!({"type":"page","userId":"new","messageId":"n4"}),
        json!({"type":"group","userId":"new","groupId":"beta","messageId":"n5"}),
    ]
    .iter()
    .map(|e| format!("{e}\n"))
    .collect::<String>();
    let next = write(&env.dir.path().join("next.json.gz"), &gz(&next));
    let db_bytes = file_bytes(&env.db);
    let (code, s, stderr) = ingest(&env, &key, &["--dry-run", path_str(&next)], None);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        file_bytes(&env.db),
        db_bytes,
        "the database is byte-identical"
    );
    assert_eq!(s["dry_run"], true);
    assert_eq!(s["applied"], 5);
    let w = &s["would_change"];
    assert_eq!(w["users"]["created"], 1);
    assert_eq!(w["users"]["changed"], 1, "{w}");
    assert_eq!(w["users"]["attributes"]["plan"], 1, "{w}");
    assert_eq!(w["companies"]["created"], 1);
    assert_eq!(w["events_added"], 1);
    assert_eq!(w["page_views_added"], 1);
    let created: Vec<&str> = w["attributes_created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(created.contains(&"seats"), "{created:?}");
    assert!(!created.contains(&"plan"), "it existed: {created:?}");
    assert_eq!(env.json(&["users", "show", "new"]).0, 1, "nothing applied");
    // Text output says it in words.
    let out = env
        .cmd()
        .args(["ingest", "--dry-run", "--api-key", &key])
        .arg(&next)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("nothing was written") && text.contains("1 created"),
        "{text}"
    );
    assert_eq!(file_bytes(&env.db), db_bytes);

    // The real run then does what the dry run said.
    let (code, real, _) = ingest(&env, &key, &[path_str(&next)], None);
    assert_eq!(code, 0);
    assert_eq!(real["applied"], 5);
    assert_eq!(env.user("old")["attributes"]["plan"], "pro");
}

#[test]
fn a_dry_run_blocks_no_writer_and_refuses_a_database_to_migrate() {
    let env = Env::new();
    let key = env.key();
    // A dry run waiting on its input (standard input left open).
    let mut dry = std::process::Command::new(assert_cmd::cargo::cargo_bin("usercom"))
        .arg("--db")
        .arg(&env.db)
        .args([
            "ingest",
            "--dry-run",
            "--json",
            "--quiet",
            "--api-key",
            &key,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = dry.stdin.take().unwrap();
    input
        .write_all(b"{\"type\":\"identify\",\"userId\":\"dry\",\"messageId\":\"d1\"}\n")
        .unwrap();
    input.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let file = env.write(
        "real.ndjson",
        "{\"type\":\"identify\",\"userId\":\"real\",\"messageId\":\"r1\"}\n",
    );
    assert_eq!(env.ingest(&key, &[&file]).0, 0);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the writer was not blocked"
    );
    drop(input);
    let out = dry.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["would_change"]["users"]["created"], 1);
    assert_eq!(env.user("real")["user_id"], "real");
    assert_eq!(env.json(&["users", "show", "dry"]).0, 1);

    // A file from an older release is not migrated by a dry run.
    let old = Env::new();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/usercom-v3.db"),
        &old.db,
    )
    .unwrap();
    let bytes = file_bytes(&old.db);
    let out = old
        .cmd()
        .args(["ingest", "--dry-run", "--api-key", "uc_whatever", "-"])
        .write_stdin("{}\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("schema version 3"), "{stderr}");
    assert_eq!(file_bytes(&old.db), bytes);
}

#[test]
fn a_version_3_database_gets_the_checkpoint_table_and_keeps_its_data() {
    let env = Env::new();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/usercom-v3.db"),
        &env.db,
    )
    .unwrap();
    let users = count(&env.db, "SELECT count(*) FROM users");
    let events = count(&env.db, "SELECT count(*) FROM events");
    assert!(users > 0 && events > 0);
    let key = env.key();
    assert_eq!(
        count(&env.db, "PRAGMA user_version"),
        usercom::store::SCHEMA_VERSION
    );
    let (code, list) = env.json(&["users", "list"]);
    assert_eq!(code, 0);
    assert_eq!(list.as_array().unwrap().len() as i64, users);
    assert_eq!(count(&env.db, "SELECT count(*) FROM events"), events);
    let (_, attrs) = env.json(&["attrs", "list"]);
    assert!(attrs.to_string().contains("\"plan\""), "{attrs}");
    let file = env.write(
        "e.ndjson",
        "{\"type\":\"identify\",\"userId\":\"u\",\"messageId\":\"m\"}\n",
    );
    assert_eq!(env.ingest(&key, &[&file]).0, 0);
    assert_eq!(count(&env.db, "SELECT count(*) FROM ingest_checkpoints"), 1);
    assert_eq!(count(&env.db, "SELECT count(*) FROM users"), users + 1);
}

#[test]
fn a_checkpoint_never_passes_a_rejected_event() {
    let env = Env::new();
    let key = env.key();
    let lines = [
        r#"{"type":"identify","userId":"a","messageId":"1","context":{"page":{"url":"https://shop.example/"}}}"#,
        r#"{"type":"identify","userId":"b","messageId":"2","context":{"page":{"url":"https://other.example/"}}}"#,
        r#"{"type":"identify","userId":"c","messageId":"3","context":{"page":{"url":"https://shop.example/"}}}"#,
    ];
    let file = env.write("e.ndjson", &(lines.join("\n") + "\n"));
    let out = env
        .cmd()
        .args(["domains", "add", "shop.example"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let (code, s) = env.ingest(&key, &[&file]);
    assert_eq!((code, s["applied"].as_u64()), (1, Some(2)));
    // The cause fixed, the same command applies what was rejected.
    let out = env
        .cmd()
        .args(["domains", "add", "other.example"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let (code, s) = env.ingest(&key, &[&file]);
    assert_eq!(code, 0, "{s}");
    assert_eq!(s["received"], 2, "read again from the rejected line: {s}");
    assert_eq!(s["applied"], 1);
    assert_eq!(s["files"][0]["resumed_at"], lines[0].len());
    assert_eq!(env.user("b")["user_id"], "b");
    let (_, s) = env.ingest(&key, &[&file]);
    assert_eq!(s["received"], 0);
}
