//! The `.tar.gz` bundle of a report's raw inputs (log excerpts, `/proc` files, cgroup files...).
//!
//! Bundles leave the machine (attached to tickets), so everything text goes through
//! [`super::redact::redact`] on the way in, and the file is created readable by its owner
//! only. Layout, for `Bundle::create(out, force, "clw-diag-report-HOST", limits)`:
//!
//! ```text
//! clw-diag-report-HOST/<path>           what add_text / add_file / add_bytes_unredacted stored
//! clw-diag-report-HOST/MANIFEST.txt     every file, its size, how many secrets were redacted,
//!                                       and what was truncated or left out (written last)
//! ```
//!
//! Every entry is a regular file with mode 0600, uid/gid 0 and the write time as mtime, so
//! unpacking the bundle as anyone never produces group- or world-readable copies. Entry paths are
//! sanitized (no `..`, no leading `/`, no empty or `.` components), so unpacking cannot escape the
//! root directory; all naming is in [`Bundle::entry_name`].
//!
//! **Bounded.** An entry is streamed into the gzip writer as it is added, so the bundle is never
//! held in memory; an entry keeps at most [`Limits::entry_max`] bytes (8 MiB: the `smaps` of a
//! process with 200k mappings is 147 MB) and ends with a `[truncated at N bytes of M]` line when
//! there was more; all entries together keep at most [`Limits::total_max`] bytes (`--bundle-max`,
//! 64 MiB by default, before compression), past which entries are cut, then left out, and the
//! manifest says so. A `/proc` file added with [`Bundle::add_file`] is read only up to the
//! bound (the rest is counted, not kept).
//!
//! **Not ours to overwrite.** The file is made through [`crate::base::output`]: anything at the
//! path that is not a regular file (a device such as `/dev/null`, a FIFO, a socket, a directory,
//! a symlink such as `/dev/stdout`) is refused, even with `force`; an existing regular file is
//! replaced only with `force`; the archive is written to a 0600 temporary file beside it,
//! `fsync`ed and renamed over the destination by [`Bundle::finish`], so a reader never sees half
//! an archive.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use flate2::write::GzEncoder;
use flate2::Compression;

use super::redact::{numbered_file_name, redact, redact_file_name};
use crate::base::input::{self, Accept};
use crate::base::output::{self, Output};
use crate::{Error, Result};

/// Name of the generated manifest entry (under the root directory).
pub const MANIFEST: &str = "MANIFEST.txt";

/// Mode of every entry in the archive and of the archive file itself.
const MODE: u32 = 0o600;

/// Bytes one entry keeps at most (before compression).
pub const ENTRY_MAX: u64 = 8 << 20;

/// Bytes all entries keep at most by default (`--bundle-max`, before compression).
pub const TOTAL_MAX: u64 = 64 << 20;

/// The content of a raw input for the bundle: text read already, or a file to read (capped)
/// when the bundle is written, so a report without `--bundle` never reads it at all.
#[derive(Debug, Clone)]
pub enum Content {
    /// Text from the host (a log tail, a cgroup file); redacted when stored.
    Text(String),
    /// A file to read when the bundle is written (`/proc/PID/smaps`), at most
    /// [`Limits::entry_max`] bytes of it; redacted when stored.
    File(PathBuf),
}

/// The bounds of a bundle, bytes before compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// What one entry keeps at most ([`ENTRY_MAX`]).
    pub entry_max: u64,
    /// What all entries keep at most ([`TOTAL_MAX`], `--bundle-max`); the manifest is not
    /// counted.
    pub total_max: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            entry_max: ENTRY_MAX,
            total_max: TOTAL_MAX,
        }
    }
}

/// What the manifest says of one entry.
struct Entry {
    path: String,
    /// Bytes stored.
    size: u64,
    /// Secrets redacted from this entry; None for bytes stored unredacted.
    redacted: Option<usize>,
    /// Truncated, left out or unreadable, and why.
    note: Option<String>,
}

