//! What reaches the operator's terminal: event data can never drive it.

mod common;

use common::Env;
use serde_json::json;

const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\rspoof\u{9b}31m";

fn assert_inert(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for bad in ['\u{1b}', '\u{7}', '\r', '\u{9b}'] {
        assert!(!text.contains(bad), "{what} has {bad:?}: {text:?}");
    }
}

#[test]
fn control_characters_from_events_are_escaped_in_tables_and_messages() {
    let env = Env::new();
    let key = env.key();
    let events = [
        json!({"type":"identify","userId":"t1","messageId":"m1","timestamp":"2026-10-01T00:00:00Z",
               "traits":{"email":format!("a{HOSTILE}@x.com"),"plan":HOSTILE, HOSTILE: "x"}}),
        json!({"type":"track","userId":"t1","event":HOSTILE,"messageId":"m2",
               "properties":{"k":HOSTILE}}),
        json!({"type":"page","userId":"t1","messageId":"m3","name":HOSTILE,
               "properties":{"url":format!("https://x.com/{HOSTILE}")}}),
        json!({"type":"group","userId":"t1","groupId":HOSTILE,"messageId":"m4",
               "traits":{"name":HOSTILE,"plan":HOSTILE}}),
        json!({"type":"identify","userId":HOSTILE,"messageId":"m5","timestamp":"soon\u{1b}[2J"}),
        json!({"type":HOSTILE,"userId":"t2","messageId":"m6"}),
        json!({"type":"group","userId":HOSTILE,"groupId":"g2","messageId":"m7"}),
    ];
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    let out = env
        .cmd()
        .args(["ingest", "--api-key", &key])
        .write_stdin(text)
        .output()
        .unwrap();
    assert_inert("ingest's messages", &out.stderr);
    for args in [
        vec!["users", "list"],
        vec!["users", "show", "t1"],
        vec!["companies", "list"],
        vec!["events", "list"],
        vec!["pages", "list"],
        vec!["attrs", "list"],
        vec!["companies", "show", "g2"],
    ] {
        let out = env.cmd().args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert_inert(&format!("{args:?}"), &out.stdout);
        assert_inert(&format!("{args:?} stderr"), &out.stderr);
    }
    // JSON stays exact.
    let user = env.user("t1");
    assert_eq!(user["attributes"]["plan"], HOSTILE);
    assert_eq!(user["email"], format!("a{HOSTILE}@x.com"));
}
