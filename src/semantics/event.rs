//! Decoding a Segment event: from the wire shape to a validated [`Event`].

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::context::Context;
use super::delivery::not_delivered;
use super::event_time::{EventTime, event_time};
use super::lww::Clock;
pub use super::prepared::Prepared;
use super::profile::Ignored;
use super::wire::Loose;

/// The call types this destination applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Identify,
    Page,
    Track,
    Group,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Identify => "identify",
            Kind::Page => "page",
            Kind::Track => "track",
            Kind::Group => "group",
        }
    }
}

/// An event as sent: every field optional, so that validation can say what is missing.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEvent {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub user_id: Option<Loose>,
    pub anonymous_id: Option<Loose>,
    pub message_id: Option<Loose>,
    pub timestamp: Option<Loose>,
    pub original_timestamp: Option<Loose>,
    pub sent_at: Option<Loose>,
    pub received_at: Option<Loose>,
    pub event: Option<Loose>,
    pub name: Option<Loose>,
    pub group_id: Option<Loose>,
    pub traits: Option<Map<String, Value>>,
    pub properties: Option<Map<String, Value>>,
    pub context: Option<Context>,
    /// Segment's per-destination filter.
    pub integrations: Option<Value>,
    /// Set on a Segment batch envelope `{"batch": [...]}` sent as one line.
    pub batch: Option<Vec<Value>>,
}

/// A validated event, ready to apply.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: Kind,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// As sent, or derived from the content when absent.
    pub message_id: String,
    pub time: DateTime<Utc>,
    pub clock: Clock,
    /// The user's traits: `context.traits`, overlaid by identify's own `traits`.
    pub user_traits: Map<String, Value>,
    /// group's `traits` (the company's).
    pub company_traits: Map<String, Value>,
    pub properties: Map<String, Value>,
    /// track's `event`, page's `name`.
    pub name: Option<String>,
    pub group_id: Option<String>,
    pub context: Context,
    /// Its time is an arrival stamp ([`EventTime::arrival`]).
    pub arrival_stamped: bool,
    /// Values of the event that were passed over (reported, not applied).
    pub ignored: Vec<Ignored>,
    /// What applying it needs that depends on the event alone.
    pub prepared: Prepared,
}

impl Event {
    /// The page URL the event was sent from: `context.page.url`, else, on a page call,
    /// `properties.url` (server-side libraries send no `context.page`).
    pub fn page_url(&self) -> Option<&str> {
        let from_context = self
            .context
            .page
            .get()
            .and_then(|page| page.url.get()?.as_str())
            .filter(|url| !url.trim().is_empty());
        from_context.or_else(|| match self.kind {
            Kind::Page => self
                .properties
                .get("url")
                .and_then(Value::as_str)
                .filter(|url| !url.trim().is_empty()),
            _ => None,
        })
    }

    /// The Engage audience this identify reports membership of, if any.
    pub fn audience_key(&self) -> Option<&str> {
        let personas = self.context.personas.get()?;
        if personas.computation_class.get()?.as_str()? != "audience" {
            return None;
        }
        personas.computation_key.get()?.as_str()
    }
}

/// What decoding an event came to.
#[derive(Debug)]
pub enum Decoded {
    Event(Box<Event>),
    /// A call type this destination does not take (alias, screen).
    Skipped(String),
}

/// Call types that are valid Segment calls but not part of this destination.
const SKIPPED_TYPES: &[&str] = &["alias", "screen"];