/// A `.tar.gz` being written: entries go out as they are added; [`finish`](Bundle::finish)
/// adds the manifest and puts the file in place.
pub struct Bundle {
    root: String,
    out: PathBuf,
    tar: tar::Builder<GzEncoder<Output>>,
    entries: Vec<Entry>,
    names: HashSet<String>,
    /// Secrets redacted from entry names (counted with the bundle's).
    name_secrets: usize,
    limits: Limits,
    stored: u64,
    mtime: u64,
}

/// What [`Bundle::finish`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Entries stored (without the manifest).
    pub files: usize,
    /// Secrets redacted over all entries.
    pub redacted: usize,
    /// Entries cut at a bound.
    pub truncated: usize,
    /// Entries left out (the total bound reached, or unreadable).
    pub left_out: usize,
}

impl Bundle {
    /// Start writing a bundle to `out` whose entries go under `root_name/` (sanitized like entry
    /// paths; `report` if nothing is left of it).
    ///
    /// Errors: what [`output::create`] refuses (not a regular file at `out`, even with `force`;
    /// an existing file without `force`) and [`Error::Io`] when the temporary file cannot be
    /// created.
    pub fn create(out: &Path, force: bool, root_name: &str, limits: Limits) -> Result<Bundle> {
        let root = redact_file_name(&sanitize(root_name)).text;
        let file = output::create(out, force, output::PRIVATE)?;
        Ok(Bundle {
            root: if root.is_empty() {
                "report".to_string()
            } else {
                root
            },
            out: out.to_path_buf(),
            tar: tar::Builder::new(GzEncoder::new(file, Compression::default())),
            entries: Vec::new(),
            names: HashSet::new(),
            name_secrets: 0,
            limits,
            stored: 0,
            mtime: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        })
    }

    /// Store `text` at `path` after redacting its secrets, cut at the bounds.
    ///
    /// Errors: [`Error::Io`] naming the bundle when it cannot be written.
    pub fn add_text(&mut self, path: &str, text: &str) -> Result<()> {
        let cap = self.cap();
        let total = text.len() as u64;
        let kept = if total > cap {
            cut(text.as_bytes(), cap)
        } else {
            text.as_bytes()
        };
        let kept = String::from_utf8_lossy(kept);
        self.store_text(path, &kept, total)
    }

    /// Store `bytes` at `path` as they are. Only for binary data that cannot hold secrets
    /// (a PNG plot, a compressed trace the report itself produced); anything that may contain
    /// text from the host (logs, `/proc` files, environment, command lines) must go through
    /// [`add_text`](Bundle::add_text) or [`add_file`](Bundle::add_file). Binary data cannot be
    /// cut: past a bound it is left out.
    ///
    /// Errors: [`Error::Io`] naming the bundle when it cannot be written.
    pub fn add_bytes_unredacted(&mut self, path: &str, bytes: &[u8]) -> Result<()> {
        let name = self.entry_name(path);
        if bytes.len() as u64 > self.cap() {
            self.left_out(
                name,
                format!("left out: {} bytes, over the bound", bytes.len()),
            );
            return Ok(());
        }
        self.append(name, bytes, None, None)
    }

    /// Store the file `src` at `path`, redacted: at most the bound of bytes is read, the rest
    /// only counted (so `/proc/PID/smaps` of a process with 200k mappings costs 8 MiB, not
    /// 147 MB). A file that cannot be read is named in the manifest instead.
    ///
    /// Errors: [`Error::Io`] naming the bundle when it cannot be written.
    pub fn add_file(&mut self, path: &str, src: &Path) -> Result<()> {
        let cap = self.cap();
        let read = || -> Result<(Vec<u8>, u64)> {
            let mut inp = input::open(src, Accept::Regular)?;
            // Reserved, not touched: only what is read becomes resident, and the buffer never
            // doubles past the bound while it grows.
            let mut kept =
                Vec::with_capacity(cap.saturating_add(1).min(usize::MAX as u64) as usize);
            (&mut inp.file)
                .take(cap.saturating_add(1))
                .read_to_end(&mut kept)
                .map_err(|e| Error::io(src, e))?;
            let mut total = kept.len() as u64;
            if total > cap {
                // Count the rest without keeping it (a /proc file has no size to ask).
                let rest = std::io::copy(&mut inp.file, &mut std::io::sink())
                    .map_err(|e| Error::io(src, e))?;
                total += rest;
                let n = cut(&kept, cap).len();
                kept.truncate(n);
            }
            Ok((kept, total))
        };
        match read() {
            Ok((kept, total)) => {
                let text = String::from_utf8(kept)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                self.store_text(path, &text, total)
            }
            Err(e) => {
                let name = self.entry_name(path);
                self.left_out(name, format!("left out: {e}"));
                Ok(())
            }
        }
    }

