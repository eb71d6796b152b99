//! Tables of `vmmap`: per-mapping rows (like `pmap -X`) and per-category totals.

use super::units::iec;
use std::io::{self, Write};

use super::rows::RowWriter;
use super::{col, one_line, Cell, Format, Report, Table};
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
    fn write_rows(&self, format: Format, out: &mut dyn Write) -> io::Result<()> {
        let Some(rows) = &self.mappings else {
            return Ok(());
        };
        let mut w = RowWriter::begin(out, format, &format!("{}:   {}", self.pid, self.command))?;
        for r in rows {
            w.row(&r.map_strings(String::as_str))?;
        }
        // An empty line separates the rows from the summary; in CSV the rows are the table.
        if format == Format::Table {
            writeln!(out)?;
        }
        Ok(())
    }

    /// One CSV is one table: the mappings with `--mappings` (table `mappings`, written by
    /// [`Report::write_rows`] or streamed), else the categories.
    fn csv_tables(&self, table: Option<&str>) -> io::Result<Vec<Table>> {
        Ok(match table {
            Some("mappings") => Vec::new(),
            _ => self.tables(),
        })
    }

    fn tables(&self) -> Vec<Table> {
        let mut out = Vec::new();
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
        // A partial read is marked where the eye goes: the TOTAL row.
        let mut total = vec![Cell::text(if self.partial {
            "TOTAL (partial: process exited mid-read)"
        } else {
            "TOTAL"
        })];
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
        if let Some(why) = &self.partial_reason {
            notes.push(format!(
                "partial: {why}; the figures cover the {} mapping(s) read before that",
                self.totals.mappings
            ));
        }
        if let (Some(e), false) = (&self.rollup_error, self.partial) {
            notes.push(format!("verify: smaps_rollup could not be read: {e}"));
        }
        if let Some(r) = self.rollup_rss_bytes {
            let d = self.totals.rss_bytes as i128 - r as i128;
            let verdict = if d == 0 {
                "matches the sum above".to_string()
            } else {
                format!(
                    "differs from the sum above by {d} bytes: the process changed between reads"
                )
            };
            let pss = self.rollup_pss_bytes.map(iec).unwrap_or_else(|| "-".into());
            notes.push(format!(
                "verify: smaps_rollup read after this pass says Rss {} ({verdict}), Pss {pss}",
                iec(r)
            ));
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
