//! Tables of `sample`.

use super::{col, one_line, Cell, Report, Table};
use crate::analysis::pressure::Snapshot;

/// Keep the first `max` characters (commands: the program name matters most).
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// Keep the last `max` characters (cgroup paths: the leaf names the container).
fn clip_left(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        s.to_string()
    } else {
        let t: String = s.chars().skip(n - (max - 1)).collect();
        format!("…{t}")
    }
}

impl Report for Snapshot {
    fn tables(&self) -> Vec<Table> {
        let mut out = Vec::new();
        if let Some(h) = &self.host {
            let m = &h.memory;
            let psi = m.psi.map(|p| p.some);
            let mut notes = Vec::new();
            if !h.pressure.reasons.is_empty() {
                notes.push(format!(
                    "host {}: {}",
                    h.pressure.state.as_str(),
                    h.pressure.reasons.join("; ")
                ));
            }
            if m.psi.is_none() {
                notes.push(
                    "PSI: not available (kernel without CONFIG_PSI or booted with psi=0)".into(),
                );
            }
            out.push(Table {
                title: Some("Host".into()),
                columns: vec![
                    col("TOTAL", "total_bytes"),
                    col("USED", "used_bytes"),
                    col("AVAILABLE", "available_bytes"),
                    col("USED%", "used_pct"),
                    col("SWAP USED", "swap_used_bytes"),
                    col("SWAP TOTAL", "swap_total_bytes"),
                    col("PSI SOME 10s", "psi_some_avg10_pct"),
                    col("60s", "psi_some_avg60_pct"),
                    col("300s", "psi_some_avg300_pct"),
                    col("OOM KILLS", "oom_kill_count"),
                    col("STATE", "state"),
                ],
                rows: vec![vec![
                    Cell::Bytes(Some(m.total_bytes)),
                    Cell::Bytes(m.used_bytes),
                    Cell::Bytes(m.available_bytes),
                    Cell::Pct(h.used_pct),
                    Cell::Bytes(Some(m.swap_used_bytes)),
                    Cell::Bytes(Some(m.swap_total_bytes)),
                    Cell::Pct(psi.map(|p| p.avg10_pct)),
                    Cell::Pct(psi.map(|p| p.avg60_pct)),
                    Cell::Pct(psi.map(|p| p.avg300_pct)),
                    Cell::Int(m.oom_kill_count.map(|v| v as i64)),
                    Cell::State(h.pressure.state),
                ]],
                notes,
            });
        }
        if self.cgroup_version.is_some() || !self.cgroups.is_empty() {
            let version = self
                .cgroup_version
                .map(|v| v.to_string())
                .unwrap_or_default();
            let title = if self.host.is_some() {
                format!("Memory cgroups with a limit (cgroup {version})")
            } else {
                format!("Memory cgroups (cgroup {version})")
            };
            let mut notes = Vec::new();
            for c in &self.cgroups {
                if !c.pressure.reasons.is_empty() {
                    notes.push(format!(
                        "{} {}: {}",
                        clip_left(&c.memory.path, 70),
                        c.pressure.state.as_str(),
                        c.pressure.reasons.join("; ")
                    ));
                }
            }
            if self.cgroups.is_empty() {
                notes.push("(no cgroup has a memory limit)".into());
            }
            out.push(Table {
                title: Some(title),
                columns: vec![
                    col("CGROUP", "path"),
                    col("USAGE", "usage_bytes"),
                    col("WORKING SET", "working_set_bytes"),
                    col("LIMIT", "effective_limit_bytes"),
                    col("USAGE%", "usage_pct"),
                    col("WS%", "working_set_pct"),
                    col("PEAK", "peak_bytes"),
                    col("ANON", "anon_bytes"),
                    col("FILE", "file_bytes"),
                    col("SWAP", "swap_bytes"),
                    col("OOM KILLS", "oom_kill_count"),
                    col("STATE", "state"),
                ],
                rows: self
                    .cgroups
                    .iter()
                    .map(|c| {
                        let m = &c.memory;
                        vec![
                            Cell::text(clip_left(&one_line(&m.path), 70)),
                            Cell::Bytes(m.usage_bytes),
                            Cell::Bytes(m.working_set_bytes),
                            Cell::Limit(m.effective_limit_bytes),
                            Cell::Pct(c.usage_pct),
                            Cell::Pct(c.working_set_pct),
                            Cell::Bytes(m.peak_bytes),
                            Cell::Bytes(m.anon_bytes),
                            Cell::Bytes(m.file_bytes),
                            Cell::Bytes(m.swap_bytes),
                            Cell::Int(m.oom_kill_count.map(|v| v as i64)),
                            Cell::State(c.pressure.state),
                        ]
                    })
                    .collect(),
                notes,
            });
        }
        let shown = self.processes.len();
        let mut notes = self.notes.clone();
        if self.skipped.vanished > 0 {
            notes.push(format!(
                "{} process(es) exited while being read",
                self.skipped.vanished
            ));
        }
        out.push(Table {
            title: Some(if shown < self.processes_total {
                format!("Processes (top {shown} of {})", self.processes_total)
            } else {
                format!("Processes ({shown})")
            }),
            columns: vec![
                col("PID", "pid"),
                col("NAME", "name"),
                col("RSS", "rss_bytes"),
                col("ANON", "anon_bytes"),
                col("FILE", "file_bytes"),
                col("SHMEM", "shmem_bytes"),
                col("SWAP", "swap_bytes"),
                col("PSS", "pss_bytes"),
                col("USS", "uss_bytes"),
                col("OOM_ADJ", "oom_score_adj"),
                col("MEMCG", "memory_cgroup"),
                col("COMMAND", "command"),
            ],
            rows: self
                .processes
                .iter()
                .map(|p| {
                    vec![
                        Cell::Int(Some(p.pid as i64)),
                        Cell::text(one_line(&p.name)),
                        Cell::Bytes(p.rss_bytes),
                        Cell::Bytes(p.anon_bytes),
                        Cell::Bytes(p.file_bytes),
                        Cell::Bytes(p.shmem_bytes),
                        Cell::Bytes(p.swap_bytes),
                        Cell::Bytes(p.rollup.pss_bytes),
                        Cell::Bytes(p.rollup.uss_bytes),
                        Cell::Int(p.oom_score_adj.map(i64::from)),
                        Cell::text(clip_left(p.memory_cgroup.as_deref().unwrap_or("-"), 40)),
                        Cell::text(clip(&one_line(&p.command), 60)),
                    ]
                })
                .collect(),
            notes,
        });
        out
    }
}
