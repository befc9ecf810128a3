//! Filtering, sorting, aggregating and exporting: `users list`, `companies list`,
//! `events stats`, `pages stats`, and every output format, against the built binary.

mod common;

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use common::{Env, fixture};
use serde_json::{Value, json};

/// A database with typed attributes and fixtures/queries/people.ndjson: alice, bob,
/// carol, dave and the anonymous anon-1; companies acme, globex, initech.
fn people() -> Env {
    let env = Env::new();
    let key = env.key();
    for (name, ty, scope) in [
        ("custom_integer", "number", "user"),
        ("order_completed_last_30days", "boolean", "user"),
        ("signup_date", "date", "user"),
        ("trial_ends", "datetime", "user"),
        ("industry", "string", "company"),
        ("tier", "number", "company"),
    ] {
        let out = env
            .cmd()
            .args(["attrs", "define", name, "--type", ty, "--scope", scope])
            .output()
            .unwrap();
        assert!(out.status.success(), "attrs define {name}");
    }
    let (code, summary) = env.ingest(&key, &[&fixture("queries/people.ndjson")]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["applied"], 21, "{summary}");
    env
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(env: &Env, args: &[&str]) -> Run {
    let out = env.cmd().args(args).output().unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// `users list ARGS --json`: the users' ids (userId, else anonymousId), in order.
fn users(env: &Env, args: &[&str]) -> Vec<String> {
    let mut all = vec!["users", "list"];
    all.extend_from_slice(args);
    let (code, v) = env.json(&all);
    assert_eq!(code, 0, "users list {args:?}");
    ids(&v)
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|u| {
            u["user_id"]
                .as_str()
                .or(u["anonymous_id"].as_str())
                .unwrap()
                .to_string()
        })
        .collect()
}

fn companies(env: &Env, args: &[&str]) -> Vec<String> {
    let mut all = vec!["companies", "list"];
    all.extend_from_slice(args);
    let (code, v) = env.json(&all);
    assert_eq!(code, 0, "companies list {args:?}");
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c["group_id"].as_str().unwrap().to_string())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_where_operator_on_fields_and_attributes() {
    let env = people();
    let cases: &[(&str, &[&str])] = &[
        // numbers (bob's "100" was sent as text and converted by the attribute's type)
        ("custom_integer>100", &["alice"]),
        ("custom_integer>=100", &["alice", "bob"]),
        ("custom_integer<100", &["carol"]),
        ("custom_integer<=100", &["bob", "carol"]),
        ("custom_integer=7.5", &["carol"]),
        ("custom_integer=100", &["bob"]),
        // != also matches users without a value
        ("custom_integer!=100", &["alice", "carol", "dave", "anon-1"]),
        ("custom_integer is null", &["dave", "anon-1"]),
        ("custom_integer is not null", &["alice", "bob", "carol"]),
        // booleans
        ("order_completed_last_30days=true", &["alice"]),
        ("order_completed_last_30days=false", &["bob"]),
        (
            "order_completed_last_30days!=true",
            &["bob", "carol", "dave", "anon-1"],
        ),
        // dates
        ("signup_date>=2026-01-01", &["alice", "carol"]),
        ("signup_date<2026-01-10", &["bob"]),
        ("signup_date=2026-02-01", &["carol"]),
        ("signup_date<=2026-01-10", &["alice", "bob"]),
        // datetimes: a date alone is the whole (UTC) day
        ("trial_ends=2026-02-01", &["alice", "bob"]),
        ("trial_ends>2026-02-01", &["carol"]),
        ("trial_ends>=2026-02-01T12:00:00Z", &["bob", "carol"]),
        ("trial_ends<2026-02-01T23:30:00Z", &["alice"]),
        ("trial_ends!=2026-02-01", &["carol", "dave", "anon-1"]),
        // text fields and attributes
        ("country=Poland", &["alice", "carol"]),
        ("country!=Poland", &["bob", "dave", "anon-1"]),
        ("country>H", &["alice", "carol"]),
        ("country<H", &["bob"]),
        ("email~EXAMPLE.com", &["alice", "carol"]),
        ("city~ŁÓDŹ", &["alice"]),
        ("city~kraków", &["carol"]),
        ("email is null", &["dave", "anon-1"]),
        ("plan='Pro Annual'", &["alice"]),
        ("plan=\"pro, \"legacy\"\"", &["dave"]),
        ("plan~pro", &["alice", "dave"]),
        ("attributes.plan=free", &["bob"]),
        // counters and times of the profile
        ("page_views>=1", &["alice", "bob", "carol", "anon-1"]),
        ("page_views=0", &["dave"]),
        ("last_seen>=2026-02-05", &["alice", "carol"]),
        ("last_seen=2026-02-04", &["anon-1"]),
        ("last_seen is null", &["dave"]),
        ("created_at<2026-01-12", &["alice", "bob"]),
        ("user_id=alice", &["alice"]),
        ("anonymous_id=anon-1", &["anon-1"]),
    ];
    for (expr, expected) in cases {
        assert_eq!(
            sorted(users(&env, &["--where", expr])),
            sorted(names(expected)),
            "--where {expr}"
        );
    }
}

#[test]
fn where_values_are_never_sql() {
    let env = people();
    for expr in [
        "email=x' OR '1'='1",
        "country=Poland' --",
        "plan~%",
        "plan~_",
        "email~\\",
    ] {
        assert_eq!(
            users(&env, &["--where", expr]),
            Vec::<String>::new(),
            "{expr}"
        );
    }
    // The users table is intact.
    assert_eq!(users(&env, &[]).len(), 5);
}

#[test]
fn filters_combine_and_all_must_hold() {
    let env = people();
    assert_eq!(
        users(
            &env,
            &["--where", "country=Poland", "--where", "custom_integer>100"]
        ),
        ["alice"]
    );
    assert_eq!(
        users(
            &env,
            &["--did", "Order Completed", "--not-visited", "/pricing"]
        ),
        ["bob"]
    );
    assert_eq!(
        users(
            &env,
            &[
                "--in-company",
                "acme",
                "--visited",
                "pricing",
                "--where",
                "plan is not null",
                "--seen-since",
                "2026-02-01",
            ]
        ),
        ["alice"]
    );
    assert_eq!(
        users(&env, &["--did", "Order Completed", "--did", "Signed Up"]),
        ["alice"]
    );
    assert_eq!(
        users(
            &env,
            &["--where", "country=Poland", "--not-did", "Order Completed"]
        ),
        ["carol"]
    );
    assert_eq!(
        users(
            &env,
            &["--where", "country=Germany", "--visited", "pricing"]
        ),
        Vec::<String>::new()
    );
}

#[test]
fn events_page_views_companies_and_last_seen() {
    let env = people();
    let cases: &[(&[&str], &[&str])] = &[
        (&["--did", "Order Completed"], &["alice", "bob"]),
        (&["--did", "Order Completed", "--at-least", "2"], &["alice"]),
        (&["--did", "Order Completed", "--at-least", "4"], &[]),
        (&["--did", "Signed Up", "--at-least", "2"], &["carol"]),
        (
            &["--not-did", "Order Completed"],
            &["carol", "dave", "anon-1"],
        ),
        // --at-least with --not-did: fewer than N times
        (
            &["--not-did", "Order Completed", "--at-least", "2"],
            &["bob", "carol", "dave", "anon-1"],
        ),
        // the window: since inclusive, until exclusive, a date until includes its day
        (
            &["--did", "Order Completed", "--since", "2026-02-12"],
            &["alice", "bob"],
        ),
        (
            &["--did", "Order Completed", "--since", "2026-02-16"],
            &["alice"],
        ),
        (
            &["--did", "Order Completed", "--until", "2026-02-10"],
            &["alice"],
        ),
        (
            &[
                "--did",
                "Order Completed",
                "--until",
                "2026-02-10T11:00:00Z",
            ],
            &["alice"],
        ),
        (
            &[
                "--did",
                "Order Completed",
                "--since",
                "2026-02-02",
                "--until",
                "2026-02-14",
                "--at-least",
                "1",
            ],
            &["alice"],
        ),
        (
            &[
                "--did",
                "Order Completed",
                "--since",
                "2026-02-02",
                "--until",
                "2026-02-28",
                "--at-least",
                "2",
            ],
            &["alice"],
        ),
        (
            &["--not-did", "Order Completed", "--since", "2026-02-16"],
            &["bob", "carol", "dave", "anon-1"],
        ),
        // page views: URL substring, case-insensitive
        (&["--visited", "/pricing"], &["alice", "carol"]),
        (
            &["--visited", "shop.example.com/"],
            &["alice", "bob", "carol", "anon-1"],
        ),
        (&["--visited", "/blog"], &["anon-1"]),
        (&["--visited", "/nowhere"], &[]),
        (&["--not-visited", "/pricing"], &["bob", "dave", "anon-1"]),
        (&["--visited", "/docs", "--visited", "/pricing"], &["alice"]),
        // companies
        (&["--in-company", "acme"], &["alice", "bob"]),
        (&["--in-company", "globex"], &["carol"]),
        (&["--in-company", "acme", "--in-company", "globex"], &[]),
        // last seen
        (&["--seen-since", "2026-02-05"], &["alice", "carol"]),
        (
            &["--seen-since", "2026-02-04T12:00:00Z"],
            &["alice", "carol", "anon-1"],
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(
            sorted(users(&env, args)),
            sorted(names(expected)),
            "users list {args:?}"
        );
    }
}

#[test]
fn relative_times_count_back_from_now() {
    let env = Env::new();
    let key = env.key();
    let ago = |d: Duration| (Utc::now() - d).to_rfc3339();
    let events = [
        json!({"type": "track", "userId": "recent", "event": "Order Completed",
               "timestamp": ago(Duration::days(2))}),
        json!({"type": "track", "userId": "old", "event": "Order Completed",
               "timestamp": ago(Duration::days(40))}),
        json!({"type": "page", "userId": "recent", "timestamp": ago(Duration::hours(5)),
               "properties": {"url": "https://example.com/pricing"}}),
        json!({"type": "page", "userId": "old", "timestamp": ago(Duration::days(20)),
               "properties": {"url": "https://example.com/home"}}),
        json!({"type": "identify", "userId": "old",
               "traits": {"renewal": ago(Duration::days(10))}}),
    ];
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    let (code, _) = env.ingest_text(&key, &text);
    assert_eq!(code, 0);
    let out = env
        .cmd()
        .args(["attrs", "define", "renewal", "--type", "datetime"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        users(&env, &["--did", "Order Completed", "--since", "30d"]),
        ["recent"]
    );
    assert_eq!(
        users(&env, &["--did", "Order Completed", "--until", "30d"]),
        ["old"]
    );
    assert_eq!(
        users(
            &env,
            &["--did", "Order Completed", "--since", "1w", "--until", "1d"]
        ),
        ["recent"]
    );
    assert_eq!(users(&env, &["--seen-since", "12h"]), ["recent"]);
    assert_eq!(users(&env, &["--seen-since", "3 days ago"]), ["recent"]);
    assert_eq!(users(&env, &["--where", "last_seen<7d"]), ["old"]);
    assert_eq!(users(&env, &["--where", "renewal>=2w"]), ["old"]);
    assert_eq!(
        users(&env, &["--where", "renewal>=1w"]),
        Vec::<String>::new()
    );
    assert_eq!(
        sorted(users(&env, &["--where", "last_seen>=today", "--all"])),
        // the page view 5 hours ago is today unless the test runs just after midnight
        sorted(
            if (Utc::now() - Duration::hours(5)).date_naive() == Utc::now().date_naive() {
                names(&["recent"])
            } else {
                Vec::new()
            }
        )
    );
    let (_, stats) = env.json(&["events", "stats", "--since", "30d"]);
    assert_eq!(
        stats,
        json!([{"name": "Order Completed", "count": 1, "users": 1,
        "first": stats[0]["first"], "last": stats[0]["last"]}])
    );
}

#[test]
fn sort_limit_and_count() {
    let env = people();
    // missing values sort last, in both directions
    assert_eq!(
        users(&env, &["--sort", "custom_integer:desc"]),
        ["alice", "bob", "carol", "dave", "anon-1"]
    );
    assert_eq!(
        users(&env, &["--sort", "custom_integer"]),
        ["carol", "bob", "alice", "dave", "anon-1"]
    );
    assert_eq!(
        users(&env, &["--sort", "custom_integer:asc", "--limit", "2"]),
        ["carol", "bob"]
    );
    assert_eq!(
        users(&env, &["--sort", "last_seen:desc", "--limit", "2"]),
        ["alice", "carol"]
    );
    // text in binary order (upper case first), missing emails last
    assert_eq!(
        users(&env, &["--sort", "email"]),
        ["carol", "alice", "bob", "dave", "anon-1"]
    );
    assert_eq!(users(&env, &["--limit", "0"]).len(), 5);
    assert_eq!(users(&env, &["--all"]).len(), 5);
    // the default order: by userId, anonymous profiles last
    assert_eq!(
        users(&env, &[]),
        ["alice", "bob", "carol", "dave", "anon-1"]
    );

    let count = run(
        &env,
        &["users", "list", "--count", "--where", "country=Poland"],
    );
    assert_eq!((count.code, count.stdout.as_str()), (0, "2\n"));
    let (code, v) = env.json(&["users", "list", "--count", "--did", "Order Completed"]);
    assert_eq!((code, v), (0, json!({"count": 2})));
    let (code, v) = env.json(&["companies", "list", "--count", "--where", "members>=2"]);
    assert_eq!((code, v), (0, json!({"count": 1})));
}

#[test]
fn the_table_shows_a_page_and_says_when_more_matched() {
    let env = Env::new();
    let key = env.key();
    let text: String = (0..105)
        .map(|i| {
            format!(
                "{}\n",
                json!({"type": "identify", "userId": format!("u{i:03}")})
            )
        })
        .collect();
    assert_eq!(env.ingest_text(&key, &text).0, 0);
    let rows = |out: &str| {
        out.lines()
            .filter(|l| l.starts_with("│ u0") || l.starts_with("│ u1"))
            .count()
    };

    let table = run(&env, &["users", "list"]);
    assert_eq!(table.code, 0);
    assert_eq!(rows(&table.stdout), 100);
    assert!(table.stderr.contains("100 users shown"), "{}", table.stderr);
    assert!(table.stderr.contains("--all"), "{}", table.stderr);
    assert!(!table.stdout.contains("u100"));

    for args in [
        &["users", "list", "--all"][..],
        &["users", "list", "--limit", "0"],
    ] {
        let all = run(&env, args);
        assert_eq!(rows(&all.stdout), 105, "{args:?}");
        assert!(all.stderr.contains("105 users"), "{}", all.stderr);
        assert!(!all.stderr.contains("more match"));
    }
    let some = run(&env, &["users", "list", "--limit", "7"]);
    assert_eq!(rows(&some.stdout), 7);
    assert!(!some.stderr.contains("more match"));

    // Machine formats print every user unless told otherwise.
    assert_eq!(users(&env, &[]).len(), 105);
    let ndjson = run(&env, &["users", "list", "--ndjson"]);
    assert_eq!(ndjson.stdout.lines().count(), 105);
    let csv = run(&env, &["users", "list", "--csv"]);
    assert_eq!(csv.stdout.lines().count(), 106);
    assert_eq!(users(&env, &["--limit", "3"]), ["u000", "u001", "u002"]);
}

#[test]
fn bad_filters_are_usage_errors_that_name_the_problem() {
    let env = people();
    let cases: &[(&[&str], &str)] = &[
        (
            &["users", "list", "--where", "custom_integr>100"],
            "unknown field \"custom_integr\"",
        ),
        (
            &["users", "list", "--where", "custom_integer>lots"],
            "custom_integer is a number",
        ),
        (
            &["users", "list", "--where", "custom_integer>lots"],
            "\"lots\" is not a number",
        ),
        (
            &[
                "users",
                "list",
                "--where",
                "order_completed_last_30days=maybe",
            ],
            "order_completed_last_30days is a boolean",
        ),
        (
            &[
                "users",
                "list",
                "--where",
                "order_completed_last_30days>true",
            ],
            "compare it with = or !=",
        ),
        (
            &["users", "list", "--where", "signup_date>=someday"],
            "signup_date is a date",
        ),
        (
            &["users", "list", "--where", "trial_ends<later"],
            "trial_ends is a datetime",
        ),
        (
            &["users", "list", "--where", "page_views~1"],
            "~ (contains) works on text",
        ),
        (
            &["users", "list", "--where", "page_views>x"],
            "page_views is a number",
        ),
        (&["users", "list", "--where", "country"], "no operator"),
        (
            &["users", "list", "--where", "country="],
            "'country is null'",
        ),
        (
            &["users", "list", "--where", "industry=Software"],
            "unknown field \"industry\"",
        ),
        (
            &["users", "list", "--sort", "nope:desc"],
            "unknown field \"nope\"",
        ),
        (
            &["users", "list", "--sort", "email:sideways"],
            "unknown direction",
        ),
        (
            &["users", "list", "--since", "30d"],
            "--since qualifies --did or --not-did",
        ),
        (
            &["users", "list", "--at-least", "2"],
            "--at-least qualifies --did",
        ),
        (
            &["users", "list", "--did", "X", "--since", "last tuesday"],
            "--since: \"last tuesday\" is not a time",
        ),
        (
            &["users", "list", "--seen-since", "soon"],
            "--seen-since: \"soon\" is not a time",
        ),
        (
            &["companies", "list", "--where", "custom_integer>1"],
            "unknown field \"custom_integer\"",
        ),
        (
            &["companies", "list", "--where", "employees>many"],
            "employees is a number",
        ),
        (
            &["companies", "list", "--where", "members>=two"],
            "members is a number",
        ),
        (
            &["events", "stats", "--since", "whenever"],
            "--since: \"whenever\" is not a time",
        ),
        (
            &["pages", "list", "--until", "never"],
            "--until: \"never\" is not a time",
        ),
    ];
    for (args, message) in cases {
        let out = run(&env, args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{args:?}");
    }
    // clap's own errors are usage errors too.
    assert_eq!(
        run(&env, &["users", "list", "--did", "X", "--at-least", "0"]).code,
        2
    );
    assert_eq!(run(&env, &["events", "stats", "--by", "url"]).code, 2);
    assert_eq!(
        run(&env, &["users", "list", "--limit", "3", "--all"]).code,
        2
    );
    // Unknown things asked for are "not found" (exit 1), as for `show`.
    let out = run(&env, &["users", "list", "--in-company", "umbrella"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no company with groupId \"umbrella\""));
    // An event never recorded is allowed (it may come later) but warned about.
    let out = run(
        &env,
        &["users", "list", "--did", "Order Complete", "--json"],
    );
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout.trim(), "[]");
    assert!(out.stderr.contains("no event named \"Order Complete\""));
}

/// `users show --json` without the activity: what a list row must equal.
fn shown(env: &Env, id: &str) -> Value {
    let mut v = env.user(id);
    let o = v.as_object_mut().unwrap();
    o.remove("recent_events");
    o.remove("recent_pages");
    v
}

#[test]
fn json_and_ndjson_exports_hold_every_field_and_attribute() {
    let env = people();
    let (code, list) = env.json(&["users", "list"]);
    assert_eq!(code, 0);
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 5);
    for user in &list {
        let id = user["user_id"]
            .as_str()
            .or(user["anonymous_id"].as_str())
            .unwrap();
        assert_eq!(user, &shown(&env, id), "{id}");
    }
    let alice = &list[0];
    assert_eq!(
        alice["attributes"],
        json!({"custom_integer": 150, "order_completed_last_30days": true,
               "plan": "Pro Annual", "signup_date": "2026-01-10",
               "trial_ends": "2026-02-01T10:00:00.000Z"})
    );
    assert_eq!(alice["companies"], json!(["acme"]));

    let ndjson = run(&env, &["users", "list", "--ndjson"]);
    assert_eq!(ndjson.code, 0);
    let lines: Vec<Value> = ndjson
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, list);
    // Filters apply to every format alike.
    let filtered = run(
        &env,
        &["users", "list", "--ndjson", "--where", "country=Poland"],
    );
    assert_eq!(filtered.stdout.lines().count(), 2);

    // The streamed array is pretty-printed like a whole one.
    let raw = run(&env, &["users", "list", "--json"]);
    assert!(
        raw.stdout
            .starts_with("[\n  {\n    \"user_id\": \"alice\",\n"),
        "{}",
        raw.stdout
    );
    assert!(raw.stdout.ends_with("\n  }\n]\n"));
    assert!(
        raw.stdout
            .contains("\n  },\n  {\n    \"user_id\": \"bob\",\n")
    );
}

/// Parses CSV into header -> cell maps.
fn parse_csv(text: &str) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect();
    (headers, rows)
}

