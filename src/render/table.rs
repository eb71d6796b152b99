//! Table output for people (comfy-table).

use std::io::{self, Write};

use comfy_table::{presets, CellAlignment, Color, ContentArrangement};

use super::units::iec;
use super::{Cell, Style, Table};
use crate::analysis::pressure::PressureState;

fn cell(c: &Cell, style: Style) -> comfy_table::Cell {
    let right = |s: String| comfy_table::Cell::new(s).set_alignment(CellAlignment::Right);
    match c {
        Cell::Text(s) => comfy_table::Cell::new(s),
        Cell::Bytes(Some(b)) => right(iec(*b)),
        Cell::Quantity(Some(b)) => right(format!("{} MiB", super::units::mib_up(*b))),
        Cell::Bytes(None) | Cell::Int(None) | Cell::Pct(None) | Cell::Quantity(None) => {
            right("-".into())
        }
        Cell::Limit(Some(b)) => right(iec(*b)),
        Cell::Limit(None) => right("unlimited".into()),
        Cell::Int(Some(v)) => right(v.to_string()),
        Cell::Pct(Some(p)) => right(format!("{p:.1}%")),
        Cell::State(s) => {
            let c = comfy_table::Cell::new(s.as_str());
            if !style.color {
                return c;
            }
            match s {
                PressureState::Ok => c.fg(Color::Green),
                PressureState::Warning => c.fg(Color::Yellow),
                PressureState::Critical => c.fg(Color::Red),
            }
        }
    }
}

/// Write tables, each under its title, notes after it, separated by blank lines.
pub fn write(tables: &[Table], style: Style, out: &mut dyn Write) -> io::Result<()> {
    for (i, t) in tables.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        if let Some(title) = &t.title {
            writeln!(out, "{title}")?;
        }
        if !t.rows.is_empty() {
            let mut ct = comfy_table::Table::new();
            ct.load_preset(presets::NOTHING);
            if style.color {
                ct.enforce_styling();
            } else {
                ct.force_no_tty();
            }
            match style.width {
                Some(w) => {
                    ct.set_content_arrangement(ContentArrangement::Dynamic);
                    ct.set_width(w);
                }
                None => {
                    ct.set_content_arrangement(ContentArrangement::Disabled);
                }
            }
            ct.set_header(t.columns.iter().map(|c| {
                let h = comfy_table::Cell::new(c.title);
                if style.color {
                    h.add_attribute(comfy_table::Attribute::Bold)
                } else {
                    h
                }
            }));
            for row in &t.rows {
                ct.add_row(row.iter().map(|c| cell(c, style)));
            }
            // Right-align numeric columns' headers too.
            for (idx, c) in t.rows[0].iter().enumerate() {
                if !matches!(c, Cell::Text(_) | Cell::State(_)) {
                    if let Some(column) = ct.column_mut(idx) {
                        column.set_cell_alignment(CellAlignment::Right);
                    }
                }
            }
            for line in ct.lines() {
                writeln!(out, "{}", line.trim_end())?;
            }
        }
        for n in &t.notes {
            writeln!(out, "{n}")?;
        }
    }
    Ok(())
}
