//! The trace writer: JSON Lines, one object per line, each line written with one `write` call
//! as soon as it is complete, so a recorder killed at any moment (even by SIGKILL) leaves a
//! valid trace up to the last sample, and at most a torn last line that readers skip. The
//! lines are the typed [`crate::trace::format`] structs the readers read back.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::format::{Event, EventLine, Header, Sample};
use crate::error::{Error, Result};

/// An open trace file.
pub struct TraceWriter {
    file: File,
    path: std::path::PathBuf,
    buf: Vec<u8>,
}

impl TraceWriter {
    /// Create (or truncate) `path` and write the header line.
    ///
    /// Errors: [`Error::Io`] naming `path` when it cannot be created or written.
    pub fn create(path: &Path, header: &Header) -> Result<TraceWriter> {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let mut w = TraceWriter {
            file,
            path: path.to_path_buf(),
            buf: Vec::with_capacity(512),
        };
        w.line(header)?;
        Ok(w)
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
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, v).map_err(|e| Error::Encode {
            what: "a trace line",
            reason: e.to_string(),
        })?;
        self.buf.push(b'\n');
        self.file
            .write_all(&self.buf)
            .map_err(|e| Error::io(&self.path, e))
    }
}
