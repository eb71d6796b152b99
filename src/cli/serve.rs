//! `clw-diag serve`.

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;

use clap::Args;
use clw_diag::serve::collect::ScrapeConfig;
use clw_diag::serve::server::{bind, nofile_limit, serve, Limits, Note};

use super::{GlobalArgs, Output};

/// Default port, in the exporters' range 9100–9999.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9477";

pub const LONG_ABOUT: &str = "\
Serve memory metrics for Prometheus at /metrics: the host (/proc/meminfo, PSI, OOM kills), every \
memory cgroup with a limit of its own (usage, working set as kubelet computes it, limit, peak, \
rss/cache, OOM-kill and limit-hit counters, PSI on cgroup v2) and the top processes by RSS \
(RSS, swap, oom_score_adj), labelled by cgroup path and by pid and comm.

Every cgroup series also carries cAdvisor's labels id (the cgroup path), namespace, pod, \
container, image and name (empty when unknown), from the runtime and kubelet files under \
--host-root (Docker's config.v2.json, containerd and CRI-O bundles, podman's containers.json, \
/var/log/containers), so dashboards and queries written for cAdvisor join unchanged; \
clw_cgroup_identity_info adds runtime, compose project and service, unit and resolved. Names \
are cached across scrapes until their file changes; a container nothing names is retried \
after 30 s.

The Prometheus text format 0.0.4 is the default; OpenMetrics 1.0.0 when the Accept header asks \
for it (Prometheus does). A scrape reads /proc/PID/statm of every process but keeps only the \
--top largest, and never reads smaps (smaps_rollup of the top processes only with --pss), so its \
cost stays bounded on a sick machine. / is an index page and /healthz answers \"ok\". Metric \
names are listed in docs/metrics.md. Stops cleanly on SIGTERM or Ctrl-C.

One thread serves every connection, within bounds no client can push it past: at most \
--max-connections at once (when full, the connection that has waited longest for a request is \
closed to make room; 503 only when all are being answered), a request head within 5 s of \
connecting and the next within 30 s of a response, heads of at most 16 KiB and 64 headers \
(431 past that). If the listening socket fails for good, serve exits with 2 so that a \
supervisor restarts it.";

pub const AFTER_HELP: &str = "\
Examples:
  clw-diag serve                                 http://127.0.0.1:9477/metrics
  clw-diag serve --listen 0.0.0.0:9477 --top 50  on every interface, 50 processes
  clw-diag serve --max-connections 64            hold at most 64 clients at once
  clw-diag serve --cgroup /system.slice          also a cgroup without a limit of its own
  clw-diag --host-root /host serve               name containers from the node's files under /host
  curl -s localhost:9477/metrics | grep clw_cgroup_memory_working_set_bytes";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (9477 by default; use 0.0.0.0:PORT for every interface).
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_LISTEN, value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// Per-process series for this many processes, the largest by RSS.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u16).range(0..=10000))]
    pub top: u16,
    /// Also read smaps_rollup of the top processes for clw_process_pss_bytes (walks their page
    /// tables under their mmap lock on every scrape).
    #[arg(long)]
    pub pss: bool,
    /// Also export this memory cgroup (those with a limit of their own always are). Repeatable.
    #[arg(long, value_name = "PATH")]
    pub cgroup: Vec<String>,
    /// Connections held at once [default: min(256, open-file limit / 2 - 16)].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub max_connections: Option<u32>,
}

fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    let mut addrs = s
        .to_socket_addrs()
        .map_err(|e| format!("{s:?} is not an address to listen on (e.g. 127.0.0.1:9477): {e}"))?;
    addrs
        .next()
        .ok_or_else(|| format!("{s:?} resolves to no address"))
}

pub fn run(a: ServeArgs, g: &GlobalArgs, out: &Output) -> anyhow::Result<ExitCode> {
    // The data is the HTTP exposition; stdout carries nothing, so table and json are the same
    // and csv/github are refused before listening.
    let cfg = ScrapeConfig {
        proc_root: g.proc_root.clone(),
        cgroup_root: g.cgroup_root.clone(),
        top: usize::from(a.top),
        pss: a.pss,
        cgroups: a.cgroup.clone(),
        host_root: g.host_root.clone(),
    };
    // Fail at start, with exit 2, on a root that cannot be read at all.
    clw_diag::sample::host::read_host(&cfg.proc_root)?;
    if let Ok(h) = clw_diag::sample::cgroup::MemoryHierarchy::detect(&cfg.cgroup_root) {
        for c in &cfg.cgroups {
            h.resolve(c)?;
        }
    } else if let Some(c) = cfg.cgroups.first() {
        anyhow::bail!(
            "--cgroup {c}: no memory cgroup hierarchy under {}",
            cfg.cgroup_root.display()
        );
    }
    let mut limits = Limits::for_nofile(nofile_limit());
    if let Some(n) = a.max_connections {
        limits.max_connections = n as usize;
    }
    let listener =
        bind(a.listen).map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", a.listen))?;
    let bound = listener
        .local_addr()
        .map_or_else(|_| a.listen.to_string(), |s| s.to_string());
    out.note(&format!(
        "serving http://{bound}/metrics (SIGTERM or Ctrl-C stops)"
    ));
    out.detail(&format!(
        "at most {} connections at once",
        limits.max_connections
    ));
    let stop = super::signals::stop_flag(true)?;
    let log = |kind: Note, m: &str| match kind {
        Note::Server => out.note(m),
        Note::Scrape => out.detail(m),
    };
    serve(listener, &cfg, &limits, &stop, &log)
        .map_err(|e| anyhow::anyhow!("serving on {bound} failed, the listener is gone: {e}"))?;
    out.detail("stopped");
    Ok(ExitCode::SUCCESS)
}
