//! Custom attributes: their types, and how a value sent in an event is converted.
//!
//! A trait or property with no attribute defined creates one of type `string`; a defined
//! attribute converts what it receives to its type, and a value that cannot be converted
//! is ignored (the stored value stays).

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::time::{format_timestamp, from_unix_seconds, parse_timestamp, parse_written_date};

/// The type of a custom attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum AttrType {
    String,
    Number,
    Boolean,
    Date,
    Datetime,
}

impl AttrType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Number => "number",
            AttrType::Boolean => "boolean",
            AttrType::Date => "date",
            AttrType::Datetime => "datetime",
        }
    }
}

impl fmt::Display for AttrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AttrType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "string" => Ok(AttrType::String),
            "number" => Ok(AttrType::Number),
            "boolean" => Ok(AttrType::Boolean),
            "date" => Ok(AttrType::Date),
            "datetime" => Ok(AttrType::Datetime),
            other => Err(format!(
                "unknown attribute type {other:?} (use string, number, boolean, date or datetime)"
            )),
        }
    }
}

/// What an attribute belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Scope {
    User,
    Company,
    Event,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::Company => "company",
            Scope::Event => "event",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "user" => Ok(Scope::User),
            "company" => Ok(Scope::Company),
            "event" => Ok(Scope::Event),
            other => Err(format!(
                "unknown scope {other:?} (use user, company or event)"
            )),
        }
    }
}

/// A stored attribute value. Booleans are kept as their own variant in memory and as
/// 0/1 in SQLite; dates and datetimes as canonical ISO 8601 text.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// Held inline up to 24 bytes (most profile values: a city, a browser, an email),
    /// so a profile taken out of its packed form allocates only for its long texts.
    Text(compact_str::CompactString),
    Int(i64),
    Real(f64),
    Bool(bool),
}

impl Scalar {
    /// The JSON value to print, given the attribute's type (SQLite returns booleans
    /// as integers).
    pub fn to_json(&self, ty: AttrType) -> Value {
        match (self, ty) {
            (Scalar::Int(n), AttrType::Boolean) => Value::Bool(*n != 0),
            (Scalar::Text(s), _) => Value::String(s.to_string()),
            (Scalar::Int(n), _) => Value::from(*n),
            (Scalar::Real(x), _) => serde_json::Number::from_f64(*x)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            (Scalar::Bool(b), _) => Value::Bool(*b),
        }
    }

    /// Back to a JSON value as it was stored, for re-conversion to another type.
    pub fn as_json(&self) -> Value {
        match self {
            Scalar::Text(s) => Value::String(s.to_string()),
            Scalar::Int(n) => Value::from(*n),
            Scalar::Real(x) => serde_json::Number::from_f64(*x)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Scalar::Bool(b) => Value::Bool(*b),
        }
    }

    /// Text for tables and CSV.
    pub fn display(&self, ty: AttrType) -> String {
        match self.to_json(ty) {
            Value::String(s) => s,
            other => other.to_string(),
        }
    }
}

/// A value that could not be converted to its attribute's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unconvertible {
    /// The value as sent (JSON text).
    pub value: String,
    pub ty: AttrType,
}

impl fmt::Display for Unconvertible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} cannot be converted to {}", self.value, self.ty)
    }
}

/// A custom attribute's name as ingest and `attrs define` both take it: trimmed, not
/// empty, and not the name of a standard field whose trait never becomes a custom
/// attribute (a user's `email`, a company's `employees`...). The error says why.
pub fn attribute_name(scope: Scope, raw: &str) -> Result<&str, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("an attribute needs a name (this one is empty)".to_string());
    }
    let standard = match scope {
        // A user's `name` is kept as an attribute when first and last names come too.
        Scope::User => {
            (super::profile::USER_STANDARD_TRAITS.contains(&name) && name != "name")
                || super::identity::IDENTITY_TRAITS.contains(&name)
        }
        Scope::Company => super::company::COMPANY_STANDARD_TRAITS.contains(&name),
        Scope::Event => false,
    };
    if standard {
        return Err(format!(
            "{name} is a standard {scope} field (or identity), not a custom attribute: its \
             trait sets the field and never becomes a custom attribute"
        ));
    }
    Ok(name)
}

