//! The journal's side of the store: the entries systemd-coredump logs for each crash
//! (`MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1`, `SD_MESSAGE_COREDUMP` of systemd's
//! `sd-messages.h`), read through `journalctl -o json`, and their `COREDUMP_*` fields.
//!
//! The field names are those systemd's `src/coredump/coredump.c` sends: the kernel's
//! arguments (`meta_field_names[]`: `COREDUMP_PID`, `_UID`, `_GID`, `_SIGNAL`, `_TIMESTAMP`,
//! `_RLIMIT`, `_HOSTNAME`, `_COMM`, `_EXE`, `_UNIT`), `gather_pid_metadata_from_procfs()`
//! (`COREDUMP_USER_UNIT`, `_SESSION`, `_OWNER_UID`, `_SLICE`, `_CMDLINE`, `_CGROUP`, `_ROOT`,
//! `_CONTAINER_CMDLINE`, …), `context_parse_iovw()` (`COREDUMP_SIGNAL_NAME`) and
//! `submit_coredump()` (`COREDUMP_FILENAME` when the file was kept, `COREDUMP_TRUNCATED=1`,
//! `COREDUMP_PACKAGE_NAME`/`_VERSION`).
//!
//! journalctl's JSON gives a field as a string, as an array of byte values when it is not
//! valid UTF-8, as an array of those when the entry repeats the field, or as `null` when it is
//! larger than 4096 bytes (without `--all`): all are read, a repeated field by its first value.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde::Serialize;
use serde_json::Value;

/// `SD_MESSAGE_COREDUMP`: the message id of systemd-coredump's entry for a crash.
pub const MESSAGE_ID: &str = "fc2e22bc6ee647b6b90729ab34a250b1";

/// Entries read at most (the newest, journalctl's `-n`).
pub const MAX_ENTRIES: usize = 10_000;

/// A JSON line longer than this is skipped (with `--output-fields` and fields over 4 KiB
/// printed as `null`, a line is a few KiB).
const MAX_LINE: u64 = 1 << 20;

/// The fields asked of journalctl (`--output-fields`; `__REALTIME_TIMESTAMP` and the other
/// address fields come with every entry).
const FIELDS: &str = "COREDUMP_PID,COREDUMP_UID,COREDUMP_GID,COREDUMP_SIGNAL,\
COREDUMP_SIGNAL_NAME,COREDUMP_TIMESTAMP,COREDUMP_RLIMIT,COREDUMP_HOSTNAME,COREDUMP_COMM,\
COREDUMP_EXE,COREDUMP_CMDLINE,COREDUMP_CGROUP,COREDUMP_UNIT,COREDUMP_USER_UNIT,COREDUMP_SLICE,\
COREDUMP_SESSION,COREDUMP_OWNER_UID,COREDUMP_ROOT,COREDUMP_CONTAINER_CMDLINE,COREDUMP_FILENAME,\
COREDUMP_TRUNCATED,COREDUMP_PACKAGE_NAME,COREDUMP_PACKAGE_VERSION,_BOOT_ID";

/// Which journal to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalSource {
    /// The system's journal (journalctl's default).
    System,
    /// The journal files in a directory (`journalctl --directory`, e.g. a copied
    /// `/var/log/journal`).
    Directory(PathBuf),
    /// One journal file (`journalctl --file`).
    File(PathBuf),
    /// Do not read a journal: the listing comes from the file names alone.
    Off,
}

