//! What the server adds to each event on receipt, as Segment's servers do:
//!
//! - `receivedAt`: the time the request arrived (the server's clock);
//! - `messageId`: a fresh unique id when the event has none, so that two identical
//!   requests are two events (a retry of the same call carries the same id);
//! - `context.ip`: the client's address when the event gives none;
//! - the clock-skew correction: an event that carries its own `timestamp` and a
//!   `sentAt` (its own, or its batch's) keeps the client's time as
//!   `originalTimestamp`, and its `timestamp` becomes
//!   `receivedAt - (sentAt - originalTimestamp)` ([`skew_corrected`]);
//! - a batch's envelope applies to its items: its `context` (the item's own keys
//!   win), and its `integrations` and `sentAt` where the item has none.
//!
//! Events are edited at the level of their top-level members, each value kept as the
//! text that was sent: nothing else of the event changes (numbers keep every digit),
//! and no event is parsed into a tree.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

pub use super::members::{Members, json_string};

use crate::semantics::time::{
    format_timestamp, from_unix_seconds, parse_timestamp, skew_corrected,
};

/// A time given as JSON text: an ISO 8601 string, or unix seconds (or milliseconds).
fn read_time(json: &str) -> Option<DateTime<Utc>> {
    if json.starts_with('"') {
        let text: Cow<str> = serde_json::from_str(json).ok()?;
        parse_timestamp(&text)
    } else {
        from_unix_seconds(json.parse::<f64>().ok()?)
    }
}

/// What the server knows of a request.
#[derive(Debug, Clone, Copy)]
pub struct Receipt<'r> {
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// The client's address (the connection's, or the one a trusted proxy gave).
    pub ip: Option<&'r str>,
}

/// What a batch's envelope gives its items.
#[derive(Debug, Default)]
pub struct Envelope<'a> {
    /// Its `context`, when an object: merged into each item's (the item's keys win).
    pub context: Option<Members<'a>>,
    /// Its `integrations`: for items that have none.
    pub integrations: Option<&'a str>,
    /// Its `sentAt`: for items that have none.
    pub sent_at: Option<&'a str>,
}

/// Adds to an event what the server adds on receipt (see the module's description).
/// `fresh_id` makes the messageId of an event that has none.
pub fn stamp<'a>(
    event: &mut Members<'a>,
    receipt: &Receipt<'_>,
    envelope: &Envelope<'a>,
    fresh_id: impl FnOnce() -> String,
) {
    let has_id = match event.get("messageId") {
        None | Some("null") => false,
        Some(json) if json.starts_with('"') => {
            serde_json::from_str::<Cow<str>>(json).is_ok_and(|id| !id.trim().is_empty())
        }
        Some(_) => true,
    };
    if !has_id {
        event.set("messageId", json_string(&fresh_id()));
    }
    if let Some(integrations) = envelope.integrations
        && !event.has("integrations")
    {
        event.set("integrations", integrations.to_string());
    }
    if let Some(sent_at) = envelope.sent_at
        && !event.has("sentAt")
    {
        event.set("sentAt", sent_at.to_string());
    }
    if let Some(context) = stamped_context(event.get("context"), receipt, envelope) {
        event.set("context", context);
    }
    let corrected = match (event.get("timestamp"), event.get("sentAt")) {
        (Some(timestamp), Some(sent_at)) => read_time(timestamp)
            .zip(read_time(sent_at))
            .and_then(|(t, s)| skew_corrected(t, s, receipt.received_at))
            .map(|corrected| (timestamp.to_string(), corrected)),
        _ => None,
    };
    if let Some((original, corrected)) = corrected {
        event.set("originalTimestamp", original);
        event.set("timestamp", json_string(&format_timestamp(corrected)));
    }
    event.set(
        "receivedAt",
        json_string(&format_timestamp(receipt.received_at)),
    );
}

