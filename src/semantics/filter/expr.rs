//! `--where` expressions as written: `FIELD OP VALUE` or `FIELD is [not] null`, not
//! yet typed.

use super::{FilterError, err};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