/// systemd-coredump's journal entry for one crash: its `COREDUMP_*` fields (`None` when the
/// entry does not have the field). Text is as systemd wrote it (bytes that are not UTF-8 as
/// U+FFFD).
#[derive(Debug, Clone, Default, Serialize)]
pub struct JournalEntry {
    /// `COREDUMP_PID`: pid in the initial pid namespace.
    pub pid: Option<i32>,
    /// `COREDUMP_UID`.
    pub uid: Option<u32>,
    /// `COREDUMP_GID`.
    pub gid: Option<u32>,
    /// `COREDUMP_SIGNAL`: the signal number.
    pub signal: Option<i32>,
    /// `COREDUMP_SIGNAL_NAME` (`SIGSEGV`).
    pub signal_name: Option<String>,
    /// `COREDUMP_TIMESTAMP`: the crash time, microseconds since the epoch (the USEC of the
    /// file name).
    pub timestamp_us: Option<i64>,
    /// `__REALTIME_TIMESTAMP`: when the entry was logged, microseconds since the epoch.
    pub logged_us: Option<i64>,
    /// `COREDUMP_RLIMIT`: the crashed process's `RLIMIT_CORE`, bytes.
    pub rlimit_bytes: Option<u64>,
    /// `COREDUMP_HOSTNAME`.
    pub hostname: Option<String>,
    /// `COREDUMP_COMM`: the kernel's comm.
    pub comm: Option<String>,
    /// `COREDUMP_EXE`: the executable's path.
    pub exe: Option<String>,
    /// `COREDUMP_CMDLINE`: the command line, quoted as a POSIX shell would.
    pub cmdline: Option<String>,
    /// `COREDUMP_CGROUP`: the cgroup path.
    pub cgroup: Option<String>,
    /// `COREDUMP_UNIT`: the systemd unit.
    pub unit: Option<String>,
    /// `COREDUMP_USER_UNIT`: the unit of a user's service manager.
    pub user_unit: Option<String>,
    /// `COREDUMP_SLICE`.
    pub slice: Option<String>,
    /// `COREDUMP_SESSION`: the login session.
    pub session: Option<String>,
    /// `COREDUMP_OWNER_UID`: the owner of the session or user unit.
    pub owner_uid: Option<u32>,
    /// `COREDUMP_ROOT`: the process's root directory.
    pub root: Option<String>,
    /// `COREDUMP_CONTAINER_CMDLINE`: the command line of the container's leader process, when
    /// the process ran in its own mount namespace with a root of its own.
    pub container_cmdline: Option<String>,
    /// `COREDUMP_FILENAME`: where the core was stored; `None` when it was not kept
    /// (`Storage=none` or `journal`, or over `ExternalSizeMax=`).
    pub filename: Option<String>,
    /// `COREDUMP_TRUNCATED=1`: the core was cut at `ProcessSizeMax=` or `RLIMIT_CORE`.
    pub truncated: bool,
    /// `COREDUMP_PACKAGE_NAME`, from the executable's ELF package note.
    pub package_name: Option<String>,
    /// `COREDUMP_PACKAGE_VERSION`.
    pub package_version: Option<String>,
    /// `_BOOT_ID` of the entry.
    pub boot_id: Option<String>,
}

/// What reading the journal gave.
#[derive(Debug, Default)]
pub struct JournalRead {
    /// The entries, in journal order (oldest first).
    pub entries: Vec<JournalEntry>,
    /// What to tell: lines that could not be read, entries left out, journalctl's hints.
    pub notes: Vec<String>,
}

/// One field's value as text: a string, an array of byte values (not UTF-8), or the first of
/// an array of those (a repeated field); `None` for `null` (over 4096 bytes) and anything else.
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_u64) => {
            let bytes: Option<Vec<u8>> = a
                .iter()
                .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect();
            bytes.map(|b| String::from_utf8_lossy(&b).into_owned())
        }
        Value::Array(a) => a.iter().find_map(value_text),
        _ => None,
    }
}

