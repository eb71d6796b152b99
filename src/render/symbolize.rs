//! `clw-diag symbolize` output: the text binutils `addr2line` prints for each address, with
//! its flags (`-f -i -C -a -p -s`, binutils/addr2line.c `translate_addresses`), its `??`
//! conventions for what is unknown, and the rewritten lines of `--text`; and the JSON Lines
//! form of both (`docs/json.md`, `symbolize`). The library returns frames
//! ([`crate::symbolize::batch::Batch`], [`crate::symbolize::text::Resolution`]); this file
//! prints them.

use std::io::{self, Write};

use crate::symbolize::batch::Batch;
use crate::symbolize::text::{LineFormat, Resolution};
use crate::symbolize::Frame;

/// Output options, as binutils `addr2line` names them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Addr2lineStyle {
    /// -f: print function names.
    pub functions: bool,
    /// -i: print inlined callers.
    pub inlines: bool,
    /// -C: demangle.
    pub demangle: bool,
    /// -a: print the address first.
    pub addresses: bool,
    /// -p: one line per address.
    pub pretty: bool,
    /// -s: file base names only.
    pub basenames: bool,
}

/// Append `n` in decimal (without the formatting machinery: this runs for every frame).
fn push_decimal(out: &mut String, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[i..].iter().map(|&d| d as char));
}

/// Append "file:line" of `f` to `out`.
fn push_loc(out: &mut String, f: &Frame, basenames: bool) {
    match &f.file {
        Some(p) if basenames => out.push_str(p.rsplit('/').next().unwrap_or(p)),
        Some(p) => out.push_str(p),
        None => out.push_str("??"),
    }
    out.push(':');
    // binutils prints "??:?" when it knows the function but not the line, "??:0" when it knows
    // nothing.
    match (f.file.is_some(), f.line) {
        (_, Some(l)) if l > 0 => push_decimal(out, l),
        (true, _) => out.push('?'),
        (false, _) if f.function.is_some() => out.push('?'),
        (false, _) => out.push('0'),
    }
}

/// Format the frames of one address the way binutils `addr2line` does.
pub fn format_addr2line(addr: u64, frames: &[Frame], style: Addr2lineStyle) -> String {
    let mut out = String::new();
    write_addr2line(&mut out, addr, frames, style);
    out
}

/// [`format_addr2line`], appended to `out` (no allocation per address when `out` is reused).
pub fn write_addr2line(out: &mut String, addr: u64, frames: &[Frame], style: Addr2lineStyle) {
    use std::fmt::Write;
    // Without -i addr2line prints only the innermost frame (its function and location).
    let shown = if style.inlines {
        frames
    } else {
        &frames[..frames.len().min(1)]
    };
    fn func(f: &Frame) -> &str {
        f.function.as_deref().unwrap_or("??")
    }
    if style.pretty {
        if style.addresses {
            let _ = write!(out, "0x{addr:016x}: ");
        }
        for (i, f) in shown.iter().enumerate() {
            if i > 0 {
                out.push_str(" (inlined by) ");
            }
            if style.functions && f.function.is_some() {
                out.push_str(func(f));
                out.push_str(" at ");
            } else if style.functions {
                // binutils: "?? ??:0" when nothing is known.
                out.push_str("?? ");
            }
            push_loc(out, f, style.basenames);
            if i + 1 < shown.len() {
                out.push('\n');
            }
        }
        out.push('\n');
        return;
    }
    if style.addresses {
        let _ = writeln!(out, "0x{addr:016x}");
    }
    for f in shown {
        if style.functions {
            out.push_str(func(f));
            out.push('\n');
        }
        push_loc(out, f, style.basenames);
        out.push('\n');
    }
}

/// binutils' answer to a token that is not a hexadecimal address: unknown location.
fn write_unreadable(out: &mut String, tok: &str, style: Addr2lineStyle) {
    if style.addresses {
        out.push_str(tok);
        out.push('\n');
    }
    if style.functions {
        out.push_str("??\n");
    }
    out.push_str("??:0\n");
}

/// The answers of one batch, each distinct address formatted once as it is resolved (in
/// address order), then written out per token in input order ([`write_batch`]).
#[derive(Debug, Default)]
pub struct Answers {
    text: String,
    ends: Vec<usize>,
}

