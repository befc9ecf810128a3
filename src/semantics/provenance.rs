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

    /// One entry: a byte for the slot (and whether a detail follows), a byte for rule
    /// and outcome, a byte naming a standard field (0: the name follows as text), then
    /// the value and the detail, each after its length (a varint).
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
        let has_detail = !detail.is_empty();
        self.buf.push(slot as u8 | (has_detail as u8) << 2);
        self.buf.push(rule as u8 | (outcome as u8) << 4);
        let code = name_code(name);
        self.buf.push(code);
        if code == 0 {
            self.text(name);
        }
        let at = self.buf.len();
        self.buf.push(0);
        value(&mut self.buf);
        self.close(at);
        if has_detail {
            self.text(detail);
        }
    }

    fn text(&mut self, text: &str) {
        let at = self.buf.len();
        self.buf.push(0);
        self.buf.extend_from_slice(text.as_bytes());
        self.close(at);
    }

    /// Writes at `at` (where one byte was reserved) the length of what follows it, as a
    /// varint (moving what follows when it needs more than one byte).
    fn close(&mut self, at: usize) {
        let mut len = self.buf.len() - at - 1;
        let mut varint = Vec::new();
        loop {
            let byte = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                varint.push(byte);
                break;
            }
            varint.push(byte | 0x80);
        }
        self.buf.splice(at..at + 1, varint);
    }
}

/// Standard field names (of users and companies), stored as one byte (their position
/// plus one).
const FIELD_NAMES: [&str; 24] = [
    "anonymous_id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "gender",
    "country",
    "region",
    "city",
    "user_agent",
    "os",
    "device_name",
    "device_type",
    "language",
    "resolution",
    "ip_address",
    "browser_family",
    "browser_version",
    "timezone",
    "current_url",
    "name",
    "description",
    "address",
    "employees",
];

fn name_code(name: &str) -> u8 {
    FIELD_NAMES
        .iter()
        .position(|n| *n == name)
        .map_or(0, |i| i as u8 + 1)
}

/// The writes packed in a blob; an unreadable tail is left out.
pub fn unpack(mut blob: &[u8]) -> Vec<Write> {
    fn varint(blob: &mut &[u8]) -> Option<usize> {
        let mut value = 0usize;
        for shift in (0..35).step_by(7) {
            let (byte, rest) = blob.split_first()?;
            *blob = rest;
            value |= ((byte & 0x7f) as usize) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
    fn text(blob: &mut &[u8]) -> Option<String> {
        let len = varint(blob)?;
        let text = blob.get(..len)?;
        *blob = &blob[len..];
        Some(String::from_utf8_lossy(text).into_owned())
    }
    let mut out = Vec::new();
    while let [head, rule_outcome, code, rest @ ..] = blob {
        let slot = match head & 3 {
            0 => Slot::Field,
            1 => Slot::Attribute,
            _ => Slot::Profile,
        };
        let (Some(rule), Some(outcome)) = (
            Rule::ALL.get((rule_outcome & 0x0f) as usize),
            Outcome::ALL.get((rule_outcome >> 4) as usize),
        ) else {
            break;
        };
        let has_detail = head & 4 != 0;
        let code = *code as usize;
        blob = rest;
        let name = match code {
            0 => text(&mut blob),
            n => FIELD_NAMES.get(n - 1).map(|s| s.to_string()),
        };
        let value = text(&mut blob);
        let detail = if has_detail {
            text(&mut blob)
        } else {
            Some(String::new())
        };
        let (Some(name), Some(value), Some(detail)) = (name, value, detail) else {
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
    entries.sort_by_key(|e| std::cmp::Reverse((e.0, e.1)));
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
        assert_eq!(writes[3].name, "merged");
        // Standard field names take one byte; long values a longer length.
        let long = "x".repeat(300);
        let mut q = Packer::new(true);
        q.scalar(
            Slot::Field,
            "user_agent",
            Some(&Scalar::Text(long.clone())),
            Rule::ContextField,
            Outcome::Applied,
            "",
        );
        assert_eq!(q.bytes().len(), 3 + 2 + 302);
        assert_eq!(unpack(q.bytes())[0].value, format!("\"{long}\""));
        assert_eq!(unpack(q.bytes())[0].name, "user_agent");
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
