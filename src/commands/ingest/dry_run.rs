//! `usercom ingest --dry-run`: what a run would change, with nothing written.
//!
//! The database is copied (`VACUUM INTO`, a read transaction: in WAL mode writers go on
//! meanwhile, and the write lock is never taken) into a temporary folder; the ingest runs
//! on the copy as it would on the file; then the copy is compared with the snapshot.
//! The cost: disk for two copies of the database, the time to write them and to compare
//! the profile tables afterwards; memory as for the run itself.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;

use super::{IngestArgs, exit_code, ingest_args, report};
use crate::Error;
use crate::output::print_json;
use crate::store::{Changes, ProfileChanges, Store};

pub fn run(args: IngestArgs, db: &Path, json: bool) -> Result<i32> {
    if !db.is_file() {
        return Err(Error::Usage(format!(
            "{}: no such database; a dry run needs an existing one (check --db)",
            db.display()
        ))
        .into());
    }
    let dir = tempfile::Builder::new()
        .prefix("usercom-dry-run-")
        .tempdir()
        .context("creating a temporary folder for the dry run")?;
    let before = dir.path().join("before.db");
    let after = dir.path().join("after.db");
    Store::copy_snapshot(db, &before)?;
    std::fs::copy(&before, &after).context("copying the snapshot for the dry run")?;
    let store = Store::open(&after)?;
    let (summary, elapsed) = ingest_args(&args, &store)?;
    let changes = store.changes_since(&before)?;
    drop(store);
    if json {
        let mut value = serde_json::to_value(&summary)?;
        value["dry_run"] = true.into();
        value["would_change"] = serde_json::to_value(&changes)?;
        value["would_change"]["values_ignored"] = json!(summary.ignored_values);
        print_json(&value)?;
    }
    report(&summary, elapsed, json);
    if !json {
        eprintln!("{}", describe_changes(&changes, summary.ignored_values));
    }
    Ok(exit_code(&summary))
}

/// The dry run's answer, in words.
fn describe_changes(c: &Changes, ignored: u64) -> String {
    let mut out = String::from("Dry run: nothing was written. The run would:\n");
    let profiles = |out: &mut String, what: &str, p: &ProfileChanges| {
        out.push_str(&format!(
            "  {what}: {} created, {} changed, {} merged away\n",
            p.created, p.changed, p.merged_away
        ));
        for (name, n) in &p.fields {
            out.push_str(&format!("    field {name}: {n}\n"));
        }
        for (name, n) in &p.attributes {
            out.push_str(&format!("    attribute {name}: {n}\n"));
        }
    };
    profiles(&mut out, "users", &c.users);
    profiles(&mut out, "companies", &c.companies);
    out.push_str(&format!(
        "  add {} events and {} page views\n",
        c.events_added, c.page_views_added
    ));
    const LISTED: usize = 20;
    for a in c.attributes_created.iter().take(LISTED) {
        let event = if a.event.is_empty() {
            String::new()
        } else {
            format!(" (event {})", a.event)
        };
        out.push_str(&format!(
            "  create the {} attribute {}{event} as {}\n",
            a.scope, a.name, a.kind
        ));
    }
    if c.attributes_created.len() > LISTED {
        out.push_str(&format!(
            "  ... and create {} more attributes (--json lists them all)\n",
            c.attributes_created.len() - LISTED
        ));
    }
    out.push_str(&format!(
        "  ignore {ignored} values that do not fit their attribute's type"
    ));
    out
}
