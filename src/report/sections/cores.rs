//! The core files section (`backtrace`): cores newer than `--since` in `--cores DIR`, newest
//! first, at most ten, each with its crash signature and crashing thread.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{confined, slug, Facts, Outcome};
use crate::render::{self, Style};
use crate::report::bundle::Content;
use crate::report::model::{FindingKind, Options, SectionData, SectionId, Status};

/// Cores read at most.
const MAX_CORES: usize = 10;

/// Whether `f` starts like an ELF core file (`e_type` ET_CORE).
fn is_core(mut f: &std::fs::File) -> bool {
    use std::io::Read;
    let mut h = [0u8; 18];
    f.read_exact(&mut h).is_ok()
        && &h[..4] == b"\x7fELF"
        && match h[5] {
            1 => u16::from_le_bytes([h[16], h[17]]) == 4,
            2 => u16::from_be_bytes([h[16], h[17]]) == 4,
            _ => false,
        }
}

/// Core files modified at or after `since` in `dirs`, newest first, and the notes: directories
/// that could not be read, and symlinks that lead out of their directory (skipped, see
/// [`confined`]). Directories and special files are passed over without a word (a core
/// directory such as `/tmp` holds many).
fn find_cores(dirs: &[PathBuf], since: SystemTime) -> (Vec<PathBuf>, Vec<String>) {
    let mut found: Vec<(SystemTime, PathBuf)> = Vec::new();
    let mut notes = Vec::new();
    for d in dirs {
        let rd = match std::fs::read_dir(d) {
            Ok(rd) => rd,
            Err(e) => {
                notes.push(format!("{}: {e}", d.display()));
                continue;
            }
        };
        for e in rd.flatten() {
            let Ok(t) = e.file_type() else { continue };
            if !(t.is_file() || t.is_symlink()) {
                continue;
            }
            let c = match confined::open_in(&e.path(), d) {
                Ok(c) => c,
                Err(note) => {
                    if t.is_symlink() && note.contains("outside") {
                        notes.push(note);
                    }
                    continue;
                }
            };
            let Ok(mtime) = c.file.metadata().and_then(|m| m.modified()) else {
                continue;
            };
            if mtime >= since && is_core(&c.file) {
                found.push((mtime, c.path));
            }
        }
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    (found.into_iter().map(|(_, p)| p).collect(), notes)
}

/// The crashing thread of the core at `p` and its crash signature (`backtrace`, the same call
/// for `--cores` and the systemd-coredump store): a finding of `section` and the backtrace's
/// text for the bundle; `Err` is the note saying why it could not be read.
pub(super) fn backtrace_core(
    p: &std::path::Path,
    section: SectionId,
    facts: &mut Facts,
) -> Result<crate::symbolize::backtrace::Backtrace, String> {
    let mut bt =
        crate::symbolize::backtrace::backtrace(p, &crate::symbolize::backtrace::Options::default())
            .map_err(|e| format!("{}: could not be read: {e}", p.display()))?;
    bt.threads.retain(|t| t.crashed);
    let mut out = Vec::new();
    let _ = render::write_backtrace(&bt, Style::default(), &mut out);
    facts.find(
        section,
        FindingKind::Crash,
        format!(
            "{} crashed: {}",
            bt.command.clone().unwrap_or_else(|| "a process".into()),
            bt.crash_signature
        ),
        format!("{}: {}", section.as_str(), p.display()),
    );
    facts.raw.push((
        format!("backtraces/{}.txt", slug(p)),
        Content::Text(String::from_utf8_lossy(&out).into_owned()),
    ));
    Ok(bt)
}

/// Cores newer than `--since`: their crashing threads and crash signatures.
pub fn cores(o: &Options) -> Outcome {
    if o.cores.is_empty() {
        return Outcome::empty("no core directory asked for (--cores DIR)".into());
    }
    let since = UNIX_EPOCH + Duration::from_micros(o.since_us.max(0) as u64);
    let (found, mut notes) = find_cores(&o.cores, since);
    if found.is_empty() {
        let mut out = Outcome::empty(format!(
            "no core files newer than {} in {}",
            o.since_label,
            o.cores
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if notes.len() == o.cores.len() {
            out.status = Status::Failed;
        }
        out.notes.extend(notes);
        return out;
    }
    let mut facts = Facts::default();
    let mut data = Vec::new();
    for p in found.iter().take(MAX_CORES) {
        match backtrace_core(p, SectionId::Cores, &mut facts) {
            Ok(bt) => data.push(bt),
            Err(e) => notes.push(e),
        }
    }
    if found.len() > MAX_CORES {
        notes.push(format!(
            "{} older core(s) left out",
            found.len() - MAX_CORES
        ));
    }
    let mut out = Outcome::ok(SectionData::Cores(data), facts);
    out.notes = notes;
    out
}
