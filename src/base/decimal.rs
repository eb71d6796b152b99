//! The number part shared by the duration and size grammars: an unsigned decimal with an
//! optional fraction (`1.5`, `.5`, `3.`), then a unit suffix, scaled by an integer factor in
//! u128 arithmetic so that no float rounding creeps in (`0.3s` is 300 ms exactly; digits
//! past the 18th of the fraction are dropped).

/// Why a text is not `NUMBER UNIT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// A leading `-`.
    Negative,
    /// No digits where the number should be (`soon`, `.`, `1.2.3`).
    NoNumber,
}

/// A text split into its number and unit, `+` and surrounding spaces dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parts<'a> {
    /// Digits before the decimal point (may be empty: `.5`).
    pub int: &'a str,
    /// Digits after it (may be empty).
    pub frac: &'a str,
    /// The rest, leading spaces dropped (`"ms"`, `"GiB"`, `""`).
    pub unit: &'a str,
}

/// Split `s` into number and unit. Errors: [`Malformed`].
pub(crate) fn split(s: &str) -> Result<Parts<'_>, Malformed> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err(Malformed::Negative);
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(end);
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return Err(Malformed::NoNumber);
    }
    Ok(Parts {
        int,
        frac,
        unit: unit.trim_start(),
    })
}

/// `int.frac × factor`, rounded down; `None` when it overflows u128.
pub(crate) fn scale(p: &Parts<'_>, factor: u128) -> Option<u128> {
    let int: u128 = if p.int.is_empty() {
        0
    } else {
        p.int.parse().ok()?
    };
    let mut v = int.checked_mul(factor)?;
    let frac = &p.frac[..p.frac.len().min(18)];
    if !frac.is_empty() {
        // At most 10^18 × factor: fits for every factor below 2^68.
        let digits: u128 = frac.parse().ok()?;
        v = v.checked_add(digits.checked_mul(factor)? / 10u128.pow(frac.len() as u32))?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_number_and_unit() {
        let p = split(" +1.5 GiB ").unwrap();
        assert_eq!((p.int, p.frac, p.unit), ("1", "5", "GiB"));
        let p = split(".25ms").unwrap();
        assert_eq!((p.int, p.frac, p.unit), ("", "25", "ms"));
        let p = split("3.").unwrap();
        assert_eq!((p.int, p.frac, p.unit), ("3", "", ""));
        assert_eq!(split("-1s"), Err(Malformed::Negative));
        for bad in ["", "s", ".", "1.2.3", "nan"] {
            assert_eq!(split(bad), Err(Malformed::NoNumber), "{bad}");
        }
    }

    #[test]
    fn scales_exactly() {
        let s = |t: &str, f: u128| scale(&split(t).unwrap(), f);
        assert_eq!(s("0.3", 1_000_000_000), Some(300_000_000));
        assert_eq!(s("1.5", 1 << 30), Some(1_610_612_736));
        assert_eq!(s("1.9", 1), Some(1));
        assert_eq!(s("0.0000000000000000001", 1 << 60), Some(0));
        assert_eq!(s(&u128::MAX.to_string(), 2), None);
        assert_eq!(s("1000000000000000000000000000000000000000000", 1), None);
    }
}
