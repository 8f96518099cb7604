//! How models are read from the JSON the databases write (the API's compiled reads): the
//! timestamps of every row, parsed without chrono's general-purpose parser, which costs more
//! than the rest of a row. Anything but the usual RFC 3339 shapes falls back to chrono.
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use serde::Deserializer;

/// `YYYY-MM-DD[T ]HH:MM:SS[.fraction](Z|±HH:MM)`, as PostgreSQL's JSON and SQLite's text
/// write them.
fn parse(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let digits = |from: usize, len: usize| -> Option<u32> {
        let part = b.get(from..from + len)?;
        part.iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(digits(0, 4)?).ok()?, digits(5, 2)?, digits(8, 2)?)?;
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let len = i - start;
        if len == 0 || len > 9 {
            return None;
        }
        nanos = digits(start, len)? * 10u32.pow(u32::try_from(9 - len).ok()?);
    }
    let time = NaiveTime::from_hms_nano_opt(digits(11, 2)?, digits(14, 2)?, digits(17, 2)?, nanos)?;
    let local = NaiveDateTime::new(date, time);
    let offset = match b.get(i..)? {
        // No offset: UTC, as sqlx reads it.
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let minutes = i64::from(digits(i + 1, 2)? * 60 + digits(i + 4, 2)?);
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return None,
    };
    Some((local - TimeDelta::minutes(offset)).and_utc())
}

fn parse_or_chrono(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    match parse(s) {
        Some(t) => Ok(t),
        None => s
            .parse::<DateTime<chrono::FixedOffset>>()
            .map(|t| t.with_timezone(&Utc)),
    }
}

struct Timestamp;

impl serde::de::Visitor<'_> for Timestamp {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an RFC 3339 timestamp")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
        parse_or_chrono(s).map_err(E::custom)
    }
}

/// A timestamp column.
pub fn timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    d.deserialize_str(Timestamp)
}

/// A timestamp column that may be null.
pub fn optional_timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    struct Optional;
    impl<'de> serde::de::Visitor<'de> for Optional {
        type Value = Option<DateTime<Utc>>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an RFC 3339 timestamp or null")
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            timestamp(d).map(Some)
        }
    }
    d.deserialize_option(Optional)
}

/// What the audit log writes for personal data (a model's `Serialize` is what it records): that
/// there was some, not what it was. Contact details, account emails and consultation senders'
/// data are written so; the rows themselves keep the values.
pub const REDACTED: &str = "[personoplysning]";

/// [`REDACTED`] for a value, `null` for none.
pub fn redacted<S: serde::Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_some(REDACTED),
        None => s.serialize_none(),
    }
}

/// [`REDACTED`] for a value that is always there.
pub fn redacted_text<S: serde::Serializer>(_: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(REDACTED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_databases_write_as_chrono_does() {
        for s in [
            "2026-12-01T22:40:00.123456+00:00",
            "2026-12-01T22:40:00+01:00",
            "2026-12-01T22:40:00.123456789+00:00",
            "2026-12-01 22:40:00.5-02:30",
            "2026-12-01T22:40:00Z",
            "1999-02-28T23:59:59.000001+14:00",
        ] {
            let chrono = s
                .parse::<DateTime<chrono::FixedOffset>>()
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(parse(s), Some(chrono), "{s}");
        }
        assert_eq!(
            parse("2026-12-01 22:40:00.25"),
            Some("2026-12-01T22:40:00.25Z".parse::<DateTime<Utc>>().unwrap()),
            "no offset: UTC"
        );
        for s in [
            "2026-13-01T00:00:00Z",
            "2026-12-01T25:00:00Z",
            "2026-12-01",
            "x026-12-01T00:00:00Z",
            "2026-12-01T00:00:00.Z",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
    }
}
