//! The crashes systemd-coredump stored: `clw-diag coredumps` and `backtrace --coredump`.
//!
//! Two sources, joined. The files in `/var/lib/systemd/coredump` (or a copy of it), whose names
//! say the command, uid, boot, pid, crash time and compression ([`name`]: systemd's
//! `src/coredump/coredump.c`, `make_filename()`); and, where `journalctl` works, the entry
//! systemd-coredump logs for each crash ([`journal`]), with the unit, cgroup, command line,
//! executable, signal and whether the core was truncated. A journal entry is joined to its file
//! by `COREDUMP_FILENAME` (its file name), else by pid and crash time (`COREDUMP_TIMESTAMP` is
//! the name's USEC). An entry whose file is gone (vacuumed, `Storage=none`, removed) is still
//! listed, with `file: null` and why; a file the journal does not know is listed from its name.
//!
//! The store is readable by root and, through ACLs, by the `systemd-journal` group and the
//! crashed process's user: permission denied on the directory is an error that says so.

pub mod journal;
pub mod name;

use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

pub use journal::{JournalEntry, JournalSource, MESSAGE_ID};
pub use name::{CoreName, StoreCompression};

use crate::error::{Error, Result};

/// Where systemd-coredump stores cores (`make_filename()` in systemd's `coredump.c`).
pub const DEFAULT_DIR: &str = "/var/lib/systemd/coredump";

/// Names of skipped files quoted in the note, at most.
const SKIPPED_SHOWN: usize = 3;

/// What to tell after "permission denied" on the store.
pub const STORE_HINT: &str = " (systemd-coredump's store is readable by root and the \
     systemd-journal group: run as root or as a member of systemd-journal)";

/// Which crashes to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// The crashed process's pid (a MATCH that is a number).
    Pid(i32),
    /// A substring of the command (COMM) or of the executable's path (`COREDUMP_EXE`).
    Text(String),
}

impl Match {
    /// A MATCH as `coredumpctl` takes one: a number is a pid, anything else a substring of the
    /// command or executable path.
    pub fn parse(s: &str) -> Match {
        match s.parse::<i32>() {
            Ok(p) if p > 0 => Match::Pid(p),
            _ => Match::Text(s.to_string()),
        }
    }

    fn matches(&self, c: &StoredCrash) -> bool {
        match self {
            Match::Pid(p) => c.pid == *p,
            Match::Text(t) => {
                c.command.contains(t.as_str())
                    || c.exe.as_deref().is_some_and(|e| e.contains(t.as_str()))
            }
        }
    }
}

/// What to list: the store, the journal, the window and the match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The store directory ([`DEFAULT_DIR`], or a copy).
    pub dir: PathBuf,
    /// The directory was named by the user: its absence is an error, not "not in use".
    pub dir_explicit: bool,
    /// Keep crashes at or after this time, µs since the epoch.
    pub since_us: Option<i64>,
    /// Keep crashes that match.
    pub matcher: Option<Match>,
    /// The journal to join.
    pub journal: JournalSource,
}

impl Query {
    /// The default store and the system journal, every crash.
    pub fn new() -> Query {
        Query {
            dir: PathBuf::from(DEFAULT_DIR),
            dir_explicit: false,
            since_us: None,
            matcher: None,
            journal: JournalSource::System,
        }
    }
}

impl Default for Query {
    fn default() -> Query {
        Query::new()
    }
}

