//! The bytes of a packed profile: variable-length integers, texts, times, clocks and
//! scalar values, and the table of text values many profiles share.

use foldhash::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::semantics::attributes::Scalar;
use crate::semantics::lww::Clock;

/// Distinct shared strings kept at most; past this, new values are stored inline.
pub(super) const MAX_SHARED: usize = 1 << 16;

/// Low-cardinality text values, each stored once for every packed profile.
#[derive(Debug, Default)]
pub struct SharedStrings {
    pub(super) index: HashMap<Arc<str>, u32>,
    pub(super) strings: Vec<Arc<str>>,
}

impl SharedStrings {
    /// The index of `text`, added if there is room.
    pub(super) fn intern(&mut self, text: &str) -> Option<u32> {
        if let Some(i) = self.index.get(text) {
            return Some(*i);
        }
        if self.strings.len() >= MAX_SHARED {
            return None;
        }
        let i = self.strings.len() as u32;
        let text: Arc<str> = Arc::from(text);
        self.strings.push(text.clone());
        self.index.insert(text, i);
        Some(i)
    }

    pub(super) fn get(&self, i: u32) -> &str {
        &self.strings[i as usize]
    }

    /// How many strings it holds.
    pub fn count(&self) -> usize {
        self.strings.len()
    }

    /// The strings added since it held `from`, for a copy to [`Self::append`].
    pub fn added_since(&self, from: usize) -> Vec<Arc<str>> {
        self.strings[from..].to_vec()
    }

    /// A copy that only unpacks learns the strings its packing side added, in order.
    pub fn append(&mut self, added: Vec<Arc<str>>) {
        self.strings.extend(added);
    }
}

// Scalar tags.
pub(super) const NONE: u8 = 0;
pub(super) const TEXT: u8 = 1;
pub(super) const SHARED: u8 = 2;
pub(super) const INT: u8 = 3;
pub(super) const REAL: u8 = 4;
pub(super) const BOOL: u8 = 5;

pub(super) struct Writer(pub(super) Vec<u8>);

impl Writer {
    pub(super) fn uint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.0.push(n as u8 | 0x80);
            n >>= 7;
        }
        self.0.push(n as u8);
    }

    pub(super) fn int(&mut self, n: i64) {
        self.uint(((n << 1) ^ (n >> 63)) as u64);
    }

    pub(super) fn text(&mut self, text: &str) {
        self.uint(text.len() as u64);
        self.0.extend_from_slice(text.as_bytes());
    }

    pub(super) fn opt_text(&mut self, text: Option<&str>) {
        match text {
            Some(text) => {
                self.0.push(1);
                self.text(text);
            }
            None => self.0.push(0),
        }
    }

    pub(super) fn time(&mut self, time: DateTime<Utc>) {
        self.int(time.timestamp());
        self.uint(u64::from(time.timestamp_subsec_nanos()));
    }

    pub(super) fn clock(&mut self, clock: Clock) {
        self.int(clock.millis);
        self.0.extend_from_slice(&clock.tie.to_le_bytes());
    }

    pub(super) fn scalar(&mut self, value: Option<&Scalar>, shared: Option<&mut SharedStrings>) {
        match value {
            None => self.0.push(NONE),
            Some(Scalar::Text(text)) => match shared.and_then(|s| s.intern(text)) {
                Some(i) => {
                    self.0.push(SHARED);
                    self.uint(u64::from(i));
                }
                None => {
                    self.0.push(TEXT);
                    self.text(text);
                }
            },
            Some(Scalar::Int(n)) => {
                self.0.push(INT);
                self.int(*n);
            }
            Some(Scalar::Real(x)) => {
                self.0.push(REAL);
                self.0.extend_from_slice(&x.to_le_bytes());
            }
            Some(Scalar::Bool(b)) => {
                self.0.push(BOOL);
                self.0.push(u8::from(*b));
            }
        }
    }
}

/// Reads what [`Writer`] wrote. The bytes never leave the process, so a malformed
/// input is a bug: it panics.
pub(super) struct Reader<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) at: usize,
}

impl Reader<'_> {
    pub(super) fn byte(&mut self) -> u8 {
        let b = self.bytes[self.at];
        self.at += 1;
        b
    }

    pub(super) fn take(&mut self, n: usize) -> &[u8] {
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        out
    }

    pub(super) fn uint(&mut self) -> u64 {
        let mut n = 0u64;
        let mut shift = 0;
        loop {
            let b = self.byte();
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return n;
            }
            shift += 7;
        }
    }

    pub(super) fn int(&mut self) -> i64 {
        let n = self.uint();
        ((n >> 1) as i64) ^ -((n & 1) as i64)
    }

    pub(super) fn text(&mut self) -> String {
        let len = self.uint() as usize;
        String::from_utf8(self.take(len).to_vec()).expect("packed text is UTF-8")
    }

    /// A text held inline when short (no allocation up to 24 bytes).
    pub(super) fn compact_text(&mut self) -> compact_str::CompactString {
        let len = self.uint() as usize;
        compact_str::CompactString::from_utf8(self.take(len)).expect("packed text is UTF-8")
    }

    pub(super) fn opt_text(&mut self) -> Option<String> {
        (self.byte() == 1).then(|| self.text())
    }

    pub(super) fn time(&mut self) -> DateTime<Utc> {
        let secs = self.int();
        let nanos = self.uint() as u32;
        DateTime::from_timestamp(secs, nanos).expect("packed time is valid")
    }

    pub(super) fn clock(&mut self) -> Clock {
        let millis = self.int();
        let tie = i64::from_le_bytes(self.take(8).try_into().expect("8 bytes"));
        Clock { millis, tie }
    }

    pub(super) fn scalar(&mut self, shared: &SharedStrings) -> Option<Scalar> {
        match self.byte() {
            NONE => None,
            TEXT => Some(Scalar::Text(self.compact_text())),
            SHARED => {
                let i = self.uint() as u32;
                Some(Scalar::Text(shared.get(i).into()))
            }
            INT => Some(Scalar::Int(self.int())),
            REAL => Some(Scalar::Real(f64::from_le_bytes(
                self.take(8).try_into().expect("8 bytes"),
            ))),
            BOOL => Some(Scalar::Bool(self.byte() != 0)),
            tag => panic!("unknown packed scalar tag {tag}"),
        }
    }
}
