//! The one size grammar of every flag that takes an amount of memory (`analyze --limit`,
//! `--min-rate`, `record --memory-limit`) and of the unit-suffixed cells of CSV traces, as
//! Kubernetes quantities are written (`k8s.io/apimachinery/pkg/api/resource`):
//!
//! | suffix | factor |
//! |---|---|
//! | none, `B` | bytes |
//! | `k`, `K`, `kB`, `KB` | 10^3 |
//! | `M`, `MB` | 10^6 |
//! | `G`, `GB` | 10^9 |
//! | `T`, `TB` / `P`, `PB` / `E`, `EB` | 10^12 / 10^15 / 10^18 |
//! | `Ki`, `KiB` | 2^10 |
//! | `Mi`, `MiB` | 2^20 |
//! | `Gi`, `GiB` | 2^30 |
//! | `Ti`, `TiB` / `Pi`, `PiB` / `Ei`, `EiB` | 2^40 / 2^50 / 2^60 |
//!
//! So `2G` is 2,000,000,000 bytes and `2Gi` is 2,147,483,648 (a pod's `memory: 2G` and `2Gi`
//! differ by 7 %). Letters are case-insensitive (`64mb` is `64MB`; Kubernetes' milli `m` is
//! meaningless for bytes), a space may separate number and suffix, fractions are allowed
//! (`1.5Gi`) and the result is rounded down to whole bytes, computed in integers.

use super::decimal::{self, Malformed};

/// A size that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// No number where one was expected.
    #[error("{0:?} is not a size (e.g. 2Gi, 512MiB, 2G = 10^9 bytes, 1048576 bytes)")]
    NotASize(String),
    /// A number with a suffix that is not in the grammar.
    #[error("unknown unit {unit:?} in {input:?} (use k, M, G, T for powers of 1000, Ki, Mi, Gi, Ti for powers of 1024, or bytes)")]
    UnknownUnit {
        /// The whole input.
        input: String,
        /// The suffix as typed.
        unit: String,
    },
    /// A leading minus sign.
    #[error("{0:?}: a size cannot be negative")]
    Negative(String),
    /// More than 2^64 − 1 bytes.
    #[error("{0:?} is too large (at most 16 EiB)")]
    TooLarge(String),
}

fn unit_factor(unit: &str) -> Option<u128> {
    let u = unit.to_ascii_lowercase();
    let u = u.strip_suffix('b').unwrap_or(&u);
    let (prefix, binary) = match u.strip_suffix('i') {
        Some(p) if !p.is_empty() => (p, true),
        _ => (u, false),
    };
    let power = match prefix {
        "" => return (!binary).then_some(1),
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        "e" => 6,
        _ => return None,
    };
    Some(if binary {
        1u128 << (10 * power)
    } else {
        1000u128.pow(power)
    })
}

/// Parse a size in the grammar of the module docs, bytes.
///
/// Errors: [`SizeError::NotASize`], [`SizeError::UnknownUnit`], [`SizeError::Negative`],
/// [`SizeError::TooLarge`].
pub fn parse(s: &str) -> Result<u64, SizeError> {
    let p = decimal::split(s).map_err(|m| match m {
        Malformed::Negative => SizeError::Negative(s.into()),
        Malformed::NoNumber => SizeError::NotASize(s.into()),
    })?;
    let Some(mult) = unit_factor(p.unit) else {
        return Err(SizeError::UnknownUnit {
            input: s.into(),
            unit: p.unit.into(),
        });
    };
    decimal::scale(&p, mult)
        .and_then(|b| u64::try_from(b).ok())
        .ok_or_else(|| SizeError::TooLarge(s.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_as_kubernetes() {
        assert_eq!(parse("2G"), Ok(2_000_000_000));
        assert_eq!(parse("2GB"), Ok(2_000_000_000));
        assert_eq!(parse("64M"), Ok(64_000_000));
        assert_eq!(parse("64mb"), Ok(64_000_000));
        assert_eq!(parse("100k"), Ok(100_000));
        assert_eq!(parse("100K"), Ok(100_000));
        assert_eq!(parse("1.5G"), Ok(1_500_000_000));
        assert_eq!(parse("1T"), Ok(1_000_000_000_000));
        assert_eq!(parse("1E"), Ok(1_000_000_000_000_000_000));
    }

    #[test]
    fn binary_with_i() {
        assert_eq!(parse("2Gi"), Ok(2 << 30));
        assert_eq!(parse("2GiB"), Ok(2 << 30));
        assert_eq!(parse("2048Mi"), Ok(2048 << 20));
        assert_eq!(parse("12 MiB"), Ok(12 << 20));
        assert_eq!(parse("64Ki"), Ok(65536));
        assert_eq!(parse("64kib"), Ok(65536));
        assert_eq!(parse("1.5Gi"), Ok(1_610_612_736));
        assert_eq!(parse("1Ei"), Ok(1 << 60));
    }

    #[test]
    fn bytes_as_they_are() {
        assert_eq!(parse("1048576"), Ok(1_048_576));
        assert_eq!(parse("512B"), Ok(512));
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse(&u64::MAX.to_string()), Ok(u64::MAX));
        assert_eq!(parse("1.9"), Ok(1));
    }

    #[test]
    fn what_is_refused() {
        assert!(matches!(parse("x"), Err(SizeError::NotASize(_))));
        assert!(matches!(parse(""), Err(SizeError::NotASize(_))));
        assert!(matches!(parse("nan"), Err(SizeError::NotASize(_))));
        assert!(matches!(
            parse("5 parsecs"),
            Err(SizeError::UnknownUnit { .. })
        ));
        assert!(matches!(parse("2i"), Err(SizeError::UnknownUnit { .. })));
        assert!(matches!(parse("1e9"), Err(SizeError::UnknownUnit { .. })));
        assert!(matches!(parse("-1Gi"), Err(SizeError::Negative(_))));
        assert!(matches!(parse("16Ei"), Err(SizeError::TooLarge(_))));
        assert!(matches!(
            parse("18446744073709551616"),
            Err(SizeError::TooLarge(_))
        ));
        assert_eq!(
            parse("x").unwrap_err().to_string(),
            "\"x\" is not a size (e.g. 2Gi, 512MiB, 2G = 10^9 bytes, 1048576 bytes)"
        );
    }
}