/// Validates a wire event. `content` is the event's raw text, from which a messageId is
/// derived when none was sent; `now` is the arrival time, the time of last resort.
pub fn decode(wire: WireEvent, content: &[u8], now: DateTime<Utc>) -> Result<Decoded, String> {
    let kind = match wire.kind.as_deref().map(str::trim) {
        None | Some("") => return Err("missing \"type\"".to_string()),
        Some("identify") => Kind::Identify,
        Some("page") => Kind::Page,
        Some("track") => Kind::Track,
        Some("group") => Kind::Group,
        Some(other) if SKIPPED_TYPES.contains(&other) => {
            return Ok(Decoded::Skipped(format!(
                "{other} calls are not taken by the User.com destination"
            )));
        }
        Some(other) => return Err(format!("unknown type {other:?}")),
    };
    if let Some(reason) = wire.integrations.as_ref().and_then(not_delivered) {
        return Ok(Decoded::Skipped(reason));
    }
    let EventTime {
        time,
        arrival: arrival_stamped,
        ignored,
    } = event_time(&wire, now);
    let user_id = id_text("userId", wire.user_id)?;
    let anonymous_id = id_text("anonymousId", wire.anonymous_id)?;
    if user_id.is_none() && anonymous_id.is_none() {
        return Err("neither userId nor anonymousId: every call needs one".to_string());
    }
    let name = non_empty(if kind == Kind::Track {
        wire.event
    } else {
        wire.name
    });
    if kind == Kind::Track && name.is_none() {
        return Err("track without \"event\"".to_string());
    }
    let group_id = id_text("groupId", wire.group_id)?;
    if kind == Kind::Group && group_id.is_none() {
        return Err("group without \"groupId\"".to_string());
    }
    let message_id = match id_text("messageId", wire.message_id)? {
        Some(id) => id,
        None => derived_message_id(content),
    };
    let mut context = wire.context.unwrap_or_default();
    let mut ignored = ignored;
    for (part, broken) in context.broken_parts() {
        ignored.push(Ignored {
            attribute: part.to_string(),
            value: "{…}".to_string(),
            reason: format!("could not be decoded ({}): skipped", broken.0),
        });
    }
    let mut user_traits = context.traits.0.take().unwrap_or_default();
    let mut company_traits = Map::new();
    let traits = wire.traits.unwrap_or_default();
    match kind {
        Kind::Group => company_traits = traits,
        _ => user_traits.extend(traits),
    }
    let prepared = Prepared::of(
        kind == Kind::Page || kind == Kind::Track,
        time,
        &context,
        &user_traits,
    );
    Ok(Decoded::Event(Box::new(Event {
        prepared,
        kind,
        user_id,
        anonymous_id,
        clock: Clock::new(time, &message_id),
        message_id,
        time,
        user_traits,
        company_traits,
        properties: wire.properties.unwrap_or_default(),
        name,
        group_id,
        context,
        arrival_stamped,
        ignored,
    })))
}

/// An id as text: a number keeps its exact digits; one read as a float past 2^53 may
/// have lost digits already, so it is refused rather than merged with another id.
fn id_text(field: &str, value: Option<Loose>) -> Result<Option<String>, String> {
    if let Some(Loose::Float(x)) = value
        && x.abs() >= 9_007_199_254_740_992.0
    {
        return Err(format!(
            "{field} is a number too large to keep exactly ({x}): send ids as strings"
        ));
    }
    Ok(non_empty(value))
}

fn non_empty(value: Option<Loose>) -> Option<String> {
    let text = value?.into_text();
    if text.trim().is_empty() {
        None
    } else {
        Some(text)
    }
}

/// A stable messageId for an event sent without one, so replays are not double-counted:
/// a hash of the event's JSON in canonical form (keys sorted, no spaces), so the same
/// event gives the same id on an ndjson line, inside an array or batch, or re-spaced.
pub fn derived_message_id(content: &[u8]) -> String {
    let canonical = serde_json::from_slice::<Value>(content)
        .map(|value| value.to_string().into_bytes())
        .unwrap_or_else(|_| content.trim_ascii().to_vec());
    let digest = Sha256::digest(&canonical);
    let mut id = String::with_capacity(8 + 32);
    id.push_str("derived-");
    for byte in &digest[..16] {
        id.push_str(&format!("{byte:02x}"));
    }
    id
}

/// Decodes the JSON text of one event object: parsed as a [`WireEvent`], then
/// [`decode`]d. The reason says whether the text is not JSON or not a valid event.
pub fn decode_text(text: &str, now: DateTime<Utc>) -> Result<Decoded, String> {
    let wire = serde_json::from_str::<WireEvent>(text).map_err(|e| wire_error(&e))?;
    decode(wire, text.as_bytes(), now)
}

