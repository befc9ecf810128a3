//! `usercom demo`: a fresh database, a key, the bundled sample stream, the result.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use super::ingest::{CliObserver, describe, ingest_inputs};
use crate::Error;
use crate::ingest::{IngestOptions, Input};
use crate::output::print_json;
use crate::semantics::api_key;
use crate::store::Store;

/// The sample stream built into the binary (fixtures/sample.ndjson).
pub const SAMPLE: &str = include_str!("../../fixtures/sample.ndjson");

/// Where the demo database goes when --db is not given.
const DEMO_DB: &str = "usercom-demo.db";

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Replace the database if it exists (the default demo file is always replaced).
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: DemoArgs, db: Option<&Path>, json: bool) -> Result<i32> {
    let path: PathBuf = db
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(DEMO_DB));
    if path.exists() {
        if db.is_some() && !args.force {
            return Err(Error::Usage(format!(
                "{} exists; the demo starts from a fresh database: choose another --db, or add \
                 --force to replace it",
                path.display()
            ))
            .into());
        }
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                std::fs::remove_file(&file)?;
            }
        }
    }
    let store = Store::open(&path)?;
    let key = api_key::generate().map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    store.insert_key(Some("demo"), crate::store::KeyKind::Write, &key)?;
    eprintln!(
        "Created {} and API key {}…",
        path.display(),
        api_key::display_prefix(&key)
    );
    eprintln!(
        "Ingesting the bundled sample stream ({} lines)…",
        SAMPLE.lines().count()
    );
    let started = std::time::Instant::now();
    let mut inputs = vec![Input::from_reader("sample.ndjson", SAMPLE.as_bytes())];
    let mut observer = CliObserver::new(false, None)?.keep_in(&store);
    let summary = ingest_inputs(&store, &mut inputs, IngestOptions::default(), &mut observer)?;
    eprintln!("{}", describe(&summary, started.elapsed().as_secs_f64()));
    if json {
        print_json(&summary)?;
        return Ok(0);
    }
    let db_flag = format!("--db {}", path.display());
    println!();
    super::users::run(
        super::users::UsersCommand::List(Default::default()),
        &store,
        false,
    )?;
    println!();
    super::companies::run(
        super::companies::CompaniesCommand::List(Default::default()),
        &store,
        false,
    )?;
    eprintln!(
        "\nTry next:\n  usercom {db_flag} users show user-0001\n  usercom {db_flag} users show \
         user-from-anon --json\n  usercom {db_flag} companies show company-01\n  usercom {db_flag} \
         events list --name 'Order Completed'\n  usercom {db_flag} rejections list\n  usercom {db_flag} status\n  usercom {db_flag} attrs list\n  usercom {db_flag} \
         keys create --name mine   # then: usercom {db_flag} ingest FILE --api-key KEY"
    );
    Ok(0)
}
