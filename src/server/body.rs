//! Request bodies: a single call or a batch, read into its events, each stamped as
//! Segment's servers do on receipt ([`super::stamp`]) and decoded here, on the
//! request's thread, for the writer to apply.

use hyper::body::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::errors::ApiError;
use super::stamp::{Envelope, Members, Receipt, fresh_message_id, json_string, stamp};
use super::writer::{Item, Payload};

/// Segment's limit for one call, and for one event inside a batch (32 KB).
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Segment's limit for one batch request (500 KB).
pub const MAX_BATCH_BYTES: usize = 500 * 1024;

/// The reason the pipeline gives an item that is not an object.
const NOT_AN_OBJECT: &str = "not a JSON object (expected an event)";

/// A request's events for the writer, the items refused here and the `writeKey` of
/// the body, if any.
pub struct Parsed {
    pub payload: Payload,
    pub refused: Vec<Refused>,
    pub write_key: Option<String>,
}

/// A batch item refused before the pipeline: its position, why, and its text (kept
/// with the rejections once the request's key is checked; only its start when over
/// the per-event limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub item: usize,
    pub reason: String,
    pub raw: Bytes,
    /// `raw` is only the start of the item.
    pub truncated: bool,
}

impl Refused {
    fn new(item: usize, reason: String, text: &str) -> Refused {
        let mut end = text.len().min(crate::store::MAX_RAW_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        Refused {
            item,
            reason,
            raw: Bytes::copy_from_slice(&text.as_bytes()[..end]),
            truncated: end < text.len(),
        }
    }
}

fn parse_error(body: &str, e: serde_json::Error) -> ApiError {
    let what = if body.trim().is_empty() {
        "the body is empty: expected a JSON object".to_string()
    } else {
        format!("invalid JSON: {e}")
    };
    ApiError::bad_request("invalid_json", what)
}

/// The members of the body's object; `not_object` says what was expected.
fn members<'a>(body: &'a str, not_object: &str) -> Result<Members<'a>, ApiError> {
    Members::parse(body).map_err(|e| {
        match serde_json::from_str::<serde::de::IgnoredAny>(body) {
            // Valid JSON, but not an object.
            Ok(_) => ApiError::bad_request("invalid_request", not_object),
            Err(_) => parse_error(body, e),
        }
    })
}

/// A JSON string member read as text; None when absent or not a string.
fn string_member(members: &Members<'_>, name: &str) -> Option<String> {
    serde_json::from_str::<String>(members.get(name)?).ok()
}

/// A single call (`/v1/track`, `/v1/t`, ...): its `type` is the path's.
pub fn single(kind: &str, body: &str, receipt: &Receipt<'_>) -> Result<Parsed, ApiError> {
    let mut event = members(body, "expected a JSON object (one event)")?;
    let write_key = string_member(&event, "writeKey");
    event.remove("writeKey");
    event.set("type", json_string(kind));
    stamp(&mut event, receipt, &Envelope::default(), fresh_message_id);
    Ok(Parsed {
        payload: Payload::One(Item::decode(event.to_json(), receipt.received_at)),
        refused: Vec::new(),
        write_key,
    })
}

fn too_large_event(size: usize) -> String {
    format!("event over 32 KB ({size} bytes), Segment's limit per event")
}

