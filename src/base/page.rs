//! This machine's page size, from `sysconf(_SC_PAGESIZE)` (POSIX; 4 KiB on x86-64, 4, 16 or
//! 64 KiB on arm64 and ppc64le), read once and cached.
//!
//! Use it only for counts this kernel gives in pages: `/proc/PID/statm`, the OOM killer's page
//! arithmetic. A copied tree (`--proc-root` of a sosreport) was counted in the capturing
//! machine's pages: when it came from a machine with another page size, those figures are off
//! by that ratio (there is no override; the kernel log's OOM report carries its own, see
//! `triage`).

use std::sync::OnceLock;

/// The page size assumed when `sysconf` fails (it does not on Linux): 4096 bytes.
pub const FALLBACK: u64 = 4096;

/// Bytes per page of this machine (cached after the first call).
pub fn size() -> u64 {
    static SIZE: OnceLock<u64> = OnceLock::new();
    *SIZE.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        u64::try_from(p).ok().filter(|&p| p > 0).unwrap_or(FALLBACK)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn page_size_matches_getconf() {
        let s = super::size();
        assert!(s.is_power_of_two() && s >= 4096, "{s}");
        // The oracle: getconf(1) asks the same libc.
        if let Ok(o) = std::process::Command::new("getconf")
            .arg("PAGESIZE")
            .output()
        {
            let t = String::from_utf8_lossy(&o.stdout);
            assert_eq!(t.trim().parse::<u64>().unwrap(), s);
        }
        assert_eq!(super::size(), s);
    }
}