/// Why a text could not be read as a [`WireEvent`].
pub fn wire_error(e: &serde_json::Error) -> String {
    if e.is_data() {
        format!("invalid event: {e}")
    } else {
        format!("invalid JSON: {e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::time::parse_timestamp;

    fn now() -> DateTime<Utc> {
        parse_timestamp("2026-11-01T00:00:00Z").unwrap()
    }

    fn decode_str(text: &str) -> Result<Decoded, String> {
        let wire: WireEvent = serde_json::from_str(text).unwrap();
        decode(wire, text.as_bytes(), now())
    }

    fn event(text: &str) -> Event {
        match decode_str(text).unwrap() {
            Decoded::Event(e) => *e,
            Decoded::Skipped(r) => panic!("skipped: {r}"),
        }
    }

    #[test]
    fn needs_a_type() {
        assert_eq!(
            decode_str(r#"{"userId":"u"}"#).unwrap_err(),
            "missing \"type\""
        );
        assert_eq!(
            decode_str(r#"{"type":"launch","userId":"u"}"#).unwrap_err(),
            "unknown type \"launch\""
        );
    }

    #[test]
    fn text_that_is_not_json_or_not_an_event_says_which() {
        let err = decode_text(r#"{"type":"track","#, now()).unwrap_err();
        assert!(err.starts_with("invalid JSON: "), "{err}");
        let err = decode_text(r#"{"type":"track","traits":[1]}"#, now()).unwrap_err();
        assert!(err.starts_with("invalid event: "), "{err}");
        let text = r#"{"type":"track","userId":"u","event":"E","messageId":"m"}"#;
        let Decoded::Event(decoded) = decode_text(text, now()).unwrap() else {
            panic!("not an event");
        };
        assert_eq!(decoded.message_id, "m");
        assert_eq!(decoded.time, now());
    }

    #[test]
    fn needs_an_id() {
        let err = decode_str(r#"{"type":"identify","userId":"  "}"#).unwrap_err();
        assert!(err.contains("neither userId nor anonymousId"), "{err}");
    }

    #[test]
    fn track_needs_event_and_group_needs_group_id() {
        assert_eq!(
            decode_str(r#"{"type":"track","userId":"u"}"#).unwrap_err(),
            "track without \"event\""
        );
        assert_eq!(
            decode_str(r#"{"type":"group","userId":"u"}"#).unwrap_err(),
            "group without \"groupId\""
        );
    }

    #[test]
    fn alias_and_screen_are_skipped() {
        for kind in ["alias", "screen"] {
            let text = format!(r#"{{"type":"{kind}","userId":"u"}}"#);
            assert!(matches!(decode_str(&text), Ok(Decoded::Skipped(_))));
        }
    }

    #[test]
    fn numeric_ids_are_accepted() {
        let e = event(r#"{"type":"identify","userId":42}"#);
        assert_eq!(e.user_id.as_deref(), Some("42"));
    }

    #[test]
    fn missing_message_id_is_derived_from_content() {
        let a = event(r#"{"type":"page","userId":"u"}"#);
        let b = event(r#"{ "userId": "u",  "type": "page" }  "#);
        let c = event(r#"{"type":"page","userId":"v"}"#);
        assert!(a.message_id.starts_with("derived-"));
        assert_eq!(a.message_id, b.message_id);
        assert_ne!(a.message_id, c.message_id);
    }

    #[test]
    fn identify_traits_overlay_context_traits() {
        let e = event(
            r#"{"type":"identify","userId":"u","traits":{"email":"own@x.com"},"context":{"traits":{"email":"ctx@x.com","plan":"pro"}}}"#,
        );
        assert_eq!(e.user_traits["email"], "own@x.com");
        assert_eq!(e.user_traits["plan"], "pro");
    }

    #[test]
    fn group_traits_are_the_company_s() {
        let e = event(
            r#"{"type":"group","userId":"u","groupId":"g","traits":{"name":"Acme"},"context":{"traits":{"email":"u@x.com"}}}"#,
        );
        assert_eq!(e.company_traits["name"], "Acme");
        assert_eq!(e.user_traits["email"], "u@x.com");
        assert!(!e.user_traits.contains_key("name"));
    }

    #[test]
    fn audience_key_only_for_audiences() {
        let e = event(
            r#"{"type":"identify","userId":"u","context":{"personas":{"computation_class":"audience","computation_key":"vip_users"}}}"#,
        );
        assert_eq!(e.audience_key(), Some("vip_users"));
        let e = event(
            r#"{"type":"identify","userId":"u","context":{"personas":{"computation_class":"trait","computation_key":"ltv"}}}"#,
        );
        assert_eq!(e.audience_key(), None);
    }
}
