//! End to end with clients nobody here wrote: Segment's own Python library
//! (segment-analytics-python) and Node library (@segment/analytics-node) send identify,
//! page, track and group calls to `usercom serve`; the CLI then shows the result. With
//! a revoked key the libraries receive 403.
//!
//! A library that is not installed is installed first (CI's .ci/run does it up front):
//!   pip install segment-analytics-python==2.4.0   (else into target/tmp/e2e-python)
//!   npm ci --prefix tests/e2e
//! If that fails, the test fails with the command to run.

#[path = "e2e/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::{Db, Server, e2e_dir, run_script};

/// Where the Python library goes when it is not installed already.
fn python_packages() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-python")
}

/// Installs a missing client library (from PyPI or the npm registry) so that
/// `cargo test` works on a fresh machine; once per test binary.
fn ensure_library(program: &str) {
    static INSTALLED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if installed.iter().any(|p| p == program) {
        return;
    }
    let present = match program {
        "python3" => Command::new("python3")
            .args(["-c", "import segment.analytics"])
            .env("PYTHONPATH", python_packages())
            .status()
            .is_ok_and(|s| s.success()),
        _ => e2e_dir()
            .join("node_modules/@segment/analytics-node")
            .exists(),
    };
    if !present {
        let status = match program {
            "python3" => Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .arg("--target")
                .arg(python_packages())
                .arg("segment-analytics-python==2.4.0")
                .status(),
            _ => Command::new("npm")
                .args([
                    "ci",
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                    "--prefix",
                ])
                .arg(e2e_dir())
                .status(),
        };
        assert!(
            status.is_ok_and(|s| s.success()),
            "installing Segment's {program} client library failed"
        );
    }
    installed.push(program.to_string());
}

/// Runs a client script; its stdout is one JSON object.
fn run_client(program: &str, script: &str, args: &[&str], install: &str) -> Value {
    ensure_library(program);
    let packages = python_packages();
    run_script(
        program,
        script,
        args,
        &[("PYTHONPATH", packages.as_os_str())],
        install,
    )
}

const PIP_INSTALL: &str = "pip install segment-analytics-python==2.4.0";
const NPM_INSTALL: &str = "npm ci --prefix tests/e2e";

fn python(url: &str, key: &str, prefix: &str, gzip: bool) -> Value {
    let mut args = vec![url, key, prefix];
    if gzip {
        args.push("--gzip");
    }
    run_client("python3", "segment_python.py", &args, PIP_INSTALL)
}

fn node(url: &str, key: &str, prefix: &str) -> Value {
    run_client("node", "segment_node.mjs", &[url, key, prefix], NPM_INSTALL)
}

