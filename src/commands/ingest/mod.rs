//! `usercom ingest`: apply Segment events from files, folders or stdin.

mod dry_run;
mod observer;

pub use observer::CliObserver;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::Error;
use crate::error::exit;
use crate::ingest::bulk;
use crate::ingest::{
    DEFAULT_BATCH_SIZE, DeferIndexes, IngestOptions, Ingestor, Input, SQLITE_CACHE_MIB, Summary,
};
use crate::output::{print_json, terminal_safe};
use crate::semantics::api_key::{KeyHolder, refusal};
use crate::store::{KeyStatus, Store};

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files or folders of events (`-` or none: standard input). Any JSON shape: ndjson,
    /// pretty-printed objects one after another, a JSON array or a Segment batch of any
    /// size; gzip-compressed or not (recognised by its first bytes). A folder is read
    /// whole, files in name order; hidden files, and files that are not JSON, are
    /// skipped with a note.
    #[arg(value_name = "PATH")]
    pub files: Vec<PathBuf>,

    /// The API key (see `usercom keys create`).
    #[arg(
        long,
        env = "USERCOM_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: String,

    /// The domain the events come from (else each event's context.page.url).
    #[arg(long, value_name = "DOMAIN")]
    pub origin: Option<String>,

    /// Append every rejected event to this file, as ndjson
    /// {"source", "line", "item", "reason", "raw"}, one per event (an item of an array
    /// too), to fix and replay ("raw_base64" too when it is not UTF-8; "raw_truncated"
    /// when it was over 8 MiB and only its start is kept).
    #[arg(long, value_name = "PATH")]
    pub rejects: Option<PathBuf>,

    /// Show what the run would change (users and companies created or changed, per
    /// attribute, events and page views added, attributes created) and write nothing.
    /// Runs on a copy of the database in the temporary folder (twice its size on disk).
    #[arg(long, conflicts_with = "rejects")]
    pub dry_run: bool,

    /// Read every file from its start, even those a checkpoint says were read before
    /// (the result is the same: events already applied count as duplicates).
    #[arg(long)]
    pub no_resume: bool,

    /// No progress bar and no per-line messages (the summary is still printed).
    #[arg(long, short)]
    pub quiet: bool,

    /// SQLite page cache for the run, in MiB (taken as pages are used). Profiles are
    /// held apart from it, in up to 36 MiB: they gain more from memory than pages do.
    #[arg(long, default_value_t = SQLITE_CACHE_MIB, value_name = "MIB", value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub cache_mb: u32,

    /// Events per transaction.
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE as u64, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: u64,
    /// Do not record which event wrote each value (`users explain` then shows no writes
    /// for these events); saves the provenance table's space and time.
    #[arg(long)]
    pub no_provenance: bool,

    /// Build the indexes that serve queries (lists, stats, explain) once after the load
    /// instead of row by row: much faster for a large load. auto: when what the input
    /// files hold past their checkpoints (even with --no-resume: what they held before
    /// are duplicates; hidden files left out) is at least twice the bytes the database
    /// holds, and at least 64 MiB. Queries from elsewhere answer more slowly
    /// during the load; if it is killed, the next ingest or `serve` builds the indexes.
    #[arg(long, value_enum, default_value_t = DeferIndexes::Auto, value_name = "WHEN")]
    pub defer_indexes: DeferIndexes,
}

/// Checks an API key; unknown or revoked is 403 Forbidden.
pub fn authorize(store: &Store, key: &str) -> Result<()> {
    match store.key_status(key)? {
        KeyStatus::Active(_) => Ok(()),
        KeyStatus::Revoked(id) => Err(Error::Forbidden(refusal(Some(id), KeyHolder::Cli)).into()),
        KeyStatus::Unknown => Err(Error::Forbidden(refusal(None, KeyHolder::Cli)).into()),
    }
}

fn progress_bar(total: Option<u64>, quiet: bool) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match total {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg} eta {eta}",
            )
            .expect("valid template"),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {bytes} {msg}").expect("valid template"),
        ),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
    Some(bar)
}