fn lossy<S: Serializer>(p: &Path, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// A core file of the store.
#[derive(Debug, Clone, Serialize)]
pub struct CoreFile {
    /// The file.
    #[serde(serialize_with = "lossy")]
    pub path: PathBuf,
    /// The compression its suffix says (`zst`, `lz4`, `xz`, `none`).
    pub compression: StoreCompression,
    /// The compression its first bytes say (`none`: not compressed, e.g. an ELF core);
    /// `None` when the file could not be read. Differs from `compression` only for a file
    /// renamed or damaged (a note says so).
    pub compression_magic: Option<StoreCompression>,
    /// The file's size on disk (compressed), bytes.
    pub stored_bytes: u64,
}

/// One stored crash.
#[derive(Debug, Clone, Serialize)]
pub struct StoredCrash {
    /// The crash time, µs since the epoch (the file name's USEC, else the journal's
    /// `COREDUMP_TIMESTAMP`, else when the entry was logged).
    pub timestamp_us: i64,
    /// The same, RFC 3339 UTC.
    pub timestamp: String,
    /// The crashed process's pid (initial pid namespace).
    pub pid: i32,
    /// Its user id; `None` when neither the name nor the journal says.
    pub uid: Option<u32>,
    /// Its command (the kernel's comm, unescaped).
    pub command: String,
    /// The boot it crashed in (32 hex digits); `None` when unknown.
    pub boot_id: Option<String>,
    /// The executable's path, from the journal.
    pub exe: Option<String>,
    /// The signal name (`SIGSEGV`), from the journal.
    pub signal_name: Option<String>,
    /// The core file; `None` when it is not in the store (see `file_missing`).
    pub file: Option<CoreFile>,
    /// Why `file` is `None`: the journal names a file that is gone, or none was stored.
    pub file_missing: Option<String>,
    /// systemd-coredump's journal entry for the crash; `None` without a journal or when the
    /// journal has none for this file.
    pub journal: Option<JournalEntry>,
}

/// The listing.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    /// The store directory read.
    #[serde(serialize_with = "lossy")]
    pub dir: PathBuf,
    /// Whether it exists.
    pub dir_exists: bool,
    /// The start of the window, RFC 3339; `None` for every crash.
    pub since: Option<String>,
    /// Whether a journal was read (the notes say why not).
    pub journal_available: bool,
    /// systemd-coredump entries read from the journal (before the window and match).
    pub journal_entries: usize,
    /// The crashes, newest first.
    pub crashes: Vec<StoredCrash>,
    /// Files in the directory that are not cores of the store (another name, not a regular
    /// file); named in the notes.
    pub skipped_files: usize,
    /// What to tell people: a missing directory, the journal's state, skipped files.
    pub notes: Vec<String>,
}

/// The first bytes of `path`, as a compression.
fn magic(path: &Path) -> Option<StoreCompression> {
    let mut head = [0u8; 8];
    let mut f = File::open(path).ok()?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => return None,
        }
    }
    Some(StoreCompression::of_magic(&head[..n]))
}

/// What [`scan`] found: whether the directory exists, its cores with what their names say,
/// and how many other files it skipped.
struct Scan {
    exists: bool,
    cores: Vec<(CoreName, CoreFile)>,
    skipped: usize,
}

