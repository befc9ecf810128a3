//! What applying an event needs that depends on the event alone, worked out where it is
//! decoded: the profile fields its context sets, what its traits do to a profile, its
//! time as stored. An ingest decodes on its reading thread and a server on its request
//! threads, so this work stays off the one thread that applies events.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::attributes::Scalar;
use super::context::{Context, context_fields, user_agent};
use super::device::parse_user_agent_cached;
use super::profile::{TraitChanges, UserField, user_trait_changes};
use super::time::format_timestamp;

/// What applying an event needs that depends on the event alone, worked out when it is
/// decoded (on an ingest's reading thread, on a server's request threads) rather than
/// on the one thread that applies events.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// The profile fields its context sets ([`context_fields`]), as the values written.
    pub context_fields: Vec<(UserField, Option<Scalar>)>,
    /// What its user traits do to a profile ([`user_trait_changes`]).
    pub trait_changes: TraitChanges<UserField>,
    /// A page view's or track event's time as stored (empty for the other calls).
    pub time_text: String,
}

impl Prepared {
    /// `stored_with_time`: a page view or track event, whose row holds its time.
    pub(super) fn of(
        stored_with_time: bool,
        time: DateTime<Utc>,
        context: &Context,
        traits: &Map<String, Value>,
    ) -> Prepared {
        let ua = user_agent(context).map(parse_user_agent_cached);
        Prepared {
            context_fields: context_fields(context, ua.as_deref())
                .into_iter()
                .map(|(field, text)| (field, Some(Scalar::Text(text.into()))))
                .collect(),
            trait_changes: user_trait_changes(traits),
            time_text: if stored_with_time {
                format_timestamp(time)
            } else {
                String::new()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::semantics::attributes::Scalar;
    use crate::semantics::event::{Decoded, Event, decode_text};
    use crate::semantics::profile::{UserField, user_trait_changes};
    use crate::semantics::time::parse_timestamp;

    fn event(text: &str) -> Event {
        let now = parse_timestamp("2026-06-01T00:00:00Z").unwrap();
        match decode_text(text, now).unwrap() {
            Decoded::Event(event) => *event,
            other => panic!("not an event: {other:?}"),
        }
    }

    #[test]
    fn an_event_comes_decoded_with_its_context_fields_trait_changes_and_stored_time() {
        let page = event(
            r#"{"type":"page","anonymousId":"a","timestamp":"2026-05-01T10:00:00.5Z",
                "context":{"userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
                           "locale":"pl-PL","traits":{"email":"a@x.io","plan":"pro"}}}"#,
        );
        let fields = &page.prepared.context_fields;
        let field = |f: UserField| match fields.iter().find(|(g, _)| *g == f) {
            Some((_, Some(Scalar::Text(v)))) => Some(v.as_str()),
            _ => None,
        };
        assert_eq!(field(UserField::BrowserFamily), Some("Safari"));
        assert_eq!(field(UserField::DeviceType), Some("mobile"));
        assert_eq!(
            page.prepared.trait_changes,
            user_trait_changes(&page.user_traits)
        );
        assert_eq!(page.prepared.trait_changes.custom.len(), 1, "plan");
        assert_eq!(page.prepared.time_text, "2026-05-01T10:00:00.500Z");
        // An identify's row holds no time: none is formatted.
        let identify = event(r#"{"type":"identify","userId":"u","traits":{"name":"A B"}}"#);
        assert_eq!(identify.prepared.time_text, "");
        assert!(identify.prepared.context_fields.is_empty());
        assert_eq!(
            identify.prepared.trait_changes,
            user_trait_changes(&identify.user_traits)
        );
    }
}
