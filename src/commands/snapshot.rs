//! `usercom snapshot` and `usercom diff`: the whole state as canonical JSON, and what
//! differs between two databases or snapshots. Databases are opened read-only.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use crate::Error;
use crate::output::{print_json, print_text, terminal_safe};
use crate::semantics::diff::{Change, Diff, Section, diff};
use crate::semantics::snapshot::Snapshot;
use crate::store::Store;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  usercom snapshot --out golden.json          # the state of usercom.db, to compare later
  usercom --db after.db snapshot --with-times

The same state gives the same bytes whatever the order events were ingested in. The
database is opened read-only: it is never created, migrated or written.")]
pub struct SnapshotArgs {
    /// Write the snapshot to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Include created_at/updated_at of users and companies, and when each attribute was
    /// defined (these make snapshots of equal states differ).
    #[arg(long)]
    with_times: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  usercom diff before.db after.db             # what a back-fill changed
  usercom diff run1.db run2.db --json         # two runs of one stream in different orders
  usercom diff test.db tests/golden.json      # a test's database against its golden file

Exit status: 0 when A and B hold the same state, 1 when they differ, 2 when an input
cannot be read. Databases are opened read-only: never created, migrated or written.")]
pub struct DiffArgs {
    /// A database file or a snapshot file (`usercom snapshot`).
    a: PathBuf,
    /// A database file or a snapshot file.
    b: PathBuf,
    /// Compare created_at/updated_at and definition times too (snapshot files must have
    /// been written with --with-times).
    #[arg(long)]
    with_times: bool,
}

pub fn run_snapshot(args: SnapshotArgs, db: &Path) -> Result<i32> {
    let snapshot = Store::open_read_only(db)?.state_snapshot(args.with_times)?;
    let text = snapshot.to_canonical_json();
    match &args.out {
        Some(out) => std::fs::write(out, text)
            .with_context(|| format!("writing the snapshot to {}", out.display()))?,
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
        }
    }
    Ok(0)
}

pub fn run_diff(args: DiffArgs, json: bool) -> Result<i32> {
    let a = load(&args.a, args.with_times)?;
    let b = load(&args.b, args.with_times)?;
    let result = diff(&a, &b);
    if json {
        print_json(&result)?;
    } else {
        print_text(describe(&result, &args.a, &args.b).trim_end())?;
    }
    Ok(if result.equal { 0 } else { 1 })
}

/// The header every SQLite database file starts with.
const SQLITE_HEADER: &[u8] = b"SQLite format 3\0";

/// A database (read-only) or a snapshot file, as a snapshot.
fn load(path: &Path, with_times: bool) -> Result<Snapshot> {
    let unreadable = |reason: String| Error::Usage(format!("{}: {reason}", path.display()));
    let mut file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let mut head = [0u8; 16];
    let n = file
        .read(&mut head)
        .map_err(|e| unreadable(e.to_string()))?;
    if head[..n] == *SQLITE_HEADER {
        drop(file);
        let store = Store::open_read_only(path)?;
        return store
            .state_snapshot(with_times)
            .map_err(|e| unreadable(format!("{e:#}")).into());
    }
    let mut text = String::from_utf8_lossy(&head[..n]).into_owned();
    let mut rest = String::new();
    file.read_to_string(&mut rest)
        .map_err(|_| unreadable("neither a usercom database nor a snapshot (not text)".into()))?;
    text.push_str(&rest);
    let mut snapshot = Snapshot::from_json(&text).map_err(|e| {
        unreadable(format!(
            "neither a usercom database nor a usercom snapshot ({e})"
        ))
    })?;
    if !with_times {
        strip_times(&mut snapshot);
    }
    Ok(snapshot)
}

fn strip_times(snapshot: &mut Snapshot) {
    for user in &mut snapshot.users {
        (user.created_at, user.updated_at) = (None, None);
    }
    for company in &mut snapshot.companies {
        (company.created_at, company.updated_at) = (None, None);
    }
    for def in &mut snapshot.attribute_definitions {
        def.created_at = None;
    }
}

/// The diff as text.
fn describe(d: &Diff, a: &Path, b: &Path) -> String {
    let mut out = String::new();
    if d.equal {
        let _ = writeln!(
            out,
            "{} and {} hold the same state",
            a.display(),
            b.display()
        );
        return out;
    }
    let _ = writeln!(out, "A: {}\nB: {}", a.display(), b.display());
    section(&mut out, "user", "users", &d.users);
    section(&mut out, "company", "companies", &d.companies);
    section(
        &mut out,
        "attribute",
        "attribute definitions",
        &d.attribute_definitions,
    );
    out
}

fn section(out: &mut String, one: &str, many: &str, s: &Section) {
    for (side, keys) in [("A", &s.only_in_a), ("B", &s.only_in_b)] {
        if !keys.is_empty() {
            let list: Vec<String> = keys.iter().map(|k| terminal_safe(k)).collect();
            let _ = writeln!(
                out,
                "{many} only in {side} ({}): {}",
                keys.len(),
                list.join(", ")
            );
        }
    }
    for changed in &s.changed {
        let _ = writeln!(out, "{one} {}:", terminal_safe(&changed.key));
        for change in &changed.changes {
            let _ = writeln!(out, "  {}", change_line(change));
        }
    }
}

fn change_line(c: &Change) -> String {
    let side = |t: &Option<crate::semantics::snapshot::Typed>| match t {
        Some(t) => format!("{} ({})", terminal_safe(&t.value.to_string()), t.ty),
        None => "(none)".to_string(),
    };
    let what = match c.kind {
        "field" | "attribute" | "events" => format!("{} {}", c.kind, terminal_safe(&c.name)),
        _ => c.name.clone(),
    };
    format!("{what}: {} -> {}", side(&c.a), side(&c.b))
}
