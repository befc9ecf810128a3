//! A JSON object edited at the level of its members: each value kept as the text that
//! was sent, so nothing else of it changes (numbers keep every digit) and no tree is
//! built.

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// A JSON object's members in order, each value as its JSON text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members<'a>(pub(super) Vec<(Cow<'a, str>, Cow<'a, str>)>);

/// A member name, borrowed from the text when it has no escapes.
struct Name<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v)))
            }
        }
        d.deserialize_str(NameVisitor)
    }
}

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(12));
                while let Some((name, value)) = map.next_entry::<Name<'de>, &'de RawValue>()? {
                    members.push((name.0, Cow::Borrowed(value.get())));
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(MembersVisitor)
    }
}

impl<'a> Members<'a> {
    /// The members of the object `text` is; an error when it is not one.
    pub fn parse(text: &'a str) -> Result<Members<'a>, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// A member's JSON text (the last one of that name, as JSON parsers read it).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// Whether the member is there with a value other than `null`.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v != "null")
    }

    /// Sets a member to a JSON text: in place of the first of that name (any others are
    /// taken out), else at the end.
    pub fn set(&mut self, name: &'a str, json: String) {
        match self.0.iter().position(|(n, _)| n == name) {
            Some(i) => {
                self.0[i].1 = Cow::Owned(json);
                let mut index = 0;
                self.0.retain(|(n, _)| {
                    index += 1;
                    index - 1 <= i || n != name
                });
            }
            None => self.0.push((Cow::Borrowed(name), Cow::Owned(json))),
        }
    }

    /// Takes a member out (every one of that name); returns the last one's text.
    pub fn remove(&mut self, name: &str) -> Option<Cow<'a, str>> {
        let mut taken = None;
        self.0.retain_mut(|(n, v)| {
            if n == name {
                taken = Some(std::mem::take(v));
                false
            } else {
                true
            }
        });
        taken
    }

    /// The object's JSON text.
    pub fn to_json(&self) -> String {
        let size: usize = self.0.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
        let mut out = String::with_capacity(size + 2);
        out.push('{');
        for (i, (name, value)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_string(&mut out, name);
            out.push(':');
            out.push_str(value);
        }
        out.push('}');
        out
    }
}

/// Appends `text` as a JSON string.
fn push_json_string(out: &mut String, text: &str) {
    if text
        .bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b != 0x7f)
    {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(text).expect("a string serialises"));
    }
}

/// `text` as a JSON string.
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    push_json_string(&mut out, text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_their_text_and_order() {
        let text = r#"{"b": 12345678901234567890123, "a\n": [1, 2.50], "c": {"x": null}}"#;
        let mut members = Members::parse(text).unwrap();
        assert_eq!(members.get("b"), Some("12345678901234567890123"));
        assert_eq!(members.get("a\n"), Some("[1, 2.50]"));
        members.set("z", "true".into());
        members.set("b", "1".into());
        assert_eq!(
            members.to_json(),
            r#"{"b":1,"a\n":[1, 2.50],"c":{"x": null},"z":true}"#
        );
        assert_eq!(members.remove("c").as_deref(), Some(r#"{"x": null}"#));
        assert!(Members::parse("[1]").is_err());
        assert!(Members::parse("{\"a\": }").is_err());
        // Duplicate names: the last one is read; setting leaves one.
        let mut twice = Members::parse(r#"{"a": 1, "b": 2, "a": 3}"#).unwrap();
        assert_eq!(twice.get("a"), Some("3"));
        twice.set("a", "4".into());
        assert_eq!(twice.to_json(), r#"{"a":4,"b":2}"#);
    }
}
