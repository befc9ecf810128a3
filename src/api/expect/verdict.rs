//! Reading a profile as the checks see it, comparing it with an expectation (typed),
//! and waiting until it holds.

use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{Expectation, Subject, company_fields, user_fields};
use crate::semantics::time::parse_timestamp;
use crate::store::Store;

/// How often the database is looked at while waiting.
const POLL: Duration = Duration::from_millis(100);

/// The profile as the checks see it: `fields`, `attributes`, and for a user
/// `page_views`, `events` (counts of the events checked) and `companies`; for a
/// company `members`.
pub type Observed = Map<String, Value>;

/// Reads what the checks look at; None when there is no such user or company (yet).
pub fn observe(store: &Store, e: &Expectation) -> Result<Option<Observed>> {
    store.snapshot(|store| observe_now(store, e))
}

fn observe_now(store: &Store, e: &Expectation) -> Result<Option<Observed>> {
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

    fn parse(body: Value) -> Expectation {
        Expectation::parse(&body).unwrap()
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
        );
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