    /// [`add_text`](Bundle::add_text) or [`add_file`](Bundle::add_file) by the content.
    ///
    /// Errors: theirs.
    pub fn add(&mut self, path: &str, content: &Content) -> Result<()> {
        match content {
            Content::Text(t) => self.add_text(path, t),
            Content::File(p) => self.add_file(path, p),
        }
    }

    /// What the next entry may keep: the per-entry bound, or what is left of the total one.
    fn cap(&self) -> u64 {
        self.limits
            .entry_max
            .min(self.limits.total_max.saturating_sub(self.stored))
    }

    /// Redact `kept` (the first bytes of an input of `total` bytes) and store it, with the
    /// truncation line when something was cut.
    fn store_text(&mut self, path: &str, kept: &str, total: u64) -> Result<()> {
        let name = self.entry_name(path);
        let n = kept.len() as u64;
        if n == 0 && total > 0 {
            let why = if self.limits.total_max <= self.stored {
                format!(
                    "left out: the bundle reached its bound of {} bytes (--bundle-max)",
                    self.limits.total_max
                )
            } else {
                format!("left out: {total} bytes, no line fits the bound")
            };
            self.left_out(name, why);
            return Ok(());
        }
        let r = redact(kept);
        let mut data = r.text.into_bytes();
        let mut note = None;
        if n < total {
            let line = format!("[truncated at {n} bytes of {total}]");
            if !data.ends_with(b"\n") {
                data.push(b'\n');
            }
            data.extend_from_slice(line.as_bytes());
            data.push(b'\n');
            note = Some(line);
        }
        self.append(name, &data, Some(r.count), note)
    }

    fn left_out(&mut self, name: String, why: String) {
        self.entries.push(Entry {
            path: name,
            size: 0,
            redacted: None,
            note: Some(why),
        });
    }

    fn append(
        &mut self,
        name: String,
        data: &[u8],
        redacted: Option<usize>,
        note: Option<String>,
    ) -> Result<()> {
        self.put(&name, data)?;
        self.stored += data.len() as u64;
        self.entries.push(Entry {
            path: name,
            size: data.len() as u64,
            redacted,
            note,
        });
        Ok(())
    }

