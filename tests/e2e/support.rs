//! Shared by tests/serve.rs and tests/e2e_segment_client.rs: a `usercom serve` process
//! on a free loopback port, the CLI on the same database, and a small HTTP/1.1 client
//! (std only, so tests can send exactly the bytes they mean, malformed ones included).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn usercom() -> Command {
    Command::new(env!("CARGO_BIN_EXE_usercom"))
}

/// A temporary database with one active key.
pub struct Db {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub key: String,
}

impl Db {
    pub fn new() -> Db {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("serve.db");
        let mut db = Db {
            dir,
            path,
            key: String::new(),
        };
        db.key = db.create_key();
        db
    }

    /// Runs the CLI on this database; panics unless it exits with `code`.
    pub fn cli_code(&self, args: &[&str], code: i32) -> String {
        let output = usercom()
            .arg("--db")
            .arg(&self.path)
            .args(args)
            .output()
            .expect("running usercom");
        assert_eq!(
            output.status.code(),
            Some(code),
            "usercom {args:?}: stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }

    pub fn cli(&self, args: &[&str]) -> String {
        self.cli_code(args, 0)
    }

    /// `usercom ARGS --json`, parsed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        serde_json::from_str(&self.cli(&args)).expect("JSON output")
    }

    pub fn create_key(&self) -> String {
        self.cli(&["keys", "create"]).trim().to_string()
    }

    /// The names of a user's events, sorted.
    pub fn event_names(&self, user: &str) -> Vec<String> {
        let events = self.json(&["events", "list", "--user", user]);
        let mut names: Vec<String> = events
            .as_array()
            .expect("a list")
            .iter()
            .map(|e| e["name"].as_str().expect("a name").to_string())
            .collect();
        names.sort();
        names
    }

    /// Rows in the message_keys table: every messageId applied.
    pub fn messages(&self) -> i64 {
        let conn = rusqlite::Connection::open(&self.path).expect("opening the database");
        conn.query_row("SELECT count(*) FROM message_keys", [], |r| r.get(0))
            .expect("counting messages")
    }
}

/// A running `usercom serve`.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
    /// Standard output after its first line, read to its end by `stdout_reader`.
    stdout: Arc<Mutex<String>>,
    stdout_reader: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts `usercom serve --listen 127.0.0.1:0`; the port it got is read from the
    /// first line of its stdout, `listening on http://ADDR:PORT`.
    pub fn start(db: &Path, extra: &[&str]) -> Server {
        let mut child = usercom()
            .arg("--db")
            .arg(db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting usercom serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let stdout = child.stdout.take().expect("piped stdout");
        let rest = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = rest.clone();
        let stdout_reader = std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            let _ = tx.send(first);
            let mut text = String::new();
            let _ = reader.read_to_string(&mut text);
            sink.lock().unwrap().push_str(&text);
        });
        let first = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        let Some(addr) = first
            .trim_end()
            .strip_prefix("listening on http://")
            .and_then(|a| a.parse::<SocketAddr>().ok())
        else {
            let _ = child.kill();
            panic!(
                "usercom serve did not start (first stdout line {first:?}): {}",
                log.lock().unwrap().as_str()
            );
        };
        assert_ne!(addr.port(), 0, "the first line names the port really bound");
        Server {
            child,
            addr,
            stderr: log,
            stdout: rest,
            stdout_reader: Some(stdout_reader),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// SIGTERM, then waits (at most `limit`) for the exit; returns its status and stdout.
    pub fn stop_within(mut self, limit: Duration) -> (ExitStatus, String) {
        self.signal("TERM");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for the server") {
                if let Some(reader) = self.stdout_reader.take() {
                    let _ = reader.join();
                }
                // Let the stderr reader take the last lines.
                std::thread::sleep(Duration::from_millis(50));
                let stdout = self.stdout.lock().unwrap().clone();
                return (status, stdout);
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "usercom serve did not stop within {limit:?} of SIGTERM: {}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server, checks it exited 0 and returns everything it wrote on stderr.
    pub fn stop_log(self) -> String {
        let log = self.stderr.clone();
        self.stop();
        log.lock().unwrap().clone()
    }

    /// Stops the server and checks it exited 0.
    pub fn stop(self) -> String {
        let (status, stdout) = self.stop_within(Duration::from_secs(30));
        assert!(status.success(), "usercom serve exited with {status}");
        stdout
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// An error answer as Segment's: JSON with a string `code` and `message`.
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        let body = self.json();
        assert_eq!(body["code"], code, "{body}");
        body["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message: {body}"))
            .to_string()
    }

    pub fn assert_ok(&self) {
        assert_eq!(
            (self.status, self.json()),
            (200, serde_json::json!({"success": true})),
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
    }
}

/// Basic credentials for a key, as Segment's libraries send them.
pub fn basic(key: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

/// Sends one request on a fresh connection (`Connection: close`) and reads the answer.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut stream = TcpStream::connect(addr).expect("connecting to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413, 403) and close before reading all of a body.
    let _ = stream.write_all(body);
    read_answer(&mut stream)
}

/// Reads an answer to its end (the server closes a `Connection: close` connection).
pub fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // A reset after the answer (the server closed with body bytes unread).
            Err(e) if !raw.is_empty() && e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("reading the answer: {e}"),
        }
    }
    parse_answer(&raw)
}

pub fn parse_answer(raw: &[u8]) -> Answer {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete answer: {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if let Some((_, len)) = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        body.truncate(len.parse().expect("a length"));
    }
    Answer {
        status,
        headers,
        body,
    }
}

/// POSTs JSON with the key as Basic credentials.
pub fn post(server: &Server, key: &str, path: &str, body: &Value) -> Answer {
    post_with(
        server,
        key,
        path,
        body,
        &[("Content-Type", "application/json")],
    )
}

/// POSTs JSON with the key as Basic credentials and these headers.
pub fn post_with(
    server: &Server,
    key: &str,
    path: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> Answer {
    let auth = basic(key);
    let mut all = vec![("Authorization", auth.as_str())];
    all.extend_from_slice(headers);
    request(server.addr, "POST", path, &all, body.to_string().as_bytes())
}

/// tests/e2e: the client scripts and their npm packages.
pub fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("e2e")
}

/// Runs a client script of tests/e2e with `program`; its stdout is one JSON object.
/// Exit code 3 means a package is missing: the test fails with `install`.
pub fn run_script(
    program: &str,
    script: &str,
    args: &[&str],
    env: &[(&str, &std::ffi::OsStr)],
    install: &str,
) -> Value {
    let mut command = Command::new(program);
    command.arg(e2e_dir().join(script)).args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): install it, then {install}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.code() != Some(3),
        "a client package is missing: run `{install}`\n{stderr}"
    );
    assert!(
        output.status.success(),
        "{program} {script} failed ({}): {stderr}",
        output.status
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}
