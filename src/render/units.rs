//! Units for people: IEC sizes (KiB, MiB, GiB), as `free -h` and `pmap` readers expect.

/// Format a byte count with IEC units: `512 B`, `1.50 KiB`, `64.0 MiB`, `512 MiB`, `2.10 GiB`.
/// Three significant digits, never scientific notation.
pub fn iec(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    // Rounding can carry 1023.99 up to 1024; keep it in the same unit rather than "1024 KiB".
    if v >= 99.95 {
        format!("{:.0} {}", v, UNITS[u])
    } else if v >= 9.995 {
        format!("{:.1} {}", v, UNITS[u])
    } else {
        format!("{:.2} {}", v, UNITS[u])
    }
}

/// Parse a size as users type it: `512`, `64k`, `64KiB`, `1.5G`, `2GB` (K/M/G/T are powers of
/// 1024, as in cgroup files and `docker --memory`). Returns `None` when not a size.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let v: f64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return None,
    };
    let b = v * mult as f64;
    (b.is_finite() && b >= 0.0 && b < u64::MAX as f64).then_some(b as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iec_formats() {
        assert_eq!(iec(0), "0 B");
        assert_eq!(iec(1023), "1023 B");
        assert_eq!(iec(1536), "1.50 KiB");
        assert_eq!(iec(64 << 20), "64.0 MiB");
        assert_eq!(iec(512 << 20), "512 MiB");
        assert_eq!(iec((1 << 30) * 21 / 10), "2.10 GiB");
        assert_eq!(iec(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("64k"), Some(65536));
        assert_eq!(parse_size("1.5G"), Some(1610612736));
        assert_eq!(parse_size("12 MiB"), Some(12 << 20));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size("5 parsecs"), None);
    }
}
