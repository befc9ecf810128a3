//! List filters: `--where` expressions typed against the fields and custom attributes
//! they name, relative times (`30d`), and sort keys. Pure: the store turns the typed
//! result into parameterised SQL.
//!
//! Expression grammar: `FIELD OP VALUE` with OP one of `=`, `!=`, `>`, `>=`, `<`, `<=`,
//! `~` (contains, case-insensitive), or `FIELD is null` / `FIELD is not null`. FIELD is
//! a profile field or a custom attribute (`attributes.NAME` names the attribute when a
//! field has the same name). VALUE may be quoted ('...' or "...") to keep spaces.
//!
//! Meaning:
//! - a value is typed by its field: a number field takes a number, a boolean `true`,
//!   `false`, `1` or `0`, a date or datetime an ISO date/time or a relative time (`30d`
//!   = 30 days before now); anything else is an error that names the field.
//! - `!=` is "not `=`": a missing value counts as different.
//! - on a datetime, a date alone is that whole day (UTC): `last_seen=2026-01-05` is any
//!   time that day, `last_seen>2026-01-05` is from the next day on.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};

use super::attributes::AttrType;
use super::company::CompanyField;
use super::profile::UserField;
use super::time::{format_timestamp, parse_timestamp};

/// A filter that cannot be used: unknown field, malformed expression, value of the
/// wrong type. The message names what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FilterError {}

fn err<T>(message: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError(message.into()))
}

// ---- expressions ----

/// A `--where` operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Contains,
    IsNull,
    IsNotNull,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Contains => "~",
            Op::IsNull => "is null",
            Op::IsNotNull => "is not null",
        }
    }
}

/// A parsed, untyped `--where` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    pub field: String,
    pub op: Op,
    /// None for `is null` / `is not null`.
    pub value: Option<String>,
}

/// Operators by the text that spells them, longest first.
const OPERATORS: [(&str, Op); 7] = [
    ("!=", Op::Ne),
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("=", Op::Eq),
    (">", Op::Gt),
    ("<", Op::Lt),
    ("~", Op::Contains),
];

/// Parses `FIELD OP VALUE` or `FIELD is [not] null`.
pub fn parse_expr(text: &str) -> Result<Expr, FilterError> {
    let trimmed = text.trim();
    let lower = trimmed.to_lowercase();
    for (suffix, op) in [(" is not null", Op::IsNotNull), (" is null", Op::IsNull)] {
        if lower.ends_with(suffix) && lower.len() == trimmed.len() {
            let field = trimmed[..trimmed.len() - suffix.len()].trim();
            return Ok(Expr {
                field: check_field_name(field, text)?,
                op,
                value: None,
            });
        }
    }
    let Some(at) = trimmed.find(['!', '=', '<', '>', '~']) else {
        return err(format!(
            "--where {text:?}: no operator; use FIELD=VALUE, !=, >, >=, <, <=, ~ (contains), \
             or 'FIELD is null' / 'FIELD is not null'"
        ));
    };
    let rest = &trimmed[at..];
    let Some((spelling, op)) = OPERATORS.iter().find(|(s, _)| rest.starts_with(s)) else {
        return err(format!(
            "--where {text:?}: unknown operator at {rest:?}; use =, !=, >, >=, <, <= or ~"
        ));
    };
    let field = check_field_name(trimmed[..at].trim(), text)?;
    let value = unquote(rest[spelling.len()..].trim());
    if value.is_empty() {
        return err(format!(
            "--where {text:?}: no value after {spelling}; to find users without a value use \
             '{field} is null'"
        ));
    }
    Ok(Expr {
        field,
        op: *op,
        value: Some(value.to_string()),
    })
}

fn check_field_name(field: &str, text: &str) -> Result<String, FilterError> {
    if field.is_empty() {
        return err(format!(
            "--where {text:?}: no field name before the operator"
        ));
    }
    Ok(field.to_string())
}

fn unquote(value: &str) -> &str {
    for q in ['\'', '"'] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            return &value[1..value.len() - 1];
        }
    }
    value
}

// ---- what can be filtered on ----

/// What a filter or sort key reads: a standard field (by its name) or a custom
/// attribute (by its definition's id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Field(&'static str),
    Attribute(i64),
}

