//! The event-time rule: when an event happened, the one place every front-end asks.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::event::WireEvent;
use super::profile::Ignored;
use super::time::{from_unix_seconds, parse_timestamp, skew_corrected};
use super::wire::Loose;

/// When an event happened, and how that was decided.
#[derive(Debug, Clone, PartialEq)]
pub struct EventTime {
    pub time: DateTime<Utc>,
    /// The time is an arrival stamp (`receivedAt`, or the arrival time itself): among
    /// equal stamps the later arrival wins.
    pub arrival: bool,
    /// Time fields that could not be read (passed over for the next).
    pub ignored: Vec<Ignored>,
}

/// The event-time rule, the one place for every front-end: `timestamp`; else
/// `originalTimestamp` corrected by `sentAt` and `receivedAt` when both are there
/// (Segment's clock-skew correction); else `originalTimestamp`; else `sentAt`; else
/// `receivedAt`; else `arrival` (the time the event arrived). A field that cannot be
/// read (or is empty) is reported and the next one used.
pub fn event_time(wire: &WireEvent, arrival: DateTime<Utc>) -> EventTime {
    let mut ignored = Vec::new();
    let mut read = |field: &str, value: &Option<Loose>| {
        let value = value.as_ref()?;
        let parsed = match value {
            Loose::Text(text) => parse_timestamp(text),
            Loose::Int(n) => from_unix_seconds(*n as f64),
            Loose::Uint(_) => None,
            Loose::Float(x) => from_unix_seconds(*x),
            Loose::Bool(_) => None,
        };
        if parsed.is_none() {
            let shown = match value {
                Loose::Text(text) => Value::String(text.clone()).to_string(),
                other => other.to_text(),
            };
            ignored.push(Ignored {
                attribute: field.to_string(),
                value: shown,
                reason: "not a time (ISO 8601, years 1 to 9998, or epoch seconds or \
                         milliseconds): the next time field is used"
                    .to_string(),
            });
        }
        parsed
    };
    // Fields are read only as far as the rule needs them (a Segment export carries all
    // four, and its `timestamp` decides).
    if let Some(time) = read("timestamp", &wire.timestamp) {
        return EventTime {
            time,
            arrival: false,
            ignored,
        };
    }
    let original = read("originalTimestamp", &wire.original_timestamp);
    let sent_at = read("sentAt", &wire.sent_at);
    let received_at = match (original, sent_at) {
        (Some(_), Some(_)) | (None, None) => read("receivedAt", &wire.received_at),
        _ => None,
    };
    let corrected = match (original, sent_at, received_at) {
        (Some(original), Some(sent), Some(received)) => skew_corrected(original, sent, received),
        _ => None,
    };
    let (time, arrival) = match corrected.or(original).or(sent_at) {
        Some(time) => (time, false),
        None => (received_at.unwrap_or(arrival), true),
    };
    EventTime {
        time,
        arrival,
        ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::event::{Decoded, Event, decode};

    fn now() -> DateTime<Utc> {
        parse_timestamp("2026-11-01T00:00:00Z").unwrap()
    }

    fn event(text: &str) -> Event {
        let wire: WireEvent = serde_json::from_str(text).unwrap();
        match decode(wire, text.as_bytes(), now()).unwrap() {
            Decoded::Event(e) => *e,
            Decoded::Skipped(r) => panic!("skipped: {r}"),
        }
    }

    #[test]
    fn time_falls_back_in_order() {
        let e = event(
            r#"{"type":"page","userId":"u","originalTimestamp":"2026-10-02T00:00:00Z","sentAt":"2026-10-03T00:00:00Z"}"#,
        );
        assert_eq!(e.time, parse_timestamp("2026-10-02T00:00:00Z").unwrap());
        let e = event(r#"{"type":"page","userId":"u","receivedAt":"2026-10-04T00:00:00Z"}"#);
        assert_eq!(e.time, parse_timestamp("2026-10-04T00:00:00Z").unwrap());
        assert_eq!(event(r#"{"type":"page","userId":"u"}"#).time, now());
    }

    #[test]
    fn skew_is_corrected_when_sent_at_and_received_at_are_both_there() {
        // A device clock a day fast: corrected onto the server's clock.
        let e = event(
            r#"{"type":"page","userId":"u","originalTimestamp":"2026-10-02T10:00:00Z","sentAt":"2026-10-02T10:00:05Z","receivedAt":"2026-10-01T10:00:06Z"}"#,
        );
        assert_eq!(e.time, parse_timestamp("2026-10-01T10:00:01Z").unwrap());
        assert!(!e.arrival_stamped);
        // A timestamp is already corrected: used as it is.
        let e = event(
            r#"{"type":"page","userId":"u","timestamp":"2026-10-02T10:00:00Z","originalTimestamp":"2026-10-02T10:00:00Z","sentAt":"2026-10-02T10:00:05Z","receivedAt":"2026-10-01T10:00:06Z"}"#,
        );
        assert_eq!(e.time, parse_timestamp("2026-10-02T10:00:00Z").unwrap());
        // Without receivedAt: originalTimestamp as sent.
        let e = event(
            r#"{"type":"page","userId":"u","originalTimestamp":"2026-10-02T10:00:00Z","sentAt":"2026-10-02T10:00:05Z"}"#,
        );
        assert_eq!(e.time, parse_timestamp("2026-10-02T10:00:00Z").unwrap());
    }

    #[test]
    fn an_unreadable_time_is_reported_and_the_next_one_used() {
        let e = event(
            r#"{"type":"page","userId":"u","timestamp":"soon","sentAt":"2026-10-03T00:00:00Z"}"#,
        );
        assert_eq!(e.time, parse_timestamp("2026-10-03T00:00:00Z").unwrap());
        assert_eq!(e.ignored.len(), 1);
        assert_eq!(e.ignored[0].attribute, "timestamp");
        assert_eq!(e.ignored[0].value, "\"soon\"");
        let e = event(r#"{"type":"page","userId":"u","timestamp":"","originalTimestamp":true}"#);
        assert_eq!(e.time, now());
        assert!(e.arrival_stamped);
        assert_eq!(e.ignored.len(), 2);
    }

    #[test]
    fn arrival_stamps_are_marked() {
        assert!(event(r#"{"type":"page","userId":"u"}"#).arrival_stamped);
        assert!(
            event(r#"{"type":"page","userId":"u","receivedAt":"2026-10-04T00:00:00Z"}"#)
                .arrival_stamped
        );
        assert!(
            !event(r#"{"type":"page","userId":"u","sentAt":"2026-10-04T00:00:00Z"}"#)
                .arrival_stamped
        );
    }
}