/// One entry of journalctl's `-o json` (one line); `None` when the line is not a JSON object.
pub fn parse_entry(line: &str) -> Option<JournalEntry> {
    let v: Value = serde_json::from_str(line).ok()?;
    let o = v.as_object()?;
    let text = |k: &str| o.get(k).and_then(value_text).filter(|s| !s.is_empty());
    let num = |k: &str| text(k).and_then(|s| s.trim().parse::<i64>().ok());
    Some(JournalEntry {
        pid: num("COREDUMP_PID").and_then(|n| i32::try_from(n).ok()),
        uid: num("COREDUMP_UID").and_then(|n| u32::try_from(n).ok()),
        gid: num("COREDUMP_GID").and_then(|n| u32::try_from(n).ok()),
        signal: num("COREDUMP_SIGNAL").and_then(|n| i32::try_from(n).ok()),
        signal_name: text("COREDUMP_SIGNAL_NAME"),
        timestamp_us: num("COREDUMP_TIMESTAMP"),
        logged_us: num("__REALTIME_TIMESTAMP"),
        rlimit_bytes: text("COREDUMP_RLIMIT").and_then(|s| s.trim().parse().ok()),
        hostname: text("COREDUMP_HOSTNAME"),
        comm: text("COREDUMP_COMM"),
        exe: text("COREDUMP_EXE"),
        cmdline: text("COREDUMP_CMDLINE"),
        cgroup: text("COREDUMP_CGROUP"),
        unit: text("COREDUMP_UNIT"),
        user_unit: text("COREDUMP_USER_UNIT"),
        slice: text("COREDUMP_SLICE"),
        session: text("COREDUMP_SESSION"),
        owner_uid: num("COREDUMP_OWNER_UID").and_then(|n| u32::try_from(n).ok()),
        root: text("COREDUMP_ROOT"),
        container_cmdline: text("COREDUMP_CONTAINER_CMDLINE"),
        filename: text("COREDUMP_FILENAME"),
        truncated: text("COREDUMP_TRUNCATED").is_some_and(|s| s.trim() == "1"),
        package_name: text("COREDUMP_PACKAGE_NAME"),
        package_version: text("COREDUMP_PACKAGE_VERSION"),
        boot_id: text("_BOOT_ID"),
    })
}

/// Read journalctl's JSON lines from `r`: the entries, and how many lines were not entries or
/// were too long.
pub fn parse_lines(r: impl Read) -> (Vec<JournalEntry>, usize) {
    let mut r = BufReader::new(r);
    let mut entries = Vec::new();
    let mut bad = 0;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match (&mut r).take(MAX_LINE).read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if !buf.ends_with(b"\n") && buf.len() as u64 == MAX_LINE {
            // The rest of an overlong line: skipped, and the line counted once.
            let mut sink = Vec::new();
            while (&mut r)
                .take(MAX_LINE)
                .read_until(b'\n', &mut sink)
                .unwrap_or(0)
                > 0
            {
                if sink.ends_with(b"\n") {
                    break;
                }
                sink.clear();
            }
            bad += 1;
            continue;
        }
        let line = String::from_utf8_lossy(&buf);
        if line.trim().is_empty() {
            continue;
        }
        match parse_entry(&line) {
            Some(e) if entries.len() < MAX_ENTRIES => entries.push(e),
            Some(_) => {}
            None => bad += 1,
        }
    }
    (entries, bad)
}

