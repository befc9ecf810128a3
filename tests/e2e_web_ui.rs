//! End to end with the web UI in a real headless Chromium (Debian's `chromium`, driven
//! by `puppeteer-core`, tests/e2e/web_ui.mjs) on the demo data: filter users and open
//! a profile and follow a "why" link to a value's explanation; define an attribute and see the conversion report; create a key (shown
//! once) and revoke it; add a trusted domain; watch an event sent by analytics.js from
//! another page appear on the live page (and wait while paused); XSS payloads in
//! traits and an event name shown as text; a POST without the CSRF token refused;
//! axe-core finds no serious accessibility violation; with JavaScript off, users can
//! still be filtered and a profile opened. Screenshots of each page go to
//! docs/screenshots/ (README shows them).
//!
//! What is missing is installed first, as for tests/e2e_browser.rs:
//!   apt-get update && apt-get install -y chromium
//!   npm ci --prefix tests/e2e

#[path = "e2e/support.rs"]
mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::{Db, NPM_INSTALL, Server, ensure_chromium, ensure_node_packages, post, run_script};

const XSS_TRAIT: &str = "<img src=x onerror=\"window.__xss=1\">";
const XSS_SCRIPT: &str = "<script>window.__xss=2</script>";
const XSS_EVENT: &str = "\"><img src=x onerror=\"window.__xss=3\">";

fn ok(result: &Value, step: &str) -> Value {
    let v = result[step].clone();
    assert!(v.get("error").is_none() && !v.is_null(), "{step}: {v}");
    v
}

#[test]
fn the_web_ui_in_a_headless_browser() {
    let db = Db::new();
    let demo = db.dir.path().join("demo.db");
    support::usercom()
        .arg("--db")
        .arg(&demo)
        .arg("demo")
        .output()
        .expect("usercom demo");
    let key = support::usercom()
        .arg("--db")
        .arg(&demo)
        .args(["keys", "create"])
        .output()
        .unwrap();
    let key = String::from_utf8(key.stdout).unwrap().trim().to_string();
    let server = Server::start(&demo, &[]);
    let batch = json!({"batch": [
        {"type": "identify", "userId": "size-a", "traits": {"plan_size": "12"}, "timestamp": "2026-01-01T00:00:00Z"},
        {"type": "identify", "userId": "size-b", "traits": {"plan_size": "lots"}, "timestamp": "2026-01-01T00:00:00Z"},
        {"type": "identify", "userId": "xss-user", "traits": {"first_name": XSS_TRAIT, "motto": XSS_SCRIPT}, "timestamp": "2026-01-01T00:00:00Z"},
        {"type": "track", "userId": "xss-user", "event": XSS_EVENT, "timestamp": "2026-01-01T00:00:00Z"},
    ]});
    post(&server, &key, "/v1/batch", &batch).assert_ok();
    let chromium = ensure_chromium();
    ensure_node_packages();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    let result = run_script(
        "node",
        "web_ui.mjs",
        &[&server.url(), &key, shots.to_str().unwrap()],
        &[("CHROMIUM", chromium.as_os_str())],
        NPM_INSTALL,
    );

    let pages = ok(&result, "pages");
    for (name, page) in pages.as_object().unwrap() {
        assert_eq!(page["status"], 200, "{name}: {page}");
        assert_eq!(page["serious"], json!([]), "{name}: axe-core: {page}");
        assert!(shots.join(format!("{name}.png")).exists(), "{name}");
    }

    let filter = ok(&result, "filter");
    let (before, after) = (
        filter["before"].as_u64().unwrap(),
        filter["after"].as_u64().unwrap(),
    );
    assert!(after > 0 && after < before, "{filter}");
    assert!(
        filter["url"]
            .as_str()
            .unwrap()
            .contains("where=country%3DUS"),
        "{filter}"
    );
    assert!(
        filter["profile"].as_str().unwrap().starts_with("User "),
        "{filter}"
    );

    // A profile's "why" link opens the value's explanation; the value is text there too.
    let why = ok(&result, "why");
    assert!(
        why["url"]
            .as_str()
            .unwrap()
            .ends_with("/ui/why/user/xss-user?name=first_name"),
        "{why}"
    );
    assert!(
        why["heading"]
            .as_str()
            .unwrap()
            .starts_with("Why first_name"),
        "{why}"
    );
    let table = why["table"].as_str().unwrap();
    assert!(
        table.contains("mapped trait") && table.contains(XSS_TRAIT),
        "{why}"
    );
    assert!(why["ran"].is_null(), "{why}");

    let define = ok(&result, "define");
    assert!(
        define["report"]
            .as_str()
            .unwrap()
            .contains("from string to number: 1 converted, 1 could not be converted"),
        "{define}"
    );
    assert!(
        define["unconverted"].as_str().unwrap().contains("size-b"),
        "{define}"
    );

    let key_step = ok(&result, "key");
    assert!(
        key_step["shown"].as_str().unwrap().starts_with("uc_"),
        "{key_step}"
    );
    assert_eq!(key_step["shownAgain"], false, "{key_step}");
    assert!(
        key_step["notice"]
            .as_str()
            .unwrap()
            .starts_with("Revoked key"),
        "{key_step}"
    );
    let keys = support::usercom()
        .arg("--db")
        .arg(&demo)
        .args(["keys", "list", "--json"])
        .output()
        .unwrap();
    let keys: Value = serde_json::from_slice(&keys.stdout).unwrap();
    let made = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "from-the-browser")
        .expect("the key made in the browser");
    assert_eq!(made["kind"], "admin");
    assert!(made["revoked_at"].is_string(), "{made}");

    let live = ok(&result, "live");
    assert_eq!(live["ok"], true, "{live}");
    assert_eq!(live["pausedShowed"], false, "paused: {live}");

    let domain = ok(&result, "domain");
    assert!(
        domain["listed"]
            .as_str()
            .unwrap()
            .contains("shop.example.com"),
        "{domain}"
    );

    let xss = ok(&result, "xss");
    for (page, seen) in xss.as_object().unwrap() {
        assert!(seen["ran"].is_null(), "{page}: {seen}");
        assert_eq!(seen["injected"], 0, "{page}: {seen}");
    }
    let profile = xss["/ui/users/xss-user"]["shown"].as_str().unwrap();
    assert!(
        profile.contains(XSS_TRAIT) && profile.contains(XSS_SCRIPT),
        "{profile}"
    );
    assert!(
        xss["/ui/events"]["shown"]
            .as_str()
            .unwrap()
            .contains(XSS_EVENT)
    );
    assert_eq!(result["dialogs"], json!([]), "{result}");

    assert_eq!(ok(&result, "csrf")["status"], 403);
    let domains = support::usercom()
        .arg("--db")
        .arg(&demo)
        .args(["domains", "list", "--json"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&domains.stdout).contains("evil.example"));

    let plain = ok(&result, "noScript");
    assert_eq!(plain["count"], after, "{plain}");
    assert!(
        plain["heading"].as_str().unwrap().starts_with("User "),
        "{plain}"
    );
    assert!(plain["timeline"].as_u64().unwrap() > 0, "{plain}");
    server.stop();
}