/// The event's context with the envelope's merged in and the client's address added,
/// or None when it stays as it is (nothing to add, or a context that is not an
/// object: the pipeline says what is wrong with it).
fn stamped_context(
    own: Option<&str>,
    receipt: &Receipt<'_>,
    envelope: &Envelope<'_>,
) -> Option<String> {
    let mut context = match own {
        None | Some("null") => Members::default(),
        Some(json) if json.starts_with('{') => Members::parse(json).ok()?,
        Some(_) => return None,
    };
    let mut changed = false;
    if let Some(shared) = &envelope.context {
        for (name, value) in &shared.0 {
            if context.get(name).is_none() {
                context.0.push((Cow::Borrowed(name), Cow::Borrowed(value)));
                changed = true;
            }
        }
    }
    if let Some(ip) = receipt.ip
        && !context.has("ip")
    {
        context.set("ip", json_string(ip));
        changed = true;
    }
    changed.then(|| context.to_json())
}

/// A new messageId: a random (version 4) UUID.
pub fn fresh_message_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No random source: still unique within this process, and across runs by time.
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let t = Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
        bytes[..8].copy_from_slice(&t.to_be_bytes());
        bytes[8..].copy_from_slice(&n.to_be_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            id.push('-');
        }
        id.push(HEX[(byte >> 4) as usize] as char);
        id.push(HEX[(byte & 0xf) as usize] as char);
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn t(text: &str) -> DateTime<Utc> {
        parse_timestamp(text).unwrap()
    }

    const ARRIVAL: &str = "2026-10-01T10:00:06.000Z";

    fn receipt() -> Receipt<'static> {
        Receipt {
            received_at: t(ARRIVAL),
            ip: Some("203.0.113.9"),
        }
    }

    /// The event `text` stamped as the server does, parsed back.
    fn stamped_with(text: &str, envelope: &Envelope<'_>) -> Value {
        let mut members = Members::parse(text).unwrap();
        stamp(&mut members, &receipt(), envelope, || {
            "fresh-id".to_string()
        });
        serde_json::from_str(&members.to_json()).unwrap()
    }

    fn stamped(text: &str) -> Value {
        stamped_with(text, &Envelope::default())
    }

    #[test]
    fn received_at_message_id_and_ip_are_added() {
        let event = stamped(r#"{"type":"track","userId":"u","event":"E"}"#);
        assert_eq!(event["receivedAt"], ARRIVAL);
        assert_eq!(event["messageId"], "fresh-id");
        assert_eq!(event["context"], json!({"ip": "203.0.113.9"}));
        assert!(event.get("timestamp").is_none(), "no time is made up");
        // A client's receivedAt is the server's to set.
        let event = stamped(r#"{"receivedAt":"2030-01-01T00:00:00Z"}"#);
        assert_eq!(event["receivedAt"], ARRIVAL);
    }

    #[test]
    fn what_the_event_gives_is_kept() {
        let event = stamped(
            r#"{"messageId":"m-1","context":{"ip":"198.51.100.1","locale":"pl-PL"},"properties":{"n":12345678901234567890}}"#,
        );
        assert_eq!(event["messageId"], "m-1");
        assert_eq!(event["context"]["ip"], "198.51.100.1");
        assert_eq!(event["context"]["locale"], "pl-PL");
        let mut members = Members::parse(r#"{"properties":{"n":12345678901234567890}}"#).unwrap();
        stamp(&mut members, &receipt(), &Envelope::default(), || {
            "x".into()
        });
        assert!(members.to_json().contains("12345678901234567890"));
        // Numeric ids are ids; empty ones and null are none.
        assert_eq!(stamped(r#"{"messageId":42}"#)["messageId"], 42);
        assert_eq!(stamped(r#"{"messageId":"  "}"#)["messageId"], "fresh-id");
        assert_eq!(stamped(r#"{"messageId":null}"#)["messageId"], "fresh-id");
        // A null ip is none; a context that is not an object is left for the pipeline.
        assert_eq!(
            stamped(r#"{"context":{"ip":null}}"#)["context"]["ip"],
            "203.0.113.9"
        );
        assert_eq!(stamped(r#"{"context":"x"}"#)["context"], "x");
    }

    #[test]
    fn a_fast_client_clock_is_corrected() {
        // The client's clock is a day fast: called at 10:00:00 by it, sent 5 s later,
        // received at 10:00:06 on the server's clock (a day earlier).
        let event =
            stamped(r#"{"timestamp":"2026-10-02T10:00:00Z","sentAt":"2026-10-02T10:00:05Z"}"#);
        assert_eq!(event["originalTimestamp"], "2026-10-02T10:00:00Z");
        assert_eq!(event["timestamp"], "2026-10-01T10:00:01.000Z");
        assert_eq!(event["sentAt"], "2026-10-02T10:00:05Z");
        // Without sentAt the timestamp is taken as it is (a server library's import).
        let event = stamped(r#"{"timestamp":"2020-01-01T00:00:00Z"}"#);
        assert_eq!(event["timestamp"], "2020-01-01T00:00:00Z");
        assert!(event.get("originalTimestamp").is_none());
        // A historical timestamp sent now stays historical.
        let event =
            stamped(r#"{"timestamp":"2020-01-01T00:00:00Z","sentAt":"2026-10-01T10:00:05Z"}"#);
        assert_eq!(event["timestamp"], "2020-01-01T00:00:01.000Z");
        // Unix seconds are times too; what cannot be read is left for the pipeline.
        let event = stamped(r#"{"timestamp":1790000000,"sentAt":1790000005}"#);
        assert_eq!(event["originalTimestamp"], 1790000000);
        assert_eq!(event["timestamp"], "2026-10-01T10:00:01.000Z");
        let event = stamped(r#"{"timestamp":"soon","sentAt":"2026-10-02T10:00:05Z"}"#);
        assert_eq!(event["timestamp"], "soon");
        assert!(event.get("originalTimestamp").is_none());
        // originalTimestamp alone is left to the pipeline's time rule (with receivedAt).
        let event = stamped(
            r#"{"originalTimestamp":"2026-10-02T10:00:00Z","sentAt":"2026-10-02T10:00:05Z"}"#,
        );
        assert!(event.get("timestamp").is_none());
        assert_eq!(event["receivedAt"], ARRIVAL);
    }

    #[test]
    fn the_envelope_applies_to_batch_items() {
        let shared = Members::parse(r#"{"ip":"192.0.2.1","timezone":"Europe/Paris"}"#).unwrap();
        let envelope = Envelope {
            context: Some(shared),
            integrations: Some(r#"{"All":false}"#),
            sent_at: Some(r#""2026-10-02T10:00:05Z""#),
        };
        let event = stamped_with(
            r#"{"timestamp":"2026-10-02T10:00:00Z","context":{"timezone":"Europe/Warsaw"}}"#,
            &envelope,
        );
        assert_eq!(event["timestamp"], "2026-10-01T10:00:01.000Z");
        assert_eq!(event["sentAt"], "2026-10-02T10:00:05Z");
        assert_eq!(event["integrations"], json!({"All": false}));
        assert_eq!(
            event["context"],
            json!({"timezone": "Europe/Warsaw", "ip": "192.0.2.1"})
        );
        // The item's own sentAt and integrations win.
        let event = stamped_with(
            r#"{"timestamp":"2026-10-02T10:00:00Z","sentAt":"2026-10-02T10:00:00Z","integrations":{}}"#,
            &envelope,
        );
        assert_eq!(event["timestamp"], ARRIVAL);
        assert_eq!(event["integrations"], json!({}));
    }

    #[test]
    fn fresh_ids_are_uuids_and_unique() {
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| fresh_message_id()).collect();
        assert_eq!(ids.len(), 1000);
        let id = ids.iter().next().unwrap();
        assert_eq!(id.len(), 36);
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(&id[14..15], "4");
        assert!(id.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()));
    }
}
