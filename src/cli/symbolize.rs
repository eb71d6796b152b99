//! `clw-diag symbolize`: binutils-addr2line-compatible address lookup.

use std::io::{BufRead, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use clw_diag::render::symbolize::{self as render, Addr2lineStyle};
use clw_diag::render::Format;
use clw_diag::symbolize::Symbolizer;

use super::progress::Progress;
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
process's memory map: --maps FILE, --pid PID, or --core CORE (the mapped files of a core dump).";

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
    #[arg(long, value_name = "PID", requires = "text", conflicts_with = "core")]
    pub pid: Option<u32>,
    /// With --text: take the memory map from this core dump's NT_FILE note (the process that
    /// printed the backtrace, after it crashed).
    #[arg(long, value_name = "CORE", requires = "text", conflicts_with = "maps")]
    pub core: Option<PathBuf>,
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
    /// Fetch missing debug files by build ID from the servers in DEBUGINFOD_URLS (also on
    /// whenever DEBUGINFOD_URLS is set; never otherwise).
    #[arg(long)]
    pub debuginfod: bool,
    /// Addresses (hexadecimal).
    #[arg(value_name = "ADDR")]
    pub addrs: Vec<String>,
}

fn run_text(a: &SymbolizeArgs, input: &std::path::Path, out: &Output) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    use clw_diag::base::input::{self, Accept};
    use clw_diag::symbolize::text::{parse_maps, Rewriter};
    let maps_text = match (&a.maps, a.pid) {
        // A file or a pipe (`<(ssh host cat /proc/PID/maps)`), never a device, at most
        // MAX_MAPS bytes.
        (Some(m), _) => Some(input::read_capped(m, Accept::Stream, MAX_MAPS, MAPS_WHAT)?),
        (None, Some(pid)) => {
            let p = std::path::PathBuf::from(format!("/proc/{pid}/maps"));
            Some(
                input::read_capped(&p, Accept::Regular, MAX_MAPS, MAPS_WHAT).with_context(
                    || {
                        format!(
                            "{}: cannot read the map (no such process, or it belongs to another user)",
                            p.display()
                        )
                    },
                )?,
            )
        }
        _ => None,
    };
    let mut maps = maps_text.as_deref().map(parse_maps).unwrap_or_default();
    if let Some(core) = &a.core {
        let c = clw_diag::coredump::core::Core::open(core)?;
        maps = c
            .files
            .iter()
            .map(|f| clw_diag::symbolize::text::MapEntry {
                start: f.start,
                end: f.end,
                offset: f.offset,
                path: PathBuf::from(f.path.strip_suffix(" (deleted)").unwrap_or(&f.path)),
            })
            .collect();
        if maps.is_empty() {
            anyhow::bail!(
                "{}: the core has no NT_FILE note (no mapped files to resolve addresses with)",
                core.display()
            );
        }
    }
    if maps_text.is_some() && maps.is_empty() {
        let what = a
            .maps
            .as_ref()
            .map_or("the map".into(), |m| m.display().to_string());
        anyhow::bail!("{what}: no /proc/PID/maps lines of a mapped file in it");
    }
    let sym = symbolizer(a)?;
    let mut rw = Rewriter {
        sym,
        maps,
        demangle: true,
    };
    // A file, a pipe or a terminal; never a device that has no end (`/dev/zero`), and a FIFO
    // without a writer does not block the open.
    // An endless stream of binary data (`cat /dev/zero |`) ends after MAX_BINARY_WINDOW bytes.
    let (mut reader, bar, binary): (Box<dyn BufRead>, Option<Progress>, _) = if input.as_os_str()
        == "-"
    {
        input::stdin(Accept::Stream)?;
        // A spinner only when the input is piped in: typed lines need no progress.
        let bar = (!std::io::stdin().is_terminal()).then(|| Progress::spinner(out, "symbolize"));
        let g = input::TextGuard::new(std::io::stdin().lock());
        let flag = g.flag();
        (Box::new(std::io::BufReader::new(g)), bar, flag)
    } else {
        let f = input::open(input, Accept::Stream)?;
        let len = f.len.unwrap_or(0);
        let g = input::TextGuard::new(f.file);
        let flag = g.flag();
        (
            Box::new(std::io::BufReader::new(g)),
            Some(Progress::bytes(out, "symbolize", len)),
            flag,
        )
    };
    let name = if input.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        input.display().to_string()
    };
    if let Some(b) = &bar {
        b.message("rewriting backtraces");
    }
    let stdout = std::io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    let json = out.format == Format::Json;
    let mut line = Vec::new();
    let mut long_lines = 0u64;
    loop {
        // At most MAX_LINE bytes of a line are held; the rest of a longer one is skipped.
        line.clear();
        let n =
            std::io::Read::take(reader.as_mut(), MAX_LINE as u64).read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        } else if line.len() >= MAX_LINE {
            long_lines += 1;
            let skipped = skip_line(reader.as_mut())?;
            if let Some(b) = &bar {
                b.inc(skipped);
            }
        }
        if let Some(b) = &bar {
            b.inc(n as u64);
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches('\r');
        let found = rw.line(text);
        // A binary that shrank under its mapping answered from zeros: an error, not a line.
        rw.sym.check()?;
        if json {
            render::write_rewritten_json(text, found.as_ref(), &mut w)?;
        } else {
            writeln!(w, "{}", render::rewritten_line(text, found.as_ref()))?;
        }
    }
    w.flush()?;
    drop(bar);
    if long_lines > 0 {
        out.note(&format!(
            "{name}: {long_lines} line(s) longer than {} MiB were cut there (only their start was searched and printed)",
            MAX_LINE >> 20
        ));
    }
    if binary.load(std::sync::atomic::Ordering::Relaxed) {
        anyhow::bail!(input::TextGuard::<()>::note(&name));
    }
    Ok(ExitCode::SUCCESS)
}

