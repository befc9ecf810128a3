//! Event time: parsing the timestamps real sources send, and one canonical format.

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, TimeZone, Timelike, Utc};

/// Parses an ISO 8601 / RFC 3339 timestamp. A timestamp without an offset is UTC;
/// a date alone is midnight UTC.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    parse_any(text).map(|(_, time)| time).filter(in_range)
}

/// The calendar date a timestamp was written with, before any offset moves it to UTC:
/// `1990-05-01T00:00:00+02:00` is 1990-05-01 (epoch numbers: their UTC date).
pub fn parse_written_date(text: &str) -> Option<NaiveDate> {
    parse_any(text)
        .filter(|(_, time)| in_range(time))
        .map(|(date, _)| date)
}

/// Years 1 to 9998: stored text keeps four year digits (text order is time order) and a
/// day can always be added.
fn in_range(time: &DateTime<Utc>) -> bool {
    (1..=9998).contains(&time.year())
}

/// ISO 8601 as sources write it: `2026-10-01T12:30:00.123Z`, a space for the `T`,
/// non-padded months and days (`2015-2-02`), minutes without seconds, any number of
/// fraction digits, offsets `Z`, `+02`, `+0200`, `+02:00` (none: UTC), a date alone
/// (midnight UTC); a string of digits is epoch seconds (10), milliseconds (13) or an
/// ISO basic date (8). Impossible values (month 13, second 60 outside a leap second)
/// are no time. Gives the date as written and the instant.
fn parse_any(text: &str) -> Option<(NaiveDate, DateTime<Utc>)> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let time = match text.len() {
            8 => NaiveDate::parse_from_str(text, "%Y%m%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| Utc.from_utc_datetime(&t)),
            10 | 13 => from_unix_seconds(text.parse::<i64>().ok()? as f64),
            _ => None,
        };
        return time.map(|t| (t.date_naive(), t));
    }
    let (date, rest) = match text.find(['T', 't', ' ']) {
        Some(at) => (&text[..at], Some(text[at + 1..].trim_start())),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let year = digits(parts.next()?, 4, 4)?;
    let month = digits(parts.next()?, 1, 2)?;
    let day = digits(parts.next()?, 1, 2)?;
    if parts.next().is_some() {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let Some(rest) = rest else {
        return Some((date, Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?)));
    };
    let (clock, offset_seconds) = split_offset(rest)?;
    let mut fields = clock.splitn(3, ':');
    let hour = digits(fields.next()?, 1, 2)?;
    let minute = digits(fields.next()?, 2, 2)?;
    let (second, nanos) = match fields.next() {
        None => (0, 0),
        Some(seconds) => {
            let (whole, fraction) = match seconds.split_once(['.', ',']) {
                Some((whole, fraction)) => (whole, Some(fraction)),
                None => (seconds, None),
            };
            let nanos = match fraction {
                None => 0,
                Some(f) if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) => {
                    return None;
                }
                Some(f) => {
                    let kept = &f[..f.len().min(9)];
                    kept.parse::<u32>().ok()? * 10u32.pow(9 - kept.len() as u32)
                }
            };
            (digits(whole, 2, 2)?, nanos)
        }
    };
    let leap = second == 60;
    let naive = date.and_hms_nano_opt(hour, minute, if leap { 59 } else { second }, nanos)?;
    let utc = Utc.from_utc_datetime(&(naive - chrono::Duration::seconds(offset_seconds)));
    if leap {
        // Only a leap second that happened is a time; it is kept as the last
        // millisecond of its minute.
        let day = utc.format("%Y-%m-%d").to_string();
        if utc.format("%H:%M:%S").to_string() != "23:59:59" || !LEAP_SECONDS.contains(&day.as_str())
        {
            return None;
        }
        return Some((date, utc.with_nanosecond(999_000_000)?));
    }
    Some((date, utc))
}

/// The days whose last minute had a 61st second (UTC), as the IERS announced them.
const LEAP_SECONDS: [&str; 27] = [
    "1972-06-30",
    "1972-12-31",
    "1973-12-31",
    "1974-12-31",
    "1975-12-31",
    "1976-12-31",
    "1977-12-31",
    "1978-12-31",
    "1979-12-31",
    "1981-06-30",
    "1982-06-30",
    "1983-06-30",
    "1985-06-30",
    "1987-12-31",
    "1989-12-31",
    "1990-12-31",
    "1992-06-30",
    "1993-06-30",
    "1994-06-30",
    "1995-12-31",
    "1997-06-30",
    "1998-12-31",
    "2005-12-31",
    "2008-12-31",
    "2012-06-30",
    "2015-06-30",
    "2016-12-31",
];

