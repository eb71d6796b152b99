//! Host-wide memory: `/proc/meminfo` (Documentation/filesystems/proc.rst, "meminfo"), `/proc/pressure/memory`
//! (Documentation/accounting/psi.rst) and the `oom_kill` counter of `/proc/vmstat`
//! (mm/vmstat.c, Linux 4.13+).

use std::path::Path;

use serde::Serialize;
use std::collections::HashMap;

use crate::error::Result;
use crate::sample::files::malformed;
use crate::sample::files::{self, parse_flat_keyed, parse_psi, Psi};

/// Host memory. Sizes in bytes.
#[derive(Debug, Clone, Serialize)]
pub struct HostMemory {
    /// `MemTotal`: usable RAM (physical memory less the kernel's reserved), bytes.
    pub total_bytes: u64,
    /// `MemAvailable` (3.14+): the kernel's estimate of what can be allocated without swapping.
    pub available_bytes: Option<u64>,
    /// `MemTotal − MemAvailable`, as `free` reports "used".
    pub used_bytes: Option<u64>,
    /// `MemFree`: RAM not used at all (neither page cache nor anything else), bytes.
    pub free_bytes: u64,
    /// `Buffers`: block-device page cache (metadata, raw block I/O), bytes.
    pub buffers_bytes: u64,
    /// `Cached`: file page cache, including tmpfs/shmem pages, excluding swap cache, bytes.
    pub cached_bytes: u64,
    /// `Shmem`: shared memory and tmpfs pages (counted in `Cached` too), bytes; `None` when meminfo
    /// has no `Shmem` line (before 2.6.32).
    pub shmem_bytes: Option<u64>,
    /// `SwapTotal`: total swap space, bytes (0 without swap).
    pub swap_total_bytes: u64,
    /// `SwapFree`: unused swap space, bytes.
    pub swap_free_bytes: u64,
    /// `SwapTotal − SwapFree`: swap in use, bytes.
    pub swap_used_bytes: u64,
    /// `/proc/pressure/memory`; `None` when the kernel has no PSI (CONFIG_PSI off or `psi=0`).
    pub psi: Option<Psi>,
    /// Kernel OOM kills since boot, all cgroups (`oom_kill` in `/proc/vmstat`).
    pub oom_kill_count: Option<u64>,
}

impl HostMemory {
    /// used / total, in percent.
    pub fn used_pct(&self) -> Option<f64> {
        let used = self.used_bytes?;
        (self.total_bytes > 0).then(|| used as f64 * 100.0 / self.total_bytes as f64)
    }
}

/// Read host memory from `proc_root` (normally `/proc`).
///
/// Errors: `meminfo` missing, unreadable or malformed ([`crate::Error::Malformed`] naming it); a
/// missing PSI or vmstat file is `None`, a garbled one an error.
pub fn read_host(proc_root: &Path) -> Result<HostMemory> {
    let mi_path = proc_root.join("meminfo");
    let text = files::read_required(&mi_path)?;
    let mi = parse_meminfo(&text, &mi_path)?;
    let need = |k: &str| {
        mi.get(k)
            .copied()
            .ok_or_else(|| malformed(&mi_path, 0, format!("no {k}: line")))
    };
    let (mem_total, mem_free) = (need("MemTotal")?, need("MemFree")?);
    let (buffers, cached) = (need("Buffers")?, need("Cached")?);
    let (swap_total, swap_free) = (need("SwapTotal")?, need("SwapFree")?);
    let mem_available = mi.get("MemAvailable").copied();
    let psi_path = proc_root.join("pressure/memory");
    let psi = match files::read_optional(&psi_path) {
        Ok(Some(t)) => Some(parse_psi(&t, &psi_path)?),
        // Reading PSI fails with EOPNOTSUPP when the kernel was booted with psi=0.
        Ok(None) | Err(crate::Error::Io { .. }) => None,
        Err(e) => return Err(e),
    };
    let vm_path = proc_root.join("vmstat");
    let oom_kill_count = files::read_optional(&vm_path)?
        .map(|t| parse_flat_keyed(&t, &vm_path))
        .transpose()?
        .and_then(|m| m.get("oom_kill").copied());
    Ok(HostMemory {
        total_bytes: mem_total,
        available_bytes: mem_available,
        used_bytes: mem_available.map(|a| mem_total.saturating_sub(a)),
        free_bytes: mem_free,
        buffers_bytes: buffers,
        cached_bytes: cached,
        shmem_bytes: mi.get("Shmem").copied(),
        swap_total_bytes: swap_total,
        swap_free_bytes: swap_free,
        swap_used_bytes: swap_total.saturating_sub(swap_free),
        psi,
        oom_kill_count,
    })
}

/// Parse `/proc/meminfo`: `Key:   N kB` lines (kB become bytes, saturating) and `Key:   N`
/// lines (counts such as `HugePages_Total`, kept as they are).
///
/// Errors: [`crate::Error::Malformed`] naming the first line that is neither.
pub fn parse_meminfo<'t>(text: &'t str, path: &Path) -> Result<HashMap<&'t str, u64>> {
    let mut out = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || {
            malformed(
                path,
                i + 1,
                format!("expected \"Key: N kB\", found {:?}", files::clip(line)),
            )
        };
        let (key, rest) = line.split_once(':').ok_or_else(bad)?;
        let mut it = rest.split_ascii_whitespace();
        let v: u64 = it.next().and_then(|n| n.parse().ok()).ok_or_else(bad)?;
        let v = match (it.next(), it.next()) {
            (Some("kB"), None) => v.saturating_mul(1024),
            (None, None) => v,
            _ => return Err(bad()),
        };
        out.insert(key.trim(), v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_of_the_fixture_and_garbage() {
        let p = Path::new("meminfo");
        let m = parse_meminfo(
            "MemTotal:       24684084 kB\nMemFree:  23684276 kB\nHugePages_Total:       0\n",
            p,
        )
        .unwrap();
        assert_eq!(m["MemTotal"], 24684084 * 1024);
        assert_eq!(m["HugePages_Total"], 0);
        for bad in [
            "MemTotal 1 kB",
            "MemTotal: x kB",
            "MemTotal: 1 MB",
            "\u{ff}",
        ] {
            let e = parse_meminfo(bad, p).unwrap_err().to_string();
            assert!(e.starts_with("meminfo:1"), "{e}");
        }
        let real = read_host(Path::new("/proc")).unwrap();
        assert!(real.total_bytes > 0 && real.free_bytes <= real.total_bytes);
    }
}