/// A batch (`/v1/batch`, `/v1/b`, `/v1/import`): `{"batch": [events], "context"?,
/// "integrations"?, "sentAt"?, "writeKey"?}`. Items over the per-event limit or not
/// objects are refused here; the others are stamped, the envelope applied to each.
pub fn batch(body: &str, receipt: &Receipt<'_>) -> Result<Parsed, ApiError> {
    let envelope = members(body, "expected a JSON object {\"batch\": [events]}")?;
    let write_key = string_member(&envelope, "writeKey");
    let Some(items) = envelope.get("batch") else {
        return Err(ApiError::bad_request(
            "invalid_request",
            "no \"batch\": expected a Segment batch {\"batch\": [events]}",
        ));
    };
    let Ok(items) = Vec::<&RawValue>::deserialize(&mut serde_json::Deserializer::from_str(items))
    else {
        return Err(ApiError::bad_request(
            "invalid_request",
            "\"batch\" is not an array: expected {\"batch\": [events]}",
        ));
    };
    let shared = Envelope {
        context: envelope
            .get("context")
            .filter(|c| c.starts_with('{'))
            .and_then(|c| Members::parse(c).ok()),
        integrations: envelope.get("integrations").filter(|i| *i != "null"),
        sent_at: envelope.get("sentAt").filter(|s| *s != "null"),
    };
    let mut texts = Vec::with_capacity(items.len());
    let mut refused = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let text = item.get();
        if text.len() > MAX_EVENT_BYTES {
            refused.push(Refused::new(index, too_large_event(text.len()), text));
            continue;
        }
        let Ok(mut event) = Members::parse(text) else {
            refused.push(Refused::new(index, NOT_AN_OBJECT.to_string(), text));
            continue;
        };
        stamp(&mut event, receipt, &shared, fresh_message_id);
        texts.push((index, Item::decode(event.to_json(), receipt.received_at)));
    }
    Ok(Parsed {
        payload: Payload::Many(texts),
        refused,
        write_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::{Value, json};

    fn receipt() -> Receipt<'static> {
        Receipt {
            received_at: Utc::now(),
            ip: None,
        }
    }

    fn events(parsed: &Parsed) -> Vec<(Option<usize>, Value)> {
        match &parsed.payload {
            Payload::One(item) => vec![(None, serde_json::from_slice(&item.text).unwrap())],
            Payload::Many(items) => items
                .iter()
                .map(|(i, item)| (Some(*i), serde_json::from_slice(&item.text).unwrap()))
                .collect(),
            Payload::Nothing => Vec::new(),
        }
    }

    #[test]
    fn single_calls_get_the_path_type_and_lose_the_write_key() {
        let parsed = single(
            "track",
            r#"{"type":"page","writeKey":"k","event":"E"}"#,
            &receipt(),
        )
        .ok()
        .unwrap();
        assert_eq!(parsed.write_key.as_deref(), Some("k"));
        let (_, event) = &events(&parsed)[0];
        assert_eq!(event["type"], "track");
        assert_eq!(event["event"], "E");
        assert!(event.get("writeKey").is_none());
        for body in ["[1]", "3", "{\"a\":", ""] {
            assert!(single("track", body, &receipt()).is_err(), "{body}");
        }
    }

    #[test]
    fn oversize_and_non_object_items_are_refused_in_place() {
        let big = "x".repeat(MAX_EVENT_BYTES);
        let body = json!({"batch": [{"type": "track"}, {"type": "track", "event": big}, 3], "writeKey": "w"})
            .to_string();
        let parsed = batch(&body, &receipt()).ok().unwrap();
        assert_eq!(parsed.write_key.as_deref(), Some("w"));
        let items = events(&parsed);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].0, Some(0));
        assert_eq!(parsed.refused.len(), 2);
        assert_eq!(parsed.refused[0].item, 1);
        assert!(parsed.refused[0].reason.contains("32 KB"));
        assert_eq!(parsed.refused[0].raw.len(), crate::store::MAX_RAW_BYTES);
        assert!(parsed.refused[0].truncated);
        assert_eq!(
            parsed.refused[1],
            Refused {
                item: 2,
                reason: NOT_AN_OBJECT.to_string(),
                raw: Bytes::from_static(b"3"),
                truncated: false,
            }
        );
        for body in [r#"{"batch": {}}"#, r#"[]"#, r#"{"batch": [{}]"#, r#"{}"#] {
            assert!(batch(body, &receipt()).is_err(), "{body}");
        }
    }
}