/// The fields and custom attributes of users or of companies, with their types.
#[derive(Debug, Clone)]
pub struct Schema {
    /// "user" or "company", for messages.
    noun: &'static str,
    fields: Vec<(&'static str, AttrType)>,
    attributes: HashMap<String, (i64, AttrType)>,
}

impl Schema {
    /// User profile fields, plus the given user attributes (name, id, type).
    pub fn users(attributes: impl IntoIterator<Item = (String, i64, AttrType)>) -> Schema {
        let mut fields = vec![("user_id", AttrType::String)];
        fields.extend(UserField::ALL.map(|f| (f.name(), AttrType::String)));
        fields.extend([
            ("page_views", AttrType::Number),
            ("last_seen", AttrType::Datetime),
            ("created_at", AttrType::Datetime),
            ("updated_at", AttrType::Datetime),
        ]);
        Schema::new("user", fields, attributes)
    }

    /// Company fields (`members` is the member count), plus company attributes.
    pub fn companies(attributes: impl IntoIterator<Item = (String, i64, AttrType)>) -> Schema {
        let mut fields = vec![("group_id", AttrType::String)];
        fields.extend(CompanyField::ALL.map(|f| {
            let ty = match f {
                CompanyField::Employees => AttrType::Number,
                _ => AttrType::String,
            };
            (f.name(), ty)
        }));
        fields.extend([
            ("members", AttrType::Number),
            ("created_at", AttrType::Datetime),
            ("updated_at", AttrType::Datetime),
        ]);
        Schema::new("company", fields, attributes)
    }

    fn new(
        noun: &'static str,
        fields: Vec<(&'static str, AttrType)>,
        attributes: impl IntoIterator<Item = (String, i64, AttrType)>,
    ) -> Schema {
        Schema {
            noun,
            fields,
            attributes: attributes
                .into_iter()
                .map(|(name, id, ty)| (name, (id, ty)))
                .collect(),
        }
    }

    /// The standard field names.
    pub fn field_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.fields.iter().map(|(n, _)| *n)
    }

    /// What a name refers to: a field first, then an attribute; `attributes.NAME`
    /// is always the attribute.
    pub fn lookup(&self, name: &str) -> Result<(Target, AttrType), FilterError> {
        if let Some((id, ty)) = name
            .strip_prefix("attributes.")
            .and_then(|attr| self.attributes.get(attr))
        {
            return Ok((Target::Attribute(*id), *ty));
        }
        if let Some((field, ty)) = self.fields.iter().find(|(f, _)| *f == name) {
            return Ok((Target::Field(field), *ty));
        }
        if let Some((id, ty)) = self.attributes.get(name) {
            return Ok((Target::Attribute(*id), *ty));
        }
        let noun = self.noun;
        err(format!(
            "unknown field {name:?}: not a {noun} field or {noun} attribute (fields: {}; \
             attributes: see `usercom attrs list --scope {noun}`)",
            self.fields
                .iter()
                .map(|(f, _)| *f)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

// ---- typed predicates ----

/// A typed comparison value.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Text(String),
    Int(i64),
    Real(f64),
    Bool(bool),
}

/// A comparison operator (after `!=` became a negated `=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Cmp {
    pub fn sql(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
        }
    }
}

/// What a predicate tests on a present value.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Cmp(Cmp, Operand),
    /// `lo <= value < hi` (a whole day of a datetime).
    Range(Operand, Operand),
    /// Contains this text, compared lowercased (the needle is lowercased already).
    Contains(String),
    /// Has a value.
    Present,
}

/// A typed `--where`: `test` holds for the target's value, or, when `negated`, it does
/// not (which includes having no value).
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    pub target: Target,
    pub negated: bool,
    pub test: Test,
}