/// Converts a sent value to an attribute type. `Ok(None)` is an explicit null (clear).
pub fn convert(value: &Value, ty: AttrType) -> Result<Option<Scalar>, Unconvertible> {
    if value.is_null() {
        return Ok(None);
    }
    let converted = match ty {
        AttrType::String => Some(Scalar::Text(match value {
            Value::String(s) => s.as_str().into(),
            other => compact_str::format_compact!("{other}"),
        })),
        AttrType::Number => to_number(value),
        AttrType::Boolean => to_boolean(value).map(Scalar::Bool),
        AttrType::Date => to_date(value)
            .map(|d| Scalar::Text(compact_str::format_compact!("{}", d.format("%Y-%m-%d")))),
        AttrType::Datetime => to_time(value).map(|t| Scalar::Text(format_timestamp(t).into())),
    };
    converted.map(Some).ok_or_else(|| Unconvertible {
        value: value.to_string(),
        ty,
    })
}

fn to_number(value: &Value) -> Option<Scalar> {
    match value {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(Scalar::Int(i)),
            None => exact_real(&n.to_string(), n.as_f64()?),
        },
        Value::String(s) => {
            let s = s.trim();
            if let Ok(n) = s.parse::<i64>() {
                Some(Scalar::Int(n))
            } else {
                let x = s.parse::<f64>().ok().filter(|x| x.is_finite())?;
                exact_real(s, x)
            }
        }
        _ => None,
    }
}

/// `x` read from `text`, unless reading it lost digits: the shortest decimal text of
/// `x` must have the significant digits `text` has (leading and trailing zeros and
/// exponent notation aside).
fn exact_real(text: &str, x: f64) -> Option<Scalar> {
    (significant_digits(text) == significant_digits(&format!("{x:e}"))).then_some(Scalar::Real(x))
}

/// The digits of a number's mantissa without leading or trailing zeros.
fn significant_digits(text: &str) -> String {
    let mantissa = text.split(['e', 'E']).next().unwrap_or("");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    digits
        .trim_start_matches('0')
        .trim_end_matches('0')
        .to_string()
}

fn to_boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The calendar date as written (an offset does not move it to another day).
fn to_date(value: &Value) -> Option<chrono::NaiveDate> {
    match value {
        Value::String(s) => {
            parse_written_date(s).or_else(|| to_time(value).map(|t| t.date_naive()))
        }
        _ => to_time(value).map(|t| t.date_naive()),
    }
}

