//! Pipeline tests that need a clock the binary does not expose: runs that start within
//! the same millisecond.

use super::*;
use crate::semantics::event::{Decoded, Event};
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

/// Decodes lines that each hold one valid event, as the reading thread does.
#[allow(
    clippy::vec_box,
    reason = "events come decoded in boxes, as the reading thread holds them"
)]
fn decode_all(lines: &[String], now: DateTime<Utc>) -> Vec<Box<Event>> {
    lines
        .iter()
        .map(|l| match crate::semantics::event::decode_text(l, now) {
            Ok(Decoded::Event(event)) => event,
            _ => unreachable!("a valid event: {l}"),
        })
        .collect()
}

/// Identifies u0..u9, then updates some of them, with a cache that packs almost every
/// profile; with `ahead`, the updated profiles are sent to be unpacked first (as the
/// reading loop does with the next chunk). Returns the plans stored.
fn run_with_unpacking_ahead(ahead: bool) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let mut quiet = Quiet;
    let options = IngestOptions {
        cache: CacheLimits {
            hot_profiles: 2,
            ..CacheLimits::default()
        },
        now: parse_timestamp("2026-10-01T00:00:00Z").unwrap(),
        ..IngestOptions::default()
    };
    let now = options.now;
    let mut ingestor = Ingestor::new(&store, options, &mut quiet).unwrap();
    let line = |u: usize, plan: &str| {
        format!(
            r#"{{"type":"identify","userId":"u{u}","anonymousId":"a{u}","traits":{{"plan":"{plan}"}}}}"#
        )
    };
    let loc = Location {
        source: "test",
        line: 1,
        item: None,
    };
    for u in 0..10 {
        ingestor
            .ingest_line(loc, line(u, "free").as_bytes())
            .unwrap();
    }
    ingestor.take_packed(packing::Wait::All);
    let later: Vec<String> = [3, 5, 9].iter().map(|&u| line(u, "pro")).collect();
    if ahead {
        let events = decode_all(&later, now);
        let refs: Vec<i64> = [3, 5]
            .iter()
            .flat_map(|u| {
                let user = ingestor.user_ids.get(&format!("u{u}"));
                let anonymous = ingestor.anonymous_ids.get(&format!("a{u}"));
                [user.unwrap(), anonymous.unwrap()]
            })
            .collect();
        assert!(refs.iter().all(|id| ingestor.packed.contains_key(id)));
        ingestor.unpack_ahead(events.iter().map(|e| &**e));
        // They left the packed tier: in flight, or back unpacked already.
        for id in &refs {
            let packing = ingestor.packing.as_ref().unwrap();
            assert!(!ingestor.packed.contains_key(id));
            assert!(packing.holds(*id) || ingestor.users.contains_key(id));
        }
    }
    for l in &later {
        ingestor.ingest_line(loc, l.as_bytes()).unwrap();
    }
    let summary = ingestor.finish().unwrap();
    assert_eq!(summary.applied, 13);
    plans(&store, 10)
}

#[test]
fn profiles_unpacked_ahead_of_their_events_give_the_same_state() {
    let plans = run_with_unpacking_ahead(true);
    assert_eq!(plans, run_with_unpacking_ahead(false));
    let pro: Vec<usize> = (0..10).filter(|&u| plans[u] == "pro").collect();
    assert_eq!(pro, [3, 5, 9]);
}

#[test]
fn profiles_unpacked_ahead_for_events_never_applied_stay_within_the_hot_limit() {
    // A stretch of duplicates (an export given twice) applies nothing, so nothing packs
    // profiles again after an event; what the reading loop unpacks ahead for them must
    // still be let go, or the unpacked tier grows with every chunk.
    const HOT: usize = 4;
    const CHUNK: usize = 16;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let mut quiet = Quiet;
    let options = IngestOptions {
        cache: CacheLimits {
            hot_profiles: HOT,
            ..CacheLimits::default()
        },
        now: parse_timestamp("2026-10-01T00:00:00Z").unwrap(),
        ..IngestOptions::default()
    };
    let now = options.now;
    let mut ingestor = Ingestor::new(&store, options, &mut quiet).unwrap();
    let lines: Vec<String> = (0..200)
        .map(|u| {
            format!(
                r#"{{"type":"identify","userId":"u{u}","messageId":"m{u}","traits":{{"plan":"free"}}}}"#
            )
        })
        .collect();
    let loc = Location {
        source: "test",
        line: 1,
        item: None,
    };
    for l in &lines {
        ingestor.ingest_line(loc, l.as_bytes()).unwrap();
    }
    ingestor.take_packed(packing::Wait::All);
    assert!(ingestor.users.len() <= HOT);
    let events = decode_all(&lines, now);
    let mut most_held = 0;
    for (chunk, ahead) in lines.chunks(CHUNK).zip(events.chunks(CHUNK)) {
        ingestor.unpack_ahead(ahead.iter().map(|e| &**e));
        for l in chunk {
            ingestor.ingest_line(loc, l.as_bytes()).unwrap();
        }
        ingestor.take_packed(packing::Wait::All);
        most_held = most_held.max(ingestor.users.len());
    }
    // At most the limit, plus the chunk unpacked ahead since the last check.
    assert!(
        most_held <= HOT + CHUNK,
        "{most_held} profiles held unpacked, hot_profiles = {HOT}"
    );
    let summary = ingestor.finish().unwrap();
    assert_eq!((summary.applied, summary.duplicates), (200, 200));
    assert!(plans(&store, 200).iter().all(|p| p == "free"));
}
