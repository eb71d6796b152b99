//! Tables of `oom-rank`.

use crate::analysis::oom::OomRank;

use super::{col, Cell, Report, Table};

impl Report for OomRank {
    fn tables(&self) -> Vec<Table> {
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
                vec![
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
                    Cell::text(c.cgroup.clone().unwrap_or_default()),
                ]
            })
            .collect();
        vec![Table {
            title: Some(match &self.cgroup {
                Some(c) => format!("OOM kill order in {c}"),
                None => "OOM kill order (host)".to_string(),
            }),
            columns: vec![
                col("Rank", "rank"),
                col("PID", "pid"),
                col("Name", "name"),
                col("Badness", "badness_bytes"),
                col("Badness (pages)", "badness_pages"),
                col("RSS", "rss_bytes"),
                col("Swap", "swap_bytes"),
                col("Page tables", "page_tables_bytes"),
                col("oom_score_adj", "oom_score_adj"),
                col("oom_score (kernel)", "kernel_oom_score"),
                col("oom_score (computed)", "computed_oom_score"),
                col("Age (s)", "age_s"),
                col("Cgroup", "cgroup"),
            ],
            rows,
            notes,
        }]
    }
}
