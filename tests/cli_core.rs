//! Black-box tests of the core: the binary on ndjson input, checked through `--json`.

mod common;

use common::Env;
use serde_json::{Value, json};

fn ndjson(events: &[Value]) -> String {
    events.iter().map(|e| format!("{e}\n")).collect()
}

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36";

// ---- keys ----

#[test]
fn keys_create_prints_only_the_key_and_stores_a_hash() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["keys", "create", "--name", "ci"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let key = String::from_utf8(out.stdout).unwrap();
    assert_eq!(key.lines().count(), 1);
    let key = key.trim();
    assert!(key.starts_with("uc_"), "{key}");
    let (_, created) = env.json(&["keys", "create", "--name", "second"]);
    for field in ["id", "name", "key", "created_at"] {
        assert!(created.get(field).is_some(), "{field} in {created}");
    }
    let (code, list) = env.json(&["keys", "list"]);
    assert_eq!(code, 0);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["name"], "ci");
    assert!(key.starts_with(list[0]["prefix"].as_str().unwrap()));
    assert_eq!(list[0]["revoked_at"], Value::Null);
    assert!(
        !list[0].to_string().contains(key),
        "the key itself is never listed"
    );
    let raw = std::fs::read(&env.db).unwrap();
    assert!(
        !raw.windows(key.len()).any(|w| w == key.as_bytes()),
        "the key is not stored in plain text"
    );
}

#[test]
fn revoked_and_unknown_keys_are_forbidden_and_apply_nothing() {
    let env = Env::new();
    let key = env.key();
    let file = env.write(
        "e.ndjson",
        &ndjson(&[json!({"type":"identify","userId":"u1"})]),
    );
    let out = env
        .cmd()
        .args(["ingest", "--api-key", "uc_notakey"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("403 Forbidden"));

    let (code, _) = env.json(&["keys", "revoke", &key]);
    assert_eq!(code, 0);
    let out = env
        .cmd()
        .args(["ingest", "--api-key", &key])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("403 Forbidden"), "{stderr}");
    assert!(
        stderr.contains("revoked") && stderr.contains("usercom keys create"),
        "{stderr}"
    );
    let (code, _) = env.json(&["users", "show", "u1"]);
    assert_eq!(code, 1, "nothing was applied");
    let (_, list) = env.json(&["keys", "list"]);
    assert!(
        list[0]["revoked_at"].is_string(),
        "revoked keys stay listed"
    );
}

