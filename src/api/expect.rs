//! `usercom expect` (and `POST /v1/expect`): what a test asserts about the profile its
//! tracking made, waited for until it holds or the time is up.
//!
//! The checks are one JSON body, the same for both front-ends:
//! `{"user": ID}` or `{"company": GROUP}`, then any of `"fields": {NAME: VALUE}`,
//! `"attributes": {NAME: VALUE}`, `"page_views": N`, `"events": {NAME: COUNT}` (a
//! number: exactly; `">=N"`: at least), `"in_company": [GROUP]`, `"members": N`,
//! `"within": "5s"`. [`Expectation::parse`] checks it, [`observe`] reads the profile,
//! [`evaluate`] (pure) compares, typed, and [`wait`] polls until it holds.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::companies::FIELDS as COMPANY_FIELDS;
use crate::semantics::profile::UserField;
use crate::semantics::time::parse_timestamp;
use crate::store::Store;

/// How long checks are waited for when the body or flags do not say.
pub const DEFAULT_WITHIN: Duration = Duration::from_secs(5);
/// The longest wait one check may ask for.
pub const MAX_WITHIN: Duration = Duration::from_secs(300);
/// How often the database is looked at while waiting.
const POLL: Duration = Duration::from_millis(100);

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

/// The profile as the checks see it: `fields`, `attributes`, and for a user
/// `page_views`, `events` (counts of the events checked) and `companies`; for a
/// company `members`.
pub type Observed = Map<String, Value>;

/// Reads what the checks look at; None when there is no such user or company (yet).
pub fn observe(store: &Store, e: &Expectation) -> Result<Option<Observed>> {
    let mut observed = Map::new();
    match &e.subject {
        Subject::User(id) => {
            let Some(user_ref) = store.find_user(id)? else {
                return Ok(None);
            };
            let view = store.user_view(user_ref)?;
            let mut fields = match serde_json::to_value(&view)? {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            fields.retain(|k, _| user_fields().any(|f| f == k));
            let mut events = Map::new();
            for name in e.events.keys() {
                events.insert(
                    name.clone(),
                    json!(store.count_user_events(user_ref, name)?),
                );
            }
            observed.insert("fields".into(), Value::Object(fields));
            observed.insert("attributes".into(), Value::Object(view.attributes));
            observed.insert("page_views".into(), json!(view.page_views));
            observed.insert("events".into(), Value::Object(events));
            observed.insert("companies".into(), json!(view.companies));
        }
        Subject::Company(group) => {
            let Some(id) = store.company_ref(group)? else {
                return Ok(None);
            };
            let view = store.company_view(id)?;
            let mut fields = match serde_json::to_value(&view)? {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            fields.retain(|k, _| company_fields().any(|f| f == k));
            observed.insert("fields".into(), Value::Object(fields));
            observed.insert("members".into(), json!(view.members.len()));
            observed.insert("attributes".into(), Value::Object(view.attributes));
        }
    }
    Ok(Some(observed))
}

/// One check and how it came out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// What was checked: `exists`, `fields.NAME`, `attributes.NAME`, `page_views`,
    /// `events.NAME`, `in_company.GROUP`, `members`.
    pub check: String,
    pub expected: Value,
    pub actual: Value,
    pub holds: bool,
}

/// The outcome of an expectation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub holds: bool,
    #[serde(flatten)]
    pub subject: Subject,
    /// How long it was waited for, in milliseconds.
    pub waited_ms: u64,
    pub checks: Vec<CheckResult>,
    /// The checks that do not hold (expected against actual).
    pub differences: Vec<CheckResult>,
}

/// Whether an actual value is the expected one, typed: numbers by value (42 is 42.0,
/// not "42"), times by instant, anything else exactly; null is a missing value.
pub fn same(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(a), Value::String(b)) if a != b => {
            match (parse_timestamp(a), parse_timestamp(b)) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            }
        }
        _ => expected == actual,
    }
}

