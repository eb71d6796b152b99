//! The render layer: a command returns a [`Report`] (a `Serialize` model that can also lay
//! itself out as tables), and the output format is chosen here, once.
//!
//! - `table`: comfy-table, IEC units (KiB, MiB, GiB), `-` for unknown, colour only when asked.
//! - `json`: the model itself via serde; integer bytes, units in field names, `null` for unknown.
//!   This is the stable contract documented in `docs/json.md`.
//! - `csv`: one table per stream (one header row, raw integers, bytes): a report with several
//!   tables says which one in [`Report::csv_tables`] (`sample --table`); older reports with
//!   several tables still separate them by an empty line until they choose.
//!
//! Notes (the lines under a table) are for people: with [`Style::notes_apart`] the caller shows
//! them itself (the CLI puts them on stderr, where `-q` silences them) and stdout carries only
//! the data; [`notes`] collects them.

mod backtrace;
mod coredumps;
mod csv_out;
pub use backtrace::write_folded;
pub use backtrace::write_text as write_backtrace;
mod heap;
pub mod leak;
mod oom;
pub mod plot;
pub mod recommend;
pub mod recommend_plot;
pub mod rows;
mod sample;
pub mod symbolize;
mod table;
mod triage;
pub mod units;
mod vmmap;

use std::io::{self, Write};

use serde::Serialize;

use crate::analysis::pressure::PressureState;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Tables for people (comfy-table, IEC units, `-` for unknown).
    Table,
    /// The model itself as JSON (docs/json.md): integer bytes, `null` for unknown.
    Json,
    /// One table as CSV: one header row of column keys, raw integers, bytes.
    Csv,
    /// GitHub Actions workflow commands (`::error file=…,line=…::…`), for CI.
    Github,
    /// Brendan Gregg's folded stacks, `outer;…;inner VALUE` per line (flamegraph.pl, inferno).
    Folded,
}

/// Presentation options.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// Emit ANSI colours (pressure states, headers).
    pub color: bool,
    /// Fit tables to this width in columns (a terminal's, or `COLUMNS`); `None` lays tables out
    /// at their natural width (not a terminal).
    pub width: Option<u16>,
    /// The caller shows the tables' notes itself (see [`notes`]); `false` writes them under
    /// each table (a report embedding a command's tables in its own text).
    pub notes_apart: bool,
    /// Which table `--format csv` writes, for reports with several (e.g. `processes`); `None`
    /// is the report's default.
    pub table: Option<&'static str>,
}

/// One cell of a table.
#[derive(Debug, Clone)]
pub enum Cell {
    /// Text as given, left-aligned; wraps in a table.
    Text(String),
    /// A size in bytes; `None` is unknown.
    Bytes(Option<u64>),
    /// An integer (PIDs, counts, scores); `None` is unknown, shown `-`.
    Int(Option<i64>),
    /// A percentage (0–100).
    Pct(Option<f64>),
    /// A pressure state (`ok`, `warning`, `critical`), coloured green, yellow or red with
    /// `--color`.
    State(PressureState),
    /// A memory limit in bytes; `None` is "unlimited" (`max` in CSV, as cgroup v2 prints it).
    Limit(Option<u64>),
    /// A size to configure (a recommended request or limit), bytes: shown rounded up to whole
    /// MiB, as the `--emit` snippets write it (`1150 MiB`, never `1.12 GiB`); raw bytes in CSV.
    Quantity(Option<u64>),
    /// Long text a table shortens with `…` rather than wrap, as `ps` does: at most `max`
    /// characters even at the natural width, fewer to fit the terminal; CSV and JSON keep it
    /// whole. `keep` says which end carries the meaning.
    Elide {
        /// The whole text (kept whole in CSV and JSON).
        text: String,
        /// Which end the table keeps when it shortens the text.
        keep: Keep,
        /// At most this many characters in a table, even at the natural width.
        max: usize,
    },
}

/// Which end of an [`Cell::Elide`] text a table keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The start: command lines (the program name matters most).
    Start,
    /// The end: cgroup and file paths (the leaf names the container or file).
    End,
}

impl Cell {
    /// Plain text, as given (wraps in a table; see [`Cell::command`] and [`Cell::path`] for text to
    /// elide).
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// A command line: one line, its start kept, at most `max` characters in a table.
    pub fn command(s: &str, max: usize) -> Cell {
        Cell::Elide {
            text: one_line(s),
            keep: Keep::Start,
            max,
        }
    }

    /// A path (cgroup, file): one line, its end kept, at most `max` characters in a table.
    pub fn path(s: &str, max: usize) -> Cell {
        Cell::Elide {
            text: one_line(s),
            keep: Keep::End,
            max,
        }
    }
}

