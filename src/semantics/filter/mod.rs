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

mod expr;
mod predicate;
mod schema;
mod when;

use std::fmt;

pub use expr::{Expr, Op, parse_expr};
pub use predicate::{Cmp, Operand, Predicate, Test, predicate};
pub use schema::{Schema, SortKey, Target, sort_key};
pub use when::{When, parse_when, week_of};

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

#[cfg(test)]
mod fixtures {
    use chrono::{DateTime, Utc};

    use super::Schema;
    use crate::semantics::attributes::AttrType;
    use crate::semantics::time::parse_timestamp;

    /// The "now" of every test here.
    pub fn now() -> DateTime<Utc> {
        parse_timestamp("2026-03-15T12:00:00Z").unwrap()
    }

    /// User fields and one attribute of each type (`country` also names a field).
    pub fn schema() -> Schema {
        Schema::users([
            ("custom_integer".to_string(), 1, AttrType::Number),
            ("vip".to_string(), 2, AttrType::Boolean),
            ("signup_date".to_string(), 3, AttrType::Date),
            ("trial_ends".to_string(), 4, AttrType::Datetime),
            ("plan".to_string(), 5, AttrType::String),
            ("country".to_string(), 6, AttrType::String),
        ])
    }
}
