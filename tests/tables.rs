//! Tables on the terminal: readable widths, counted words that agree with numbers.

mod common;

use common::Env;
use serde_json::json;

#[test]
fn users_list_fits_a_100_column_terminal_and_exports_stay_complete() {
    let env = Env::new();
    let key = env.key();
    let long = "x".repeat(80);
    let mut text = String::new();
    for i in 0..3 {
        let event = json!({"type":"identify","userId":format!("user-{i}-{long}"),
            "context":{"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36","locale":"en-US"},
            "traits":{"email":format!("someone.with.a.long.address.{i}@{long}.example.com"),
                      "name":format!("Maximilian {long}"),"plan":"pro","bio":long.clone(),"logins":i}});
        text.push_str(&format!("{event}\n"));
        let group = json!({"type":"group","userId":format!("user-{i}-{long}"),"groupId":format!("company-{long}")});
        text.push_str(&format!("{group}\n"));
    }
    env.ingest_text(&key, &text);
    let out = env.cmd().args(["users", "list"]).output().unwrap();
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    for line in table.lines() {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    assert_eq!(table.lines().count(), 3 + 4, "one line a user:\n{table}");
    assert!(table.contains('…'), "{table}");
    let header = table.lines().nth(1).unwrap();
    for column in [
        "user_id",
        "email",
        "name",
        "last_seen",
        "page_views",
        "companies",
        "attributes",
    ] {
        assert!(header.contains(column), "{column} in {header}");
    }
    assert!(!header.contains("browser_family"), "{header}");
    // --columns picks others; exports keep every value whole.
    let out = env
        .cmd()
        .args(["users", "list", "--columns", "user_id,language,plan"])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("en-US") && table.contains("plan"), "{table}");
    let (_, users) = env.json(&["users", "list"]);
    assert_eq!(users[0]["attributes"]["bio"], long);
    let out = env.cmd().args(["users", "list", "--csv"]).output().unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.contains(&format!("someone.with.a.long.address.0@{long}.example.com")));
    assert!(csv.lines().next().unwrap().contains("browser_family"));
}

#[test]
fn users_show_finds_an_email_whatever_its_case() {
    let env = Env::new();
    let key = env.key();
    env.ingest_text(
        &key,
        &format!(
            "{}\n",
            json!({"type":"identify","userId":"ada","traits":{"email":"Ada@Example.com"}})
        ),
    );
    for asked in ["Ada@Example.com", "ada@example.com", "ADA@EXAMPLE.COM"] {
        let (code, user) = env.json(&["users", "show", asked]);
        assert_eq!(code, 0, "{asked}");
        assert_eq!(user["user_id"], "ada");
    }
}

#[test]
fn counted_words_agree_with_their_numbers() {
    let env = Env::new();
    let key = env.key();
    let text: String = [
        json!({"type":"identify","userId":"a","traits":{"score":"12"}}),
        json!({"type":"identify","userId":"b","traits":{"score":"lots"}}),
    ]
    .iter()
    .map(|e| format!("{e}\n"))
    .collect();
    env.ingest_text(&key, &text);
    let out = env
        .cmd()
        .args(["attrs", "define", "score", "--type", "number"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(": 1 value was converted."), "{stderr}");
    assert!(
        stderr.contains("1 value could not be converted and was kept aside"),
        "{stderr}"
    );
    let out = env
        .cmd()
        .args(["users", "list", "--limit", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 user"), "{stderr}");
    assert!(!stderr.contains("1 users"), "{stderr}");
}
