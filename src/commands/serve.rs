//! `usercom serve`: Segment's HTTP Tracking API on the database.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Args, ValueEnum};

use crate::output::print_json;
use crate::server::{self, Config, Report};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on. Loopback by default; any other address exposes
    /// the API to whoever can reach it. Port 0 takes a free port: the first line on
    /// stdout, `listening on http://ADDR:PORT`, says which.
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR:PORT")]
    pub listen: SocketAddr,

    /// When a commit counts as done before the request is answered 200: `full` waits
    /// for the disk (survives a power loss); `normal` survives a crash of usercom but
    /// may lose the last commits to a power loss (SQLite's PRAGMA synchronous).
    #[arg(long, value_enum, default_value_t = Synchronous::Full)]
    pub synchronous: Synchronous,

    /// On SIGINT/SIGTERM, seconds that open requests get to finish.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub shutdown_timeout: u64,

    /// Seconds a client may take to send a request's headers, and then its body
    /// (answered 408 past that).
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub request_timeout: f64,

    /// The writer's SQLite page cache, in MiB: a database that fits is written fastest
    /// (memory is taken as pages are used).
    #[arg(long, default_value_t = 256, value_name = "MIB", value_parser = clap::value_parser!(u32).range(2..))]
    pub cache_mb: u32,

    /// Behind a reverse proxy: take each client's address (the `context.ip` of events
    /// that give none) from the right-most `X-Forwarded-For` address, and the scheme
    /// and host that the settings document points analytics.js at from
    /// `X-Forwarded-Proto`/`-Host`. Only with a proxy that sets them: otherwise clients
    /// could claim any address.
    #[arg(long)]
    pub trust_proxy: bool,

    /// The origin (scheme://host[:port]) of the one web page allowed to call the read
    /// API, expect and reset from a browser (a test runner's page); none by default.
    #[arg(long, value_name = "ORIGIN")]
    pub cors_origin: Option<String>,

    /// Let `POST /v1/reset` (admin key) empty the database: users, companies, events,
    /// page views, rejections and remembered messageIds. For throw-away test databases.
    #[arg(long)]
    pub allow_reset: bool,

    /// Threads for HTTP (default: the number of cores); one more thread writes.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Synchronous {
    Full,
    Normal,
}

pub fn run(args: ServeArgs, db: &Path, json: bool) -> Result<i32> {
    let threads = match args.threads {
        Some(n) => n as usize,
        None => std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    let config = Config {
        db: db.to_path_buf(),
        listen: args.listen,
        durable: args.synchronous == Synchronous::Full,
        shutdown_grace: Duration::from_secs(args.shutdown_timeout),
        threads,
        cache_mib: args.cache_mb,
        trust_proxy: args.trust_proxy,
        cors_origin: args.cors_origin.clone(),
        allow_reset: args.allow_reset,
        request_timeout: Duration::try_from_secs_f64(args.request_timeout)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                crate::Error::Usage("--request-timeout must be a positive number of seconds".into())
            })?,
    };
    if !args.listen.ip().is_loopback() {
        eprintln!(
            "usercom serve: warning: listening on {}, not a loopback address: anyone who can \
             reach it may send requests (each still needs an API key)",
            args.listen
        );
    }
    let started = Instant::now();
    let report = server::run(config, |addr| {
        // The first line on stdout, at once: a script that started the server on port 0
        // reads the port it got from it.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{addr}");
        let _ = out.flush();
        eprintln!(
            "usercom serve: database {}; SIGINT or SIGTERM stops",
            db.display()
        );
    })?;
    eprintln!("{}", describe(&report, started.elapsed().as_secs_f64()));
    if json {
        print_json(&report)?;
    }
    Ok(0)
}

fn describe(r: &Report, seconds: f64) -> String {
    let s = &r.responses;
    let mut text = format!(
        "usercom serve: stopped after {seconds:.1}s: responses 2xx {}, 400 {}, 403 {}, 413 {}, \
         other 4xx {}, 5xx {}; events received {}, applied {}, duplicates {}, skipped {}, \
         rejected {} in {} group commits",
        s.ok,
        s.bad_request,
        s.forbidden,
        s.too_large,
        s.other_client_errors,
        s.server_errors,
        r.received,
        r.applied,
        r.duplicates,
        r.skipped,
        r.rejected,
        r.groups
    );
    if !s.failed.is_empty() {
        let failed: Vec<String> = s
            .failed
            .iter()
            .map(|(status, n)| format!("{status} x{n}"))
            .collect();
        text.push_str(&format!("; failed requests: {}", failed.join(", ")));
    }
    if r.failed_groups > 0 {
        text.push_str(&format!(
            "; {} group commits failed (answered 500)",
            r.failed_groups
        ));
    }
    if r.connections_cut > 0 {
        text.push_str(&format!(
            "; {} still open after the grace period {} closed",
            crate::output::counted(r.connections_cut as u64, "connection", "connections"),
            crate::output::was(r.connections_cut as u64)
        ));
    }
    text
}