/// Parses and types one `--where` expression.
pub fn predicate(
    text: &str,
    schema: &Schema,
    now: DateTime<Utc>,
) -> Result<Predicate, FilterError> {
    let expr = parse_expr(text)?;
    let (target, ty) = schema
        .lookup(&expr.field)
        .map_err(|e| FilterError(format!("--where {text:?}: {e}")))?;
    let field = &expr.field;
    let op = expr.op;
    let value = match (op, expr.value) {
        (Op::IsNull, _) => {
            return Ok(Predicate {
                target,
                negated: true,
                test: Test::Present,
            });
        }
        (Op::IsNotNull, _) => {
            return Ok(Predicate {
                target,
                negated: false,
                test: Test::Present,
            });
        }
        (_, Some(value)) => value,
        (_, None) => unreachable!("parse_expr gives a value to every comparison"),
    };
    let wrong = |why: String| FilterError(format!("--where {text:?}: {field} is a {ty}; {why}"));
    if op == Op::Contains {
        if ty != AttrType::String {
            return Err(wrong(
                "~ (contains) works on text fields; use =, !=, >, >=, <, <=".into(),
            ));
        }
        return Ok(Predicate {
            target,
            negated: false,
            test: Test::Contains(value.to_lowercase()),
        });
    }
    let (cmp, negated) = match op {
        Op::Eq => (Cmp::Eq, false),
        Op::Ne => (Cmp::Eq, true),
        Op::Gt => (Cmp::Gt, false),
        Op::Ge => (Cmp::Ge, false),
        Op::Lt => (Cmp::Lt, false),
        Op::Le => (Cmp::Le, false),
        _ => unreachable!("handled above"),
    };
    let test = match ty {
        AttrType::String => Test::Cmp(cmp, Operand::Text(value)),
        AttrType::Number => Test::Cmp(
            cmp,
            number(&value).ok_or_else(|| wrong(format!("{value:?} is not a number")))?,
        ),
        AttrType::Boolean => {
            if cmp != Cmp::Eq {
                return Err(wrong(format!(
                    "compare it with = or != (true or false), not {}",
                    op.as_str()
                )));
            }
            let b =
                boolean(&value).ok_or_else(|| wrong(format!("{value:?} is not true or false")))?;
            Test::Cmp(cmp, Operand::Bool(b))
        }
        AttrType::Date => {
            let when = parse_when(&value, now).map_err(|_| {
                wrong(format!(
                    "{value:?} is not a date (use YYYY-MM-DD, or a relative time such as 30d)"
                ))
            })?;
            let date = when.at.date_naive().format("%Y-%m-%d").to_string();
            Test::Cmp(cmp, Operand::Text(date))
        }
        AttrType::Datetime => {
            let when = parse_when(&value, now).map_err(|_| {
                wrong(format!(
                    "{value:?} is not a time (use an ISO 8601 date or time, or a relative \
                     time such as 30d or 12h)"
                ))
            })?;
            day_or_instant(cmp, &when)
        }
    };
    Ok(Predicate {
        target,
        negated,
        test,
    })
}

/// A datetime comparison: against an instant, or against a whole day.
fn day_or_instant(cmp: Cmp, when: &When) -> Test {
    let at = Operand::Text(format_timestamp(when.at));
    if !when.date_only {
        return Test::Cmp(cmp, at);
    }
    let next = Operand::Text(format_timestamp(when.at + Duration::days(1)));
    match cmp {
        Cmp::Eq => Test::Range(at, next),
        Cmp::Gt => Test::Cmp(Cmp::Ge, next),
        Cmp::Ge => Test::Cmp(Cmp::Ge, at),
        Cmp::Lt => Test::Cmp(Cmp::Lt, at),
        Cmp::Le => Test::Cmp(Cmp::Lt, next),
    }
}

fn number(text: &str) -> Option<Operand> {
    let text = text.trim();
    if let Ok(n) = text.parse::<i64>() {
        return Some(Operand::Int(n));
    }
    text.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .map(Operand::Real)
}

fn boolean(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

// ---- times ----

/// A point in time given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct When {
    pub at: DateTime<Utc>,
    /// Given as a date alone (or `today`/`yesterday`): stands for the whole day.
    pub date_only: bool,
}

impl When {
    /// As a lower bound (inclusive), in stored form.
    pub fn since(&self) -> String {
        format_timestamp(self.at)
    }

    /// As an upper bound (exclusive), in stored form: a date includes its whole day.
    pub fn until(&self) -> String {
        if self.date_only {
            format_timestamp(self.at + Duration::days(1))
        } else {
            format_timestamp(self.at)
        }
    }
}

