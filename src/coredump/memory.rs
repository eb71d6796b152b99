//! What module discovery and the unwinder read of a process, whether it is a core file
//! ([`super::core::Core`]) or a live process ([`super::live`]): its memory, which addresses are
//! executable, its file-backed mappings (the core's `NT_FILE`, or `/proc/PID/maps`) and its
//! auxiliary vector (`NT_AUXV`, or `/proc/PID/auxv`).

use super::notes::FileMapping;

/// A process's address space as the modules and the unwinder see it.
pub trait AddressSpace {
    /// Read `buf.len()` bytes of the process's memory at `addr`; false when any byte cannot be
    /// read (not dumped, unmapped, or the process is gone).
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool;

    /// A little-endian u64 at `addr`, when it can be read.
    fn read_u64(&self, addr: u64) -> Option<u64> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b).then(|| u64::from_le_bytes(b))
    }

    /// Whether `addr` lies in a mapping with execute permission (`PF_X`, `r-xp`).
    fn is_executable(&self, addr: u64) -> bool;

    /// The end (exclusive, bytes) of the readable part of the mapping that holds `addr`:
    /// what can be read from `addr` on without crossing into another mapping.
    fn readable_end(&self, addr: u64) -> Option<u64>;

    /// The file-backed mappings, in address order.
    fn files(&self) -> &[FileMapping];

    /// The value of auxiliary vector entry `key` (`AT_*`, include/uapi/linux/auxvec.h).
    fn aux(&self, key: u64) -> Option<u64>;

    /// What the memory is, for messages: `the core`, `the process's memory`.
    fn kind(&self) -> &'static str {
        "the core"
    }

    /// A path that still opens the file of mapping `m` when its name no longer does (a file
    /// deleted or replaced after it was mapped): `/proc/PID/map_files/START-END` for a live
    /// process; `None` for a core.
    fn mapped_file(&self, m: &FileMapping) -> Option<std::path::PathBuf> {
        let _ = m;
        None
    }
}
