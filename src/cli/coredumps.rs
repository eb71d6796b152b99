//! `clw-diag coredumps [MATCH]`.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use clw_diag::coredump::store::{self, JournalSource, Match, Query};

use super::Output;

pub const LONG_ABOUT: &str = "\
List the crashes systemd-coredump stored, newest first, as `coredumpctl list` does, without \
needing coredumpctl: time, pid, uid, signal, command (and executable), compression, stored size, \
unit and file.

The core files are found in /var/lib/systemd/coredump (--dir for a copy), named by systemd as \
core.COMM.UID.BOOTID.PID.USEC[.zst|.lz4|.xz] (COMM escaped as \\xNN where systemd escapes it; \
USEC is the crash time in microseconds since the epoch); the compression is checked against \
each file's first bytes. Other files there are skipped and counted.

Where journalctl works, systemd-coredump's journal entries (MESSAGE_ID=\
fc2e22bc6ee647b6b90729ab34a250b1) are joined to the files by COREDUMP_FILENAME, else by pid and \
time: unit, cgroup, command line, executable, signal, container, and whether the core was \
truncated (COREDUMP_TRUNCATED). A crash whose file is gone (vacuumed, Storage=none) is listed \
from the journal with no file, and why. Without a journal (journalctl missing, no journal files) \
the listing comes from the file names, and a note says so.

MATCH: a number is a pid; anything else is a substring of the command (comm) or of the \
executable's path. --since keeps crashes at or after a time (a duration back from now, or a \
timestamp). Backtrace one with `clw-diag backtrace FILE`.

The store is readable by root and the systemd-journal group. When the default directory does not \
exist (systemd-coredump not in use), the listing is empty and says so; a --dir that does not \
exist, or permission denied, is an error (exit 2).";

pub const AFTER_HELP: &str = "\
Examples:
  clw-diag coredumps                          every stored crash, newest first
  clw-diag coredumps --since 1h worker        crashes of commands matching 'worker' in the last hour
  clw-diag coredumps 4242 --json              the crash of pid 4242, as JSON
  clw-diag coredumps --dir /srv/copy/coredump --journal-dir /srv/copy/journal   a copied host";

#[derive(Debug, Args)]
pub struct CoredumpsArgs {
    /// A pid (a number), or a substring of the command or executable path.
    #[arg(value_name = "MATCH")]
    pub matcher: Option<String>,
    /// Only crashes at or after this time: a duration back from now (30m, 2h, 1d) or a
    /// timestamp (2024-04-15T10:00:00Z).
    #[arg(long, value_name = "DURATION|TIMESTAMP", value_parser = clw_diag::base::time::parse_since)]
    pub since: Option<i64>,
    /// The store directory [default: /var/lib/systemd/coredump].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Read the journal files in DIR (journalctl --directory; e.g. a copied /var/log/journal).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["journal_file", "no_journal"])]
    pub journal_dir: Option<PathBuf>,
    /// Read this journal file (journalctl --file).
    #[arg(long, value_name = "FILE", conflicts_with = "no_journal")]
    pub journal_file: Option<PathBuf>,
    /// Do not read the journal: list from the file names only.
    #[arg(long)]
    pub no_journal: bool,
}

impl CoredumpsArgs {
    /// The library's query.
    fn query(&self) -> Query {
        let journal = if self.no_journal {
            JournalSource::Off
        } else if let Some(d) = &self.journal_dir {
            JournalSource::Directory(d.clone())
        } else if let Some(f) = &self.journal_file {
            JournalSource::File(f.clone())
        } else {
            JournalSource::System
        };
        Query {
            dir: self
                .dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(store::DEFAULT_DIR)),
            dir_explicit: self.dir.is_some(),
            since_us: self.since,
            matcher: self.matcher.as_deref().map(Match::parse),
            journal,
        }
    }
}

pub fn run(a: CoredumpsArgs, out: &Output) -> anyhow::Result<ExitCode> {
    if let Some(f) = &a.journal_file {
        if !f.is_file() {
            anyhow::bail!("{}: --journal-file must name a journal file", f.display());
        }
    }
    if let Some(d) = &a.journal_dir {
        if !d.is_dir() {
            anyhow::bail!("{}: --journal-dir must be a directory", d.display());
        }
    }
    let listing = store::list(&a.query())?;
    let stdout = std::io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    if listing.crashes.is_empty() && out.format == clw_diag::render::Format::Table {
        // No table for nothing: the notes, then the one line.
        listing.notes.iter().for_each(|n| out.note(n));
    } else {
        out.render(&listing, None, &mut w)?;
    }
    w.flush()?;
    if listing.crashes.is_empty() {
        if out.format != clw_diag::render::Format::Table {
            listing.notes.iter().for_each(|n| out.note(n));
        }
        out.note(&format!(
            "no stored crashes{}{} in {}",
            a.matcher
                .as_ref()
                .map(|m| format!(" matching {m:?}"))
                .unwrap_or_default(),
            listing
                .since
                .as_ref()
                .map(|s| format!(" since {s}"))
                .unwrap_or_default(),
            listing.dir.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}
