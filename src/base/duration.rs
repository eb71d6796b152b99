//! The one duration grammar of every flag (`record -i/-d`, `sample --watch`, `recommend
//! --interval/--timeout/--since`, `report --section-timeout`, and the "back from now" form of
//! `--since` instants): a number, fractions allowed, and a unit.
//!
//! | unit | meaning |
//! |---|---|
//! | `ms` | milliseconds |
//! | `s`, `sec` (or none: a bare number is seconds) | seconds |
//! | `m`, `min` | minutes |
//! | `h`, `hr` | hours |
//! | `d`, `day` | days (24 h) |
//! | `w`, `week` | weeks (7 d) |
//!
//! `250ms 30s 5m 1.5h 2d 1w 90`. Negative values, `nan`, `inf` and exponents are refused, as is
//! anything beyond what a [`Duration`] holds. The value is computed in integer nanoseconds (no
//! float rounding: `0.3s` is 300 ms exactly; digits past the nanosecond are dropped). Each flag
//! keeps its own bounds as a check after parsing ([`parse_within`]); the errors are the same
//! text everywhere.

use std::time::Duration;

use super::decimal::{self, Malformed};

/// A duration that could not be parsed or is outside a flag's bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// No number where one was expected (`soon`, `-`, `nan`).
    #[error(
        "{0:?} is not a duration (e.g. 250ms, 30s, 5m, 1.5h, 2d, 1w; a bare number is seconds)"
    )]
    NotADuration(String),
    /// A number with a unit that is not in the grammar.
    #[error("unknown unit {unit:?} in {input:?} (use ms, s, m, h, d or w)")]
    UnknownUnit {
        /// The whole input.
        input: String,
        /// The unit as typed.
        unit: String,
    },
    /// A leading minus sign.
    #[error("{0:?}: a duration cannot be negative")]
    Negative(String),
    /// More than a [`Duration`] holds (about 584 billion years).
    #[error("{0:?} is too long for a duration")]
    TooLarge(String),
    /// Parsed, but outside the flag's bounds.
    #[error("{input:?} is out of range ({min} to {max})")]
    OutOfRange {
        /// The whole input.
        input: String,
        /// The flag's minimum, in this grammar.
        min: String,
        /// The flag's maximum, in this grammar.
        max: String,
    },
}

/// One day.
pub const DAY: Duration = Duration::from_secs(86_400);
/// 365 days.
pub const YEAR: Duration = Duration::from_secs(365 * 86_400);

const NS: u128 = 1_000_000_000;

fn unit_ns(unit: &str) -> Option<u128> {
    Some(match unit {
        "ms" => 1_000_000,
        "" | "s" | "sec" | "secs" | "second" | "seconds" => NS,
        "m" | "min" | "mins" | "minute" | "minutes" => 60 * NS,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600 * NS,
        "d" | "day" | "days" => 86_400 * NS,
        "w" | "week" | "weeks" => 7 * 86_400 * NS,
        _ => return None,
    })
}

/// Parse a duration in the grammar of the module docs.
///
/// Errors: [`DurationError::NotADuration`], [`DurationError::UnknownUnit`],
/// [`DurationError::Negative`], [`DurationError::TooLarge`].
pub fn parse(s: &str) -> Result<Duration, DurationError> {
    let p = decimal::split(s).map_err(|m| match m {
        Malformed::Negative => DurationError::Negative(s.into()),
        Malformed::NoNumber => DurationError::NotADuration(s.into()),
    })?;
    let Some(mult) = unit_ns(p.unit) else {
        return Err(DurationError::UnknownUnit {
            input: s.into(),
            unit: p.unit.into(),
        });
    };
    let ns = decimal::scale(&p, mult).ok_or_else(|| DurationError::TooLarge(s.into()))?;
    let secs = u64::try_from(ns / NS).map_err(|_| DurationError::TooLarge(s.into()))?;
    Ok(Duration::new(secs, (ns % NS) as u32))
}

/// [`parse`], then require `min <= d <= max` (a flag's own bounds).
///
/// Errors: those of [`parse`], and [`DurationError::OutOfRange`] naming both bounds.
pub fn parse_within(s: &str, min: Duration, max: Duration) -> Result<Duration, DurationError> {
    let d = parse(s)?;
    if d < min || d > max {
        return Err(DurationError::OutOfRange {
            input: s.into(),
            min: format(min),
            max: format(max),
        });
    }
    Ok(d)
}

