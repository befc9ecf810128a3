//! Event time: parsing the timestamps real sources send, and one canonical format.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};

/// Parses an ISO 8601 / RFC 3339 timestamp. A timestamp without an offset is UTC;
/// a date alone is midnight UTC.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    parse_any(text).filter(in_range)
}

/// Years 1 to 9998: stored text keeps four year digits (text order is time order) and a
/// day can always be added.
fn in_range(time: &DateTime<Utc>) -> bool {
    (1..=9998).contains(&time.year())
}

fn parse_any(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Utc.from_utc_datetime(&t))
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
    fn years_stay_four_digits() {
        assert!(parse_timestamp("+262142-12-31").is_none());
        assert!(parse_timestamp("9999-12-31").is_none());
        assert!(parse_timestamp("9998-12-31").is_some());
    }
}
