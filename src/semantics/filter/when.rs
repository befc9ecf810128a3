//! Times given on the command line (`30d`, `today`, ISO 8601) and the weeks stats
//! buckets by.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};

use super::{FilterError, err};
use crate::semantics::time::{format_timestamp, parse_timestamp};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::filter::fixtures::now;

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
}
