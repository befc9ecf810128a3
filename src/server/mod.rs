//! `usercom serve`: Segment's HTTP Tracking API on the same database.
//!
//! - [`http`]: handlers on hyper, over [`routes`] (paths, CORS), [`request`] (the API
//!   key, the page's domain, the client's address, limits, gzip), [`body`] (a call or a
//!   batch into events, each stamped on receipt by [`stamp`] and decoded),
//!   [`settings`] (the document analytics.js loads) and [`errors`] (the answers).
//!   Nothing there touches the database.
//! - [`admin`]: the read API, `POST /v1/expect` and `POST /v1/reset` (admin keys, the
//!   `Host` check, their CORS), on read connections of their own; [`reads`] answers
//!   them with the query layer ([`crate::api`]).
//! - [`writer`]: one thread owns the [`Store`] and an [`Ingestor`](crate::ingest::Ingestor)
//!   (the pipeline `usercom ingest` uses), checks each request's key and commits queued
//!   requests in groups; a request is answered only after the commit that holds its
//!   events returned.
//! - [`Checkpointer`]: copies the write-ahead log into the database file on a thread
//!   of its own, so that commits only append to the log.

mod admin;
mod body;
mod errors;
mod http;
mod kept;
mod members;
mod reads;
mod request;
mod routes;
mod settings;
mod stamp;
mod writer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use admin::{Admin, host_allowed};
pub use body::{MAX_BATCH_BYTES, MAX_EVENT_BYTES};
pub use http::StatsSnapshot;
pub use routes::percent_decoded;
pub use writer::Live;

/// A form's body (`application/x-www-form-urlencoded`, at most 64 KiB) as its pairs, in
/// order; or why it could not be read.
pub async fn read_form(
    request: hyper::Request<hyper::body::Incoming>,
    timeout: Duration,
) -> std::result::Result<Vec<(String, String)>, String> {
    let body = request::read_body(request, 64 * 1024, false, timeout)
        .await
        .map_err(|e| e.message)?;
    Ok(url::form_urlencoded::parse(&body).into_owned().collect())
}

use crate::store::Store;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The database file.
    pub db: PathBuf,
    pub listen: SocketAddr,
    /// Commit with `PRAGMA synchronous=FULL` (each group commit waits for the disk), so
    /// that a 200 survives a power loss; else NORMAL (survives a crash of the process).
    pub durable: bool,
    /// On SIGINT/SIGTERM, how long open requests get to finish.
    pub shutdown_grace: Duration,
    /// Threads for HTTP (the writer has its own).
    pub threads: usize,
    /// How long a client may take to send a request's headers, and then its body.
    pub request_timeout: Duration,
    /// The writer connection's SQLite page cache, in MiB.
    pub cache_mib: u32,
    /// Behind a proxy: the client's address is the right-most `X-Forwarded-For`
    /// address (and the host called is `X-Forwarded-Host`/`-Proto`).
    pub trust_proxy: bool,
    /// The one origin whose pages may call the read API, expect and reset (CORS).
    pub cors_origin: Option<String>,
    /// `POST /v1/reset` empties the database (else 403).
    pub allow_reset: bool,
    /// Serve the web UI under `/ui/`.
    pub ui: bool,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub listen: String,
    /// Responses by status.
    pub responses: StatsSnapshot,
    /// Events as the pipeline counted them (committed requests).
    pub received: u64,
    pub applied: u64,
    pub duplicates: u64,
    pub skipped: u64,
    pub rejected: u64,
    /// Group commits (each holds every request queued while the previous one ran).
    pub groups: u64,
    /// Groups that failed and were rolled back (their requests were answered 500).
    pub failed_groups: u64,
    /// Connections still open when the grace period ran out (their requests were not
    /// answered 200; whatever of them was queued was still committed).
    pub connections_cut: usize,
}

/// WAL pages past which the writer checkpoints by itself (SQLite's default is 1,000;
/// the checkpoint thread keeps the log well below this).
const WRITER_CHECKPOINT_PAGES: i64 = 50_000;
/// Committed groups the live view may fall behind by (a slower page skips them).
const LIVE_GROUPS: usize = 256;
/// How often the checkpoint thread copies committed pages into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// Copies the write-ahead log into the database file (a PASSIVE checkpoint, which
/// never blocks the writer) on its own thread and connection, so that the writer's
/// commits only append to the log; the file writes and syncs of checkpoints are
/// paid here.
struct Checkpointer {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    fn start(db: &std::path::Path) -> Result<Checkpointer> {
        let store = Store::open(db)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("usercom-checkpoint".to_string())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_INTERVAL)
                {
                    let done = store
                        .conn()
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    if let Err(e) = done {
                        eprintln!("usercom serve: WAL checkpoint: {e}");
                    }
                }
            })
            .context("starting the checkpoint thread")?;
        Ok(Checkpointer { stop, thread })
    }

    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// Runs the server until SIGINT or SIGTERM; `ready` is told the bound address once it