/// Parses an ISO 8601 date or time, `now`, `today`, `yesterday`, or a time relative to
/// `now`: a number and a unit, `s`, `m` (minutes), `h`, `d` or `w` (`30d`, `12h`,
/// `90m`, optionally followed by `ago`).
pub fn parse_when(text: &str, now: DateTime<Utc>) -> Result<When, FilterError> {
    let t = text.trim().to_lowercase();
    let midnight = |d: NaiveDate| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN));
    match t.as_str() {
        "now" => {
            return Ok(When {
                at: now,
                date_only: false,
            });
        }
        "today" => {
            return Ok(When {
                at: midnight(now.date_naive()),
                date_only: true,
            });
        }
        "yesterday" => {
            let d = now.date_naive() - Duration::days(1);
            return Ok(When {
                at: midnight(d),
                date_only: true,
            });
        }
        _ => {}
    }
    let rel = t.strip_suffix("ago").map(str::trim_end).unwrap_or(&t);
    if let Some(unit_at) = rel.find(|c: char| !c.is_ascii_digit()).filter(|&i| i > 0) {
        let (digits, unit) = rel.split_at(unit_at);
        let seconds = match unit.trim() {
            "s" | "sec" | "secs" | "second" | "seconds" => Some(1),
            "m" | "min" | "mins" | "minute" | "minutes" => Some(60),
            "h" | "hour" | "hours" => Some(3600),
            "d" | "day" | "days" => Some(86_400),
            "w" | "week" | "weeks" => Some(7 * 86_400),
            _ => None,
        };
        if let (Some(unit), Ok(n)) = (seconds, digits.parse::<i64>())
            && let Some(at) = n
                .checked_mul(unit)
                .and_then(Duration::try_seconds)
                .and_then(|d| now.checked_sub_signed(d))
        {
            return Ok(When {
                at,
                date_only: false,
            });
        }
    }
    let date_only = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").is_ok();
    match parse_timestamp(text) {
        Some(at) => Ok(When { at, date_only }),
        None => err(format!(
            "{text:?} is not a time: use an ISO 8601 date or time (2026-01-31, \
             2026-01-31T12:00:00Z) or a relative time (30d, 12h, 90m, 2w)"
        )),
    }
}

// ---- buckets ----

/// The ISO week of a stored timestamp (or date), named by its Monday: `YYYY-MM-DD`.
pub fn week_of(time: &str) -> Option<String> {
    let day = NaiveDate::parse_from_str(time.get(..10)?, "%Y-%m-%d").ok()?;
    let monday = day - Duration::days(day.weekday().num_days_from_monday().into());
    Some(monday.format("%Y-%m-%d").to_string())
}

// ---- sorting ----

/// `--sort FIELD[:asc|:desc]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub target: Target,
    pub descending: bool,
}

