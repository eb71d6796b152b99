//! Table output for people (comfy-table for the cells' alignment and colour; the layout is
//! ours). A cell is never wrapped inside itself: at a terminal's width (or `COLUMNS`) long text
//! is shortened with `…` as `ps` does (command lines keep their start, paths their end),
//! headers wrap at their spaces only, columns close up to one space, and a line that still does
//! not fit is cut at the width. Off a terminal the tables keep their natural width.

use std::io::{self, Write};

use comfy_table::{presets, CellAlignment, Color, ContentArrangement};

use super::units::iec;
use super::{Cell, Keep, Style, Table};
use crate::analysis::pressure::PressureState;

/// The shortest an elidable column gets before columns are left out (a path's leaf still
/// readable)...
const COMFORT_TEXT: usize = 24;
/// ...and before the layout gives up on it, once no column can be left out.
const MIN_TEXT: usize = 8;

/// The most characters a cell shows even off a terminal (no width to fit): a label or command
/// line of megabytes from a hostile input is elided here, so no table holds it (comfy-table's
/// layout of one long word is quadratic in its length).
const MAX_CELL: usize = 4096;

/// The text of a cell as the table shows it, before fitting.
fn content(c: &Cell) -> String {
    match c {
        Cell::Text(s) => elide(s, MAX_CELL, Keep::Start),
        Cell::Elide { text, keep, max } => elide(text, (*max).min(MAX_CELL), *keep),
        Cell::Bytes(Some(b)) | Cell::Limit(Some(b)) => iec(*b),
        Cell::Quantity(Some(b)) => format!("{} MiB", super::units::mib_up(*b)),
        Cell::Bytes(None) | Cell::Int(None) | Cell::Pct(None) | Cell::Quantity(None) => "-".into(),
        Cell::Limit(None) => "unlimited".into(),
        Cell::Int(Some(v)) => v.to_string(),
        Cell::Pct(Some(p)) => format!("{p:.1}%"),
        Cell::State(s) => s.as_str().into(),
    }
}

fn is_text(c: &Cell) -> bool {
    matches!(c, Cell::Text(_) | Cell::Elide { .. })
}

