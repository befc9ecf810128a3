//! What Segment would deliver to this destination at all, and what a batch envelope
//! gives the events it carries.

use serde_json::{Map, Value};

/// The names this destination goes by in an `integrations` object.
pub const DESTINATION_NAMES: &[&str] = &["User.com", "UserEngage"];

/// Segment's per-destination filter: a key naming this destination decides when present
/// (`false`: not delivered; `true` or an object: delivered); otherwise `"All": false`
/// means not delivered. Returns why the event is not delivered, or None.
pub fn not_delivered(integrations: &Value) -> Option<String> {
    let Value::Object(map) = integrations else {
        return None;
    };
    for name in DESTINATION_NAMES {
        if let Some(value) = map.get(*name) {
            return (value == &Value::Bool(false)).then(|| {
                format!("not delivered to this destination: integrations.{name} is false")
            });
        }
    }
    (map.get("All") == Some(&Value::Bool(false)))
        .then(|| "not delivered to this destination: integrations.All is false".to_string())
}

/// What a batch envelope `{"batch": [...], ...}` gives each of its events.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// Shared context: each event's own keys win.
    context: Option<Map<String, Value>>,
    /// For events without an `integrations` object of their own.
    integrations: Option<Value>,
    /// For events without a `sentAt` of their own (analytics-python, analytics.js
    /// batching put it on the envelope).
    sent_at: Option<Value>,
}

impl Envelope {
    /// Takes the shared parts out of an envelope object (its `batch` is left in place).
    pub fn take_from(envelope: &mut Map<String, Value>) -> Envelope {
        Envelope {
            context: match envelope.remove("context") {
                Some(Value::Object(context)) => Some(context),
                _ => None,
            },
            integrations: envelope.remove("integrations").filter(|v| !v.is_null()),
            sent_at: envelope.remove("sentAt").filter(|v| !v.is_null()),
        }
    }

    /// The envelope of a batch whose keys stay where they are (a batch read item by item).
    pub fn of(envelope: &Map<String, Value>) -> Envelope {
        let mut given = Map::new();
        for key in ["context", "integrations", "sentAt"] {
            if let Some(value) = envelope.get(key) {
                given.insert(key.to_string(), value.clone());
            }
        }
        Envelope::take_from(&mut given)
    }

    /// One event of the batch with what the envelope gives it. Not an object: as it is.
    pub fn apply(&self, item: Value) -> Value {
        let Value::Object(mut object) = item else {
            return item;
        };
        if let Some(shared) = &self.context {
            let mut context = shared.clone();
            if let Some(Value::Object(own)) = object.remove("context") {
                context.extend(own);
            }
            object.insert("context".to_string(), Value::Object(context));
        }
        for (key, value) in [
            ("integrations", &self.integrations),
            ("sentAt", &self.sent_at),
        ] {
            if let Some(value) = value {
                let own = object.get(key).is_some_and(|v| !v.is_null());
                if !own {
                    object.insert(key.to_string(), value.clone());
                }
            }
        }
        Value::Object(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_destination_s_own_key_decides_first() {
        assert!(not_delivered(&json!({"All": false})).is_some());
        assert!(not_delivered(&json!({"User.com": false})).is_some());
        assert!(not_delivered(&json!({"UserEngage": false, "All": true})).is_some());
        assert!(not_delivered(&json!({"All": false, "User.com": true})).is_none());
        assert!(not_delivered(&json!({"All": false, "User.com": {"x": 1}})).is_none());
        assert!(not_delivered(&json!({"Mixpanel": false})).is_none());
        assert!(not_delivered(&json!({})).is_none());
        assert!(not_delivered(&json!("All")).is_none());
    }

    #[test]
    fn the_envelope_fills_what_an_item_lacks() {
        let mut envelope = json!({"batch": [], "context": {"locale": "pl", "ip": "1.1.1.1"},
            "integrations": {"All": false}, "sentAt": "2026-10-05T00:00:00Z"});
        let envelope = Envelope::take_from(envelope.as_object_mut().unwrap());
        let item = envelope.apply(json!({"type": "page", "context": {"ip": "2.2.2.2"},
            "sentAt": "2026-10-06T00:00:00Z"}));
        assert_eq!(item["context"], json!({"locale": "pl", "ip": "2.2.2.2"}));
        assert_eq!(item["integrations"], json!({"All": false}));
        assert_eq!(item["sentAt"], "2026-10-06T00:00:00Z");
        let item = envelope.apply(json!({"type": "page", "integrations": {"User.com": true}}));
        assert_eq!(item["integrations"], json!({"User.com": true}));
        assert_eq!(item["sentAt"], "2026-10-05T00:00:00Z");
        assert_eq!(envelope.apply(json!(3)), json!(3));
    }
}