impl Answers {
    /// Forget the previous batch's answers (the buffers are kept).
    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// Add the next address's answer as `addr2line` with `style` prints it.
    pub fn push_text(&mut self, addr: u64, frames: &[Frame], style: Addr2lineStyle) {
        write_addr2line(&mut self.text, addr, frames, style);
        self.ends.push(self.text.len());
    }

    /// Add the next address's answer as the JSON members after `input` (`"address":…,
    /// "frames":[…]`, see docs/json.md).
    pub fn push_json(&mut self, addr: u64, frames: &[Frame]) {
        #[derive(serde::Serialize)]
        struct Answer<'a> {
            #[serde(serialize_with = "crate::base::hex::hex")]
            address: u64,
            frames: &'a [Frame],
        }
        let json = serde_json::to_string(&Answer {
            address: addr,
            frames,
        })
        .unwrap_or_else(|_| r#"{"address":null,"frames":[]}"#.into());
        // Without its braces, to be spliced after the token's "input".
        self.text
            .push_str(json.trim_start_matches('{').trim_end_matches('}'));
        self.ends.push(self.text.len());
    }

    fn get(&self, k: usize) -> &str {
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        &self.text[start..self.ends[k]]
    }
}

/// Write the answers of `batch` in input order, as `addr2line` with `style` prints them (the
/// answers pushed with [`Answers::push_text`]; a token that is not an address as binutils
/// answers it).
///
/// Errors: I/O errors of `out` only.
pub fn write_batch(
    batch: &Batch<'_>,
    answers: &Answers,
    style: Addr2lineStyle,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut other = String::new();
    for (tok, which) in batch.tokens.iter().zip(&batch.which) {
        match *which {
            Some(k) => out.write_all(answers.get(k).as_bytes())?,
            None => {
                other.clear();
                write_unreadable(&mut other, tok, style);
                out.write_all(other.as_bytes())?;
            }
        }
    }
    Ok(())
}

/// Write the answers of `batch` (pushed with [`Answers::push_json`]) as JSON Lines: one
/// object per token, in input order: `input`, `address` (null when the token is not an
/// address), `frames`.
///
/// Errors: I/O errors of `out` only.
pub fn write_batch_json(
    batch: &Batch<'_>,
    answers: &Answers,
    out: &mut dyn Write,
) -> io::Result<()> {
    for (tok, which) in batch.tokens.iter().zip(&batch.which) {
        let input = serde_json::to_string(tok).map_err(io::Error::other)?;
        match *which {
            Some(k) => writeln!(out, "{{\"input\":{input},{}}}", answers.get(k))?,
            None => writeln!(out, "{{\"input\":{input},\"address\":null,\"frames\":[]}}")?,
        }
    }
    Ok(())
}

/// The frames of a resolved line as appended to it: `f at file:line (inlined by) g at …`.
fn describe(frames: &[Frame]) -> String {
    let one = |f: &Frame| {
        let func = f.function.as_deref().unwrap_or("??");
        match (&f.file, f.line) {
            (Some(file), Some(l)) => format!("{func} at {file}:{l}"),
            (Some(file), None) => format!("{func} at {file}"),
            _ => func.to_string(),
        }
    };
    frames
        .iter()
        .map(one)
        .collect::<Vec<_>>()
        .join(" (inlined by) ")
}

/// `line` with its resolution appended (`  # f at file:line`, and for an absolute address the
/// module in brackets), or unchanged.
pub fn rewritten_line(line: &str, found: Option<&Resolution>) -> String {
    match found {
        Some(r) if r.format == LineFormat::Absolute => {
            format!("{line}  # {} [{}]", describe(&r.frames), r.module.display())
        }
        Some(r) => format!("{line}  # {}", describe(&r.frames)),
        None => line.to_string(),
    }
}

/// One line of `--text` as JSON Lines: the line as read, and its resolution (`null` fields and
/// no frames when it is not a resolved backtrace line).
#[derive(serde::Serialize)]
struct RewrittenJson<'a> {
    line: &'a str,
    format: Option<LineFormat>,
    module: Option<&'a std::path::Path>,
    #[serde(serialize_with = "crate::base::hex::hex_opt")]
    address: Option<u64>,
    frames: &'a [Frame],
}