#[test]
fn revoke_by_id_and_environment_key() {
    let env = Env::new();
    let key = env.key();
    let out = env
        .cmd()
        .args(["ingest", "-"])
        .env("USERCOM_API_KEY", &key)
        .write_stdin(ndjson(&[json!({"type":"identify","userId":"u1"})]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let (code, _) = env.json(&["keys", "revoke", "1"]);
    assert_eq!(code, 0);
    let (code, _) = env.ingest_text(&key, "{}\n");
    assert_eq!(code, 3);
    let (code, _) = env.json(&["keys", "revoke", "99"]);
    assert_eq!(code, 1);
}

// ---- identity ----

#[test]
fn anonymous_history_is_kept_when_the_visitor_identifies() {
    let env = Env::new();
    let key = env.key();
    let (code, summary) = env.ingest_text(
        &key,
        &ndjson(&[
            json!({"type":"page","anonymousId":"a1","messageId":"p1","timestamp":"2026-10-01T10:00:00Z","properties":{"url":"https://x.com/"}}),
            json!({"type":"track","anonymousId":"a1","messageId":"t1","timestamp":"2026-10-01T10:01:00Z","event":"Viewed"}),
            json!({"type":"identify","userId":"u1","anonymousId":"a1","messageId":"i1","timestamp":"2026-10-01T10:02:00Z","traits":{"email":"u1@x.com"}}),
            json!({"type":"page","anonymousId":"a1","messageId":"p2","timestamp":"2026-10-01T10:03:00Z"}),
        ]),
    );
    assert_eq!(code, 0, "{summary}");
    let (_, users) = env.json(&["users", "list"]);
    assert_eq!(
        users.as_array().unwrap().len(),
        1,
        "one user, not two: {users}"
    );
    let u = env.user("u1");
    assert_eq!(u["anonymous_id"], "a1");
    assert_eq!(u["page_views"], 2);
    assert_eq!(u["email"], "u1@x.com");
    assert_eq!(env.user("a1")["user_id"], "u1", "found by anonymousId");
    assert_eq!(env.user("u1@x.com")["user_id"], "u1", "found by email");
    let (_, events) = env.json(&["events", "list", "--user", "u1"]);
    assert_eq!(events[0]["user_id"], "u1");
}

#[test]
fn anonymous_profile_merges_into_an_existing_user() {
    let env = Env::new();
    let key = env.key();
    env.ingest_text(
        &key,
        &ndjson(&[
            json!({"type":"identify","userId":"u1","messageId":"i0","timestamp":"2026-10-01T09:00:00Z","traits":{"plan":"pro"}}),
            json!({"type":"page","anonymousId":"a1","messageId":"p1","timestamp":"2026-10-01T10:00:00Z","context":{"locale":"pl-PL"}}),
            json!({"type":"identify","userId":"u1","anonymousId":"a1","messageId":"i1","timestamp":"2026-10-01T11:00:00Z"}),
        ]),
    );
    let (_, users) = env.json(&["users", "list"]);
    assert_eq!(users.as_array().unwrap().len(), 1, "{users}");
    let u = env.user("u1");
    assert_eq!(u["page_views"], 1);
    assert_eq!(u["language"], "pl-PL");
    assert_eq!(u["attributes"]["plan"], "pro");
    assert_eq!(u["created_at"], "2026-10-01T09:00:00.000Z");
}

#[test]
fn an_event_without_ids_is_rejected_with_a_reason() {
    let env = Env::new();
    let key = env.key();
    let (code, s) = env.ingest_text(&key, "{\"type\":\"identify\",\"traits\":{}}\n");
    assert_eq!(code, 1);
    assert!(
        s["rejections"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("userId")
    );
}

// ---- identify ----

#[test]
fn identify_maps_traits_and_context() {
    let env = Env::new();
    let key = env.key();
    let (code, s) = env.ingest_text(
        &key,
        &ndjson(&[json!({
            "type": "identify", "userId": "u1", "messageId": "m1", "timestamp": "2026-10-01T10:00:00Z",
            "traits": {
                "email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace",
                "phone": "+44 1", "gender": "F",
                "address": {"city": "London", "state": "Greater London", "country": "UK", "street": "1 St"},
                "plan": "pro", "logins": 999, "prefs": {"a": [1, 2]}
            },
            "context": {
                "userAgent": CHROME, "locale": "en-GB", "ip": "203.0.113.5", "timezone": "Europe/London",
                "screen": {"width": 1440, "height": 900}, "page": {"url": "https://www.example.com/a"},
                "traits": {"email": "ignored@example.com", "title": "Countess"}
            }
        })]),
    );
    assert_eq!(code, 0, "{s}");
    let u = env.user("u1");
    let expect = [
        ("email", "ada@example.com"),
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("phone", "+44 1"),
        ("gender", "female"),
        ("country", "UK"),
        ("region", "Greater London"),
        ("city", "London"),
        ("user_agent", CHROME),
        ("language", "en-GB"),
        ("resolution", "1440x900"),
        ("ip_address", "203.0.113.5"),
        ("browser_family", "Chrome"),
        ("browser_version", "119.0.0.0"),
        ("timezone", "Europe/London"),
        ("current_url", "https://www.example.com/a"),
        ("device_type", "desktop"),
    ];
    for (field, value) in expect {
        assert_eq!(u[field], value, "{field}");
    }
    assert!(
        u["os"].as_str().unwrap().starts_with("Windows"),
        "{}",
        u["os"]
    );
    assert_eq!(u["attributes"]["plan"], "pro");
    assert_eq!(
        u["attributes"]["logins"], "999",
        "new attributes are strings"
    );
    assert_eq!(u["attributes"]["prefs"], "{\"a\":[1,2]}");
    assert_eq!(
        u["attributes"]["title"], "Countess",
        "context.traits count too"
    );
    assert!(u["attributes"].get("address").is_none());
    let (_, attrs) = env.json(&["attrs", "list", "--scope", "user"]);
    let logins = attrs
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "logins")
        .unwrap();
    assert_eq!(logins["type"], "string");
    assert_eq!(logins["origin"], "auto");
    assert_eq!(logins["scope"], "user");
}

#[test]
fn defined_attributes_convert_and_unconvertible_values_are_ignored() {
    let env = Env::new();
    let key = env.key();
    for (name, ty) in [
        ("custom_integer", "number"),
        ("vip", "boolean"),
        ("signup", "date"),
        ("seen", "datetime"),
    ] {
        let out = env
            .cmd()
            .args(["attrs", "define", name, "--type", ty])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    let (code, s) = env.ingest_text(
        &key,
        &ndjson(&[
            json!({"type":"identify","userId":"u1","messageId":"m1","timestamp":"2026-10-01T10:00:00Z",
                "traits":{"custom_integer":"123","custom_integer_new":999,"vip":"true","signup":"2026-01-15T23:00:00-03:00","seen":1790000000}}),
            json!({"type":"identify","userId":"u1","messageId":"m2","timestamp":"2026-10-02T10:00:00Z",
                "traits":{"custom_integer":"lots","vip":"maybe","gender":"robot"}}),
        ]),
    );
    assert_eq!(code, 0, "ignored values are not rejections: {s}");
    assert_eq!(s["ignored_values"], 3);
    let ignored = s["ignored"].as_array().unwrap();
    assert!(
        ignored
            .iter()
            .any(|i| i["attribute"] == "custom_integer" && i["value"] == "\"lots\"")
    );
    let u = env.user("u1");
    assert_eq!(
        u["attributes"]["custom_integer"], 123,
        "the stored value stays"
    );
    assert_eq!(u["attributes"]["custom_integer_new"], "999");
    assert_eq!(u["attributes"]["vip"], true);
    assert_eq!(
        u["attributes"]["signup"], "2026-01-15",
        "a date is the calendar date as written"
    );
    assert_eq!(u["attributes"]["seen"], "2026-09-21T14:13:20.000Z");
    assert_eq!(u["gender"], Value::Null);
    // The warning names the attribute and the value.
    let out = env
        .cmd()
        .args(["ingest", "--api-key", &key])
        .write_stdin(ndjson(&[json!({"type":"identify","userId":"u1","messageId":"m3","traits":{"custom_integer":"x1"}})]))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("custom_integer") && stderr.contains("x1"),
        "{stderr}"
    );
}

#[test]
fn null_trait_clears_and_name_is_split() {
    let env = Env::new();
    let key = env.key();
    env.ingest_text(
        &key,
        &ndjson(&[
            json!({"type":"identify","userId":"u1","messageId":"m1","timestamp":"2026-10-01T10:00:00Z","traits":{"name":"Grace Brewster Hopper","plan":"pro","phone":"1"}}),
            json!({"type":"identify","userId":"u1","messageId":"m2","timestamp":"2026-10-02T10:00:00Z","traits":{"plan":null,"phone":null}}),
        ]),
    );
    let u = env.user("u1");
    assert_eq!(u["first_name"], "Grace");
    assert_eq!(u["last_name"], "Brewster Hopper");
    assert!(u["attributes"].get("plan").is_none(), "{u}");
    assert_eq!(u["phone"], Value::Null);
}

#[test]
fn gender_accepts_letters_and_words() {
    let env = Env::new();
    let key = env.key();
    let events: Vec<Value> = [("a", "M"), ("b", "female"), ("c", "u"), ("d", "UNKNOWN")]
        .iter()
        .map(|(id, g)| json!({"type":"identify","userId":id,"traits":{"gender":g}}))
        .collect();
    env.ingest_text(&key, &ndjson(&events));
    assert_eq!(env.user("a")["gender"], "male");
    assert_eq!(env.user("b")["gender"], "female");
    assert_eq!(env.user("c")["gender"], "unknown");
    assert_eq!(env.user("d")["gender"], "unknown");
}

#[test]
fn newer_identify_wins_whatever_the_order() {
    let newer = json!({"type":"identify","userId":"u1","messageId":"new","timestamp":"2026-10-30T00:00:00Z","traits":{"email":"new@x.com","plan":"b"}});
    let older = json!({"type":"identify","userId":"u1","messageId":"old","timestamp":"2026-10-02T00:00:00Z","traits":{"email":"old@x.com","plan":"a","city":"Oslo"}});
    let mut results = Vec::new();
    for order in [[&newer, &older], [&older, &newer]] {
        let env = Env::new();
        let key = env.key();
        env.ingest_text(&key, &ndjson(&[order[0].clone(), order[1].clone()]));
        let u = env.user("u1");
        assert_eq!(u["email"], "new@x.com");
        assert_eq!(u["attributes"]["plan"], "b");
        assert_eq!(u["city"], "Oslo", "a field only the older one set is kept");
        let (_, list) = env.json(&["users", "list"]);
        results.push(list);
    }
    assert_eq!(results[0], results[1]);
}

#[test]
fn engage_audience_creates_a_boolean_attribute() {
    let env = Env::new();
    let key = env.key();
    let personas = json!({"computation_class":"audience","computation_key":"order_completed_last_30days","computation_id":"aud_1"});
    env.ingest_text(
        &key,
        &ndjson(&[
            json!({"type":"identify","userId":"u1","traits":{"order_completed_last_30days":true},"context":{"personas":personas}}),
            json!({"type":"identify","userId":"u2","traits":{"order_completed_last_30days":false},"context":{"personas":personas}}),
        ]),
    );
    assert_eq!(
        env.user("u1")["attributes"]["order_completed_last_30days"],
        true
    );
    assert_eq!(
        env.user("u2")["attributes"]["order_completed_last_30days"],
        false
    );
    let (_, attrs) = env.json(&["attrs", "list"]);
    let attr = &attrs.as_array().unwrap()[0];
    assert_eq!(attr["name"], "order_completed_last_30days");
    assert_eq!(attr["type"], "boolean");
}

// ---- page, track, group ----

#[test]
fn page_counts_views_and_last_seen_only_moves_forward() {
    let env = Env::new();
    let key = env.key();
    env.ingest_text(
        &key,
        &ndjson(&[
            json!({"type":"page","userId":"u1","messageId":"p1","timestamp":"2026-10-05T00:00:00Z","name":"Pricing",
                "properties":{"url":"https://x.com/pricing","title":"Pricing","path":"/pricing","referrer":"https://google.com"}}),
            json!({"type":"page","userId":"u1","messageId":"p2","timestamp":"2026-10-01T00:00:00Z",
                "context":{"page":{"url":"https://x.com/old","title":"Old"}}}),
        ]),
    );
    let u = env.user("u1");
    assert_eq!(u["page_views"], 2);
    assert_eq!(u["last_seen"], "2026-10-05T00:00:00.000Z");
    assert_eq!(
        u["current_url"], "https://x.com/pricing",
        "the latest page call's URL, from properties.url without context.page"
    );
    let (_, pages) = env.json(&["pages", "list", "--user", "u1"]);
    let pages = pages.as_array().unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(
        pages[0]["url"], "https://x.com/old",
        "oldest first; url from context.page"
    );
    assert_eq!(pages[1]["name"], "Pricing");
    assert_eq!(pages[1]["title"], "Pricing");
    assert_eq!(pages[1]["path"], "/pricing");
    assert_eq!(pages[1]["referrer"], "https://google.com");
    for key in [
        "message_id",
        "user_id",
        "anonymous_id",
        "name",
        "url",
        "timestamp",
        "properties",
    ] {
        assert!(pages[1].get(key).is_some(), "{key}");
    }
    assert_eq!(pages[1]["properties"]["path"], "/pricing");
}

#[test]
fn track_records_occurrences_and_types_properties_like_traits() {
    let env = Env::new();
    let key = env.key();
    let out = env
        .cmd()
        .args([
            "attrs",
            "define",
            "revenue",
            "--type",
            "number",
            "--event",
            "Order Completed",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, s) = env.ingest_text(
        &key,
        &ndjson(&[
            json!({"type":"track","userId":"u1","messageId":"t1","timestamp":"2026-10-01T00:00:00Z","event":"Order Completed",
                "properties":{"revenue":"12.5","currency":"EUR","items":3}}),
            json!({"type":"track","userId":"u1","messageId":"t2","timestamp":"2026-10-02T00:00:00Z","event":"Order Completed",
                "properties":{"revenue":"free"}}),
            json!({"type":"track","userId":"u1","messageId":"t3","event":"Signed Up"}),
            json!({"type":"track","userId":"u1","messageId":"t4"}),
        ]),
    );
    assert_eq!(code, 1);
    assert_eq!(s["applied"], 3);
    assert_eq!(s["ignored_values"], 1);
    assert_eq!(s["rejections"][0]["reason"], "track without \"event\"");
    let (_, events) = env.json(&["events", "list", "--name", "Order Completed"]);
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["properties"]["revenue"], 12.5);
    assert_eq!(events[0]["properties"]["currency"], "EUR");
    assert_eq!(events[0]["properties"]["items"], "3");
    assert!(events[1]["properties"].get("revenue").is_none());
    for key in [
        "message_id",
        "user_id",
        "anonymous_id",
        "name",
        "timestamp",
        "properties",
    ] {
        assert!(events[0].get(key).is_some(), "{key}");
    }
    let (_, attrs) = env.json(&["attrs", "list", "--scope", "event"]);
    let names: Vec<(String, String, String)> = attrs
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["event"].as_str().unwrap().to_string(),
                a["name"].as_str().unwrap().to_string(),
                a["type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(names.contains(&("Order Completed".into(), "currency".into(), "string".into())));
    assert!(names.contains(&("Order Completed".into(), "revenue".into(), "number".into())));
}

#[test]
fn group_creates_companies_and_memberships_once() {
    let env = Env::new();
    let key = env.key();
    let group = |id: &str, msg: &str, traits: Value| json!({"type":"group","userId":"u1","groupId":id,"messageId":msg,"timestamp":"2026-10-01T00:00:00Z","traits":traits});
    let (code, s) = env.ingest_text(
        &key,
        &ndjson(&[
            group(
                "g1",
                "g1a",
                json!({"name":"Initech","email":"hi@initech.com","phone":"555","description":"TPS reports","employees":"120",
                    "industry":"Software","address":{"street":"6th St","city":"San Francisco","state":"CA","postalCode":"94103","country":"USA"}}),
            ),
            group("g1", "g1b", json!({})),
            group("g2", "g2a", json!({"name":"Globex","employees":"many"})),
            json!({"type":"group","anonymousId":"anon-9","groupId":"g1","messageId":"g1c"}),
            json!({"type":"group","userId":"u1"}),
        ]),
    );
    assert_eq!(code, 1);
    assert_eq!(s["rejections"][0]["reason"], "group without \"groupId\"");
    assert_eq!(s["ignored_values"], 1, "employees must be a number");
    let (code, c) = env.json(&["companies", "show", "g1"]);
    assert_eq!(code, 0);
    assert_eq!(c["name"], "Initech");
    assert_eq!(c["email"], "hi@initech.com");
    assert_eq!(c["phone"], "555");
    assert_eq!(c["description"], "TPS reports");
    assert_eq!(c["employees"], 120);
    assert_eq!(c["address"], "6th St, San Francisco, CA 94103, USA");
    assert_eq!(c["city"], "San Francisco");
    assert_eq!(c["region"], "CA");
    assert_eq!(c["country"], "USA");
    assert_eq!(c["attributes"]["industry"], "Software");
    assert_eq!(c["members"], json!(["anon-9", "u1"]));
    assert_eq!(env.user("u1")["companies"], json!(["g1", "g2"]));
    let (_, list) = env.json(&["companies", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[1]["employees"], Value::Null);
    let (code, _) = env.json(&["companies", "show", "nope"]);
    assert_eq!(code, 1);
}

// ---- domains ----

#[test]
fn untrusted_domains_are_rejected_and_the_rest_applied() {
    let env = Env::new();
    let key = env.key();
    let (_, none) = env.json(&["domains", "list"]);
    assert_eq!(none, json!([]));
    let out = env
        .cmd()
        .args(["domains", "add", "Example.com"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let (_, list) = env.json(&["domains", "list"]);
    assert_eq!(list[0]["domain"], "example.com");
    assert!(list[0]["added_at"].is_string());
    let page =
        |user: &str, url: &str| json!({"type":"page","userId":user,"context":{"page":{"url":url}}});
    let (code, s) = env.ingest_text(
        &key,
        &ndjson(&[
            page("a", "https://example.com/"),
            page("b", "https://shop.example.com/cart"),
            page("c", "https://evil.net/"),
            json!({"type":"identify","userId":"d"}),
        ]),
    );
    assert_eq!(code, 1);
    assert_eq!(s["applied"], 3, "unknown domain (no page url) is allowed");
    assert_eq!(s["rejected"], 1);
    assert_eq!(
        s["rejections"][0]["reason"],
        "403 Forbidden: domain evil.net is not trusted"
    );
    assert_eq!(s["rejections"][0]["line"], 3);
    // --origin stands for every event's domain.
    let out = env
        .cmd()
        .args([
            "ingest",
            "--json",
            "--api-key",
            &key,
            "--origin",
            "evil.net",
        ])
        .write_stdin(ndjson(&[json!({"type":"identify","userId":"e"})]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = env
        .cmd()
        .args(["domains", "remove", "example.com"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = env
        .cmd()
        .args(["domains", "remove", "example.com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

// ---- input handling ----

#[test]
fn bad_lines_are_reported_with_file_and_line_and_the_rest_applied() {
    let env = Env::new();
    let key = env.key();
    let file = env.write(
        "mixed.ndjson",
        "{\"type\":\"identify\",\"userId\":\"ok1\"}\n\
         this is not json\n\
         [1,2,3]\n\
         {\"userId\":\"u\"}\n\
         {\"type\":\"launch\",\"userId\":\"u\"}\n\
         \n\
         \"a string\"\n\
         {\"type\":\"alias\",\"userId\":\"u\",\"previousId\":\"p\"}\n\
         {\"type\":\"screen\",\"userId\":\"u\"}\n\
         {\"type\":\"identify\",\"userId\":\"ok2\"}\n",
    );
    let out = env
        .cmd()
        .args(["ingest", "--json", "--api-key", &key])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "received",
        "applied",
        "rejected",
        "skipped",
        "duplicates",
        "ignored_values",
        "rejections",
    ] {
        assert!(s.get(key).is_some(), "{key}");
    }
    assert_eq!(s["applied"], 2);
    assert_eq!(s["skipped"], 2);
    assert_eq!(s["rejected"], 7, "{s}");
    let reasons: Vec<(u64, String)> = s["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert!(r["source"].as_str().unwrap().ends_with("mixed.ndjson"));
            (
                r["line"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        reasons[0].0 == 2 && reasons[0].1.starts_with("invalid JSON"),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|(l, r)| *l == 4 && r == "missing \"type\"")
    );
    assert!(
        reasons
            .iter()
            .any(|(l, r)| *l == 5 && r == "unknown type \"launch\"")
    );
    assert!(
        reasons
            .iter()
            .any(|(l, r)| *l == 7 && r.starts_with("not a JSON object"))
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("mixed.ndjson:2: rejected: invalid JSON"),
        "{stderr}"
    );
    env.user("ok1");
    env.user("ok2");
}

#[test]
fn arrays_and_batch_objects_are_accepted() {
    let env = Env::new();
    let key = env.key();
    let array = env.write(
        "array.json",
        "[\n  {\"type\":\"identify\",\"userId\":\"a1\"},\n  {\"type\":\"identify\",\"userId\":\"a2\"}\n]\n",
    );
    let batch = env.write(
        "batch.json",
        &serde_json::to_string_pretty(&json!({
            "batch": [
                {"type":"identify","userId":"b1"},
                {"type":"page","userId":"b2","context":{"locale":"de-DE"}},
                {"type":"bogus","userId":"b3"}
            ],
            "context": {"locale": "fr-FR", "ip": "192.0.2.1"}
        }))
        .unwrap(),
    );
    let one_line = env.write(
        "line.ndjson",
        "{\"batch\":[{\"type\":\"identify\",\"userId\":\"c1\"}]}\n[{\"type\":\"identify\",\"userId\":\"c2\"}]\n",
    );
    let (code, s) = env.ingest(&key, &[&array, &batch, &one_line]);
    assert_eq!(code, 1, "{s}");
    assert_eq!(s["applied"], 6);
    assert_eq!(s["rejections"][0]["item"], 2);
    for id in ["a1", "a2", "b1", "c1", "c2"] {
        env.user(id);
    }
    assert_eq!(
        env.user("b1")["language"],
        "fr-FR",
        "batch context applies to items"
    );
    assert_eq!(
        env.user("b2")["language"],
        "de-DE",
        "the item's own context wins"
    );
    assert_eq!(env.user("b2")["ip_address"], "192.0.2.1");
}

#[test]
fn missing_files_and_directories_are_usage_errors() {
    let env = Env::new();
    let key = env.key();
    let out = env
        .cmd()
        .args(["ingest", "--api-key", &key, "does-not-exist.ndjson"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does-not-exist.ndjson"));
    // A folder is read; what in it is not JSON (the database itself here) is skipped
    // with a note.
    let out = env
        .cmd()
        .args(["ingest", "--api-key", &key])
        .arg(env.dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("test.db") && stderr.contains("skipped"),
        "{stderr}"
    );
    let out = env.cmd().args(["ingest"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--api-key is required");
    let out = env
        .cmd()
        .args(["attrs", "define", "x", "--type", "float"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unknown_user_is_exit_1_with_a_message() {
    let env = Env::new();
    let out = env.cmd().args(["users", "show", "ghost"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ghost"));
}

// ---- attribute schemas ----

#[test]
fn redefining_a_type_converts_values_and_keeps_the_rest() {
    let env = Env::new();
    let key = env.key();
    env.ingest_text(
        &key,
        &ndjson(&[
            json!({"type":"identify","userId":"u1","traits":{"score":"42"}}),
            json!({"type":"identify","userId":"u2","traits":{"score":"high"}}),
        ]),
    );
    let (code, r) = env.json(&["attrs", "define", "score", "--type", "number"]);
    assert_eq!(code, 0);
    assert_eq!(r["previous_type"], "string");
    assert_eq!(r["converted"], 1);
    assert_eq!(r["unconverted"][0]["owner"], "u2");
    assert_eq!(env.user("u1")["attributes"]["score"], 42);
    assert!(env.user("u2")["attributes"].get("score").is_none());
    let (_, kept) = env.json(&["attrs", "unconverted", "score"]);
    assert_eq!(kept[0]["value"], "\"high\"");
    let (_, attrs) = env.json(&["attrs", "list"]);
    assert_eq!(attrs[0]["origin"], "defined");
    assert_eq!(attrs[0]["type"], "number");
}

#[test]
fn a_database_file_is_created_versioned_and_reopened() {
    let env = Env::new();
    env.key();
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, usercom::store::SCHEMA_VERSION);
    drop(conn);
    let (code, keys) = env.json(&["keys", "list"]);
    assert_eq!(code, 0);
    assert_eq!(keys.as_array().unwrap().len(), 1);
}

#[test]
fn replaying_a_file_changes_nothing() {
    let env = Env::new();
    let key = env.key();
    let file = env.write(
        "e.ndjson",
        &ndjson(&[
            json!({"type":"page","userId":"u1","messageId":"p1"}),
            json!({"type":"track","userId":"u1","event":"X"}),
        ]),
    );
    let (_, first) = env.ingest(&key, &[&file]);
    assert_eq!(first["applied"], 2);
    // Read again (its checkpoint set aside): every event is known.
    let out = env
        .cmd()
        .args(["ingest", "--json", "--no-resume", "--api-key", &key])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let second: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(second["applied"], 0);
    assert_eq!(
        second["duplicates"], 2,
        "including the event without messageId"
    );
    // Run again as it was: the checkpoint says the file was read whole.
    let (code, third) = env.ingest(&key, &[&file]);
    assert_eq!(code, 0);
    assert_eq!(third["received"], 0);
    assert_eq!(third["files"][0]["resumed_at"], third["files"][0]["bytes"]);
    assert_eq!(env.user("u1")["page_views"], 1);
}

#[test]
fn a_profile_never_shows_another_user_s_anonymous_id() {
    let env = Env::new();
    let key = env.key();
    env.ingest_text(
        &key,
        &ndjson(&[
            json!({"type":"identify","userId":"u0","anonymousId":"a0","messageId":"1","timestamp":"2026-10-01T00:00:00Z"}),
            json!({"type":"identify","userId":"u1","anonymousId":"a1","messageId":"2","timestamp":"2026-10-01T00:00:00Z"}),
            json!({"type":"page","userId":"u1","anonymousId":"a0","messageId":"3","timestamp":"2026-10-02T00:00:00Z"}),
        ]),
    );
    assert_eq!(env.user("u1")["anonymous_id"], "a1");
    assert_eq!(env.user("a0")["user_id"], "u0");
    assert_eq!(env.user("u1")["page_views"], 1);
}

#[test]
fn an_event_without_message_id_is_the_same_event_however_it_is_written() {
    let env = Env::new();
    let key = env.key();
    let file = env.write(
        "e.json",
        "{\"type\":\"track\",\"userId\":\"u\",\"event\":\"X\",\"timestamp\":\"2026-10-01T00:00:00Z\"}\n\
         {\"type\": \"track\", \"event\": \"X\", \"userId\": \"u\", \"timestamp\": \"2026-10-01T00:00:00Z\"}\n\
         [{\"type\":\"track\",\"userId\":\"u\",\"event\":\"X\",\"timestamp\":\"2026-10-01T00:00:00Z\"}]\n",
    );
    let (_, s) = env.ingest(&key, &[&file]);
    assert_eq!(s["applied"], 1, "{s}");
    assert_eq!(s["duplicates"], 2);
}

#[test]
fn out_of_range_and_millisecond_times() {
    let env = Env::new();
    let key = env.key();
    let (code, s) = env.ingest_text(
        &key,
        &ndjson(&[
            json!({"type":"page","userId":"u","messageId":"1","timestamp":1790000000500_i64}),
            json!({"type":"page","userId":"u","messageId":"2","timestamp":"+262142-12-31T00:00:00Z"}),
        ]),
    );
    // A time that cannot be kept is passed over (reported) for the arrival time.
    assert_eq!(code, 0, "{s}");
    assert_eq!(s["applied"], 2, "{s}");
    assert_eq!(s["ignored"][0]["attribute"], "timestamp", "{s}");
    assert!(
        s["ignored"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("not a time")
    );
    let pages = env.json(&["pages", "list", "--user", "u"]).1;
    assert!(
        pages
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["timestamp"] == "2026-09-21T14:13:20.500Z"),
        "{pages}"
    );
}

#[test]
fn a_version_2_database_keeps_its_remembered_messages_after_the_upgrade() {
    let env = Env::new();
    let key = env.key();
    // Make the file what version 2 wrote: messageIds kept as text.
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.execute_batch(
        "DROP VIEW member_of;
         DROP INDEX users_owner;
         DROP INDEX pages_anon;
         DROP INDEX events_anon;
         ALTER TABLE users DROP COLUMN owner_ref;
         ALTER TABLE users DROP COLUMN claim_ms;
         ALTER TABLE users DROP COLUMN claim_tie;
         ALTER TABLE users DROP COLUMN shadows;
         ALTER TABLE pages DROP COLUMN anon_ref;
         ALTER TABLE events DROP COLUMN anon_ref;
         DROP TABLE message_keys;
         DROP TABLE rejections;
         DROP TABLE deferred_indexes;
         ALTER TABLE api_keys DROP COLUMN kind;
         CREATE TABLE messages (message_id TEXT PRIMARY KEY) WITHOUT ROWID;
         INSERT INTO messages VALUES ('seen-before');
         PRAGMA user_version = 2;",
    )
    .unwrap();
    drop(conn);
    let file = env.write(
        "e.ndjson",
        &ndjson(&[
            json!({"type":"page","userId":"u1","messageId":"seen-before"}),
            json!({"type":"page","userId":"u1","messageId":"new"}),
        ]),
    );
    let (code, s) = env.ingest(&key, &[&file]);
    assert_eq!(code, 0);
    assert_eq!(s["duplicates"], 1);
    assert_eq!(s["applied"], 1);
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, usercom::store::SCHEMA_VERSION);
    let old_table: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'messages'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old_table, 0);
}
