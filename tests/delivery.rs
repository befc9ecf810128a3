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

// ---- time and order ----

#[test]
fn events_without_a_time_apply_in_arrival_order() {
    let env = Env::new();
    let key = env.key();
    let mut lines = Vec::new();
    for user in 0..6 {
        for plan in ["free", "pro"] {
            lines.push(
                json!({"type":"identify","userId":format!("u{user}"),"traits":{"plan":plan}}),
            );
        }
    }
    // Items of a batch, and files one after the other, arrive in their order too.
    let batch = json!({"batch": [
        {"type":"identify","userId":"b","traits":{"plan":"first"}},
        {"type":"identify","userId":"b","traits":{"plan":"second"}}
    ]});
    let first = env.write("1.ndjson", &(ndjson(&lines) + &format!("{batch}\n")));
    let second = env.write(
        "2.ndjson",
        &ndjson(&[json!({"type":"identify","userId":"u0","traits":{"plan":"enterprise"}})]),
    );
    let (code, summary) = env.ingest(&key, &[&first, &second]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(plan(&env, "u0"), "enterprise");
    for user in 1..6 {
        assert_eq!(plan(&env, &format!("u{user}")), "pro", "u{user}");
    }
    assert_eq!(plan(&env, "b"), "second");
}

#[test]
fn received_at_is_an_arrival_stamp_and_own_times_stay_order_independent() {
    let env = Env::new();
    let key = env.key();
    let at = "2026-10-01T00:00:00Z";
    let ev = |user: &str, plan: &str, field: &str| {
        json!({"type":"identify","userId":user,"traits":{"plan":plan},field:at,
               "messageId":format!("{user}-{plan}")})
    };
    let forward = ndjson(&[
        ev("r", "free", "receivedAt"),
        ev("r", "pro", "receivedAt"),
        ev("t", "free", "timestamp"),
        ev("t", "pro", "timestamp"),
    ]);
    env.ingest_text(&key, &forward);
    assert_eq!(plan(&env, "r"), "pro");
    let winner = plan(&env, "t");
    // The same events reversed: equal receivedAt, the later arrival wins; equal own
    // times, the messageId decides whatever the order.
    let other = Env::new();
    let key = other.key();
    let reversed = ndjson(&[
        ev("r", "pro", "receivedAt"),
        ev("r", "free", "receivedAt"),
        ev("t", "pro", "timestamp"),
        ev("t", "free", "timestamp"),
    ]);
    other.ingest_text(&key, &reversed);
    assert_eq!(plan(&other, "r"), "free");
    assert_eq!(plan(&other, "t"), winner);
}

#[test]
fn an_unreadable_timestamp_falls_back_with_a_warning() {
    let env = Env::new();
    let key = env.key();
    let text = ndjson(&[
        json!({"type":"identify","userId":"w","timestamp":"next tuesday",
               "sentAt":"2026-10-03T00:00:00Z","traits":{"plan":"late"}}),
        json!({"type":"identify","userId":"w","timestamp":"2026-10-02T00:00:00+02",
               "traits":{"plan":"early"}}),
    ]);
    let (code, summary) = env.ingest_text(&key, &text);
    assert_eq!(summary["applied"], 2, "{summary}");
    assert_eq!(summary["rejected"], 0, "{summary}");
    assert_eq!(summary["ignored_values"], 1, "{summary}");
    assert_eq!(summary["ignored"][0]["attribute"], "timestamp", "{summary}");
    assert_eq!(code, 0);
    assert_eq!(plan(&env, "w"), "late");
}

// ---- ids ----

#[test]
fn numeric_ids_keep_their_exact_digits() {
    let env = Env::new();
    let key = env.key();
    let line = |id: &str, plan: &str| {
        format!(
            r#"{{"type":"identify","userId":{id},"messageId":{id},"anonymousId":{id},"timestamp":"2026-10-01T00:00:00Z","traits":{{"plan":"{plan}"}}}}"#
        )
    };
    let text = [
        line("12345678901234567890", "a"),
        line("12345678901234567891", "b"),
        format!(
            r#"{{"batch":[{},{}]}}"#,
            line("18446744073709551614", "c"),
            line("18446744073709551615", "d")
        ),
        r#"{"type":"group","userId":"12345678901234567890","groupId":9007199254740993,"timestamp":"2026-10-01T00:00:00Z"}"#.to_string(),
    ]
    .join("\n");
    let (code, summary) = env.ingest_text(&key, &text);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["applied"], 5, "{summary}");
    assert_eq!(plan(&env, "12345678901234567890"), "a");
    assert_eq!(plan(&env, "12345678901234567891"), "b");
    assert_eq!(plan(&env, "18446744073709551614"), "c");
    assert_eq!(plan(&env, "18446744073709551615"), "d");
    let user = env.user("12345678901234567890");
    assert_eq!(user["anonymous_id"], "12345678901234567890", "{user}");
    assert_eq!(user["companies"], json!(["9007199254740993"]), "{user}");
}

#[test]
fn a_numeric_id_too_large_to_keep_exactly_is_rejected_with_a_reason() {
    let env = Env::new();
    let key = env.key();
    let text = r#"{"type":"identify","userId":123456789012345678901234567890}"#;
    let (code, summary) = env.ingest_text(&key, &format!("{text}\n"));
    assert_eq!(code, 1, "{summary}");
    let reason = summary["rejections"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("userId") && reason.contains("string"),
        "{reason}"
    );
}

// ---- trusted domains ----

#[test]
fn trusted_domains_check_scheme_less_urls_and_page_properties() {
    let env = Env::new();
    let key = env.key();
    env.cmd()
        .args(["domains", "add", "example.com"])
        .assert()
        .success();
    let page = |user: &str, context_url: Option<&str>, property_url: Option<&str>| {
        let mut event = json!({"type":"page","userId":user,"messageId":user});
        if let Some(url) = context_url {
            event["context"] = json!({"page": {"url": url}});
        }
        if let Some(url) = property_url {
            event["properties"] = json!({"url": url});
        }
        event
    };
    let (code, summary) = env.ingest_text(
        &key,
        &ndjson(&[
            page("protocol-relative", Some("//evil.net/x"), None),
            page("scheme-less", Some("evil.net/x"), None),
            page("with-port", Some("evil.net:8080/x"), None),
            page("server-side", None, Some("https://evil.net/pricing")),
            page("trusted", Some("//shop.example.com/x"), None),
            page("trusted-properties", None, Some("example.com/pricing")),
        ]),
    );
    assert_eq!(code, 1, "{summary}");
    assert_eq!(summary["rejected"], 4, "{summary}");
    assert_eq!(summary["applied"], 2, "{summary}");
    for rejection in summary["rejections"].as_array().unwrap() {
        let reason = rejection["reason"].as_str().unwrap();
        assert!(reason.contains("evil.net"), "{reason}");
    }
}
