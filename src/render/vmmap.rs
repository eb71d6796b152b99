//! Tables of `vmmap`: per-mapping rows (like `pmap -X`) and per-category totals.

use super::units::iec;
use super::{col, one_line, Cell, Report, Table};
use crate::analysis::vmmap::{Category, Totals, VmmapReport};

fn totals_cells(t: &Totals) -> Vec<Cell> {
    vec![
        Cell::Bytes(Some(t.virtual_bytes)),
        Cell::Bytes(Some(t.rss_bytes)),
        Cell::Bytes(Some(t.pss_bytes)),
        Cell::Bytes(Some(t.uss_bytes)),
        Cell::Bytes(Some(t.dirty_bytes)),
        Cell::Bytes(Some(t.swap_bytes)),
        Cell::Int(Some(t.mappings as i64)),
    ]
}

impl Report for VmmapReport {
    fn tables(&self) -> Vec<Table> {
        let mut out = Vec::new();
        if let Some(rows) = &self.mappings {
            out.push(Table {
                title: Some(format!("{}:   {}", self.pid, one_line(&self.command))),
                columns: vec![
                    col("ADDRESS", "start"),
                    col("PERM", "perms"),
                    col("OFFSET", "offset"),
                    col("DEVICE", "device"),
                    col("INODE", "inode"),
                    col("VIRTUAL", "virtual_bytes"),
                    col("RSS", "rss_bytes"),
                    col("PSS", "pss_bytes"),
                    col("USS", "uss_bytes"),
                    col("DIRTY", "dirty_bytes"),
                    col("SWAP", "swap_bytes"),
                    col("CATEGORY", "category"),
                    col("MAPPING", "mapping"),
                ],
                rows: rows
                    .iter()
                    .map(|r| {
                        vec![
                            Cell::text(&r.start),
                            Cell::text(&r.perms),
                            Cell::text(format!("{:08x}", r.offset)),
                            Cell::text(&r.device),
                            Cell::text(r.inode.to_string()),
                            Cell::Bytes(Some(r.virtual_bytes)),
                            Cell::Bytes(Some(r.rss_bytes)),
                            Cell::Bytes(Some(r.pss_bytes)),
                            Cell::Bytes(Some(r.uss_bytes)),
                            Cell::Bytes(Some(r.dirty_bytes)),
                            Cell::Bytes(Some(r.swap_bytes)),
                            Cell::text(r.category.key()),
                            Cell::text(one_line(&r.mapping)),
                        ]
                    })
                    .collect(),
                notes: Vec::new(),
            });
        }
        let mut rows: Vec<Vec<Cell>> = self
            .categories
            .iter()
            .filter(|c| c.totals.mappings > 0)
            .map(|c| {
                let mut r = vec![Cell::text(c.label)];
                r.extend(totals_cells(&c.totals));
                r
            })
            .collect();
        let mut total = vec![Cell::text("TOTAL")];
        total.extend(totals_cells(&self.totals));
        rows.push(total);
        let none = || Cell::Bytes(None);
        rows.push(vec![
            Cell::text("page tables (VmPTE, not in RSS)"),
            none(),
            Cell::Bytes(self.page_tables_bytes),
            none(),
            none(),
            none(),
            none(),
            Cell::Int(None),
        ]);
        rows.push(vec![
            Cell::text("swap (all categories)"),
            none(),
            none(),
            none(),
            none(),
            none(),
            Cell::Bytes(Some(self.totals.swap_bytes)),
            Cell::Int(None),
        ]);
        let mut notes = Vec::new();
        match self.rollup_rss_bytes {
            Some(r) => {
                let d = self.totals.rss_bytes as i128 - r as i128;
                notes.push(format!(
                    "check: smaps_rollup read after this pass says Rss {} ({} {}), Pss {}",
                    iec(r),
                    if d == 0 {
                        "matches".to_string()
                    } else {
                        format!("differs by {d} bytes")
                    },
                    if d == 0 {
                        "the sum above"
                    } else {
                        "from the sum above: the process changed between reads"
                    },
                    self.rollup_pss_bytes.map(iec).unwrap_or_else(|| "-".into())
                ));
            }
            None => notes.push("check: smaps_rollup not available".into()),
        }
        if self
            .categories
            .iter()
            .any(|c| c.category == Category::ThreadStacks && c.totals.mappings > 0)
        {
            notes.push("thread stacks: anonymous rw-p mappings directly above a PROT_NONE guard (glibc's layout)".into());
        }
        out.push(Table {
            title: Some(format!(
                "{} ({})   {}",
                self.pid,
                one_line(&self.name),
                one_line(&self.command)
            )),
            columns: vec![
                col("CATEGORY", "category"),
                col("VIRTUAL", "virtual_bytes"),
                col("RSS", "rss_bytes"),
                col("PSS", "pss_bytes"),
                col("USS", "uss_bytes"),
                col("DIRTY", "dirty_bytes"),
                col("SWAP", "swap_bytes"),
                col("MAPPINGS", "mappings"),
            ],
            rows,
            notes,
        });
        out
    }
}
