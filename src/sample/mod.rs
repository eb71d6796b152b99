//! Readers of kernel memory accounting: processes (`/proc/PID/*`), smaps, memory cgroups (v1,
//! v2, hybrid) and the host. Every reader takes a root directory so it can run on fixture trees.

pub mod cgroup;
pub mod files;
pub mod host;
pub mod kept;
pub mod pidfiles;
pub mod process;
pub mod smaps;
pub mod snapshot;
pub mod stat;
