//! The packed form of provenance: one event's writes to one profile in a compact blob
//! ([`Packer`]), long values stored once ([`SharedValues`]), and read back ([`unpack`]).

use std::collections::HashMap;
use std::io::Write as _;

use serde::Serialize;

use super::{Outcome, Rule, Slot};
use crate::semantics::attributes::Scalar;

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
    /// The value is stored once apart, under this id ([`SharedValues`]); `value` is
    /// empty until it is looked up.
    #[serde(skip)]
    pub shared: Option<i64>,
}

/// Values of at least this many bytes (as JSON text) are stored once and named by id.
pub const MIN_SHARED_VALUE: usize = 24;
/// What the table of shared values may hold in memory, in bytes of values.
const MAX_SHARED_BYTES: usize = 1 << 20;
/// A head byte's flag: the value is the id of a shared value.
const SHARED_FLAG: u8 = 8;

/// Long values that many writes repeat (a user agent, a page URL, an anonymousId),
/// each stored once in its own table and named by id in the packed writes, so that
/// history takes a few bytes per write instead of the value again. Holds at most
/// [`MAX_SHARED_BYTES`] of values; past that, values are packed inline.
#[derive(Debug, Default)]
pub struct SharedValues {
    ids: HashMap<Box<[u8]>, i64>,
    bytes: usize,
    next: i64,
    /// Given an id since last taken: to be stored.
    fresh: Vec<(i64, Box<[u8]>)>,
}

impl SharedValues {
    /// At the start of a transaction: ids are given from `next` on (the first unused
    /// id in the table). The ones known are kept only if the table is as left (it ends
    /// where this run's last id ended): after a rollback, or values added by another
    /// writer, they are forgotten.
    pub fn begin(&mut self, next: i64) {
        if next != self.next {
            self.clear();
        }
        self.next = next;
    }

    /// Forgets every id (the table may have changed underneath).
    pub fn clear(&mut self) {
        self.ids.clear();
        self.bytes = 0;
        self.fresh.clear();
        self.next = 0;
    }

    /// The values given an id since last asked, to store with the writes that name them.
    pub fn take_fresh(&mut self) -> Vec<(i64, Box<[u8]>)> {
        std::mem::take(&mut self.fresh)
    }

    /// The id of a value, given one if there is room (`None`: pack it inline).
    fn id_of(&mut self, value: &[u8]) -> Option<i64> {
        if let Some(id) = self.ids.get(value) {
            return Some(*id);
        }
        if self.next <= 0 || self.bytes + value.len() > MAX_SHARED_BYTES {
            return None;
        }
        let id = self.next;
        self.next += 1;
        self.bytes += value.len();
        self.ids.insert(value.into(), id);
        self.fresh.push((id, value.into()));
        Some(id)
    }
}

/// Packs the writes of one event to one profile into a reused buffer, without
/// allocating per write.
#[derive(Debug, Default)]
pub struct Packer {
    buf: Vec<u8>,
    /// Off: nothing is packed.
    enabled: bool,
    pub shared: SharedValues,
}

impl Packer {
    pub fn new(enabled: bool) -> Packer {
        Packer {
            buf: Vec::new(),
            enabled,
            shared: SharedValues::default(),
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
                Some(Scalar::Text(s)) => {
                    serde_json::to_writer(&mut *buf, s.as_str()).map_err(Into::into)
                }
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
        let head = self.buf.len();
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
        // An anonymousId names one profile: it would be stored once anyway.
        let repeats = code != 1 && slot != Slot::Profile;
        let shared = (repeats && self.buf.len() - at > MIN_SHARED_VALUE)
            .then(|| self.shared.id_of(&self.buf[at + 1..]))
            .flatten();
        match shared {
            Some(id) => {
                self.buf.truncate(at);
                self.buf[head] |= SHARED_FLAG;
                push_varint(&mut self.buf, id as u64);
            }
            None => self.close(at),
        }
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
        let len = self.buf.len() - at - 1;
        if len < 0x80 {
            self.buf[at] = len as u8;
            return;
        }
        let mut varint = Vec::with_capacity(5);
        push_varint(&mut varint, len as u64);
        self.buf.splice(at..at + 1, varint);
    }
}

fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
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
        let (value, shared) = if head & SHARED_FLAG != 0 {
            (Some(String::new()), varint(&mut blob).map(|id| id as i64))
        } else {
            (text(&mut blob), None)
        };
        if head & SHARED_FLAG != 0 && shared.is_none() {
            break;
        }
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
            shared,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_stored_once_and_named_by_id() {
        let agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36";
        let mut p = Packer::new(true);
        p.shared.begin(7);
        let write = |p: &mut Packer, value: &str, detail: &str| {
            let value = Scalar::Text(value.into());
            p.scalar(
                Slot::Field,
                "user_agent",
                Some(&value),
                Rule::ContextField,
                Outcome::Applied,
                detail,
            );
        };
        write(&mut p, agent, "");
        write(&mut p, "short", "");
        write(&mut p, agent, "context.userAgent");
        let fresh = p.shared.take_fresh();
        assert_eq!(fresh.len(), 1, "one value stored, once");
        assert_eq!(fresh[0].0, 7);
        assert_eq!(
            &*fresh[0].1,
            serde_json::to_string(agent).unwrap().as_bytes()
        );
        let blob = p.bytes().to_vec();
        assert!(
            blob.len() < 2 * agent.len(),
            "the value is not packed twice"
        );
        let writes = unpack(&blob);
        assert_eq!(writes.len(), 3);
        assert_eq!((writes[0].shared, writes[0].value.as_str()), (Some(7), ""));
        assert_eq!(
            (writes[1].shared, writes[1].value.as_str()),
            (None, "\"short\"")
        );
        assert_eq!(writes[2].shared, Some(7));
        assert_eq!(writes[2].detail, "context.userAgent");
        // A later transaction that finds the table as left keeps the ids...
        p.clear();
        p.shared.begin(8);
        write(&mut p, agent, "");
        assert!(p.shared.take_fresh().is_empty());
        assert_eq!(unpack(p.bytes())[0].shared, Some(7));
        // ...one that finds it otherwise (a rollback, another writer) starts over.
        p.clear();
        p.shared.begin(3);
        write(&mut p, agent, "");
        assert_eq!(p.shared.take_fresh()[0].0, 3);
        // An anonymousId names one profile: never worth an id.
        p.clear();
        let anon = Scalar::Text("0b5e8c1e-7f0a-4c57-9a55-3f5b1d2a9e41".into());
        p.scalar(
            Slot::Field,
            "anonymous_id",
            Some(&anon),
            Rule::AnonymousId,
            Outcome::Applied,
            "",
        );
        assert_eq!(unpack(p.bytes())[0].shared, None);
        assert!(p.shared.take_fresh().is_empty());
        // Until a first transaction gives a starting id, values stay inline.
        let mut inline = Packer::new(true);
        write(&mut inline, agent, "");
        assert_eq!(unpack(inline.bytes())[0].shared, None);
        assert!(unpack(inline.bytes())[0].value.contains("Mozilla"));
    }

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
            Some(&Scalar::Text(long.as_str().into())),
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
}
