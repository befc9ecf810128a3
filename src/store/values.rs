//! How semantic values are stored in SQLite columns.

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::semantics::attributes::Scalar;

impl ToSql for Scalar {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Scalar::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Scalar::Int(n) => ToSqlOutput::Owned((*n).into()),
            Scalar::Real(x) => ToSqlOutput::Owned((*x).into()),
            Scalar::Bool(b) => ToSqlOutput::Owned((*b as i64).into()),
        })
    }
}

impl FromSql for Scalar {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        Ok(match value {
            ValueRef::Integer(n) => Scalar::Int(n),
            ValueRef::Real(x) => Scalar::Real(x),
            other => Scalar::Text(String::from_utf8_lossy(other.as_bytes()?).into()),
        })
    }
}