/// The store's files: each core with what its name says, and the notes on the others.
fn scan(q: &Query, notes: &mut Vec<String>) -> Result<Scan> {
    let rd = match std::fs::read_dir(&q.dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !q.dir_explicit => {
            notes.push(format!(
                "{} does not exist: systemd-coredump is not in use here (or keeps no files: \
                 Storage=journal or none)",
                q.dir.display()
            ));
            return Ok(Scan {
                exists: false,
                cores: Vec::new(),
                skipped: 0,
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(Error::PermissionDenied {
                path: q.dir.clone(),
                hint: STORE_HINT,
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::io(
                &q.dir,
                std::io::Error::new(e.kind(), "no such directory"),
            ))
        }
        Err(e) => return Err(Error::io(&q.dir, e)),
    };
    let mut cores = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(&q.dir, e))?;
        let fname = ent.file_name();
        let is_file = ent.file_type().is_ok_and(|t| t.is_file());
        let parsed = if is_file { name::parse(&fname) } else { None };
        let Some(n) = parsed else {
            skipped.push(OsStr::to_string_lossy(&fname).into_owned());
            continue;
        };
        let path = ent.path();
        let stored_bytes = ent.metadata().map(|m| m.len()).unwrap_or(0);
        let compression_magic = magic(&path);
        if let Some(m) = compression_magic {
            if m != n.compression {
                notes.push(format!(
                    "{}: named {} but its first bytes are {}",
                    path.display(),
                    n.compression.as_str(),
                    m.as_str()
                ));
            }
        }
        cores.push((
            n.clone(),
            CoreFile {
                path,
                compression: n.compression,
                compression_magic,
                stored_bytes,
            },
        ));
    }
    if !skipped.is_empty() {
        skipped.sort();
        let shown: Vec<String> = skipped
            .iter()
            .take(SKIPPED_SHOWN)
            .map(|s| format!("{:?}", crate::base::text::one_line(s)))
            .collect();
        notes.push(format!(
            "{} file(s) in {} skipped: not named as systemd-coredump names cores, \
             core.COMM.UID.BOOTID.PID.USEC[.zst|.lz4|.xz] ({}{})",
            skipped.len(),
            q.dir.display(),
            shown.join(", "),
            if skipped.len() > SKIPPED_SHOWN {
                ", …"
            } else {
                ""
            }
        ));
    }
    Ok(Scan {
        exists: true,
        cores,
        skipped: skipped.len(),
    })
}

/// The crash a file's name describes.
fn from_file(n: CoreName, f: CoreFile) -> StoredCrash {
    StoredCrash {
        timestamp_us: n.timestamp_us,
        timestamp: crate::base::time::format_rfc3339(n.timestamp_us),
        pid: n.pid,
        uid: Some(n.uid),
        command: n.command,
        boot_id: Some(n.boot_id),
        exe: None,
        signal_name: None,
        file: Some(f),
        file_missing: None,
        journal: None,
    }
}

/// The base name of a path as journald has it.
fn base_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Join `e` to the file crash it describes, or add it as a crash without a file.
fn join(crashes: &mut Vec<StoredCrash>, e: JournalEntry, dir: &Path) {
    let by_name = e.filename.as_deref().map(base_name).and_then(|b| {
        crashes.iter().position(|c| {
            c.journal.is_none()
                && c.file
                    .as_ref()
                    .is_some_and(|f| f.path.file_name().is_some_and(|n| n == OsStr::new(b)))
        })
    });
    let by_pid_time = || {
        crashes.iter().position(|c| {
            c.journal.is_none()
                && c.file.is_some()
                && Some(c.pid) == e.pid
                && Some(c.timestamp_us) == e.timestamp_us
                && (e.boot_id.is_none() || c.boot_id == e.boot_id)
        })
    };
    if let Some(i) = by_name.or_else(by_pid_time) {
        let c = &mut crashes[i];
        c.exe = e.exe.clone();
        c.signal_name = e.signal_name.clone();
        c.journal = Some(e);
        return;
    }
    let Some(pid) = e.pid else { return };
    let ts = e.timestamp_us.or(e.logged_us).unwrap_or(0);
    let file_missing = Some(match &e.filename {
        Some(f) => format!(
            "{f} is not in {}: removed (systemd-coredump's vacuuming for MaxUse= and \
             KeepFree=, or by hand)",
            dir.display()
        ),
        None => "systemd-coredump kept no file (Storage=none or journal, or the core was \
                 over ExternalSizeMax=)"
            .into(),
    });
    crashes.push(StoredCrash {
        timestamp_us: ts,
        timestamp: crate::base::time::format_rfc3339(ts),
        pid,
        uid: e.uid,
        command: e.comm.clone().unwrap_or_default(),
        boot_id: e.boot_id.clone(),
        exe: e.exe.clone(),
        signal_name: e.signal_name.clone(),
        file: None,
        file_missing,
        journal: Some(e),
    });
}

/// The crashes of the store and the journal that `q` asks for, newest first.
///
/// Errors: `q.dir` cannot be read: permission denied ([`Error::PermissionDenied`], with
/// [`STORE_HINT`]), or, when the user named it (`dir_explicit`), it does not exist
/// ([`Error::Io`]). The default directory missing is a note, and the journal not available
/// (journalctl missing or failing, no journal files) is a note too.
pub fn list(q: &Query) -> Result<Listing> {
    let mut notes = Vec::new();
    let Scan {
        exists: dir_exists,
        cores,
        skipped: skipped_files,
    } = scan(q, &mut notes)?;
    let mut crashes: Vec<StoredCrash> = cores.into_iter().map(|(n, f)| from_file(n, f)).collect();
    let (journal_available, journal_entries) = match &q.journal {
        JournalSource::Off => (false, 0),
        src => match journal::read(src, q.since_us) {
            Ok(j) => {
                let n = j.entries.len();
                notes.extend(j.notes);
                for e in j.entries {
                    join(&mut crashes, e, &q.dir);
                }
                (true, n)
            }
            Err(why) => {
                notes.push(format!(
                    "journal not available: {why}; listed from the file names"
                ));
                (false, 0)
            }
        },
    };
    crashes.retain(|c| {
        q.since_us.is_none_or(|s| c.timestamp_us >= s)
            && q.matcher.as_ref().is_none_or(|m| m.matches(c))
    });
    crashes.sort_by_key(|c| std::cmp::Reverse((c.timestamp_us, c.pid)));
    Ok(Listing {
        dir: q.dir.clone(),
        dir_exists,
        since: q.since_us.map(crate::base::time::format_rfc3339),
        journal_available,
        journal_entries,
        crashes,
        skipped_files,
        notes,
    })
}

/// The newest crash `q` lists that still has its core file: what `backtrace --coredump MATCH`
/// unwinds (`Query { matcher: Some(Match::parse(m)), ..Query::new() }`; its `file.path`).
/// `None` when there is none.
///
/// Errors: as [`list`].
pub fn newest(q: &Query) -> Result<Option<StoredCrash>> {
    Ok(list(q)?.crashes.into_iter().find(|c| c.file.is_some()))
}