    /// One tar entry under the root.
    fn put(&mut self, name: &str, data: &[u8]) -> Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(MODE);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(self.mtime);
        header.set_size(data.len() as u64);
        self.tar
            .append_data(&mut header, format!("{}/{name}", self.root), data)
            .map_err(|e| Error::io(&self.out, e))
    }

    /// The one place an entry's name is made from the path a section gave: sanitized (no `..`,
    /// no leading `/`, no empty or `.` components, control characters as `_`), `unnamed` when
    /// nothing is left, the generated manifest's name kept for it, its secrets redacted with
    /// the extensions kept (`logs/password=[REDACTED].log.tail`, see `redact::redact_file_name`;
    /// they count with the bundle's), and a name already used numbered before its extensions
    /// (`…[REDACTED]~2.log.tail`: two logs whose paths slug or redact alike are both kept).
    pub fn entry_name(&mut self, path: &str) -> String {
        let mut name = sanitize(path);
        if name.is_empty() {
            name = "unnamed".to_string();
        }
        let red = redact_file_name(&name);
        self.name_secrets += red.count;
        name = red.text;
        if name == MANIFEST {
            // The manifest is generated; keep the caller's file under another name.
            name = format!("_{MANIFEST}");
        }
        let mut unique = name.clone();
        let mut n = 1;
        while self.names.contains(&unique) {
            n += 1;
            unique = numbered_file_name(&name, n);
        }
        self.names.insert(unique.clone());
        unique
    }

    /// Total secrets redacted over all entries so far, their names included.
    pub fn redacted_count(&self) -> usize {
        self.name_secrets
            + self
                .entries
                .iter()
                .filter_map(|e| e.redacted)
                .sum::<usize>()
    }

    /// The entries' names (relative to the root, without the generated manifest; left-out ones
    /// included), in the order they were added.
    pub fn entries(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.path.as_str()).collect()
    }

    /// The manifest text: one line per file with its size and redaction count, and what was
    /// cut or left out.
    fn manifest(&self) -> String {
        let stored = self
            .entries
            .iter()
            .filter(|e| e.size > 0 || e.note.is_none());
        let mut m = format!(
            "clw-diag report bundle {}\nfiles: {}, secrets redacted: {}, bytes stored: {} (bound \
             {} per file, {} in all)\n\n{:>12}  {:>8}  path\n",
            self.root,
            stored.count(),
            self.redacted_count(),
            self.stored,
            self.limits.entry_max,
            self.limits.total_max,
            "size_bytes",
            "redacted",
        );
        for e in &self.entries {
            let redacted = match e.redacted {
                Some(n) => n.to_string(),
                None => "-".to_string(),
            };
            let note = e
                .note
                .as_ref()
                .map(|n| format!("  ({n})"))
                .unwrap_or_default();
            m.push_str(&format!(
                "{:>12}  {:>8}  {}{note}\n",
                e.size, redacted, e.path
            ));
        }
        m.push_str("\n\"-\": binary data stored as is (not text, not redacted)\n");
        m
    }

    /// Add the manifest, finish the gzip stream, `fsync` and rename the file into place.
    ///
    /// Errors: [`Error::Io`] naming the bundle when it cannot be written; what
    /// [`Output::commit`] refuses (something not ours appeared at the path meanwhile).
    pub fn finish(mut self) -> Result<Written> {
        let manifest = self.manifest();
        self.put(MANIFEST, manifest.as_bytes())?;
        let out = self.out.clone();
        let written = Written {
            files: self
                .entries
                .iter()
                .filter(|e| e.size > 0 || e.note.is_none())
                .count(),
            redacted: self.redacted_count(),
            truncated: self
                .entries
                .iter()
                .filter(|e| {
                    e.note
                        .as_deref()
                        .is_some_and(|n| n.starts_with("[truncated"))
                })
                .count(),
            left_out: self
                .entries
                .iter()
                .filter(|e| e.note.as_deref().is_some_and(|n| n.starts_with("left out")))
                .count(),
        };
        let mut file = self
            .tar
            .into_inner()
            .and_then(|gz| gz.finish())
            .map_err(|e| Error::io(&out, e))?;
        file.flush().map_err(|e| Error::io(&out, e))?;
        file.commit()?;
        Ok(written)
    }
}

/// The longest prefix of `bytes` of at most `cap` bytes that ends at a line end (all `cap`
/// bytes when no line ends in them, then cut back to a UTF-8 boundary).
fn cut(bytes: &[u8], cap: u64) -> &[u8] {
    let cap = (cap as usize).min(bytes.len());
    let head = &bytes[..cap];
    match memchr::memrchr(b'\n', head) {
        Some(i) => &head[..=i],
        None => {
            let mut n = cap;
            while n > 0 && n < bytes.len() && (bytes[n] & 0xC0) == 0x80 {
                n -= 1;
            }
            &bytes[..n]
        }
    }
}

/// `a/../b//./c` → `a/b/c`: drop empty, `.` and `..` components and any leading `/`; control
/// characters become `_`.
fn sanitize(path: &str) -> String {
    path.split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != "." && *c != "..")
        .map(|c| {
            c.chars()
                .map(|ch| if ch.is_control() { '_' } else { ch })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests;
