//! The bounds every trace reader holds its input to, in one place: how big a file, a line, a
//! JSON document, a series count and a label may be, and which times and memory sizes are
//! plausible. A reader that meets something past a bound stops with an error naming the file
//! and line (or the series), rather than growing until the machine it diagnoses runs out of
//! memory or printing a 300-digit number.
//!
//! Memory stays proportional to what is kept: a JSON Lines or CSV trace is read line by line
//! (about 32 bytes per sample kept), a JSON document is parsed from the reader into typed
//! records (no `serde_json::Value` of the whole document).

/// Largest trace file read, bytes (1 GiB: about 7 million samples of `record`'s JSON Lines).
pub const MAX_TRACE_BYTES: u64 = 1 << 30;
/// Largest line of a JSON Lines or CSV trace, bytes (a sample line of `record` is ~200 bytes).
pub const MAX_LINE_BYTES: u64 = 1 << 20;
/// Largest JSON document (a `samples` document or a Prometheus answer), bytes.
pub const MAX_DOCUMENT_BYTES: u64 = 256 << 20;
/// Most samples kept from one input (10 million: a month at 4 Hz, 320 MB of series).
pub const MAX_SAMPLES: usize = 10_000_000;
/// Most series in one Prometheus answer.
pub const MAX_SERIES: usize = 10_000;
/// Longest Prometheus label value kept, bytes; longer values are elided (with a note).
pub const MAX_LABEL_BYTES: usize = 4096;
/// Largest plausible memory size: 64 PiB (2^56 bytes).
pub const MAX_MEMORY_BYTES: f64 = (1u64 << 56) as f64;
/// Latest plausible absolute time: 2200-01-01T00:00:00Z, Unix seconds. Times are either Unix
/// seconds (1970..2200) or seconds since the start of the trace, which must then span less than
/// [`MAX_SPAN_S`].
pub const MAX_TIME_S: f64 = 7_258_118_400.0;
/// Longest plausible span of one trace: 100 years, seconds.
pub const MAX_SPAN_S: f64 = 100.0 * 365.25 * 86_400.0;
/// Longest plausible sampling interval in a trace header: one week, seconds.
pub const MAX_INTERVAL_S: f64 = 7.0 * 86_400.0;

/// A number for a message: as written when it is of a sane size, else in scientific form
/// (`1.000e308`), never 309 digits.
pub fn show(x: f64) -> String {
    if x.is_finite() && x.abs() < 1e15 {
        format!("{x}")
    } else {
        format!("{x:.3e}")
    }
}

/// Why `t` (seconds) is not a plausible time, or `None` when it is: not finite, negative, or
/// after 2200 as Unix seconds.
pub fn implausible_time(t: f64) -> Option<String> {
    if !t.is_finite() {
        return Some(format!("time {} is not a number", show(t)));
    }
    if !(-MAX_SPAN_S..=MAX_TIME_S).contains(&t) {
        return Some(format!(
            "time {} s is not plausible (Unix seconds before 2200, or seconds since the start)",
            show(t)
        ));
    }
    None
}

/// Why `v` is not a plausible memory size in bytes, or `None` when it is (finite, 0..=64 PiB).
pub fn implausible_bytes(v: f64) -> Option<String> {
    if !v.is_finite() || !(0.0..=MAX_MEMORY_BYTES).contains(&v) {
        Some(format!(
            "{} is not a plausible memory size in bytes (0 to 64 PiB)",
            show(v)
        ))
    } else {
        None
    }
}

pub use crate::base::input::{Capped, InputTooLarge, LineTooLong};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_messages_are_short() {
        assert_eq!(show(1e308), "1.000e308");
        assert_eq!(show(12.5), "12.5");
        assert!(implausible_bytes(1e308).unwrap().len() < 80);
        assert!(implausible_time(1e306).is_some());
        assert!(implausible_time(1.7e9).is_none());
        assert!(implausible_time(f64::NAN).is_some());
    }
}
