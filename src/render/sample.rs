//! Tables of `sample`.

use super::{col, one_line, Cell, Keep, Report, Table};
use crate::analysis::pressure::Snapshot;
use crate::identity::Identity;

/// The WORKLOAD cell's text: the identity's label (`ns/pod/container`, `project/service`,
/// `docker:name`, a unit, `… (sandbox)`), else the cgroup path itself.
fn label(id: Option<&Identity>, path: &str) -> String {
    id.and_then(Identity::workload)
        .unwrap_or_else(|| path.to_string())
}

/// The `workload` cell: [`label`] in a table; in CSV the label alone, empty when no workload
/// names the cgroup (the path has its own column there).
fn workload_text(id: Option<&Identity>, path: &str, csv: bool) -> String {
    if csv {
        id.and_then(Identity::workload).unwrap_or_default()
    } else {
        label(id, path)
    }
}

/// CSV keeps its columns where they were before the WORKLOAD column existed (a reader by
/// position still finds `path` first): the table's first-shown `workload` goes last.
fn workload_last(mut t: Table, idx: usize) -> Table {
    let c = t.columns.remove(idx);
    t.columns.push(c);
    for r in &mut t.rows {
        let cell = r.remove(idx);
        r.push(cell);
    }
    t
}

fn workload_cell(text: &str, max: usize) -> Cell {
    Cell::Elide {
        text: one_line(text),
        keep: Keep::End,
        max,
    }
}

/// The CSV table names of [`Snapshot`], in the order of its tables.
const CSV_TABLES: [&str; 3] = ["host", "cgroups", "processes"];

impl Report for Snapshot {
    /// One table: `processes` by default, or `cgroups` or `host`; a section the snapshot does
    /// not have (`--pid` has no host table) writes nothing.
    fn csv_tables(&self, table: Option<&str>) -> std::io::Result<Vec<Table>> {
        let want = table.unwrap_or("processes");
        let all = self.tables_for(true);
        // tables() leaves out the host and cgroup tables when the snapshot has none.
        let present = [
            self.host.is_some(),
            self.cgroup_version.is_some() || !self.cgroups.is_empty(),
            true,
        ];
        let Some(idx) = CSV_TABLES.iter().position(|t| *t == want) else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("sample has no table {want:?} (host, cgroups, processes)"),
            ));
        };
        if !present[idx] {
            return Ok(Vec::new());
        }
        let at = present[..idx].iter().filter(|p| **p).count();
        Ok(all.into_iter().skip(at).take(1).collect())
    }

    fn tables(&self) -> Vec<Table> {
        self.tables_for(false)
    }
}

impl Snapshot {
    /// The tables; `csv` keeps the cgroup path columns always (in a table they appear only
    /// when some workload has a name of its own, and go first when the terminal is narrow).
    fn tables_for(&self, csv: bool) -> Vec<Table> {
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
                    col("USED%", "used_pct").shed(1),
                    col("SWAP USED", "swap_used_bytes").shed(2),
                    col("SWAP TOTAL", "swap_total_bytes").shed(3),
                    col("PSI SOME 10s", "psi_some_avg10_pct"),
                    col("60s", "psi_some_avg60_pct").shed(4),
                    col("300s", "psi_some_avg300_pct").shed(5),
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
                        super::table::elide(
                            &one_line(&label(Some(&c.identity), &c.memory.path)),
                            70,
                            Keep::End
                        ),
                        c.pressure.state.as_str(),
                        c.pressure.reasons.join("; ")
                    ));
                }
            }
            if self.cgroups.is_empty() && self.hidden_cgroups == 0 {
                notes.push("(no cgroup has a memory limit)".into());
            }
            if self.hidden_cgroups > 0 {
                notes.push(format!(
                    "{} pod sandbox/conmon cgroup(s) hidden (--all shows them)",
                    self.hidden_cgroups
                ));
            }
            let paths = csv || self.cgroups.iter().any(|c| c.identity.workload().is_some());
            let mut columns = vec![col("WORKLOAD", "workload")];
            if paths {
                columns.push(col("CGROUP", "path").shed(7));
            }
            columns.extend([
                col("USAGE", "usage_bytes"),
                col("WORKING SET", "working_set_bytes"),
                col("LIMIT", "effective_limit_bytes"),
                col("USAGE%", "usage_pct").shed(6),
                col("WS%", "working_set_pct"),
                col("PEAK", "peak_bytes").shed(4),
                col("ANON", "anon_bytes").shed(3),
                col("FILE", "file_bytes").shed(2),
                col("SWAP", "swap_bytes").shed(5),
                col("OOM KILLS", "oom_kill_count"),
                col("STATE", "state"),
            ]);
            let t = Table {
                title: Some(title),
                columns,
                rows: self
                    .cgroups
                    .iter()
                    .map(|c| {
                        let m = &c.memory;
                        let mut row = vec![workload_cell(
                            &workload_text(Some(&c.identity), &m.path, csv),
                            60,
                        )];
                        if paths {
                            row.push(Cell::path(&m.path, 70));
                        }
                        row.extend([
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
                        ]);
                        row
                    })
                    .collect(),
                notes,
            };
            out.push(if csv { workload_last(t, 0) } else { t });
        }
        let shown = self.processes.len();
        let mut notes = self.notes.clone();
        if self.skipped.vanished > 0 {
            notes.push(format!(
                "{} process(es) exited while being read",
                self.skipped.vanished
            ));
        }
        let memcg = csv
            || self
                .processes
                .iter()
                .any(|p| p.identity.as_ref().and_then(Identity::workload).is_some());
        let mut columns = vec![
            col("PID", "pid"),
            col("NAME", "name"),
            col("RSS", "rss_bytes"),
            col("ANON", "anon_bytes").shed(4),
            col("FILE", "file_bytes").shed(3),
            col("SHMEM", "shmem_bytes").shed(6),
            col("SWAP", "swap_bytes").shed(5),
            col("PSS", "pss_bytes"),
            col("USS", "uss_bytes").shed(1),
            col("OOM_ADJ", "oom_score_adj").shed(2),
            col("WORKLOAD", "workload"),
        ];
        if memcg {
            columns.push(col("MEMCG", "memory_cgroup").shed(7));
        }
        columns.push(col("COMMAND", "command"));
        let t = Table {
            title: Some(if shown < self.processes_total {
                format!("Processes (top {shown} of {})", self.processes_total)
            } else {
                format!("Processes ({shown})")
            }),
            columns,
            rows: self
                .processes
                .iter()
                .map(|p| {
                    let path = p.memory_cgroup.as_deref().unwrap_or("-");
                    let mut row = vec![
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
                        workload_cell(&workload_text(p.identity.as_ref(), path, csv), 40),
                    ];
                    if memcg {
                        row.push(Cell::path(path, 40));
                    }
                    row.push(Cell::command(&p.command, 60));
                    row
                })
                .collect(),
            notes,
        };
        // WORKLOAD is the 11th column (after OOM_ADJ).
        out.push(if csv { workload_last(t, 10) } else { t });
        out
    }
}