/// A JSON value as a CSV cell: null is empty, strings bare, the rest as JSON.
fn as_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(as_cell).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

#[test]
fn csv_has_a_column_per_attribute_and_parses_back_to_the_json() {
    let env = people();
    let out = run(&env, &["users", "list", "--csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (headers, rows) = parse_csv(&out.stdout);
    for attr in [
        "custom_integer",
        "order_completed_last_30days",
        "plan",
        "signup_date",
        "trial_ends",
    ] {
        assert!(
            headers.contains(&format!("attributes.{attr}")),
            "{headers:?}"
        );
    }
    for field in [
        "user_id",
        "anonymous_id",
        "email",
        "country",
        "current_url",
        "page_views",
        "last_seen",
        "companies",
        "created_at",
        "updated_at",
    ] {
        assert!(headers.contains(&field.to_string()), "{field}");
    }
    let (_, list) = env.json(&["users", "list"]);
    let list = list.as_array().unwrap();
    assert_eq!(rows.len(), list.len());
    for (row, user) in rows.iter().zip(list) {
        for header in &headers {
            let expected = match header.strip_prefix("attributes.") {
                Some(attr) => as_cell(&user["attributes"][attr]),
                None => as_cell(&user[header.as_str()]),
            };
            assert_eq!(&row[header], &expected, "{header} of {}", row["user_id"]);
        }
    }
    // Quotes and commas survive: dave's plan is `pro, "legacy"`.
    let dave = rows.iter().find(|r| r["user_id"] == "dave").unwrap();
    assert_eq!(dave["attributes.plan"], "pro, \"legacy\"");
    assert_eq!(dave["attributes.custom_integer"], "");

    // Companies: fields, member count and ids, attributes (defined ones even if unset).
    let out = run(&env, &["companies", "list", "--csv"]);
    let (headers, rows) = parse_csv(&out.stdout);
    assert!(headers.contains(&"attributes.industry".to_string()));
    assert!(headers.contains(&"attributes.tier".to_string()));
    let (_, list) = env.json(&["companies", "list"]);
    for (row, company) in rows.iter().zip(list.as_array().unwrap()) {
        for header in &headers {
            let expected = match header.as_str() {
                "members" => company["member_count"].to_string(),
                "member_ids" => as_cell(&company["members"]),
                h => match h.strip_prefix("attributes.") {
                    Some(attr) => as_cell(&company["attributes"][attr]),
                    None => as_cell(&company[h]),
                },
            };
            assert_eq!(&row[header], &expected, "{header}");
        }
    }
}

#[test]
fn table_output_is_the_default() {
    let env = people();
    let out = run(&env, &["users", "list", "--where", "country=Poland"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("│ alice"));
    assert!(out.stdout.contains("│ carol"));
    assert!(!out.stdout.contains("│ bob"));
    assert_eq!(out.stderr.trim(), "2 users");
    let anon = run(&env, &["users", "list", "--visited", "/blog"]);
    assert!(anon.stdout.contains("(anon-1)"), "{}", anon.stdout);
    let companies = run(&env, &["companies", "list", "--where", "members>=2"]);
    assert!(companies.stdout.contains("Acme Corp"));
    assert_eq!(companies.stderr.trim(), "1 company");
    let stats = run(&env, &["events", "stats"]);
    assert!(stats.stdout.contains("Order Completed"));
    assert_eq!(stats.stderr.trim(), "2 rows, 7 events");
}

#[test]
fn companies_filter_on_fields_attributes_and_member_counts() {
    let env = people();
    let cases: &[(&str, &[&str])] = &[
        ("employees>=50", &["acme"]),
        ("employees<50", &["globex"]),
        ("employees is null", &["initech"]),
        ("employees!=250", &["globex", "initech"]),
        ("members>=2", &["acme"]),
        ("members=1", &["globex", "initech"]),
        ("country=Poland", &["acme"]),
        ("name~CORP", &["acme"]),
        ("industry=Software", &["acme"]),
        ("industry~fact", &["globex"]),
        ("industry is null", &["initech"]),
        ("tier is null", &["acme", "globex", "initech"]),
        ("group_id!=acme", &["globex", "initech"]),
        ("created_at>=2026-01-12", &["globex", "initech"]),
    ];
    for (expr, expected) in cases {
        assert_eq!(
            sorted(companies(&env, &["--where", expr])),
            sorted(names(expected)),
            "--where {expr}"
        );
    }
    assert_eq!(
        companies(&env, &["--where", "employees>10", "--where", "country=USA"]),
        ["globex"]
    );
    assert_eq!(
        companies(&env, &["--sort", "employees:desc"]),
        ["acme", "globex", "initech"]
    );
    assert_eq!(
        companies(&env, &["--sort", "members:desc", "--limit", "1"]),
        ["acme"]
    );
    let (_, list) = env.json(&["companies", "list"]);
    let acme = &list[0];
    assert_eq!(acme["member_count"], 2);
    assert_eq!(acme["members"], json!(["alice", "bob"]));
    assert_eq!(acme["employees"], 250);
    assert_eq!(acme["attributes"], json!({"industry": "Software"}));
    // The list row is the `show` object plus the member count.
    let (_, shown) = env.json(&["companies", "show", "acme"]);
    let mut row = acme.clone();
    row.as_object_mut().unwrap().remove("member_count");
    assert_eq!(row, shown);
}

fn stats(env: &Env, args: &[&str]) -> Vec<Value> {
    let (code, v) = env.json(args);
    assert_eq!(code, 0, "{args:?}");
    v.as_array().unwrap().clone()
}

/// (key, count, users) of each bucket.
fn buckets(rows: &[Value], key: &str) -> Vec<(Value, i64, i64)> {
    rows.iter()
        .map(|r| {
            (
                r[key].clone(),
                r["count"].as_i64().unwrap(),
                r["users"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn event_and_page_aggregates() {
    let env = people();
    let by_name = stats(&env, &["events", "stats"]);
    assert_eq!(
        buckets(&by_name, "name"),
        [(json!("Order Completed"), 4, 2), (json!("Signed Up"), 3, 2)]
    );
    assert_eq!(by_name[0]["first"], "2026-02-01T11:00:00.000Z");
    assert_eq!(by_name[0]["last"], "2026-02-20T11:00:00.000Z");
    assert_eq!(
        buckets(&stats(&env, &["events", "stats", "--by", "week"]), "week"),
        [
            (json!("2026-01-05"), 1, 1),
            (json!("2026-01-12"), 2, 1),
            (json!("2026-01-26"), 1, 1),
            (json!("2026-02-09"), 2, 2),
            (json!("2026-02-16"), 1, 1),
        ]
    );
    assert_eq!(
        buckets(
            &stats(
                &env,
                &[
                    "events",
                    "stats",
                    "--by",
                    "day",
                    "--name",
                    "Order Completed",
                    "--since",
                    "2026-02-10",
                    "--until",
                    "2026-02-15"
                ]
            ),
            "day"
        ),
        [(json!("2026-02-10"), 1, 1), (json!("2026-02-15"), 1, 1)]
    );
    assert_eq!(
        buckets(&stats(&env, &["events", "stats", "--by", "month"]), "month"),
        [(json!("2026-01"), 3, 2), (json!("2026-02"), 4, 2)]
    );
    assert_eq!(
        buckets(&stats(&env, &["events", "stats", "--by", "user"]), "user"),
        [
            (json!("alice"), 4, 1),
            (json!("carol"), 2, 1),
            (json!("bob"), 1, 1)
        ]
    );
    assert_eq!(
        buckets(
            &stats(&env, &["events", "stats", "--by", "user", "--limit", "1"]),
            "user"
        ),
        [(json!("alice"), 4, 1)]
    );
    assert_eq!(
        buckets(
            &stats(&env, &["events", "stats", "--user", "carol"]),
            "name"
        ),
        [(json!("Signed Up"), 2, 1)]
    );

    assert_eq!(
        buckets(
            &stats(
                &env,
                &["pages", "stats", "--by", "path", "--url", "pricing"]
            ),
            "path"
        ),
        [(json!("/pricing"), 2, 1), (json!("/PRICING"), 1, 1)]
    );
    assert_eq!(
        buckets(&stats(&env, &["pages", "stats", "--by", "name"]), "name"),
        [
            (json!("Pricing"), 3, 2),
            (json!("Blog"), 1, 1),
            (json!("Docs"), 1, 1),
            (json!("Home"), 1, 1),
        ]
    );
    let by_url = stats(&env, &["pages", "stats"]);
    assert_eq!(by_url[0]["url"], "https://shop.example.com/pricing");
    assert_eq!(by_url.len(), 5);
    assert_eq!(
        buckets(
            &stats(
                &env,
                &["pages", "stats", "--by", "day", "--since", "2026-02-09"]
            ),
            "day"
        ),
        [(json!("2026-02-09"), 1, 1), (json!("2026-02-10"), 1, 1)]
    );
    assert_eq!(
        buckets(&stats(&env, &["pages", "stats", "--by", "user"]), "user"),
        [
            (json!("alice"), 3, 1),
            (json!("anon-1"), 1, 1),
            (json!("bob"), 1, 1),
            (json!("carol"), 1, 1),
        ]
    );

    // CSV and ndjson carry the same buckets.
    let csv = run(&env, &["events", "stats", "--by", "week", "--csv"]);
    let (headers, rows) = parse_csv(&csv.stdout);
    assert_eq!(headers, ["week", "count", "users", "first", "last"]);
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[3]["week"], "2026-02-09");
    assert_eq!(rows[3]["count"], "2");
    let nd = run(&env, &["events", "stats", "--ndjson"]);
    let first: Value = serde_json::from_str(nd.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first, by_name[0]);
}

#[test]
fn event_and_page_lists_filter_and_stream_in_every_format() {
    let env = people();
    let (_, all) = env.json(&["events", "list"]);
    assert_eq!(all.as_array().unwrap().len(), 7);
    let (_, window) = env.json(&[
        "events",
        "list",
        "--name",
        "Order Completed",
        "--since",
        "2026-02-10",
        "--until",
        "2026-02-15",
    ]);
    let ids: Vec<&str> = window
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["q-ev-2", "q-ev-4"]);
    let (_, limited) = env.json(&["events", "list", "--limit", "2"]);
    assert_eq!(limited, json!([all[0], all[1]]));

    let nd = run(&env, &["events", "list", "--ndjson"]);
    let lines: Vec<Value> = nd
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(Value::Array(lines), all);
    let csv = run(&env, &["events", "list", "--csv", "--user", "carol"]);
    let (headers, rows) = parse_csv(&csv.stdout);
    assert!(headers.contains(&"message_id".to_string()));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["message_id"], "q-ev-6");

    let (_, pages) = env.json(&["pages", "list", "--url", "PRICING"]);
    let ids: Vec<&str> = pages
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["q-pg-1", "q-pg-5", "q-pg-3"]);
    let nd = run(&env, &["pages", "list", "--ndjson", "--user", "anon-1"]);
    let page: Value = serde_json::from_str(nd.stdout.trim()).unwrap();
    assert_eq!(page["url"], "https://shop.example.com/blog/hello");
    assert_eq!(page["anonymous_id"], "anon-1");
    let csv = run(&env, &["pages", "list", "--csv"]);
    assert_eq!(parse_csv(&csv.stdout).1.len(), 6);
}

#[test]
fn the_schema_has_indexes_for_these_queries() {
    let env = people();
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    for index in ["users_last_seen", "events_name_user"] {
        let found: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
                [index],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(found, 1, "{index}");
    }
    // Replaced by events_name_user.
    let old: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'events_name'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 0);
}

#[test]
fn columns_choose_what_tables_and_csv_show() {
    let env = people();
    let out = run(
        &env,
        &[
            "users",
            "list",
            "--csv",
            "--columns",
            "user_id,email,custom_integer,attributes.plan,name,companies",
            "--where",
            "country=Poland",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (headers, rows) = parse_csv(&out.stdout);
    assert_eq!(
        headers,
        [
            "user_id",
            "email",
            "attributes.custom_integer",
            "attributes.plan",
            "name",
            "companies"
        ]
    );
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["attributes.custom_integer"], "150");
    assert_eq!(rows[0]["attributes.plan"], "Pro Annual");
    assert_eq!(rows[0]["name"], "Alice Nowak");
    assert_eq!(rows[0]["companies"], "acme");
    assert_eq!(rows[1]["attributes.plan"], "");

    let table = run(
        &env,
        &[
            "users",
            "list",
            "--columns",
            "user_id,custom_integer",
            "--visited",
            "/",
        ],
    );
    let header = table.stdout.lines().nth(1).unwrap();
    assert!(header.contains("custom_integer") && !header.contains("attributes."));
    assert!(table.stdout.contains("(anon-1)"));
    assert!(
        table.stdout.contains("│ alice    ┆ 150 "),
        "{}",
        table.stdout
    );

    let bad = run(&env, &["users", "list", "--columns", "user_id,shoe_size"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("unknown column \"shoe_size\""));
    // JSON always has every field.
    let (_, v) = env.json(&["users", "list", "--columns", "user_id", "--limit", "1"]);
    assert_eq!(v[0], shown(&env, "alice"));
}
