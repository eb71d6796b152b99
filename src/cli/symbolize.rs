//! `clw-diag symbolize`: binutils-addr2line-compatible address lookup.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use clw_diag::symbolize::{format_addr2line, Addr2lineStyle, Symbolizer};

use super::Output;

pub const LONG_ABOUT: &str = "\
Resolve addresses to function, file and line, with inline frames, like binutils addr2line \
(same flags, same output), from the binary's DWARF or from its separate debug file (found by \
build ID under /usr/lib/debug/.build-id, or by .gnu_debuglink next to the binary, in its .debug/ \
directory or under /usr/lib/debug); without DWARF the symbol table names the function. \
Addresses are hexadecimal (with or without 0x) in the ELF file's address space; with none on the \
command line they are read from standard input, one or more per line.

--text rewrites raw backtraces in logs, each format with its own address rule: glibc \
backtrace_symbols (path(+0xOFF)[0xADDR] and path(sym+0xOFF)[...]: return addresses, relative to \
the module), sanitizer reports (#N 0xADDR (module+0xOFF): already pc-1), gdb (#N 0xADDR in ?? ()) \
and Rust RUST_BACKTRACE=full (N: 0xADDR - <unknown>); the last two are absolute and need the \
process's memory map: --maps FILE or --pid PID.";

pub const AFTER_HELP: &str = "\
Examples:
  clw-diag symbolize -e ./worker -f -i -C 0x401136 0x4011a0
  nm ./worker | awk '{print $1}' | clw-diag symbolize -e ./worker -f -p
  clw-diag symbolize --text worker.log
  clw-diag symbolize --text gdb-bt.txt --maps maps.txt";

#[derive(Debug, Args)]
pub struct SymbolizeArgs {
    /// The executable or library the addresses belong to.
    #[arg(
        short = 'e',
        long = "exe",
        value_name = "BIN",
        required_unless_present = "text"
    )]
    pub exe: Option<PathBuf>,
    /// Rewrite the raw backtraces found in FILE (or standard input): glibc backtrace_symbols,
    /// sanitizer, gdb "?? ()" and Rust RUST_BACKTRACE=full frames get function, file and line.
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-", conflicts_with = "exe")]
    pub text: Option<PathBuf>,
    /// With --text: the memory map (/proc/PID/maps format) for absolute addresses.
    #[arg(long, value_name = "FILE", requires = "text", conflicts_with = "pid")]
    pub maps: Option<PathBuf>,
    /// With --text: read the memory map of this running process.
    #[arg(long, value_name = "PID", requires = "text")]
    pub pid: Option<u32>,
    /// Print function names.
    #[arg(short = 'f', long)]
    pub functions: bool,
    /// Print the callers of inlined functions too.
    #[arg(short = 'i', long)]
    pub inlines: bool,
    /// Demangle C++ and Rust names.
    #[arg(short = 'C', long)]
    pub demangle: bool,
    /// Print each address before its lines.
    #[arg(short = 'a', long)]
    pub addresses: bool,
    /// Print each address on one line ("pretty").
    #[arg(short = 'p', long = "pretty-print")]
    pub pretty: bool,
    /// Print file base names only.
    #[arg(short = 's', long)]
    pub basenames: bool,
    /// Also look for separate debug files in DIR.
    #[arg(long, value_name = "DIR")]
    pub debug_dir: Vec<PathBuf>,
    /// Addresses (hexadecimal).
    #[arg(value_name = "ADDR")]
    pub addrs: Vec<String>,
}

fn parse_addr(s: &str) -> Option<u64> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    u64::from_str_radix(t, 16).ok()
}

fn run_text(a: &SymbolizeArgs, input: &PathBuf) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    use clw_diag::symbolize::text::{parse_maps, Rewriter};
    let maps_text = match (&a.maps, a.pid) {
        (Some(m), _) => Some(
            std::fs::read(m).with_context(|| format!("{}: cannot read the map", m.display()))?,
        ),
        (None, Some(pid)) => {
            let p = format!("/proc/{pid}/maps");
            Some(std::fs::read(&p).with_context(|| {
                format!("{p}: cannot read the map (no such process, or it belongs to another user)")
            })?)
        }
        _ => None,
    };
    let maps = maps_text.as_deref().map(parse_maps).unwrap_or_default();
    if maps_text.is_some() && maps.is_empty() {
        let what = a
            .maps
            .as_ref()
            .map_or("the map".into(), |m| m.display().to_string());
        anyhow::bail!("{what}: no /proc/PID/maps lines of a mapped file in it");
    }
    let mut sym = Symbolizer::new();
    sym.debug_dirs.extend(a.debug_dir.iter().cloned());
    let mut rw = Rewriter {
        sym,
        maps,
        demangle: true,
    };
    let reader: Box<dyn BufRead> = if input.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(input)
                .with_context(|| format!("{}: cannot open", input.display()))?,
        ))
    };
    let stdout = std::io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    for line in reader.split(b'\n') {
        let line = line?;
        let text = String::from_utf8_lossy(&line);
        writeln!(w, "{}", rw.line(text.trim_end_matches('\r')))?;
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub fn run(a: SymbolizeArgs, _out: &Output) -> anyhow::Result<ExitCode> {
    if let Some(input) = &a.text {
        return run_text(&a, input);
    }
    let exe = a
        .exe
        .clone()
        .ok_or_else(|| anyhow::anyhow!("-e BIN is required"))?;
    let style = Addr2lineStyle {
        functions: a.functions,
        inlines: a.inlines,
        demangle: a.demangle,
        addresses: a.addresses,
        pretty: a.pretty,
        basenames: a.basenames,
    };
    let mut sym = Symbolizer::new();
    sym.debug_dirs.extend(a.debug_dir.iter().cloned());
    sym.open(&exe)?;
    let stdout = std::io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    let mut one = |s: &str, w: &mut dyn Write| -> anyhow::Result<()> {
        match parse_addr(s) {
            Some(addr) => {
                let frames = sym.frames(&exe, addr, a.demangle)?;
                w.write_all(format_addr2line(addr, &frames, style).as_bytes())?;
            }
            None => {
                // As binutils does for an address it cannot read: unknown location.
                if style.addresses {
                    writeln!(w, "{s}")?;
                }
                if style.functions {
                    writeln!(w, "??")?;
                }
                writeln!(w, "??:0")?;
            }
        }
        Ok(())
    };
    if a.addrs.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            for tok in line.split_whitespace() {
                one(tok, &mut w)?;
            }
            // Flush per input line so interactive use works.
            w.flush()?;
        }
    } else {
        for s in &a.addrs {
            one(s, &mut w)?;
        }
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}