/// A column: its title for people and its key for CSV headers (with units, e.g. `rss_bytes`).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The heading people read (table format).
    pub title: &'static str,
    /// The CSV header, with the unit in the name (`rss_bytes`, `pss_bytes`, `age_s`).
    pub key: &'static str,
    /// When a table does not fit the terminal even with its text elided, columns with a higher
    /// `shed` are left out first (the title says which); 0 is never left out (the line is cut
    /// at the width instead).
    pub shed: u8,
}

/// Shorthand for a column.
pub const fn col(title: &'static str, key: &'static str) -> Column {
    Column {
        title,
        key,
        shed: 0,
    }
}

impl Column {
    /// This column may be left out of a table too wide for the terminal; higher goes first.
    pub const fn shed(self, order: u8) -> Column {
        Column {
            shed: order,
            ..self
        }
    }
}

/// A table of a report.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Heading printed above the table in table format.
    pub title: Option<String>,
    /// The table's columns, in order.
    pub columns: Vec<Column>,
    /// The rows, one cell per column.
    pub rows: Vec<Vec<Cell>>,
    /// Lines printed under the table in table format (not in CSV).
    pub notes: Vec<String>,
}

/// A command's result: serialisable as JSON, and laid out as tables for people and CSV.
pub trait Report: Serialize {
    /// The report's tables, in the order they are printed (table format) or written (CSV).
    fn tables(&self) -> Vec<Table>;

    /// Rows too many for a table library (per-mapping rows), written before the tables in
    /// table and CSV formats.
    fn write_rows(&self, _format: Format, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    /// The tables `--format csv` writes: one CSV stream is one table, so a report with several
    /// tables picks one by `table` (its default when `None`). The default writes every table
    /// of [`Report::tables`], separated by an empty line (reports that have not chosen yet).
    ///
    /// Errors: a table name this report does not have (`InvalidInput`).
    fn csv_tables(&self, table: Option<&str>) -> io::Result<Vec<Table>> {
        let _ = table;
        Ok(self.tables())
    }

    /// GitHub Actions annotations, one per line; `None` when the command has none.
    fn github(&self) -> Option<Vec<String>> {
        None
    }

    /// Folded stacks for flame graphs, one `outer;…;inner VALUE` line each; `None` when the
    /// command has none.
    fn folded(&self) -> Option<Vec<String>> {
        None
    }

    /// A document rather than tables (`report`): written instead of the tables in table
    /// format; `None` for commands whose output is tables.
    fn text(&self) -> Option<String> {
        None
    }
}

/// Write `report` in `format`.
///
/// Errors: only I/O errors of `out` (a closed pipe shows up as `BrokenPipe`).
pub fn render<R: Report + ?Sized>(
    report: &R,
    format: Format,
    style: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, report).map_err(json_io)?;
            out.write_all(b"\n")
        }
        Format::Table => {
            if let Some(t) = report.text() {
                return out.write_all(t.as_bytes());
            }
            report.write_rows(format, out)?;
            table::write(&report.tables(), style, out)
        }
        Format::Csv => {
            report.write_rows(format, out)?;
            csv_out::write(&report.csv_tables(style.table)?, out)
        }
        Format::Github => match report.github() {
            Some(lines) => lines.iter().try_for_each(|l| writeln!(out, "{l}")),
            None => Err(io::Error::other(
                "--format github is only available for triage",
            )),
        },
        Format::Folded => match report.folded() {
            Some(lines) => lines.iter().try_for_each(|l| writeln!(out, "{l}")),
            None => Err(io::Error::other(
                "--format folded is only available for leaks and profile",
            )),
        },
    }
}

/// The notes of `report`'s tables in table format, in order: what [`render`] leaves out of the
/// data when [`Style::notes_apart`] is set.
pub fn notes<R: Report + ?Sized>(report: &R) -> Vec<String> {
    report.tables().into_iter().flat_map(|t| t.notes).collect()
}

/// Make text safe for one table line: control characters (newlines in a command line, escape
/// sequences in a process name) are shown escaped rather than interpreted by the terminal.
pub(crate) fn one_line(s: &str) -> String {
    crate::base::text::one_line(s)
}

/// Keep the I/O error kind (a closed pipe) of a serde_json error.
fn json_io(e: serde_json::Error) -> io::Error {
    match e.io_error_kind() {
        Some(kind) => io::Error::from(kind),
        None => io::Error::other(e),
    }
}

/// Write one JSON object on one line (JSON Lines), for `--watch`.
pub fn render_json_line<R: Serialize + ?Sized>(report: &R, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer(&mut *out, report).map_err(json_io)?;
    out.write_all(b"\n")
}
