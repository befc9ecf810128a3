//! Live: events as they are committed. The writer broadcasts each committed group
//! ([`crate::server::Live`]); `/ui/live/stream` sends them as server-sent events, which
//! the page's script adds to the list (with a pause button). Without script the page
//! shows the latest events and a reload shows newer ones.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use http_body_util::BodyExt;
use hyper::body::{Bytes, Frame};
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use maud::{Markup, html};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, watch};

use super::layout::{self, Ctx};
use super::users::compact;
use super::{Body, Ui};
use crate::api::timeline::Entry;
use crate::store::HistoryQuery;

/// Events shown when the page loads.
const LATEST: u64 = 20;
/// A comment line this often keeps the connection open (and finds closed ones).
const KEEPALIVE: Duration = Duration::from_secs(15);

pub async fn page(ui: &Arc<Ui>, ctx: &Ctx) -> Result<Markup> {
    ctx.params(&[]).only(&[])?;
    let latest = ui
        .with(|store| {
            let q = HistoryQuery {
                limit: Some(LATEST),
                newest_first: true,
                ..HistoryQuery::default()
            };
            let mut entries = Vec::new();
            store.for_each_event(&q, |e| {
                entries.push(Entry::Event(e));
                Ok(())
            })?;
            store.for_each_page(&q, |p| {
                entries.push(Entry::Page(p));
                Ok(())
            })?;
            entries.sort_by(|a, b| b.timestamp().cmp(a.timestamp()));
            entries.truncate(LATEST as usize);
            Ok(entries)
        })
        .await?;
    let body = html! {
        p {
            "Events appear here as they are committed (newest first). "
            button #pause type="button" aria-pressed="false" hidden { "Pause" }
            " " span #live-status role="status" { "Reload for newer events (live updates need JavaScript)." }
        }
        ol #live aria-live="polite" aria-label="Committed events" {
            @for e in &latest {
                li {
                    @match e {
                        Entry::Event(ev) => {
                            time { (ev.timestamp) } " " strong { "track" } " " span.name { (ev.name) }
                            " " span.who { (ev.user_id.as_deref().or(ev.anonymous_id.as_deref()).unwrap_or("")) }
                            " " code { (compact(&ev.properties)) }
                        }
                        Entry::Page(p) => {
                            time { (p.timestamp) } " " strong { "page" } " " span.name { (p.url.as_deref().or(p.name.as_deref()).unwrap_or("")) }
                            " " span.who { (p.user_id.as_deref().or(p.anonymous_id.as_deref()).unwrap_or("")) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(ctx, "Live", body))
}

/// What the page shows of a committed event (the page's script renders it as text).
fn summary(text: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(text).ok()?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let kind = s("type").unwrap_or_default();
    let name = match kind.as_str() {
        "track" => s("event"),
        "page" | "screen" => s("name").or_else(|| {
            v.pointer("/properties/url")
                .or_else(|| v.pointer("/context/page/url"))
                .and_then(Value::as_str)
                .map(str::to_string)
        }),
        "group" => s("groupId"),
        _ => None,
    };
    Some(
        json!({
            "type": kind,
            "name": name,
            "who": s("userId").or_else(|| s("anonymousId")),
            "timestamp": s("timestamp").or_else(|| s("receivedAt")),
            "messageId": s("messageId"),
        })
        .to_string(),
    )
}

/// The server-sent events of committed groups, until the page closes or the server
/// stops.
pub fn stream(ui: &Arc<Ui>, mut closing: watch::Receiver<bool>) -> Response<Body> {
    let mut groups = ui.live.subscribe();
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(async move {
        if tx.send(Bytes::from_static(b": live\n\n")).await.is_err() {
            return;
        }
        loop {
            let frame = tokio::select! {
                group = groups.recv() => match group {
                    Ok(group) => {
                        let mut out = String::new();
                        for text in group.iter() {
                            if let Some(s) = summary(text) {
                                out.push_str("data: ");
                                out.push_str(&s);
                                out.push_str("\n\n");
                            }
                        }
                        out
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        format!("event: lagged\ndata: {n}\n\n")
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tokio::time::sleep(KEEPALIVE) => ": keep-alive\n\n".to_string(),
                _ = closing.changed() => return,
            };
            if !frame.is_empty() && tx.send(Bytes::from(frame)).await.is_err() {
                return;
            }
        }
    });
    let body = Frames(rx).boxed();
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A body whose frames come from a channel (it ends when the sender is dropped).
struct Frames(mpsc::Receiver<Bytes>);

impl hyper::body::Body for Frames {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}