/// A duration in this grammar, in the largest unit that states it exactly (`100ms`, `5m`,
/// `1w`), else fractional seconds (`1.5s`); parses back to the same value to the nanosecond.
pub fn format(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".into();
    }
    for (unit, mult) in [
        ("w", 7 * 86_400 * NS),
        ("d", 86_400 * NS),
        ("h", 3600 * NS),
        ("m", 60 * NS),
        ("s", NS),
        ("ms", 1_000_000),
    ] {
        if ns.is_multiple_of(mult) {
            return format!("{}{unit}", ns / mult);
        }
    }
    let frac = format!("{:09}", d.subsec_nanos());
    format!("{}.{}s", d.as_secs(), frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn the_grammar() {
        assert_eq!(parse("250ms"), Ok(ms(250)));
        assert_eq!(parse("30s"), Ok(ms(30_000)));
        assert_eq!(parse("30"), Ok(ms(30_000)));
        assert_eq!(parse("5m"), Ok(ms(300_000)));
        assert_eq!(parse("5min"), Ok(ms(300_000)));
        assert_eq!(parse("1.5h"), Ok(ms(5_400_000)));
        assert_eq!(parse("2d"), Ok(DAY * 2));
        assert_eq!(parse("1w"), Ok(DAY * 7));
        assert_eq!(parse(" 2 h "), Ok(ms(7_200_000)));
        assert_eq!(parse("0.5"), Ok(ms(500)));
        assert_eq!(parse(".5s"), Ok(ms(500)));
        assert_eq!(parse("3."), Ok(ms(3000)));
        assert_eq!(parse("+1s"), Ok(ms(1000)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("0.000001"), Ok(Duration::from_micros(1)));
    }

    #[test]
    fn fractions_are_exact() {
        assert_eq!(parse("0.3s"), Ok(ms(300)));
        assert_eq!(parse("0.1"), Ok(ms(100)));
        assert_eq!(parse("1.0000000019"), Ok(Duration::new(1, 1)));
        assert_eq!(parse("0.001ms"), Ok(Duration::from_micros(1)));
    }

    #[test]
    fn what_is_refused() {
        for bad in ["soon", "", "s", ".", "1.2.3", "nan", "inf", "1e3", "1,5s"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(parse("soon"), Err(DurationError::NotADuration(_))));
        assert!(matches!(parse("-5s"), Err(DurationError::Negative(_))));
        assert!(matches!(
            parse("5y"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse("5 parsecs"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse("1e30"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse("99999999999999999999w"),
            Err(DurationError::TooLarge(_))
        ));
        assert!(matches!(
            parse("999999999999999999999999999999999999999999"),
            Err(DurationError::TooLarge(_))
        ));
        // Exactly what a Duration holds, and one second more.
        assert_eq!(
            parse(&u64::MAX.to_string()),
            Ok(Duration::from_secs(u64::MAX))
        );
        assert!(parse(&(u64::MAX as u128 + 1).to_string()).is_err());
    }

    #[test]
    fn error_texts() {
        assert_eq!(
            parse("soon").unwrap_err().to_string(),
            "\"soon\" is not a duration (e.g. 250ms, 30s, 5m, 1.5h, 2d, 1w; a bare number is seconds)"
        );
        assert_eq!(
            parse("3y").unwrap_err().to_string(),
            "unknown unit \"y\" in \"3y\" (use ms, s, m, h, d or w)"
        );
        assert_eq!(
            parse_within("5ms", ms(100), YEAR).unwrap_err().to_string(),
            "\"5ms\" is out of range (100ms to 365d)"
        );
    }

    #[test]
    fn bounds() {
        assert_eq!(parse_within("1d", ms(10), YEAR), Ok(DAY));
        assert!(parse_within("366d", ms(10), YEAR).is_err());
        assert!(parse_within("0", ms(10), YEAR).is_err());
        assert_eq!(parse_within("10ms", ms(10), YEAR), Ok(ms(10)));
    }

    #[test]
    fn format_round_trips() {
        for (d, text) in [
            (ms(100), "100ms"),
            (ms(300_000), "5m"),
            (DAY * 7, "1w"),
            (DAY * 365, "365d"),
            (ms(1500), "1500ms"),
            (Duration::new(1, 1), "1.000000001s"),
            (Duration::ZERO, "0s"),
        ] {
            assert_eq!(format(d), text);
            assert_eq!(parse(text), Ok(d), "{text}");
        }
    }
}
