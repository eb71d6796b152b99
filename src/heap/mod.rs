//! Heap profiling of live processes (issue 17, `clw-diag leaks PID` / `profile -- CMD`): so far
//! only where to place the allocator probes ([`probe`]). The BPF loader, the sampling and the
//! outstanding-allocation accounting are not built yet.

pub mod bpf;
pub mod launch;
pub mod probe;
pub mod profile;
pub mod stacks;
pub mod targets;
