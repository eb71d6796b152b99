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
command line they are read from standard input, one or more per line.";

pub const AFTER_HELP: &str = "\
Examples:
  clw-diag symbolize -e ./worker -f -i -C 0x401136 0x4011a0
  nm ./worker | awk '{print $1}' | clw-diag symbolize -e ./worker -f -p";

#[derive(Debug, Args)]
pub struct SymbolizeArgs {
    /// The executable or library the addresses belong to.
    #[arg(short = 'e', long = "exe", value_name = "BIN")]
    pub exe: PathBuf,
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

pub fn run(a: SymbolizeArgs, _out: &Output) -> anyhow::Result<ExitCode> {
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
    let stdout = std::io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    let mut one = |s: &str, w: &mut dyn Write| -> anyhow::Result<()> {
        match parse_addr(s) {
            Some(addr) => {
                let frames = sym.frames(&a.exe, addr, a.demangle)?;
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
