//! `clw-diag oom-rank`.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use clap::Args;
use clw_diag::analysis::oom::{self, Options};
use clw_diag::render;

use super::{GlobalArgs, Output};

pub const LONG_ABOUT: &str = "\
Who the kernel's OOM killer would kill first, and why. The kernel's badness (mm/oom_kill.c \
oom_badness) is recomputed for every process of a memory cgroup subtree (--cgroup: a cgroup \
OOM, when the cgroup or an ancestor hits its limit) or of the host (a global OOM):

  badness = RSS + swap entries + page tables   (pages)
          + oom_score_adj × totalpages / 1000

where totalpages is the limit of the cgroup whose limit is hit (plus the swap it may use) for a \
cgroup OOM, and RAM + swap for a global one. The highest badness is killed first; \
oom_score_adj -1000 is never killed; memory.oom.group (cgroup v2) kills the whole group. \
Badness is shown in bytes and pages beside RSS, swap, page tables and oom_score_adj, and the \
kernel's own /proc/PID/oom_score beside the value recomputed from the same inputs (they differ \
when memory changed between the reads; in a cgroup OOM the order can differ from oom_score's \
because the adjustment is scaled by the cgroup's limit).

Each process is named by the workload of its memory cgroup (namespace/pod/container, compose \
project/service, docker:NAME, a unit), read from the node's runtime and kubelet files under \
--host-root; JSON has the whole identity beside the path.

It flags the failure mode of long-lived parents: the likely first victim is a parent whose \
children inherited its oom_score_adj, so the expendable children survive it; the fix is \
spelled out.";

pub const AFTER_HELP: &str = "\
Examples:
  clw-diag oom-rank --cgroup /kubepods/burstable/pod1234
  clw-diag oom-rank --cgroup /sys/fs/cgroup/memory/system.slice/worker.service --json
  clw-diag oom-rank --cgroup shop/web-5d8f7c9b4-x2x9z      a pod, by namespace/name
  clw-diag oom-rank                      the host, for a global OOM";

#[derive(Debug, Args)]
pub struct OomRankArgs {
    /// Rank the processes of this memory cgroup and its descendants: a path as
    /// /proc/PID/cgroup prints it, a directory under the cgroup mount, or a workload:
    /// ns/pod[/container], project/service, a container name (docker:NAME), an ID prefix (6+
    /// hex), a pod UID, a unit (e.g. labproj/hogsvc).
    #[arg(long, value_name = "PATH|NAME")]
    pub cgroup: Option<String>,
    /// Show this many candidates in the table (JSON and CSV have all).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,
}

pub fn run(a: OomRankArgs, g: &GlobalArgs, out: &Output) -> anyhow::Result<ExitCode> {
    // One table: table, json and csv; refuse github before reading anything.
    let mut r = oom::rank(&Options {
        proc_root: g.proc_root.clone(),
        cgroup_root: g.cgroup_root.clone(),
        cgroup: a.cgroup.clone(),
        host_root: g.host_root.clone(),
    })?;
    if out.format == render::Format::Table && r.candidates.len() > a.top {
        let hidden = r.candidates.len() - a.top;
        r.candidates.truncate(a.top);
        r.notes.push(format!(
            "{hidden} more candidate(s) not shown (--top, or --json for all)"
        ));
    }
    let stdout = std::io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    out.render(&r, None, &mut w)?;
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}
