//! Wall-clock time: RFC 3339 formatting (UTC, `Z`) and the one instant parser of every
//! `--since` flag (`triage`, `report`) and of text time columns in traces.
//!
//! Instants are written as
//! - RFC 3339: `2024-04-15T10:00:00Z`, `2024-04-15T12:00:00.250+02:00`;
//! - `YYYY-MM-DD[ HH:MM[:SS[.frac]]]` (also with `T`): UTC unless an offset (`Z`, `+02:00`,
//!   `+0200`, `-05`) follows;
//! - or, for `--since`, a duration back from now in the grammar of [`super::duration`]
//!   (`30m`, `1.5h`, `2d`).
//!
//! Times are microseconds since the Unix epoch (`i64`). The calendar arithmetic is Howard
//! Hinnant's `days_from_civil`/`civil_from_days` (proleptic Gregorian,
//! <https://howardhinnant.github.io/date_algorithms.html>).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::duration::{self, DurationError};

/// An instant that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstantError {
    /// Neither a time nor a duration.
    #[error("{0:?} is neither a duration back from now (30m, 1.5h, 2d) nor a time (2024-04-15T10:00:00Z, \"2024-04-15 10:00\" in UTC unless an offset is given)")]
    NotAnInstant(String),
    /// Shaped like a date, but not a valid one (month 13, hour 25, a bad offset).
    #[error("{0:?} is not a valid time (e.g. 2024-04-15T10:00:00Z, \"2024-04-15 10:00\")")]
    InvalidTime(String),
    /// A duration that the grammar refuses (unknown unit, negative, too long).
    #[error(transparent)]
    Duration(DurationError),
}

/// Now, microseconds since the epoch (0 if the clock is before 1970).
pub fn now_us() -> i64 {
    us_of(SystemTime::now())
}

/// `t` as microseconds since the epoch (0 before 1970; saturating far in the future).
pub fn us_of(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian), after H. Hinnant's algorithm.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Microseconds since the epoch of a UTC civil time; `frac` is the digits after the seconds'
/// decimal point (any number, beyond 6 ignored). `None` when a field is out of range (a leap
/// second, `:60`, is accepted as the kernel and syslog may print it).
pub fn civil_us(y: i64, mo: u32, d: u32, h: i64, mi: i64, s: i64, frac: &str) -> Option<i64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut us = (days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s) * 1_000_000;
    if !frac.is_empty() {
        let digits: String = frac.chars().take(6).collect();
        let scale = 10i64.pow(6 - digits.len() as u32);
        us += digits.parse::<i64>().ok()? * scale;
    }
    Some(us)
}

/// Civil date and time of microseconds since the epoch, as RFC 3339 UTC
/// (`2024-04-15T10:22:01Z`, with `.ffffff` when there are microseconds).
pub fn format_rfc3339(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let micros = us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // civil_from_days
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    let (hh, mm, ss) = (sod / 3600, sod / 60 % 60, sod % 60);
    if micros == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{micros:06}Z")
    }
}

/// [`format_rfc3339`] of a [`SystemTime`].
pub fn rfc3339(t: SystemTime) -> String {
    format_rfc3339(us_of(t))
}

/// [`format_rfc3339`] of now.
pub fn now_rfc3339() -> String {
    format_rfc3339(now_us())
}

