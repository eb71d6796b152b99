//! Units for people: IEC sizes (KiB, MiB, GiB), as `free -h` and `pmap` readers expect.

/// Format a byte count with IEC units: `512 B`, `1.50 KiB`, `64.0 MiB`, `512 MiB`, `2.10 GiB`.
/// Three significant digits (rounded half up), never scientific notation.
pub fn iec(bytes: u64) -> String {
    let mut buf = [0u8; 24];
    iec_buf(bytes, &mut buf).to_string()
}

/// [`iec`] into a caller's buffer, without allocating (for tables of many thousands of rows).
pub fn iec_buf(bytes: u64, buf: &mut [u8; 24]) -> &str {
    let n = {
        let mut w = Fixed { buf, len: 0 };
        iec_push(bytes, &mut w);
        w.len
    };
    std::str::from_utf8(&buf[..n]).unwrap_or("?")
}

/// Append [`iec`] of `bytes` to `out` (no allocation beyond `out`'s growth).
pub fn iec_push(bytes: u64, out: &mut impl Push) {
    const UNITS: [&[u8]; 7] = [b"B", b"KiB", b"MiB", b"GiB", b"TiB", b"PiB", b"EiB"];
    let x = bytes as u128;
    if bytes < 1024 {
        push_u64(out, bytes);
        out.push_bytes(b" B");
        return;
    }
    let mut u = 1;
    let mut div: u128 = 1024;
    while u < UNITS.len() - 1 && x >= div * 1024 {
        div *= 1024;
        u += 1;
    }
    let hundredths = ((x * 100 + div / 2) / div) as u64;
    if hundredths >= 9995 {
        push_u64(out, ((x + div / 2) / div) as u64);
    } else if hundredths >= 1000 {
        let tenths = ((x * 10 + div / 2) / div) as u64;
        push_u64(out, tenths / 10);
        out.push_bytes(b".");
        push_u64(out, tenths % 10);
    } else {
        push_u64(out, hundredths / 100);
        out.push_bytes(b".");
        let h = hundredths % 100;
        out.push_bytes(&[b'0' + (h / 10) as u8, b'0' + (h % 10) as u8]);
    }
    out.push_bytes(b" ");
    out.push_bytes(UNITS[u]);
}

/// Something bytes can be appended to.
pub trait Push {
    /// Append `b` to the end.
    fn push_bytes(&mut self, b: &[u8]);
}

impl Push for Vec<u8> {
    fn push_bytes(&mut self, b: &[u8]) {
        self.extend_from_slice(b);
    }
}

struct Fixed<'a> {
    buf: &'a mut [u8; 24],
    len: usize,
}

impl Push for Fixed<'_> {
    fn push_bytes(&mut self, b: &[u8]) {
        let n = b.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&b[..n]);
        self.len += n;
    }
}

/// Append the decimal digits of `v`.
pub fn push_u64(out: &mut impl Push, mut v: u64) {
    let mut d = [0u8; 20];
    let mut i = d.len();
    loop {
        i -= 1;
        d[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.push_bytes(&d[i..]);
}

/// Append the lower-case hex digits of `v`, zero-padded to at least `min` digits.
pub fn push_hex(out: &mut impl Push, mut v: u64, min: usize) {
    let mut d = [0u8; 16];
    let mut i = d.len();
    loop {
        i -= 1;
        d[i] = b"0123456789abcdef"[(v & 15) as usize];
        v >>= 4;
        if v == 0 && d.len() - i >= min {
            break;
        }
    }
    out.push_bytes(&d[i..]);
}

/// Whole MiB, rounded up: how a size to configure (a request, a limit) is written in tables and
/// `--emit` snippets alike.
pub fn mib_up(b: u64) -> u64 {
    b.div_ceil(1 << 20)
}

/// A duration in seconds for people: `45 s`, `12 min`, `3.5 h`, `2.1 d`.
pub fn duration(s: f64) -> String {
    if s >= 2.0 * 86400.0 {
        format!("{:.1} d", s / 86400.0)
    } else if s >= 7200.0 {
        format!("{:.1} h", s / 3600.0)
    } else if s >= 120.0 {
        format!("{:.0} min", s / 60.0)
    } else if s > 0.0 && s < 0.95 {
        // Sub-second windows of a fast recording: "0 s" would read as nothing.
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_for_people() {
        assert_eq!(super::duration(45.0), "45 s");
        assert_eq!(super::duration(0.5), "0.5 s");
        assert_eq!(super::duration(0.0), "0 s");
        assert_eq!(super::duration(720.0), "12 min");
        assert_eq!(super::duration(3.5 * 3600.0), "3.5 h");
        assert_eq!(super::duration(2.1 * 86400.0), "2.1 d");
    }

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
}