/// The systemd-coredump entries of `source` logged at or after `since_us` (µs since the
/// epoch), through `journalctl -o json --no-pager MESSAGE_ID=…`.
///
/// Errors, as the one line that goes after "journal not available: ": journalctl is not
/// installed or cannot be started, it fails, or it finds no journal files (a host where
/// systemd-journald does not run, an empty `--directory`).
pub fn read(source: &JournalSource, since_us: Option<i64>) -> Result<JournalRead, String> {
    let mut c = Command::new("journalctl");
    c.args(["-o", "json", "--no-pager", "--output-fields", FIELDS])
        .arg(format!("--lines={MAX_ENTRIES}"));
    if *source == JournalSource::Off {
        return Err("not asked for".into());
    }
    select(&mut c, source);
    if let Some(s) = since_us {
        c.arg(format!("--since=@{}", s.max(0) / 1_000_000));
    }
    c.arg(format!("MESSAGE_ID={MESSAGE_ID}"))
        .env("SYSTEMD_COLORS", "0")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match c.spawn() {
        Ok(ch) => ch,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("journalctl is not installed".into())
        }
        Err(e) => return Err(format!("cannot run journalctl: {e}")),
    };
    let mut err_pipe = child.stderr.take();
    let err_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(p) = err_pipe.as_mut() {
            let _ = p.take(64 << 10).read_to_end(&mut s);
        }
        String::from_utf8_lossy(&s).into_owned()
    });
    let (entries, bad) = match child.stdout.take() {
        Some(out) => parse_lines(out),
        None => (Vec::new(), 0),
    };
    let status = child.wait();
    let stderr = err_thread.join().unwrap_or_default();
    let first_line = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => {
            return Err(if first_line.is_empty() {
                format!("journalctl failed ({s})")
            } else {
                format!("journalctl: {first_line}")
            })
        }
        Err(e) => return Err(format!("journalctl: {e}")),
    }
    // With `-o json` journalctl keeps "No journal files were found" to itself: when nothing
    // came, ask again in its text mode, for no lines.
    if entries.is_empty()
        && (stderr.contains("No journal files were found") || no_journal_files(source))
    {
        return Err(format!(
            "journalctl: No journal files were found in {} (systemd-journald does not run \
             here, or its files are elsewhere)",
            match source {
                JournalSource::Directory(d) => d.display().to_string(),
                JournalSource::File(f) => f.display().to_string(),
                _ => "/var/log/journal or /run/log/journal".into(),
            }
        ));
    }
    let mut notes = Vec::new();
    if bad > 0 {
        notes.push(format!(
            "journal: {bad} line(s) of journalctl's output were not entries or were too long; \
             skipped"
        ));
    }
    if entries.len() >= MAX_ENTRIES {
        notes.push(format!(
            "journal: only the newest {MAX_ENTRIES} coredump entries were read"
        ));
    }
    if stderr.contains("not seeing messages from other users") {
        notes.push(
            "journal: only this user's entries are visible (other users' and the system's \
             need root or the systemd-journal group)"
                .into(),
        );
    }
    Ok(JournalRead { entries, notes })
}

/// `source` selected, with its arguments.
fn select(c: &mut Command, source: &JournalSource) {
    match source {
        JournalSource::Directory(d) => {
            c.arg("--directory").arg(d);
        }
        JournalSource::File(f) => {
            c.arg("--file").arg(f);
        }
        JournalSource::System | JournalSource::Off => {}
    }
}

/// Whether journalctl finds no journal files at all in `source` (`journalctl --lines=0`
/// says so on stderr).
fn no_journal_files(source: &JournalSource) -> bool {
    let mut c = Command::new("journalctl");
    c.args(["--no-pager", "--lines=0"]);
    select(&mut c, source);
    c.env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c.output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stderr).contains("No journal files were found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_bytes_and_repeated_fields() {
        let e = parse_entry(
            r#"{"COREDUMP_PID":"42","COREDUMP_COMM":[99,114,97,115,104,255],
                "COREDUMP_UNIT":["a.service","b.service"],"COREDUMP_EXE":null,
                "COREDUMP_SIGNAL_NAME":[[83,73,71],"SIGSEGV"],"COREDUMP_TRUNCATED":"1",
                "__REALTIME_TIMESTAMP":"1713176521000001","COREDUMP_TIMESTAMP":"1713176521000000"}"#,
        )
        .unwrap();
        assert_eq!(e.pid, Some(42));
        assert_eq!(e.comm.as_deref(), Some("crash\u{fffd}"));
        assert_eq!(e.unit.as_deref(), Some("a.service"));
        assert_eq!(e.exe, None);
        assert_eq!(e.signal_name.as_deref(), Some("SIG"));
        assert!(e.truncated);
        assert_eq!(e.timestamp_us, Some(1_713_176_521_000_000));
        assert_eq!(e.logged_us, Some(1_713_176_521_000_001));
        assert!(parse_entry("[1]").is_none());
        let (es, bad) = parse_lines(&b"{\"COREDUMP_PID\":\"1\"}\nnot json\n\n{}\n"[..]);
        assert_eq!((es.len(), bad), (2, 1));
    }
}
