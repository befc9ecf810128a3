//! `usercom expect` (and `POST /v1/expect`): what a test asserts about the profile its
//! tracking made, waited for until it holds or the time is up.
//!
//! The checks are one JSON body, the same for both front-ends:
//! `{"user": ID}` or `{"company": GROUP}`, then any of `"fields": {NAME: VALUE}`,
//! `"attributes": {NAME: VALUE}`, `"page_views": N`, `"events": {NAME: COUNT}` (a
//! number: exactly; `">=N"`: at least), `"in_company": [GROUP]`, `"members": N`,
//! `"within": "5s"`. [`Expectation::parse`] checks it, [`observe`] reads the profile,
//! [`evaluate`] (pure) compares, typed, and [`wait`] polls until it holds.

mod verdict;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value, json};

pub use verdict::{CheckResult, Observed, Verdict, evaluate, observe, same, wait};

use super::companies::FIELDS as COMPANY_FIELDS;
use crate::semantics::profile::UserField;

/// How long checks are waited for when the body or flags do not say.
pub const DEFAULT_WITHIN: Duration = Duration::from_secs(5);
/// The longest wait one check may ask for.
pub const MAX_WITHIN: Duration = Duration::from_secs(300);

/// What is checked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Subject {
    /// A userId, anonymousId or email.
    User(String),
    /// A groupId.
    Company(String),
}

/// An event count expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Exactly(u64),
    AtLeast(u64),
}

impl Count {
    fn holds(self, n: u64) -> bool {
        match self {
            Count::Exactly(c) => n == c,
            Count::AtLeast(c) => n >= c,
        }
    }

    fn to_json(self) -> Value {
        match self {
            Count::Exactly(c) => json!(c),
            Count::AtLeast(c) => json!(format!(">={c}")),
        }
    }
}

/// The checks of one expectation, parsed and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub subject: Subject,
    pub fields: Map<String, Value>,
    pub attributes: Map<String, Value>,
    pub page_views: Option<u64>,
    pub events: BTreeMap<String, Count>,
    pub in_company: Vec<String>,
    pub members: Option<u64>,
    pub within: Duration,
}

/// The fields a user check may name.
fn user_fields() -> impl Iterator<Item = &'static str> {
    ["user_id"]
        .into_iter()
        .chain(UserField::ALL.map(UserField::name))
        .chain(["last_seen", "created_at", "updated_at"])
}

fn company_fields() -> impl Iterator<Item = &'static str> {
    COMPANY_FIELDS
        .into_iter()
        .chain(["created_at", "updated_at"])
}

/// `5s`, `500ms`, `2m`, `1.5s` or a number of seconds.
pub fn parse_within(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let seconds = match unit.trim() {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        _ => f64::NAN,
    };
    let value = number.parse::<f64>().map(|n| n * seconds);
    match value {
        Ok(s) if s.is_finite() && s >= 0.0 => {
            let d = Duration::from_secs_f64(s);
            if d > MAX_WITHIN {
                Err(format!(
                    "\"within\" {text:?} is over the limit of {}s",
                    MAX_WITHIN.as_secs()
                ))
            } else {
                Ok(d)
            }
        }
        _ => Err(format!(
            "\"within\" {text:?} is not a duration: give e.g. 5s, 500ms or 2m"
        )),
    }
}

fn count_of(name: &str, value: &Value) -> Result<Count, String> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .map(Count::Exactly)
            .ok_or_else(|| format!("events.{name}: a count is a whole number, not {n}")),
        Value::String(s) => s
            .strip_prefix(">=")
            .and_then(|n| n.trim().parse().ok())
            .map(Count::AtLeast)
            .ok_or_else(|| format!("events.{name}: {s:?} is not a count: give N or \">=N\"")),
        other => Err(format!(
            "events.{name}: {other} is not a count: give N or \">=N\""
        )),
    }
}