/// Whether `s` starts like a date, `YYYY-MM-DD`.
fn date_shaped(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

fn two(s: &str) -> Option<i64> {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Offset east of UTC in seconds of `Z`, `+HH:MM`, `+HHMM`, `+HH` (or `-`).
fn offset_s(s: &str) -> Option<i64> {
    if s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let r = &s[1..];
    let (h, m) = match r.len() {
        2 => (two(r)?, 0),
        4 => (two(&r[..2])?, two(&r[2..])?),
        5 if &r[2..3] == ":" => (two(&r[..2])?, two(&r[3..])?),
        _ => return None,
    };
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

/// Parse an absolute time (RFC 3339 or `YYYY-MM-DD[ HH:MM[:SS[.frac]]]`, UTC unless an offset
/// is given), microseconds since the epoch.
///
/// Errors: [`InstantError::NotAnInstant`] when it is not shaped like a date,
/// [`InstantError::InvalidTime`] when it is but a field is out of range.
pub fn parse_timestamp(s: &str) -> Result<i64, InstantError> {
    let t = s.trim();
    if !date_shaped(t) {
        return Err(InstantError::NotAnInstant(s.into()));
    }
    let bad = || InstantError::InvalidTime(s.into());
    let y: i64 = t[..4].parse().map_err(|_| bad())?;
    let mo: u32 = t[5..7].parse().map_err(|_| bad())?;
    let d: u32 = t[8..10].parse().map_err(|_| bad())?;
    let mut rest = &t[10..];
    let (mut h, mut mi, mut sec, mut frac) = (0, 0, 0, "");
    if let Some(r) = rest.strip_prefix(['T', 't', ' ']) {
        let r = r.trim_start();
        let hm = r.get(..5).ok_or_else(bad)?;
        if &hm[2..3] != ":" {
            return Err(bad());
        }
        h = two(&hm[..2]).ok_or_else(bad)?;
        mi = two(&hm[3..]).ok_or_else(bad)?;
        rest = &r[5..];
        if let Some(r) = rest.strip_prefix(':') {
            sec = two(r.get(..2).ok_or_else(bad)?).ok_or_else(bad)?;
            rest = &r[2..];
            if let Some(r) = rest.strip_prefix(['.', ',']) {
                let n = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
                if n == 0 {
                    return Err(bad());
                }
                frac = &r[..n];
                rest = &r[n..];
            }
        }
    }
    let rest = rest.trim_start();
    let off = if rest.is_empty() {
        0
    } else {
        offset_s(rest).ok_or_else(bad)?
    };
    if d as i64 > days_in_month(y, mo) {
        return Err(bad());
    }
    let us = civil_us(y, mo, d, h, mi, sec, frac).ok_or_else(bad)?;
    Ok(us - off * 1_000_000)
}

fn days_in_month(y: i64, mo: u32) -> i64 {
    if !(1..=12).contains(&mo) {
        return 0;
    }
    let next = if mo == 12 {
        days_from_civil(y + 1, 1, 1)
    } else {
        days_from_civil(y, mo + 1, 1)
    };
    next - days_from_civil(y, mo, 1)
}

/// Parse an instant: a time as [`parse_timestamp`] takes it, or a duration back from `now_us`
/// in the grammar of [`super::duration`]. Microseconds since the epoch.
///
/// Errors: [`InstantError::NotAnInstant`] (neither), [`InstantError::InvalidTime`] (a date
/// with a field out of range), [`InstantError::Duration`] (a number with an unknown unit, a
/// negative or too long duration).
pub fn parse_instant(s: &str, now_us: i64) -> Result<i64, InstantError> {
    if date_shaped(s.trim()) {
        return parse_timestamp(s);
    }
    match duration::parse(s) {
        Ok(d) => Ok(back_from(now_us, d)),
        Err(DurationError::NotADuration(_)) => Err(InstantError::NotAnInstant(s.into())),
        Err(e) => Err(InstantError::Duration(e)),
    }
}

/// [`parse_instant`] relative to now.
pub fn parse_since(s: &str) -> Result<i64, InstantError> {
    parse_instant(s, now_us())
}

/// `now_us` minus `d`, saturating.
fn back_from(now_us: i64, d: Duration) -> i64 {
    now_us.saturating_sub(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_713_176_521_000_000; // 2024-04-15T10:22:01Z

    #[test]
    fn rfc3339_formatting() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(T), "2024-04-15T10:22:01Z");
        assert_eq!(format_rfc3339(T + 250_000), "2024-04-15T10:22:01.250000Z");
        assert_eq!(format_rfc3339(-1_000_000), "1969-12-31T23:59:59Z");
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(86_400)),
            "1970-01-02T00:00:00Z"
        );
    }

    #[test]
    fn timestamps() {
        for s in [
            "2024-04-15T10:22:01Z",
            "2024-04-15T10:22:01z",
            "2024-04-15t10:22:01Z",
            "2024-04-15 10:22:01",
            " 2024-04-15T10:22:01 ",
            "2024-04-15T12:22:01+02:00",
            "2024-04-15T12:22:01+0200",
            "2024-04-15T05:22:01-05",
            "2024-04-15 10:22:01 UTC",
        ] {
            assert_eq!(parse_timestamp(s), Ok(T), "{s}");
        }
        assert_eq!(parse_timestamp("2024-04-15T10:22:01.25Z"), Ok(T + 250_000));
        assert_eq!(parse_timestamp("2024-04-15 10:22"), Ok(T - 1_000_000));
        assert_eq!(
            parse_timestamp("2024-04-15"),
            Ok(T - (10 * 3600 + 22 * 60 + 1) * 1_000_000)
        );
        // Round trip through the formatter.
        assert_eq!(parse_timestamp(&format_rfc3339(T + 7)), Ok(T + 7));
    }

    #[test]
    fn bad_timestamps() {
        for s in [
            "2024-13-01",
            "2024-02-30",
            "2023-02-29 00:00",
            "2024-04-15T25:00:00Z",
            "2024-04-15T10:61Z",
            "2024-04-15T10:22:01+25:00",
            "2024-04-15T10",
            "2024-04-15T10:22:01.Z",
            "2024-04-15 10:22:01 CEST",
        ] {
            assert_eq!(
                parse_timestamp(s),
                Err(InstantError::InvalidTime(s.into())),
                "{s}"
            );
        }
        assert_eq!(
            parse_timestamp("2024-02-29"),
            Ok(days_from_civil(2024, 2, 29) * 86_400_000_000)
        );
        assert!(matches!(
            parse_timestamp("yesterday"),
            Err(InstantError::NotAnInstant(_))
        ));
        assert!(matches!(
            parse_timestamp("30m"),
            Err(InstantError::NotAnInstant(_))
        ));
    }

    #[test]
    fn instants_back_from_now() {
        assert_eq!(parse_instant("30m", T), Ok(T - 1_800_000_000));
        assert_eq!(parse_instant("1.5h", T), Ok(T - 5_400_000_000));
        assert_eq!(parse_instant("1d", T), Ok(T - 86_400_000_000));
        assert_eq!(parse_instant("90", T), Ok(T - 90_000_000));
        assert_eq!(parse_instant("2024-04-15T10:22:01Z", 0), Ok(T));
        assert!(parse_instant("99999999999999w", T).is_err());
        assert_eq!(parse_instant("1000w", T), Ok(T - 604_800_000_000_000));
        // Before the epoch by more than an i64 of microseconds: saturated, not wrapped.
        assert_eq!(parse_instant("1000000000w", T), Ok(T - i64::MAX));
        assert!(matches!(
            parse_instant("yesterday-ish", T),
            Err(InstantError::NotAnInstant(_))
        ));
        assert!(matches!(
            parse_instant("3y", T),
            Err(InstantError::Duration(_))
        ));
        assert!(matches!(
            parse_instant("-1h", T),
            Err(InstantError::Duration(_))
        ));
        let now = now_us();
        let got = parse_since("1h").unwrap();
        assert!((now - 3_600_000_000 - got).abs() < 5_000_000);
    }
}
