//! `usercom expect`: a test's assertion about a profile, waited for.

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use crate::Error;
use crate::api::expect::{Expectation, Verdict, wait};
use crate::output::{print_json, print_text, table};
use crate::semantics::attributes::{AttrType, Scope};
use crate::store::Store;

const ABOUT: &str = "\
Wait until a profile is what a test says, then exit 0; exit 1 when the time is up,
printing every check expected against actual (--json: the same as an object).

Values are compared typed: a number attribute 42 equals 42, not \"42\". A --field
VALUE is text (employees: a number); an --attr VALUE takes the attribute's defined
type, or, for an attribute not defined yet, is read as JSON when it is a number,
true, false, null or a quoted string, and as text otherwise.

Examples:
  usercom expect user u1 --field email=ada@example.com --attr plan=pro --within 10s
  usercom expect user u1 --page-views 2 --event 'Order Completed:1' --in-company acme
  usercom expect company acme --field name=Acme --members 2 --json";

#[derive(Debug, Subcommand)]
#[command(
    about = "Wait until a user or company is as expected (exit 0), or report the difference (exit 1)"
)]
pub enum ExpectCommand {
    /// Checks about a user (a userId, an anonymousId or an email).
    #[command(long_about = ABOUT)]
    User {
        /// A userId, an anonymousId or an email.
        id: String,
        #[command(flatten)]
        common: Common,
        /// The user's page views, exactly.
        #[arg(long, value_name = "N")]
        page_views: Option<u64>,
        /// The user did this event (at least once; NAME:COUNT: exactly COUNT times;
        /// repeatable).
        #[arg(long, value_name = "NAME[:COUNT]")]
        event: Vec<String>,
        /// The user is a member of this company (groupId; repeatable).
        #[arg(long, value_name = "GROUP_ID")]
        in_company: Vec<String>,
    },
    /// Checks about a company (a groupId).
    #[command(long_about = ABOUT)]
    Company {
        /// The company's groupId.
        group_id: String,
        #[command(flatten)]
        common: Common,
        /// The company's member count, exactly.
        #[arg(long, value_name = "N")]
        members: Option<u64>,
    },
}

/// What users and companies both check.
#[derive(Debug, Args)]
pub struct Common {
    /// A standard field has this value (repeatable).
    #[arg(long, value_name = "NAME=VALUE")]
    field: Vec<String>,
    /// A custom attribute has this value (repeatable).
    #[arg(long = "attr", value_name = "NAME=VALUE")]
    attr: Vec<String>,
    /// How long to wait for the checks to hold: 10s, 500ms, 2m.
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    within: String,
}

fn pair<'a>(flag: &str, text: &'a str) -> Result<(&'a str, &'a str)> {
    text.split_once('=')
        .filter(|(name, _)| !name.trim().is_empty())
        .map(|(name, value)| (name.trim(), value))
        .ok_or_else(|| Error::Usage(format!("{flag} {text:?}: expected NAME=VALUE")).into())
}

/// A value given as text, read as JSON when it is a number, true, false, null or a
/// quoted string.
fn json_or_text(text: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null | Value::String(_))) => v,
        _ => Value::String(text.to_string()),
    }
}

/// An attribute value in the attribute's type, when it is defined.
fn typed(text: &str, ty: Option<AttrType>) -> Value {
    match ty {
        Some(AttrType::String) => Value::String(text.to_string()),
        _ => json_or_text(text),
    }
}

/// The JSON body of checks, from the flags: what `POST /v1/expect` takes.
fn body(store: &Store, cmd: &ExpectCommand) -> Result<Value> {
    let (mut body, common, scope) = match cmd {
        ExpectCommand::User {
            id,
            common,
            page_views,
            event,
            in_company,
        } => {
            let mut events = Map::new();
            for e in event {
                let (name, count) = match e.rsplit_once(':') {
                    Some((name, count)) if count.trim().parse::<u64>().is_ok() => {
                        (name, json!(count.trim().parse::<u64>()?))
                    }
                    _ => (e.as_str(), json!(">=1")),
                };
                events.insert(name.to_string(), count);
            }
            let body = json!({
                "user": id,
                "page_views": page_views,
                "events": events,
                "in_company": in_company,
            });
            (body, common, Scope::User)
        }
        ExpectCommand::Company {
            group_id,
            common,
            members,
        } => (
            json!({"company": group_id, "members": members}),
            common,
            Scope::Company,
        ),
    };
    let schema = store.attribute_schema(scope)?;
    let mut fields = Map::new();
    for f in &common.field {
        let (name, value) = pair("--field", f)?;
        let value = if name == "employees" {
            json_or_text(value)
        } else {
            Value::String(value.to_string())
        };
        fields.insert(name.to_string(), value);
    }
    let mut attributes = Map::new();
    for a in &common.attr {
        let (name, value) = pair("--attr", a)?;
        let ty = schema
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, t)| *t);
        attributes.insert(name.to_string(), typed(value, ty));
    }
    body["fields"] = Value::Object(fields);
    body["attributes"] = Value::Object(attributes);
    body["within"] = json!(common.within);
    Ok(body)
}

pub fn run(cmd: ExpectCommand, store: &Store, json: bool) -> Result<i32> {
    let body = body(store, &cmd)?;
    let expectation = Expectation::parse(&body).map_err(Error::Usage)?;
    let verdict = wait(store, &expectation)?;
    if json {
        print_json(&verdict)?;
    } else {
        print_verdict(&verdict)?;
    }
    Ok(if verdict.holds { 0 } else { 1 })
}

/// Text from events shown safely on a terminal.
fn shown(value: &Value) -> String {
    value
        .to_string()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn print_verdict(v: &Verdict) -> Result<()> {
    let subject = match &v.subject {
        crate::api::expect::Subject::User(id) => format!("user {id:?}"),
        crate::api::expect::Subject::Company(g) => format!("company {g:?}"),
    };
    let seconds = v.waited_ms as f64 / 1000.0;
    if v.holds {
        eprintln!(
            "expect {subject}: all {} checks hold (after {seconds:.1}s)",
            v.checks.len()
        );
        return Ok(());
    }
    let mut t = table(&["check", "expected", "actual", ""]);
    for c in &v.checks {
        t.add_row(vec![
            c.check.clone(),
            shown(&c.expected),
            shown(&c.actual),
            if c.holds { "ok" } else { "DIFFERS" }.to_string(),
        ]);
    }
    print_text(format!(
        "expect {subject}: {} of {} checks do not hold after {seconds:.1}s\n{t}",
        v.differences.len(),
        v.checks.len()
    ))
}