/// Longest line of `--text` input held (bytes), and longest line of addresses on standard input.
const MAX_LINE: usize = 1 << 20;

/// Largest `--maps` file read (bytes): 200,000 mappings are about 20 MB.
const MAX_MAPS: u64 = 64 << 20;
const MAPS_WHAT: &str = "a /proc/PID/maps file";

/// Skip the rest of a line (up to and with its `\n`) without holding it; the bytes skipped.
fn skip_line(r: &mut dyn BufRead) -> std::io::Result<u64> {
    let mut skipped = 0u64;
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(skipped);
        }
        let (n, end) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        r.consume(n);
        skipped += n as u64;
        if end {
            return Ok(skipped);
        }
    }
}

/// Standard input is answered in batches of at most this many bytes.
const BATCH_BYTES: usize = 4 << 20;

/// Answers addresses a batch at a time through one library call per batch
/// (`Symbolizer::resolve_batch`), rendered as addr2line text or JSON Lines. (A second thread
/// does not pay: `addr2line::Loader` is not `Sync`, so it would load and parse the debug
/// information again, 70 ms and 40 MB for libc.)
struct Batcher<'a> {
    exe: &'a std::path::Path,
    style: Addr2lineStyle,
    json: bool,
    sym: Symbolizer,
    /// Reused between batches: each distinct address's answer, formatted as it is resolved.
    answers: render::Answers,
}

impl Batcher<'_> {
    /// Answer every address of `text` (whole lines, addresses separated by white space), in
    /// order, to `w`. Bytes that are not UTF-8 make a token no address.
    fn answer_lines(&mut self, text: &[u8], w: &mut impl Write) -> anyhow::Result<()> {
        let text = String::from_utf8_lossy(text);
        let toks: Vec<&str> = text.lines().flat_map(str::split_whitespace).collect();
        self.answer(&toks, w)
    }

    /// Answer every token, in order, to `w`.
    fn answer(&mut self, toks: &[&str], w: &mut impl Write) -> anyhow::Result<()> {
        let (style, json) = (self.style, self.json);
        let answers = &mut self.answers;
        answers.clear();
        let batch = self
            .sym
            .resolve_batch(self.exe, toks, style.demangle, |addr, frames| {
                if json {
                    answers.push_json(addr, frames);
                } else {
                    answers.push_text(addr, frames, style);
                }
            })?;
        if json {
            render::write_batch_json(&batch, answers, w)?;
        } else {
            render::write_batch(&batch, answers, style, w)?;
        }
        Ok(())
    }
}