/// Compares an expectation with what was observed (None: no such user or company).
/// Pure: the same inputs give the same verdict.
pub fn evaluate(e: &Expectation, observed: Option<&Observed>, waited: Duration) -> Verdict {
    let mut checks = Vec::new();
    let get = |section: &str, name: Option<&str>| -> Value {
        let Some(o) = observed else {
            return Value::Null;
        };
        let value = o.get(section);
        match name {
            None => value.cloned().unwrap_or(Value::Null),
            Some(name) => value
                .and_then(|v| v.get(name))
                .cloned()
                .unwrap_or(Value::Null),
        }
    };
    let what = match e.subject {
        Subject::User(_) => "user",
        Subject::Company(_) => "company",
    };
    checks.push(CheckResult {
        check: "exists".into(),
        expected: json!(true),
        actual: if observed.is_some() {
            json!(true)
        } else {
            json!(format!("no such {what}"))
        },
        holds: observed.is_some(),
    });
    for (section, map) in [("fields", &e.fields), ("attributes", &e.attributes)] {
        for (name, expected) in map {
            let actual = get(section, Some(name));
            checks.push(CheckResult {
                check: format!("{section}.{name}"),
                holds: observed.is_some() && same(expected, &actual),
                expected: expected.clone(),
                actual,
            });
        }
    }
    for (key, expected) in [("page_views", e.page_views), ("members", e.members)] {
        if let Some(expected) = expected {
            let actual = get(key, None);
            checks.push(CheckResult {
                check: key.into(),
                holds: actual.as_u64() == Some(expected),
                expected: json!(expected),
                actual,
            });
        }
    }
    for (name, count) in &e.events {
        let actual = get("events", Some(name));
        checks.push(CheckResult {
            check: format!("events.{name}"),
            holds: actual.as_u64().is_some_and(|n| count.holds(n)),
            expected: count.to_json(),
            actual,
        });
    }
    let companies = get("companies", None);
    for group in &e.in_company {
        let member = companies
            .as_array()
            .is_some_and(|c| c.iter().any(|g| g.as_str() == Some(group)));
        checks.push(CheckResult {
            check: format!("in_company.{group}"),
            expected: json!(true),
            actual: json!(member),
            holds: member,
        });
    }
    let differences: Vec<CheckResult> = checks.iter().filter(|c| !c.holds).cloned().collect();
    Verdict {
        holds: differences.is_empty(),
        subject: e.subject.clone(),
        waited_ms: waited.as_millis() as u64,
        checks,
        differences,
    }
}

/// Looks at the database until the expectation holds or `within` is up; returns the
/// last verdict. Each look reads what is committed then.
pub fn wait(store: &Store, e: &Expectation) -> Result<Verdict> {
    let started = Instant::now();
    loop {
        let observed = observe(store, e)?;
        let waited = started.elapsed();
        let verdict = evaluate(e, observed.as_ref(), waited);
        if verdict.holds || waited >= e.within {
            return Ok(verdict);
        }
        std::thread::sleep(POLL.min(e.within - waited));
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

    #[test]
    fn values_compare_typed() {
        assert!(same(&json!(42), &json!(42.0)));
        assert!(!same(&json!(42), &json!("42")));
        assert!(!same(&json!("42"), &json!(42)));
        assert!(same(
            &json!("2026-10-01T10:00:00Z"),
            &json!("2026-10-01T10:00:00.000Z")
        ));
        assert!(!same(&json!(true), &json!("true")));
        assert!(same(&json!(null), &json!(null)));
    }

    #[test]
    fn the_verdict_lists_expected_against_actual() {
        let e = parse(
            json!({"user": "u1", "fields": {"email": "a@b.c"}, "attributes": {"n": 42},
                             "page_views": 2, "events": {"Buy": ">=1"}, "in_company": ["acme"]}),
        )
        .unwrap();
        let mut observed = Map::new();
        observed.insert("fields".into(), json!({"email": "a@b.c"}));
        observed.insert("attributes".into(), json!({"n": "42"}));
        observed.insert("page_views".into(), json!(2));
        observed.insert("events".into(), json!({"Buy": 0}));
        observed.insert("companies".into(), json!(["acme"]));
        let v = evaluate(&e, Some(&observed), Duration::ZERO);
        assert!(!v.holds);
        let failed: Vec<&str> = v.differences.iter().map(|c| c.check.as_str()).collect();
        assert_eq!(failed, ["attributes.n", "events.Buy"]);
        assert_eq!(v.differences[0].expected, json!(42));
        assert_eq!(v.differences[0].actual, json!("42"));
        let missing = evaluate(&e, None, Duration::ZERO);
        assert_eq!(missing.differences[0].check, "exists");
        assert_eq!(missing.differences.len(), missing.checks.len());
    }
}
