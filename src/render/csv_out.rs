//! CSV output: the report's tables with raw values (integer bytes, empty for unknown).

use std::io::{self, Write};

use super::{Cell, Table};

fn value(c: &Cell) -> String {
    match c {
        Cell::Text(s) | Cell::Elide { text: s, .. } => s.clone(),
        Cell::Bytes(b) | Cell::Quantity(b) => b.map(|v| v.to_string()).unwrap_or_default(),
        Cell::Int(v) => v.map(|v| v.to_string()).unwrap_or_default(),
        Cell::Pct(p) => p.map(|v| format!("{v:.2}")).unwrap_or_default(),
        Cell::State(s) => s.as_str().to_string(),
        Cell::Limit(b) => b.map(|v| v.to_string()).unwrap_or_else(|| "max".into()),
    }
}

/// Write each table as CSV with a header row of column keys; tables separated by an empty line.
pub fn write(tables: &[Table], out: &mut dyn Write) -> io::Result<()> {
    for (i, t) in tables.iter().filter(|t| !t.columns.is_empty()).enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let mut w = csv::Writer::from_writer(&mut *out);
        w.write_record(t.columns.iter().map(|c| c.key))?;
        for row in &t.rows {
            w.write_record(row.iter().map(value))?;
        }
        w.flush()?;
    }
    Ok(())
}
