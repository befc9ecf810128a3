//! One owner for a shared anonymousId: the anonymous history goes to the userId whose
//! linking event is earliest (event time, then messageId), whatever the input order.

mod common;

use common::{Env, fixture};
use serde_json::{Value, json};
use usercom::ingest::{CacheLimits, IngestOptions, Ingestor, Input, Quiet};
use usercom::store::Store;

/// A visitor's anonymous history, then two userIds claiming its anonymousId: `u-late`
/// at 12:00 and `u-early` at 11:00, and more anonymous calls after both.
fn stream() -> Vec<Value> {
    vec![
        json!({"type":"page","anonymousId":"a1","messageId":"p1","timestamp":"2026-10-01T10:00:00Z",
            "properties":{"url":"https://x.com/a"},"context":{"locale":"pl-PL"}}),
        json!({"type":"track","anonymousId":"a1","messageId":"t1","timestamp":"2026-10-01T10:05:00Z","event":"Viewed"}),
        json!({"type":"group","anonymousId":"a1","groupId":"g-anon","messageId":"g1","timestamp":"2026-10-01T10:06:00Z"}),
        json!({"type":"identify","anonymousId":"a1","messageId":"i0","timestamp":"2026-10-01T10:07:00Z",
            "traits":{"plan":"trial","phone":"+48 1"}}),
        json!({"type":"identify","userId":"u-late","anonymousId":"a1","messageId":"i2","timestamp":"2026-10-01T12:00:00Z",
            "traits":{"email":"late@x.com","plan":"late"}}),
        json!({"type":"identify","userId":"u-early","anonymousId":"a1","messageId":"i1","timestamp":"2026-10-01T11:00:00Z",
            "traits":{"email":"early@x.com"}}),
        // u-early's later linking event: its earliest is the one that counts.
        json!({"type":"track","userId":"u-early","anonymousId":"a1","messageId":"t3","timestamp":"2026-10-01T12:40:00Z","event":"Paid"}),
        json!({"type":"page","userId":"u-late","messageId":"p3","timestamp":"2026-10-01T12:30:00Z",
            "properties":{"url":"https://x.com/late"},"context":{"locale":"de-DE"}}),
        json!({"type":"page","anonymousId":"a1","messageId":"p2","timestamp":"2026-10-01T13:00:00Z",
            "properties":{"url":"https://x.com/b"},"context":{"locale":"en-GB"}}),
        json!({"type":"group","userId":"u-late","groupId":"g-late","messageId":"g2","timestamp":"2026-10-01T12:10:00Z"}),
    ]
}

fn ndjson(lines: &[Value]) -> String {
    lines.iter().map(|l| l.to_string() + "\n").collect()
}

/// What a user can see of both users and of the histories.
fn state(env: &Env) -> Vec<Value> {
    let mut out = Vec::new();
    for id in ["u-early", "u-late"] {
        let mut u = env.user(id);
        let o = u.as_object_mut().unwrap();
        o.remove("created_at");
        o.remove("updated_at");
        out.push(u);
    }
    for args in [
        vec!["users", "list"],
        vec!["pages", "list"],
        vec!["events", "list"],
        vec!["companies", "list"],
    ] {
        let (code, v) = env.json(&args);
        assert_eq!(code, 0, "{args:?}");
        let mut v = v;
        for item in v.as_array_mut().unwrap() {
            if let Some(o) = item.as_object_mut() {
                o.remove("created_at");
                o.remove("updated_at");
            }
        }
        out.push(v);
    }
    out
}

fn ingest(lines: &[Value]) -> Env {
    let env = Env::new();
    let key = env.key();
    let (code, summary) = env.ingest_text(&key, &ndjson(lines));
    assert_eq!(code, 0, "{summary}");
    env
}

fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        items.swap(i, (seed >> 33) as usize % (i + 1));
    }
}

#[test]
fn a_shared_anonymous_id_goes_to_the_earliest_claim_in_any_order() {
    let forward = ingest(&stream());
    let early = forward.user("u-early");
    assert_eq!(early["page_views"], 2, "{early}");
    assert_eq!(early["attributes"]["plan"], "trial", "{early}");
    assert_eq!(early["phone"], "+48 1", "{early}");
    assert_eq!(early["language"], "en-GB", "{early}");
    assert_eq!(early["companies"], json!(["g-anon"]), "{early}");
    let late = forward.user("u-late");
    assert_eq!(late["page_views"], 1, "{late}");
    assert_eq!(late["attributes"]["plan"], "late", "{late}");
    assert_eq!(late["phone"], Value::Null, "{late}");
    assert_eq!(late["language"], "de-DE", "{late}");
    assert_eq!(late["companies"], json!(["g-late"]), "{late}");
    let expected = state(&forward);

    let mut reversed = stream();
    reversed.reverse();
    assert_eq!(state(&ingest(&reversed)), expected, "reversed");
    for seed in [1, 7, 42, 1234] {
        let mut shuffled = stream();
        shuffle(&mut shuffled, seed);
        assert_eq!(
            state(&ingest(&shuffled)),
            expected,
            "shuffled with seed {seed}"
        );
    }
    // Line by line, one run each: the same.
    let env = Env::new();
    let key = env.key();
    let mut lines = stream();
    lines.reverse();
    for line in &lines {
        env.ingest_text(&key, &ndjson(std::slice::from_ref(line)));
    }
    assert_eq!(state(&env), expected, "one run per line");
}

