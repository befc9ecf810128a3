//! Pipeline tests that need a clock the binary does not expose: runs that start within
//! the same millisecond.

use super::*;
use crate::semantics::time::parse_timestamp;
use serde_json::Value;

fn plans(store: &Store, users: usize) -> Vec<Value> {
    (0..users)
        .map(|u| {
            let id = store
                .user_ref_by_user_id(&format!("u{u}"))
                .unwrap()
                .expect("user exists");
            store.user_view(id).unwrap().attributes["plan"].clone()
        })
        .collect()
}

fn run(store: &Store, now: DateTime<Utc>, plan: &str, users: usize) {
    let mut quiet = Quiet;
    let options = IngestOptions {
        now,
        ..IngestOptions::default()
    };
    let mut ingestor = Ingestor::new(store, options, &mut quiet).unwrap();
    for u in 0..users {
        let line = format!(r#"{{"type":"identify","userId":"u{u}","traits":{{"plan":"{plan}"}}}}"#);
        let loc = Location {
            source: "test",
            line: u as u64 + 1,
            item: None,
        };
        ingestor.ingest_line(loc, line.as_bytes()).unwrap();
    }
    ingestor.finish().unwrap();
}

#[test]
fn a_later_run_wins_over_an_earlier_one_in_the_same_millisecond() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let now = parse_timestamp("2026-10-01T00:00:00Z").unwrap();
    run(&store, now, "free", 8);
    run(&store, now, "pro", 8);
    assert!(
        plans(&store, 8).iter().all(|p| p == "pro"),
        "{:?}",
        plans(&store, 8)
    );
    run(&store, now, "enterprise", 8);
    assert!(plans(&store, 8).iter().all(|p| p == "enterprise"));
}

#[test]
fn a_message_another_process_applied_between_our_transactions_is_a_duplicate() {
    // The run's filter of messageIds is filled after its first key (written one by
    // one); a key written by another connection after that must still make the event
    // a duplicate.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = Store::open(&path).unwrap();
    let other = Store::open(&path).unwrap();
    let mut quiet = Quiet;
    let cache = CacheLimits {
        pending_messages: 1,
        ..CacheLimits::default()
    };
    let options = IngestOptions {
        batch_size: 1,
        cache,
        ..IngestOptions::default()
    };
    let mut ingestor = Ingestor::new(&store, options, &mut quiet).unwrap();
    let line =
        |id: &str| format!(r#"{{"type":"track","event":"E","userId":"u","messageId":"{id}"}}"#);
    let loc = Location {
        source: "test",
        line: 1,
        item: None,
    };
    ingestor.ingest_line(loc, line("m0").as_bytes()).unwrap();
    ingestor.ingest_line(loc, line("m1").as_bytes()).unwrap();
    other.begin().unwrap();
    assert!(other.remember_message("m2").unwrap());
    other.commit().unwrap();
    ingestor.ingest_line(loc, line("m2").as_bytes()).unwrap();
    ingestor.ingest_line(loc, line("m1").as_bytes()).unwrap();
    ingestor.ingest_line(loc, line("m3").as_bytes()).unwrap();
    let summary = ingestor.finish().unwrap();
    assert_eq!((summary.applied, summary.duplicates), (3, 2));
}
