//! `clw-diag leaks` and `profile` output: the stacks holding outstanding bytes, the top one's
//! frames, and folded stacks for flame graphs.

use super::units::iec;
use super::{col, one_line, Cell, Keep, Report, Table};
use crate::heap::profile::HeapProfile;

impl HeapProfile {
    fn what(&self) -> String {
        let name = if self.command.is_empty() {
            one_line(&self.args)
        } else {
            one_line(&self.command)
        };
        match &self.workload {
            Some(w) => format!("{name} (pid {}, {w})", self.pid),
            None => format!("{name} (pid {})", self.pid),
        }
    }

    fn sampling(&self) -> String {
        if self.sample_bytes <= 1 {
            "every allocation recorded".to_string()
        } else {
            format!(
                "sampled every {} on average: figures are estimates ± their 95 % interval",
                iec(self.sample_bytes)
            )
        }
    }
}

impl Report for HeapProfile {
    fn tables(&self) -> Vec<Table> {
        let exact = self.sample_bytes <= 1;
        let mut t = Table {
            title: Some(format!(
                "Outstanding since attach in {}: {}{} in {} allocations, {} stacks, traced {:.1} s",
                self.what(),
                iec(self.outstanding_bytes),
                if exact {
                    String::new()
                } else {
                    format!(" ± {}", iec(self.outstanding_bytes_error))
                },
                self.outstanding_allocations,
                self.stacks_total,
                self.traced_s
            )),
            columns: vec![
                col("Bytes", "bytes"),
                col("±95%", "bytes_error").shed(2),
                col("Allocs", "allocations"),
                col("First", "first_s").shed(3),
                col("Last", "last_s").shed(3),
                col("Stack (innermost first)", "functions"),
            ],
            ..Default::default()
        };
        if exact {
            t.columns.remove(1);
        }
        for s in &self.stacks {
            let mut stack = s.functions.join(" < ");
            if s.truncated.is_some() {
                stack.push_str(" < [truncated]");
            }
            let mut row = vec![
                Cell::Bytes(Some(s.bytes)),
                Cell::Bytes(Some(s.bytes_error)),
                Cell::Int(Some(s.allocations as i64)),
                Cell::text(format!("{:.1}", s.first_s)),
                Cell::text(format!("{:.1}", s.last_s)),
                Cell::Elide {
                    text: stack,
                    keep: Keep::Start,
                    max: 200,
                },
            ];
            if exact {
                row.remove(1);
            }
            t.rows.push(row);
        }
        t.notes.push(format!(
            "{}; first and last: seconds since attach; {} allocator calls and {} frees seen; \
             stacks by {} ({})",
            self.sampling(),
            self.calls,
            self.frees,
            match self.unwind {
                crate::heap::profile::Unwind::Fp => "frame pointers",
                _ => "CFI",
            },
            self.unwind_why
        ));
        if self.stacks.len() < self.stacks_total {
            t.notes.push(format!(
                "{} more stacks not shown (--top 0 shows all)",
                self.stacks_total - self.stacks.len()
            ));
        }
        if let Some(s) = &self.exit_status {
            t.notes.push(format!("the command ended: {s}"));
        }
        t.notes.extend(self.warnings.iter().cloned());
        let mut out = vec![t];
        if let Some(top) = self.stacks.first() {
            let mut f = Table {
                title: Some(format!(
                    "Top stack: {}{} in {} allocations",
                    iec(top.bytes),
                    if exact {
                        String::new()
                    } else {
                        format!(" ± {}", iec(top.bytes_error))
                    },
                    top.allocations
                )),
                columns: vec![
                    col("#", "index"),
                    col("Function", "function"),
                    col("Source", "source"),
                    col("Module", "module").shed(1),
                ],
                ..Default::default()
            };
            for fr in &top.frames {
                let src = match (&fr.file, fr.line) {
                    (Some(file), Some(l)) => format!("{file}:{l}"),
                    _ => String::new(),
                };
                f.rows.push(vec![
                    Cell::Int(Some(fr.index as i64)),
                    Cell::Elide {
                        text: format!(
                            "{}{}",
                            fr.function
                                .clone()
                                .unwrap_or_else(|| format!("{:#x}", fr.pc)),
                            if fr.inline { " (inlined)" } else { "" }
                        ),
                        keep: Keep::Start,
                        max: 60,
                    },
                    Cell::path(&src, 40),
                    Cell::path(fr.module.as_deref().unwrap_or(""), 30),
                ]);
            }
            if let Some(w) = &top.truncated {
                f.notes.push(format!("the stack is truncated: {w}"));
            }
            out.push(f);
        }
        out
    }

    fn folded(&self) -> Option<Vec<String>> {
        Some(
            self.stacks
                .iter()
                .map(|s| format!("{} {}", one_line(&s.folded), s.bytes))
                .collect(),
        )
    }
}