pub fn sort_key(text: &str, schema: &Schema) -> Result<SortKey, FilterError> {
    let (name, descending) = match text.rsplit_once(':') {
        Some((name, "desc")) => (name, true),
        Some((name, "asc")) => (name, false),
        Some((_, other)) => {
            return err(format!(
                "--sort {text:?}: unknown direction {other:?}; use FIELD, FIELD:asc or FIELD:desc"
            ));
        }
        None => (text, false),
    };
    let (target, _) = schema
        .lookup(name.trim())
        .map_err(|e| FilterError(format!("--sort {text:?}: {e}")))?;
    Ok(SortKey { target, descending })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        parse_timestamp("2026-03-15T12:00:00Z").unwrap()
    }

    fn schema() -> Schema {
        Schema::users([
            ("custom_integer".to_string(), 1, AttrType::Number),
            ("vip".to_string(), 2, AttrType::Boolean),
            ("signup_date".to_string(), 3, AttrType::Date),
            ("trial_ends".to_string(), 4, AttrType::Datetime),
            ("plan".to_string(), 5, AttrType::String),
            ("country".to_string(), 6, AttrType::String),
        ])
    }

    fn typed(text: &str) -> Predicate {
        predicate(text, &schema(), now()).unwrap()
    }

    fn error(text: &str) -> String {
        predicate(text, &schema(), now()).unwrap_err().0
    }

    fn text(s: &str) -> Operand {
        Operand::Text(s.to_string())
    }

    #[test]
    fn parses_every_operator() {
        for (input, op, value) in [
            ("a=1", Op::Eq, Some("1")),
            ("a != 1", Op::Ne, Some("1")),
            ("a>1", Op::Gt, Some("1")),
            ("a>=1", Op::Ge, Some("1")),
            ("a<1", Op::Lt, Some("1")),
            ("a<=1", Op::Le, Some("1")),
            ("a~x y", Op::Contains, Some("x y")),
            ("a is null", Op::IsNull, None),
            ("a IS NOT NULL", Op::IsNotNull, None),
            ("a = 'b = c'", Op::Eq, Some("b = c")),
            ("a=\"  spaced \"", Op::Eq, Some("  spaced ")),
            ("a=x=y", Op::Eq, Some("x=y")),
        ] {
            let e = parse_expr(input).unwrap();
            assert_eq!(e.field, "a", "{input}");
            assert_eq!(e.op, op, "{input}");
            assert_eq!(e.value.as_deref(), value, "{input}");
        }
    }

    #[test]
    fn malformed_expressions_say_why() {
        assert!(parse_expr("country").unwrap_err().0.contains("no operator"));
        assert!(
            parse_expr("=Poland")
                .unwrap_err()
                .0
                .contains("no field name")
        );
        assert!(
            parse_expr("country=")
                .unwrap_err()
                .0
                .contains("country is null")
        );
        assert!(
            parse_expr("a!b")
                .unwrap_err()
                .0
                .contains("unknown operator")
        );
    }

    #[test]
    fn types_values_by_field() {
        let p = typed("custom_integer>100");
        assert_eq!(p.target, Target::Attribute(1));
        assert_eq!(p.test, Test::Cmp(Cmp::Gt, Operand::Int(100)));
        assert_eq!(
            typed("custom_integer<=2.5").test,
            Test::Cmp(Cmp::Le, Operand::Real(2.5))
        );
        assert_eq!(
            typed("vip=true").test,
            Test::Cmp(Cmp::Eq, Operand::Bool(true))
        );
        assert_eq!(
            typed("vip=0").test,
            Test::Cmp(Cmp::Eq, Operand::Bool(false))
        );
        assert_eq!(
            typed("signup_date>=2026-01-01").test,
            Test::Cmp(Cmp::Ge, text("2026-01-01"))
        );
        assert_eq!(
            typed("signup_date<30d").test,
            Test::Cmp(Cmp::Lt, text("2026-02-13"))
        );
        assert_eq!(typed("page_views>=3").target, Target::Field("page_views"));
        assert_eq!(
            typed("email~EXAMPLE.com").test,
            Test::Contains("example.com".into())
        );
        assert_eq!(typed("city~ŁÓDŹ").test, Test::Contains("łódź".into()));
    }

    #[test]
    fn not_equal_and_null_are_negations() {
        let ne = typed("plan!=pro");
        assert!(ne.negated);
        assert_eq!(ne.test, Test::Cmp(Cmp::Eq, text("pro")));
        let null = typed("plan is null");
        assert!(null.negated);
        assert_eq!(null.test, Test::Present);
        let not_null = typed("plan is not null");
        assert!(!not_null.negated);
        assert_eq!(not_null.test, Test::Present);
    }

    #[test]
    fn a_date_on_a_datetime_is_the_whole_day() {
        let day = text("2026-01-05T00:00:00.000Z");
        let next = text("2026-01-06T00:00:00.000Z");
        assert_eq!(
            typed("trial_ends=2026-01-05").test,
            Test::Range(day.clone(), next.clone())
        );
        let ne = typed("trial_ends!=2026-01-05");
        assert!(ne.negated);
        assert_eq!(ne.test, Test::Range(day.clone(), next.clone()));
        assert_eq!(
            typed("trial_ends>2026-01-05").test,
            Test::Cmp(Cmp::Ge, next.clone())
        );
        assert_eq!(
            typed("trial_ends>=2026-01-05").test,
            Test::Cmp(Cmp::Ge, day.clone())
        );
        assert_eq!(typed("trial_ends<2026-01-05").test, Test::Cmp(Cmp::Lt, day));
        assert_eq!(
            typed("trial_ends<=2026-01-05").test,
            Test::Cmp(Cmp::Lt, next)
        );
        assert_eq!(
            typed("last_seen>12h").test,
            Test::Cmp(Cmp::Gt, text("2026-03-15T00:00:00.000Z"))
        );
        assert_eq!(
            typed("last_seen<2026-01-05T10:30:00+01:00").test,
            Test::Cmp(Cmp::Lt, text("2026-01-05T09:30:00.000Z"))
        );
    }

    #[test]
    fn fields_win_over_attributes_unless_prefixed() {
        assert_eq!(typed("country=Poland").target, Target::Field("country"));
        assert_eq!(
            typed("attributes.country=Poland").target,
            Target::Attribute(6)
        );
        assert_eq!(typed("attributes.plan=pro").target, Target::Attribute(5));
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_named() {
        let e = error("custom_integr>100");
        assert!(e.contains("unknown field \"custom_integr\""), "{e}");
        assert!(e.contains("attrs list --scope user"), "{e}");
        let e = error("custom_integer>lots");
        assert!(e.contains("custom_integer is a number"), "{e}");
        assert!(e.contains("\"lots\" is not a number"), "{e}");
        let e = error("vip=maybe");
        assert!(
            e.contains("vip is a boolean") && e.contains("\"maybe\""),
            "{e}"
        );
        assert!(error("vip>true").contains("compare it with = or !="));
        assert!(error("signup_date>=soon").contains("signup_date is a date"));
        assert!(error("last_seen>whenever").contains("last_seen is a datetime"));
        assert!(error("page_views~3").contains("~ (contains) works on text"));
        assert!(error("attributes.email=x").contains("unknown field \"attributes.email\""));
    }

    #[test]
    fn company_schema_has_members_and_employees() {
        let s = Schema::companies([]);
        assert_eq!(
            s.lookup("members").unwrap(),
            (Target::Field("members"), AttrType::Number)
        );
        assert_eq!(s.lookup("employees").unwrap().1, AttrType::Number);
        assert_eq!(s.lookup("name").unwrap().1, AttrType::String);
        let e = s.lookup("page_views").unwrap_err().0;
        assert!(e.contains("not a company field"), "{e}");
    }

    #[test]
    fn relative_and_absolute_times() {
        let n = now();
        let at = |s: &str| format_timestamp(parse_when(s, n).unwrap().at);
        assert_eq!(at("30d"), "2026-02-13T12:00:00.000Z");
        assert_eq!(at("12h"), "2026-03-15T00:00:00.000Z");
        assert_eq!(at("90m"), "2026-03-15T10:30:00.000Z");
        assert_eq!(at("45s"), "2026-03-15T11:59:15.000Z");
        assert_eq!(at("2w"), "2026-03-01T12:00:00.000Z");
        assert_eq!(at("3 days ago"), "2026-03-12T12:00:00.000Z");
        assert_eq!(at("now"), "2026-03-15T12:00:00.000Z");
        assert_eq!(at("2026-01-31"), "2026-01-31T00:00:00.000Z");
        let today = parse_when("today", n).unwrap();
        assert!(today.date_only);
        assert_eq!(today.since(), "2026-03-15T00:00:00.000Z");
        assert_eq!(today.until(), "2026-03-16T00:00:00.000Z");
        let date = parse_when("2026-01-31", n).unwrap();
        assert_eq!(date.until(), "2026-02-01T00:00:00.000Z");
        let instant = parse_when("2026-01-31T08:00:00Z", n).unwrap();
        assert!(!instant.date_only);
        assert_eq!(instant.until(), "2026-01-31T08:00:00.000Z");
        for bad in ["30x", "d", "-3d", "soon", "99999999999999999d", ""] {
            assert!(parse_when(bad, n).is_err(), "{bad}");
        }
    }

    #[test]
    fn weeks_start_on_monday() {
        for (time, monday) in [
            ("2026-01-05T00:00:00.000Z", Some("2026-01-05")), // a Monday
            ("2026-01-07T12:00:00.000Z", Some("2026-01-05")),
            ("2026-01-11T23:59:59.999Z", Some("2026-01-05")), // Sunday
            ("2026-01-01T08:00:00.000Z", Some("2025-12-29")), // across the year
            ("2026-03-02", Some("2026-03-02")),
            ("garbage", None),
            ("", None),
        ] {
            assert_eq!(week_of(time).as_deref(), monday, "{time}");
        }
    }

    #[test]
    fn sort_keys() {
        let s = schema();
        assert_eq!(
            sort_key("page_views:desc", &s).unwrap(),
            SortKey {
                target: Target::Field("page_views"),
                descending: true
            }
        );
        assert_eq!(
            sort_key("custom_integer", &s).unwrap(),
            SortKey {
                target: Target::Attribute(1),
                descending: false
            }
        );
        assert!(!sort_key("email:asc", &s).unwrap().descending);
        assert!(
            sort_key("email:down", &s)
                .unwrap_err()
                .0
                .contains("unknown direction")
        );
        assert!(
            sort_key("nope", &s)
                .unwrap_err()
                .0
                .contains("unknown field \"nope\"")
        );
    }
}
