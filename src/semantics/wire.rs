//! Lenient decoding of the wire format: values where Segment expects a string that
//! sources send as numbers, and event parts of an unexpected shape that are skipped
//! rather than failing the event.

use serde::Deserialize;

/// A string or a number where Segment expects a string (ids, timestamps); sources
/// that send numbers are common enough to accept.
#[derive(Debug, Clone, PartialEq)]
pub enum Loose {
    Text(String),
    Int(i64),
    /// Past `i64::MAX`: kept exactly (ids such as `12345678901234567890`).
    Uint(u64),
    Float(f64),
    Bool(bool),
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LooseVisitor;
        impl<'de> serde::de::Visitor<'de> for LooseVisitor {
            type Value = Loose;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Loose, E> {
                Ok(Loose::Text(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Loose, E> {
                Ok(Loose::Text(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Loose, E> {
                Ok(Loose::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Loose, E> {
                Ok(i64::try_from(v).map_or(Loose::Uint(v), Loose::Int))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Loose, E> {
                Ok(Loose::Float(v))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Loose, E> {
                Ok(Loose::Bool(v))
            }
            // Read past an object or array before refusing it, so that a caller that
            // tolerates the refusal (a lenient context part) can carry on.
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Loose, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Err(serde::de::Error::invalid_type(
                    serde::de::Unexpected::Map,
                    &self,
                ))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Loose, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Err(serde::de::Error::invalid_type(
                    serde::de::Unexpected::Seq,
                    &self,
                ))
            }
        }
        d.deserialize_any(LooseVisitor)
    }
}

impl Loose {
    pub fn into_text(self) -> String {
        match self {
            Loose::Text(s) => s,
            other => other.to_text(),
        }
    }

    pub fn to_text(&self) -> String {
        match self {
            Loose::Text(s) => s.clone(),
            Loose::Int(n) => n.to_string(),
            Loose::Uint(n) => n.to_string(),
            Loose::Float(x) => x.to_string(),
            Loose::Bool(b) => b.to_string(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Loose::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// A context part: its value when it has the expected shape, else nothing.
#[derive(Debug, Clone)]
pub struct Lenient<T>(pub Option<T>, pub Option<Broken>);

/// Why a part that had the expected shape failed to decode half-way (a duplicate key,
/// say): it is skipped, and the event is still read to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken(pub String);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None, None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LenientVisitor(std::marker::PhantomData))
    }
}

/// Decodes the expected shape in one pass (no buffering), and skips any other.
struct LenientVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> LenientVisitor<T> {
    fn scalar<V, E>(value: V) -> Result<Lenient<T>, E>
    where
        V: serde::de::IntoDeserializer<'de, serde::de::value::Error>,
    {
        Ok(Lenient(
            T::deserialize(value.into_deserializer()).ok(),
            None,
        ))
    }
}

impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for LenientVisitor<T> {
    type Value = Lenient<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        // Every part type takes any map (its fields are lenient themselves), or buffers
        // it whole before failing (scalars): the map is consumed either way.
        let mut tracked = Tracked {
            inner: map,
            value_pending: false,
        };
        let decoded = T::deserialize(serde::de::value::MapAccessDeserializer::new(&mut tracked));
        match decoded {
            Ok(value) => Ok(Lenient(Some(value), None)),
            Err(e) => {
                // Read past what the failure left, so the event can be read on.
                let half_way = tracked.value_pending;
                if tracked.value_pending {
                    tracked.inner.next_value::<serde::de::IgnoredAny>()?;
                }
                let mut more = false;
                while tracked
                    .inner
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {
                    more = true;
                }
                let broken = (half_way || more).then(|| Broken(e.to_string()));
                Ok(Lenient(None, broken))
            }
        }
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Lenient(None, None))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Self::scalar(v.to_string())
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        Self::scalar(v)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Self::scalar(v)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Self::scalar(v)
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Self::scalar(v)
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Self::scalar(v)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient(None, None))
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient(None, None))
    }
}

/// A map that knows whether a key was read without its value (where a decoding that
/// fails half-way leaves it).
struct Tracked<A> {
    inner: A,
    value_pending: bool,
}

impl<'de, A: serde::de::MapAccess<'de>> serde::de::MapAccess<'de> for &mut Tracked<A> {
    type Error = A::Error;

    fn next_key_seed<K: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let key = self.inner.next_key_seed(seed)?;
        self.value_pending = key.is_some();
        Ok(key)
    }

    fn next_value_seed<V: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, A::Error> {
        self.value_pending = false;
        self.inner.next_value_seed(seed)
    }
}

impl<T> Lenient<T> {
    pub fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

impl Lenient<Loose> {
    /// The value as text (numbers and booleans written out).
    pub fn text(&self) -> Option<String> {
        self.0
            .as_ref()
            .map(Loose::to_text)
            .filter(|s| !s.trim().is_empty())
    }
}