#[test]
fn an_earlier_claim_arriving_later_takes_the_anonymous_history() {
    let env = Env::new();
    let key = env.key();
    let lines = stream();
    // The visitor's history and the later claim first.
    env.ingest_text(&key, &ndjson(&[&lines[..5], &lines[7..]].concat()));
    let late = env.user("u-late");
    assert_eq!(late["page_views"], 3, "{late}");
    assert_eq!(late["phone"], "+48 1", "{late}");
    assert_eq!(late["companies"], json!(["g-anon", "g-late"]), "{late}");
    // Then the earlier claim.
    env.ingest_text(&key, &ndjson(&lines[5..6]));
    let early = env.user("u-early");
    let late = env.user("u-late");
    assert_eq!(early["page_views"], 2, "{early}");
    assert_eq!(early["phone"], "+48 1", "{early}");
    assert_eq!(early["attributes"]["plan"], "trial", "{early}");
    assert_eq!(early["companies"], json!(["g-anon"]), "{early}");
    assert_eq!(late["page_views"], 1, "{late}");
    assert_eq!(late["phone"], Value::Null, "{late}");
    assert_eq!(late["attributes"]["plan"], "late", "{late}");
    assert_eq!(late["language"], "de-DE", "{late}");
    assert_eq!(late["companies"], json!(["g-late"]), "{late}");
    let (_, pages) = env.json(&["pages", "list", "--user", "u-early"]);
    assert_eq!(pages.as_array().unwrap().len(), 2, "{pages}");
    let (_, events) = env.json(&["events", "list", "--user", "u-early"]);
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
    // u-early's later linking event keeps what it has.
    env.ingest_text(&key, &ndjson(&lines[6..7]));
    let (_, events) = env.json(&["events", "list", "--user", "u-early"]);
    assert_eq!(events.as_array().unwrap().len(), 2, "{events}");
    assert_eq!(env.user("u-early")["page_views"], 2);
    let (_, events) = env.json(&["events", "list", "--user", "u-late"]);
    assert_eq!(events.as_array().unwrap().len(), 0, "{events}");
    // The anonymousId finds its owner; the anonymous record is no user of its own.
    assert_eq!(env.user("a1")["user_id"], "u-early");
    let (_, count) = env.json(&["users", "list", "--count"]);
    assert_eq!(count["count"], 2, "{count}");
    let (_, company) = env.json(&["companies", "show", "g-anon"]);
    assert_eq!(company["members"], json!(["u-early"]), "{company}");
}

#[test]
fn an_earlier_claim_in_a_load_that_defers_its_indexes_gives_the_same_state() {
    let lines = stream();
    let first = ndjson(&[&lines[..5], &lines[7..]].concat());
    let second = ndjson(&lines[5..]);
    let run = |options: &[&str]| {
        let env = Env::new();
        let key = env.key();
        for text in [&first, &second] {
            let (code, summary) = env.ingest_text_with(&key, text, options);
            assert_eq!(code, 0, "{options:?}: {summary}");
        }
        env
    };
    let kept = run(&["--defer-indexes", "never"]);
    let deferred = run(&["--defer-indexes", "always"]);
    // u-late gave up a1, whose page view at 13:00 was its last: its last page view is
    // read again from its own (12:30), through the index the load had deferred.
    let late = kept.user("u-late");
    assert_eq!(late["last_seen"], "2026-10-01T12:30:00.000Z", "{late}");
    assert_eq!(state(&deferred), state(&kept));
    let (_, status) = deferred.json(&["status"]);
    assert_eq!(status["deferred_indexes"], json!([]), "{status}");
}

#[test]
fn the_fixture_and_a_shuffled_copy_give_the_same_state() {
    let text = std::fs::read_to_string(fixture("sample.ndjson")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let original = Env::new();
    let key = original.key();
    original.ingest(&key, &[&fixture("sample.ndjson")]);
    shuffle(&mut lines, 99);
    let shuffled = Env::new();
    let key = shuffled.key();
    let file = shuffled.write("shuffled.ndjson", &(lines.join("\n") + "\n"));
    shuffled.ingest(&key, &[&file]);
    for what in ["users", "companies", "pages", "events"] {
        let (_, a) = original.json(&[what, "list", "--limit", "100000"]);
        let (_, b) = shuffled.json(&[what, "list", "--limit", "100000"]);
        assert!(a.as_array().unwrap().len() > 1, "{what}");
        assert_eq!(a, b, "{what} list differs after shuffling");
    }
}

#[test]
fn tiny_caches_and_batches_give_the_same_owner() {
    let expected = state(&ingest(&stream()));
    let tiny = CacheLimits {
        hot_profiles: 1,
        packed_bytes: 256,
        companies: 1,
        ids: 2,
        pending_messages: 2,
    };
    for (batch_size, seed) in [(1, 3), (2, 5), (4, 8)] {
        let env = Env::new();
        env.key();
        let mut lines = stream();
        shuffle(&mut lines, seed);
        let file = env.write("e.ndjson", &ndjson(&lines));
        let store = Store::open(&env.db).unwrap();
        let mut observer = Quiet;
        let options = IngestOptions {
            batch_size,
            cache: tiny,
            ..IngestOptions::default()
        };
        let mut ingestor = Ingestor::new(&store, options, &mut observer).unwrap();
        let mut input = Input::open(&file).unwrap();
        ingestor.ingest_input(&mut input, &mut |_, _| {}).unwrap();
        assert_eq!(ingestor.finish().unwrap().applied, lines.len() as u64);
        drop(store);
        assert_eq!(
            state(&env),
            expected,
            "batch size {batch_size}, seed {seed}"
        );
    }
}