/// Runs an ingest over inputs; returns the summary.
pub fn ingest_inputs(
    store: &Store,
    inputs: &mut [Input],
    options: IngestOptions,
    observer: &mut CliObserver<'_>,
) -> Result<Summary> {
    let total = inputs.iter().map(|i| i.size).sum::<Option<u64>>();
    observer.progress = progress_bar(total, observer.quiet);
    let bar = observer.progress.clone();
    let started = Instant::now();
    let policy = options.defer_indexes;
    let unapplied = bulk::unapplied_bytes(store, inputs)?;
    // Made first: it checks the options before any index is dropped.
    let mut ingestor = Ingestor::new(store, options, observer)?;
    let shown = bar.as_ref();
    let run = move || {
        for input in inputs.iter_mut() {
            let mut on_progress = |bytes: u64, summary: &Summary| {
                if let Some(bar) = shown {
                    bar.inc(bytes);
                    let rate = summary.received as f64 / started.elapsed().as_secs_f64().max(1e-3);
                    bar.set_message(format!("{rate:.0} events/s, {} rejected", summary.rejected));
                }
            };
            ingestor.ingest_input(input, &mut on_progress)?;
        }
        ingestor.finish()
    };
    let building = || {
        if let Some(bar) = &bar {
            bar.set_message("building indexes");
        }
    };
    let summary = bulk::load(store, policy, unapplied, run, building)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    observer.finish()?;
    Ok(summary)
}

pub fn run(args: IngestArgs, store: &Store, json: bool) -> Result<i32> {
    let (summary, elapsed) = ingest_args(&args, store)?;
    if json {
        print_json(&summary)?;
    }
    report(&summary, elapsed, json);
    Ok(exit_code(&summary))
}

/// A dry run: see [`dry_run::run`].
pub fn dry_run(args: IngestArgs, db: &Path, json: bool) -> Result<i32> {
    dry_run::run(args, db, json)
}

/// Runs the ingest the arguments ask for on `store`; the summary and seconds taken.
fn ingest_args(args: &IngestArgs, store: &Store) -> Result<(Summary, f64)> {
    authorize(store, &args.api_key)?;
    store.set_cache_mib(args.cache_mb)?;
    let mut inputs = Input::open_all(&args.files).map_err(Error::Usage)?;
    let options = IngestOptions {
        origin: args.origin.clone(),
        batch_size: args.batch_size as usize,
        provenance: !args.no_provenance,
        resume: !args.no_resume,
        defer_indexes: args.defer_indexes,
        ..IngestOptions::default()
    };
    let mut observer = CliObserver::new(args.quiet, args.rejects.clone())?.keep_in(store);
    let started = Instant::now();
    let summary = ingest_inputs(store, &mut inputs, options, &mut observer)?;
    Ok((summary, started.elapsed().as_secs_f64()))
}

/// Notes, the per-file table (text output, more than one file) and the summary line,
/// on stderr.
fn report(summary: &Summary, elapsed: f64, json: bool) {
    for u in &summary.unreadable {
        eprintln!(
            "usercom: {}",
            terminal_safe(&format!("{}: {}", u.source, u.reason))
        );
    }
    for s in &summary.skipped_files {
        eprintln!("usercom: note: {}: {}", s.source, s.reason);
    }
    let resumed = summary
        .files
        .iter()
        .filter(|f| f.resumed_at.is_some())
        .count();
    if resumed > 0 {
        eprintln!(
            "usercom: note: {resumed} file(s) read before (by their checkpoints) were skipped \
             whole or in part; --no-resume reads them again"
        );
    }
    if !json && summary.files.len() > 1 {
        eprintln!("{}", files_table(summary));
    }
    eprintln!("{}", describe(summary, elapsed));
}

/// One row per input file.
fn files_table(summary: &Summary) -> crate::output::TextTable {
    let mut table = crate::output::table(&[
        "file",
        "received",
        "applied",
        "duplicates",
        "skipped",
        "rejected",
        "bytes",
        "resumed at",
    ]);
    for f in &summary.files {
        table.add_row(vec![
            crate::output::cell(Some(&f.source)),
            f.received.to_string(),
            f.applied.to_string(),
            f.duplicates.to_string(),
            f.skipped.to_string(),
            f.rejected.to_string(),
            f.bytes.to_string(),
            f.resumed_at.map(|b| b.to_string()).unwrap_or_default(),
        ]);
    }
    table
}

/// The one-paragraph summary printed to stderr.
pub fn describe(s: &Summary, seconds: f64) -> String {
    let rate = if seconds > 0.0 {
        s.received as f64 / seconds
    } else {
        0.0
    };
    format!(
        "received {}, applied {} (identify {}, page {}, track {}, group {}), rejected {}, \
         skipped {}, duplicates {}, ignored values {} in {seconds:.2}s ({rate:.0} events/s)",
        s.received,
        s.applied,
        s.applied_by_type.identify,
        s.applied_by_type.page,
        s.applied_by_type.track,
        s.applied_by_type.group,
        s.rejected,
        s.skipped,
        s.duplicates,
        s.ignored_values
    )
}

/// 2 when an input could not be read, 1 when events were rejected, else 0.
pub fn exit_code(summary: &Summary) -> i32 {
    if !summary.unreadable.is_empty() {
        exit::USAGE
    } else if summary.rejected > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    }
}
