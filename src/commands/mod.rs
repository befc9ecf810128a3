//! The command-line front-end: clap types, reading input, printing.

mod attrs;
mod companies;
mod demo;
mod domains;
mod expect;
mod explain;
mod history;
mod ingest;
mod keys;
mod lists;
mod rejections;
mod serve;
mod snapshot;
mod status;
mod users;

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::store::Store;

/// usercom: the User.com destination for Segment, on a local SQLite file.
///
/// Pipe Segment events (identify, page, track, group) in as ndjson and usercom applies
/// User.com's semantics: user profiles, typed custom attributes, page views, event
/// occurrences and companies. Start with `usercom demo`.
#[derive(Debug, Parser)]
#[command(
    name = "usercom",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// The database file (created, and migrated, on first use).
    #[arg(long, global = true, env = "USERCOM_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Machine-readable JSON on stdout (an object for one thing, an array for a list).
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a demo database and key, ingest the bundled sample stream, show the result.
    Demo(demo::DemoArgs),
    /// Apply Segment events from files, folders (gzip or not) or stdin.
    Ingest(ingest::IngestArgs),
    /// Look at user profiles.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Look at companies.
    #[command(subcommand)]
    Companies(companies::CompaniesCommand),
    /// Look at event occurrences (track calls).
    #[command(subcommand)]
    Events(history::EventsCommand),
    /// Look at page views (page calls).
    #[command(subcommand)]
    Pages(history::PagesCommand),
    /// Define and list custom attributes and their types.
    #[command(subcommand)]
    Attrs(attrs::AttrsCommand),
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Manage trusted domains (none configured: every domain is allowed).
    #[command(subcommand)]
    Domains(domains::DomainsCommand),
    /// Rejected and skipped events, kept with where they came from and why.
    #[command(subcommand)]
    Rejections(rejections::RejectionsCommand),
    /// Wait until a user or company is as a test expects (exit 0), else show the
    /// difference (exit 1).
    #[command(subcommand)]
    Expect(expect::ExpectCommand),
    /// What the database holds at a glance: users, companies, events, rejections, keys.
    Status,
    /// Delete every user, company, event, page view, kept rejection and remembered
    /// messageId; keys, trusted domains and attribute definitions stay.
    Reset(status::ResetArgs),
    /// Serve Segment's HTTP Tracking API (/v1/identify, /v1/track, /v1/batch, ...).
    Serve(serve::ServeArgs),
    /// The whole state (users, companies, attribute definitions) as canonical JSON.
    Snapshot(snapshot::SnapshotArgs),
    /// Compare two databases or snapshots (exit 0 when equal, 1 when not).
    Diff(snapshot::DiffArgs),
}

/// The database path when none is given.
pub const DEFAULT_DB: &str = "usercom.db";

/// Parses the command line and runs it; returns the exit code.
pub fn run() -> Result<i32> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            e.print()?;
            return Ok(if e.use_stderr() {
                crate::error::exit::USAGE
            } else {
                0
            });
        }
    };
    let json = cli.json;
    let db = cli.db.clone();
    let open = || open_store(db.as_deref().unwrap_or(Path::new(DEFAULT_DB)));
    match cli.command {
        Command::Demo(args) => demo::run(args, db.as_deref(), json),
        Command::Ingest(args) if args.dry_run => {
            ingest::dry_run(args, db.as_deref().unwrap_or(Path::new(DEFAULT_DB)), json)
        }
        Command::Ingest(args) => ingest::run(args, &open()?, json),
        Command::Users(cmd) => users::run(cmd, &open()?, json),
        Command::Companies(cmd) => companies::run(cmd, &open()?, json),
        Command::Events(cmd) => history::run_events(cmd, &open()?, json),
        Command::Pages(cmd) => history::run_pages(cmd, &open()?, json),
        Command::Attrs(cmd) => attrs::run(cmd, &open()?, json),
        Command::Keys(cmd) => keys::run(cmd, &open()?, json),
        Command::Domains(cmd) => domains::run(cmd, &open()?, json),
        Command::Rejections(cmd) => rejections::run(cmd, &open()?, json),
        Command::Expect(cmd) => expect::run(cmd, &open()?, json),
        Command::Status => status::run_status(&open()?, json),
        Command::Reset(args) => status::run_reset(args, &open()?, json),
        Command::Serve(args) => {
            serve::run(args, db.as_deref().unwrap_or(Path::new(DEFAULT_DB)), json)
        }
        Command::Snapshot(args) => {
            snapshot::run_snapshot(args, db.as_deref().unwrap_or(Path::new(DEFAULT_DB)))
        }
        Command::Diff(args) => snapshot::run_diff(args, json),
    }
}

fn open_store(path: &Path) -> Result<Store> {
    Store::open(path)
}