fn keep_of(c: &Cell) -> Keep {
    match c {
        Cell::Elide { keep, .. } => *keep,
        _ => Keep::Start,
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// `s` in at most `max` characters, `…` standing for what is left out at the other end.
pub(crate) fn elide(s: &str, max: usize, keep: Keep) -> String {
    let n = chars(s);
    if n <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    match keep {
        Keep::Start => {
            let mut t: String = s.chars().take(max - 1).collect();
            t.push('…');
            t
        }
        Keep::End => {
            let t: String = s.chars().skip(n - (max - 1)).collect();
            format!("…{t}")
        }
    }
}

/// Greedy word wrap of a header at spaces; a word longer than `width` is elided.
fn wrap_header(h: &str, width: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    for word in h.split(' ') {
        let word = elide(word, width, Keep::Start);
        match lines.last_mut() {
            Some(l) if chars(l) + 1 + chars(&word) <= width => {
                l.push(' ');
                l.push_str(&word);
            }
            _ => lines.push(word),
        }
    }
    lines.join("\n")
}

/// The column widths and padding that fit `width`, and whether the lines still need cutting.
struct Layout {
    widths: Vec<usize>,
    /// Spaces on each side of a cell: 1 (the natural look), 0 with one space between columns.
    pad: usize,
    cut: bool,
}

fn line_len(widths: &[usize], pad: usize) -> usize {
    let n = widths.len();
    // comfy-table: `pad` spaces either side, no borders; the last column's right padding is
    // trimmed. With pad 0 we put one space on the right of every cell instead.
    let sum: usize = widths.iter().sum();
    if pad == 0 {
        sum + n.saturating_sub(1)
    } else {
        sum + 2 * pad * n - pad
    }
}

fn layout(
    headers: &[&str],
    cells: &[Vec<String>],
    text: &[bool],
    width: Option<usize>,
    min_text: usize,
) -> Layout {
    let n = headers.len();
    let data: Vec<usize> = (0..n)
        .map(|i| cells.iter().map(|r| chars(&r[i])).max().unwrap_or(0))
        .collect();
    let mut widths: Vec<usize> = (0..n).map(|i| data[i].max(chars(headers[i]))).collect();
    let Some(width) = width else {
        return Layout {
            widths,
            pad: 1,
            cut: false,
        };
    };
    let fits = |w: &[usize], pad| line_len(w, pad) <= width;
    // 1. Headers wider than their data wrap at their spaces.
    if !fits(&widths, 1) {
        for i in 0..n {
            let word = headers[i].split(' ').map(chars).max().unwrap_or(0);
            widths[i] = data[i].max(word);
        }
    }
    // 2. Text columns give way, the widest first, down to a few characters.
    while !fits(&widths, 1) {
        let widest = (0..n)
            .filter(|&i| text[i] && widths[i] > min_text)
            .max_by_key(|&i| (widths[i], i));
        match widest {
            Some(i) => widths[i] -= 1,
            None => break,
        }
    }
    // 3. One space between columns instead of two.
    let pad = if fits(&widths, 1) { 1 } else { 0 };
    Layout {
        cut: !fits(&widths, pad),
        widths,
        pad,
    }
}

fn styled(c: &Cell, s: String, style: Style) -> comfy_table::Cell {
    let cell = comfy_table::Cell::new(s);
    match c {
        Cell::Text(_) | Cell::Elide { .. } => cell,
        Cell::State(s) => {
            if !style.color {
                return cell;
            }
            match s {
                PressureState::Ok => cell.fg(Color::Green),
                PressureState::Warning => cell.fg(Color::Yellow),
                PressureState::Critical => cell.fg(Color::Red),
            }
        }
        _ => cell.set_alignment(CellAlignment::Right),
    }
}

/// The columns of `t` to show at `width`: all that fit with text elided down to
/// [`COMFORT_TEXT`], leaving out the ones with the highest [`Column::shed`](super::Column)
/// first.
fn shown_columns(t: &Table, width: Option<usize>) -> Vec<usize> {
    let mut shown: Vec<usize> = (0..t.columns.len()).collect();
    loop {
        let (headers, cells, text) = pick(t, &shown);
        if !layout(&headers, &cells, &text, width, COMFORT_TEXT).cut {
            return shown;
        }
        let drop = shown
            .iter()
            .enumerate()
            .filter(|(_, &c)| t.columns[c].shed > 0)
            .max_by_key(|(pos, &c)| (t.columns[c].shed, *pos));
        match drop {
            Some((pos, _)) => {
                shown.remove(pos);
            }
            None => return shown,
        }
    }
}

/// Headers, cell texts and text-ness of the `shown` columns.
fn pick(t: &Table, shown: &[usize]) -> (Vec<&'static str>, Vec<Vec<String>>, Vec<bool>) {
    let headers = shown.iter().map(|&i| t.columns[i].title).collect();
    let cells = t
        .rows
        .iter()
        .map(|r| {
            shown
                .iter()
                .map(|&i| r.get(i).map(content).unwrap_or_default())
                .collect()
        })
        .collect();
    let text = shown
        .iter()
        .map(|&i| t.rows[0].get(i).is_some_and(is_text))
        .collect();
    (headers, cells, text)
}

/// One table's lines, fitted to `style.width`, and the titles of the columns left out.
fn lines(t: &Table, style: Style) -> (Vec<String>, Vec<&'static str>) {
    let width = style.width.map(usize::from);
    let shown = shown_columns(t, width);
    let hidden = (0..t.columns.len())
        .filter(|i| !shown.contains(i))
        .map(|i| t.columns[i].title)
        .collect();
    let (headers, cells, text) = pick(t, &shown);
    // The layout the columns were chosen by (text down to COMFORT_TEXT, one space between
    // columns when needed) when it fits, rather than eliding a lone text column (a WORKLOAD
    // label) to MIN_TEXT only to keep two spaces between columns.
    let lay = match layout(&headers, &cells, &text, width, COMFORT_TEXT) {
        l if !l.cut => l,
        _ => layout(&headers, &cells, &text, width, MIN_TEXT),
    };
    // Cutting lines at a width counts characters: no escape codes in a table that is cut.
    let color = style.color && !lay.cut;
    let mut ct = comfy_table::Table::new();
    ct.load_preset(presets::NOTHING);
    if color {
        ct.enforce_styling();
    } else {
        ct.force_no_tty();
    }
    ct.set_content_arrangement(ContentArrangement::Disabled);
    ct.set_header(headers.iter().enumerate().map(|(i, h)| {
        let h = if chars(h) > lay.widths[i] {
            wrap_header(h, lay.widths[i])
        } else {
            h.to_string()
        };
        let h = comfy_table::Cell::new(h);
        if color {
            h.add_attribute(comfy_table::Attribute::Bold)
        } else {
            h
        }
    }));
    for (row, texts) in t.rows.iter().zip(cells) {
        ct.add_row(shown.iter().zip(texts).enumerate().map(|(i, (&c, s))| {
            let cell = &row[c];
            let s = if chars(&s) > lay.widths[i] {
                elide(&s, lay.widths[i], keep_of(cell))
            } else {
                s
            };
            styled(cell, s, style)
        }));
    }
    for (idx, &c) in shown.iter().enumerate() {
        if let Some(column) = ct.column_mut(idx) {
            // Right-align numeric columns' headers too.
            if !matches!(
                t.rows[0].get(c),
                Some(Cell::Text(_) | Cell::Elide { .. } | Cell::State(_)) | None
            ) {
                column.set_cell_alignment(CellAlignment::Right);
            }
            if lay.pad == 0 {
                column.set_padding((0, 1));
            }
        }
    }
    let lines = ct
        .lines()
        .map(|line| {
            let line = line.trim_end();
            match width {
                Some(w) if lay.cut && chars(line) > w => elide(line, w, Keep::Start),
                _ => line.to_string(),
            }
        })
        .collect();
    (lines, hidden)
}

/// Write tables, each under its title, notes after it (unless the caller shows them apart),
/// separated by blank lines.
pub fn write(tables: &[Table], style: Style, out: &mut dyn Write) -> io::Result<()> {
    let width = style.width.map(usize::from);
    for (i, t) in tables.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let (lines, hidden) = if t.rows.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            lines(t, style)
        };
        let mut title = t.title.clone();
        if !hidden.is_empty() {
            let said = format!("(not shown at this width: {})", hidden.join(", "));
            title = Some(match title {
                Some(t) => format!("{t} {said}"),
                None => said,
            });
        }
        if let Some(title) = title {
            let title = match width {
                Some(w) => elide(&title, w, Keep::Start),
                None => title,
            };
            writeln!(out, "{title}")?;
        }
        for line in lines {
            writeln!(out, "{line}")?;
        }
        if !style.notes_apart {
            for n in &t.notes {
                writeln!(out, "{n}")?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::col;

    fn table(rows: Vec<Vec<Cell>>) -> Table {
        Table {
            title: Some("T".into()),
            columns: vec![
                col("PID", "pid"),
                col("RSS BYTES", "rss_bytes"),
                col("MEMCG", "memory_cgroup"),
                col("COMMAND", "command"),
            ],
            rows,
            notes: vec!["a note".into()],
        }
    }

    fn row(pid: i64) -> Vec<Cell> {
        vec![
            Cell::Int(Some(pid)),
            Cell::Bytes(Some(123 << 20)),
            Cell::path("/kubepods/burstable/pod1234/container-with-a-long-name", 70),
            Cell::command(
                "/usr/bin/python3 -m some.module --with --many --arguments --that --go --on",
                60,
            ),
        ]
    }

    fn render(t: &Table, width: Option<u16>, notes_apart: bool) -> String {
        let mut out = Vec::new();
        let style = Style {
            width,
            notes_apart,
            ..Style::default()
        };
        write(std::slice::from_ref(t), style, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn elide_keeps_the_start_of_commands_and_the_end_of_paths() {
        assert_eq!(elide("abcdef", 4, Keep::Start), "abc…");
        assert_eq!(elide("abcdef", 4, Keep::End), "…def");
        assert_eq!(elide("abc", 4, Keep::End), "abc");
        assert_eq!(elide("abc", 0, Keep::End), "");
    }

    #[test]
    fn a_cell_of_megabytes_is_elided_and_quick() {
        let long = "x".repeat(8 << 20);
        let t = table(vec![vec![
            Cell::Int(Some(1)),
            Cell::Text(long.clone()),
            Cell::Bytes(Some(1)),
            Cell::Elide {
                text: long,
                keep: Keep::End,
                max: usize::MAX,
            },
        ]]);
        let started = std::time::Instant::now();
        let out = render(&t, None, false);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        assert!(out.len() < 3 * MAX_CELL * 4, "{} bytes", out.len());
        assert!(out.contains('…'));
    }

    #[test]
    fn headers_wrap_at_spaces_only() {
        assert_eq!(wrap_header("PSI SOME 10s", 8), "PSI SOME\n10s");
        assert_eq!(wrap_header("AVAILABLE", 5), "AVAI…");
    }

    #[test]
    fn cells_never_wrap_at_any_width() {
        let t = table(vec![row(1), row(22)]);
        for w in [20u16, 40, 60, 80, 120] {
            let s = render(&t, Some(w), true);
            let lines: Vec<&str> = s.lines().collect();
            for l in &lines {
                assert!(l.chars().count() <= usize::from(w), "{w}: {l:?}\n{s}");
            }
            // Title, header (one line: its words fit), one line per row.
            let data: Vec<&&str> = lines.iter().filter(|l| l.contains("MiB")).collect();
            assert_eq!(data.len(), 2, "{w}:\n{s}");
            assert!(data[0].trim_start().starts_with('1'), "{s}");
        }
    }

    #[test]
    fn natural_width_off_a_terminal_keeps_the_old_layout() {
        let s = render(&table(vec![row(1)]), None, false);
        assert!(s.contains("container-with-a-long-name"), "{s}");
        // A command keeps its first 60 characters even at the natural width, as before.
        assert!(s.contains("--many --arguments -…"), "{s}");
        assert!(s.ends_with("a note\n"), "{s}");
    }

    #[test]
    fn notes_apart_leaves_them_out() {
        let s = render(&table(vec![row(1)]), Some(80), true);
        assert!(!s.contains("a note"), "{s}");
    }

    #[test]
    fn a_narrow_width_elides_paths_at_the_start_and_commands_at_the_end() {
        let s = render(&table(vec![row(1)]), Some(60), true);
        let line = s.lines().find(|l| l.contains("MiB")).unwrap();
        assert!(line.contains("…"), "{s}");
        assert!(line.contains("/usr/bin/"), "{s}");
        assert!(line.contains("name"), "{s}");
    }
}
