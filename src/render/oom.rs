//! Tables of `oom-rank`.

use crate::analysis::oom::OomRank;
use crate::identity::Identity;

use super::{col, Cell, Keep, Report, Table};

impl Report for OomRank {
    fn tables(&self) -> Vec<Table> {
        self.tables_for(false)
    }

    fn csv_tables(&self, _table: Option<&str>) -> std::io::Result<Vec<Table>> {
        Ok(self.tables_for(true))
    }
}

impl OomRank {
    /// The table; the Cgroup column (the path) is there in CSV always, in a table only when
    /// some process's workload has a name of its own (and it goes first when narrow).
    fn tables_for(&self, csv: bool) -> Vec<Table> {
        let paths = csv
            || self
                .candidates
                .iter()
                .any(|c| c.identity.as_ref().and_then(Identity::workload).is_some());
        let mut notes = Vec::new();
        match (&self.oom_domain, self.limit_bytes) {
            (Some(d), Some(l)) => notes.push(format!(
                "OOM domain: {d} (limit {}), totalpages {}",
                super::units::iec(l),
                self.totalpages
            )),
            _ => notes.push(format!(
                "global OOM: totalpages {} (RAM + swap)",
                self.totalpages
            )),
        }
        if let Some(g) = &self.oom_group {
            notes.push(format!(
                "memory.oom.group is set on {g}: the kernel kills every process of that cgroup \
                 together with the victim"
            ));
        }
        if self.vanished > 0 {
            notes.push(format!(
                "{} process(es) exited while being read",
                self.vanished
            ));
        }
        notes.extend(self.warnings.iter().map(|w| format!("warning: {w}")));
        notes.extend(self.notes.iter().map(|n| format!("note: {n}")));
        let rows = self
            .candidates
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let path = c.cgroup.clone().unwrap_or_default();
                let workload = c
                    .identity
                    .as_ref()
                    .and_then(Identity::workload)
                    .unwrap_or_else(|| if csv { String::new() } else { path.clone() });
                let mut row = vec![
                    Cell::Text(if c.unkillable {
                        "never".into()
                    } else {
                        (i + 1).to_string()
                    }),
                    Cell::Int(Some(i64::from(c.pid))),
                    Cell::text(super::one_line(&c.name)),
                    Cell::Bytes(c.badness_bytes.map(|b| b.max(0) as u64)),
                    Cell::Int(c.badness_pages),
                    Cell::Bytes(Some(c.rss_bytes)),
                    Cell::Bytes(Some(c.swap_bytes)),
                    Cell::Bytes(Some(c.page_tables_bytes)),
                    Cell::Int(Some(i64::from(c.oom_score_adj))),
                    Cell::Int(c.kernel_oom_score),
                    Cell::Int(Some(c.computed_oom_score)),
                    Cell::Int(c.age_s.map(|a| a as i64)),
                    Cell::Elide {
                        text: super::one_line(&workload),
                        keep: Keep::End,
                        max: 60,
                    },
                ];
                if paths {
                    row.push(Cell::path(&path, 70));
                }
                row
            })
            .collect();
        let mut columns = vec![
            col("Rank", "rank"),
            col("PID", "pid"),
            col("Name", "name"),
            col("Badness", "badness_bytes"),
            col("Badness (pages)", "badness_pages").shed(3),
            col("RSS", "rss_bytes"),
            col("Swap", "swap_bytes").shed(2),
            col("Page tables", "page_tables_bytes").shed(4),
            col("oom_score_adj", "oom_score_adj"),
            col("oom_score (kernel)", "kernel_oom_score").shed(6),
            col("oom_score (computed)", "computed_oom_score").shed(5),
            col("Age (s)", "age_s").shed(1),
            col("Workload", "workload"),
        ];
        if paths {
            columns.push(col("Cgroup", "cgroup").shed(7));
        }
        let mut t = Table {
            title: Some(
                match (
                    &self.cgroup,
                    self.identity.as_ref().and_then(Identity::workload),
                ) {
                    (Some(c), Some(w)) => {
                        format!("OOM kill order in {} ({c})", super::one_line(&w))
                    }
                    (Some(c), None) => format!("OOM kill order in {c}"),
                    (None, _) => "OOM kill order (host)".to_string(),
                },
            ),
            columns,
            rows,
            notes,
        };
        if csv {
            // CSV keeps `cgroup` where it was before the workload column: `workload` last.
            let w = t.columns.remove(12);
            t.columns.insert(13, w);
            for r in &mut t.rows {
                let c = r.remove(12);
                r.insert(13, c);
            }
        }
        vec![t]
    }
}
