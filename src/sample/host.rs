//! Host-wide memory: `/proc/meminfo` (through the procfs crate), `/proc/pressure/memory`
//! (Documentation/accounting/psi.rst) and the `oom_kill` counter of `/proc/vmstat`
//! (mm/vmstat.c, Linux 4.13+).

use std::path::Path;

use procfs::FromRead;
use serde::Serialize;

use crate::error::Result;
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
    let mi = procfs::Meminfo::from_read(text.as_bytes())
        .map_err(|e| files::malformed(&mi_path, 0, crate::sample::process::parse_error_text(&e)))?;
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
        total_bytes: mi.mem_total,
        available_bytes: mi.mem_available,
        used_bytes: mi.mem_available.map(|a| mi.mem_total.saturating_sub(a)),
        free_bytes: mi.mem_free,
        buffers_bytes: mi.buffers,
        cached_bytes: mi.cached,
        shmem_bytes: mi.shmem,
        swap_total_bytes: mi.swap_total,
        swap_free_bytes: mi.swap_free,
        swap_used_bytes: mi.swap_total.saturating_sub(mi.swap_free),
        psi,
        oom_kill_count,
    })
}
