//! Provenance: which event wrote a profile's field or attribute, by which rule, and
//! what became of the write. Ingest packs one event's writes to one profile into a
//! compact blob ([`Packer`]); `explain` unpacks them ([`unpack`]) and orders each
//! field's history ([`history`]). Pure: no database.

use std::io::Write as _;

use serde::Serialize;

use super::attributes::{AttrType, Scalar};

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

/// One write, unpacked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Write {
    pub slot: Slot,
    pub name: String,
    /// The value written (or sent, when ignored), as JSON text; `null` for a clear.
    pub value: String,
    pub rule: Rule,
    pub outcome: Outcome,
    /// The type sent (converted), the reason (ignored), the trait key (mapped).
    pub detail: String,
}

/// Packs the writes of one event to one profile into a reused buffer, without
/// allocating per write.
#[derive(Debug, Default)]
pub struct Packer {
    buf: Vec<u8>,
    /// Off: nothing is packed.
    enabled: bool,
}

impl Packer {
    pub fn new(enabled: bool) -> Packer {
        Packer {
            buf: Vec::new(),
            enabled,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// A write of a stored value (`None`: a clear).
    pub fn scalar(
        &mut self,
        slot: Slot,
        name: &str,
        value: Option<&Scalar>,
        rule: Rule,
        outcome: Outcome,
        detail: &str,
    ) {
        self.entry(slot, name, rule, outcome, detail, |buf| {
            let _ = match value {
                None => buf.write_all(b"null"),
                Some(Scalar::Text(s)) => serde_json::to_writer(&mut *buf, s).map_err(Into::into),
                Some(Scalar::Int(n)) => write!(buf, "{n}"),
                Some(Scalar::Real(x)) => serde_json::to_writer(&mut *buf, x).map_err(Into::into),
                Some(Scalar::Bool(b)) => write!(buf, "{b}"),
            };
        });
    }

    /// A write given as JSON text (an ignored value as sent, a merged anonymousId).
    pub fn json(
        &mut self,
        slot: Slot,
        name: &str,
        json: &str,
        rule: Rule,
        outcome: Outcome,
        detail: &str,
    ) {
        self.entry(slot, name, rule, outcome, detail, |buf| {
            buf.extend_from_slice(json.as_bytes())
        });
    }

    /// One entry: slot, rule, outcome, then name, value and detail, each with its length.
    fn entry(
        &mut self,
        slot: Slot,
        name: &str,
        rule: Rule,
        outcome: Outcome,
        detail: &str,
        value: impl FnOnce(&mut Vec<u8>),
    ) {
        if !self.enabled {
            return;
        }
        self.head(slot, name, rule, outcome);
        let at = self.open();
        value(&mut self.buf);
        self.close(at);
        self.text(detail);
    }

    fn head(&mut self, slot: Slot, name: &str, rule: Rule, outcome: Outcome) {
        self.buf.push(slot as u8);
        self.buf.push(rule as u8);
        self.buf.push(outcome as u8);
        self.text(name);
    }

    fn text(&mut self, text: &str) {
        let at = self.open();
        self.buf.extend_from_slice(text.as_bytes());
        self.close(at);
    }

    /// Reserves a 4-byte length; [`Packer::close`] fills it in.
    fn open(&mut self) -> usize {
        self.buf.extend_from_slice(&[0; 4]);
        self.buf.len()
    }

    fn close(&mut self, at: usize) {
        let len = (self.buf.len() - at) as u32;
        self.buf[at - 4..at].copy_from_slice(&len.to_le_bytes());
    }
}

/// The writes packed in a blob; an unreadable tail is left out.
pub fn unpack(mut blob: &[u8]) -> Vec<Write> {
    fn text(blob: &mut &[u8]) -> Option<String> {
        let (len, rest) = blob.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        let text = rest.get(..len)?;
        *blob = &rest[len..];
        Some(String::from_utf8_lossy(text).into_owned())
    }
    let mut out = Vec::new();
    while let [slot, rule, outcome, rest @ ..] = blob {
        let slot = match slot {
            0 => Slot::Field,
            1 => Slot::Attribute,
            _ => Slot::Profile,
        };
        let (Some(rule), Some(outcome)) = (
            Rule::ALL.get(*rule as usize),
            Outcome::ALL.get(*outcome as usize),
        ) else {
            break;
        };
        blob = rest;
        let (Some(name), Some(value), Some(detail)) =
            (text(&mut blob), text(&mut blob), text(&mut blob))
        else {
            break;
        };
        out.push(Write {
            slot,
            name,
            value,
            rule: *rule,
            outcome: *outcome,
            detail,
        });
    }
    out
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
    entries.sort_by(|a, b| (b.0, b.1).cmp(&(a.0, a.1)));
    entries.into_iter().take(limit).map(|(_, _, e)| e).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_pack_and_unpack() {
        let mut p = Packer::new(true);
        p.scalar(
            Slot::Field,
            "email",
            Some(&Scalar::Text("a\"b@x".into())),
            Rule::MappedTrait,
            Outcome::Applied,
            "email",
        );
        p.scalar(
            Slot::Attribute,
            "n",
            Some(&Scalar::Int(42)),
            Rule::Converted,
            Outcome::LostToNewer,
            "string",
        );
        p.scalar(
            Slot::Attribute,
            "gone",
            None,
            Rule::ClearedByNull,
            Outcome::Applied,
            "",
        );
        p.json(
            Slot::Profile,
            "merged",
            "\"anon-1\"",
            Rule::Merged,
            Outcome::Applied,
            "",
        );
        let writes = unpack(p.bytes());
        assert_eq!(writes.len(), 4);
        assert_eq!(writes[0].value, r#""a\"b@x""#);
        assert_eq!(writes[0].rule, Rule::MappedTrait);
        assert_eq!(writes[1].value, "42");
        assert_eq!(writes[1].outcome, Outcome::LostToNewer);
        assert_eq!(writes[1].detail, "string");
        assert_eq!(writes[2].value, "null");
        assert_eq!(writes[3].slot, Slot::Profile);
        // A truncated blob gives what is whole.
        let cut = &p.bytes()[..p.bytes().len() - 3];
        assert_eq!(unpack(cut).len(), 3);
        p.clear();
        assert!(p.is_empty());
        let mut off = Packer::new(false);
        off.json(Slot::Profile, "x", "1", Rule::Merged, Outcome::Applied, "");
        assert!(off.is_empty());
    }

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
