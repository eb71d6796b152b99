//! Fast row output for `vmmap --mappings`: fixed-width table lines (like `pmap -X`) or CSV,
//! written as mappings arrive so that a process with tens of thousands of mappings needs
//! neither a table library's per-cell work nor memory that grows with the row count.

use std::io::{self, Write};

use super::units::{iec_push, push_hex, push_u64};
use super::{one_line, Format};
use crate::analysis::vmmap::{Category, MappingRow, MappingSink};
use crate::error::{Error, Result};
use crate::sample::smaps::Mapping;

/// A row borrowed from a mapping or from a kept [`MappingRow`].
pub type RowView<'a> = MappingRow<&'a str>;

const CSV_HEADER: &str = "start,end,perms,offset,device,inode,virtual_bytes,rss_bytes,pss_bytes,uss_bytes,dirty_bytes,swap_bytes,category,mapping\n";

/// Writes mapping rows as a fixed-width table or CSV.
pub struct RowWriter<'w> {
    out: &'w mut dyn Write,
    csv: bool,
    line: Vec<u8>,
}

impl<'w> RowWriter<'w> {
    /// Start the output: the title line (table only) and the header row.
    pub fn begin(out: &'w mut dyn Write, format: Format, title: &str) -> io::Result<RowWriter<'w>> {
        let csv = format == Format::Csv;
        if csv {
            out.write_all(CSV_HEADER.as_bytes())?;
        } else {
            writeln!(out, "{}", one_line(title))?;
            writeln!(
                out,
                "{:>16} {:4} {:>8} {:>6} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:13} MAPPING",
                "ADDRESS",
                "PERM",
                "OFFSET",
                "DEVICE",
                "INODE",
                "VIRTUAL",
                "RSS",
                "PSS",
                "USS",
                "DIRTY",
                "SWAP",
                "CATEGORY"
            )?;
        }
        Ok(RowWriter {
            out,
            csv,
            line: Vec::with_capacity(256),
        })
    }

    /// Write one row.
    pub fn row(&mut self, r: &RowView<'_>) -> io::Result<()> {
        if self.csv {
            return self.csv_row(r);
        }
        let l = &mut self.line;
        l.clear();
        let mut b = Vec::with_capacity(24);
        let mut cell = |l: &mut Vec<u8>, width: usize, right: bool, f: &dyn Fn(&mut Vec<u8>)| {
            b.clear();
            f(&mut b);
            let pad = width.saturating_sub(b.len());
            if right {
                l.resize(l.len() + pad, b' ');
                l.extend_from_slice(&b);
            } else {
                l.extend_from_slice(&b);
                l.resize(l.len() + pad, b' ');
            }
            l.push(b' ');
        };
        cell(l, 16, true, &|b| push_hex(b, r.start, 1));
        cell(l, 4, false, &|b| b.extend_from_slice(r.perms.as_bytes()));
        cell(l, 8, true, &|b| push_hex(b, r.offset, 8));
        cell(l, 6, true, &|b| b.extend_from_slice(r.device.as_bytes()));
        cell(l, 10, true, &|b| push_u64(b, r.inode));
        for v in [
            r.virtual_bytes,
            r.rss_bytes,
            r.pss_bytes,
            r.uss_bytes,
            r.dirty_bytes,
            r.swap_bytes,
        ] {
            cell(l, 9, true, &|b| iec_push(v, b));
        }
        cell(l, 13, false, &|b| {
            b.extend_from_slice(r.category.key().as_bytes())
        });
        if r.mapping.chars().any(char::is_control) {
            l.extend_from_slice(one_line(r.mapping).as_bytes());
        } else {
            l.extend_from_slice(r.mapping.as_bytes());
        }
        while l.last() == Some(&b' ') {
            l.pop();
        }
        l.push(b'\n');
        self.out.write_all(l)
    }

    fn csv_row(&mut self, r: &RowView<'_>) -> io::Result<()> {
        write!(
            self.out,
            "{:#x},{:#x},{},{},{},{},{},{},{},{},{},{},{},",
            r.start,
            r.end,
            r.perms,
            r.offset,
            r.device,
            r.inode,
            r.virtual_bytes,
            r.rss_bytes,
            r.pss_bytes,
            r.uss_bytes,
            r.dirty_bytes,
            r.swap_bytes,
            r.category.key()
        )?;
        if r.mapping.contains([',', '"', '\n', '\r']) {
            writeln!(self.out, "\"{}\"", r.mapping.replace('"', "\"\""))
        } else {
            writeln!(self.out, "{}", r.mapping)
        }
    }
}

/// A [`MappingSink`] that writes rows as they arrive.
pub struct StreamRows<'w> {
    out: Option<&'w mut dyn Write>,
    format: Format,
    writer: Option<RowWriter<'w>>,
}

impl<'w> StreamRows<'w> {
    /// A sink writing one process's mappings to `out` in `format` (table or CSV), headed by
    /// `PID:   command` (table only) when the process begins.
    pub fn new(out: &'w mut dyn Write, format: Format) -> StreamRows<'w> {
        StreamRows {
            out: Some(out),
            format,
            writer: None,
        }
    }
}

fn out_err(e: io::Error) -> Error {
    Error::Io {
        path: "<stdout>".into(),
        source: e,
    }
}

impl MappingSink for StreamRows<'_> {
    fn begin(&mut self, pid: i32, _name: &str, command: &str) -> Result<()> {
        if let Some(out) = self.out.take() {
            self.writer = Some(
                RowWriter::begin(out, self.format, &format!("{pid}:   {command}"))
                    .map_err(out_err)?,
            );
        }
        Ok(())
    }

    fn mapping(&mut self, m: &Mapping, c: Category) -> Result<()> {
        match self.writer.as_mut() {
            Some(w) => w.row(&MappingRow::of(m, c)).map_err(out_err),
            None => Ok(()),
        }
    }
}
