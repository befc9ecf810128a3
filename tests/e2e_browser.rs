//! End to end with Segment's browser library: analytics.js (npm
//! `@segment/analytics-next` 1.83 and 1.84) in a real headless Chromium (Debian's
//! `chromium`, driven by `puppeteer-core`) sends an anonymous page call, then identify,
//! page, track and group to `usercom serve`; the CLI then shows the result. Covered:
//! the npm `AnalyticsBrowser.load` form (1.84 standard and batching delivery, 1.83
//! standard), the official snippet, a 503 retried by the library (through a
//! fault-injecting proxy), and a revoked key (a 403 the page can read; nothing stored).
//!
//! What is missing is installed first (CI's .ci/run does it up front):
//!   apt-get update && apt-get install -y chromium
//!   npm ci --prefix tests/e2e
//! If that is not possible, the test fails with the command to run.

#[path = "e2e/support.rs"]
mod support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use support::{Db, Server, e2e_dir, run_script};

const APT_INSTALL: &str = "apt-get update && apt-get install -y chromium";
const NPM_INSTALL: &str = "npm ci --prefix tests/e2e";

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Debian's Chromium, installed with apt-get when it is missing and that is possible.
fn ensure_chromium() -> PathBuf {
    let path = chromium();
    if !path.exists() {
        let installed = Command::new("apt-get")
            .arg("update")
            .arg("-qq")
            .status()
            .is_ok_and(|s| s.success())
            && Command::new("apt-get")
                .args(["install", "-y", "-qq", "chromium"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success());
        assert!(
            installed && path.exists(),
            "Chromium is not installed at {} and could not be installed: run `{APT_INSTALL}` \
             (or set CHROMIUM to a Chromium binary)",
            path.display()
        );
    }
    path
}

/// puppeteer-core and both versions of analytics-next, installed with npm when missing.
fn ensure_node_packages() {
    let modules = e2e_dir().join("node_modules");
    let present = || {
        [
            "puppeteer-core/package.json",
            "analytics-next-1.83/dist/umd/standalone.js",
            "analytics-next-1.84/dist/umd/standalone.js",
        ]
        .iter()
        .all(|p| modules.join(p).exists())
    };
    if !present() {
        let status = Command::new("npm")
            .args([
                "ci",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(e2e_dir())
            .status();
        assert!(
            status.is_ok_and(|s| s.success()) && present(),
            "installing puppeteer-core and @segment/analytics-next failed: run `{NPM_INSTALL}`"
        );
    }
}

/// Runs tests/e2e/browser.mjs; its stdout is one JSON object, by scenario.
fn run_browser(url: &str, key: &str, revoked: &str) -> Value {
    let chromium = ensure_chromium();
    ensure_node_packages();
    run_script(
        "node",
        "browser.mjs",
        &[url, key, revoked],
        &[("CHROMIUM", chromium.as_os_str())],
        NPM_INSTALL,
    )
}

/// The (method, path, status) of the calls a scenario's page made to usercom.
fn calls(result: &Value, scenario: &str) -> Vec<(String, String, u64)> {
    result[scenario]["calls"]
        .as_array()
        .unwrap_or_else(|| panic!("no scenario {scenario}: {result}"))
        .iter()
        .map(|c| {
            (
                c[0].as_str().unwrap().to_string(),
                c[1].as_str().unwrap().to_string(),
                c[2].as_u64().unwrap(),
            )
        })
        .filter(|(_, path, _)| path.starts_with("/v1/"))
        .collect()
}

/// What every scenario's page sent, as the CLI shows it.
fn assert_delivered(db: &Db, prefix: &str) {
    let user = db.json(&["users", "show", &format!("{prefix}user")]);
    assert_eq!(user["email"], format!("{prefix}user@example.com"), "{user}");
    assert_eq!(user["first_name"], "Ada");
    assert_eq!(user["attributes"]["plan"], "pro");
    assert_eq!(user["browser_family"], "Chrome");
    // Added by the server: the page gave no address.
    assert_eq!(user["ip_address"], "127.0.0.1");
    // The anonymous page view before identify is the user's too.
    assert!(user["anonymous_id"].is_string(), "{user}");
    assert_eq!(user["page_views"], 2, "{user}");
    assert_eq!(user["companies"], json!([format!("{prefix}company")]));
    let pages = db.json(&["pages", "list", "--user", &format!("{prefix}user")]);
    // Each request's times are corrected for clock skew on arrival, which can move
    // calls made a few milliseconds apart past each other: compare them as a set.
    let mut names: Vec<(&str, &str)> = pages
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["url"].as_str().unwrap()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("Landing", "http://shop.test/landing"),
            ("Pricing", "http://shop.test/pricing")
        ],
        "{pages}"
    );
    let events = db.json(&["events", "list", "--user", &format!("{prefix}user")]);
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
    assert_eq!(events[0]["name"], "Order Completed");
    assert_eq!(events[0]["properties"]["order_id"], format!("{prefix}o-1"));
    assert!(
        events[0]["message_id"]
            .as_str()
            .unwrap()
            .starts_with("ajs-next-")
    );
    let company = db.json(&["companies", "show", &format!("{prefix}company")]);
    assert_eq!(company["name"], "Analytical Engines Ltd");
    assert_eq!(company["employees"], 12);
    assert_eq!(company["members"], json!([format!("{prefix}user")]));
}

#[test]
fn analytics_js_in_a_headless_browser_end_to_end() {
    let db = Db::new();
    let revoked = db.create_key();
    db.cli(&["keys", "revoke", &revoked]);
    let server = Server::start(&db.path, &["--json"]);
    let result = run_browser(&server.url(), &db.key, &revoked);

    for scenario in ["std184", "batch184", "std183", "retry184", "snippet"] {
        assert_eq!(result[scenario]["outcome"], "ok", "{scenario}: {result}");
    }
    // 1.84 posts to the short paths with Basic credentials: a CORS preflight first.
    let std184 = calls(&result, "std184");
    assert!(std184.contains(&(
        "GET".into(),
        format!("/v1/projects/{}/settings", db.key),
        200
    )));
    assert!(
        std184.contains(&("OPTIONS".into(), "/v1/i".into(), 204)),
        "{std184:?}"
    );
    for path in ["/v1/i", "/v1/p", "/v1/t", "/v1/g"] {
        assert!(
            std184.contains(&("POST".into(), path.into(), 200)),
            "{path}: {std184:?}"
        );
    }
    // No telemetry: the settings turn it off.
    for scenario in ["std184", "batch184", "std183", "retry184", "snippet"] {
        assert!(
            calls(&result, scenario)
                .iter()
                .all(|(_, p, _)| p != "/v1/m"),
            "{scenario}"
        );
    }
    // Batching: the five calls in one request to /v1/b.
    let batch = calls(&result, "batch184");
    assert!(
        batch.contains(&("POST".into(), "/v1/b".into(), 200)),
        "{batch:?}"
    );
    assert!(!batch.iter().any(|(_, p, _)| p == "/v1/t"), "{batch:?}");
    // The injected 503 was retried (with X-Retry-Count, which the preflight allowed).
    let retry = &result["retry184"]["calls"];
    let retried: Vec<&Value> = retry
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c[0] == "POST" && !c[3].is_null())
        .collect();
    assert!(
        retry.as_array().unwrap().iter().any(|c| c[2] == 503),
        "{retry}"
    );
    assert_eq!(retried.len(), 1, "{retry}");
    assert_eq!(retried[0][2], 200, "{retry}");

    for prefix in ["std184-", "batch184-", "std183-", "retry184-", "snippet-"] {
        assert_delivered(&db, prefix);
    }

    // A revoked key: the settings answer is a 403 the library reads (its message is
    // usercom's), a direct call reads its 403 too, and nothing is stored.
    let outcome = result["revoked184"]["outcome"].as_str().unwrap();
    assert!(outcome.contains("revoked"), "{outcome}");
    let outcome = result["revokedFetch"]["outcome"].as_str().unwrap();
    assert!(
        outcome.starts_with("status 403: API key") && outcome.contains("revoked"),
        "{outcome}"
    );
    db.cli_code(&["users", "show", "revoked-user"], 1);

    let report: Value = serde_json::from_str(&server.stop()).unwrap();
    assert_eq!(report["rejected"], 0, "{report}");
    assert_eq!(report["applied"], 25, "{report}");
    assert_eq!(report["responses"]["failed"], json!({"403": 2}), "{report}");
}