/// Whether more of standard input can be read without waiting.
fn stdin_ready() -> bool {
    let mut p = libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no timeout.
    unsafe { libc::poll(&mut p, 1, 0) == 1 }
}

/// Addresses from standard input. Each batch is what the input holds at the time (a file: up to
/// [`BATCH_BYTES`]; a terminal or a coprocess that writes one address and waits: that line), and
/// its answers are flushed before the next read, so interactive use works as with addr2line.
fn answer_stdin(b: &mut Batcher<'_>, w: &mut impl Write) -> anyhow::Result<()> {
    use std::io::Read;
    let mut stdin = std::io::stdin().lock();
    // Reads at least as large as the StdinLock's own buffer go straight into ours, so `poll` on
    // the descriptor sees everything not yet taken.
    let mut chunk = vec![0u8; 256 << 10];
    let mut pending = Vec::new();
    let mut eof = false;
    while !eof {
        loop {
            let n = match stdin.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            if n == 0 {
                eof = true;
                break;
            }
            pending.extend_from_slice(&chunk[..n]);
            if pending.len() >= BATCH_BYTES || !stdin_ready() {
                break;
            }
        }
        // Whole lines are answered; the unended rest waits for more, up to MAX_LINE bytes.
        let ended = memchr::memrchr(b'\n', &pending).map_or(0, |i| i + 1);
        if pending.len() - ended > MAX_LINE {
            anyhow::bail!(
                "<stdin>: a line longer than {} MiB (addresses are hexadecimal words, one or more per line; is this binary data?)",
                MAX_LINE >> 20
            );
        }
        let whole = if eof { pending.len() } else { ended };
        if whole == 0 {
            continue;
        }
        b.answer_lines(&pending[..whole], w)?;
        w.flush()?;
        pending.drain(..whole);
    }
    Ok(())
}

/// The symbolizer with the debug directories and debuginfod servers of the flags.
fn symbolizer(a: &SymbolizeArgs) -> anyhow::Result<Symbolizer> {
    let mut sym = Symbolizer::new();
    sym.debug.dirs.extend(a.debug_dir.iter().cloned());
    sym.debug.debuginfod = clw_diag::symbolize::debuginfod::Debuginfod::from_env(a.debuginfod)
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(sym)
}

pub fn run(a: SymbolizeArgs, out: &Output) -> anyhow::Result<ExitCode> {
    // Refused before any work: the answers are one record per address (or line), not a table.
    match out.format {
        Format::Csv => anyhow::bail!("csv is not available for symbolize; use --json"),
        Format::Github | Format::Folded => {
            anyhow::bail!("--format github and folded are not available for symbolize; use --json")
        }
        Format::Table | Format::Json => {}
    }
    if let Some(input) = &a.text {
        return run_text(&a, input, out);
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
    if a.addrs.is_empty() {
        // Addresses from standard input: refused before the binary is loaded when it is a
        // device (`< /dev/zero`), which has no end.
        clw_diag::base::input::stdin(clw_diag::base::input::Accept::Stream)?;
    }
    let mut sym = symbolizer(&a)?;
    sym.open(&exe)?;
    let mut b = Batcher {
        exe: &exe,
        style,
        json: out.format == Format::Json,
        sym,
        answers: render::Answers::default(),
    };
    let stdout = std::io::stdout();
    let mut w = BufWriter::with_capacity(256 << 10, stdout.lock());
    if a.addrs.is_empty() {
        answer_stdin(&mut b, &mut w)?;
    } else {
        let toks: Vec<&str> = a.addrs.iter().map(String::as_str).collect();
        b.answer(&toks, &mut w)?;
    }
    w.flush()?;
    // The parsed debug information is freed by the exit, not piece by piece (5 % of the time
    // on 100,000 libc addresses).
    std::mem::forget(b);
    Ok(ExitCode::SUCCESS)
}
