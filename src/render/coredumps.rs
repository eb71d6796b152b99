//! The table of `coredumps`: one row per stored crash, newest first, like `coredumpctl list`
//! (time, pid, uid, signal, command, compression, size, unit, file). Long cells are elided,
//! never wrapped; the unit and the file go first when the terminal is narrow.

use super::{col, Cell, Report, Table};
use crate::coredump::store::{Listing, StoredCrash};

fn unit(c: &StoredCrash) -> String {
    c.journal
        .as_ref()
        .and_then(|j| j.unit.clone().or_else(|| j.user_unit.clone()))
        .unwrap_or_else(|| "-".into())
}

impl Report for Listing {
    fn tables(&self) -> Vec<Table> {
        let rows = self
            .crashes
            .iter()
            .map(|c| {
                let (comp, size, file) = match &c.file {
                    Some(f) => (
                        f.compression.as_str().to_string(),
                        Cell::Bytes(Some(f.stored_bytes)),
                        Cell::path(&f.path.to_string_lossy(), 200),
                    ),
                    None => ("-".to_string(), Cell::Bytes(None), Cell::text("(missing)")),
                };
                let truncated = c.journal.as_ref().is_some_and(|j| j.truncated);
                vec![
                    // Whole seconds, as coredumpctl shows them; JSON keeps the µs.
                    Cell::text(crate::base::time::format_rfc3339(
                        c.timestamp_us - c.timestamp_us.rem_euclid(1_000_000),
                    )),
                    Cell::Int(Some(i64::from(c.pid))),
                    Cell::Int(c.uid.map(i64::from)),
                    Cell::text(c.signal_name.clone().unwrap_or_else(|| "-".into())),
                    Cell::command(
                        &match &c.exe {
                            Some(e) => format!("{} ({e})", c.command),
                            None => c.command.clone(),
                        },
                        60,
                    ),
                    Cell::text(if truncated {
                        format!("{comp}, truncated")
                    } else {
                        comp
                    }),
                    size,
                    Cell::path(&unit(c), 48),
                    file,
                ]
            })
            .collect();
        let mut notes = Vec::new();
        for c in &self.crashes {
            if let Some(why) = &c.file_missing {
                notes.push(format!(
                    "pid {} ({}): no core file: {why}",
                    c.pid, c.command
                ));
            }
        }
        notes.extend(self.notes.iter().cloned());
        vec![Table {
            title: None,
            columns: vec![
                col("TIME", "timestamp"),
                col("PID", "pid"),
                col("UID", "uid").shed(3),
                col("SIG", "signal_name"),
                col("COMMAND", "command"),
                col("COMPRESSION", "compression").shed(4),
                col("SIZE", "stored_bytes"),
                col("UNIT", "unit").shed(2),
                col("FILE", "path").shed(1),
            ],
            rows,
            notes,
        }]
    }
}
