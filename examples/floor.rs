//! The throughput floor for ingesting a Segment ndjson stream into SQLite.
//!
//! ```text
//! cargo run --release --example floor -- events.ndjson floor.db
//! ```
//!
//! The least work any ingest must do: read each line, parse it with serde_json into a
//! `serde_json::Value`, and insert one row per event with a reused prepared statement
//! (`INSERT OR IGNORE`), 10,000 rows per transaction, WAL journal, `synchronous=NORMAL`.
//! usercom does much more per event; its time divided by this one is the overhead.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use rusqlite::{Connection, params};
use serde_json::Value;

const BATCH: usize = 10_000;

#[derive(Parser, Debug)]
#[command(
    name = "floor",
    about = "Throughput floor: parse an ndjson event stream with serde_json and insert \
             one row per event into SQLite",
    long_about = "Throughput floor: reads INPUT line by line, parses each line with \
                  serde_json into a Value and inserts one row per event into \
                  events(message_id TEXT PRIMARY KEY, type, user, name, timestamp, raw) \
                  with a reused prepared statement (INSERT OR IGNORE), 10,000 rows per \
                  transaction, journal_mode=WAL, synchronous=NORMAL. Lines that are not a \
                  JSON object with a string `type` are skipped and counted. Prints one \
                  line to stdout: `floor: N events in S s (E events/s)`; details go to \
                  stderr."
)]
struct Args {
    /// ndjson file, one Segment event per line
    input: PathBuf,

    /// SQLite database file (created if missing)
    db: PathBuf,
}

#[derive(Default)]
struct Counts {
    events: u64,
    inserted: u64,
    bad: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let started = Instant::now();

    let input =
        File::open(&args.input).with_context(|| format!("cannot open {}", args.input.display()))?;
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let conn = Connection::open(&args.db)
        .with_context(|| format!("cannot open database {}", args.db.display()))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         CREATE TABLE IF NOT EXISTS events (
             message_id TEXT PRIMARY KEY,
             type       TEXT,
             user       TEXT,
             name       TEXT,
             timestamp  TEXT,
             raw        TEXT
         );",
    )?;

    let mut insert = conn.prepare(
        "INSERT OR IGNORE INTO events (message_id, type, user, name, timestamp, raw)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut counts = Counts::default();
    let mut line = Vec::with_capacity(4096);
    let mut in_batch = 0;
    conn.execute_batch("BEGIN")?;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read {}", args.input.display()))?;
        if read == 0 {
            break;
        }
        let raw = line.trim_ascii_end();
        if raw.is_empty() {
            continue;
        }
        let Some(event) = parse_event(raw) else {
            counts.bad += 1;
            continue;
        };
        // A successful parse implies valid UTF-8.
        let raw = std::str::from_utf8(raw).expect("JSON text is UTF-8");
        let user = text(event.get("userId")).or_else(|| text(event.get("anonymousId")));
        let name = text(event.get("event")).or_else(|| text(event.get("name")));
        counts.inserted += insert.execute(params![
            text(event.get("messageId")),
            text(event.get("type")),
            user,
            name,
            text(event.get("timestamp")),
            raw,
        ])? as u64;
        counts.events += 1;
        in_batch += 1;
        if in_batch == BATCH {
            conn.execute_batch("COMMIT; BEGIN")?;
            in_batch = 0;
        }
    }
    conn.execute_batch("COMMIT")?;
    drop(insert);
    conn.close().map_err(|(_, e)| e)?;

    let secs = started.elapsed().as_secs_f64();
    println!(
        "floor: {} events in {:.2} s ({:.0} events/s)",
        counts.events,
        secs,
        counts.events as f64 / secs
    );
    eprintln!(
        "floor: {} rows inserted, {} duplicate messageIds ignored, {} bad lines skipped",
        counts.inserted,
        counts.events - counts.inserted,
        counts.bad
    );
    Ok(())
}

/// The event on this line: a JSON object with a string `type`.
fn parse_event(raw: &[u8]) -> Option<Value> {
    let value: Value = serde_json::from_slice(raw).ok()?;
    value.get("type")?.as_str()?;
    Some(value)
}

/// A string or number field as text.
fn text(value: Option<&Value>) -> Option<Cow<'_, str>> {
    match value? {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}