#[test]
fn segment_python_library_end_to_end() {
    let db = Db::new();
    let server = Server::start(&db.path, &["--json"]);
    let url = server.url();

    let result = python(&url, &db.key, "py-", false);
    assert_eq!(result["errors"], json!([]), "{result}");
    assert!(
        result["library"]
            .as_str()
            .unwrap()
            .starts_with("analytics-python/")
    );
    // The same calls again, gzip-compressed as the library sends them with gzip=True.
    let zipped = python(&url, &db.key, "pygz-", true);
    assert_eq!(zipped["errors"], json!([]), "{zipped}");

    for prefix in ["py-", "pygz-"] {
        let user = db.json(&["users", "show", &format!("{prefix}user")]);
        assert_eq!(user["user_id"], format!("{prefix}user"));
        // The anonymous visitor's profile became the user's when identify linked them.
        assert_eq!(user["anonymous_id"], format!("{prefix}anon"));
        assert_eq!(user["email"], "ada@example.com");
        assert_eq!(user["first_name"], "Ada");
        assert_eq!(user["last_name"], "Lovelace");
        // The identify gave 203.0.113.7; the later calls gave no address, so the server
        // added the connection's, as Segment's servers do.
        assert_eq!(user["ip_address"], "127.0.0.1");
        assert_eq!(user["language"], "pl-PL");
        assert_eq!(user["timezone"], "Europe/Warsaw");
        assert_eq!(user["browser_family"], "Firefox");
        assert_eq!(user["page_views"], 2);
        assert_eq!(user["attributes"]["plan"], "pro");
        assert_eq!(user["companies"], json!([format!("{prefix}company")]));

        let company = db.json(&["companies", "show", &format!("{prefix}company")]);
        assert_eq!(company["name"], "Analytical Engines Ltd");
        assert_eq!(company["employees"], 12);
        assert_eq!(company["attributes"]["industry"], "Computing");
        assert_eq!(company["members"], json!([format!("{prefix}user")]));

        assert_eq!(
            db.event_names(&format!("{prefix}user")),
            ["Order Completed", "Viewed Plan"]
        );
        let events = db.json(&["events", "list", "--user", &format!("{prefix}user")]);
        let order = events
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "Order Completed")
            .unwrap();
        assert_eq!(order["properties"]["order_id"], format!("{prefix}o-1"));
        let pages = db.json(&["pages", "list", "--user", &format!("{prefix}user")]);
        assert_eq!(pages.as_array().unwrap().len(), 2, "{pages}");
    }

    // Revoked: the library is answered 403 with Segment's error keys, and says so.
    db.cli(&["keys", "revoke", &db.key]);
    let refused = python(&url, &db.key, "pyrevoked-", false);
    let errors = refused["errors"].as_array().unwrap();
    assert!(!errors.is_empty(), "{refused}");
    for error in errors {
        assert_eq!(error["status"], 403, "{refused}");
        assert_eq!(error["code"], "forbidden", "{refused}");
        assert!(error["message"].as_str().unwrap().contains("revoked"));
    }
    db.cli_code(&["users", "show", "pyrevoked-user"], 1);

    let report: Value = serde_json::from_str(&server.stop()).unwrap();
    assert_eq!(report["applied"], 12, "{report}");
    assert_eq!(report["skipped"], 4, "{report}");
    assert!(report["responses"]["forbidden"].as_u64().unwrap() >= 1);
    assert_eq!(report["responses"]["server_errors"], 0);
}

#[test]
fn segment_node_library_end_to_end() {
    let db = Db::new();
    let server = Server::start(&db.path, &[]);
    let url = server.url();

    let result = node(&url, &db.key, "node-");
    assert_eq!(result["errors"], json!([]), "{result}");
    let statuses = result["statuses"].as_array().unwrap();
    assert!(
        !statuses.is_empty() && statuses.iter().all(|s| s == 200),
        "{result}"
    );

    let user = db.json(&["users", "show", "node-user"]);
    assert_eq!(user["anonymous_id"], "node-anon");
    assert_eq!(user["email"], "grace@example.com");
    assert_eq!(user["first_name"], "Grace");
    // The identify gave 198.51.100.4; the later calls gave no address, so the server
    // added the connection's, as Segment's servers do.
    assert_eq!(user["ip_address"], "127.0.0.1");
    assert_eq!(user["page_views"], 1);
    assert_eq!(user["attributes"]["plan"], "team");
    assert_eq!(user["companies"], json!(["node-company"]));
    let company = db.json(&["companies", "show", "node-company"]);
    assert_eq!(company["name"], "Compilers Inc");
    assert_eq!(company["employees"], 40);
    assert_eq!(company["members"], json!(["node-user"]));
    let events = db.json(&["events", "list", "--user", "node-user"]);
    assert_eq!(events[0]["name"], "Order Completed");
    assert_eq!(events[0]["properties"]["revenue"], "99.5");

    db.cli(&["keys", "revoke", &db.key]);
    let refused = node(&url, &db.key, "noderevoked-");
    let statuses = refused["statuses"].as_array().unwrap();
    assert!(
        !statuses.is_empty() && statuses.iter().all(|s| s == 403),
        "{refused}"
    );
    assert!(
        !refused["errors"].as_array().unwrap().is_empty(),
        "{refused}"
    );
    db.cli_code(&["users", "show", "noderevoked-user"], 1);
    server.stop();
}