/// A run of `min..=max` ASCII digits as a number.
fn digits(text: &str, min: usize, max: usize) -> Option<u32> {
    ((min..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// A time of day and its offset from UTC in seconds (`Z`, `+02`, `+0200`, `+02:00`;
/// none is UTC).
fn split_offset(text: &str) -> Option<(&str, i64)> {
    if let Some(clock) = text.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let Some(at) = text.find(['+', '-']) else {
        return Some((text, 0));
    };
    let (clock, zone) = (&text[..at], &text[at..]);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let zone = zone[1..].replace(':', "");
    let (hours, minutes) = match zone.len() {
        2 => (digits(&zone, 2, 2)?, 0),
        4 => (digits(&zone[..2], 2, 2)?, digits(&zone[2..], 2, 2)?),
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some((
        clock.trim_end(),
        sign * (hours as i64 * 3600 + minutes as i64 * 60),
    ))
}

/// A time from unix seconds (fractions allowed).
/// Values past 10^11 (year 5138 in seconds) are taken as milliseconds, as JavaScript's
/// `Date.now()` gives them.
pub fn from_unix_seconds(seconds: f64) -> Option<DateTime<Utc>> {
    if !seconds.is_finite() {
        return None;
    }
    let millis = if seconds.abs() >= 1e11 {
        seconds
    } else {
        seconds * 1000.0
    }
    .round();
    if millis.abs() > 8.0e15 {
        return None;
    }
    DateTime::from_timestamp_millis(millis as i64).filter(in_range)
}

/// Segment's clock-skew correction: the time of the call on the client's clock
/// (`original`, its `originalTimestamp`) moved onto the server's clock by the
/// difference between the two clocks when the client sent it:
/// `receivedAt - (sentAt - originalTimestamp)`. None when the result falls outside the
/// years usercom keeps.
pub fn skew_corrected(
    original: DateTime<Utc>,
    sent_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let delay = sent_at.signed_duration_since(original);
    received_at.checked_sub_signed(delay).filter(in_range)
}

/// The one format usercom stores and prints: ISO 8601 UTC with milliseconds
/// (fixed width, so text order is time order).
pub fn format_timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_shapes_sources_send() {
        let z = parse_timestamp("2026-10-01T12:30:00.123Z").unwrap();
        assert_eq!(format_timestamp(z), "2026-10-01T12:30:00.123Z");
        let offset = parse_timestamp("2026-10-01T14:30:00+02:00").unwrap();
        assert_eq!(format_timestamp(offset), "2026-10-01T12:30:00.000Z");
        let naive = parse_timestamp("2026-10-01 12:30:00").unwrap();
        assert_eq!(format_timestamp(naive), "2026-10-01T12:30:00.000Z");
        let date = parse_timestamp("2026-10-01").unwrap();
        assert_eq!(format_timestamp(date), "2026-10-01T00:00:00.000Z");
        let micros = parse_timestamp("2026-10-01T12:30:00.123456Z").unwrap();
        assert_eq!(format_timestamp(micros), "2026-10-01T12:30:00.123Z");
    }

    #[test]
    fn rejects_what_is_not_a_time() {
        assert!(parse_timestamp("yesterday").is_none());
        assert!(parse_timestamp("2026-13-01").is_none());
        assert!(parse_timestamp("").is_none());
    }

    #[test]
    fn unix_seconds() {
        let t = from_unix_seconds(1_790_000_000.5).unwrap();
        assert_eq!(format_timestamp(t), "2026-09-21T14:13:20.500Z");
        assert!(from_unix_seconds(f64::NAN).is_none());
        assert!(from_unix_seconds(1e300).is_none());
        let millis = from_unix_seconds(1_790_000_000_500.0).unwrap();
        assert_eq!(format_timestamp(millis), "2026-09-21T14:13:20.500Z");
        assert!(from_unix_seconds(-1e14).is_none(), "before year 1");
    }

    #[test]
    fn skew_correction_moves_the_client_clock_onto_the_server_clock() {
        let t = |s| parse_timestamp(s).unwrap();
        // A device clock a day fast: called at 10:00 (its clock), sent 5 s later.
        let corrected = skew_corrected(
            t("2026-10-02T10:00:00Z"),
            t("2026-10-02T10:00:05Z"),
            t("2026-10-01T10:00:06Z"),
        )
        .unwrap();
        assert_eq!(format_timestamp(corrected), "2026-10-01T10:00:01.000Z");
        // Clocks that agree change nothing.
        let same = skew_corrected(
            t("2026-10-01T10:00:00Z"),
            t("2026-10-01T10:00:00Z"),
            t("2026-10-01T10:00:00Z"),
        );
        assert_eq!(same, Some(t("2026-10-01T10:00:00Z")));
        // A correction past the years kept is no time.
        assert!(
            skew_corrected(
                t("0001-01-01T00:00:00Z"),
                t("9000-01-01T00:00:00Z"),
                t("2026-01-01T00:00:00Z")
            )
            .is_none()
        );
    }

    #[test]
    fn offsets_as_sources_write_them() {
        let at = |text: &str| parse_timestamp(text).map(format_timestamp);
        let want = Some("2026-10-01T12:30:00.000Z".to_string());
        for text in [
            "2026-10-01T12:30:00Z",
            "2026-10-01T12:30:00z",
            "2026-10-01T14:30:00+02",
            "2026-10-01T14:30:00+0200",
            "2026-10-01T14:30:00+02:00",
            "2026-10-01T10:30:00-02",
            "2026-10-01 14:30:00+02:00",
            "2026-10-01T12:30Z",
            "2026-10-01T14:30+02:00",
            "2026-10-01T12:30",
            "2026-10-01 12:30",
        ] {
            assert_eq!(at(text), want, "{text}");
        }
    }

    #[test]
    fn fractions_and_unpadded_dates() {
        let at = |text: &str| parse_timestamp(text).map(format_timestamp);
        assert_eq!(
            at("2026-10-01T12:30:00.1234567891234Z").as_deref(),
            Some("2026-10-01T12:30:00.123Z")
        );
        assert_eq!(
            at("2026-10-01T12:30:00.5").as_deref(),
            Some("2026-10-01T12:30:00.500Z")
        );
        // Segment's own published batch example.
        assert_eq!(
            at("2015-2-02T00:30:08.276Z").as_deref(),
            Some("2015-02-02T00:30:08.276Z")
        );
        assert_eq!(at("2015-2-2").as_deref(), Some("2015-02-02T00:00:00.000Z"));
    }

    #[test]
    fn epoch_digits_and_basic_dates() {
        let at = |text: &str| parse_timestamp(text).map(format_timestamp);
        assert_eq!(
            at("1790000000").as_deref(),
            Some("2026-09-21T14:13:20.000Z")
        );
        assert_eq!(
            at("1790000000500").as_deref(),
            Some("2026-09-21T14:13:20.500Z")
        );
        assert_eq!(at("20240101").as_deref(), Some("2024-01-01T00:00:00.000Z"));
        assert_eq!(at("20241301"), None);
        assert_eq!(at("123456789"), None, "9 digits are neither");
        assert_eq!(at("12345678901"), None, "11 digits are neither");
    }

    #[test]
    fn impossible_values_are_unreadable() {
        assert!(parse_timestamp("2026-10-01T12:30:60Z").is_none());
        assert!(parse_timestamp("2026-13-01T00:00:00Z").is_none());
        assert!(parse_timestamp("2026-02-30").is_none());
        assert!(parse_timestamp("2026-10-01T24:00:00Z").is_none());
        assert!(parse_timestamp("2026-10-01T12:30:00+25:00").is_none());
        // A real leap second, also written in another zone; not one that never was.
        let leap = parse_timestamp("2016-12-31T23:59:60Z").unwrap();
        assert_eq!(format_timestamp(leap), "2016-12-31T23:59:59.999Z");
        let leap = parse_timestamp("2017-01-01T00:59:60+01:00").unwrap();
        assert_eq!(format_timestamp(leap), "2016-12-31T23:59:59.999Z");
        assert!(parse_timestamp("2026-12-31T23:59:60Z").is_none());
    }

    #[test]
    fn years_stay_four_digits() {
        assert!(parse_timestamp("+262142-12-31").is_none());
        assert!(parse_timestamp("9999-12-31").is_none());
        assert!(parse_timestamp("9998-12-31").is_some());
    }
}
