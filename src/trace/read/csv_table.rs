//! The CSV trace reader: a time column and memory columns named as such (`*_bytes`, `*_kb`,
//! `rss`, `anon`, `usage`, `working_set`, `mem`, `value`…), their unit from the header.

use std::io::Read;
use std::path::Path;

use super::*;

/// Bytes per unit named in a CSV header (`rss_kb`, `anon_bytes`, `rss (MiB)`, `MiB`).
fn header_unit(h: &str) -> Option<f64> {
    let l = h.to_ascii_lowercase();
    let l = l
        .trim()
        .trim_end_matches(')')
        .replace(['(', '[', ']', ' '], "_");
    let suffix = l.rsplit('_').next().unwrap_or(&l);
    Some(match suffix {
        "bytes" | "b" => 1.0,
        "kb" | "kib" | "k" => 1024.0,
        "mb" | "mib" | "m" => 1048576.0,
        "gb" | "gib" | "g" => 1073741824.0,
        _ => return None,
    })
}

/// Words that make a CSV column a memory column when its name holds one of them (or a unit,
/// see [`header_unit`]).
const MEMORY_WORDS: [&str; 12] = [
    "bytes",
    "rss",
    "anon",
    "usage",
    "working_set",
    "workingset",
    "mem",
    "pss",
    "uss",
    "heap",
    "resident",
    "value",
];

fn is_memory_column(h: &str) -> bool {
    let l = h.to_ascii_lowercase();
    header_unit(h).is_some() || MEMORY_WORDS.iter().any(|w| l.contains(w))
}

/// The line a CSV error is at, and the error.
fn csv_error(path: &Path, line: usize, e: csv::Error) -> Error {
    let at = e.position().map_or(line, |p| p.line() as usize);
    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
        if let csv::ErrorKind::Io(io) = e.into_kind() {
            return read_error(path, io);
        }
        unreachable!("matched above");
    }
    malformed(path, at, format!("bad CSV row: {e}"))
}

pub(super) fn read_csv<R: Read>(
    r: &mut In<R>,
    path: &Path,
    metric: Option<&str>,
) -> Result<Series> {
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(r);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| match e.kind() {
            csv::ErrorKind::Io(_) => csv_error(path, 1, e),
            _ => malformed(path, 1, format!("not CSV: {e}")),
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if headers.len() < 2 {
        return Err(malformed(
            path,
            1,
            "CSV needs a header row with a time column and at least one memory column",
        ));
    }
    let time_col = headers
        .iter()
        .position(|h| {
            matches!(
                h.to_ascii_lowercase().as_str(),
                "t" | "time"
                    | "timestamp"
                    | "ts"
                    | "seconds"
                    | "time_s"
                    | "date"
                    | "datetime"
                    | "elapsed_s"
            )
        })
        .unwrap_or(0);
    let mem_cols: Vec<(usize, String, Option<f64>)> = headers
        .iter()
        .enumerate()
        .filter(|(i, h)| *i != time_col && is_memory_column(h))
        .map(|(i, h)| {
            let unit = header_unit(h);
            let base = h
                .to_ascii_lowercase()
                .split(['_', ' ', '('])
                .next()
                .unwrap_or("")
                .to_string();
            (
                i,
                format!("{}_bytes", if base.is_empty() { "value" } else { &base }),
                unit,
            )
        })
        .collect();
    if mem_cols.is_empty() {
        let shown: Vec<String> = headers
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != time_col)
            .map(|(_, h)| format!("{:?}", h.chars().take(40).collect::<String>()))
            .take(8)
            .collect();
        return Err(malformed(
            path,
            1,
            format!(
                "no memory column: {} (a memory column's name says so: *_bytes, *_kb, *_mib, \
                 rss, anon, usage, working_set, mem, value)",
                shown.join(", ")
            ),
        ));
    }
    let names: Vec<String> = mem_cols.iter().map(|c| c.1.clone()).collect();
    let (metric_name, reason) =
        pick_metric(&names, metric, None).map_err(|m| malformed(path, 1, m))?;
    let (col, _, unit) = mem_cols
        .iter()
        .find(|c| c.1 == metric_name)
        .cloned()
        .ok_or_else(|| malformed(path, 1, "no such column"))?;
    let reason = format!("{reason} (CSV column {:?})", headers[col]);
    let mut b = Builder::new(path, metric_name, reason, None, None);
    let mut cell_units: Option<bool> = None;
    let mut rec = csv::StringRecord::new();
    let mut line = 1;
    loop {
        line += 1;
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(path, line, e)),
        }
        if let Some(p) = rec.position() {
            line = p.line() as usize;
        }
        let t_cell = rec.get(time_col).unwrap_or("").trim();
        let t = time_value(&Value::String(t_cell.to_string())).ok_or_else(|| {
            let shown: String = t_cell.chars().take(40).collect();
            malformed(
                path,
                line,
                format!("time {shown:?} is neither seconds nor RFC 3339"),
            )
        })?;
        let cell = rec.get(col).unwrap_or("").trim();
        if cell.is_empty() {
            continue;
        }
        let shown: String = cell.chars().take(40).collect();
        let has_unit = cell.parse::<f64>().is_err()
            && cell.chars().last().is_some_and(|c| c.is_ascii_alphabetic());
        if *cell_units.get_or_insert(has_unit) != has_unit {
            return Err(malformed(
                path,
                line,
                format!("mixed units in column {:?}: {shown:?}", headers[col]),
            ));
        }
        let val = if has_unit {
            crate::base::size::parse(cell)
                .ok()
                .map(|v| v as f64)
                .ok_or_else(|| malformed(path, line, format!("{shown:?} is not a size")))?
        } else {
            let n: f64 = cell
                .parse()
                .map_err(|_| malformed(path, line, format!("{shown:?} is not a number")))?;
            n * unit.unwrap_or(1.0)
        };
        b.push(line, t, val, None)?;
    }
    Ok(b.s)
}
