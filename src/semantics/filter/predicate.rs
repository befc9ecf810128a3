//! Typed `--where` predicates: each value typed by the field it is compared with.

use chrono::{DateTime, Duration, Utc};

use super::{FilterError, Op, Schema, Target, When, parse_expr, parse_when};
use crate::semantics::attributes::AttrType;
use crate::semantics::time::format_timestamp;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::filter::fixtures::{now, schema};

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
}
