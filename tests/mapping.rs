//! Black-box tests of how traits, properties and context map to profiles and companies.

mod common;

use common::Env;
use serde_json::{Value, json};

fn ndjson(events: &[Value]) -> String {
    events.iter().map(|e| format!("{e}\n")).collect()
}

/// An identify at day `day` of October 2026.
fn identify(user: &str, day: u32, traits: Value) -> Value {
    json!({"type":"identify","userId":user,"messageId":format!("{user}-{day}"),
           "timestamp":format!("2026-10-{day:02}T00:00:00Z"),"traits":traits})
}

#[test]
fn a_full_name_sets_both_names_and_one_word_clears_the_last() {
    let env = Env::new();
    let key = env.key();
    let (code, summary) = env.ingest_text(
        &key,
        &ndjson(&[
            identify("n1", 1, json!({"name": "Ada Lovelace"})),
            identify("n1", 2, json!({"name": "Cher"})),
            identify("n2", 1, json!({"name": "Ada Lovelace"})),
            identify("n2", 2, json!({"name": null})),
            identify("n3", 1, json!({"name": "Ada Lovelace"})),
            identify("n3", 2, json!({"name": 42})),
            identify(
                "n4",
                1,
                json!({"name": "Augusta Ada King", "first_name": "Ada",
                                      "last_name": "Lovelace"}),
            ),
        ]),
    );
    assert_eq!(code, 0, "{summary}");
    let n1 = env.user("n1");
    assert_eq!(
        (n1["first_name"].clone(), n1["last_name"].clone()),
        (json!("Cher"), Value::Null)
    );
    let n2 = env.user("n2");
    assert_eq!(
        (n2["first_name"].clone(), n2["last_name"].clone()),
        (Value::Null, Value::Null)
    );
    let n3 = env.user("n3");
    assert_eq!(n3["first_name"], "Ada");
    assert_eq!(n3["last_name"], "Lovelace");
    assert!(n3["attributes"].get("name").is_none(), "{n3}");
    assert_eq!(summary["ignored_values"], 1, "{summary}");
    assert_eq!(summary["ignored"][0]["attribute"], "name", "{summary}");
    let n4 = env.user("n4");
    assert_eq!(n4["first_name"], "Ada");
    assert_eq!(n4["last_name"], "Lovelace");
    assert_eq!(n4["attributes"]["name"], "Augusta Ada King", "{n4}");
}

#[test]
fn ids_inside_traits_are_identities_not_attributes() {
    let env = Env::new();
    let key = env.key();
    let ctx = json!({"traits": {"userId": "m1", "anonymousId": "a-m1", "id": "m1", "plan": "pro"}});
    env.ingest_text(
        &key,
        &ndjson(&[
            json!({"type":"track","userId":"m1","anonymousId":"a-m1","event":"Opened","context":ctx}),
            json!({"type":"identify","userId":"m1","traits":{"id":"m1","userId":"m1","anonymousId":"a-m1","email":"m@x.com"}}),
        ]),
    );
    let user = env.user("m1");
    assert_eq!(user["attributes"], json!({"plan": "pro"}), "{user}");
    let (_, defs) = env.json(&["attrs", "list"]);
    let names: Vec<&str> = defs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    for id in ["id", "userId", "anonymousId", "user_id", "anonymous_id"] {
        assert!(!names.contains(&id), "{names:?}");
    }
}

#[test]
fn a_page_call_without_context_page_takes_its_url_from_properties() {
    let env = Env::new();
    let key = env.key();
    env.ingest_text(
        &key,
        &ndjson(&[json!({"type":"page","userId":"p1","name":"Pricing",
            "properties":{"url":"https://shop.example.com/pricing","path":"/pricing"}})]),
    );
    assert_eq!(
        env.user("p1")["current_url"],
        "https://shop.example.com/pricing"
    );
}

#[test]
fn gender_takes_user_com_s_numeric_codes() {
    let env = Env::new();
    let key = env.key();
    let (code, summary) = env.ingest_text(
        &key,
        &ndjson(&[
            identify("g1", 1, json!({"gender": 1})),
            identify("g2", 1, json!({"gender": 2})),
            identify("g3", 1, json!({"gender": "3"})),
            identify("g4", 1, json!({"gender": 4})),
        ]),
    );
    assert_eq!(code, 0, "{summary}");
    assert_eq!(env.user("g1")["gender"], "unknown");
    assert_eq!(env.user("g2")["gender"], "male");
    assert_eq!(env.user("g3")["gender"], "female");
    assert_eq!(env.user("g4")["gender"], Value::Null);
    assert_eq!(summary["ignored_values"], 1, "{summary}");
}

#[test]
fn a_context_part_that_fails_half_way_is_skipped_with_a_warning() {
    let env = Env::new();
    let key = env.key();
    let line = r#"{"type":"identify","userId":"c1","context":{"os":{"name":"iOS","name":"Android","version":"17"},"locale":"pl-PL","page":{"url":"https://x.com/a","url":"https://x.com/b"},"ip":"203.0.113.9"},"traits":{"plan":"pro"}}"#;
    let (code, summary) = env.ingest_text(&key, &format!("{line}\n"));
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["applied"], 1, "{summary}");
    let warned: Vec<&str> = summary["ignored"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["attribute"].as_str())
        .collect();
    assert_eq!(warned, ["context.os", "context.page"], "{summary}");
    let user = env.user("c1");
    assert_eq!(user["language"], "pl-PL");
    assert_eq!(user["ip_address"], "203.0.113.9");
    assert_eq!(user["os"], Value::Null);
    assert_eq!(user["attributes"]["plan"], "pro");
}

#[test]
fn attribute_names_are_trimmed_alike_and_standard_names_refused() {
    let env = Env::new();
    let key = env.key();
    let (code, summary) = env.ingest_text(
        &key,
        &ndjson(&[identify(
            "a1",
            1,
            json!({" plan ": "pro", "": "x", "  ": "y"}),
        )]),
    );
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["ignored_values"], 2, "{summary}");
    let user = env.user("a1");
    assert_eq!(user["attributes"], json!({"plan": "pro"}), "{user}");
    // `attrs define` trims the same way: the same attribute.
    let (code, defined) = env.json(&["attrs", "define", "  plan", "--type", "string"]);
    assert_eq!(code, 0);
    assert_eq!(defined["previous_type"], "string", "{defined}");
    for (name, scope) in [
        ("email", "user"),
        ("first_name", "user"),
        ("userId", "user"),
        ("employees", "company"),
        ("name", "company"),
    ] {
        let out = env
            .cmd()
            .args([
                "attrs", "define", name, "--type", "string", "--scope", scope,
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("standard") && stderr.contains(name),
            "{stderr}"
        );
    }
    // A user's `name` can be a custom attribute (sent with first and last names).
    let (code, _) = env.json(&["attrs", "define", "name", "--type", "string"]);
    assert_eq!(code, 0);
}
