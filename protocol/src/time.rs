//! Strict time formats of the protocol. No clock is read here: callers pass `now`.
//!
//! - [`Timestamp`]: `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC, whole seconds, nothing else);
//! - [`Date`]: `YYYY-MM-DD` (a calendar day, proleptic Gregorian).

use std::fmt;

/// Seconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// Days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub i64);

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
}

/// Days from 1970-01-01 to y-m-d (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Date {
    /// Parse `YYYY-MM-DD` (years 1970–9999).
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let (y, m, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
        if y < 1970 || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return None;
        }
        Some(Date(days_from_civil(y, m, d)))
    }

    /// The same day `years` later (29 February becomes 28 February when needed).
    pub fn plus_years(self, years: i64) -> Date {
        let (y, m, d) = civil_from_days(self.0);
        let y2 = y + years;
        Date(days_from_civil(y2, m, d.min(days_in_month(y2, m))))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = civil_from_days(self.0);
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Timestamp {
    /// Parse exactly `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn parse(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        if b.len() != 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
            return None;
        }
        let date = Date::parse(&s[0..10])?;
        let (h, mi, se) = (
            digits(&b[11..13])?,
            digits(&b[14..16])?,
            digits(&b[17..19])?,
        );
        if h > 23 || mi > 59 || se > 59 {
            return None;
        }
        Some(Timestamp(date.0 * 86_400 + h * 3600 + mi * 60 + se))
    }

    pub fn date(self) -> Date {
        Date(self.0.div_euclid(86_400))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.rem_euclid(86_400);
        write!(
            f,
            "{}T{:02}:{:02}:{:02}Z",
            self.date(),
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_loose_forms() {
        let t = Timestamp::parse("2026-11-28T21:06:28Z").unwrap();
        assert_eq!(t.0, 1_795_899_988); // date -u -d 2026-11-28T21:06:28Z +%s
        assert_eq!(t.to_string(), "2026-11-28T21:06:28Z");
        assert_eq!(Timestamp::parse("1970-01-01T00:00:00Z"), Some(Timestamp(0)));
        for bad in [
            "2026-11-28T21:06:28+00:00",
            "2026-11-28T21:06:28.5Z",
            "2026-11-28 21:06:28Z",
            "2026-02-30T00:00:00Z",
            "2026-11-28T24:00:00Z",
            "2026-11-28t21:06:28z",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_and_leap_years() {
        assert_eq!(
            Date::parse("2024-02-29").map(|d| d.to_string()).as_deref(),
            Some("2024-02-29")
        );
        assert_eq!(Date::parse("2025-02-29"), None);
        let d = Date::parse("2024-02-29").unwrap();
        assert_eq!(d.plus_years(2).to_string(), "2026-02-28");
        assert_eq!(
            Date::parse("2025-03-01").unwrap().plus_years(2).to_string(),
            "2027-03-01"
        );
        assert_eq!(Date::parse("1970-01-02"), Some(Date(1)));
    }
}
