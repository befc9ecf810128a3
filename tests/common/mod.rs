//! Shared helpers for the black-box CLI tests: a temporary database and the binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

pub struct Env {
    pub dir: TempDir,
    pub db: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("test.db");
        Env { dir, db }
    }

    /// `usercom --db <db>` with a clean environment.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("usercom").unwrap();
        cmd.env_remove("USERCOM_DB")
            .env_remove("USERCOM_API_KEY")
            .current_dir(self.dir.path())
            .arg("--db")
            .arg(&self.db);
        cmd
    }

    pub fn key(&self) -> String {
        let out = self.cmd().args(["keys", "create"]).output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// Writes a file in the temp dir and returns its path.
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    /// Ingests files with a key; returns exit code and the --json summary.
    pub fn ingest(&self, key: &str, files: &[&Path]) -> (i32, Value) {
        let out = self
            .cmd()
            .args(["ingest", "--json", "--api-key", key])
            .args(files)
            .output()
            .unwrap();
        let code = out.status.code().unwrap();
        let summary = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (code, summary)
    }

    /// Ingests ndjson text given on stdin.
    pub fn ingest_text(&self, key: &str, text: &str) -> (i32, Value) {
        self.ingest_text_with(key, text, &[])
    }

    /// Ingests ndjson text given on stdin, with more options.
    pub fn ingest_text_with(&self, key: &str, text: &str, options: &[&str]) -> (i32, Value) {
        let out = self
            .cmd()
            .args(["ingest", "--json", "--api-key", key])
            .args(options)
            .write_stdin(text.to_string())
            .output()
            .unwrap();
        let code = out.status.code().unwrap();
        (
            code,
            serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        )
    }

    /// Runs a query command with --json and returns exit code and parsed stdout.
    pub fn json(&self, args: &[&str]) -> (i32, Value) {
        let out = self.cmd().args(args).arg("--json").output().unwrap();
        (
            out.status.code().unwrap(),
            serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        )
    }

    pub fn user(&self, id: &str) -> Value {
        let (code, v) = self.json(&["users", "show", id]);
        assert_eq!(code, 0, "users show {id}");
        v
    }
}

/// The repository's fixtures directory.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A deterministic mixed stream of `n` events over `users` users and a few companies,
/// for tests that need volume (the benchmark generator lives in examples/).
pub fn synthetic_events(n: usize, users: usize, seed: u64) -> String {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move |bound: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % bound.max(1)
    };
    let mut out = String::with_capacity(n * 260);
    for i in 0..n {
        let user = next(users);
        let ts = format!(
            "2026-10-{:02}T{:02}:{:02}:{:02}.000Z",
            1 + next(28),
            next(24),
            next(60),
            next(60)
        );
        let ids = if user % 5 == 0 && next(2) == 0 {
            format!("\"anonymousId\":\"anon-{user}\"")
        } else {
            format!("\"userId\":\"user-{user}\",\"anonymousId\":\"anon-{user}\"")
        };
        let common = format!(
            "\"messageId\":\"{seed}-{i}\",{ids},\"timestamp\":\"{ts}\",\"context\":{{\"locale\":\"en-US\",\"ip\":\"10.0.{}.{}\",\"page\":{{\"url\":\"https://www.example.com/p/{}\"}}}}",
            next(255),
            next(255),
            next(40)
        );
        let line = match next(20) {
            0..=1 => format!(
                "{{\"type\":\"identify\",{common},\"traits\":{{\"email\":\"user{user}+{}@example.com\",\"plan\":\"plan-{}\",\"logins\":{}}}}}",
                next(3),
                next(4),
                next(100)
            ),
            2..=10 => format!(
                "{{\"type\":\"track\",{common},\"event\":\"Event {}\",\"properties\":{{\"value\":{},\"sku\":\"sku-{}\"}}}}",
                next(6),
                next(1000),
                next(50)
            ),
            11..=18 => format!(
                "{{\"type\":\"page\",{common},\"name\":\"Page {}\"}}",
                next(10)
            ),
            _ => format!(
                "{{\"type\":\"group\",{common},\"groupId\":\"company-{}\",\"traits\":{{\"name\":\"Company {}\",\"employees\":{}}}}}",
                user % 7,
                user % 7,
                next(500)
            ),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Everything a user can query, for comparing two databases.
pub fn state(env: &Env) -> Vec<Value> {
    [
        vec!["users", "list"],
        vec!["companies", "list"],
        vec!["events", "list"],
        vec!["pages", "list"],
        vec!["attrs", "list"],
    ]
    .iter()
    .map(|args| {
        let (code, v) = env.json(args);
        assert_eq!(code, 0, "{args:?}");
        strip_volatile(v)
    })
    .collect()
}

/// Attribute definitions carry the wall-clock time they were created; drop it.
fn strip_volatile(mut v: Value) -> Value {
    if let Value::Array(items) = &mut v {
        for item in items {
            if let Some(o) = item.as_object_mut()
                && o.contains_key("origin")
            {
                o.remove("created_at");
            }
        }
    }
    v
}

/// Starts `usercom ingest --quiet --batch-size BATCH PATH` and kills it (SIGKILL) as soon
/// as at least `after` messageIds are committed (or after two minutes); returns how many
/// were committed when it was killed.
pub fn ingest_then_kill(env: &Env, key: &str, path: &Path, batch: usize, after: i64) -> i64 {
    ingest_with_then_kill(env, key, path, batch, after, &[])
}

/// [`ingest_then_kill`] with more `ingest` options.
pub fn ingest_with_then_kill(
    env: &Env,
    key: &str,
    path: &Path,
    batch: usize,
    after: i64,
    options: &[&str],
) -> i64 {
    use std::time::{Duration, Instant};
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("usercom"))
        .arg("--db")
        .arg(&env.db)
        .args([
            "ingest",
            "--quiet",
            "--batch-size",
            &batch.to_string(),
            "--api-key",
            key,
        ])
        .args(options)
        .arg(path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut applied = 0;
    while started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(5));
        if let Ok(conn) = rusqlite::Connection::open(&env.db) {
            applied = conn
                .query_row("SELECT count(*) FROM message_keys", [], |r| {
                    r.get::<_, i64>(0)
                })
                .unwrap_or(0);
            if applied >= after {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    applied
}
