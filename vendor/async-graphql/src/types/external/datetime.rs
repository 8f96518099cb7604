use chrono::{DateTime, FixedOffset, Local, Utc};

use crate::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

/// Implement the DateTime<FixedOffset> scalar
///
/// The input/output is a string in RFC3339 format.
#[Scalar(
    internal,
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
impl ScalarType for DateTime<FixedOffset> {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => Ok(s.parse::<DateTime<FixedOffset>>()?),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    // LUP: checked by validation, before anything runs (upstream: only when the field ran).
    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(s) if s.parse::<DateTime<FixedOffset>>().is_ok())
    }

    fn to_value(&self) -> Value {
        Value::String(self.to_rfc3339())
    }
}

/// Implement the DateTime<Local> scalar
///
/// The input/output is a string in RFC3339 format.
#[Scalar(
    internal,
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
impl ScalarType for DateTime<Local> {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => Ok(s.parse::<DateTime<Local>>()?),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    // LUP: checked by validation, before anything runs (upstream: only when the field ran).
    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(s) if s.parse::<DateTime<Local>>().is_ok())
    }

    fn to_value(&self) -> Value {
        Value::String(self.to_rfc3339())
    }
}

/// Implement the DateTime<Utc> scalar
///
/// The input/output is a string in RFC3339 format.
#[Scalar(
    internal,
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
impl ScalarType for DateTime<Utc> {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => Ok(s.parse::<DateTime<Utc>>()?),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    // LUP: checked by validation, before anything runs (upstream: only when the field ran),
    // and only the years 0001–9999 in UTC, the times both of LUP's databases store (a field's
    // own validator would run only when the field runs, after the fields before it).
    fn is_valid(value: &Value) -> bool {
        use chrono::Datelike;
        matches!(value, Value::String(s) if s.parse::<DateTime<Utc>>().is_ok_and(|t| (1..=9999).contains(&t.year())))
    }

    // LUP: to the microsecond, what PostgreSQL stores, so a time reads the same from either
    // database (SQLite keeps the nanoseconds it was given; upstream printed them all).
    fn to_value(&self) -> Value {
        use chrono::SubsecRound;
        Value::String(self.trunc_subsecs(6).to_rfc3339())
    }
}