impl Expectation {
    /// Checks a JSON body of checks; the error says what is wrong with it.
    pub fn parse(body: &Value) -> Result<Expectation, String> {
        let Value::Object(object) = body else {
            return Err(
                "expected a JSON object {\"user\": ID, ...} or {\"company\": GROUP, ...}".into(),
            );
        };
        let text = |key: &str| -> Result<Option<String>, String> {
            match object.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
                Some(other) => Err(format!("{key:?} must be a non-empty string, not {other}")),
            }
        };
        let subject = match (text("user")?, text("company")?) {
            (Some(user), None) => Subject::User(user),
            (None, Some(company)) => Subject::Company(company),
            _ => return Err("give exactly one of \"user\" and \"company\"".into()),
        };
        let is_user = matches!(subject, Subject::User(_));
        let map = |key: &str| -> Result<Map<String, Value>, String> {
            match object.get(key) {
                None | Some(Value::Null) => Ok(Map::new()),
                Some(Value::Object(m)) => Ok(m.clone()),
                Some(other) => Err(format!("{key:?} must be an object, not {other}")),
            }
        };
        let number = |key: &str| -> Result<Option<u64>, String> {
            match object.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_u64()
                    .map(Some)
                    .ok_or_else(|| format!("{key:?} must be a whole number, not {v}")),
            }
        };
        let mut e = Expectation {
            subject,
            fields: map("fields")?,
            attributes: map("attributes")?,
            page_views: number("page_views")?,
            events: BTreeMap::new(),
            in_company: Vec::new(),
            members: number("members")?,
            within: match object.get("within") {
                None | Some(Value::Null) => DEFAULT_WITHIN,
                Some(Value::String(s)) => parse_within(s)?,
                Some(Value::Number(n)) => parse_within(&n.to_string())?,
                Some(other) => return Err(format!("\"within\" must be like \"5s\", not {other}")),
            },
        };
        for (name, count) in map("events")? {
            let count = count_of(&name, &count)?;
            e.events.insert(name, count);
        }
        match object.get("in_company") {
            None | Some(Value::Null) => {}
            Some(Value::Array(groups)) => {
                for g in groups {
                    match g {
                        Value::String(s) => e.in_company.push(s.clone()),
                        other => return Err(format!("\"in_company\" holds groupIds, not {other}")),
                    }
                }
            }
            Some(other) => return Err(format!("\"in_company\" must be an array, not {other}")),
        }
        let known = [
            "user",
            "company",
            "fields",
            "attributes",
            "page_views",
            "events",
            "in_company",
            "members",
            "within",
        ];
        if let Some(key) = object.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(format!("unknown check {key:?}: use {}", known.join(", ")));
        }
        let (only, given) = if is_user {
            ("company", [("members", e.members.is_some())].to_vec())
        } else {
            (
                "user",
                vec![
                    ("page_views", e.page_views.is_some()),
                    ("events", !e.events.is_empty()),
                    ("in_company", !e.in_company.is_empty()),
                ],
            )
        };
        if let Some((key, _)) = given.iter().find(|(_, g)| *g) {
            return Err(format!("{key:?} is a {only} check"));
        }
        let fields: Vec<&str> = if is_user {
            user_fields().collect()
        } else {
            company_fields().collect()
        };
        if let Some(name) = e.fields.keys().find(|k| !fields.contains(&k.as_str())) {
            return Err(format!(
                "unknown field {name:?}: fields are {} (custom attributes go in \"attributes\")",
                fields.join(", ")
            ));
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<Expectation, String> {
        Expectation::parse(&body)
    }

    #[test]
    fn bodies_are_checked() {
        let e = parse(json!({"user": "u1", "fields": {"email": "a@b.c"}, "events": {"Signed Up": 1, "Viewed": ">=2"}, "within": "2s"})).unwrap();
        assert_eq!(e.subject, Subject::User("u1".into()));
        assert_eq!(e.events["Viewed"], Count::AtLeast(2));
        assert_eq!(e.within, Duration::from_secs(2));
        assert!(
            parse(json!({"fields": {}}))
                .unwrap_err()
                .contains("exactly one")
        );
        assert!(parse(json!({"user": "u", "company": "c"})).is_err());
        assert!(
            parse(json!({"company": "c", "page_views": 1}))
                .unwrap_err()
                .contains("user check")
        );
        assert!(
            parse(json!({"user": "u", "members": 1}))
                .unwrap_err()
                .contains("company check")
        );
        assert!(
            parse(json!({"user": "u", "fields": {"plan": "pro"}}))
                .unwrap_err()
                .contains("unknown field")
        );
        assert!(
            parse(json!({"user": "u", "colour": 1}))
                .unwrap_err()
                .contains("unknown check")
        );
        assert!(parse(json!({"user": "u", "within": "soon"})).is_err());
        assert!(parse(json!({"user": "u", "events": {"x": -1}})).is_err());
        assert_eq!(parse_within("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_within("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_within("10h").is_err());
    }
}