fn to_time(value: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    match value {
        Value::Number(n) => n.as_f64().and_then(from_unix_seconds),
        Value::String(s) => {
            parse_timestamp(s).or_else(|| s.trim().parse::<f64>().ok().and_then(from_unix_seconds))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(value: Value, ty: AttrType) -> Value {
        convert(&value, ty).unwrap().unwrap().to_json(ty)
    }

    #[test]
    fn string_takes_anything_as_text() {
        assert_eq!(ok(json!(999), AttrType::String), json!("999"));
        assert_eq!(ok(json!(12.5), AttrType::String), json!("12.5"));
        assert_eq!(ok(json!(true), AttrType::String), json!("true"));
        assert_eq!(
            ok(json!({"a": [1, 2]}), AttrType::String),
            json!("{\"a\":[1,2]}")
        );
        assert_eq!(ok(json!([1, "x"]), AttrType::String), json!("[1,\"x\"]"));
    }

    #[test]
    fn number_converts_numeric_text() {
        assert_eq!(ok(json!("123"), AttrType::Number), json!(123));
        assert_eq!(ok(json!("12.5"), AttrType::Number), json!(12.5));
        assert_eq!(ok(json!(" 7 "), AttrType::Number), json!(7));
        assert_eq!(ok(json!(-3), AttrType::Number), json!(-3));
        assert!(convert(&json!("abc"), AttrType::Number).is_err());
        assert!(convert(&json!("NaN"), AttrType::Number).is_err());
        assert!(convert(&json!(true), AttrType::Number).is_err());
        assert!(convert(&json!([1]), AttrType::Number).is_err());
    }

    #[test]
    fn boolean_accepts_words_and_bits() {
        for yes in [
            json!(true),
            json!("true"),
            json!("TRUE"),
            json!(1),
            json!("1"),
        ] {
            assert_eq!(ok(yes, AttrType::Boolean), json!(true));
        }
        for no in [json!(false), json!("false"), json!(0), json!("0")] {
            assert_eq!(ok(no, AttrType::Boolean), json!(false));
        }
        assert!(convert(&json!("maybe"), AttrType::Boolean).is_err());
        assert!(convert(&json!(2), AttrType::Boolean).is_err());
    }

    #[test]
    fn dates_from_iso_or_unix_seconds() {
        assert_eq!(ok(json!("2026-01-15"), AttrType::Date), json!("2026-01-15"));
        assert_eq!(ok(json!(0), AttrType::Date), json!("1970-01-01"));
        assert_eq!(
            ok(json!("2026-01-15T10:00:00+01:00"), AttrType::Datetime),
            json!("2026-01-15T09:00:00.000Z")
        );
        assert_eq!(
            ok(json!(1_790_000_000), AttrType::Datetime),
            json!("2026-09-21T14:13:20.000Z")
        );
        assert_eq!(
            ok(json!("1790000000"), AttrType::Datetime),
            json!("2026-09-21T14:13:20.000Z")
        );
        assert!(convert(&json!("soon"), AttrType::Date).is_err());
        assert!(convert(&json!(true), AttrType::Datetime).is_err());
    }

    #[test]
    fn a_date_keeps_the_calendar_date_as_written() {
        assert_eq!(
            ok(json!("1990-05-01T00:00:00+02:00"), AttrType::Date),
            json!("1990-05-01")
        );
        assert_eq!(
            ok(json!("2026-01-15T23:30:00-02:00"), AttrType::Date),
            json!("2026-01-15")
        );
        assert_eq!(ok(json!("1990-5-1"), AttrType::Date), json!("1990-05-01"));
        assert_eq!(ok(json!("19900501"), AttrType::Date), json!("1990-05-01"));
        // A datetime is still the instant, in UTC.
        assert_eq!(
            ok(json!("1990-05-01T00:00:00+02:00"), AttrType::Datetime),
            json!("1990-04-30T22:00:00.000Z")
        );
    }

    #[test]
    fn a_number_that_would_lose_digits_is_not_converted() {
        assert!(convert(&json!("12345678901234567890"), AttrType::Number).is_err());
        assert!(convert(&json!(12345678901234567890u64), AttrType::Number).is_err());
        assert!(convert(&json!("0.1234567890123456789"), AttrType::Number).is_err());
        assert_eq!(ok(json!("1.50"), AttrType::Number), json!(1.5));
        assert_eq!(ok(json!("00120"), AttrType::Number), json!(120));
        assert_eq!(ok(json!("1.2e3"), AttrType::Number), json!(1200.0));
        assert_eq!(
            ok(json!("9007199254740993"), AttrType::Number),
            json!(9007199254740993i64)
        );
        assert_eq!(ok(json!("-0.000120"), AttrType::Number), json!(-0.00012));
        assert_eq!(ok(json!("1e21"), AttrType::Number), json!(1e21));
    }

    #[test]
    fn attribute_names_are_trimmed_and_standard_ones_refused() {
        assert_eq!(attribute_name(Scope::User, "  plan "), Ok("plan"));
        assert!(attribute_name(Scope::User, "  ").is_err());
        assert!(attribute_name(Scope::User, "email").is_err());
        assert!(attribute_name(Scope::User, "anonymousId").is_err());
        assert_eq!(attribute_name(Scope::User, "name"), Ok("name"));
        assert!(attribute_name(Scope::Company, "name").is_err());
        assert_eq!(attribute_name(Scope::Event, "email"), Ok("email"));
    }

    #[test]
    fn null_clears() {
        for ty in [AttrType::String, AttrType::Number, AttrType::Boolean] {
            assert_eq!(convert(&Value::Null, ty), Ok(None));
        }
    }

    #[test]
    fn unconvertible_names_value_and_type() {
        let err = convert(&json!("abc"), AttrType::Number).unwrap_err();
        assert_eq!(err.to_string(), "\"abc\" cannot be converted to number");
    }
}
