//! Provenance: which event wrote a profile's field or attribute, by which rule, and
//! what became of the write. Ingest packs one event's writes to one profile into a
//! compact blob ([`Packer`]); `explain` unpacks them ([`unpack`]) and orders each
//! field's history ([`history`]). Pure: no database.

use serde::Serialize;

use super::attributes::AttrType;

mod packing;

pub use packing::{MIN_SHARED_VALUE, Packer, SharedValues, Write, unpack};

/// Why a value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A trait mapped to a standard field (`email`, `firstName`, `address.city`, ...).
    MappedTrait,
    /// A field taken from the event's context (user agent, locale, IP, page URL, ...).
    ContextField,
    /// `name` split into first and last name.
    NameSplit,
    /// The event's anonymousId.
    AnonymousId,
    /// A custom attribute that did not exist: created as a string with this value.
    AutoCreatedString,
    /// A custom attribute stored as its type, as sent.
    CustomAttribute,
    /// Converted to the attribute's defined type (the detail names the type sent).
    Converted,
    /// Could not be converted to the attribute's type (or is not a valid value for the
    /// field): ignored, the stored value stays.
    Unconvertible,
    /// A null (or empty) value: cleared.
    ClearedByNull,
    /// An Engage audience identify: a boolean attribute.
    AudienceBoolean,
    /// An anonymous profile merged into this one (the value is its anonymousId).
    Merged,
    /// An anonymous profile that became this userId (the value is its anonymousId).
    Claimed,
}

impl Rule {
    const ALL: [Rule; 12] = [
        Rule::MappedTrait,
        Rule::ContextField,
        Rule::NameSplit,
        Rule::AnonymousId,
        Rule::AutoCreatedString,
        Rule::CustomAttribute,
        Rule::Converted,
        Rule::Unconvertible,
        Rule::ClearedByNull,
        Rule::AudienceBoolean,
        Rule::Merged,
        Rule::Claimed,
    ];

    /// In words, for tables.
    pub fn describe(self) -> &'static str {
        match self {
            Rule::MappedTrait => "mapped trait",
            Rule::ContextField => "context field",
            Rule::NameSplit => "name split into first and last name",
            Rule::AnonymousId => "the event's anonymousId",
            Rule::AutoCreatedString => "custom attribute auto-created as string",
            Rule::CustomAttribute => "custom attribute, as its type",
            Rule::Converted => "converted to the defined type",
            Rule::Unconvertible => "ignored: could not be converted",
            Rule::ClearedByNull => "cleared by null",
            Rule::AudienceBoolean => "Engage audience boolean",
            Rule::Merged => "anonymous profile merged in",
            Rule::Claimed => "anonymous profile became this user",
        }
    }
}

/// What became of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It changed the stored value.
    Applied,
    /// An event with a later time had written the slot: last-write-wins kept that one.
    LostToNewer,
    /// Not stored (see the rule).
    Ignored,
}

impl Outcome {
    const ALL: [Outcome; 3] = [Outcome::Applied, Outcome::LostToNewer, Outcome::Ignored];

    pub fn describe(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::LostToNewer => "lost to a newer write (last-write-wins by event time)",
            Outcome::Ignored => "ignored",
        }
    }

    /// What a write did to a slot: `Some(Applied)` when it changed the value,
    /// `Some(LostToNewer)` when a newer write kept another value, None when the slot
    /// already held this value (not history).
    pub fn of_write(same_value: bool, taken: bool) -> Option<Outcome> {
        match (same_value, taken) {
            (true, _) => None,
            (false, true) => Some(Outcome::Applied),
            (false, false) => Some(Outcome::LostToNewer),
        }
    }
}

/// A standard field or a custom attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Slot {
    Field,
    Attribute,
    /// Not a value: a merge or claim of an anonymous profile.
    Profile,
}

/// The type a JSON value was sent as, for "converted from".
pub fn sent_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::String(_) => "string",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Null => "null",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Whether a value sent as JSON is stored as `ty` without conversion.
pub fn is_as_sent(value: &serde_json::Value, ty: AttrType) -> bool {
    matches!(
        (value, ty),
        (serde_json::Value::String(_), AttrType::String)
            | (serde_json::Value::Number(_), AttrType::Number)
            | (serde_json::Value::Bool(_), AttrType::Boolean)
    )
}

/// One field's history: newest first by event time (then by the order recorded), at
/// most `limit` entries. Each entry comes with its event time in milliseconds and its
/// order of recording.
pub fn newest_first<T>(mut entries: Vec<(i64, i64, T)>, limit: usize) -> Vec<T> {
    entries.sort_by_key(|e| std::cmp::Reverse((e.0, e.1)));
    entries.into_iter().take(limit).map(|(_, _, e)| e).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_of_the_value_held_is_not_history() {
        assert_eq!(Outcome::of_write(true, true), None);
        assert_eq!(Outcome::of_write(true, false), None);
        assert_eq!(Outcome::of_write(false, true), Some(Outcome::Applied));
        assert_eq!(Outcome::of_write(false, false), Some(Outcome::LostToNewer));
    }

    #[test]
    fn history_is_newest_first_and_limited() {
        let entries = vec![(10, 1, "a"), (30, 2, "c"), (20, 3, "b"), (30, 4, "d")];
        assert_eq!(newest_first(entries, 3), ["d", "c", "b"]);
    }
}
