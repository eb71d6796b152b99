//! The trace writer: JSON Lines, one object per line, each line written with one `write` call
//! as soon as it is complete, so a recorder killed at any moment (even by SIGKILL) leaves a
//! valid trace up to the last sample, and at most a torn last line that readers skip. The
//! lines are the typed [`crate::trace::format`] structs the readers read back.
//!
//! The file is made through [`crate::base::output`]: an existing regular file is replaced (as
//! `record -o` always did), anything else at the path (a device such as `/dev/null`, a FIFO, a
//! directory, a symlink) is refused; the header goes to a temporary file beside the target that
//! is renamed over it at once, and the samples are appended to that same open file.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::format::{Event, EventLine, Header, Sample};
use crate::base::output;
use crate::error::{Error, Result};

/// An open trace file.
pub struct TraceWriter {
    file: File,
    path: std::path::PathBuf,
    buf: Vec<u8>,
}

impl TraceWriter {
    /// Create `path` (replacing a regular file there) and write the header line.
    ///
    /// Errors: [`Error::NotSupported`] when `path` exists and is not a regular file (see
    /// [`output::check`]); [`Error::Io`] naming `path` when it cannot be created or written.
    pub fn create(path: &Path, header: &Header) -> Result<TraceWriter> {
        let mut out = output::create(path, true, output::ORDINARY)?;
        let mut buf = Vec::with_capacity(512);
        encode(&mut buf, header)?;
        out.write_all(&buf).map_err(|e| Error::io(path, e))?;
        Ok(TraceWriter {
            file: out.commit()?,
            path: path.to_path_buf(),
            buf,
        })
    }

    /// Append one sample line.
    pub fn sample(&mut self, s: &Sample) -> Result<()> {
        self.line(s)
    }

    /// Append one event line at `t` seconds since the start.
    pub fn event(&mut self, t: f64, event: Event) -> Result<()> {
        self.line(&EventLine { t, event })
    }

    /// Append one object as a line, in a single write.
    fn line(&mut self, v: &impl Serialize) -> Result<()> {
        encode(&mut self.buf, v)?;
        self.file
            .write_all(&self.buf)
            .map_err(|e| Error::io(&self.path, e))
    }
}

/// `v` as one JSON line in `buf` (cleared first).
fn encode(buf: &mut Vec<u8>, v: &impl Serialize) -> Result<()> {
    buf.clear();
    serde_json::to_writer(&mut *buf, v).map_err(|e| Error::Encode {
        what: "a trace line",
        reason: e.to_string(),
    })?;
    buf.push(b'\n');
    Ok(())
}