/// accepts connections. Returns after everything accepted was committed.
pub fn run(config: Config, ready: impl FnOnce(SocketAddr)) -> Result<Report> {
    let store = Store::open(&config.db)?;
    // A load that was interrupted may have left the query indexes to build; failing to
    // build them slows queries down but loses nothing.
    if let Err(e) = store.build_deferred_indexes() {
        eprintln!("usercom serve: {e:#} (queries answer more slowly until they are built)");
    }
    let synchronous = if config.durable { "FULL" } else { "NORMAL" };
    store
        .conn()
        .pragma_update(None, "synchronous", synchronous)
        .context("setting the server's commit durability")?;
    // WAL checkpoints run on a thread of their own (below); the writer checkpoints
    // only if the log grows past this, should that thread fall behind.
    store
        .conn()
        .pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
    // The writer's page cache holds what a group touches (a group of thousands of
    // events touches pages all over the tables): fewer reads, and no dirty pages
    // spilled to the log before the commit.
    store.set_cache_mib(config.cache_mib)?;
    let checkpointer = Checkpointer::start(&config.db)?;
    let listener = std::net::TcpListener::bind(config.listen)
        .with_context(|| format!("listening on {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;

    let (jobs, queue) = std::sync::mpsc::channel();
    let (live, _) = tokio::sync::broadcast::channel(LIVE_GROUPS);
    let writer_live = live.clone();
    let writer = std::thread::Builder::new()
        .name("usercom-writer".to_string())
        .spawn(move || writer::run(store, queue, writer_live))
        .context("starting the writer thread")?;
    let admin = Arc::new(admin::Admin::new(
        config.db.clone(),
        config.cors_origin.clone(),
        config.allow_reset,
        config.request_timeout,
    ));
    let ui = config.ui.then(|| {
        Arc::new(crate::ui::Ui::new(
            admin.clone(),
            addr.ip().is_loopback(),
            live,
            config.request_timeout,
        ))
    });
    let state = Arc::new(http::State {
        jobs,
        stats: http::Stats::default(),
        body_timeout: config.request_timeout,
        trust_proxy: config.trust_proxy,
        local: addr,
        admin,
        ui,
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.threads.max(1))
        .enable_all()
        .build()
        .context("starting the HTTP runtime")?;
    let accepted = runtime.block_on(accept(
        listener,
        state.clone(),
        ready,
        config.shutdown_grace,
    ));
    // Tasks still running (past the grace period) are dropped with their senders.
    runtime.shutdown_timeout(Duration::from_secs(1));
    let responses = state.stats.snapshot();
    drop(state);
    // The writer ends once every sender is gone and the queue is committed.
    let report = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the writer thread panicked"))?;
    checkpointer.stop();
    let connections_cut = accepted?;
    Ok(Report {
        listen: addr.to_string(),
        responses,
        received: report.received,
        applied: report.applied,
        duplicates: report.duplicates,
        skipped: report.skipped,
        rejected: report.rejected,
        groups: report.groups,
        failed_groups: report.failed_groups,
        connections_cut,
    })
}

/// Accepts connections until a signal; then lets open ones finish for up to `grace`.
/// Returns how many were still open after it.
async fn accept(
    listener: std::net::TcpListener,
    state: Arc<http::State>,
    ready: impl FnOnce(SocketAddr),
    grace: Duration,
) -> Result<usize> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    ready(listener.local_addr()?);
    let name = loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection(stream, peer, state.clone(), shutdown_rx.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait, then go on.
                    eprintln!("usercom serve: accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = interrupt.recv() => break "SIGINT",
            _ = terminate.recv() => break "SIGTERM",
        }
    };
    drop(listener);
    eprintln!(
        "usercom serve: {name}: not accepting connections; finishing {} (up to {} s)",
        crate::output::counted(connections.len() as u64, "open one", "open ones"),
        grace.as_secs()
    );
    // A second signal does not wait: what was answered 200 is committed already.
    tokio::spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        eprintln!("usercom serve: second signal: exiting now");
        std::process::exit(130);
    });
    let _ = shutdown.send(true);
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    let cut = if drained.is_err() {
        connections.len()
    } else {
        0
    };
    connections.abort_all();
    Ok(cut)
}

/// Serves one connection (HTTP/1.1, keep-alive) until it closes or the server stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    state: Arc<http::State>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let header_timeout = state.body_timeout;
    let closing = shutdown.clone();
    let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
        let state = state.clone();
        let closing = closing.clone();
        async move {
            if let Some(ui) = state.ui.clone()
                && crate::ui::is_ui_path(request.uri().path())
            {
                return Ok::<_, std::convert::Infallible>(
                    crate::ui::handle(ui, request, closing).await,
                );
            }
            let answer = http::handle(state, Some(peer), request).await?;
            Ok(answer.map(http_body_util::BodyExt::boxed))
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = shutdown.changed() => {}
    }
    // Finish the request in progress, if any, then close.
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}
