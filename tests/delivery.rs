//! Black-box tests of what Segment would deliver to this destination and how real
//! sources write it: the integrations filter, time and arrival order, ids.

mod common;

use common::Env;
use serde_json::{Value, json};

fn ndjson(events: &[Value]) -> String {
    events.iter().map(|e| format!("{e}\n")).collect()
}

fn plan(env: &Env, user: &str) -> Value {
    env.user(user)["attributes"]["plan"].clone()
}

// ---- the integrations filter ----

#[test]
fn integrations_decide_delivery_as_segment_does() {
    let env = Env::new();
    let key = env.key();
    let ev = |user: &str, integrations: Value| {
        json!({"type":"identify","userId":user,"messageId":format!("m-{user}"),
               "timestamp":"2026-10-01T00:00:00Z","integrations":integrations})
    };
    let text = ndjson(&[
        ev("all-false", json!({"All": false})),
        ev("named-false", json!({"User.com": false})),
        ev("legacy-false", json!({"UserEngage": false, "All": true})),
        ev("engage", json!({"All": false, "User.com": true})),
        ev(
            "object",
            json!({"All": false, "User.com": {"some": "option"}}),
        ),
        ev("other-false", json!({"Mixpanel": false})),
        ev("empty", json!({})),
    ]);
    let (code, summary) = env.ingest_text(&key, &text);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["applied"], 4, "{summary}");
    assert_eq!(summary["skipped"], 3, "{summary}");
    assert_eq!(summary["rejected"], 0, "{summary}");
    let reasons = summary["skipped_reasons"].to_string();
    assert!(reasons.contains("integrations"), "{reasons}");
    for applied in ["engage", "object", "other-false", "empty"] {
        assert_eq!(env.json(&["users", "show", applied]).0, 0, "{applied}");
    }
    for skipped in ["all-false", "named-false", "legacy-false"] {
        assert_ne!(env.json(&["users", "show", skipped]).0, 0, "{skipped}");
    }
}

#[test]
fn a_batch_envelope_gives_its_integrations_and_sent_at_to_items_without_their_own() {
    let env = Env::new();
    let key = env.key();
    let batch = json!({
        "integrations": {"All": false},
        "sentAt": "2026-10-05T00:00:00Z",
        "context": {"locale": "pl-PL"},
        "batch": [
            {"type":"identify","userId":"kept-out","messageId":"b1"},
            {"type":"identify","userId":"own","messageId":"b2","integrations":{"User.com":true},
             "traits":{"plan":"pro"}}
        ]
    });
    let (code, summary) = env.ingest_text(&key, &format!("{batch}\n"));
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["applied"], 1, "{summary}");
    assert_eq!(summary["skipped"], 1, "{summary}");
    assert_ne!(env.json(&["users", "show", "kept-out"]).0, 0);
    let own = env.user("own");
    assert_eq!(own["language"], "pl-PL", "{own}");
    // The envelope's sentAt is the item's time: an identify sent later wins.
    let later = json!({"type":"identify","userId":"own","messageId":"b3",
                       "timestamp":"2026-10-04T00:00:00Z","traits":{"plan":"free"}});
    env.ingest_text(&key, &format!("{later}\n"));
    assert_eq!(plan(&env, "own"), "pro");
}