/// Write one line of `--text` as one JSON object on one line.
///
/// Errors: I/O errors of `out` only.
pub fn write_rewritten_json(
    line: &str,
    found: Option<&Resolution>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let j = RewrittenJson {
        line,
        format: found.map(|r| r.format),
        module: found.map(|r| r.module.as_path()),
        address: found.map(|r| r.address),
        frames: found.map_or(&[][..], |r| r.frames.as_slice()),
    };
    super::render_json_line(&j, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(
        function: Option<&str>,
        file: Option<&str>,
        line: Option<u32>,
        inlined: bool,
    ) -> Frame {
        Frame {
            function: function.map(str::to_string),
            file: file.map(str::to_string),
            line,
            column: None,
            inlined,
        }
    }

    #[test]
    fn as_binutils_prints_them() {
        let frames = [
            frame(Some("leaf"), Some("/src/a.c"), Some(3), true),
            frame(Some("outer"), Some("/src/a.c"), Some(5), false),
        ];
        let all = Addr2lineStyle {
            functions: true,
            inlines: true,
            ..Default::default()
        };
        assert_eq!(
            format_addr2line(0x1136, &frames, all),
            "leaf\n/src/a.c:3\nouter\n/src/a.c:5\n"
        );
        let pretty = Addr2lineStyle {
            pretty: true,
            addresses: true,
            basenames: true,
            ..all
        };
        assert_eq!(
            format_addr2line(0x1136, &frames, pretty),
            "0x0000000000001136: leaf at a.c:3\n (inlined by) outer at a.c:5\n"
        );
        // Without -i only the innermost frame.
        let plain = Addr2lineStyle::default();
        assert_eq!(format_addr2line(0x1136, &frames, plain), "/src/a.c:3\n");
        // Nothing known: "??:0"; a function without a line: "??:?" (binutils' spelling).
        let none = [frame(None, None, None, false)];
        assert_eq!(format_addr2line(0, &none, all), "??\n??:0\n");
        let func_only = [frame(Some("f"), None, None, false)];
        assert_eq!(format_addr2line(0, &func_only, all), "f\n??:?\n");
    }

    #[test]
    fn unreadable_tokens_and_order() {
        let batch = Batch {
            tokens: vec!["0x20", "zz", "0x10"],
            addresses: vec![0x10, 0x20],
            which: vec![Some(1), None, Some(0)],
        };
        let frames = [
            vec![frame(Some("a"), Some("x.c"), Some(1), false)],
            vec![frame(Some("b\"q"), Some("x.c"), Some(2), false)],
        ];
        let style = Addr2lineStyle {
            functions: true,
            addresses: true,
            ..Default::default()
        };
        let mut answers = Answers::default();
        for (a, f) in batch.addresses.iter().zip(&frames) {
            answers.push_text(*a, f, style);
        }
        let mut out = Vec::new();
        write_batch(&batch, &answers, style, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "0x0000000000000020\nb\"q\nx.c:2\nzz\n??\n??:0\n0x0000000000000010\na\nx.c:1\n"
        );
        answers.clear();
        for (a, f) in batch.addresses.iter().zip(&frames) {
            answers.push_json(*a, f);
        }
        let mut out = Vec::new();
        write_batch_json(&batch, &answers, &mut out).unwrap();
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["input"], "0x20");
        assert_eq!(lines[0]["address"], "0x20");
        assert_eq!(lines[0]["frames"][0]["function"], "b\"q");
        assert_eq!(lines[0]["frames"][0]["inlined"], false);
        assert_eq!(lines[1]["input"], "zz");
        assert!(lines[1]["address"].is_null());
        assert_eq!(lines[1]["frames"].as_array().unwrap().len(), 0);
        assert_eq!(lines[2]["frames"][0]["line"], 1);
    }

    #[test]
    fn rewritten_lines() {
        let r = Resolution {
            format: LineFormat::Absolute,
            module: "/usr/bin/w".into(),
            address: 0x1135,
            frames: vec![
                frame(Some("leaf"), Some("a.c"), Some(3), true),
                frame(Some("outer"), Some("a.c"), None, false),
            ],
        };
        assert_eq!(
            rewritten_line("#1 0x5555 in ?? ()", Some(&r)),
            "#1 0x5555 in ?? ()  # leaf at a.c:3 (inlined by) outer at a.c [/usr/bin/w]"
        );
        assert_eq!(rewritten_line("plain", None), "plain");
    }
}
